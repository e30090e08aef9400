//! Node images (VHDs), node pool upgrades on a kubelet identity change, and the identity a
//! node really uses (issue 5), over real HTTPS.
//!
//! The stories follow `../shared/research/aks-rules.md` rows e1–e3 (a kubelet identity change
//! succeeds, but a pool already on the newest node image keeps the old identity until a newer
//! image is released and consumed) and h1–h6 (node image versions, upgrade profiles,
//! `upgradeNodeImageVersion`). What nodes really use is read through azemu's own API
//! (`/_azemu/clusters/…`, `/_azemu/events`, the pull check and IMDS); ARM answers stay
//! Azure-shaped.

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const UBUNTU: &str = "AKSUbuntu-2204gen2containerd";
const ACR_PULL_ROLE: &str = ACR_PULL;

/// Two kubelet identities and a control-plane identity allowed to assign both
/// (Managed Identity Operator on their group).
struct Identities {
    cp: Value,
    first: Value,
    second: Value,
}

async fn story_identities(s: &TestServer) -> Identities {
    s.create_rg("rg-ids", LOC).await;
    let cp = s.create_identity("rg-ids", "cp-identity").await;
    let first = s.create_identity("rg-ids", "kubelet-one").await;
    let second = s.create_identity("rg-ids", "kubelet-two").await;
    grant(s, &s.rg_id("rg-ids"), MANAGED_IDENTITY_OPERATOR, &principal_of(&cp)).await;
    Identities { cp, first, second }
}

/// A cluster `name` in `rg-aks` with a user-assigned control plane and the first kubelet identity.
async fn story_cluster(s: &TestServer, ids: &Identities, name: &str, pools: Value) -> Value {
    s.create_rg("rg-aks", LOC).await;
    let mut body = user_assigned(LOC, &id_of(&ids.cp), Some(&id_of(&ids.first)));
    body["properties"]["agentPoolProfiles"] = pools;
    create_cluster(s, "rg-aks", name, body).await
}

/// The cluster's GET body with the kubelet identity changed to `kubelet` (resourceId only, as
/// `az aks update --assign-kubelet-identity` sends it).
fn with_kubelet(cluster: &Value, kubelet: &Value) -> Value {
    let mut b = cluster.clone();
    b["properties"]["identityProfile"] = json!({ "kubeletidentity": { "resourceId": id_of(kubelet) } });
    b
}

async fn publish(s: &TestServer, family: &str) -> String {
    let r = s.post("/_azemu/node-images", json!({ "family": family })).await;
    assert_eq!(r.status, 201, "publish: {}", r.text);
    r.json["version"].as_str().unwrap().to_string()
}

fn pool_view<'a>(v: &'a Value, pool: &str) -> &'a Value {
    v["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == pool)
        .unwrap_or_else(|| panic!("no pool {pool} in {v}"))
}

