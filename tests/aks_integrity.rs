//! AKS data integrity over real HTTPS: a cluster never takes over a resource group it did not
//! create, and the operations the spec gives `If-Match` refuse a stale eTag, so racing writers
//! lose no update.

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

/// Every record and principal azemu holds (`GET /_azemu/state` without its clock reading).
async fn state(s: &TestServer) -> Value {
    let r = s.get("/_azemu/state").await;
    assert_eq!(r.status, 200, "{}", r.text);
    json!({ "records": r.json["records"], "principals": r.json["principals"] })
}

// ---- the node resource group is AKS's own -------------------------------------------------

// Source: AKS errors 400 `NodeResourceGroupAlreadyExists` (hashicorp/terraform-provider-azurerm
// #7562, Azure/azure-cli-extensions #2072) and `NodeResourceGroupSameAsResourceGroup`
// (Azure/azure-cli #27215). Rule: rules::node_resource_group_must_not_exist.
#[tokio::test]
async fn node_resource_group_must_not_exist() {
    let s = TestServer::start().await;
    s.create_rg("rg-aks", LOC).await;
    let mine = s
        .put(
            &with_api(&s.rg_id("rg-mine"), RG_API),
            json!({ "location": LOC, "tags": { "owner": "team-a" } }),
        )
        .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    let keep = s.create_identity("rg-mine", "keep-me").await;

    let before = state(&s).await;
    let mut body = system_assigned(LOC);
    body["properties"]["nodeResourceGroup"] = json!("rg-mine");
    let r = put_cluster(&s, "rg-aks", "taker", body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NodeResourceGroupAlreadyExists");
    assert!(r.message().contains("'rg-mine'"), "{}", r.text);
    assert_eq!(get_cluster(&s, "rg-aks", "taker").await.status, 404);

    // The group is untouched: its tags, no managedBy, its contents.
    let g = s.get(&with_api(&s.rg_id("rg-mine"), RG_API)).await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json["tags"], json!({ "owner": "team-a" }), "{}", g.text);
    assert!(g.json.get("managedBy").is_none_or(Value::is_null), "{}", g.text);
    assert_eq!(s.get(&id_of(&keep)).await.status, 200);
    // Nothing else either: no record, no principal (the system-assigned identity it planned).
    assert_eq!(state(&s).await, before, "a refused create leaves no trace");

    // The default name counts too (a leftover MC_ group).
    s.create_rg(&format!("MC_rg-aks_again_{LOC}"), LOC).await;
    let r = put_cluster(&s, "rg-aks", "again", system_assigned(LOC)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NodeResourceGroupAlreadyExists");

    // The cluster's own group.
    let mut body = system_assigned(LOC);
    body["properties"]["nodeResourceGroup"] = json!("RG-AKS");
    let r = put_cluster(&s, "rg-aks", "own", body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NodeResourceGroupSameAsResourceGroup");

    // A new name is still fine, and the cluster's delete removes only that group.
    let mut body = system_assigned(LOC);
    body["properties"]["nodeResourceGroup"] = json!("rg-nodes-new");
    let c = create_cluster(&s, "rg-aks", "fine", body).await;
    let d = s.delete(&api(&id_of(&c))).await;
    assert_eq!(d.status, 202, "{}", d.text);
    follow_location(&s, &d).await;
    assert_eq!(s.get(&with_api(&s.rg_id("rg-nodes-new"), RG_API)).await.status, 404);
    assert_eq!(s.get(&id_of(&keep)).await.status, 200);
}

// ---- If-Match where the spec defines it ---------------------------------------------------

/// Sends `method path` with `If-Match: "etag"`, an immediate operation and an optional body.
async fn send_if_match(s: &TestServer, method: Method, path: &str, etag: &str, body: Option<Value>) -> Reply {
    let mut rb = s
        .request(method, &api(path))
        .await
        .header("If-Match", format!("\"{etag}\""))
        .header("x-azemu-lro", "immediate");
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    s.send(rb).await
}

/// A cluster's eTag (top level) or a pool's (inside `properties`, as the 2026-08-01
/// AgentPool definition has it).
fn etag_of(v: &Value) -> String {
    v["eTag"]
        .as_str()
        .or_else(|| v["properties"]["eTag"].as_str())
        .unwrap_or_else(|| panic!("an eTag in {v}"))
        .to_string()
}

// Source: managedClusters.json 2026-08-01 lists `if-match` on ManagedClusters_UpdateTags and
// ManagedClusters_Delete; a stale one is 412 `PreconditionFailed` (ARM RPC, as for the PUT).
#[tokio::test]
async fn cluster_patch_and_delete_check_if_match() {
    let s = TestServer::start().await;
    s.create_rg("rg-im", LOC).await;
    let c = create_cluster(&s, "rg-im", "im", system_assigned(LOC)).await;
    let cid = id_of(&c);
    let first = etag_of(&c);

    let ok = send_if_match(&s, Method::PATCH, &cid, &first, Some(json!({ "tags": { "a": "1" } }))).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let second = etag_of(&get_cluster(&s, "rg-im", "im").await.json);
    assert_ne!(first, second, "a tag update changes the eTag");

    let stale = send_if_match(&s, Method::PATCH, &cid, &first, Some(json!({ "tags": { "b": "2" } }))).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.code(), "PreconditionFailed");
    let now = get_cluster(&s, "rg-im", "im").await.json;
    assert_eq!(now["tags"], json!({ "a": "1" }), "a refused PATCH changes nothing");
    assert_eq!(etag_of(&now), second);

    let stale = send_if_match(&s, Method::DELETE, &cid, &first, None).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.code(), "PreconditionFailed");
    let still = get_cluster(&s, "rg-im", "im").await;
    assert_eq!(still.status, 200, "{}", still.text);
    assert_eq!(still.json["properties"]["provisioningState"], "Succeeded");

    let gone = send_if_match(&s, Method::DELETE, &cid, &second, None).await;
    assert_eq!(gone.status, 202, "{}", gone.text);
    follow_location(&s, &gone).await;
    assert_eq!(get_cluster(&s, "rg-im", "im").await.status, 404);
    // An If-Match on a resource that does not exist cannot match.
    let absent = send_if_match(&s, Method::DELETE, &cid, &second, None).await;
    assert_eq!(absent.status, 412, "{}", absent.text);
}

