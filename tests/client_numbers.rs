//! Numbers clients send — durations, times, counts, offsets — are range-checked and answered
//! with a 400 ARM error; arithmetic on them cannot overflow. A panic inside one request
//! answers that request 500 `InternalServerError` and leaves the server serving.

mod aks_support;
mod common;

use aks_support::{pool_profile, put_cluster, system_assigned, LOC};
use base64::Engine;
use common::{Reply, TestServer};
use reqwest::Method;
use serde_json::{json, Value};

async fn clock(s: &TestServer, body: Value) -> Reply {
    s.send(s.raw(Method::POST, "/_azemu/clock").json(&body)).await
}

async fn now(s: &TestServer) -> Value {
    s.get("/_azemu/clock").await.json["now"].clone()
}

/// The server still answers reads and writes, ARM and control alike.
async fn still_serving(s: &TestServer, rg: &str) {
    assert_eq!(s.get("/_azemu/health").await.status, 200);
    s.create_rg(rg, "westus2").await;
    assert_eq!(s.get(&s.rg_id(rg)).await.status, 200);
    assert_eq!(clock(s, json!({ "advance": "1s" })).await.status, 200);
}

fn assert_400(r: &Reply, code: &str, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text);
    assert_eq!(r.code(), code, "{what}: {}", r.text);
    assert!(!r.message().is_empty(), "{what}: {}", r.text);
}

// Issue 9 item 6: `{"advance": 1e300}` and `{"set": "999999999999999-01-01T00:00:00Z"}`
// overflowed the clock inside its lock.
#[tokio::test]
async fn clock_values_out_of_range_are_400_and_leave_the_clock_alone() {
    let s = TestServer::start_with(|c| c.seed = Some(3)).await;
    let start = now(&s).await;
    let refused = [
        json!({ "advance": 1e300 }),
        json!({ "advance": "1e300s" }),
        json!({ "advance": -5 }),
        json!({ "advance": "-1s" }),
        json!({ "advance": "inf" }),
        json!({ "advance": "NaN" }),
        json!({ "advance": true }),
        json!({ "set": "999999999999999-01-01T00:00:00Z" }),
        json!({ "set": "2026-02-31T00:00:00Z" }),
        json!({ "set": "2026-01-01T25:00:00Z" }),
        json!({ "set": 1_767_225_600_000_i64 }),
        // Valid alone, but together they would leave the represented range: nothing moves.
        json!({ "set": "9999-12-31T00:00:00Z", "advance": "48h" }),
        json!({ "set": "9999-12-31T00:00:00Z", "advance": "25h" }),
    ];
    for body in &refused {
        let r = clock(&s, body.clone()).await;
        assert_400(&r, "InvalidClockValue", &body.to_string());
        assert_eq!(now(&s).await, start, "{body}: the clock did not move");
    }
    let end = clock(&s, json!({ "set": "9999-12-31T23:59:58Z" })).await;
    assert_eq!(end.status, 200, "{}", end.text);
    assert_eq!(end.json["now"], "9999-12-31T23:59:58.0000000Z");
    let past = clock(&s, json!({ "advance": "2s" })).await;
    assert_400(&past, "InvalidClockValue", "advancing past 9999-12-31");
    assert_eq!(now(&s).await, "9999-12-31T23:59:58.0000000Z");
    let ok = clock(&s, json!({ "advance": 1.5 })).await;
    assert_eq!(ok.json["now"], "9999-12-31T23:59:59.5000000Z");
    // Offsets are converted to UTC; year 0 is the first representable time.
    let offset = clock(&s, json!({ "set": "2026-01-01T01:00:00+01:00" })).await;
    assert_eq!(offset.json["now"], "2026-01-01T00:00:00.0000000Z", "{}", offset.text);
    let first = clock(&s, json!({ "set": "0000-01-01T00:00:00Z" })).await;
    assert_eq!(first.json["now"], "0000-01-01T00:00:00.0000000Z", "{}", first.text);
    clock(&s, json!({ "set": "2026-01-01T00:00:00Z" })).await;
    still_serving(&s, "after-clock").await;
}