fn node_names(pool: &Value) -> BTreeSet<String> {
    pool["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_string())
        .collect()
}

/// The client ids the pool's nodes really use.
fn effective_clients(pool: &Value) -> Vec<String> {
    pool["effectiveKubeletIdentities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["clientId"].as_str().unwrap().to_string())
        .collect()
}

async fn events(s: &TestServer, resource: &str) -> Vec<Value> {
    let r = s
        .send(s.raw(Method::GET, "/_azemu/events").query(&[("resource", resource)]))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.values()
}

fn kinds(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

fn position(kinds: &[String], kind: &str) -> usize {
    kinds
        .iter()
        .position(|k| k == kind)
        .unwrap_or_else(|| panic!("no {kind} event in {kinds:?}"))
}

async fn upgrade_node_image(s: &TestServer, pool: &str, lro: Option<&str>) -> Reply {
    let mut rb = s
        .request(Method::POST, &api(&format!("{pool}/upgradeNodeImageVersion")))
        .await;
    if let Some(l) = lro {
        rb = rb.header("x-azemu-lro", l);
    }
    s.send(rb).await
}

async fn pull_check(s: &TestServer, rg: &str, name: &str, image: &str) -> Value {
    let r = s
        .send(
            s.raw(Method::GET, &format!("{}/pull-check", view_path(s, rg, name)))
                .query(&[("image", image)]),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

async fn create_registry(s: &TestServer, rg: &str, name: &str) -> Value {
    let r = s
        .put(
            &with_api(
                &format!(
                    "{}/providers/Microsoft.ContainerRegistry/registries/{name}",
                    s.rg_id(rg)
                ),
                "2025-04-01",
            ),
            json!({ "location": LOC, "sku": { "name": "Standard" } }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.json
}

async fn imds(s: &TestServer, path: &str, node: Option<&str>, metadata: bool, extra: &[(&str, &str)]) -> Reply {
    let mut rb = s.raw(Method::GET, path).query(&[
        ("api-version", "2018-02-01"),
        ("resource", "https://management.azure.com/"),
    ]);
    rb = rb.query(extra);
    if metadata {
        rb = rb.header("Metadata", "true");
    }
    if let Some(n) = node {
        rb = rb.header("x-azemu-node", n);
    }
    s.send(rb).await
}

// ---- (a) VHD gating ------------------------------------------------------------------------

// Source: aks-rules.md e1 (a kubelet change reimages the pools), e2 (confirmed: no error when
// already on the newest VHD — the change waits for the next image), e3 (azemu's model), h2
// (upgrade profile: latestNodeImageVersion), h3 (upgradeNodeImageVersion: 202 +
// Azure-AsyncOperation, `UpgradingNodeImageVersion`).
#[tokio::test]
async fn kubelet_identity_change_waits_for_a_newer_node_image() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    let c = story_cluster(&s, &ids, "vhd", json!([pool_profile("nodepool1", "System", 3)])).await;
    let pool = pool_id(&s, "rg-aks", "vhd", "nodepool1");
    let before = view(&s, "rg-aks", "vhd").await;
    let old_nodes = node_names(pool_view(&before, "nodepool1"));
    assert_eq!(
        effective_clients(pool_view(&before, "nodepool1")),
        [client_of(&ids.first)]
    );
    let old_image = profile(&c, "nodepool1")["nodeImageVersion"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(old_image.starts_with(UBUNTU), "{old_image}");

    // Change the kubelet identity while the pool runs the newest image: the operation succeeds.
    let after = update_cluster(&s, "rg-aks", "vhd", with_kubelet(&c, &ids.second)).await;
    let k = &after["properties"]["identityProfile"]["kubeletidentity"];
    assert_eq!(k["resourceId"], json!(id_of(&ids.second)));
    assert_eq!(k["clientId"], json!(client_of(&ids.second)));
    assert_eq!(k["objectId"], json!(principal_of(&ids.second)));
    assert_eq!(profile(&after, "nodepool1")["nodeImageVersion"], json!(old_image));
    assert_eq!(profile(&after, "nodepool1")["provisioningState"], "Succeeded");

    // …but the pool's nodes still run the old identity, and azemu says why.
    let v = view(&s, "rg-aks", "vhd").await;
    assert_eq!(v["kubeletIdentity"]["clientId"], json!(client_of(&ids.second)));
    let p = pool_view(&v, "nodepool1");
    assert_eq!(effective_clients(p), [client_of(&ids.first)]);
    assert_eq!(node_names(p), old_nodes);
    assert!(
        p["status"].as_str().unwrap().contains("waiting for a newer node image"),
        "{p}"
    );
    assert_eq!(
        p["pending"]["kubeletIdentity"]["clientId"],
        json!(client_of(&ids.second))
    );
    assert_eq!(p["newerNodeImageAvailable"], false);

    // Microsoft releases a newer image.
    let new_image = publish(&s, UBUNTU).await;
    assert!(new_image.starts_with(&format!("{UBUNTU}-")), "{new_image}");
    assert!(new_image > old_image, "{new_image} vs {old_image}");
    let up = s.get(&api(&format!("{pool}/upgradeProfiles/default"))).await;
    assert_eq!(up.status, 200, "{}", up.text);
    assert_eq!(up.json["properties"]["latestNodeImageVersion"], json!(new_image));
    let g = s.get(&api(&pool)).await;
    assert_eq!(g.json["properties"]["nodeImageVersion"], json!(old_image));

    // Upgrade the pool's node image.
    let r = upgrade_node_image(&s, &pool, None).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.json["properties"]["provisioningState"], "UpgradingNodeImageVersion");
    let url = r.header("azure-asyncoperation").expect("Azure-AsyncOperation");
    assert!(
        url.contains(&format!(
            "/providers/Microsoft.ContainerService/locations/{LOC}/operations/"
        )),
        "{url}"
    );
    assert_eq!(settle(&s, &r).await["status"], "Succeeded");

    let g = s.get(&api(&pool)).await;
    assert_eq!(g.json["properties"]["nodeImageVersion"], json!(new_image));
    assert_eq!(g.json["properties"]["provisioningState"], "Succeeded");
    let v = view(&s, "rg-aks", "vhd").await;
    let p = pool_view(&v, "nodepool1");
    assert_eq!(effective_clients(p), [client_of(&ids.second)]);
    assert!(p["pending"].is_null(), "{p}");
    assert!(!p["status"].as_str().unwrap().contains("waiting"), "{p}");
    let new_nodes = node_names(p);
    assert_eq!(new_nodes.len(), 3);
    assert!(new_nodes.is_disjoint(&old_nodes), "{new_nodes:?} vs {old_nodes:?}");
    for n in p["nodes"].as_array().unwrap() {
        assert_eq!(n["nodeImageVersion"], json!(new_image));
        assert_eq!(n["kubeletIdentity"]["clientId"], json!(client_of(&ids.second)));
    }

    // The activity log tells the story in order.
    let cluster_events = kinds(&events(&s, &cluster_id(&s, "rg-aks", "vhd")).await);
    assert!(
        cluster_events.contains(&"KubeletIdentityChanged".to_string()),
        "{cluster_events:?}"
    );
    let pool_events = kinds(&events(&s, &pool).await);
    let pending = position(&pool_events, "KubeletIdentityPending");
    let started = position(&pool_events, "PoolReimageStarted");
    let replaced = position(&pool_events, "NodesReplaced");
    let reimaged = position(&pool_events, "PoolReimaged");
    assert!(
        pending < started && started < replaced && replaced < reimaged,
        "{pool_events:?}"
    );
    let published = kinds(&events(&s, "/azemu/nodeImages").await);
    assert!(published.contains(&"NodeImagePublished".to_string()), "{published:?}");
}

// Source: issue 5 item 3 ("maxSurge honoured in how nodes are replaced"); AKS upgrade docs
// (maxSurge as a count or a percentage of the pool, rounded up).
#[tokio::test]
async fn max_surge_is_honoured_when_nodes_are_replaced() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    let mut half = pool_profile("nodepool1", "System", 4);
    half["upgradeSettings"] = json!({ "maxSurge": "50%" });
    let mut one = pool_profile("userpool", "User", 3);
    one["upgradeSettings"] = json!({ "maxSurge": "1" });
    story_cluster(&s, &ids, "surge", json!([half, one])).await;
    let before = view(&s, "rg-aks", "surge").await;
    publish(&s, UBUNTU).await;

    for (pool, nodes, batches) in [("nodepool1", 4, 2), ("userpool", 3, 3)] {
        let pid = pool_id(&s, "rg-aks", "surge", pool);
        let r = upgrade_node_image(&s, &pid, None).await;
        assert_eq!(r.status, 202, "{}", r.text);
        assert_eq!(settle(&s, &r).await["status"], "Succeeded");
        let replaced: Vec<Value> = events(&s, &pid)
            .await
            .into_iter()
            .filter(|e| e["kind"] == "NodesReplaced")
            .collect();
        assert_eq!(replaced.len(), batches, "{pool}: {replaced:?}");
        let after = view(&s, "rg-aks", "surge").await;
        let old = node_names(pool_view(&before, pool));
        let new = node_names(pool_view(&after, pool));
        assert_eq!(new.len(), nodes);
        assert!(old.is_disjoint(&new), "{pool}: {old:?} vs {new:?}");
        for n in &new {
            assert!(n.starts_with(&format!("aks-{pool}-")) && n.contains("-vmss"), "{n}");
        }
    }
}

// Source: aks-rules.md h5 (confirmed: upgrading when already on the newest image succeeds and
// changes nothing) and h4 (never downgraded).
#[tokio::test]
async fn node_image_upgrade_when_already_latest_changes_nothing() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    let c = story_cluster(&s, &ids, "latest", json!([pool_profile("nodepool1", "System", 2)])).await;
    let pool = pool_id(&s, "rg-aks", "latest", "nodepool1");
    let before = view(&s, "rg-aks", "latest").await;
    let r = upgrade_node_image(&s, &pool, None).await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(settle(&s, &r).await["status"], "Succeeded");
    let g = s.get(&api(&pool)).await;
    assert_eq!(
        g.json["properties"]["nodeImageVersion"],
        profile(&c, "nodepool1")["nodeImageVersion"]
    );
    assert_eq!(g.json["properties"]["provisioningState"], "Succeeded");
    let after = view(&s, "rg-aks", "latest").await;
    assert_eq!(
        pool_view(&after, "nodepool1")["nodes"],
        pool_view(&before, "nodepool1")["nodes"]
    );
    let k = kinds(&events(&s, &pool).await);
    assert!(k.contains(&"NodeImageCurrent".to_string()), "{k:?}");
    assert!(!k.contains(&"PoolReimaged".to_string()), "{k:?}");
}

// Source: aks-rules.md h6 (CLI message confirmed; server code unconfirmed — azemu's choice:
// 400 `BadRequest`).
#[tokio::test]
async fn node_image_upgrade_needs_scale_sets() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    story_cluster(&s, &ids, "avset", json!([pool_profile("nodepool1", "System", 1)])).await;
    let pool = pool_id(&s, "rg-aks", "avset", "legacy");
    let r = s
        .put(
            &api(&pool),
            json!({ "properties": { "count": 1, "mode": "User", "type": "AvailabilitySet" } }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    settle(&s, &r).await;
    publish(&s, UBUNTU).await;
    let r = upgrade_node_image(&s, &pool, None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "BadRequest");
    assert_eq!(
        r.message(),
        "Node image upgrade only operation can only be applied on VirtualMachineScaleSets cluster."
    );
}

// Source: issue 5 item 1 (the catalog; publishing simulates Microsoft's weekly release).
#[tokio::test]
async fn node_image_catalog_and_publishing() {
    let s = TestServer::start().await;
    let r = s.get("/_azemu/node-images").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let families = r.json["families"].as_array().unwrap();
    let ubuntu = families
        .iter()
        .find(|f| f["family"] == UBUNTU)
        .expect("the Ubuntu family");
    let latest = ubuntu["latest"].as_str().unwrap().to_string();
    assert_eq!(
        ubuntu["versions"].as_array().unwrap().last().unwrap()["version"],
        json!(latest)
    );
    assert!(families.iter().any(|f| f["osType"] == "Windows"));

    let next = publish(&s, UBUNTU).await;
    assert!(next > latest, "{next} vs {latest}");
    let r = s.get("/_azemu/node-images").await;
    let ubuntu = r.json["families"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["family"] == UBUNTU)
        .unwrap()
        .clone();
    assert_eq!(ubuntu["latest"], json!(next));

    let r = s.post("/_azemu/node-images", json!({ "family": "NoSuchImage" })).await;
    assert_eq!(r.status, 400, "{}", r.text);
    let suffix = &next[UBUNTU.len() + 1..];
    let r = s
        .post("/_azemu/node-images", json!({ "family": UBUNTU, "version": suffix }))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
}

// Source: aks-rules.md b4 (the kubelet keeps the service principal after an SP → MSI migration
// until the pools are upgraded to a newer node image) and e2.
#[tokio::test]
async fn sp_to_msi_migration_reaches_the_kubelet_only_with_a_newer_node_image() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    s.create_rg("rg-aks", LOC).await;
    let sp_client = guid();
    let c = create_cluster(&s, "rg-aks", "migrate", service_principal(LOC, &sp_client, "s3cret")).await;
    let mut body = c.clone();
    body["identity"] = json!({ "type": "UserAssigned", "userAssignedIdentities": { id_of(&ids.cp): {} } });
    let after = update_cluster(&s, "rg-aks", "migrate", body).await;
    let managed = after["properties"]["identityProfile"]["kubeletidentity"].clone();
    let node = {
        let v = view(&s, "rg-aks", "migrate").await;
        let p = pool_view(&v, "nodepool1").clone();
        assert_eq!(effective_clients(&p), std::slice::from_ref(&sp_client));
        assert_eq!(p["effectiveKubeletIdentities"][0]["type"], "ServicePrincipal");
        p["nodes"][0]["name"].as_str().unwrap().to_string()
    };
    // A node that runs a service principal has no managed identity to offer.
    let r = imds(&s, "/metadata/identity/oauth2/token", Some(&node), true, &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);

    publish(&s, UBUNTU).await;
    let r = upgrade_node_image(&s, &pool_id(&s, "rg-aks", "migrate", "nodepool1"), None).await;
    assert_eq!(settle(&s, &r).await["status"], "Succeeded");
    let v = view(&s, "rg-aks", "migrate").await;
    let p = pool_view(&v, "nodepool1");
    assert_eq!(
        effective_clients(p),
        [managed["clientId"].as_str().unwrap().to_string()]
    );
    assert_eq!(p["effectiveKubeletIdentities"][0]["type"], "UserAssigned");
    let node = p["nodes"][0]["name"].as_str().unwrap();
    let r = imds(&s, "/metadata/identity/oauth2/token", Some(node), true, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        jwt_claims(r.json["access_token"].as_str().unwrap())["oid"],
        managed["objectId"]
    );
}

// Source: AKS docs "Upgrade an AKS cluster" (a Kubernetes upgrade adds surge nodes running the
// new version and drains and deletes the old ones, so every node is replaced); that the new
// nodes take the cluster's current kubelet identity follows from e1/e3 (unconfirmed by a
// primary source — azemu's choice, listed in the README's fidelity section).
#[tokio::test]
async fn kubernetes_upgrade_replaces_every_node_and_consumes_a_pending_kubelet_identity() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    s.create_rg("rg-aks", LOC).await;
    let mut body = user_assigned(LOC, &id_of(&ids.cp), Some(&id_of(&ids.first)));
    body["properties"]["kubernetesVersion"] = json!("1.33.5");
    let c = create_cluster(&s, "rg-aks", "k8sup", body).await;
    let image = profile(&c, "nodepool1")["nodeImageVersion"].clone();
    let changed = update_cluster(&s, "rg-aks", "k8sup", with_kubelet(&c, &ids.second)).await;
    let before = view(&s, "rg-aks", "k8sup").await;
    assert_eq!(
        effective_clients(pool_view(&before, "nodepool1")),
        [client_of(&ids.first)]
    );

    let mut up = changed.clone();
    up["properties"]["kubernetesVersion"] = json!("1.34.1");
    let r = put_cluster(&s, "rg-aks", "k8sup", up).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["properties"]["provisioningState"], "Upgrading");
    assert_eq!(settle(&s, &r).await["status"], "Succeeded");

    let g = get_cluster(&s, "rg-aks", "k8sup").await.json;
    assert_eq!(profile(&g, "nodepool1")["currentOrchestratorVersion"], "1.34.1");
    assert_eq!(
        profile(&g, "nodepool1")["nodeImageVersion"],
        image,
        "no newer image to move to"
    );
    let after = view(&s, "rg-aks", "k8sup").await;
    let p = pool_view(&after, "nodepool1");
    let old = node_names(pool_view(&before, "nodepool1"));
    let new = node_names(p);
    assert_eq!(new.len(), old.len());
    assert!(old.is_disjoint(&new), "every node is replaced: {old:?} vs {new:?}");
    assert_eq!(effective_clients(p), [client_of(&ids.second)]);
    assert!(p["pending"].is_null(), "{p}");
}

// ---- (b) ACR pull break-and-fix --------------------------------------------------------------

// Source: aks-rules.md i10 (the kubelet identity needs AcrPull on the registry), e1 (a kubelet
// change with a newer image reimages the pool onto the new identity) — the seed's
// `--attach-acr` advice.
#[tokio::test]
async fn acr_pull_breaks_after_a_kubelet_change_and_is_fixed_by_granting_acrpull() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    s.create_rg("rg-acr", LOC).await;
    let acr = create_registry(&s, "rg-acr", "storyacr").await;
    let other = create_registry(&s, "rg-acr", "otheracr").await;
    grant(&s, &id_of(&acr), ACR_PULL_ROLE, &principal_of(&ids.first)).await;
    let c = story_cluster(&s, &ids, "pull", json!([pool_profile("nodepool1", "System", 2)])).await;
    let image = format!("{}/app:v1", acr["properties"]["loginServer"].as_str().unwrap());
    let elsewhere = format!("{}/app:v1", other["properties"]["loginServer"].as_str().unwrap());

    let ok = pull_check(&s, "rg-aks", "pull", &image).await;
    assert_eq!(ok["allowed"], true, "{ok}");
    assert_eq!(
        ok["results"][0]["kubeletIdentity"]["clientId"],
        json!(client_of(&ids.first))
    );
    let denied = pull_check(&s, "rg-aks", "pull", &elsewhere).await;
    assert_eq!(denied["allowed"], false, "{denied}");

    // A newer image is available, so the kubelet change reaches the nodes at once…
    publish(&s, UBUNTU).await;
    update_cluster(&s, "rg-aks", "pull", with_kubelet(&c, &ids.second)).await;
    let v = view(&s, "rg-aks", "pull").await;
    assert_eq!(effective_clients(pool_view(&v, "nodepool1")), [client_of(&ids.second)]);
    // …and pulls break: the new identity lacks AcrPull.
    let broken = pull_check(&s, "rg-aks", "pull", &image).await;
    assert_eq!(broken["allowed"], false, "{broken}");
    assert_eq!(
        broken["results"][0]["kubeletIdentity"]["clientId"],
        json!(client_of(&ids.second))
    );

    // Fix: AcrPull for the new identity.
    grant(&s, &id_of(&acr), ACR_PULL_ROLE, &principal_of(&ids.second)).await;
    let fixed = pull_check(&s, "rg-aks", "pull", &image).await;
    assert_eq!(fixed["allowed"], true, "{fixed}");
}

// Source: aks-rules.md e2 (confirmed: a pool on the newest image keeps the old identity until a
// newer image is released and consumed) and i10.
#[tokio::test]
async fn acr_pull_uses_the_old_identity_until_a_newer_image_is_consumed() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    s.create_rg("rg-acr", LOC).await;
    let acr = create_registry(&s, "rg-acr", "gapacr").await;
    let old_grant = guid();
    let r = s
        .assign(
            &id_of(&acr),
            &old_grant,
            ACR_PULL_ROLE,
            &principal_of(&ids.first),
            Some("ServicePrincipal"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let c = story_cluster(&s, &ids, "gap", json!([pool_profile("nodepool1", "System", 2)])).await;
    let image = format!("{}/app:v1", acr["properties"]["loginServer"].as_str().unwrap());
    assert_eq!(pull_check(&s, "rg-aks", "gap", &image).await["allowed"], true);

    // No newer image: the change succeeds, the nodes keep the first identity.
    update_cluster(&s, "rg-aks", "gap", with_kubelet(&c, &ids.second)).await;
    grant(&s, &id_of(&acr), ACR_PULL_ROLE, &principal_of(&ids.second)).await;
    let still_old = pull_check(&s, "rg-aks", "gap", &image).await;
    assert_eq!(still_old["allowed"], true, "{still_old}");
    assert_eq!(
        still_old["results"][0]["kubeletIdentity"]["clientId"],
        json!(client_of(&ids.first))
    );

    // Removing the old identity's AcrPull — it looks unused — breaks pulls: the nodes still use it.
    let d = s
        .delete(&format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{old_grant}",
            id_of(&acr)
        ))
        .await;
    assert_eq!(d.status, 200, "{}", d.text);
    let broken = pull_check(&s, "rg-aks", "gap", &image).await;
    assert_eq!(broken["allowed"], false, "{broken}");
    assert_eq!(
        broken["results"][0]["kubeletIdentity"]["clientId"],
        json!(client_of(&ids.first))
    );

    // The next image, consumed, moves the nodes to the new identity, which can pull.
    publish(&s, UBUNTU).await;
    let r = upgrade_node_image(&s, &pool_id(&s, "rg-aks", "gap", "nodepool1"), None).await;
    assert_eq!(settle(&s, &r).await["status"], "Succeeded");
    let fixed = pull_check(&s, "rg-aks", "gap", &image).await;
    assert_eq!(fixed["allowed"], true, "{fixed}");
    assert_eq!(
        fixed["results"][0]["kubeletIdentity"]["clientId"],
        json!(client_of(&ids.second))
    );
}

// ---- (c) IMDS ------------------------------------------------------------------------------

// Source: issue 5 item 6 (IMDS-style tokens for a node's effective kubelet identity); the IMDS
// contract (`Metadata: true` required, api-version 2018-02-01, `resource`).
#[tokio::test]
async fn imds_token_is_for_the_node_effective_kubelet_identity() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    let c = story_cluster(&s, &ids, "imds", json!([pool_profile("nodepool1", "System", 2)])).await;
    let v = view(&s, "rg-aks", "imds").await;
    let node = pool_view(&v, "nodepool1")["nodes"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();

    let r = imds(&s, "/metadata/identity/oauth2/token", Some(&node), true, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["token_type"], "Bearer");
    assert_eq!(r.json["resource"], "https://management.azure.com/");
    assert_eq!(r.json["client_id"], json!(client_of(&ids.first)));
    let claims = jwt_claims(r.json["access_token"].as_str().unwrap());
    assert_eq!(claims["oid"], json!(principal_of(&ids.first)));

    // The Metadata header is required.
    let r = imds(&s, "/metadata/identity/oauth2/token", Some(&node), false, &[]).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json["error"], "invalid_request");
    // Another identity than the node's is not available.
    let r = imds(
        &s,
        "/metadata/identity/oauth2/token",
        Some(&node),
        true,
        &[("client_id", &client_of(&ids.second))],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);
    // An unknown node.
    let r = imds(
        &s,
        "/metadata/identity/oauth2/token",
        Some("aks-nope-00000000-vmss000000"),
        true,
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text);

    // The per-node path works too.
    let r = imds(
        &s,
        &format!("/_azemu/nodes/{node}/metadata/identity/oauth2/token"),
        None,
        true,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        jwt_claims(r.json["access_token"].as_str().unwrap())["oid"],
        json!(principal_of(&ids.first))
    );

    // After a kubelet change with no newer image, the node still gets the first identity's token.
    update_cluster(&s, "rg-aks", "imds", with_kubelet(&c, &ids.second)).await;
    let r = imds(&s, "/metadata/identity/oauth2/token", Some(&node), true, &[]).await;
    assert_eq!(
        jwt_claims(r.json["access_token"].as_str().unwrap())["oid"],
        json!(principal_of(&ids.first))
    );

    // Once the pool consumes a newer image, its new nodes get the second identity's token.
    publish(&s, UBUNTU).await;
    let r = upgrade_node_image(&s, &pool_id(&s, "rg-aks", "imds", "nodepool1"), None).await;
    assert_eq!(settle(&s, &r).await["status"], "Succeeded");
    let v = view(&s, "rg-aks", "imds").await;
    let new_node = pool_view(&v, "nodepool1")["nodes"][0]["name"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new_node, node);
    let r = imds(&s, "/metadata/identity/oauth2/token", Some(&new_node), true, &[]).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        jwt_claims(r.json["access_token"].as_str().unwrap())["oid"],
        json!(principal_of(&ids.second))
    );
    let r = imds(&s, "/metadata/identity/oauth2/token", Some(&node), true, &[]).await;
    assert_eq!(r.status, 400, "the replaced node is gone: {}", r.text);
}

