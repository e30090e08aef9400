//! Managed identities, the directory and Graph, role definitions, role assignments and
//! `--enforce-rbac` (issue 3), over real HTTPS.
//!
//! Each role-assignment rule has its own test, named after the rule, citing its source:
//! `../shared/research/aks-rules.md` §5 rows i1–i10 (and §6 rows j1–j10 for generic codes).

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

fn ra_path(scope: &str, name: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")
}

fn ra_list(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments")
}

fn principal_of(identity: &Value) -> String {
    identity["properties"]["principalId"].as_str().unwrap().to_string()
}

fn client_of(identity: &Value) -> String {
    identity["properties"]["clientId"].as_str().unwrap().to_string()
}

fn names(items: &[Value]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| i["name"].as_str().unwrap_or("").to_string())
        .collect()
}

// ---- user-assigned identities -------------------------------------------------------------

#[tokio::test]
async fn identity_put_creates_then_updates_with_stable_ids() {
    let s = TestServer::start().await;
    s.create_rg("rg-ident", "westus2").await;
    let path = s.identity_id("rg-ident", "Kubelet-Id");
    let a = s
        .put(&path, json!({ "location": "westus2", "tags": { "team": "aks" } }))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let b = &a.json;
    assert_eq!(b["id"], json!(path));
    assert_eq!(b["name"], "Kubelet-Id");
    assert_eq!(b["type"], IDENTITY_TYPE);
    assert_eq!(b["location"], "westus2");
    assert_eq!(b["tags"], json!({ "team": "aks" }));
    let p = &b["properties"];
    assert_eq!(p["tenantId"], json!(DEFAULT_TENANT_ID));
    assert!(is_guid(p["clientId"].as_str().unwrap()));
    assert!(is_guid(p["principalId"].as_str().unwrap()));
    assert_ne!(p["clientId"], p["principalId"]);
    assert_eq!(p["isolationScope"], "None");

    insta::assert_json_snapshot!("identity", b, {
        ".properties.principalId" => "[guid]",
        ".properties.clientId" => "[guid]",
        ".systemData.createdAt" => "[timestamp]",
        ".systemData.lastModifiedAt" => "[timestamp]",
    });

    // PUT again is an update: same clientId and principalId.
    let again = s.put(&path, json!({ "location": "westus2", "tags": {} })).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.json["properties"]["clientId"], p["clientId"]);
    assert_eq!(again.json["properties"]["principalId"], p["principalId"]);
    assert_eq!(again.json["tags"], json!({}));

    // GET in any casing answers with the creation casing.
    let g = s
        .get(&format!(
            "/subscriptions/{}/resourcegroups/RG-IDENT/providers/microsoft.managedidentity/userassignedidentities/kubelet-id",
            s.sub()
        ))
        .await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json["id"], json!(path));
    assert_eq!(g.json["name"], "Kubelet-Id");
    assert_eq!(g.json["properties"]["clientId"], p["clientId"]);

    // Another identity gets other ids.
    let other = s.create_identity("rg-ident", "other-id").await;
    assert_ne!(other["properties"]["clientId"], p["clientId"]);
    assert_ne!(other["properties"]["principalId"], p["principalId"]);
}

#[tokio::test]
async fn identity_put_of_its_own_get_output_ignores_read_only_properties() {
    // Issue 2 §3: read-only properties clients echo back (Terraform PUTs its own GET output)
    // are ignored, not rejected.
    let s = TestServer::start().await;
    s.create_rg("rg-echo", "westus2").await;
    let created = s.create_identity("rg-echo", "id-echo").await;
    let path = s.identity_id("rg-echo", "id-echo");
    let got = s.get(&path).await.json;
    let r = s.put(&path, got.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["properties"], created["properties"]);

    let mut forged = got;
    forged["properties"]["clientId"] = json!(guid());
    forged["properties"]["principalId"] = json!(guid());
    let r = s.put(&path, forged).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["properties"]["clientId"], created["properties"]["clientId"]);
    assert_eq!(
        r.json["properties"]["principalId"],
        created["properties"]["principalId"]
    );
}

#[tokio::test]
async fn identity_patch_updates_tags_and_keeps_ids() {
    let s = TestServer::start().await;
    s.create_rg("rg-ipatch", "westus2").await;
    let created = s.create_identity("rg-ipatch", "id-patch").await;
    let path = s.identity_id("rg-ipatch", "id-patch");
    let r = s.patch(&path, json!({ "tags": { "k": "v" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["tags"], json!({ "k": "v" }));
    assert_eq!(r.json["properties"]["clientId"], created["properties"]["clientId"]);
    assert_eq!(
        r.json["properties"]["principalId"],
        created["properties"]["principalId"]
    );
    assert_eq!(r.json["location"], "westus2");
    assert_eq!(s.get(&path).await.json["tags"], json!({ "k": "v" }));

    let missing = s
        .patch(&s.identity_id("rg-ipatch", "nope"), json!({ "tags": {} }))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.code(), "ResourceNotFound");
}

#[tokio::test]
async fn identity_delete_is_200_then_204_then_get_404() {
    // j8 (MSI UserAssignedIdentities_Delete: 200/204); j5 for the 404.
    let s = TestServer::start().await;
    s.create_rg("rg-idel", "westus2").await;
    s.create_identity("rg-idel", "id-del").await;
    let path = s.identity_id("rg-idel", "id-del");
    let r = s.delete(&path).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["name"], "id-del");
    let r = s.delete(&path).await;
    assert_eq!(r.status, 204, "{}", r.text);
    let g = s.get(&path).await;
    assert_eq!(g.status, 404, "{}", g.text);
    assert_eq!(g.code(), "ResourceNotFound");
    assert_eq!(
        g.message(),
        "The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/id-del' under resource group 'rg-idel' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );
}

#[tokio::test]
async fn identities_are_listed_by_resource_group_and_subscription_with_paging() {
    let s = TestServer::start().await;
    s.create_rg("rg-l1", "westus2").await;
    s.create_rg("rg-l2", "westus2").await;
    s.create_identity("rg-l1", "id-1").await;
    s.create_identity("rg-l1", "id-2").await;
    s.create_identity("rg-l2", "id-3").await;

    let by_rg = s
        .get(&format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            s.rg_id("rg-l1")
        ))
        .await;
    assert_eq!(by_rg.status, 200, "{}", by_rg.text);
    assert_eq!(names(&by_rg.values()), ["id-1", "id-2"].map(String::from).into());

    let sub_path = format!(
        "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
        s.sub()
    );
    let by_sub = s.get(&sub_path).await;
    assert_eq!(by_sub.status, 200, "{}", by_sub.text);
    assert_eq!(
        names(&by_sub.values()),
        ["id-1", "id-2", "id-3"].map(String::from).into()
    );

    // Paged one at a time.
    let mut seen = Vec::new();
    let mut r = s.get(&format!("{sub_path}?$top=1")).await;
    loop {
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.values().len(), 1);
        seen.extend(r.values());
        match r.json["nextLink"].as_str() {
            Some(next) => r = s.poll(next).await,
            None => break,
        }
        assert!(seen.len() <= 3, "paging ends");
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(names(&seen), names(&by_sub.values()));

    let missing = s
        .get(&format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            s.rg_id("rg-none")
        ))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.code(), "ResourceGroupNotFound");
}

