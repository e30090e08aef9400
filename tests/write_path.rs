//! The write path: a refused request leaves no trace, and writes to one cluster never
//! interleave.
//!
//! `every_refusal_leaves_the_state_untouched` sends one request for every refusal azemu has
//! (each rule in `src/providers/container_service/rules.rs`, the role-assignment and
//! resource-group rules, the LRO and precondition checks, the control API's own refusals)
//! and compares `GET /_azemu/state` before and after each. The server also runs with
//! `audit_refusals` in every test suite, which makes the same check on every refused write
//! the other suites send.

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// One refused request: what is sent, and the status and code that must come back.
struct Refusal {
    what: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    headers: Vec<(&'static str, String)>,
    status: u16,
    code: &'static str,
}

fn refusal(
    what: &'static str,
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    code: &'static str,
) -> Refusal {
    Refusal {
        what,
        method,
        path,
        body,
        headers: Vec::new(),
        status,
        code,
    }
}

impl Refusal {
    fn header(mut self, name: &'static str, value: impl Into<String>) -> Refusal {
        self.headers.push((name, value.into()));
        self
    }
}

async fn state(s: &TestServer) -> Value {
    let r = s.get("/_azemu/state").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

/// The world the refusals are sent against: identities, a managed-identity cluster, a
/// cluster with a pre-created kubelet identity, a service-principal cluster, a registry.
struct Fixture {
    cp: Value,
    kubelet: Value,
    stranger: Value,
}

async fn fixture(s: &TestServer) -> Fixture {
    s.create_rg("rg", LOC).await;
    s.create_rg("rg2", LOC).await;
    let cp = s.create_identity("rg", "id-cp").await;
    let kubelet = s.create_identity("rg", "id-kubelet").await;
    let stranger = s.create_identity("rg", "id-stranger").await;
    grant(s, &id_of(&kubelet), MANAGED_IDENTITY_OPERATOR, &principal_of(&cp)).await;
    create_cluster(s, "rg", "msi", system_assigned(LOC)).await;
    create_cluster(s, "rg", "uai", user_assigned(LOC, &id_of(&cp), Some(&id_of(&kubelet)))).await;
    create_cluster(s, "rg", "spc", service_principal(LOC, &guid(), "s3cret")).await;
    Fixture { cp, kubelet, stranger }
}

fn refusals(s: &TestServer, f: &Fixture) -> Vec<Refusal> {
    let cp = id_of(&f.cp);
    let kubelet = id_of(&f.kubelet);
    let stranger = id_of(&f.stranger);
    let rg = s.rg_id("rg");
    let msi = cluster_id(s, "rg", "msi");
    let uai = cluster_id(s, "rg", "uai");
    let sp = cluster_id(s, "rg", "spc");
    let new_cluster = cluster_id(s, "rg", "new");
    let mut with_sp = system_assigned(LOC);
    with_sp["properties"]["servicePrincipalProfile"] = json!({ "clientId": guid(), "secret": "s" });
    let mut sa_with_kubelet = system_assigned(LOC);
    sa_with_kubelet["properties"]["identityProfile"] = json!({ "kubeletidentity": { "resourceId": kubelet } });
    let mut two_cp = user_assigned(LOC, &cp, None);
    two_cp["identity"]["userAssignedIdentities"] = json!({ cp.clone(): {}, stranger.clone(): {} });
    let mut no_system_pool = system_assigned(LOC);
    no_system_pool["properties"]["agentPoolProfiles"] = json!([pool_profile("user1", "User", 1)]);
    let mut bad_subnet = system_assigned(LOC);
    bad_subnet["properties"]["agentPoolProfiles"][0]["vnetSubnetID"] = json!(format!(
        "{rg}/providers/Microsoft.Network/virtualNetworks/none/subnets/none"
    ));
    let mut downgrade = system_assigned(LOC);
    downgrade["properties"]["kubernetesVersion"] = json!("1.32.9");
    let mut new_dns = system_assigned(LOC);
    new_dns["properties"]["dnsPrefix"] = json!("another-prefix");
    let mut not_identity = user_assigned(LOC, &cp, None);
    not_identity["properties"]["identityProfile"] = json!({ "kubeletidentity": { "resourceId": format!("{rg}/providers/Microsoft.ContainerRegistry/registries/x") } });
    let rbac = "/providers/Microsoft.Authorization";
    let contributor = format!(
        "/subscriptions/{}{rbac}/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
        s.sub()
    );
    let assignment = |scope: &str| format!("{scope}{rbac}/roleAssignments/{}", guid());
    vec![
        refusal(
            "group delete with a bad LRO setting",
            Method::DELETE,
            rg.clone(),
            None,
            400,
            "InvalidLroSetting",
        )
        .header("x-azemu-lro", "whenever"),
        refusal(
            "group without a location",
            Method::PUT,
            s.rg_id("rg-new"),
            Some(json!({})),
            400,
            "LocationRequired",
        ),
        refusal(
            "group moved to another region",
            Method::PUT,
            rg.clone(),
            Some(json!({ "location": "westus" })),
            409,
            "InvalidResourceGroupLocation",
        ),
        refusal(
            "identity with a bad name",
            Method::PUT,
            s.identity_id("rg", "-bad"),
            Some(json!({ "location": LOC })),
            400,
            "InvalidResourceName",
        ),
        refusal(
            "kubelet identity on a system-assigned cluster",
            Method::PUT,
            new_cluster.clone(),
            Some(sa_with_kubelet),
            400,
            "CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster",
        ),
        refusal(
            "kubelet identity without the operator role",
            Method::PUT,
            new_cluster.clone(),
            Some(user_assigned(LOC, &stranger, Some(&kubelet))),
            400,
            "CustomKubeletIdentityMissingPermissionError",
        ),
        refusal(
            "kubelet identity that is not an identity",
            Method::PUT,
            new_cluster.clone(),
            Some(not_identity),
            400,
            "CustomKubeletIdentityPropertyError",
        ),
        refusal(
            "two control-plane identities",
            Method::PUT,
            new_cluster.clone(),
            Some(two_cp),
            400,
            "BadRequest",
        ),
        refusal(
            "kubelet identity in China East",
            Method::PUT,
            new_cluster.clone(),
            Some(user_assigned("chinaeast", &cp, Some(&kubelet))),
            400,
            "BadRequest",
        ),
        refusal(
            "control-plane identity that does not exist",
            Method::PUT,
            new_cluster.clone(),
            Some(user_assigned(
                LOC,
                &format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ghost"),
                None,
            )),
            400,
            "GetUserAssignedIdentityResourceError",
        ),
        refusal(
            "no system pool",
            Method::PUT,
            new_cluster.clone(),
            Some(no_system_pool),
            400,
            "MustDefineAtLeastOneSystemPool",
        ),
        refusal(
            "subnet that does not exist",
            Method::PUT,
            new_cluster.clone(),
            Some(bad_subnet),
            400,
            "SubnetNotFound",
        ),
        refusal(
            "managed identity back to a service principal",
            Method::PUT,
            msi.clone(),
            Some(with_sp),
            400,
            "PropertyChangeNotAllowed",
        ),
        refusal(
            "Kubernetes downgrade",
            Method::PUT,
            msi.clone(),
            Some(downgrade),
            400,
            "NotAllowedVersionDowngrade",
        ),
        refusal(
            "immutable DNS prefix",
            Method::PUT,
            msi.clone(),
            Some(new_dns),
            400,
            "PropertyChangeNotAllowed",
        ),
        refusal(
            "stale eTag",
            Method::PUT,
            msi.clone(),
            Some(system_assigned(LOC)),
            412,
            "PreconditionFailed",
        )
        .header("If-Match", "\"stale\""),
        refusal(
            "create over an existing cluster",
            Method::PUT,
            msi.clone(),
            Some(system_assigned(LOC)),
            412,
            "PreconditionFailed",
        )
        .header("If-None-Match", "*"),
        refusal(
            "reset service principal of a managed-identity cluster",
            Method::POST,
            format!("{msi}/resetServicePrincipalProfile"),
            Some(json!({ "clientId": guid(), "secret": "x" })),
            400,
            "BadRequest",
        ),
        refusal(
            "last system pool",
            Method::DELETE,
            format!("{uai}/agentPools/nodepool1"),
            None,
            400,
            "OperationNotAllowed",
        ),
        refusal(
            "pool above the control plane",
            Method::PUT,
            format!("{sp}/agentPools/newer"),
            Some(json!({ "properties": { "count": 1, "mode": "User", "orchestratorVersion": "1.34.1" } })),
            400,
            "NodePoolMcVersionIncompatible",
        ),
        refusal(
            "move to a subscription that does not exist",
            Method::POST,
            format!("{rg}/moveResources"),
            Some(
                json!({ "resources": [msi.clone()], "targetResourceGroup": "/subscriptions/00000000-0000-4000-8000-00000000dead/resourceGroups/x" }),
            ),
            404,
            "SubscriptionNotFound",
        ),
        refusal(
            "move into a group that does not exist",
            Method::POST,
            format!("{rg}/moveResources"),
            Some(json!({ "resources": [cp.clone()], "targetResourceGroup": s.rg_id("nowhere") })),
            404,
            "ResourceGroupNotFound",
        ),
        refusal(
            "assignment of a role that does not exist",
            Method::PUT,
            assignment(&rg),
            Some(
                json!({ "properties": { "roleDefinitionId": format!("/subscriptions/{}{rbac}/roleDefinitions/{}", s.sub(), guid()), "principalId": principal_of(&f.cp) } }),
            ),
            400,
            "RoleDefinitionDoesNotExist",
        ),
        refusal(
            "assignment to an unknown principal",
            Method::PUT,
            assignment(&rg),
            Some(json!({ "properties": { "roleDefinitionId": contributor, "principalId": guid() } })),
            400,
            "PrincipalNotFound",
        ),
        refusal(
            "assignment with a malformed principal",
            Method::PUT,
            assignment(&rg),
            Some(json!({ "properties": { "roleDefinitionId": contributor, "principalId": "nope" } })),
            400,
            "InvalidPrincipalId",
        ),
        refusal(
            "assignment that exists already",
            Method::PUT,
            assignment(&kubelet),
            Some(
                json!({ "properties": { "roleDefinitionId": format!("/subscriptions/{}{rbac}/roleDefinitions/f1a07417-d97a-45cb-824c-7a7467783830", s.sub()), "principalId": principal_of(&f.cp) } }),
            ),
            409,
            "RoleAssignmentExists",
        ),
        refusal(
            "assignment with a malformed name",
            Method::PUT,
            format!("{rg}{rbac}/roleAssignments/not-a-guid"),
            Some(json!({ "properties": { "roleDefinitionId": contributor, "principalId": principal_of(&f.cp) } })),
            400,
            "InvalidRoleAssignmentId",
        ),
        refusal(
            "body that is not JSON",
            Method::PUT,
            s.identity_id("rg", "fine"),
            None,
            400,
            "InvalidRequestContent",
        )
        .header("x-raw-body", "{not json"),
        refusal(
            "clock set to a day that does not exist",
            Method::POST,
            "/_azemu/clock".into(),
            Some(json!({ "set": "not a time" })),
            400,
            "InvalidClockValue",
        ),
        refusal(
            "fault without a response",
            Method::POST,
            "/_azemu/faults".into(),
            Some(json!({ "match": {}, "respond": {} })),
            400,
            "InvalidFault",
        ),
        refusal(
            "subscription that exists",
            Method::POST,
            "/_azemu/subscriptions".into(),
            Some(json!({ "subscriptionId": s.sub() })),
            409,
            "SubscriptionExists",
        ),
    ]
}

#[tokio::test]
async fn every_refusal_leaves_the_state_untouched() {
    let s = TestServer::start_with(|c| c.seed = Some(7)).await;
    let f = fixture(&s).await;
    for r in refusals(&s, &f) {
        let before = state(&s).await;
        let mut rb = s.request(r.method.clone(), &r.path).await;
        for (k, v) in &r.headers {
            if *k == "x-raw-body" {
                rb = rb.header("Content-Type", "application/json").body(v.clone());
            } else {
                rb = rb.header(*k, v);
            }
        }
        if let Some(b) = &r.body {
            rb = rb.json(b);
        }
        let reply = s.send(rb).await;
        assert_eq!(reply.status, r.status, "{}: {}", r.what, reply.text);
        assert_eq!(reply.code(), r.code, "{}: {}", r.what, reply.text);
        let after = state(&s).await;
        assert!(before == after, "{} changed the state", r.what);
    }
    // The group whose delete was refused is not stuck: it can still be written.
    let r = s
        .put(
            &s.rg_id("rg"),
            json!({ "location": LOC, "tags": { "after": "refusals" } }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The cluster whose create was refused left no principal behind in Graph.
    let r = s.get("/v1.0/servicePrincipals").await;
    let names: Vec<String> = r
        .values()
        .iter()
        .map(|p| p["displayName"].as_str().unwrap_or("").to_string())
        .collect();
    assert!(!names.iter().any(|n| n == "new"), "{names:?}");
}

/// Many clients write the same cluster and poll its operations at once. Writes are
/// serialized and an operation ends only when its effect is applied, so a write is accepted
/// only when no other operation runs on the cluster: the accepted operations never overlap,
/// and every refused write is AKS's 409 `OperationNotAllowed`.
#[tokio::test]
async fn racing_writers_never_overlap_on_one_cluster() {
    let s = std::sync::Arc::new(TestServer::start().await);
    s.create_rg("rg", LOC).await;
    create_cluster(&s, "rg", "busy", system_assigned(LOC)).await;
    let cluster = cluster_id(&s, "rg", "busy");
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s = s.clone();
        let cluster = cluster.clone();
        tasks.push(tokio::spawn(async move {
            let mut accepted = 0;
            for j in 0..6 {
                let mut body = system_assigned(LOC);
                body["tags"] = json!({ "writer": format!("{i}-{j}") });
                let rb = s
                    .request(Method::PUT, &api(&cluster))
                    .await
                    .header("x-azemu-lro", "polls=2")
                    .json(&body);
                let r = s.send(rb).await;
                match r.status {
                    200 | 201 => {
                        accepted += 1;
                        settle(&s, &r).await;
                    }
                    409 => assert_eq!(r.code(), "OperationNotAllowed", "{}", r.text),
                    other => panic!("unexpected {other}: {}", r.text),
                }
                let g = s.get(&api(&cluster)).await;
                assert_eq!(g.status, 200, "{}", g.text);
            }
            accepted
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.expect("writer");
    }
    let ops = s.get("/_azemu/operations").await.values();
    let mut mine: Vec<(String, String)> = ops
        .iter()
        .filter(|o| o["resourceId"].as_str().unwrap_or("").eq_ignore_ascii_case(&cluster))
        .map(|o| {
            assert_eq!(o["status"], "Succeeded", "{o}");
            (
                o["startTime"].as_str().unwrap().to_string(),
                o["endTime"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        mine.len(),
        accepted + 1,
        "one operation per accepted write, plus the create"
    );
    mine.sort();
    for pair in mine.windows(2) {
        assert!(
            pair[1].0 >= pair[0].1,
            "an operation started at {} while another ran until {}",
            pair[1].0,
            pair[0].1
        );
    }
    assert!(accepted >= 1);
}

/// Writers keep creating identities in a group while it is deleted: every write after the
/// delete began is refused with `ResourceGroupBeingDeleted`, and when the group is created
/// again it is empty (no orphan comes back).
#[tokio::test]
async fn writes_into_a_group_being_deleted_are_refused_and_leave_no_orphans() {
    let s = std::sync::Arc::new(TestServer::start().await);
    for round in 0..5 {
        s.create_rg("doomed", LOC).await;
        for i in 0..20 {
            s.create_identity("doomed", &format!("id-{round}-{i}")).await;
        }
        let writers: Vec<_> = (0..4)
            .map(|w| {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut refused = 0;
                    for i in 0..25 {
                        let path = s.identity_id("doomed", &format!("late-{w}-{i}"));
                        let r = s.put(&path, json!({ "location": LOC })).await;
                        match r.status {
                            200 | 201 => {}
                            409 => {
                                assert_eq!(r.code(), "ResourceGroupBeingDeleted", "{}", r.text);
                                refused += 1;
                            }
                            404 => assert_eq!(r.code(), "ResourceGroupNotFound", "{}", r.text),
                            other => panic!("unexpected {other}: {}", r.text),
                        }
                    }
                    refused
                })
            })
            .collect();
        let rb = s
            .request(Method::DELETE, &s.rg_id("doomed"))
            .await
            .header("x-azemu-lro", "polls=3");
        let d = s.send(rb).await;
        assert_eq!(d.status, 202, "{}", d.text);
        let during = s
            .put(&s.identity_id("doomed", "during"), json!({ "location": LOC }))
            .await;
        assert_eq!(during.status, 409, "{}", during.text);
        assert_eq!(during.code(), "ResourceGroupBeingDeleted");
        let location = d.header("location").expect("Location");
        for _ in 0..10 {
            if s.poll(&location).await.status != 202 {
                break;
            }
        }
        for w in writers {
            w.await.expect("writer");
        }
        s.create_rg("doomed", LOC).await;
        let left = s.get(&format!("{}/resources", s.rg_id("doomed"))).await;
        assert_eq!(left.values(), Vec::<Value>::new(), "round {round}: orphans came back");
        let gone = s.send(s.request(Method::DELETE, &s.rg_id("doomed")).await).await;
        assert_eq!(gone.status, 202);
        s.poll(&gone.header("location").unwrap()).await;
    }
}

/// A cluster being deleted takes no new pool, so its delete leaves none behind.
#[tokio::test]
async fn a_cluster_being_deleted_takes_no_new_pool() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    create_cluster(&s, "rg", "c1", system_assigned(LOC)).await;
    let cluster = cluster_id(&s, "rg", "c1");
    let rb = s
        .request(Method::DELETE, &api(&cluster))
        .await
        .header("x-azemu-lro", "polls=2");
    let d = s.send(rb).await;
    assert_eq!(d.status, 202, "{}", d.text);
    let pool = json!({ "properties": { "count": 1, "mode": "User" } });
    let r = s.put(&api(&format!("{cluster}/agentPools/late")), pool).await;
    assert_eq!(r.status, 409, "{}", r.text);
    settle(&s, &d).await;
    assert_eq!(s.get(&api(&format!("{cluster}/agentPools/late"))).await.status, 404);
    let all = s.get(&format!("/subscriptions/{}/resources", s.sub())).await;
    assert!(
        !all.text.to_ascii_lowercase().contains("agentpools"),
        "no pool is left: {}",
        all.text
    );
}

/// Writers in eight resource groups at once (identities, group tags, clusters whose node
/// resource group is another partition), with subscription-level writers (role assignments
/// at the subscription) and whole-world ones (operations ending) between them. Writes into
/// different groups hold different gates and run side by side; whatever the interleaving,
/// every accepted write is there afterwards, nothing is there twice, and nothing fails.
#[tokio::test]
async fn writers_in_different_groups_run_side_by_side_and_lose_nothing() {
    // Without `audit_refusals`, which makes writers take turns to compare the whole state.
    let s = std::sync::Arc::new(TestServer::start_with(|c| c.audit_refusals = false).await);
    const GROUPS: usize = 8;
    const IDENTITIES: usize = 24;
    for g in 0..GROUPS {
        s.create_rg(&format!("g{g}"), LOC).await;
    }
    let principal = s.create_identity("g0", "seed").await["properties"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tasks = Vec::new();
    for g in 0..GROUPS {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let rg = format!("g{g}");
            for i in 0..IDENTITIES {
                s.create_identity(&rg, &format!("id{i}")).await;
                if i % 6 == 0 {
                    let r = s
                        .patch(&s.rg_id(&rg), json!({ "tags": { "round": i.to_string() } }))
                        .await;
                    assert_eq!(r.status, 200, "{}", r.text);
                }
            }
        }));
    }
    for g in 0..2 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            create_cluster(&s, &format!("g{g}"), "aks", system_assigned(LOC)).await;
        }));
    }
    // One assignment per role (the same role twice for one principal is RoleAssignmentExists).
    let roles = [
        "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
        "6cef56e8-d556-48e5-a04f-b8e64114680f",
        "7f951dda-4ed3-4680-a7ca-43fe172d538d",
        "8311e382-0749-4cb8-b61a-304f252e45ec",
    ];
    let assignments: Vec<String> = roles.iter().map(|_| guid()).collect();
    {
        let s = s.clone();
        let assignments = assignments.clone();
        tasks.push(tokio::spawn(async move {
            let scope = format!("/subscriptions/{}", s.sub());
            for (name, role) in assignments.iter().zip(roles) {
                let r = s.assign(&scope, name, role, &principal, Some("ServicePrincipal")).await;
                assert_eq!(r.status, 201, "{}", r.text);
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    for g in 0..GROUPS {
        let list = s
            .get(&format!(
                "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                s.rg_id(&format!("g{g}"))
            ))
            .await
            .values();
        let mut names: Vec<String> = list.iter().map(|v| v["name"].as_str().unwrap().to_string()).collect();
        names.sort();
        names.dedup();
        let expected = IDENTITIES + usize::from(g == 0);
        assert_eq!((list.len(), names.len()), (expected, expected), "group g{g}: {names:?}");
        let group = s.get(&s.rg_id(&format!("g{g}"))).await;
        assert_eq!(
            group.json["tags"]["round"], "18",
            "the last tag write of g{g} is the one kept"
        );
    }
    for g in 0..2 {
        let c = get_cluster(&s, &format!("g{g}"), "aks").await;
        let node_rg = c.json["properties"]["nodeResourceGroup"].as_str().unwrap().to_string();
        assert_eq!(s.get(&s.rg_id(&node_rg)).await.status, 200, "{node_rg}");
    }
    let all = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()",
            s.sub()
        ))
        .await
        .values();
    for name in &assignments {
        assert_eq!(all.iter().filter(|a| a["name"] == name.as_str()).count(), 1, "{name}");
    }
    let health = s.get("/_azemu/health").await.json;
    eprintln!("write transactions: {}", health["writes"]);
    assert!(
        health["writes"]["inPartition"].as_u64().unwrap() > (GROUPS * IDENTITIES) as u64,
        "{health}"
    );
}