// ---- (d) concurrency -----------------------------------------------------------------------

// Source: aks-rules.md g4 (confirmed: 409 `OperationNotAllowed` while another operation runs on
// the cluster or a pool) and g6 (abort → `Canceled`, no rollback).
#[tokio::test]
async fn kubelet_change_while_an_upgrade_runs_is_refused_and_abort_cancels() {
    let s = TestServer::start().await;
    let ids = story_identities(&s).await;
    let c = story_cluster(&s, &ids, "busy", json!([pool_profile("nodepool1", "System", 2)])).await;
    let pool = pool_id(&s, "rg-aks", "busy", "nodepool1");
    let old_image = profile(&c, "nodepool1")["nodeImageVersion"].clone();
    publish(&s, UBUNTU).await;

    let r = upgrade_node_image(&s, &pool, Some("manual")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let op = r.header("azure-asyncoperation").unwrap();

    let refused = put_cluster(&s, "rg-aks", "busy", with_kubelet(&c, &ids.second)).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.code(), "OperationNotAllowed");
    assert!(
        refused
            .message()
            .contains("Another operation (nodepool1 - UpgradingNodeImageVersion) is in progress"),
        "{}",
        refused.message()
    );
    let again = upgrade_node_image(&s, &pool, None).await;
    assert_eq!(again.status, 409, "{}", again.text);
    let g = get_cluster(&s, "rg-aks", "busy").await;
    assert_eq!(
        g.json["properties"]["identityProfile"]["kubeletidentity"]["resourceId"],
        json!(id_of(&ids.first))
    );
    assert_eq!(s.poll(&op).await.json["status"], "InProgress");

    // Abort the pool's operation: it ends Canceled and nothing was reimaged.
    let a = s.post(&api(&format!("{pool}/abort")), json!({})).await;
    assert!(a.status == 204 || a.status == 202, "{}", a.text);
    let p = s.poll(&op).await;
    assert_eq!(p.json["status"], "Canceled", "{}", p.text);
    let g = s.get(&api(&pool)).await;
    assert_eq!(g.json["properties"]["provisioningState"], "Canceled");
    assert_eq!(g.json["properties"]["nodeImageVersion"], old_image);
    let k = kinds(&events(&s, &pool).await);
    assert!(k.contains(&"OperationAborted".to_string()), "{k:?}");

    // Now the kubelet change goes through, and with a newer image it reaches the nodes.
    let after = update_cluster(&s, "rg-aks", "busy", with_kubelet(&c, &ids.second)).await;
    assert_ne!(profile(&after, "nodepool1")["nodeImageVersion"], old_image);
    let v = view(&s, "rg-aks", "busy").await;
    assert_eq!(effective_clients(pool_view(&v, "nodepool1")), [client_of(&ids.second)]);
}
