//! Lists page by key: `$top` + `$skipToken` walk a list of a thousand items and return each
//! exactly once, in creation order, even while other requests write into the list.

mod common;

use common::*;
use serde_json::Value;
use std::collections::HashMap;

fn identities_path(s: &TestServer, rg: &str) -> String {
    format!(
        "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
        s.rg_id(rg)
    )
}

/// A server for many writes: the refusal audit (which digests all state around every write)
/// would make a thousand creates quadratic.
async fn server() -> TestServer {
    TestServer::start_with(|c| c.audit_refusals = false).await
}

fn names(v: &[Value]) -> Vec<String> {
    v.iter().map(|x| x["name"].as_str().unwrap_or("").to_string()).collect()
}

/// Creates identities `{prefix}{i:04}` for `range` in `rg`.
async fn create_many(s: &TestServer, rg: &str, prefix: &str, range: std::ops::Range<usize>) {
    for i in range {
        s.create_identity(rg, &format!("{prefix}{i:04}")).await;
    }
}

/// Follows `nextLink`s from `first` and returns every page's items; `between` runs after
/// each page (writes made while a client pages).
async fn walk(s: &TestServer, first: &str, mut between: impl AsyncFnMut(usize)) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut r = s.get(first).await;
    let mut pages = 0;
    loop {
        assert_eq!(r.status, 200, "{}", r.text);
        seen.extend(r.values());
        pages += 1;
        assert!(pages < 10_000, "paging ends");
        between(pages).await;
        match r.json["nextLink"].as_str() {
            Some(next) => r = s.poll(next).await,
            None => break,
        }
    }
    seen
}

fn counts(v: &[String]) -> HashMap<&str, usize> {
    let mut m = HashMap::new();
    for n in v {
        *m.entry(n.as_str()).or_insert(0) += 1;
    }
    m
}

#[tokio::test]
async fn a_thousand_identities_page_by_top_and_skip_token_each_exactly_once() {
    let s = server().await;
    s.create_rg("rg-page", "westus2").await;
    create_many(&s, "rg-page", "id-", 0..1000).await;
    let want: Vec<String> = (0..1000).map(|i| format!("id-{i:04}")).collect();

    // Whole list: one default page of 100 with a nextLink.
    let first = s.get(&identities_path(&s, "rg-page")).await;
    assert_eq!(first.values().len(), 100);
    assert!(first.json["nextLink"].is_string());

    for top in [1, 7, 100, 999, 1000, 5000] {
        let seen = walk(
            &s,
            &format!("{}?$top={top}", identities_path(&s, "rg-page")),
            async |_| {},
        )
        .await;
        assert_eq!(names(&seen), want, "$top={top}: every identity once, in creation order");
    }
    // By subscription and through /resources the same.
    let by_sub = format!(
        "/subscriptions/{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?$top=93",
        s.sub()
    );
    assert_eq!(names(&walk(&s, &by_sub, async |_| {}).await), want);
    let resources = format!("{}/resources?$top=250", s.rg_id("rg-page"));
    assert_eq!(names(&walk(&s, &resources, async |_| {}).await), want);
    let typed = format!(
        "/subscriptions/{}/resources?$top=10&$filter=resourceType eq 'microsoft.managedidentity/userassignedidentities'",
        s.sub()
    );
    assert_eq!(names(&walk(&s, &typed, async |_| {}).await), want);

    // The last page has no nextLink; an exact fit does not announce an empty page.
    let exact = s.get(&format!("{}?$top=1000", identities_path(&s, "rg-page"))).await;
    assert_eq!(exact.values().len(), 1000);
    assert!(
        exact.json.get("nextLink").is_none_or(Value::is_null),
        "{}",
        exact.json["nextLink"]
    );

    // A forged token is refused as before.
    let bad = s
        .get(&format!("{}?$skipToken=bm9wZQ", identities_path(&s, "rg-page")))
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert_eq!(bad.code(), "InvalidQueryParameterValue");
}