#[tokio::test]
async fn check_identity_name_refuses_invalid_names() {
    let s = TestServer::start().await;
    s.create_rg("rg-iname", "westus2").await;
    let long = "a".repeat(129);
    for name in ["ab", "-starts-with-hyphen", "has.dot", long.as_str()] {
        let r = s
            .put(&s.identity_id("rg-iname", name), json!({ "location": "westus2" }))
            .await;
        assert_eq!(r.status, 400, "{name}: {}", r.text);
        assert_eq!(r.code(), "InvalidResourceName", "{name}");
    }
    let ok = "a".repeat(128);
    for name in ["abc", "with_underscore-and-hyphen", ok.as_str()] {
        let r = s
            .put(&s.identity_id("rg-iname", name), json!({ "location": "westus2" }))
            .await;
        assert_eq!(r.status, 201, "{name}: {}", r.text);
    }
}

#[tokio::test]
async fn identity_location_and_group_are_checked() {
    let s = TestServer::start().await;
    s.create_rg("rg-iloc", "westus2").await;
    let r = s
        .put(&s.identity_id("rg-iloc", "id-x"), json!({ "location": "moon-1" }))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "LocationNotAvailableForResourceType");

    let r = s.put(&s.identity_id("rg-iloc", "id-x"), json!({})).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "LocationRequired");

    // j4: the group must exist.
    let r = s
        .put(&s.identity_id("rg-missing", "id-x"), json!({ "location": "westus2" }))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "ResourceGroupNotFound");

    s.create_identity("rg-iloc", "id-y").await;
    let r = s
        .put(&s.identity_id("rg-iloc", "id-y"), json!({ "location": "eastus" }))
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "InvalidResourceLocation");
}

// ---- the directory and Microsoft Graph ---------------------------------------------------------

#[tokio::test]
async fn graph_finds_an_identitys_service_principal() {
    let s = TestServer::start().await;
    s.create_rg("rg-graph", "westus2").await;
    let id = s.create_identity("rg-graph", "id-graph").await;
    let (client, principal) = (client_of(&id), principal_of(&id));

    // azure-cli.md: `--assignee <clientId>` resolves through this filter.
    let r = s
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '{client}')"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.values();
    assert_eq!(v.len(), 1, "{}", r.text);
    assert_eq!(v[0]["id"], json!(principal));
    assert_eq!(v[0]["appId"], json!(client));
    assert_eq!(v[0]["servicePrincipalType"], "ManagedIdentity");
    assert_eq!(v[0]["displayName"], "id-graph");

    let r = s
        .get(&format!("/v1.0/servicePrincipals?$filter=appId eq '{client}'"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.values().len(), 1);
    assert_eq!(r.values()[0]["id"], json!(principal));

    let r = s.get(&format!("/v1.0/servicePrincipals/{principal}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["appId"], json!(client));

    let r = s.get(&format!("/v1.0/servicePrincipals/{}", guid())).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "Request_ResourceNotFound");

    // Token clients are in the same directory.
    let r = s
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=appId eq '{DEFAULT_CLIENT_ID}'"
        ))
        .await;
    assert_eq!(r.values().len(), 1, "{}", r.text);
    assert_eq!(r.values()[0]["servicePrincipalType"], "Application");

    // A filter az does not send is refused the Graph way.
    let r = s.get("/v1.0/servicePrincipals?$filter=tags/any(t:t eq 'x')").await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "Request_UnsupportedQuery");

    // Graph needs a token.
    let r = s
        .send(s.raw(Method::GET, &format!("/v1.0/servicePrincipals/{principal}")))
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
}