// Source: managedClusters.json 2026-08-01 lists `if-match` (and `if-none-match`) on
// AgentPools_CreateOrUpdate and `if-match` on AgentPools_Delete.
#[tokio::test]
async fn agent_pool_put_and_delete_check_if_match() {
    let s = TestServer::start().await;
    s.create_rg("rg-pim", LOC).await;
    create_cluster(&s, "rg-pim", "pim", system_assigned(LOC)).await;
    let pid = pool_id(&s, "rg-pim", "pim", "user1");
    let body = json!({ "properties": { "count": 1, "mode": "User", "osType": "Linux" } });
    let created = put_with_lro(&s, &pid, body.clone(), "immediate").await;
    assert_eq!(created.status, 201, "{}", created.text);
    let first = etag_of(&s.get(&api(&pid)).await.json);

    let mut scaled = body.clone();
    scaled["properties"]["count"] = json!(2);
    let ok = send_if_match(&s, Method::PUT, &pid, &first, Some(scaled)).await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let second = etag_of(&s.get(&api(&pid)).await.json);
    assert_ne!(first, second);

    let mut stale_body = body.clone();
    stale_body["properties"]["count"] = json!(5);
    let stale = send_if_match(&s, Method::PUT, &pid, &first, Some(stale_body)).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.code(), "PreconditionFailed");
    let now = s.get(&api(&pid)).await.json;
    assert_eq!(now["properties"]["count"], 2, "a refused PUT changes nothing: {now}");

    let exists = s
        .send(
            s.request(Method::PUT, &api(&pid))
                .await
                .header("If-None-Match", "*")
                .json(&body),
        )
        .await;
    assert_eq!(exists.status, 412, "{}", exists.text);

    let stale = send_if_match(&s, Method::DELETE, &pid, &first, None).await;
    assert_eq!(stale.status, 412, "{}", stale.text);
    assert_eq!(stale.code(), "PreconditionFailed");
    assert_eq!(s.get(&api(&pid)).await.status, 200);

    let gone = send_if_match(&s, Method::DELETE, &pid, &second, None).await;
    assert_eq!(gone.status, 202, "{}", gone.text);
    follow_location(&s, &gone).await;
    assert_eq!(s.get(&api(&pid)).await.status, 404);
}

// Issue: racing tag writes lost updates on PATCH. Twenty clients each read the cluster, add
// their own tag to what they read and PATCH it with the eTag they read, retrying on 412 (and
// on 409 while another operation runs). No two writes may win with the same eTag, and every
// client's tag must be there at the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_tag_patches_lose_no_update() {
    let s = TestServer::start().await;
    s.create_rg("rg-race", LOC).await;
    let c = create_cluster(&s, "rg-race", "race", system_assigned(LOC)).await;
    let url = s.abs(&api(&id_of(&c)));
    let token = s.token().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (client, url, token) = (s.client.clone(), url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let mut refused = 0;
            for _ in 0..400 {
                let cur = client.get(&url).bearer_auth(&token).send().await.expect("GET");
                assert_eq!(cur.status(), 200);
                let cur: Value = cur.json().await.expect("a cluster body");
                let mut tags = cur["tags"].clone();
                tags[format!("writer{i}")] = json!(i.to_string());
                let etag = etag_of(&cur);
                let r = client
                    .patch(&url)
                    .bearer_auth(&token)
                    .header("If-Match", format!("\"{etag}\""))
                    .header("x-azemu-lro", "immediate")
                    .json(&json!({ "tags": tags }))
                    .send()
                    .await
                    .expect("PATCH");
                match r.status().as_u16() {
                    200 => return (etag, refused),
                    412 | 409 => refused += 1,
                    other => panic!("writer {i}: unexpected {other}: {}", r.text().await.unwrap_or_default()),
                }
            }
            panic!("writer {i} never won");
        }));
    }
    let mut won_with = std::collections::HashSet::new();
    let mut refused = 0;
    for t in tasks {
        let (etag, r) = t.await.expect("writer task");
        refused += r;
        assert!(
            won_with.insert(etag.clone()),
            "two writes won with the same eTag {etag}"
        );
    }
    assert!(
        won_with.contains(&etag_of(&c)),
        "one writer won with the eTag all of them read first"
    );
    let tags = get_cluster(&s, "rg-race", "race").await.json["tags"].clone();
    for i in 0..20 {
        assert_eq!(
            tags[format!("writer{i}")],
            json!(i.to_string()),
            "writer {i}'s tag was lost: {tags}"
        );
    }
    assert_eq!(tags.as_object().map(|m| m.len()), Some(20), "{tags}");
    assert!(refused > 0, "twenty concurrent writers never collided");
}
