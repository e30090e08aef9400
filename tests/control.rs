//! azemu's own API for test suites and trainers: state snapshots and `--state-file`, the
//! clock, reset, isolated subscriptions, faults and the journal (issue: test ergonomics).

mod common;

use common::{fresh_dir, TestServer};
use serde_json::json;

#[tokio::test]
async fn state_file_is_loaded_at_start_and_saved_at_stop() {
    let dir = fresh_dir();
    let file = dir.join("state.json");
    let f = file.clone();
    let s = TestServer::start_with(move |c| c.state_file = Some(f)).await;
    s.create_rg("lab3", "westus2").await;
    s.create_identity("lab3", "trainer-id").await;
    s.stop().await;
    let text = std::fs::read_to_string(&file).expect("the state file was written at stop");
    assert!(text.contains("trainer-id"));
    assert!(
        !dir.read_dir()
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains("tmp")),
        "no temporary file left behind"
    );

    let f = file.clone();
    let s2 = TestServer::start_with(move |c| c.state_file = Some(f)).await;
    let got = s2.get(&s2.identity_id("lab3", "trainer-id")).await;
    assert_eq!(got.status, 200, "the identity is back after a restart: {}", got.text);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn state_exports_and_imports_everything() {
    let a = TestServer::start().await;
    a.create_rg("snap", "eastus").await;
    let id = a.create_identity("snap", "snap-id").await;
    let state = a.get("/_azemu/state").await;
    assert_eq!(state.status, 200);
    assert_eq!(state.json["format"], "azemu-state/1");

    let b = TestServer::start().await;
    assert_eq!(b.get(&b.identity_id("snap", "snap-id")).await.status, 404);
    let put = b
        .send(b.raw(reqwest::Method::PUT, "/_azemu/state").json(&state.json))
        .await;
    assert_eq!(put.status, 200, "{}", put.text);
    let got = b.get(&b.identity_id("snap", "snap-id")).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.json["properties"]["clientId"], id["properties"]["clientId"],
        "generated ids survive the round trip"
    );
    // The identity's principal came along too: Graph finds it.
    let sp = b
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=appId eq '{}'",
            id["properties"]["clientId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(sp.values().len(), 1);
}

#[tokio::test]
async fn a_state_of_another_format_is_refused() {
    let s = TestServer::start().await;
    let r = s
        .send(
            s.raw(reqwest::Method::PUT, "/_azemu/state")
                .json(&json!({"format": "other", "time": "", "records": [], "principals": []})),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "InvalidState");
    assert_eq!(s.get("/_azemu/health").await.status, 200, "nothing was lost");
    assert_eq!(s.get(&format!("/subscriptions/{}", s.sub())).await.status, 200);
}

#[tokio::test]
async fn reset_empties_state_and_keeps_the_defaults() {
    let s = TestServer::start().await;
    s.create_rg("gone", "eastus").await;
    let r = s.post("/_azemu/reset", json!({})).await;
    assert_eq!(r.status, 200);
    assert_eq!(s.get(&s.rg_id("gone")).await.status, 404);
    assert_eq!(
        s.get(&format!("/subscriptions/{}", s.sub())).await.status,
        200,
        "the default subscription is back"
    );
    // The default client still owns the subscription after a reset.
    s.create_rg("again", "eastus").await;
}

#[tokio::test]
async fn fresh_subscriptions_isolate_tests_and_take_their_state_along() {
    let s = TestServer::start().await;
    let made = s.post("/_azemu/subscriptions", json!({ "displayName": "t1" })).await;
    assert_eq!(made.status, 201);
    let sub = made.json["subscriptionId"].as_str().unwrap().to_string();
    let rg = format!("/subscriptions/{sub}/resourcegroups/iso");
    assert_eq!(s.put(&rg, json!({ "location": "eastus" })).await.status, 201);
    assert_eq!(
        s.get(&s.rg_id("iso")).await.status,
        404,
        "the default subscription does not see it"
    );
    assert_eq!(s.delete(&format!("/_azemu/subscriptions/{sub}")).await.status, 204);
    assert_eq!(s.get(&rg).await.code(), "SubscriptionNotFound");
}