#[tokio::test]
async fn paging_while_others_write_returns_every_lasting_item_exactly_once() {
    let s = server().await;
    s.create_rg("rg-race", "westus2").await;
    // 1,000 identities that stay, with 300 that will be deleted interleaved among them.
    for block in 0..10 {
        create_many(&s, "rg-race", "keep-", block * 100..block * 100 + 100).await;
        create_many(&s, "rg-race", "gone-", block * 30..block * 30 + 30).await;
    }
    let keep: Vec<String> = (0..1000).map(|i| format!("keep-{i:04}")).collect();
    let path = format!("{}?$top=10", identities_path(&s, "rg-race"));

    // Between pages: delete identities already sent and ones still ahead, and create new ones
    // (an offset-based token would skip or repeat items here).
    let mut deleted = 0usize;
    let seen = walk(&s, &path, async |page| {
        for _ in 0..3 {
            if deleted < 300 {
                let r = s.delete(&s.identity_id("rg-race", &format!("gone-{deleted:04}"))).await;
                assert_eq!(r.status, 200, "{}", r.text);
                deleted += 1;
            }
        }
        s.create_identity("rg-race", &format!("new-{page:04}")).await;
    })
    .await;
    let seen = names(&seen);
    let c = counts(&seen);
    for k in &keep {
        assert_eq!(c.get(k.as_str()), Some(&1), "{k} is sent exactly once");
    }
    assert!(c.values().all(|n| *n == 1), "nothing is sent twice");
    let kept_order: Vec<&String> = seen.iter().filter(|n| n.starts_with("keep-")).collect();
    assert_eq!(kept_order, keep.iter().collect::<Vec<_>>(), "creation order holds");

    // And with a writer running at the same time as the pages are read.
    let writer = async {
        for i in 0..200 {
            s.create_identity("rg-race", &format!("live-{i:04}")).await;
            if i % 2 == 0 {
                s.delete(&s.identity_id("rg-race", &format!("new-{:04}", i / 2 + 1)))
                    .await;
            }
        }
    };
    let live_path = format!("{}?$top=25", identities_path(&s, "rg-race"));
    let reader = walk(&s, &live_path, async |_| {});
    let ((), seen) = tokio::join!(writer, reader);
    let seen = names(&seen);
    let c = counts(&seen);
    for k in &keep {
        assert_eq!(
            c.get(k.as_str()),
            Some(&1),
            "{k} is sent exactly once while a writer runs"
        );
    }
    assert!(c.values().all(|n| *n == 1), "nothing is sent twice while a writer runs");
}

#[tokio::test]
async fn role_assignments_page_above_and_below_a_scope_each_exactly_once() {
    let s = server().await;
    s.create_rg("rg-ra", "westus2").await;
    s.create_rg("rg-other", "westus2").await;
    let idt = s.create_identity("rg-ra", "target").await;
    let sub_scope = format!("/subscriptions/{}", s.sub());
    let rg = s.rg_id("rg-ra");
    let idt_id = idt["id"].as_str().unwrap().to_string();
    let other = s.rg_id("rg-other");
    let scopes = [sub_scope.as_str(), rg.as_str(), idt_id.as_str(), other.as_str()];
    let mut made: HashMap<String, String> = HashMap::new();
    for i in 0..120 {
        let scope = scopes[i % scopes.len()];
        let name = guid();
        let r = s.assign(scope, &name, READER, &guid(), Some("ServicePrincipal")).await;
        assert_eq!(r.status, 201, "{}", r.text);
        made.insert(name, scope.to_string());
    }
    let list = |scope: &str, q: &str| format!("{scope}/providers/Microsoft.Authorization/roleAssignments?{q}");
    for (scope, q) in [
        (rg.as_str(), ""),
        (rg.as_str(), "$filter=atScope()"),
        (sub_scope.as_str(), ""),
        (idt_id.as_str(), ""),
    ] {
        let whole_names = names(&walk(&s, &list(scope, q), async |_| {}).await);
        let paged = names(&walk(&s, &format!("{}&$top=7", list(scope, q)), async |_| {}).await);
        assert_eq!(paged, whole_names, "{scope} {q}: pages equal the whole list");
        let c = counts(&paged);
        assert!(c.values().all(|n| *n == 1), "{scope} {q}: nothing twice");
        // Ours: at or above the rg (and below it unless atScope), never the other group's.
        let ours: Vec<&String> = made
            .iter()
            .filter(|(_, sc)| {
                let above = scope.to_ascii_lowercase().starts_with(&sc.to_ascii_lowercase());
                let below = sc.to_ascii_lowercase().starts_with(&scope.to_ascii_lowercase());
                above || (below && q.is_empty())
            })
            .map(|(n, _)| n)
            .collect();
        for n in &ours {
            assert_eq!(c.get(n.as_str()), Some(&1), "{scope} {q}: {n} listed once");
        }
        assert!(paged.len() >= ours.len());
    }
}
