//! Hardening: what holds when azemu is attacked, loaded or shared (issue 10): token
//! audiences, unpredictable generated values, private state files, decoding paths once and
//! name rules, persistence that round-trips and survives a crash, a journal bounded in bytes,
//! and ARM-shaped errors for every refusal.

mod common;

use common::{guid, jwt_claims, TestServer};
use reqwest::Method;
use serde_json::json;

// ---- 3: token audiences ----------------------------------------------------------------------

/// A client-credentials token from the v2 endpoint for `scope`, or from the v1 endpoint for
/// `resource`.
async fn token_for(s: &TestServer, v2: bool, target: &str) -> String {
    let (path, key) = if v2 {
        (format!("/{}/oauth2/v2.0/token", s.tenant()), "scope")
    } else {
        (format!("/{}/oauth2/token", s.tenant()), "resource")
    };
    let r = s
        .token_request(
            &path,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", common::DEFAULT_CLIENT_ID),
                ("client_secret", "any-secret"),
                (key, target),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "token for {target}: {}", r.text);
    r.json["access_token"].as_str().unwrap().to_string()
}

async fn token_with_scope(s: &TestServer, scope: &str) -> String {
    token_for(s, true, scope).await
}

async fn token_with_resource(s: &TestServer, resource: &str) -> String {
    token_for(s, false, resource).await
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused_on_arm() {
    // ARM refuses a token obtained for another resource with 401
    // InvalidAuthenticationTokenAudience, naming the audience it got.
    let s = TestServer::start().await;
    let sub_path = format!("/subscriptions/{}", s.sub());
    for scope in [
        "https://graph.microsoft.com/.default",
        "https://storage.azure.com/.default",
    ] {
        let token = token_with_scope(&s, scope).await;
        let aud = jwt_claims(&token)["aud"].as_str().unwrap().to_string();
        let r = s.send(s.request_as(&token, Method::GET, &sub_path)).await;
        assert_eq!(r.status, 401, "{scope}: {}", r.text);
        assert_eq!(r.code(), "InvalidAuthenticationTokenAudience");
        assert!(
            r.message().contains(&aud),
            "the message names the audience: {}",
            r.message()
        );
        assert!(r.header("www-authenticate").is_some());
        // A write with it changes nothing.
        let w = s
            .send(
                s.request_as(&token, Method::PUT, &s.rg_id("aud-rg"))
                    .json(&json!({"location": "westus2"})),
            )
            .await;
        assert_eq!(w.status, 401);
    }
    assert_eq!(s.get(&s.rg_id("aud-rg")).await.status, 404, "nothing was written");
    let v1 = token_with_resource(&s, "https://graph.microsoft.com/").await;
    let r = s.send(s.request_as(&v1, Method::GET, &sub_path)).await;
    assert_eq!(r.code(), "InvalidAuthenticationTokenAudience");
    // Graph's own token is good on azemu's Graph endpoints.
    let r = s.send(s.request_as(&v1, Method::GET, "/v1.0/servicePrincipals")).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn tokens_for_arm_audiences_are_accepted() {
    // ARM's own identifiers with and without the trailing slash, and the ones azemu's metadata
    // advertises (what az, Terraform and the SDKs ask for).
    let s = TestServer::start().await;
    let sub_path = format!("/subscriptions/{}", s.sub());
    let meta = s
        .send(s.raw(Method::GET, "/metadata/endpoints?api-version=2022-09-01"))
        .await;
    let mut scopes: Vec<String> = vec![
        "https://management.azure.com/.default".into(),
        "https://management.azure.com//.default".into(),
        "https://management.core.windows.net//.default".into(),
        "https://management.core.windows.net/.default".into(),
        format!("{}/.default", s.url),
        format!("{}//.default", s.url),
        format!(
            "{}/.default",
            meta.json["resourceManager"].as_str().unwrap().trim_end_matches('/')
        ),
    ];
    for a in meta.json["authentication"]["audiences"].as_array().unwrap() {
        scopes.push(format!("{}/.default", a.as_str().unwrap().trim_end_matches('/')));
    }
    for scope in &scopes {
        let token = token_with_scope(&s, scope).await;
        let r = s.send(s.request_as(&token, Method::GET, &sub_path)).await;
        assert_eq!(r.status, 200, "{scope}: {}", r.text);
    }
    for resource in ["https://management.core.windows.net/", "https://management.azure.com"] {
        let token = token_with_resource(&s, resource).await;
        let r = s.send(s.request_as(&token, Method::GET, &sub_path)).await;
        assert_eq!(r.status, 200, "{resource}: {}", r.text);
    }
    // The same server reached as `localhost` accepts tokens for that name.
    let local = s.url.replace("127.0.0.1", "localhost");
    let token = token_with_scope(&s, &format!("{local}/.default")).await;
    let r = s
        .send(
            s.client
                .get(format!("{local}{sub_path}?api-version=2022-12-01"))
                .bearer_auth(&token),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

// ---- 4: generated values come from the OS's secure random source ----------------------------

/// splitmix64's output function and its inverse.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn unxorshift(y: u64, s: u32) -> u64 {
    let mut x = y;
    for _ in 0..(64 / s + 1) {
        x = y ^ (x >> s);
    }
    x
}

fn inverse_odd(a: u64) -> u64 {
    let mut x = a;
    for _ in 0..6 {
        x = x.wrapping_mul(2u64.wrapping_sub(a.wrapping_mul(x)));
    }
    x
}

fn unmix(z: u64) -> u64 {
    let mut x = unxorshift(z, 31);
    x = x.wrapping_mul(inverse_odd(0x94D0_49BB_1331_11EB));
    x = unxorshift(x, 27);
    x = x.wrapping_mul(inverse_odd(0xBF58_476D_1CE4_E5B9));
    unxorshift(x, 30)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn guid_of(a: u64, b: u64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&a.to_le_bytes());
    bytes[8..].copy_from_slice(&b.to_le_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// The GUIDs a splitmix64 generator would give after the one that produced `seen`, if it did.
fn predicted_after(seen: &str) -> Vec<String> {
    let b = *uuid::Uuid::parse_str(seen).unwrap().as_bytes();
    let second = u64::from_le_bytes(b[8..].try_into().unwrap());
    let mut out = Vec::new();
    // The variant bits hide the top two bits of byte 8.
    for top in 0..4u64 {
        let v = (second & !0xC0) | (top << 6);
        let state = unmix(v);
        if guid_of(mix(state.wrapping_sub(GOLDEN)), v) != seen {
            continue;
        }
        let mut s = state;
        for _ in 0..256 {
            let a = mix(s.wrapping_add(GOLDEN));
            let c = mix(s.wrapping_add(GOLDEN.wrapping_mul(2)));
            s = s.wrapping_add(GOLDEN.wrapping_mul(2));
            out.push(guid_of(a, c));
        }
    }
    out
}

#[test]
fn the_predictor_predicts_a_splitmix_sequence() {
    // The check below is only worth something if it recognizes the generator it rules out.
    let mut s: u64 = 0x1234_5678_9abc_def0;
    let mut next = || {
        s = s.wrapping_add(GOLDEN);
        mix(s)
    };
    let seen = {
        let (a, b) = (next(), next());
        guid_of(a, b)
    };
    let later: Vec<String> = (0..5)
        .map(|_| {
            let (a, b) = (next(), next());
            guid_of(a, b)
        })
        .collect();
    let predicted = predicted_after(&seen);
    assert!(later.iter().all(|g| predicted.contains(g)));
}

#[tokio::test]
async fn a_request_id_does_not_predict_the_next_identity() {
    let s = TestServer::start().await;
    s.create_rg("rng", "westus2").await;
    let r = s
        .send(
            s.request(Method::GET, &s.rg_id("rng"))
                .await
                .header("x-ms-correlation-request-id", guid()),
        )
        .await;
    let request_id = r.header("x-ms-request-id").unwrap();
    let predicted = predicted_after(&request_id);
    let id = s.create_identity("rng", "rng-id").await;
    for field in ["clientId", "principalId"] {
        let v = id["properties"][field].as_str().unwrap();
        assert!(
            !predicted.iter().any(|p| p == v),
            "the identity's {field} follows from the previous request id"
        );
    }
    let next = s.get(&s.rg_id("rng")).await.header("x-ms-request-id").unwrap();
    assert!(!predicted.contains(&next), "request ids do not predict each other");
}

// ---- 5: the state file is private ------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn the_state_file_is_written_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::fresh_dir();
    let file = dir.join("state.json");
    // Even over a file that was readable by others.
    std::fs::write(&file, b"{}").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(&file).unwrap();
    let f = file.clone();
    let s = TestServer::start_with(move |c| c.state_file = Some(f)).await;
    s.create_rg("private", "westus2").await;
    s.stop().await;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the state file holds keys and tokens: {mode:o}");
    assert_eq!(temporaries(&dir), Vec::<String>::new());

    // Replacing a file readable by others leaves an owner-only one.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let f = file.clone();
    let s = TestServer::start_with(move |c| c.state_file = Some(f)).await;
    s.create_rg("private2", "westus2").await;
    s.stop().await;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let _ = std::fs::remove_dir_all(dir);
}

/// Files in `dir` other than the state file, the CA, the keys and the server certificate.
fn temporaries(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect()
}

// ---- 6: a path is decoded once; names follow their type's rules ----------------------------

#[tokio::test]
async fn an_encoded_percent_is_not_another_spelling_of_a_name() {
    let s = TestServer::start().await;
    s.create_rg("dec", "westus2").await;
    let vnets = format!("{}/providers/Microsoft.Network/virtualNetworks", s.rg_id("dec"));
    let body = json!({"location": "westus2", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}});
    let r = s.put(&format!("{vnets}/aa"), body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    // `%2561` decodes once to `%61`, never to `a`: ARM refuses double encoding.
    let r = s.get(&format!("{vnets}/%2561%2561")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidDoubleEncodedRequestUri");
    let r = s.put(&format!("{vnets}/%2561%2561"), body.clone()).await;
    assert_eq!(r.code(), "InvalidDoubleEncodedRequestUri");
    let r = s.delete(&format!("{vnets}/%2561%2561")).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        s.get(&format!("{vnets}/aa")).await.status,
        200,
        "the real one is untouched"
    );
    // Single encoding is just another spelling of the same name.
    assert_eq!(s.get(&format!("{vnets}/%61%61")).await.status, 200);
    // An encoded slash does not split a name into two segments.
    let r = s.get(&format!("{vnets}/aa%2Fsubnets%2Fx")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert!(!r.code().is_empty());
    assert_eq!(s.get(&vnets).await.values().len(), 1);
}

#[tokio::test]
async fn names_of_every_served_type_follow_their_rules() {
    let s = TestServer::start().await;
    s.create_rg("names", "westus2").await;
    let rg = s.rg_id("names");
    let vnet = format!("{rg}/providers/Microsoft.Network/virtualNetworks");
    let vnet_body =
        json!({"location": "westus2", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}});
    let r = s.put(&format!("{vnet}/vnet1"), vnet_body.clone()).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let subnet_body = json!({"properties": {"addressPrefix": "10.0.1.0/24"}});
    let long = "n".repeat(10_000);
    let bad = ["x%25", "a%00b", "a%20b", "-a", "a.", "a%3Fb", long.as_str()];
    // (collection path, body, code, names that pass)
    let cases = vec![
        (vnet.clone(), vnet_body.clone(), "InvalidResourceName", vec!["v"]),
        (
            format!("{vnet}/vnet1/subnets"),
            subnet_body.clone(),
            "InvalidResourceName",
            vec![],
        ),
        (
            format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"),
            json!({"location": "westus2"}),
            "InvalidResourceName",
            vec!["ab"],
        ),
        (
            format!("{rg}/providers/Microsoft.ContainerRegistry/registries"),
            json!({"location": "westus2", "sku": {"name": "Basic"}}),
            "InvalidParameter",
            vec!["acr1", "acr-registry"],
        ),
        (
            format!("{rg}/providers/Microsoft.ContainerService/managedClusters"),
            json!({"location": "westus2"}),
            "InvalidParameter",
            vec![],
        ),
        (
            format!("{rg}/providers/Microsoft.Authorization/roleAssignments"),
            json!({"properties": {}}),
            "InvalidRoleAssignmentId",
            vec!["not-a-guid"],
        ),
        (
            format!("{rg}/providers/Microsoft.Authorization/roleDefinitions"),
            json!({"properties": {}}),
            "InvalidRoleDefinitionId",
            vec!["not-a-guid"],
        ),
    ];
    for (collection, body, code, extra) in &cases {
        for name in bad.iter().chain(extra.iter()) {
            let path = format!("{collection}/{name}");
            let r = s.put(&path, body.clone()).await;
            assert_eq!(
                r.status,
                400,
                "PUT {}…: {}",
                &path[..path.len().min(200)],
                &r.text[..r.text.len().min(300)]
            );
            let want = if name.contains("%25") {
                "InvalidDoubleEncodedRequestUri"
            } else {
                code
            };
            assert_eq!(r.code(), want, "{name:.40}");
        }
    }
    let groups = format!("/subscriptions/{}/resourceGroups", s.sub());
    for name in ["a%00b", "a%2Cb", long.as_str()] {
        let r = s.put(&format!("{groups}/{name}"), json!({"location": "westus2"})).await;
        assert_eq!(r.status, 400, "{name:.40}");
        assert_eq!(r.code(), "InvalidResourceGroup");
    }
    // Nothing was stored under a refused name.
    let listed = s.get(&format!("/subscriptions/{}/resources", s.sub())).await;
    let names: Vec<String> = listed
        .values()
        .iter()
        .map(|v| v["name"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(names, vec!["vnet1".to_string()], "{}", listed.text);
    assert_eq!(s.get(&format!("{vnet}/vnet1/subnets")).await.values().len(), 0);
}

#[tokio::test]
async fn maintenance_configuration_names_follow_their_rule() {
    let s = TestServer::start().await;
    let ids = aks_cluster(&s, "maint").await;
    let mc = format!("{ids}/maintenanceConfigurations");
    let body = json!({"properties": {"timeInWeek": [{"day": "Sunday", "hourSlots": [1]}]}});
    for name in ["default", "aksManagedAutoUpgradeSchedule", "aks_maintenance_config"] {
        let r = s.put(&format!("{mc}/{name}"), body.clone()).await;
        assert!(r.status == 200 || r.status == 201, "{name}: {}", r.text);
    }
    let long = "m".repeat(10_000);
    for name in ["a%00", "a%20b", "_x", "x%3A", long.as_str()] {
        let r = s.put(&format!("{mc}/{name}"), body.clone()).await;
        assert_eq!(r.status, 400, "{name:.40}: {:.300}", r.text);
        assert_eq!(r.code(), "InvalidParameter");
    }
    assert_eq!(s.get(&mc).await.values().len(), 3);
}

/// A managed cluster with one system pool; returns its id.
async fn aks_cluster(s: &TestServer, rg: &str) -> String {
    s.create_rg(rg, "westus2").await;
    let id = format!(
        "{}/providers/Microsoft.ContainerService/managedClusters/{rg}-mc",
        s.rg_id(rg)
    );
    let r = s
        .send(
            s.request(Method::PUT, &format!("{id}?api-version=2025-10-01"))
                .await
                .header("x-azemu-lro", "immediate")
                .json(&json!({
                    "location": "westus2",
                    "identity": {"type": "SystemAssigned"},
                    "properties": {"dnsPrefix": rg, "agentPoolProfiles": [
                        {"name": "nodepool1", "count": 1, "vmSize": "Standard_D2s_v3", "mode": "System"}
                    ]}
                })),
        )
        .await;
    assert!(r.status == 200 || r.status == 201, "{}", r.text);
    id
}

// ---- 10: persistence -------------------------------------------------------------------------

/// `{"a":{"a":…}}` nested `depth` levels (the outermost object included).
fn nested(depth: usize) -> serde_json::Value {
    let mut v = json!("leaf");
    for _ in 0..depth {
        v = json!({ "a": v });
    }
    v
}

#[tokio::test]
async fn what_azemu_accepts_it_can_export_and_import_again() {
    let s = TestServer::start().await;
    let mc = aks_cluster(&s, "deep").await;
    let path = format!("{mc}/maintenanceConfigurations/default");
    // As deep as a request may nest: accepted, stored, exported and imported again.
    let body = json!({"properties": {"timeInWeek": [{"day": "Sunday", "hourSlots": [1]}], "x": nested(61)}});
    let r = s.put(&path, body).await;
    assert!(r.status == 200 || r.status == 201, "{:.300}", r.text);
    let state = s.get("/_azemu/state").await;
    assert_eq!(state.status, 200);
    let b = TestServer::start().await;
    let put = b.send(b.raw(Method::PUT, "/_azemu/state").json(&state.json)).await;
    assert_eq!(put.status, 200, "{:.300}", put.text);
    assert_eq!(b.get(&path).await.status, 200);
    // Deeper than that is refused at the door, on every route, as invalid content.
    for (method, p) in [
        (Method::PUT, path.clone()),
        (Method::PUT, s.rg_id("deeper")),
        (Method::POST, "/_azemu/faults".to_string()),
    ] {
        let r = s
            .send(
                s.request(method.clone(), &p)
                    .await
                    .json(&json!({"properties": nested(124)})),
            )
            .await;
        assert_eq!(r.status, 400, "{method} {p}: {:.300}", r.text);
        assert_eq!(r.code(), "InvalidRequestContent");
    }
}

#[tokio::test]
async fn a_snapshot_larger_than_a_request_imports() {
    // 6,000 identities: a snapshot well above the 4 MiB a request body may have.
    let a = TestServer::start().await;
    a.create_rg("many", "westus2").await;
    a.create_identity("many", "id-0").await;
    let mut state = a.get("/_azemu/state").await.json;
    let records = state["records"].as_array_mut().unwrap();
    let template = records
        .iter()
        .find(|r| r["id"].as_str().unwrap().ends_with("/id-0"))
        .unwrap()
        .clone();
    for i in 1..6000 {
        let mut r = template.clone();
        let id = r["id"].as_str().unwrap().replace("/id-0", &format!("/id-{i}"));
        r["id"] = json!(id);
        r["body"]["id"] = json!(id);
        r["body"]["name"] = json!(format!("id-{i}"));
        r["seq"] = json!(100_000 + i);
        records.push(r);
    }
    let bytes = serde_json::to_vec(&state).unwrap();
    assert!(bytes.len() > 4 * 1024 * 1024, "the snapshot is {} bytes", bytes.len());
    let b = TestServer::start().await;
    let put = b
        .send(
            b.raw(Method::PUT, "/_azemu/state")
                .header("content-type", "application/json")
                .body(bytes),
        )
        .await;
    assert_eq!(put.status, 200, "{:.300}", put.text);
    assert_eq!(b.get(&b.identity_id("many", "id-5999")).await.status, 200);
    // Other routes keep the request limit.
    let big = "x".repeat(5 * 1024 * 1024);
    let r = b
        .send(
            b.request(Method::PUT, &b.rg_id("big"))
                .await
                .json(&json!({"location": "westus2", "tags": {"t": big}})),
        )
        .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.code(), "RequestEntityTooLarge");
}

/// An azemu process (the real binary), plain HTTP.
struct Process {
    child: std::process::Child,
    url: String,
    client: reqwest::Client,
}

impl Process {
    fn start(data_dir: &std::path::Path, extra: &[&str]) -> Process {
        let (child, url) = common::spawn_plain(data_dir, extra);
        Process {
            child,
            url,
            client: reqwest::Client::new(),
        }
    }

    async fn token(&self) -> String {
        common::plain_token(&self.client, &self.url).await
    }

    async fn call(&self, token: &str, method: Method, path: &str, body: Option<serde_json::Value>) -> u16 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut rb = self
            .client
            .request(method, format!("{}{path}{sep}api-version=2024-11-30", self.url))
            .bearer_auth(token);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        rb.send().await.unwrap().status().as_u16()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(unix)]
#[tokio::test]
async fn a_crash_loses_at_most_the_save_interval() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::fresh_dir();
    let file = dir.join("state.json");
    let file_arg = file.to_string_lossy().into_owned();
    let p = Process::start(&dir, &["--state-file", &file_arg, "--state-save-interval", "200ms"]);
    let token = p.token().await;
    let sub = common::DEFAULT_SUBSCRIPTION_ID;
    let rg = format!("/subscriptions/{sub}/resourceGroups/crash");
    assert_eq!(
        p.call(&token, Method::PUT, &rg, Some(json!({"location": "westus2"})))
            .await,
        201
    );
    for i in 0..20 {
        let id = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i}");
        assert_eq!(
            p.call(&token, Method::PUT, &id, Some(json!({"location": "westus2"})))
                .await,
            201
        );
    }
    // Longer than the interval (and a save), then SIGKILL: no chance to save at stop.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    drop(p);
    let text = std::fs::read(&file).expect("the state file exists after a crash");
    let snap: serde_json::Value = serde_json::from_slice(&text).expect("and is whole JSON");
    assert_eq!(snap["format"], "azemu-state/1");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    let p = Process::start(&dir, &["--state-file", &file_arg, "--state-save-interval", "200ms"]);
    let token = p.token().await;
    for i in 0..20 {
        let id = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i}");
        assert_eq!(
            p.call(&token, Method::GET, &id, None).await,
            200,
            "id-{i} survived the crash"
        );
    }
    // Killed in the middle of writes: the file stays loadable and nothing temporary remains
    // once azemu started again.
    let writes = async {
        for i in 0..200 {
            let id = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/w-{i}");
            p.call(&token, Method::PUT, &id, Some(json!({"location": "westus2"})))
                .await;
        }
    };
    let _ = tokio::time::timeout(std::time::Duration::from_millis(700), writes).await;
    drop(p);
    let p = Process::start(&dir, &["--state-file", &file_arg]);
    // Checked as soon as it is ready, before any write: a save of its own could be in flight
    // (and cut by the kill below) once a request changed something.
    assert_eq!(
        temporaries(&dir),
        Vec::<String>::new(),
        "stale temporaries are removed at start"
    );
    let token = p.token().await;
    assert_eq!(p.call(&token, Method::GET, &rg, None).await, 200, "the file loaded");
    drop(p);
    let _ = std::fs::remove_dir_all(dir);
}

// ---- 11: the journal is bounded by bytes -------------------------------------------------------

#[tokio::test]
async fn the_journal_stays_within_its_byte_bound_under_hostile_bodies() {
    const MAX: usize = 1024 * 1024;
    let s = TestServer::start_with(|c| c.journal_max_bytes = MAX).await;
    s.create_rg("jr", "westus2").await;
    let big = format!(
        "{{\"location\":\"westus2\",\"tags\":{{\"t\":\"{}\"}}}}",
        "x".repeat(3_900_000)
    );
    for i in 0..6 {
        // Unauthenticated: refused, and its body is nobody's write.
        let r = s
            .send(
                s.raw(Method::PUT, &s.with_api_version(&s.rg_id(&format!("nope{i}"))))
                    .bearer_auth("not-a-token")
                    .header("content-type", "application/json")
                    .body(big.clone()),
            )
            .await;
        assert_eq!(r.status, 401);
        // Authenticated, whatever azemu answers.
        let r = s
            .send(
                s.request(Method::PUT, &s.identity_id("jr", &format!("big{i}")))
                    .await
                    .header("content-type", "application/json")
                    .body(big.clone()),
            )
            .await;
        assert!(r.status < 500, "{:.300}", r.text);
    }
    for i in 0..20 {
        s.create_identity("jr", &format!("small{i}")).await;
    }
    let j = s.get("/_azemu/requests").await;
    assert_eq!(j.status, 200);
    assert!(
        j.text.len() < MAX + MAX / 2,
        "the journal renders {} bytes for a {MAX}-byte bound",
        j.text.len()
    );
    let entries = j.values();
    let last = entries.last().unwrap();
    assert!(
        last["path"].as_str().unwrap().ends_with("/small19"),
        "the newest entries stay"
    );
    assert_eq!(last["requestBody"]["location"], "westus2", "with their bodies");
    for e in &entries {
        if e["status"] == 401 {
            assert!(e["requestBody"].is_null(), "a refused request's body is not kept");
        }
    }
    // A refused request's body stays out even when small.
    let r = s
        .send(
            s.raw(Method::PUT, &s.with_api_version(&s.rg_id("small-refused")))
                .bearer_auth("not-a-token")
                .json(&json!({"location": "westus2"})),
        )
        .await;
    assert_eq!(r.status, 401);
    let j = s.get("/_azemu/requests?status=401").await;
    let e = j.values().pop().unwrap();
    assert!(e["path"].as_str().unwrap().ends_with("/small-refused"));
    assert!(e["requestBody"].is_null(), "{e}");
}

// ---- 13: ARM-shaped errors, media types, large bodies over HTTP/2, idle connections --------

#[tokio::test]
async fn control_api_refusals_are_arm_errors() {
    let s = TestServer::start().await;
    for (method, path) in [
        (Method::DELETE, format!("/_azemu/faults/{}", guid())),
        (Method::GET, "/_azemu/no-such-thing".to_string()),
        (Method::POST, "/_azemu/no-such-thing".to_string()),
        (Method::DELETE, format!("/_azemu/subscriptions/{}", guid())),
        (Method::GET, "/_azemu/clusters/a/b/c".to_string()),
        (Method::GET, "/_azemu/authorize".to_string()),
    ] {
        let r = s.send(s.raw(method.clone(), &path)).await;
        assert!((400..500).contains(&r.status), "{method} {path}: {}", r.status);
        assert!(!r.code().is_empty(), "{method} {path}: an ARM error, got {:?}", r.text);
        assert!(!r.message().is_empty());
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_unsupported_media() {
    let s = TestServer::start().await;
    let body = r#"{"location":"westus2"}"#;
    for ct in ["text/plain", "application/xml", "application/x-www-form-urlencoded"] {
        let r = s
            .send(
                s.request(Method::PUT, &s.rg_id("media"))
                    .await
                    .header("content-type", ct)
                    .body(body),
            )
            .await;
        assert_eq!(r.status, 415, "{ct}: {}", r.text);
        assert_eq!(r.code(), "UnsupportedMediaType");
        let r = s
            .send(
                s.raw(Method::POST, "/_azemu/clock")
                    .header("content-type", ct)
                    .body(r#"{"advance":"1s"}"#),
            )
            .await;
        assert_eq!(r.status, 415, "control API, {ct}");
    }
    assert_eq!(s.get(&s.rg_id("media")).await.status, 404, "nothing was written");
    // What az and the SDKs send, and a body-less POST, are fine.
    for ct in [
        "application/json; charset=utf-8",
        "application/json",
        "Application/JSON",
    ] {
        let r = s
            .send(
                s.request(Method::PUT, &s.rg_id("media"))
                    .await
                    .header("content-type", ct)
                    .body(body),
            )
            .await;
        assert!(r.status == 200 || r.status == 201, "{ct}: {}", r.text);
    }
    let r = s.send(s.raw(Method::POST, "/_azemu/reset")).await;
    assert_eq!(r.status, 200);
    // The token endpoint takes a form.
    assert!(!s.token_for(&guid()).await.is_empty());
}

/// A client trusting the test server's CA, speaking only HTTP/2 or only HTTP/1.1.
fn client(s: &TestServer, h2: bool) -> reqwest::Client {
    let b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(&s.ca_path).unwrap()).unwrap());
    if h2 { b.http2_prior_knowledge() } else { b.http1_only() }
        .build()
        .unwrap()
}

/// 6 MiB of JSON-ish bytes in 64 KiB chunks, without a Content-Length.
fn streamed_body() -> reqwest::Body {
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..96).map(|_| Ok(vec![b'x'; 64 * 1024])).collect();
    reqwest::Body::wrap_stream(futures_util::stream::iter(chunks))
}

#[tokio::test]
async fn an_oversized_body_gets_a_clean_413_over_http2_and_http1() {
    let s = TestServer::start().await;
    let token = s.token().await;
    let url = s.abs(&s.with_api_version(&s.rg_id("bigbody")));
    let big = "x".repeat(5 * 1024 * 1024);
    for (h2, version) in [(true, reqwest::Version::HTTP_2), (false, reqwest::Version::HTTP_11)] {
        let c = client(&s, h2);
        for round in 0..6 {
            let rb = c
                .put(&url)
                .bearer_auth(&token)
                .header("content-type", "application/json");
            // Announced (Content-Length) and streamed (no length) bodies alike.
            let rb = if round % 2 == 0 {
                rb.body(big.clone())
            } else {
                rb.body(streamed_body())
            };
            let resp = rb
                .send()
                .await
                .unwrap_or_else(|e| panic!("{version:?} round {round}: an answer, not a reset: {e}"));
            assert_eq!(resp.version(), version);
            assert_eq!(resp.status().as_u16(), 413, "{version:?} round {round}");
            let v: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(v["error"]["code"], "RequestEntityTooLarge");
        }
        // The client (and over HTTP/2 the connection) still serves.
        let ok = c.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(ok.status().as_u16(), 404);
    }
}

/// `curl -T -` streams stdin without a Content-Length (and, over HTTP/1.1, with
/// `Expect: 100-continue`); curl, unlike some clients, reports a reset stream as a failure.
/// Returns curl's `{status} {version}` and the body it got.
async fn curl_streamed(s: &TestServer, token: &str, http: &str) -> (String, String) {
    let url = s.abs(&s.with_api_version(&s.rg_id("curlbody")));
    let ca = s.ca_path.clone();
    let token = token.to_string();
    let http = http.to_string();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let out = std::env::temp_dir().join(format!("azemu-curl-{}", guid()));
        let mut child = std::process::Command::new("curl")
            .args(["-s", &http, "-X", "PUT", "-T", "-", "--cacert"])
            .arg(&ca)
            .args([
                "-H",
                &format!("Authorization: Bearer {token}"),
                "-H",
                "Content-Type: application/json",
            ])
            .args(["-w", "%{http_code} %{http_version}", "-o"])
            .arg(&out)
            .arg(&url)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("curl is installed");
        let mut stdin = child.stdin.take().unwrap();
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..96 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
        drop(stdin);
        let o = child.wait_with_output().unwrap();
        let body = std::fs::read_to_string(&out).unwrap_or_default();
        let _ = std::fs::remove_file(&out);
        (String::from_utf8_lossy(&o.stdout).into_owned(), body)
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_streamed_oversized_body_gets_its_413_with_curl() {
    let s = TestServer::start().await;
    let token = s.token().await;
    for http in ["--http2", "--http1.1", "--http2", "--http1.1"] {
        let (status, body) = curl_streamed(&s, &token, http).await;
        let want = if http == "--http2" { "413 2" } else { "413 1.1" };
        assert_eq!(status, want, "{http}: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"]["code"], "RequestEntityTooLarge");
    }
}

#[tokio::test]
async fn idle_plain_http_connections_are_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = common::fresh_dir();
    let running = azemu::start(azemu::Config {
        port: 0,
        tls: false,
        data_dir: dir.clone(),
        idle_timeout_ms: 300,
        ..Default::default()
    })
    .await
    .unwrap();
    // A connection that never sends a request.
    let mut idle = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), idle.read(&mut buf))
        .await
        .expect("closed by the server, not left open");
    assert_eq!(n.unwrap_or(0), 0);
    // A keep-alive connection after one answered request.
    let mut kept = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    kept.write_all(b"GET /_azemu/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let closed = tokio::time::timeout(std::time::Duration::from_secs(5), async {
        loop {
            let n = kept.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 200"));
    assert!(closed.is_ok(), "the idle keep-alive connection was closed");
    running.stop().await;
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_snapshot_with_records_azemu_could_not_have_written_is_refused() {
    let s = TestServer::start().await;
    s.create_rg("keep", "westus2").await;
    let good = s.get("/_azemu/state").await.json;
    let sub = s.sub();
    for id in [
        "/".to_string(),
        "x".to_string(),
        "/subscriptions".to_string(),
        format!("/subscriptions/{sub}//resourceGroups/a"),
        format!("/subscriptions/{sub}/resourceGroups/.."),
        format!("/subscriptions/{sub}/resourceGroups/a\u{0}b"),
        "/subscriptions/not-a-guid/resourceGroups/a".to_string(),
        format!("/subscriptions/{sub}"),
    ] {
        let mut snap = good.clone();
        snap["records"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": id, "type": "Microsoft.Resources/resourceGroups", "body": {}}));
        let r = s.send(s.raw(Method::PUT, "/_azemu/state").json(&snap)).await;
        assert_eq!(r.status, 400, "{id:?}: {}", r.text);
        assert_eq!(r.code(), "InvalidState");
    }
    assert_eq!(s.get(&s.rg_id("keep")).await.status, 200, "nothing was replaced");
}

#[tokio::test]
async fn an_error_never_echoes_a_hostile_body() {
    let s = TestServer::start().await;
    let item = r#"{"a":1,"b":[1,2]},"#;
    let body = format!(
        r#"{{"location":"westus2","tags":[{}{{}}]}}"#,
        item.repeat(3_000_000 / item.len())
    );
    let r = s
        .send(
            s.request(Method::PUT, &s.rg_id("echo"))
                .await
                .header("content-type", "application/json")
                .body(body),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "InvalidRequestContent");
    assert!(
        r.text.len() < 4096,
        "a 3 MB body came back as a {}-byte error",
        r.text.len()
    );
}

// ---- verified tokens are remembered, refusals never -------------------------------------------

#[tokio::test]
async fn a_forged_token_is_refused_every_time_and_a_good_one_survives_a_reset() {
    let s = TestServer::start().await;
    let good = s.token().await;
    let path = s.rg_id("cache-rg");
    let put = s
        .request_as(&good, Method::PUT, &path)
        .json(&json!({"location": "westus2"}));
    assert_eq!(s.send(put).await.status, 201);
    let (msg, sig) = good.rsplit_once('.').unwrap();
    // Another signature on the same claims, and other claims under the good signature.
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let forged_sig = format!("{msg}.{flipped}{}", &sig[1..]);
    let (header, _) = msg.split_once('.').unwrap();
    let altered = format!(
        "{header}.{}.{sig}",
        msg.split_once('.').unwrap().1.replacen('e', "f", 1)
    );
    for round in 0..2 {
        // The good token first, so a forged one arrives right after a success.
        assert_eq!(s.send(s.request_as(&good, Method::GET, &path)).await.status, 200);
        for (name, bad) in [("forged signature", &forged_sig), ("altered claims", &altered)] {
            let r = s.send(s.request_as(bad, Method::GET, &path)).await;
            assert_eq!(r.status, 401, "{name}, round {round}: {}", r.text);
            assert_eq!(r.code(), "InvalidAuthenticationToken", "{name}, round {round}");
        }
    }
    let r = s.send(s.raw(Method::POST, "/_azemu/reset")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..2 {
        let r = s.send(s.request_as(&good, Method::GET, &s.rg_id("cache-rg"))).await;
        assert_eq!(
            r.status, 404,
            "after reset the group is gone, the token still good: {}",
            r.text
        );
        let r = s.send(s.request_as(&forged_sig, Method::GET, &path)).await;
        assert_eq!(r.status, 401, "{}", r.text);
    }
    s.stop().await;
}