#[tokio::test]
async fn a_subscription_in_a_new_tenant_needs_that_tenants_token() {
    let s = TestServer::start().await;
    let made = s.post("/_azemu/subscriptions", json!({ "newTenant": true })).await;
    let sub = made.json["subscriptionId"].as_str().unwrap().to_string();
    assert_ne!(made.json["tenantId"], s.tenant());
    let r = s.get(&format!("/subscriptions/{sub}")).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "InvalidAuthenticationTokenTenant");
}

#[tokio::test]
async fn the_clock_can_be_set_and_advanced() {
    let s = TestServer::start_with(|c| c.seed = Some(1)).await;
    let c = s.get("/_azemu/clock").await;
    assert_eq!(c.json["virtual"], true);
    assert_eq!(c.json["now"], "2026-01-01T00:00:00.0000000Z");
    let c = s.post("/_azemu/clock", json!({ "advance": "90s" })).await;
    assert_eq!(c.json["now"], "2026-01-01T00:01:30.0000000Z");
    let c = s.post("/_azemu/clock", json!({ "set": "2027-06-01T12:00:00Z" })).await;
    assert_eq!(c.json["now"], "2027-06-01T12:00:00.0000000Z");
    let bad = s.post("/_azemu/clock", json!({ "set": "tomorrow" })).await;
    assert_eq!(bad.status, 400);
}

#[tokio::test]
async fn faults_fire_for_the_next_n_matches_then_stop() {
    let s = TestServer::start().await;
    s.create_rg("f", "eastus").await;
    let f = s
        .post("/_azemu/faults", json!({ "match": { "method": "GET", "provider": "" , "path": "*/resourcegroups/f" }, "respond": { "status": 503 }, "times": 2 }))
        .await;
    assert_eq!(f.status, 201, "{}", f.text);
    assert_eq!(s.get(&s.rg_id("f")).await.status, 503);
    assert_eq!(s.get(&s.rg_id("f")).await.status, 503);
    assert_eq!(s.get(&s.rg_id("f")).await.status, 200);
    assert!(
        s.get("/_azemu/faults").await.values().is_empty(),
        "an exhausted fault is removed"
    );
}

#[tokio::test]
async fn faults_apply_after_authentication() {
    let s = TestServer::start().await;
    s.post("/_azemu/faults", json!({ "match": {}, "respond": { "status": 500 } }))
        .await;
    let anonymous = s
        .send(s.raw(
            reqwest::Method::GET,
            &format!("/subscriptions/{}?api-version=2022-12-01", s.sub()),
        ))
        .await;
    assert_eq!(
        anonymous.status, 401,
        "an unauthenticated call is refused before any fault"
    );
    assert_eq!(s.get(&format!("/subscriptions/{}", s.sub())).await.status, 500);
    assert_eq!(s.delete("/_azemu/faults").await.status, 204);
    assert_eq!(s.get(&format!("/subscriptions/{}", s.sub())).await.status, 200);
}

#[tokio::test]
async fn a_fault_needs_something_to_do() {
    let s = TestServer::start().await;
    let r = s.post("/_azemu/faults", json!({ "match": {}, "respond": {} })).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "InvalidFault");
}

#[tokio::test]
async fn the_journal_records_writes_with_before_and_after_and_filters() {
    let s = TestServer::start().await;
    s.create_rg("j", "eastus").await;
    s.patch(&s.rg_id("j"), json!({ "tags": { "a": "b" } })).await;
    let r = s.get("/_azemu/requests?method=PATCH").await;
    let v = r.values();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["status"], 200);
    assert!(v[0]["before"]["tags"].is_null());
    assert_eq!(v[0]["after"]["tags"]["a"], "b");
    assert!(v[0]["correlationId"].as_str().is_some_and(common::is_guid));
    let since = v[0]["sequence"].as_u64().unwrap();
    assert!(s
        .get(&format!("/_azemu/requests?since={since}"))
        .await
        .values()
        .iter()
        .all(|e| e["sequence"].as_u64().unwrap() > since));
}