#[tokio::test]
async fn graph_get_by_ids_returns_the_known_principals() {
    let s = TestServer::start().await;
    s.create_rg("rg-byids", "westus2").await;
    let id = s.create_identity("rg-byids", "id-byids").await;
    let owner = jwt_claims(&s.token().await)["oid"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1.0/directoryObjects/getByIds",
            json!({
                "ids": [principal_of(&id), owner, guid()],
                "types": ["user", "group", "servicePrincipal", "directoryObjectPartnerReference"],
            }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ids: BTreeSet<String> = r
        .values()
        .iter()
        .map(|x| x["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [principal_of(&id), owner].into());
    for x in r.values() {
        assert_eq!(x["@odata.type"], "#microsoft.graph.servicePrincipal");
    }
}

#[tokio::test]
async fn deleting_an_identity_removes_its_principal_but_keeps_its_role_assignments() {
    // Issue 3 §1: "deleting the identity removes the principal but leaves role assignments
    // that name it (as Azure does)".
    let s = TestServer::start().await;
    s.create_rg("rg-orphan", "westus2").await;
    let id = s.create_identity("rg-orphan", "id-orphan").await;
    let (client, principal) = (client_of(&id), principal_of(&id));
    let scope = s.rg_id("rg-orphan");
    let name = guid();
    let a = s.assign(&scope, &name, READER, &principal, None).await;
    assert_eq!(a.status, 201, "{}", a.text);

    let d = s.delete(&s.identity_id("rg-orphan", "id-orphan")).await;
    assert_eq!(d.status, 200, "{}", d.text);

    let r = s
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=servicePrincipalNames/any(c:c eq '{client}')"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.values().is_empty(), "{}", r.text);
    assert_eq!(s.get(&format!("/v1.0/servicePrincipals/{principal}")).await.status, 404);

    let g = s.get(&ra_path(&scope, &name)).await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json["properties"]["principalId"], json!(principal));
    let l = s
        .get(&format!("{}?$filter=principalId eq '{principal}'", ra_list(&scope)))
        .await;
    assert_eq!(names(&l.values()), [name].into());
}

// ---- role definitions (i9) ---------------------------------------------------------------------

#[tokio::test]
async fn role_definition_by_id_in_subscription_and_tenant_form() {
    // i9: GET by id accepts the subscription and the tenant form.
    let s = TestServer::start().await;
    let sub_form = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}",
        s.sub()
    );
    let r = s.get(&sub_form).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["id"], json!(sub_form));
    assert_eq!(r.json["name"], ACR_PULL);
    assert_eq!(r.json["type"], "Microsoft.Authorization/roleDefinitions");
    let p = &r.json["properties"];
    assert_eq!(p["roleName"], "AcrPull");
    assert_eq!(p["type"], "BuiltInRole");
    assert_eq!(p["assignableScopes"], json!(["/"]));
    assert_eq!(
        p["permissions"][0]["actions"],
        json!(["Microsoft.ContainerRegistry/registries/pull/read"])
    );
    insta::assert_json_snapshot!("role_definition_acrpull", r.json);

    let tenant_form = format!("/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}");
    let t = s.get(&tenant_form).await;
    assert_eq!(t.status, 200, "{}", t.text);
    assert_eq!(t.json["id"], json!(tenant_form));
    assert_eq!(t.json["properties"], r.json["properties"]);

    let listed = s
        .get("/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq 'AcrPull'")
        .await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.values().len(), 1, "{}", listed.text);
    assert_eq!(listed.values()[0]["id"], json!(tenant_form));

    let missing = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
            s.sub(),
            guid()
        ))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.code(), "RoleDefinitionDoesNotExist");
}

#[tokio::test]
async fn role_definition_filter_role_name_is_case_insensitive() {
    // i9 + azure-cli.md: az sends `roleName eq 'acrpull'` as typed and needs exactly one match.
    let s = TestServer::start().await;
    s.create_rg("rg-rdf", "westus2").await;
    s.create_identity("rg-rdf", "id-rdf").await;
    let expected = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}",
        s.sub()
    );
    for scope in [
        format!("/subscriptions/{}", s.sub()),
        s.rg_id("rg-rdf"),
        s.identity_id("rg-rdf", "id-rdf"),
    ] {
        let r = s
            .get(&format!(
                "{scope}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq 'acrpull'"
            ))
            .await;
        assert_eq!(r.status, 200, "{scope}: {}", r.text);
        let v = r.values();
        assert_eq!(v.len(), 1, "{scope}: {}", r.text);
        assert_eq!(v[0]["id"], json!(expected), "{scope}");
        assert_eq!(v[0]["properties"]["roleName"], "AcrPull");
    }
    let none = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq 'No Such Role'",
            s.sub()
        ))
        .await;
    assert_eq!(none.status, 200);
    assert!(none.values().is_empty());
}

#[tokio::test]
async fn role_definition_filter_built_in_role_lists_the_catalog() {
    // Issue 3 §3: the built-in catalog with the real GUIDs (aks-rules.md §5 table for some).
    let s = TestServer::start().await;
    let r = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?$filter=type eq 'BuiltInRole'",
            s.sub()
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = r.values();
    assert!(v.iter().all(|d| d["properties"]["type"] == "BuiltInRole"));
    let want = [
        ("Owner", OWNER),
        ("Contributor", CONTRIBUTOR),
        ("Reader", READER),
        ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"),
        ("AcrPull", ACR_PULL),
        ("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec"),
        ("Managed Identity Operator", "f1a07417-d97a-45cb-824c-7a7467783830"),
        ("Managed Identity Contributor", "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"),
        ("Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7"),
        (
            "Azure Kubernetes Service Cluster Admin Role",
            "0ab0b1a8-8aac-4efd-b8c2-3ee1fb270be8",
        ),
        (
            "Azure Kubernetes Service Cluster User Role",
            "4abbcc35-e782-43d8-92c5-2d3f1bd2253f",
        ),
        (
            "Azure Kubernetes Service Contributor Role",
            "ed7f3fbd-7b88-4dd4-9017-9adb7ce333f8",
        ),
        ("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"),
        ("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe"),
    ];
    for (name, g) in want {
        let d = v
            .iter()
            .find(|d| d["properties"]["roleName"] == json!(name))
            .unwrap_or_else(|| panic!("{name} is built in"));
        assert_eq!(d["name"], json!(g), "{name}");
    }
    let owner = v.iter().find(|d| d["name"] == json!(OWNER)).unwrap();
    assert_eq!(owner["properties"]["permissions"][0]["actions"], json!(["*"]));
    let contributor = v.iter().find(|d| d["name"] == json!(CONTRIBUTOR)).unwrap();
    assert!(contributor["properties"]["permissions"][0]["notActions"]
        .as_array()
        .unwrap()
        .contains(&json!("Microsoft.Authorization/*/Write")));

    let custom = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?$filter=type eq 'CustomRole'",
            s.sub()
        ))
        .await;
    assert_eq!(custom.status, 200);
    assert!(custom.values().is_empty());
}

