//! What real clients (the Azure SDKs for JavaScript and Go, and users following the README)
//! found: each case speaks HTTPS to an in-process azemu and asserts what the client relies on.

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use serde_json::json;

/// `@azure/arm-resources` 8 throws "Unexpected status code: 204" at the end of
/// `resourceGroups.beginDeleteAndWait`: Azure answers the final poll of the `Location`
/// URL with 200 and an empty body.
#[tokio::test]
async fn the_final_poll_of_a_resource_group_delete_is_200_with_an_empty_body() {
    let s = TestServer::start().await;
    s.create_rg("rg-final", "westus2").await;
    let r = s.delete(&s.rg_id("rg-final")).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let loc = r.header("location").expect("a Location header");
    let p = s.poll(&loc).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.text, "", "no body");
    assert_eq!(s.get(&s.rg_id("rg-final")).await.status, 404);
}

/// The same for every operation whose `Location` result has no body: a cluster delete.
#[tokio::test]
async fn the_final_location_poll_of_a_cluster_delete_is_200_with_an_empty_body() {
    let s = TestServer::start().await;
    s.create_rg("rg-aks", LOC).await;
    create_cluster(&s, "rg-aks", "gone", system_assigned(LOC)).await;
    let r = s.delete(&api(&cluster_id(&s, "rg-aks", "gone"))).await;
    assert_eq!(r.status, 202, "{}", r.text);
    let loc = r.header("location").expect("a Location header");
    let p = s.poll(&loc).await;
    assert_eq!(p.status, 200, "{}", p.text);
    assert_eq!(p.text, "");
}

/// The 2026-08-01 `AgentPool` is a `ProxyResource` (no top-level etag) whose
/// `ManagedClusterAgentPoolProfileProperties` carry the read-only `eTag`.
#[tokio::test]
async fn agent_pools_carry_their_etag_inside_properties() {
    let s = TestServer::start().await;
    s.create_rg("rg-aks", LOC).await;
    let c = create_cluster(&s, "rg-aks", "etags", system_assigned(LOC)).await;
    let in_cluster = profile(&c, "nodepool1")["eTag"]
        .as_str()
        .expect("a profile eTag")
        .to_string();

    let path = api(&pool_id(&s, "rg-aks", "etags", "nodepool1"));
    let pool = s.get(&path).await;
    assert_eq!(pool.status, 200, "{}", pool.text);
    assert!(pool.json.get("eTag").is_none(), "no top-level eTag: {}", pool.text);
    let etag = pool.json["properties"]["eTag"]
        .as_str()
        .expect("properties.eTag")
        .to_string();
    assert_eq!(etag, in_cluster, "the cluster's profile shows the pool's eTag");

    let mut body = json!({ "properties": pool.json["properties"].clone() });
    body["properties"]["count"] = json!(2);
    body["properties"]["eTag"] = json!("client-sent");
    let r = s.put(&path, body).await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text);
    settle(&s, &r).await;
    let after = s.get(&path).await.json;
    let new = after["properties"]["eTag"].as_str().expect("properties.eTag");
    assert_ne!(new, etag, "an update changes the eTag");
    assert_ne!(new, "client-sent", "the eTag is the server's");
    assert!(after.get("eTag").is_none());
}

/// `RoleDefinitions_CreateOrUpdate` (2022-04-01) lists 201 as its only success, for an
/// update as for a create.
#[tokio::test]
async fn put_of_an_existing_custom_role_definition_answers_201() {
    let s = TestServer::start().await;
    let path = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions/{}",
        s.sub(),
        guid()
    );
    let body = |d: &str| {
        json!({ "properties": {
            "roleName": "Reads identities (fix test)",
            "description": d,
            "assignableScopes": [format!("/subscriptions/{}", s.sub())],
            "permissions": [{ "actions": ["Microsoft.ManagedIdentity/userAssignedIdentities/read"] }],
        }})
    };
    assert_eq!(s.put(&path, body("first")).await.status, 201);
    let again = s.put(&path, body("second")).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.json["properties"]["description"], "second");
}

/// The README's fault table: `provider` and `operation` match resource groups as
/// `Microsoft.Resources` and `GET Microsoft.Resources/resourceGroups`.
#[tokio::test]
async fn faults_match_resource_groups_by_provider_and_operation() {
    let s = TestServer::start().await;
    s.create_rg("fp", "eastus").await;
    let f = s
        .post(
            "/_azemu/faults",
            json!({ "match": { "provider": "Microsoft.Resources" }, "respond": { "status": 503 }, "times": 1 }),
        )
        .await;
    assert_eq!(f.status, 201, "{}", f.text);
    assert_eq!(s.get(&s.rg_id("fp")).await.status, 503);
    assert_eq!(s.get(&s.rg_id("fp")).await.status, 200);

    let f = s
        .post(
            "/_azemu/faults",
            json!({ "match": { "operation": "GET Microsoft.Resources/resourceGroups" }, "respond": { "status": 429, "retryAfter": 1 }, "times": 1 }),
        )
        .await;
    assert_eq!(f.status, 201, "{}", f.text);
    // A write to the group is not a GET: untouched.
    let tags = s.patch(&s.rg_id("fp"), json!({ "tags": { "a": "b" } })).await;
    assert_eq!(tags.status, 200, "{}", tags.text);
    let throttled = s.get(&s.rg_id("fp")).await;
    assert_eq!(throttled.status, 429, "{}", throttled.text);
    assert_eq!(s.get(&s.rg_id("fp")).await.status, 200);

    // A provider's resources are not Microsoft.Resources.
    s.post(
        "/_azemu/faults",
        json!({ "match": { "provider": "Microsoft.Resources" }, "respond": { "status": 500 } }),
    )
    .await;
    let id = s.create_identity("fp", "not-faulted").await;
    assert!(id["id"].is_string(), "{id}");
}

/// Under `--seed` the clock is virtual; the HTTP `Date` header follows it.
#[tokio::test]
async fn the_date_header_follows_the_virtual_clock_under_seed() {
    let s = TestServer::start_with(|c| c.seed = Some(7)).await;
    let r = s.get(&s.rg_id("nothing-here")).await;
    assert_eq!(r.header("date").as_deref(), Some("Thu, 01 Jan 2026 00:00:00 GMT"));
    s.advance("90s").await;
    let r = s.get("/_azemu/health").await;
    assert_eq!(r.header("date").as_deref(), Some("Thu, 01 Jan 2026 00:01:30 GMT"));
}
