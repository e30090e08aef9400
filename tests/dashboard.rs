//! The dashboard at `/_azemu/ui` over real HTTPS: the page and its files come from the binary,
//! its read-only views answer without a token (so the page works under `--enforce-rbac`), and
//! its event stream delivers the journal and the activity log live. The page itself is driven
//! in a real browser by `tests/browser/` (scripts/browser-test.sh).

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// The files `index.html` and the modules reference, with their content types.
const FILES: &[(&str, &str)] = &[
    ("app.js", "text/javascript"),
    ("api.js", "text/javascript"),
    ("dom.js", "text/javascript"),
    ("story.js", "text/javascript"),
    ("resources.js", "text/javascript"),
    ("access.js", "text/javascript"),
    ("timeline.js", "text/javascript"),
    ("controls.js", "text/javascript"),
    ("style.css", "text/css"),
    ("favicon.svg", "image/svg+xml"),
];

#[tokio::test]
async fn the_page_and_its_files_are_served_from_the_binary() {
    let s = TestServer::start().await;
    let page = s.send(s.raw(Method::GET, "/_azemu/ui")).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    // The style sheet is inlined, and the policy allows exactly it and azemu's own files.
    assert!(
        page.text.contains("<style>"),
        "{}",
        &page.text[..200.min(page.text.len())]
    );
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'") && csp.contains("'sha256-"), "{csp}");
    assert!(page.text.contains(r#"<script type="module" src="/_azemu/ui/app.js">"#));
    assert!(
        !page.text.contains("http://") && !page.text.contains("https://"),
        "nothing from elsewhere"
    );

    for (file, ct) in FILES {
        let r = s.send(s.raw(Method::GET, &format!("/_azemu/ui/{file}"))).await;
        assert_eq!(r.status, 200, "{file}");
        assert!(
            r.header("content-type").unwrap().starts_with(ct),
            "{file}: {:?}",
            r.header("content-type")
        );
        assert_eq!(r.header("x-content-type-options").as_deref(), Some("nosniff"));
        // Every module imports only siblings.
        for line in r.text.lines().filter(|l| l.starts_with("import ")) {
            let from = line.rsplit("from '").next().unwrap().trim_end_matches("';");
            let name = from.trim_start_matches("./");
            assert!(
                FILES.iter().any(|(f, _)| *f == name),
                "{file} imports {from}, which is not served"
            );
        }
    }

    let missing = s.send(s.raw(Method::GET, "/_azemu/ui/nope.js")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.code(), "NotFound");
    let wrong = s.send(s.raw(Method::GET, "/_azemu/ui/api/resource")).await;
    assert_eq!(wrong.status, 400);
    assert_eq!(wrong.code(), "MissingParameter");
    let gone = s
        .send(s.raw(
            Method::GET,
            "/_azemu/ui/api/resource?id=/subscriptions/x/resourceGroups/none",
        ))
        .await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.code(), "ResourceNotFound");
    let bad = s.send(s.raw(Method::GET, "/_azemu/ui/api/timeline?limit=many")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.code(), "InvalidQueryParameterValue");
}

#[tokio::test]
async fn the_views_answer_without_a_token_under_enforce_rbac() {
    let s = TestServer::start_with(|c| c.enforce_rbac = true).await;
    s.create_rg("ui", "westus2").await;
    let id = s.create_identity("ui", "ui-kubelet").await;
    // ARM itself wants a token…
    let arm = s.send(s.raw(Method::GET, &s.with_api_version(&s.rg_id("ui")))).await;
    assert_eq!(arm.status, 401);
    // …the dashboard's views do not.
    let r = s.send(s.raw(Method::GET, "/_azemu/ui/api/resources")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["enforceRbac"], true);
    let items = r.json["items"].as_array().unwrap();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
    let sub = format!("/subscriptions/{}", s.sub());
    let at = |x: &str| {
        ids.iter()
            .position(|i| i.eq_ignore_ascii_case(x))
            .unwrap_or_else(|| panic!("{x} in {ids:?}"))
    };
    // Creation order: subscription, then the group, then the identity.
    assert!(at(&sub) < at(&s.rg_id("ui")) && at(&s.rg_id("ui")) < at(id["id"].as_str().unwrap()));
    assert!(
        ids.iter().all(|i| !i.starts_with("/azemu/")),
        "azemu's own records stay out"
    );
    let rg = &items[at(&s.rg_id("ui"))];
    assert_eq!(rg["provisioningState"], "Succeeded");

    let one = s
        .send(s.raw(
            Method::GET,
            &format!("/_azemu/ui/api/resource?id={}", id["id"].as_str().unwrap()),
        ))
        .await;
    assert_eq!(one.status, 200);
    let got = s.send(s.request(Method::GET, id["id"].as_str().unwrap()).await).await;
    assert_eq!(one.json["body"], got.json, "the JSON as GET answers it");

    let access = s.send(s.raw(Method::GET, "/_azemu/ui/api/access")).await;
    assert_eq!(access.status, 200);
    let owner = access.json["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["roleName"] == "Owner")
        .expect("the default client's Owner assignment");
    assert!(owner["scope"].as_str().unwrap().eq_ignore_ascii_case(&sub));
    let principals = access.json["principals"].as_array().unwrap();
    let mi = principals
        .iter()
        .find(|p| p["displayName"] == "ui-kubelet")
        .expect("the identity's principal");
    assert_eq!(mi["kind"], "ManagedIdentity");
    assert!(mi["resourceId"]
        .as_str()
        .unwrap()
        .eq_ignore_ascii_case(id["id"].as_str().unwrap()));
    assert_eq!(
        access.json["pullAction"],
        "Microsoft.ContainerRegistry/registries/pull/read"
    );

    let clusters = s.send(s.raw(Method::GET, "/_azemu/ui/api/clusters")).await;
    assert_eq!(clusters.status, 200);
    assert_eq!(clusters.json["value"], json!([]));
    assert!(clusters.json["nodeImages"].as_array().unwrap().len() >= 4);
}

#[tokio::test]
async fn the_cluster_view_names_identities_and_checks_pulls_per_registry() {
    let s = TestServer::start().await;
    s.create_rg("uic", LOC).await;
    let cp = s.create_identity("uic", "uic-cp").await;
    let k1 = s.create_identity("uic", "uic-k1").await;
    grant(&s, &s.rg_id("uic"), MANAGED_IDENTITY_OPERATOR, &principal_of(&cp)).await;
    let acr = s
        .put(
            &format!(
                "{}/providers/Microsoft.ContainerRegistry/registries/uicacr?api-version=2025-11-01",
                s.rg_id("uic")
            ),
            json!({ "location": LOC, "sku": { "name": "Basic" } }),
        )
        .await;
    assert!(acr.status == 200 || acr.status == 201, "{}", acr.text);
    create_cluster(
        &s,
        "uic",
        "c1",
        user_assigned(LOC, cp["id"].as_str().unwrap(), Some(k1["id"].as_str().unwrap())),
    )
    .await;

    let v = s.send(s.raw(Method::GET, "/_azemu/ui/api/clusters")).await;
    assert_eq!(v.status, 200);
    let c = &v.json["value"][0];
    assert_eq!(c["name"], "c1");
    assert_eq!(c["tenantId"], s.tenant());
    assert_eq!(c["controlPlaneIdentity"]["type"], "UserAssigned");
    assert_eq!(c["controlPlaneIdentity"]["userAssignedIdentities"][0]["name"], "uic-cp");
    assert_eq!(c["kubeletIdentity"]["name"], "uic-k1");
    let pool = &c["pools"][0];
    assert_eq!(pool["nodeImageFamily"], "AKSUbuntu-2204gen2containerd");
    assert_eq!(pool["operation"], Value::Null);
    // k1 holds no AcrPull: the check against the subscription's registry is red.
    let check = &c["pullChecks"][0];
    assert_eq!(check["name"], "uicacr");
    assert_eq!(check["result"]["allowed"], false, "{check}");
    grant(&s, acr.json["id"].as_str().unwrap(), ACR_PULL, &principal_of(&k1)).await;
    let v = s.send(s.raw(Method::GET, "/_azemu/ui/api/clusters")).await;
    assert_eq!(v.json["value"][0]["pullChecks"][0]["result"]["allowed"], true);
}

#[tokio::test]
async fn operations_show_their_progress() {
    let s = TestServer::start().await;
    s.create_rg("uiop", LOC).await;
    let cp = s.create_identity("uiop", "uiop-cp").await;
    let r = s
        .send(
            s.request(Method::PUT, &api(&cluster_id(&s, "uiop", "slow")))
                .await
                .header("x-azemu-lro", "polls=4")
                .json(&user_assigned(LOC, cp["id"].as_str().unwrap(), None)),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let progress = |v: &Value| v["operations"][0]["progress"].as_f64();
    let v = s.send(s.raw(Method::GET, "/_azemu/ui/api/resources")).await;
    assert_eq!(v.json["operations"][0]["activity"], "Creating");
    assert_eq!(progress(&v.json), Some(0.0));
    let url = r.header("azure-asyncoperation").unwrap();
    s.poll(&url).await;
    s.poll(&url).await;
    let v = s.send(s.raw(Method::GET, "/_azemu/ui/api/resources")).await;
    assert_eq!(progress(&v.json), Some(0.5), "{}", v.json["operations"]);
    let c = s.send(s.raw(Method::GET, "/_azemu/ui/api/clusters")).await;
    assert_eq!(c.json["value"][0]["operation"]["activity"], "Creating");
}

/// Reads the event stream until `want` appears in it (or 10 s pass).
async fn read_until(resp: &mut reqwest::Response, seen: &mut String, want: &str) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !seen.contains(want) {
        match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => seen.push_str(&String::from_utf8_lossy(&c)),
            _ => return false,
        }
    }
    true
}

#[tokio::test]
async fn the_stream_delivers_the_journal_and_events_live_and_resumes() {
    let s = TestServer::start().await;
    let mut resp = s.raw(Method::GET, "/_azemu/ui/stream").send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let mut seen = String::new();
    assert!(read_until(&mut resp, &mut seen, "event: hello").await, "{seen}");

    s.create_rg("live", LOC).await;
    assert!(read_until(&mut resp, &mut seen, "/resourceGroups/live").await, "{seen}");
    let msg = seen
        .split("\n\n")
        .find(|m| m.contains("event: journal") && m.contains("/resourceGroups/live"))
        .unwrap();
    let data: Value = serde_json::from_str(msg.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(data["method"], "PUT");
    assert_eq!(data["after"]["name"], "live", "writes carry the resource after");
    let id = msg.lines().find_map(|l| l.strip_prefix("id: ")).unwrap().to_string();

    // Activity log entries arrive as `event` messages.
    s.send(
        s.raw(Method::POST, "/_azemu/node-images")
            .json(&json!({ "family": "AKSAzureLinux-V3gen2" })),
    )
    .await;
    assert!(read_until(&mut resp, &mut seen, "NodeImagePublished").await, "{seen}");
    drop(resp);

    // A page that reconnects with Last-Event-ID gets what came after it, not what it had.
    s.create_rg("later", LOC).await;
    let mut again = s
        .raw(Method::GET, "/_azemu/ui/stream")
        .header("Last-Event-ID", &id)
        .send()
        .await
        .unwrap();
    let mut seen2 = String::new();
    assert!(
        read_until(&mut again, &mut seen2, "/resourceGroups/later").await,
        "{seen2}"
    );
    assert!(
        read_until(&mut again, &mut seen2, "NodeImagePublished").await,
        "{seen2}"
    );
    assert!(!seen2.contains("/resourceGroups/live\""), "{seen2}");

    // A page that comes back after azemu restarted (it saw more than this azemu has) is told
    // to read everything again.
    let mut stale = s
        .raw(Method::GET, "/_azemu/ui/stream")
        .header("Last-Event-ID", "9999.9999")
        .send()
        .await
        .unwrap();
    let mut seen3 = String::new();
    assert!(read_until(&mut stale, &mut seen3, "event: reset").await, "{seen3}");
    drop(stale);

    // A reset empties the activity log: the page is told to read everything again.
    s.send(s.raw(Method::POST, "/_azemu/reset")).await;
    assert!(read_until(&mut again, &mut seen2, "event: reset").await, "{seen2}");
}

#[tokio::test]
async fn the_timeline_and_the_recorded_scenario() {
    let s = TestServer::start().await;
    s.create_rg("tl1", LOC).await;
    s.create_rg("tl2", LOC).await;
    let t = s.send(s.raw(Method::GET, "/_azemu/ui/api/timeline?limit=1")).await;
    assert_eq!(t.status, 200);
    let journal = t.json["journal"].as_array().unwrap();
    assert_eq!(journal.len(), 1);
    assert!(journal[0]["path"].as_str().unwrap().ends_with("/tl2"));
    assert_eq!(t.json["journalSequence"], journal[0]["sequence"]);
    let y = s.send(s.raw(Method::GET, "/_azemu/ui/api/scenario.yaml")).await;
    assert_eq!(y.status, 200);
    assert!(y.header("content-type").unwrap().starts_with("application/yaml"));
    assert!(y
        .header("content-disposition")
        .unwrap()
        .contains("recorded-scenario.yaml"));
    let doc: Value = serde_yaml_ng::from_str(&y.text).unwrap();
    let steps = doc["steps"].as_array().unwrap();
    assert!(steps
        .iter()
        .any(|st| st["request"]["path"].as_str().unwrap_or("").ends_with("/tl1")));
}