#[tokio::test]
async fn custom_role_definitions_can_be_created_and_used() {
    let s = TestServer::start().await;
    let g = guid();
    let path = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{g}",
        s.sub()
    );
    let body = json!({
        "properties": {
            "roleName": "Identity Reader (azemu test)",
            "description": "Reads identities.",
            "assignableScopes": [format!("/subscriptions/{}", s.sub())],
            "permissions": [{
                "actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/read"],
                "notActions": [], "dataActions": [], "notDataActions": []
            }],
        }
    });
    let r = s.put(&path, body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["id"], json!(path));
    assert_eq!(r.json["properties"]["type"], "CustomRole");
    assert_eq!(r.json["properties"]["roleName"], "Identity Reader (azemu test)");
    assert_eq!(
        s.put(&path, body).await.status,
        201,
        "the spec lists 201 for an update too"
    );
    assert_eq!(s.get(&path).await.status, 200);

    let f = s
        .get(&format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName eq 'identity reader (azemu test)'",
            s.sub()
        ))
        .await;
    assert_eq!(names(&f.values()), [g.clone()].into());

    // It can be assigned.
    s.create_rg("rg-custom", "westus2").await;
    let id = s.create_identity("rg-custom", "id-custom").await;
    let a = s
        .assign(&s.rg_id("rg-custom"), &guid(), &g, &principal_of(&id), None)
        .await;
    assert_eq!(a.status, 201, "{}", a.text);

    // Another role with the same name is refused; built-in roles cannot be changed.
    let dup = s
        .put(
            &format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                s.sub(),
                guid()
            ),
            json!({ "properties": {
                "roleName": "Identity Reader (azemu test)",
                "assignableScopes": [format!("/subscriptions/{}", s.sub())],
                "permissions": [{ "actions": ["*/read"] }],
            }}),
        )
        .await;
    assert_eq!(dup.status, 409, "{}", dup.text);
    let builtin = s
        .put(
            &format!(
                "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{READER}",
                s.sub()
            ),
            json!({ "properties": {
                "roleName": "Reader",
                "assignableScopes": ["/"],
                "permissions": [{ "actions": ["*"] }],
            }}),
        )
        .await;
    assert_eq!(builtin.status, 403, "{}", builtin.text);
}

// ---- role assignments: one test per rule ---------------------------------------------------

#[tokio::test]
async fn rule_invalid_role_assignment_id() {
    // aks-rules.md §5 i4: the assignment name must be a GUID → 400 InvalidRoleAssignmentId
    // (Azure/azure-service-operator #2586).
    let s = TestServer::start().await;
    s.create_rg("rg-i4", "westus2").await;
    let id = s.create_identity("rg-i4", "id-i4").await;
    let r = s
        .assign(&s.rg_id("rg-i4"), "not-a-guid", READER, &principal_of(&id), None)
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidRoleAssignmentId");
    assert_eq!(
        r.message(),
        "The role assignment ID 'not-a-guid' is not valid. The role assignment ID must be a GUID."
    );
}

