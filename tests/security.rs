//! Holes a hostile caller would use, closed (issue: hold under attack): a resource type
//! addressed under another resource, and a custom role rewritten from a lower scope.

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::json;

const API_RBAC: &str = "api-version=2022-04-01";

/// A caller (a fresh client) and its object id.
async fn caller(s: &TestServer) -> (String, String) {
    let token = s.token_for(&guid()).await;
    let oid = jwt_claims(&token)["oid"].as_str().unwrap().to_string();
    (token, oid)
}

#[tokio::test]
async fn a_type_addressed_under_another_resource_does_not_exist() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let a = s.create_identity("rg", "id-a").await;
    let b = s.create_identity("rg", "id-b").await;
    let nested = format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-b",
        id_of(&a)
    );
    for method in [Method::DELETE, Method::GET] {
        let r = s.send(s.request(method, &nested).await).await;
        assert_eq!(r.status, 404, "{}", r.text);
        assert_eq!(r.code(), "InvalidResourceType", "{}", r.text);
    }
    let r = s.put(&nested, json!({ "location": LOC })).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let g = s.get(&id_of(&b)).await;
    assert_eq!(g.status, 200, "b is untouched: {}", g.text);
    assert_eq!(s.get(&nested).await.status, 404);
}

#[tokio::test]
async fn nested_paths_do_not_bypass_the_permission_check() {
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    s.create_rg("rg", LOC).await;
    let id = s.create_identity("rg", "id-mine").await;
    create_cluster(&s, "rg", "theirs", system_assigned(LOC)).await;
    let (token, oid) = caller(&s).await;
    let a = s
        .assign(&id_of(&id), &guid(), CONTRIBUTOR, &oid, Some("ServicePrincipal"))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    let under = format!(
        "{}/providers/Microsoft.ContainerService/managedClusters/theirs",
        id_of(&id)
    );
    let r = s.send(s.request_as(&token, Method::DELETE, &api(&under))).await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = s
        .send(s.request_as(
            &token,
            Method::POST,
            &api(&format!("{under}/listClusterAdminCredential")),
        ))
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &api(&format!("{under}x")))
                .json(&system_assigned(LOC)),
        )
        .await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(
        get_cluster(&s, "rg", "theirs").await.status,
        200,
        "the cluster is still there"
    );
    assert_eq!(
        get_cluster(&s, "rg", "theirsx").await.status,
        404,
        "and nothing was created"
    );
}

fn custom_role(name: &str, scope: &str, actions: &[&str]) -> serde_json::Value {
    json!({ "properties": {
        "roleName": name,
        "type": "CustomRole",
        "permissions": [{ "actions": actions, "notActions": [] }],
        "assignableScopes": [scope],
    }})
}

#[tokio::test]
async fn a_custom_role_cannot_be_rewritten_from_a_lower_scope() {
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    s.create_rg("rg", LOC).await;
    let sub_scope = format!("/subscriptions/{}", s.sub());
    let role = guid();
    let at_sub = format!("{sub_scope}/providers/Microsoft.Authorization/roleDefinitions/{role}?{API_RBAC}");
    let r = s
        .put(
            &at_sub,
            custom_role("Reads vnets", &sub_scope, &["Microsoft.Network/*/read"]),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);

    // The Owner of one resource group...
    let (token, oid) = caller(&s).await;
    let a = s
        .assign(&s.rg_id("rg"), &guid(), OWNER, &oid, Some("ServicePrincipal"))
        .await;
    assert_eq!(a.status, 201, "{}", a.text);
    // ...addresses the subscription's role at its group, to make it grant everything.
    let at_rg = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions/{role}?{API_RBAC}",
        s.rg_id("rg")
    );
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &at_rg)
                .json(&custom_role("Reads vnets", &sub_scope, &["*"])),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.text);
    assert_eq!(r.code(), "RoleDefinitionWithSameIdExists");
    // ...or at the subscription itself, where it has no write permission.
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &at_sub)
                .json(&custom_role("Reads vnets", &sub_scope, &["*"])),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    // ...or widens a role of its own group to the subscription.
    let own = guid();
    let own_at_rg = format!(
        "{}/providers/Microsoft.Authorization/roleDefinitions/{own}?{API_RBAC}",
        s.rg_id("rg")
    );
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &own_at_rg)
                .json(&custom_role("Mine", &s.rg_id("rg"), &["*"])),
        )
        .await;
    assert_eq!(r.status, 201, "a role for its own group is fine: {}", r.text);
    let r = s
        .send(
            s.request_as(&token, Method::PUT, &own_at_rg)
                .json(&custom_role("Mine", &sub_scope, &["*"])),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.code(), "AuthorizationFailed");

    let g = s.get(&at_sub).await;
    assert_eq!(
        g.json["properties"]["permissions"][0]["actions"],
        json!(["Microsoft.Network/*/read"])
    );
}