// Issue 9 item 6: `x-azemu-lro: 1e300s` overflowed `now + duration`.
#[tokio::test]
async fn lro_timing_values_out_of_range_are_400() {
    let s = TestServer::start().await;
    for (i, spec) in ["1e300s", "-3s", "polls=99999999999", "polls=-1", "infs", "NaNs"]
        .iter()
        .enumerate()
    {
        let rg = format!("lro-{i}");
        s.create_rg(&rg, "westus2").await;
        let r = s
            .send(
                s.request(Method::DELETE, &s.rg_id(&rg))
                    .await
                    .header("x-azemu-lro", *spec),
            )
            .await;
        assert_400(&r, "InvalidLroSetting", spec);
        let rule = s
            .send(s.raw(Method::POST, "/_azemu/lro").json(&json!({
                "type": "Microsoft.Resources/resourceGroups",
                "spec": spec,
            })))
            .await;
        assert_400(&rule, "InvalidLroSetting", spec);
    }
    // The longest duration there is still works: the operation simply stays running.
    s.create_rg("lro-long", "westus2").await;
    let r = s
        .send(
            s.request(Method::DELETE, &s.rg_id("lro-long"))
                .await
                .header("x-azemu-lro", "315569520000s"),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert!(s.get("/_azemu/lro").await.values().is_empty(), "no rule was stored");
    still_serving(&s, "after-lro").await;
}

// Retry-After is a number of seconds; azemu passed any header text through.
#[tokio::test]
async fn retry_after_setting_is_a_bounded_number_of_seconds() {
    let s = TestServer::start().await;
    for (i, bad) in ["-1", "abc", "86401", "1e3", "99999999999999999999"].iter().enumerate() {
        let rg = format!("ra-{i}");
        s.create_rg(&rg, "westus2").await;
        let r = s
            .send(
                s.request(Method::DELETE, &s.rg_id(&rg))
                    .await
                    .header("x-azemu-retry-after", *bad),
            )
            .await;
        assert_400(&r, "InvalidRetryAfterSetting", bad);
    }
    s.create_rg("ra-ok", "westus2").await;
    let r = s
        .send(
            s.request(Method::DELETE, &s.rg_id("ra-ok"))
                .await
                .header("x-azemu-lro", "manual")
                .header("x-azemu-retry-after", "7"),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    assert_eq!(r.header("retry-after").as_deref(), Some("7"));
    let location = r.header("location").expect("a Location to poll");
    let bad_poll = s
        .send(
            s.request(Method::GET, &location)
                .await
                .header("x-azemu-retry-after", "-1"),
        )
        .await;
    assert_400(&bad_poll, "InvalidRetryAfterSetting", "a poll");
}

fn skip_token(offset: u64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("azemu-page:{offset}"))
}

// Issue 9 item 6: `$top=18446744073709551615` with a skip token overflowed `offset + top`.
#[tokio::test]
async fn huge_top_and_skip_token_do_not_overflow() {
    let s = TestServer::start().await;
    s.create_rg("page-a", "westus2").await;
    s.create_rg("page-b", "westus2").await;
    let list = format!("/subscriptions/{}/resourcegroups", s.sub());
    for (top, offset) in [
        (u64::MAX, 1),
        (u64::MAX, u64::MAX - 1),
        (1, u64::MAX),
        (u64::MAX, u64::MAX),
    ] {
        let r = s
            .get(&format!("{list}?$top={top}&$skipToken={}", skip_token(offset)))
            .await;
        assert_eq!(r.status, 200, "$top={top} offset={offset}: {}", r.text);
        assert!(r.json.get("nextLink").is_none(), "{}", r.text);
    }
    let all = s.get(&format!("{list}?$top={}", u64::MAX)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert!(all.values().len() >= 2);
    for bad in ["18446744073709551616", "0", "-1", "1e3"] {
        let r = s.get(&format!("{list}?$top={bad}")).await;
        assert_400(&r, "InvalidQueryParameterValue", bad);
    }
    let r = s
        .get(&format!("{list}?$skipToken={}", skip_token(0).replace('A', "")))
        .await;
    assert!(r.status < 500, "{}", r.text);
    // Paging itself still works.
    let first = s.get(&format!("{list}?$top=1")).await;
    let next = first.json["nextLink"].as_str().expect("a next page").to_string();
    assert_eq!(s.get(&next).await.values().len(), 1);
}

// Faults carry a delay, a count, a Retry-After and a probability; each is bounded.
#[tokio::test]
async fn fault_numbers_out_of_range_are_400() {
    let s = TestServer::start().await;
    let refused = [
        (json!({ "respond": { "delayMs": 600_001 } }), "InvalidFault"),
        (json!({ "respond": { "delayMs": u64::MAX } }), "InvalidFault"),
        (
            json!({ "respond": { "status": 429, "retryAfter": 86_401 } }),
            "InvalidFault",
        ),
        (json!({ "respond": { "status": 503 }, "times": 0 }), "InvalidFault"),
        (
            json!({ "respond": { "status": 503 }, "probability": 1.5 }),
            "InvalidFault",
        ),
        (
            json!({ "respond": { "status": 503 }, "probability": -0.1 }),
            "InvalidFault",
        ),
        (json!({ "respond": { "status": 200 } }), "InvalidFault"),
        (json!({ "respond": { "status": 70_000 } }), "InvalidRequestContent"),
        (
            json!({ "respond": { "status": 503 }, "times": 1_u64 << 40 }),
            "InvalidRequestContent",
        ),
        (json!({ "respond": { "delayMs": -1 } }), "InvalidRequestContent"),
        (json!({ "respond": { "panic": false } }), "InvalidFault"),
    ];
    for (body, code) in &refused {
        let r = s.send(s.raw(Method::POST, "/_azemu/faults").json(body)).await;
        assert_400(&r, code, &body.to_string());
    }
    assert!(s.get("/_azemu/faults").await.values().is_empty());
    let ok = s
        .send(
            s.raw(Method::POST, "/_azemu/faults")
                .json(&json!({ "respond": { "delayMs": 600_000 }, "times": 1, "match": { "path": "/nothing" } })),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
}

// An agent pool's maxSurge is "an integer (e.g. '5') or a percentage (e.g. '50%')" (AKS API
// specification, AgentPoolUpgradeSettings); anything else is refused before any change.
#[tokio::test]
async fn max_surge_must_be_a_count_or_a_percentage() {
    let s = TestServer::start().await;
    s.create_rg("rg-surge", LOC).await;
    for (i, surge) in ["1e300%", "-1", "lots", "50.5%", "99999999999"].iter().enumerate() {
        let mut body = system_assigned(LOC);
        let mut pool = pool_profile("nodepool1", "System", 2);
        pool["upgradeSettings"] = json!({ "maxSurge": surge });
        body["properties"]["agentPoolProfiles"] = json!([pool]);
        let r = put_cluster(&s, "rg-surge", &format!("surge{i}"), body).await;
        assert_eq!(r.status, 400, "maxSurge {surge}: {}", r.text);
        assert_eq!(r.code(), "InvalidRequestContent", "{}", r.text);
    }
}

// A snapshot is client input too: absurd numbers in it must not overflow later arithmetic.
#[tokio::test]
async fn imported_extreme_numbers_do_not_overflow() {
    let s = TestServer::start().await;
    let mut state = s.get("/_azemu/state").await.json;
    for r in state["records"].as_array_mut().unwrap() {
        if r["type"] == "azemu/nodeImages" {
            r["body"]["released"] = json!(i64::MAX);
        }
        r["seq"] = json!(u64::MAX);
    }
    let put = s.send(s.raw(Method::PUT, "/_azemu/state").json(&state)).await;
    assert_eq!(put.status, 200, "{}", put.text);
    for family in ["AKSUbuntu-2204gen2containerd", "AKSWindows-2022-containerd"] {
        let r = s
            .send(
                s.raw(Method::POST, "/_azemu/node-images")
                    .json(&json!({ "family": family })),
            )
            .await;
        assert!(r.status < 500, "{family}: {} {}", r.status, r.text);
    }
    still_serving(&s, "after-import").await;
}

// Issue 9 item 6: a panic inside one request answers it 500 (ARM-shaped) and leaves the
// server working; the panic fault fails while holding the write gate and the faults' lock.
#[tokio::test]
async fn a_panic_answers_500_and_the_server_keeps_serving() {
    let s = TestServer::start().await;
    let f = s
        .send(s.raw(Method::POST, "/_azemu/faults").json(&json!({
            "match": { "method": "PUT", "path": "*/resourceGroups/boom" },
            "respond": { "panic": true },
            "times": 2,
        })))
        .await;
    assert_eq!(f.status, 201, "{}", f.text);
    assert_eq!(f.json["respond"]["panic"], true);
    for _ in 0..2 {
        let r = s.put(&s.rg_id("boom"), json!({ "location": "westus2" })).await;
        assert_eq!(r.status, 500, "{}", r.text);
        assert_eq!(r.code(), "InternalServerError");
        assert!(!r.message().is_empty());
        assert!(r.header("x-ms-request-id").is_some(), "the usual headers are there");
    }
    // The fault is spent; every lock the panic held is usable again.
    assert!(s.get("/_azemu/faults").await.values().is_empty());
    let again = s.put(&s.rg_id("boom"), json!({ "location": "westus2" })).await;
    assert_eq!(again.status, 201, "{}", again.text);
    still_serving(&s, "after-panic").await;
    // A read that panics is answered the same way, and reads keep working.
    s.send(s.raw(Method::POST, "/_azemu/faults").json(&json!({
        "match": { "method": "GET", "path": "*/resourceGroups/boom" },
        "respond": { "panic": true },
    })))
    .await;
    for _ in 0..3 {
        let r = s.get(&s.rg_id("boom")).await;
        assert_eq!(r.status, 500, "{}", r.text);
        assert_eq!(r.code(), "InternalServerError");
    }
    assert_eq!(s.get(&s.rg_id("after-panic")).await.status, 200);
    assert_eq!(s.delete("/_azemu/faults").await.status, 204);
    assert_eq!(s.get(&s.rg_id("boom")).await.status, 200);
    let journal = s.get("/_azemu/requests?status=500").await;
    assert_eq!(
        journal.values().len(),
        5,
        "the journal records each 500: {}",
        journal.text
    );
}