#[tokio::test]
async fn rule_invalid_principal_id() {
    // aks-rules.md §5 i5: the principal id must be a GUID → 400 InvalidPrincipalId
    // (Azure/azure-powershell #16627).
    let s = TestServer::start().await;
    s.create_rg("rg-i5", "westus2").await;
    let r = s
        .assign(
            &s.rg_id("rg-i5"),
            &guid(),
            READER,
            "my-identity",
            Some("ServicePrincipal"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidPrincipalId");
    assert_eq!(
        r.message(),
        "The Principal ID 'my-identity' is not valid. Principal ID must be a GUID."
    );
}

#[tokio::test]
async fn rule_role_definition_must_exist() {
    // Issue 3 §4 "role definition must exist"; aks-rules.md §5 i9 for the id forms.
    let s = TestServer::start().await;
    s.create_rg("rg-rd", "westus2").await;
    let id = s.create_identity("rg-rd", "id-rd").await;
    let missing = guid();
    let r = s
        .assign(&s.rg_id("rg-rd"), &guid(), &missing, &principal_of(&id), None)
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "RoleDefinitionDoesNotExist");
    assert!(r.message().contains(&missing), "{}", r.message());

    // The tenant form of an existing role is accepted.
    let ok = s
        .put(
            &ra_path(&s.rg_id("rg-rd"), &guid()),
            json!({ "properties": {
                "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
                "principalId": principal_of(&id),
            }}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

#[tokio::test]
async fn rule_scope_must_exist() {
    // Issue 3 §4 "scope must exist"; scope forms from aks-rules.md §5 i6; codes from §6 j4/j5.
    let s = TestServer::start().await;
    s.create_rg("rg-scope", "westus2").await;
    let id = s.create_identity("rg-scope", "id-scope").await;
    let p = principal_of(&id);

    let r = s
        .assign(
            &s.identity_id("rg-scope", "no-such-identity"),
            &guid(),
            READER,
            &p,
            None,
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "ResourceNotFound");
    assert!(r.message().contains("no-such-identity"), "{}", r.message());

    let r = s.assign(&s.rg_id("rg-nowhere"), &guid(), READER, &p, None).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "ResourceGroupNotFound");

    let r = s
        .assign(&format!("/subscriptions/{}", guid()), &guid(), READER, &p, None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.code(), "SubscriptionNotFound");

    // Existing scopes at every level work: subscription, group, resource, nested resource.
    let vnet = format!(
        "{}/providers/Microsoft.Network/virtualNetworks/vnet-scope",
        s.rg_id("rg-scope")
    );
    let v = s
        .put(
            &format!("{vnet}?api-version=2024-05-01"),
            json!({
                "location": "westus2",
                "properties": {
                    "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
                    "subnets": [{ "name": "nodes", "properties": { "addressPrefix": "10.0.1.0/24" } }],
                },
            }),
        )
        .await;
    assert!(v.status == 200 || v.status == 201, "{}", v.text);
    for scope in [
        format!("/subscriptions/{}", s.sub()),
        s.rg_id("rg-scope"),
        s.identity_id("rg-scope", "id-scope"),
        format!("{vnet}/subnets/nodes"),
    ] {
        let r = s.assign(&scope, &guid(), READER, &p, None).await;
        assert_eq!(r.status, 201, "{scope}: {}", r.text);
        assert_eq!(r.json["properties"]["scope"], json!(scope));
    }
    let r = s
        .assign(&format!("{vnet}/subnets/missing"), &guid(), READER, &p, None)
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
}

#[tokio::test]
async fn rule_principal_not_found_unless_principal_type_given() {
    // aks-rules.md §5 i2/i3: an unknown principal → 400 PrincipalNotFound; principalType lets
    // ARM skip the directory look-up (Azure/HubAndSpokeResearchEnclave #50, avdaccelerator #99).
    let s = TestServer::start().await;
    s.create_rg("rg-i2", "westus2").await;
    let ghost = guid();
    let r = s.assign(&s.rg_id("rg-i2"), &guid(), READER, &ghost, None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "PrincipalNotFound");
    assert!(
        r.message().starts_with(&format!(
            "Principal {} does not exist in the directory {}.",
            ghost.replace('-', ""),
            DEFAULT_TENANT_ID
        )),
        "{}",
        r.message()
    );
    assert!(r.message().contains("principalType"), "{}", r.message());

    let r = s
        .assign(&s.rg_id("rg-i2"), &guid(), READER, &ghost, Some("ServicePrincipal"))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["properties"]["principalType"], "ServicePrincipal");

    // A known principal needs no principalType.
    let id = s.create_identity("rg-i2", "id-i2").await;
    let r = s
        .assign(&s.rg_id("rg-i2"), &guid(), READER, &principal_of(&id), None)
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["properties"]["principalType"], "ServicePrincipal");
}

#[tokio::test]
async fn rule_role_assignment_exists() {
    // aks-rules.md §5 i1: the same (scope, principal, role) under another name → 409
    // RoleAssignmentExists, naming the existing assignment (Azure/azure-cli PR #8599).
    let s = TestServer::start().await;
    s.create_rg("rg-i1", "westus2").await;
    let id = s.create_identity("rg-i1", "id-i1").await;
    let scope = s.rg_id("rg-i1");
    let first = guid();
    let a = s.assign(&scope, &first, ACR_PULL, &principal_of(&id), None).await;
    assert_eq!(a.status, 201, "{}", a.text);

    let b = s.assign(&scope, &guid(), ACR_PULL, &principal_of(&id), None).await;
    assert_eq!(b.status, 409, "{}", b.text);
    assert_eq!(b.code(), "RoleAssignmentExists");
    assert!(b.message().starts_with("The role assignment already exists."));
    assert!(b.message().contains(&first.replace('-', "")), "{}", b.message());

    // The same scope in another casing is the same scope.
    let c = s
        .assign(
            &scope.to_ascii_uppercase().replace("SUBSCRIPTIONS", "subscriptions"),
            &guid(),
            ACR_PULL,
            &principal_of(&id),
            None,
        )
        .await;
    assert_eq!(c.status, 409, "{}", c.text);

    // Another role for the same principal and scope is a different assignment.
    let d = s.assign(&scope, &guid(), READER, &principal_of(&id), None).await;
    assert_eq!(d.status, 201, "{}", d.text);
}

#[tokio::test]
async fn rule_same_name_and_body_is_idempotent() {
    // aks-rules.md §5 i1: a PUT with the same name and the same body returns 200/201.
    let s = TestServer::start().await;
    s.create_rg("rg-idem", "westus2").await;
    let id = s.create_identity("rg-idem", "id-idem").await;
    let name = guid();
    let a = s
        .assign(&s.rg_id("rg-idem"), &name, READER, &principal_of(&id), None)
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let b = s
        .assign(&s.rg_id("rg-idem"), &name, READER, &principal_of(&id), None)
        .await;
    assert!(b.status == 200 || b.status == 201, "{}", b.text);
    assert_eq!(a.json, b.json);

    let list = s.get(&ra_list(&s.rg_id("rg-idem"))).await;
    let mine: Vec<Value> = list
        .values()
        .into_iter()
        .filter(|x| x["properties"]["principalId"] == json!(principal_of(&id)))
        .collect();
    assert_eq!(mine.len(), 1, "{}", list.text);

    // The same name with another role is not an update ARM permits.
    let c = s
        .assign(&s.rg_id("rg-idem"), &name, ACR_PULL, &principal_of(&id), None)
        .await;
    assert_eq!(c.status, 400, "{}", c.text);
    assert_eq!(c.code(), "RoleAssignmentUpdateNotPermitted");

    insta::assert_json_snapshot!("role_assignment", b.json, {
        ".id" => "[id]",
        ".name" => "[guid]",
        ".properties.principalId" => "[guid]",
        ".properties.createdOn" => "[timestamp]",
        ".properties.updatedOn" => "[timestamp]",
        ".properties.createdBy" => "[guid]",
        ".properties.updatedBy" => "[guid]",
    });
}

#[tokio::test]
async fn rule_scope_is_returned_exactly_as_sent() {
    // aks-rules.md §5 i6 ("properties.scope is the scope the assignment was created at") and
    // azure-cli.md (az aks create compares properties.scope to its own string, case-sensitively).
    let s = TestServer::start().await;
    s.create_rg("Scope-RG", "westus2").await;
    let id = s.create_identity("Scope-RG", "Kubelet-Identity").await;
    let sent = format!(
        "/subscriptions/{}/resourcegroups/scope-rg/providers/microsoft.managedidentity/userassignedidentities/KUBELET-identity",
        s.sub()
    );
    let name = guid();
    let r = s.assign(&sent, &name, ACR_PULL, &principal_of(&id), None).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["properties"]["scope"], json!(sent));

    // Read back through the canonical casing, the scope is still as sent.
    let canonical = s.identity_id("Scope-RG", "Kubelet-Identity");
    let g = s.get(&ra_path(&canonical, &name)).await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json["properties"]["scope"], json!(sent));
    let l = s.get(&format!("{}?$filter=atScope()", ra_list(&canonical))).await;
    let found = l
        .values()
        .into_iter()
        .find(|x| x["name"] == json!(name))
        .expect("listed at its scope");
    assert_eq!(found["properties"]["scope"], json!(sent));
    assert_eq!(
        found["properties"]["roleDefinitionId"],
        json!(format!(
            "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{ACR_PULL}",
            s.sub()
        ))
    );
}

#[tokio::test]
async fn rule_delete_is_200_with_the_body_then_204() {
    // aks-rules.md §5 i8: DELETE → 200 with the deleted body, 204 when absent.
    let s = TestServer::start().await;
    s.create_rg("rg-i8", "westus2").await;
    let id = s.create_identity("rg-i8", "id-i8").await;
    let name = guid();
    let path = ra_path(&s.rg_id("rg-i8"), &name);
    let a = s
        .assign(&s.rg_id("rg-i8"), &name, READER, &principal_of(&id), None)
        .await;
    assert_eq!(a.status, 201, "{}", a.text);

    let d = s.delete(&path).await;
    assert_eq!(d.status, 200, "{}", d.text);
    assert_eq!(d.json["name"], json!(name));
    assert_eq!(d.json["properties"]["principalId"], json!(principal_of(&id)));
    let d = s.delete(&path).await;
    assert_eq!(d.status, 204, "{}", d.text);
    assert!(d.text.is_empty());
    let g = s.get(&path).await;
    assert_eq!(g.status, 404, "{}", g.text);
    assert_eq!(g.code(), "RoleAssignmentNotFound");
}

/// Assignments at, above and below `rg-a` for two identities: P holds one at the subscription,
/// one at `rg-a` and one on its identity (below `rg-a`); Q holds one at `rg-a` and one at
/// `rg-b`. The default client's Owner assignment at the subscription is there too.
struct ListFixture {
    s: TestServer,
    scope: String,
    p: String,
    p_sub: String,
    p_rg: String,
    p_below: String,
    q_here: String,
    q_elsewhere: String,
    owner: String,
}

async fn list_fixture() -> ListFixture {
    let s = TestServer::start().await;
    s.create_rg("rg-a", "westus2").await;
    s.create_rg("rg-b", "westus2").await;
    let ida = s.create_identity("rg-a", "id-a").await;
    let idb = s.create_identity("rg-b", "id-b").await;
    let (p, q) = (principal_of(&ida), principal_of(&idb));
    let sub_scope = format!("/subscriptions/{}", s.sub());
    let (p_sub, p_rg, p_below, q_here, q_elsewhere) = (guid(), guid(), guid(), guid(), guid());
    for (scope, name, role, who) in [
        (sub_scope.clone(), &p_sub, READER, &p),
        (s.rg_id("rg-a"), &p_rg, CONTRIBUTOR, &p),
        (s.identity_id("rg-a", "id-a"), &p_below, ACR_PULL, &p),
        (s.rg_id("rg-a"), &q_here, READER, &q),
        (s.rg_id("rg-b"), &q_elsewhere, READER, &q),
    ] {
        let r = s.assign(&scope, name, role, who, None).await;
        assert_eq!(r.status, 201, "{scope}: {}", r.text);
    }
    let owner = jwt_claims(&s.token().await)["oid"].as_str().unwrap().to_string();
    let scope = s.rg_id("rg-a");
    ListFixture {
        s,
        scope,
        p,
        p_sub,
        p_rg,
        p_below,
        q_here,
        q_elsewhere,
        owner,
    }
}

impl ListFixture {
    async fn list(&self, filter: Option<&str>) -> Reply {
        let path = match filter {
            Some(f) => format!("{}?$filter={f}", ra_list(&self.scope)),
            None => ra_list(&self.scope),
        };
        let r = self.s.get(&path).await;
        assert_eq!(r.status, 200, "{filter:?}: {}", r.text);
        r
    }

    /// The names listed, without the default owner's assignment (reported separately).
    fn split(&self, r: &Reply) -> (BTreeSet<String>, bool) {
        let mut out = BTreeSet::new();
        let mut owner = false;
        for a in r.values() {
            if a["properties"]["principalId"] == json!(self.owner) {
                owner = true;
            } else {
                out.insert(a["name"].as_str().unwrap().to_string());
            }
        }
        (out, owner)
    }
}

fn set(items: &[&String]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn rule_list_without_filter_is_at_above_and_below() {
    // aks-rules.md §5 i7: without a filter, list-for-scope returns assignments at, above and below.
    let f = list_fixture().await;
    let (got, owner) = f.split(&f.list(None).await);
    assert_eq!(got, set(&[&f.p_sub, &f.p_rg, &f.p_below, &f.q_here]));
    assert!(owner, "the default owner's subscription assignment is above");
    assert!(!got.contains(&f.q_elsewhere));
}

#[tokio::test]
async fn rule_list_at_scope_is_at_and_above() {
    // aks-rules.md §5 i7: `atScope()` = assignments at or above the scope.
    let f = list_fixture().await;
    let (got, owner) = f.split(&f.list(Some("atScope()")).await);
    assert_eq!(got, set(&[&f.p_sub, &f.p_rg, &f.q_here]));
    assert!(owner);
}

#[tokio::test]
async fn rule_list_principal_id_eq_is_that_principal_at_above_and_below() {
    // aks-rules.md §5 i7: `principalId eq '{id}'` = that principal's assignments at, above or below.
    let f = list_fixture().await;
    let (got, owner) = f.split(&f.list(Some(&format!("principalId eq '{}'", f.p))).await);
    assert_eq!(got, set(&[&f.p_sub, &f.p_rg, &f.p_below]));
    assert!(!owner);
}

#[tokio::test]
async fn rule_list_assigned_to_is_that_principal() {
    // aks-rules.md §5 i7: `assignedTo('{objectId}')` (azure-cli role/custom.py).
    let f = list_fixture().await;
    let (got, owner) = f.split(&f.list(Some(&format!("assignedTo('{}')", f.p))).await);
    assert_eq!(got, set(&[&f.p_sub, &f.p_rg, &f.p_below]));
    assert!(!owner);
}

#[tokio::test]
async fn rule_list_at_scope_and_assigned_to_combine() {
    // aks-rules.md §5 i7: `atScope() and assignedTo('{id}')` (az aks create, azure-cli.md);
    // `atScope()` and `principalId eq` cannot be combined.
    let f = list_fixture().await;
    let (got, owner) = f.split(&f.list(Some(&format!("atScope() and assignedTo('{}')", f.p))).await);
    assert_eq!(got, set(&[&f.p_sub, &f.p_rg]));
    assert!(!owner);

    let r =
        f.s.get(&format!(
            "{}?$filter=atScope() and principalId eq '{}'",
            ra_list(&f.scope),
            f.p
        ))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
}

#[tokio::test]
async fn rule_list_for_subscription_includes_everything_below() {
    // aks-rules.md §5 i7 (list for subscription / resource group).
    let f = list_fixture().await;
    let r = f.s.get(&ra_list(&format!("/subscriptions/{}", f.s.sub()))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let (got, owner) = f.split(&r);
    assert_eq!(got, set(&[&f.p_sub, &f.p_rg, &f.p_below, &f.q_here, &f.q_elsewhere]));
    assert!(owner);
}

#[tokio::test]
async fn rule_principal_propagation_delay() {
    // aks-rules.md §5 i3 (replication delay; principalType skips the look-up) and issue 3 §4
    // (`--principal-propagation-delay`).
    let s = TestServer::start_with(|c| c.principal_propagation_delay_ms = 60_000).await;
    s.create_rg("rg-delay", "westus2").await;
    let id = s.create_identity("rg-delay", "id-delay").await;
    let scope = s.rg_id("rg-delay");
    let p = principal_of(&id);

    let r = s.assign(&scope, &guid(), READER, &p, None).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "PrincipalNotFound");

    let r = s.assign(&scope, &guid(), READER, &p, Some("ServicePrincipal")).await;
    assert_eq!(r.status, 201, "principalType skips the look-up: {}", r.text);

    s.advance("30s").await;
    let r = s.assign(&scope, &guid(), ACR_PULL, &p, None).await;
    assert_eq!(r.status, 400, "still replicating: {}", r.text);

    s.advance("31s").await;
    let r = s.assign(&scope, &guid(), ACR_PULL, &p, None).await;
    assert_eq!(r.status, 201, "visible after the delay: {}", r.text);
}

// ---- --enforce-rbac ------------------------------------------------------------------------------

async fn authorize(s: &TestServer, principal: &str, action: &str, scope: &str) -> Reply {
    s.send(s.raw(Method::GET, "/_azemu/authorize").query(&[
        ("principalId", principal),
        ("action", action),
        ("scope", scope),
    ]))
    .await
}

#[tokio::test]
async fn enforce_rbac_refuses_then_allows_after_an_assignment() {
    // Issue 3 §6: 403 AuthorizationFailed with Azure's message; allowed once assigned; the
    // explanation endpoint names the assignment that matched.
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    let client = guid();
    let token = s.token_for(&client).await;
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    let rg_path = s.rg_id("rg-enforced");
    let write = "Microsoft.Resources/subscriptions/resourceGroups/write";

    let r = s
        .send(
            s.request_as(&token, Method::PUT, &rg_path)
                .json(&json!({ "location": "westus2" })),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "AuthorizationFailed");
    assert_eq!(
        r.message(),
        format!(
            "The client '{client}' with object id '{oid}' does not have authorization to perform action '{write}' over scope '{rg_path}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        )
    );

    let why = authorize(&s, &oid, write, &rg_path).await;
    assert_eq!(why.status, 200, "{}", why.text);
    assert_eq!(why.json["allowed"], false);
    assert!(!why.json["reason"].as_str().unwrap().is_empty());

    // The default client owns the subscription, so it may grant Contributor.
    let name = guid();
    let sub_scope = format!("/subscriptions/{}", s.sub());
    let a = s.assign(&sub_scope, &name, CONTRIBUTOR, &oid, None).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let assignment_id = a.json["id"].as_str().unwrap().to_string();

    let r = s
        .send(
            s.request_as(&token, Method::PUT, &rg_path)
                .json(&json!({ "location": "westus2" })),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    let why = authorize(&s, &oid, write, &rg_path).await;
    assert_eq!(why.status, 200, "{}", why.text);
    assert_eq!(why.json["allowed"], true, "{}", why.text);
    assert_eq!(why.json["grantedBy"]["roleAssignmentId"], json!(assignment_id));
    assert_eq!(why.json["grantedBy"]["roleName"], "Contributor");
    assert_eq!(why.json["grantedBy"]["scope"], json!(sub_scope));

    // Contributor's notActions exclude writing role assignments.
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &ra_path(&rg_path, &guid()))
                .json(&json!({ "properties": {
                    "roleDefinitionId": format!("/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
                    "principalId": oid,
                }})),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "AuthorizationFailed");
    assert!(
        r.message().contains("'Microsoft.Authorization/roleAssignments/write'"),
        "{}",
        r.message()
    );
    let why = authorize(&s, &oid, "Microsoft.Authorization/roleAssignments/write", &rg_path).await;
    assert_eq!(why.json["allowed"], false, "{}", why.text);
    assert!(why.text.contains(&assignment_id), "{}", why.text);
}

/// ARM lists only what the caller may read: Reader on one resource group lists that group
/// alone (not a 403 for the whole subscription).
#[tokio::test]
async fn enforce_rbac_lists_are_filtered_to_what_the_caller_may_read() {
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    s.create_rg("visible", "westus2").await;
    s.create_rg("hidden", "westus2").await;
    s.create_identity("visible", "id-visible").await;
    s.create_identity("hidden", "id-hidden").await;
    let token = s.token_for(&guid()).await;
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    let a = s.assign(&s.rg_id("visible"), &guid(), READER, &oid, None).await;
    assert_eq!(a.status, 201, "{}", a.text);

    let groups = s
        .send(s.request_as(
            &token,
            Method::GET,
            &format!("/subscriptions/{}/resourcegroups", s.sub()),
        ))
        .await;
    assert_eq!(groups.status, 200, "{}", groups.text);
    let names: Vec<String> = groups
        .values()
        .iter()
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["visible".to_string()]);

    let ids = s
        .send(s.request_as(
            &token,
            Method::GET,
            &format!(
                "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
                s.sub()
            ),
        ))
        .await;
    assert_eq!(ids.status, 200, "{}", ids.text);
    assert_eq!(ids.values().len(), 1);
    assert_eq!(ids.values()[0]["name"], "id-visible");

    // A principal with no role at all sees empty lists, and still cannot read one group.
    let stranger = s.token_for(&guid()).await;
    let none = s
        .send(s.request_as(
            &stranger,
            Method::GET,
            &format!("/subscriptions/{}/resourcegroups", s.sub()),
        ))
        .await;
    assert_eq!(none.status, 200);
    assert!(none.values().is_empty());
    assert_eq!(
        s.send(s.request_as(&stranger, Method::GET, &s.rg_id("visible")))
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn enforce_rbac_reader_reads_but_cannot_write() {
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    s.create_rg("rg-read", "westus2").await;
    s.create_identity("rg-read", "id-read").await;
    let client = guid();
    let token = s.token_for(&client).await;
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    let a = s.assign(&s.rg_id("rg-read"), &guid(), READER, &oid, None).await;
    assert_eq!(a.status, 201, "{}", a.text);

    let id_path = s.identity_id("rg-read", "id-read");
    let r = s.send(s.request_as(&token, Method::GET, &id_path)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &s.identity_id("rg-read", "id-new"))
                .json(&json!({ "location": "westus2" })),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(r
        .message()
        .contains("'Microsoft.ManagedIdentity/userAssignedIdentities/write'"));
    // Outside the group where Reader was granted, nothing is readable.
    s.create_rg("rg-other", "westus2").await;
    let r = s.send(s.request_as(&token, Method::GET, &s.rg_id("rg-other"))).await;
    assert_eq!(r.status, 403, "{}", r.text);

    // DELETE needs the type's delete action.
    let r = s.send(s.request_as(&token, Method::DELETE, &id_path)).await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert!(
        r.message()
            .contains("'Microsoft.ManagedIdentity/userAssignedIdentities/delete'"),
        "{}",
        r.message()
    );

    // The default client (Owner of the subscription) is allowed everything.
    let r = s.delete(&id_path).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn enforce_rbac_provider_registration_needs_the_namespace_register_action() {
    // Azure names the action `{namespace}/register/action` over the subscription, e.g.
    // "... does not have authorization to perform action 'Microsoft.ContainerService/register/action'
    // over scope '/subscriptions/…'" (the error Terraform users meet when it registers providers).
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    let client = guid();
    let token = s.token_for(&client).await;
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    let sub_scope = format!("/subscriptions/{}", s.sub());
    let a = s.assign(&sub_scope, &guid(), READER, &oid, None).await;
    assert_eq!(a.status, 201, "{}", a.text);

    // Reading providers is allowed; registering one is not.
    let r = s
        .send(s.request_as(
            &token,
            Method::GET,
            &format!("{sub_scope}/providers/Microsoft.ManagedIdentity"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = s
        .send(s.request_as(
            &token,
            Method::POST,
            &format!("{sub_scope}/providers/Microsoft.ManagedIdentity/register"),
        ))
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "AuthorizationFailed");
    assert_eq!(
        r.message(),
        format!(
            "The client '{client}' with object id '{oid}' does not have authorization to perform action 'Microsoft.ManagedIdentity/register/action' over scope '{sub_scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        )
    );

    // Contributor may register.
    let a = s.assign(&sub_scope, &guid(), CONTRIBUTOR, &oid, None).await;
    assert_eq!(a.status, 201, "{}", a.text);
    let r = s
        .send(s.request_as(
            &token,
            Method::POST,
            &format!("{sub_scope}/providers/Microsoft.ManagedIdentity/register"),
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}
