//! The reliability suite: a seeded HTTP fuzzer over every route azemu serves and every body
//! schema in `api-specs/` (random mutations of schema-shaped bodies, odd paths, odd headers),
//! asserting no 5xx, no panic and only well-shaped errors; and the journal under hostile
//! bodies (bytes and the process's memory bounded).
//!
//! Bounded to seconds by default. `AZEMU_RELIABILITY_LONG=1` runs the long version (many
//! more requests); `AZEMU_RELIABILITY_SEED=N` replays one seed (the seed is printed on failure).

mod common;

use common::{TestServer, DEFAULT_SUBSCRIPTION_ID};
use reqwest::Method;
use serde_json::{json, Map, Value};

/// The suite's tests load the machine (and measure memory and time): one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn long() -> bool {
    std::env::var("AZEMU_RELIABILITY_LONG").is_ok_and(|v| v == "1")
}

/// splitmix64: a small, seeded generator (the fuzzer's choices replay from the seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Names the fuzzer's setup creates (so routes reach real resources as well as missing ones).
const RG: &str = "fuzz";
const IDENTITY: &str = "fuzz-id";
const CLUSTER: &str = "fuzz-mc";
const POOL: &str = "nodepool1";
const VNET: &str = "fuzz-vnet";
const SUBNET: &str = "fuzz-subnet";
const REGISTRY: &str = "fuzzacr1";

fn rg_id() -> String {
    format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/{RG}")
}

/// Creates (again) the resources the fuzzer aims at; failures are fine (the fuzzer may have
/// broken things on purpose).
async fn setup(s: &TestServer) {
    let rg = rg_id();
    let _ = s.put(&rg, json!({"location": "westus2"})).await;
    let _ = s
        .put(&s.identity_id(RG, IDENTITY), json!({"location": "westus2"}))
        .await;
    let _ = s
        .put(
            &format!("{rg}/providers/Microsoft.Network/virtualNetworks/{VNET}"),
            json!({"location": "westus2", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}),
        )
        .await;
    let _ = s
        .put(
            &format!("{rg}/providers/Microsoft.Network/virtualNetworks/{VNET}/subnets/{SUBNET}"),
            json!({"properties": {"addressPrefix": "10.0.1.0/24"}}),
        )
        .await;
    let _ = s
        .put(
            &format!("{rg}/providers/Microsoft.ContainerRegistry/registries/{REGISTRY}"),
            json!({"location": "westus2", "sku": {"name": "Basic"}}),
        )
        .await;
    let _ = s
        .send(
            s.request(
                Method::PUT,
                &format!("{rg}/providers/Microsoft.ContainerService/managedClusters/{CLUSTER}?api-version=2025-10-01"),
            )
            .await
            .header("x-azemu-lro", "immediate")
            .json(&json!({
                "location": "westus2",
                "identity": {"type": "SystemAssigned"},
                "properties": {"dnsPrefix": "fuzz", "agentPoolProfiles": [
                    {"name": POOL, "count": 1, "vmSize": "Standard_D2s_v3", "mode": "System"}
                ]}
            })),
        )
        .await;
}

/// The api-version a namespace's types take.
fn api_version(namespace: &str, pattern: &[&str]) -> &'static str {
    match namespace {
        "microsoft.managedidentity" => "2024-11-30",
        "microsoft.authorization" if pattern.first() == Some(&"roleassignments") => "2022-04-01",
        "microsoft.authorization" => "2022-05-01-preview",
        "microsoft.containerservice" => "2025-10-01",
        "microsoft.containerregistry" => "2023-07-01",
        "microsoft.network" => "2024-05-01",
        _ => "2024-11-01",
    }
}

/// The canonical casing of a namespace.
fn namespace_cased(ns: &str) -> &'static str {
    match ns {
        "microsoft.managedidentity" => "Microsoft.ManagedIdentity",
        "microsoft.authorization" => "Microsoft.Authorization",
        "microsoft.containerservice" => "Microsoft.ContainerService",
        "microsoft.containerregistry" => "Microsoft.ContainerRegistry",
        "microsoft.network" => "Microsoft.Network",
        "microsoft.resources" => "Microsoft.Resources",
        _ => "Microsoft.Compute",
    }
}

/// A name for the `*` that follows `type_segment`: an existing resource's, a fresh valid one,
/// or an odd one.
fn name_for(rng: &mut Rng, type_segment: &str) -> String {
    let existing = match type_segment {
        "subscriptions" => DEFAULT_SUBSCRIPTION_ID.to_string(),
        "resourcegroups" => RG.to_string(),
        "userassignedidentities" => IDENTITY.to_string(),
        "managedclusters" => CLUSTER.to_string(),
        "agentpools" => POOL.to_string(),
        "virtualnetworks" => VNET.to_string(),
        "subnets" => SUBNET.to_string(),
        "registries" => REGISTRY.to_string(),
        "maintenanceconfigurations" => "default".to_string(),
        "locations" => "westus2".to_string(),
        _ => common::guid(),
    };
    match rng.below(10) {
        0..=5 => existing,
        6 | 7 => match type_segment {
            "subscriptions" | "roleassignments" | "roledefinitions" | "operations" | "operationstatuses"
            | "operationresults" | "operationstatus" => common::guid(),
            "agentpools" => format!("p{}", rng.below(1000)),
            _ => format!("fz{}", rng.below(100_000)),
        },
        _ => odd_segment(rng),
    }
}

/// Path segments that have broken servers: encodings, control characters, traversal, length.
fn odd_segment(rng: &mut Rng) -> String {
    let long = "a".repeat(1 + rng.below(3000));
    let options = [
        "%00",
        "%25",
        "%2561",
        "%2F",
        "a%2Fb",
        "..",
        ".",
        "%2E%2E",
        "%E2%82%AC",
        "%FF%FE",
        "~",
        "a b",
        "%20",
        "'",
        "\"",
        "<x>",
        "null",
        "%0A",
        "a;b",
        "a,b",
        "%",
        "%G1",
        "%C0%AF",
        "_azemu",
        "providers",
        "Microsoft.Authorization",
        "*",
        long.as_str(),
    ];
    rng.pick(&options).to_string()
}

/// A JSON value shaped by `schema` (a JSON Schema from api-specs), with random mutations.
fn from_schema(rng: &mut Rng, schema: &Value, depth: usize) -> Value {
    if depth > 8 || rng.chance(0.04) {
        return hostile_value(rng, depth);
    }
    if let Some(values) = schema["enum"].as_array() {
        if !values.is_empty() && rng.chance(0.8) {
            return values[rng.below(values.len())].clone();
        }
    }
    let ty = match &schema["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) if !ts.is_empty() => ts[rng.below(ts.len())].as_str().unwrap_or("object").to_string(),
        _ if schema["properties"].is_object() => "object".to_string(),
        _ => ["string", "object", "integer"][rng.below(3)].to_string(),
    };
    match ty.as_str() {
        "object" => {
            let mut m = Map::new();
            let required: Vec<&str> = schema["required"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (k, sub) in props {
                    if required.contains(&k.as_str()) || rng.chance(0.6) {
                        m.insert(k.clone(), from_schema(rng, sub, depth + 1));
                    }
                }
            }
            if let Some(extra) = schema.get("additionalProperties").filter(|v| v.is_object()) {
                for i in 0..rng.below(3) {
                    m.insert(format!("k{i}"), from_schema(rng, extra, depth + 1));
                }
            }
            if rng.chance(0.1) {
                m.insert(odd_string(rng), hostile_value(rng, depth));
            }
            Value::Object(m)
        }
        "array" => {
            let n = rng.below(4);
            Value::Array((0..n).map(|_| from_schema(rng, &schema["items"], depth + 1)).collect())
        }
        "integer" => json!([0i64, 1, 3, 100, -1, i64::MAX, i64::MIN][rng.below(7)]),
        "number" => json!([0.0, 1.5, -1.0, 1e308][rng.below(4)]),
        "boolean" => json!(rng.chance(0.5)),
        "null" => Value::Null,
        _ => json!(plausible_string(rng)),
    }
}

fn plausible_string(rng: &mut Rng) -> String {
    let rg = rg_id();
    let options = [
        "westus2".to_string(),
        "eastus".to_string(),
        "10.0.0.0/16".to_string(),
        "10.0.2.0/24".to_string(),
        "Standard_D2s_v3".to_string(),
        "1.33.5".to_string(),
        "System".to_string(),
        "User".to_string(),
        "Linux".to_string(),
        "UserAssigned".to_string(),
        "SystemAssigned".to_string(),
        common::guid(),
        format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{IDENTITY}"),
        format!("{rg}/providers/Microsoft.Network/virtualNetworks/{VNET}/subnets/{SUBNET}"),
        format!(
            "/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{}",
            common::OWNER
        ),
        rg,
        "*".to_string(),
        "Microsoft.ContainerService/managedClusters/read".to_string(),
    ];
    if rng.chance(0.2) {
        return odd_string(rng);
    }
    rng.pick(&options).clone()
}

fn odd_string(rng: &mut Rng) -> String {
    let options = [
        String::new(),
        "\u{0}".to_string(),
        "a/b/../c".to_string(),
        "%2561".to_string(),
        "€😀\u{202e}".to_string(),
        "x".repeat(1 + rng.below(20_000)),
        "/subscriptions/".to_string(),
        "/".to_string(),
        "${x}".to_string(),
        "\\\"".to_string(),
        "-1".to_string(),
        "1e999".to_string(),
    ];
    rng.pick(&options).clone()
}

/// Values of the wrong type, the wrong size or the wrong depth.
fn hostile_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => json!(odd_string(rng)),
        2 => json!(rng.next() as i64),
        3 => json!([]),
        4 => json!({}),
        5 => {
            let mut v = json!(1);
            for _ in 0..(20 + rng.below(120)) {
                v = json!([v]);
            }
            v
        }
        6 if depth < 4 => Value::Array((0..rng.below(50)).map(|_| json!(odd_string(rng))).collect()),
        _ => json!(true),
    }
}

/// A body: schema-shaped for PUT/PATCH of a type with a schema, else random JSON (or not JSON).
fn body_for(rng: &mut Rng, schema: Option<&Value>) -> Option<Vec<u8>> {
    let raw: &[&str] = &[
        "",
        "null",
        "[]",
        "{",
        "{\"a\":",
        "\u{feff}{}",
        "42",
        "\"x\"",
        "{}",
        "{\"properties\":null}",
    ];
    match (schema, rng.below(10)) {
        (_, 0) => None,
        (_, 1) => Some(rng.pick(raw).as_bytes().to_vec()),
        (Some(s), _) => Some(serde_json::to_vec(&from_schema(rng, s, 0)).unwrap()),
        (None, _) => Some(serde_json::to_vec(&hostile_value(rng, 0)).unwrap()),
    }
}

/// The request body schemas in api-specs, by the route they serve.
struct Schemas(Vec<(String, Value)>);

impl Schemas {
    fn load() -> Schemas {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("api-specs");
        let mut out = Vec::new();
        for ns in std::fs::read_dir(&dir).unwrap() {
            let ns = ns.unwrap().path();
            for f in std::fs::read_dir(&ns).unwrap() {
                let f = f.unwrap().path();
                let name = f.file_stem().unwrap().to_string_lossy().to_string();
                let v: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
                out.push((name, v));
            }
        }
        assert!(out.len() >= 10, "api-specs holds the body schemas");
        Schemas(out)
    }

    fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The schema of a PUT/PATCH body for a route (its last type segment).
    fn for_route(&self, method: &str, pattern: &[&str]) -> Option<&Value> {
        let ty = pattern
            .iter()
            .rev()
            .nth(if pattern.last() == Some(&"*") { 1 } else { 0 })?;
        let name = match (method, *ty) {
            ("PATCH", "resourcegroups") => "resourceGroupPatch",
            ("PATCH", _) => "tagsPatch",
            ("PUT", "resourcegroups") => "resourceGroup",
            ("PUT", "userassignedidentities") => "userAssignedIdentity",
            ("PUT", "roleassignments") => "roleAssignment",
            ("PUT", "roledefinitions") => "roleDefinition",
            ("PUT", "managedclusters") => "managedCluster",
            ("PUT", "agentpools") => "agentPool",
            ("PUT", "maintenanceconfigurations") => "maintenanceConfiguration",
            ("PUT", "registries") => "registry",
            ("PUT", "virtualnetworks") => "virtualNetwork",
            ("PUT", "subnets") => "subnet",
            _ => return None,
        };
        self.get(name)
    }
}

/// One fuzzed request: method, path (raw, may be encoded), body, and whether it targets an
/// endpoint whose errors are not ARM's (Entra's token endpoint, IMDS).
struct Call {
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
}

/// Routes outside ARM's table: azemu's control API, Graph, Entra, metadata, IMDS.
fn plumbing(rng: &mut Rng) -> Call {
    let t = common::DEFAULT_TENANT_ID;
    let options: Vec<(Method, String)> = vec![
        (Method::GET, "/_azemu/health".into()),
        (Method::GET, "/_azemu/requests?status=abc".into()),
        (Method::GET, "/_azemu/requests?since=-1".into()),
        (Method::GET, "/_azemu/state".into()),
        (Method::PUT, "/_azemu/state".into()),
        (Method::POST, "/_azemu/faults".into()),
        (Method::DELETE, format!("/_azemu/faults/{}", common::guid())),
        (Method::POST, "/_azemu/lro".into()),
        (Method::POST, "/_azemu/clock".into()),
        (Method::POST, "/_azemu/subscriptions".into()),
        (Method::DELETE, format!("/_azemu/subscriptions/{}", common::guid())),
        (Method::POST, "/_azemu/node-images".into()),
        (Method::GET, "/_azemu/authorize?principalId=x&action=*&scope=/".into()),
        (
            Method::GET,
            format!("/_azemu/clusters/{DEFAULT_SUBSCRIPTION_ID}/{RG}/{CLUSTER}"),
        ),
        (
            Method::GET,
            format!("/_azemu/clusters/{DEFAULT_SUBSCRIPTION_ID}/{RG}/{CLUSTER}/pull-check?image=x"),
        ),
        (Method::GET, "/_azemu/events".into()),
        (Method::GET, "/_azemu/operations".into()),
        (Method::GET, "/v1.0/servicePrincipals?$filter=appId eq 'x'".into()),
        (Method::GET, format!("/v1.0/servicePrincipals/{}", common::guid())),
        (Method::POST, "/v1.0/directoryObjects/getByIds".into()),
        (Method::GET, "/metadata/endpoints?api-version=2022-09-01".into()),
        (Method::GET, "/metadata/identity/oauth2/token?resource=x".into()),
        (Method::POST, format!("/{t}/oauth2/v2.0/token")),
        (Method::POST, format!("/{t}/oauth2/token")),
        (Method::GET, format!("/{t}/v2.0/.well-known/openid-configuration")),
        (Method::GET, "/common/discovery/instance".into()),
    ];
    let (method, path) = rng.pick(&options).clone();
    let body = if matches!(method, Method::POST | Method::PUT) {
        body_for(rng, None)
    } else {
        None
    };
    Call { method, path, body }
}

/// One served route, as `GET /_azemu/routes` lists it (namespace lower-cased).
struct RouteInfo {
    namespace: String,
    pattern: Vec<&'static str>,
    methods: Vec<&'static str>,
}

/// Every route azemu serves, asked of azemu itself.
async fn routes(s: &TestServer) -> Vec<RouteInfo> {
    let leak = |v: &Value| -> Vec<&'static str> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| &*Box::leak(x.as_str().unwrap().to_string().into_boxed_str()))
            .collect()
    };
    let r = s.get("/_azemu/routes").await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.values()
        .iter()
        .map(|v| RouteInfo {
            namespace: v["namespace"].as_str().unwrap().to_ascii_lowercase(),
            pattern: leak(&v["pattern"]),
            methods: leak(&v["methods"]),
        })
        .collect()
}

/// Appends a route's segments to `path`, a name for each `*`.
fn push_pattern(rng: &mut Rng, path: &mut String, pattern: &[&str]) {
    let mut prev = "";
    for seg in pattern {
        path.push('/');
        if *seg == "*" {
            path.push_str(&name_for(rng, prev));
        } else {
            path.push_str(seg);
        }
        prev = seg;
    }
}

/// A request for one ARM route of the table.
fn arm_call(rng: &mut Rng, schemas: &Schemas, routes: &[RouteInfo]) -> Call {
    let route = &routes[rng.below(routes.len())];
    let mut path = String::new();
    if route.namespace.is_empty() {
        push_pattern(rng, &mut path, &route.pattern);
    } else {
        let rg = rg_id();
        let scopes = [
            rg.clone(),
            rg.clone(),
            rg.clone(),
            format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}"),
            format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{IDENTITY}"),
            String::new(),
            format!("/subscriptions/{}/resourceGroups/{}", common::guid(), odd_segment(rng)),
        ];
        let scope = rng.pick(&scopes[..]).clone();
        path.push_str(&scope);
        let ns = if route.namespace == "*" {
            [
                "Microsoft.Network",
                "Microsoft.Compute",
                "microsoft.containerservice",
                "Nope.Nope",
            ][rng.below(4)]
        } else {
            namespace_cased(&route.namespace)
        };
        path.push_str("/providers/");
        path.push_str(ns);
        push_pattern(rng, &mut path, &route.pattern);
    }
    let method_name = if rng.chance(0.9) {
        *rng.pick(&route.methods)
    } else {
        *rng.pick(&["GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "OPTIONS"])
    };
    let method = Method::from_bytes(method_name.as_bytes()).unwrap();
    let version = api_version(&route.namespace, &route.pattern);
    let query = match rng.below(12) {
        0 => String::new(),
        1 => "?api-version=1999-01-01".to_string(),
        2 => "?api-version=%00".to_string(),
        3 => format!("?api-version={version}&$top=-5&$skipToken=%%%"),
        4 => format!("?api-version={version}&$filter=principalId%20eq%20'"),
        _ => format!("?api-version={version}"),
    };
    path.push_str(&query);
    let body = match method_name {
        "PUT" | "PATCH" | "POST" => body_for(rng, schemas.for_route(method_name, &route.pattern)),
        _ => None,
    };
    Call { method, path, body }
}

/// A path made of odd segments (no route at all, or a route reached oddly).
fn odd_call(rng: &mut Rng) -> Call {
    let mut path = String::new();
    let prefixes = [
        "",
        "/subscriptions",
        "/_azemu",
        "/v1.0",
        "/metadata",
        "/providers",
        "//",
    ];
    let prefix = *rng.pick(&prefixes);
    path.push_str(prefix);
    for _ in 0..(1 + rng.below(6)) {
        path.push('/');
        path.push_str(&odd_segment(rng));
    }
    let method = rng
        .pick(&[Method::GET, Method::PUT, Method::POST, Method::DELETE, Method::PATCH])
        .clone();
    let body = body_for(rng, None);
    Call { method, path, body }
}

/// Is `text` an error body of the shape its endpoint answers with?
fn well_shaped_error(path: &str, text: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(text).map_err(|_| format!("not JSON: {text:.200}"))?;
    let lower = path.to_ascii_lowercase();
    if lower.contains("/oauth2/") || lower.starts_with("/metadata/identity") {
        // Entra's and IMDS's own shapes: {"error": "...", "error_description": "..."}.
        if v["error"].is_string() && v["error_description"].is_string() {
            return Ok(());
        }
    }
    let code = v["error"]["code"].as_str().unwrap_or("");
    let message = v["error"]["message"].as_str().unwrap_or("");
    if code.is_empty() || message.is_empty() {
        return Err(format!("not an ARM error: {text:.300}"));
    }
    Ok(())
}

async fn fuzz(seed: u64, requests: usize) {
    let s = TestServer::start().await;
    setup(&s).await;
    let token = s.token().await;
    let schemas = Schemas::load();
    let routes = routes(&s).await;
    let mut rng = Rng(seed);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..requests {
        if i % 400 == 399 {
            setup(&s).await;
        }
        let call = match rng.below(10) {
            0 | 1 => plumbing(&mut rng),
            2 => odd_call(&mut rng),
            _ => arm_call(&mut rng, &schemas, &routes),
        };
        let mut rb = s.client.request(call.method.clone(), format!("{}{}", s.url, call.path));
        match rng.below(20) {
            0 => {}
            1 => rb = rb.header("authorization", "Bearer not.a.token"),
            2 => rb = rb.header("authorization", "Basic eDp5"),
            _ => rb = rb.bearer_auth(&token),
        }
        if let Some(body) = call.body.clone() {
            let ct = *rng.pick(&[
                "application/json",
                "application/json; charset=utf-8",
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "",
            ]);
            if !ct.is_empty() {
                rb = rb.header("content-type", ct);
            }
            rb = rb.body(body);
        }
        if rng.chance(0.2) {
            let (name, value) = rng
                .pick(&[
                    ("x-azemu-lro", "polls=2,fail"),
                    ("x-azemu-lro", "manual"),
                    ("x-azemu-lro", "garbage"),
                    ("x-azemu-lro", "99999999999s"),
                    ("if-match", "\"nope\""),
                    ("if-none-match", "*"),
                    ("x-ms-correlation-request-id", "\u{7f}"),
                    ("x-azemu-retry-after", "-1"),
                    ("x-azemu-node", "../../etc"),
                    ("metadata", "true"),
                ])
                .to_owned();
            if let Ok(v) = reqwest::header::HeaderValue::from_str(value) {
                rb = rb.header(name, v);
            }
        }
        let resp = match rb.send().await {
            Ok(r) => r,
            // The client refusing to build a request (an invalid URL) is not azemu's answer.
            Err(e) if e.is_builder() => continue,
            Err(e) => panic!("seed {seed}, request {i}: {} {} failed: {e}", call.method, call.path),
        };
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        *statuses.entry(status).or_insert(0usize) += 1;
        let what = format!("seed {seed}, request {i}: {} {:.300}", call.method, call.path);
        assert!(status < 500, "{what} answered {status}: {text:.500}");
        if status >= 400 && call.method != Method::HEAD && status != 431 {
            if let Err(e) = well_shaped_error(&call.path, &text) {
                panic!("{what} answered {status}: {e}");
            }
        }
    }
    // Still serving, and still itself.
    let health = s.get("/_azemu/health").await;
    assert_eq!(health.status, 200, "seed {seed}: {}", health.text);
    assert_eq!(s.get("/_azemu/state").await.status, 200);
    let answered: usize = statuses.values().sum();
    assert!(
        answered > requests / 2,
        "seed {seed}: most requests reached azemu: {statuses:?}"
    );
    assert!(
        statuses.keys().filter(|s| **s < 300).count() >= 2,
        "seed {seed}: the fuzzer also reaches success paths: {statuses:?}"
    );
    eprintln!("reliability fuzz: seed {seed}, {requests} requests, statuses {statuses:?}");
}

#[tokio::test]
async fn fuzzing_every_route_never_answers_5xx_and_errors_are_well_shaped() {
    let _one = ONE_AT_A_TIME.lock().await;
    let seeds: Vec<u64> = match std::env::var("AZEMU_RELIABILITY_SEED") {
        Ok(s) => vec![s.parse().expect("AZEMU_RELIABILITY_SEED is a number")],
        Err(_) if long() => (1..=8).collect(),
        Err(_) => vec![1, 2],
    };
    let requests = if long() { 20_000 } else { 700 };
    for seed in seeds {
        fuzz(seed, requests).await;
    }
}

// ---- the journal under hostile bodies --------------------------------------------------------

/// The resident memory of a process, in bytes (Linux).
fn rss_of(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_journal_keeps_memory_bounded_under_hostile_bodies() {
    let _one = ONE_AT_A_TIME.lock().await;
    let dir = common::fresh_dir();
    let (child, url) = common::spawn_plain(&dir, &["--journal-max-bytes", "4194304"]);
    let mut child = Child(child);
    let pid = child.id();
    let client = reqwest::Client::new();
    let token = common::plain_token(&client, &url).await;
    let baseline = rss_of(pid).unwrap_or(0);
    // Just under the request limit: a JSON body of many small objects (what costs the most
    // once parsed).
    let item = r#"{"a":1,"b":[1,2],"c":{"d":null}},"#;
    let big = format!(
        "{{\"location\":\"westus2\",\"tags\":[{}{{}}]}}",
        item.repeat(4_000_000 / item.len())
    );
    let rounds = if long() { 200 } else { 24 };
    let mut halfway = 0;
    for i in 0..rounds {
        if i == rounds / 2 {
            halfway = rss_of(pid).unwrap_or(0);
        }
        let path = format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/hostile{i}?api-version=2024-11-01");
        let auth = if i % 2 == 0 {
            "Bearer not-a-token".to_string()
        } else {
            format!("Bearer {token}")
        };
        let r = client
            .put(format!("{url}{path}"))
            .header("authorization", auth)
            .header("content-type", "application/json")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert!(r.status().as_u16() < 500);
    }
    let journal = client
        .get(format!("{url}/_azemu/requests"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let rss = rss_of(pid).unwrap_or(0);
    child.kill();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        journal.len() < 6 * 1024 * 1024,
        "the journal renders {} bytes",
        journal.len()
    );
    // Each body is parsed once while it is handled and nothing of it stays: memory does not
    // grow with the number of hostile requests. What remains is what the allocator keeps for
    // reuse after the largest parse (a few hundred MB at most; keeping the bodies, as the
    // journal once did, took 1.7 GB for twelve of them). The long run sends 200.
    eprintln!(
        "journal under hostile bodies: RSS {} MB at start, {} MB halfway, {} MB after {rounds} requests",
        baseline / 1_000_000,
        halfway / 1_000_000,
        rss / 1_000_000
    );
    assert!(
        rss < 512 * 1024 * 1024,
        "RSS {} MB after {rounds} requests",
        rss / 1_000_000
    );
}

// ---- kill -9 during writes with --state-file ---------------------------------------------------

/// A child azemu, killed (SIGKILL) when dropped: a failing assertion leaves no process behind.
struct Child(std::process::Child);

impl Child {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    fn id(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An azemu process on plain HTTP, and a token for it.
async fn spawn_azemu(dir: &std::path::Path, extra: &[&str]) -> (Child, String, String) {
    let (child, url) = common::spawn_plain(dir, extra);
    let token = common::plain_token(&reqwest::Client::new(), &url).await;
    (Child(child), url, token)
}

#[cfg(unix)]
#[tokio::test]
async fn kill_9_during_writes_loses_at_most_the_save_interval() {
    let _one = ONE_AT_A_TIME.lock().await;
    use std::time::{Duration, Instant};
    const INTERVAL_MS: u64 = 250;
    let dir = common::fresh_dir();
    let file = dir.join("state.json");
    let file_arg = file.to_string_lossy().into_owned();
    let args = ["--state-file", file_arg.as_str(), "--state-save-interval", "250ms"];
    let client = reqwest::Client::new();
    let rg = format!("/subscriptions/{DEFAULT_SUBSCRIPTION_ID}/resourceGroups/k9");
    let cycles = if long() { 10 } else { 2 };
    // (identity path, when its PUT was acknowledged)
    let mut acknowledged: Vec<(String, Instant)> = Vec::new();
    for cycle in 0..cycles {
        let (mut child, url, token) = spawn_azemu(&dir, &args).await;
        // Everything acknowledged before the previous kill, less the interval, is here.
        for (path, _) in &acknowledged {
            let r = client
                .get(format!("{url}{path}?api-version=2024-11-30"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 200, "cycle {cycle}: {path} was lost");
        }
        let r = client
            .put(format!("{url}{rg}?api-version=2024-11-01"))
            .bearer_auth(&token)
            .json(&json!({"location": "westus2"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let mut written: Vec<(String, Instant)> = Vec::new();
        let until = Instant::now() + Duration::from_millis(1600 + 100 * cycle as u64);
        let mut i = 0;
        while Instant::now() < until {
            let path = format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/c{cycle}-{i}");
            let r = client
                .put(format!("{url}{path}?api-version=2024-11-30"))
                .bearer_auth(&token)
                .json(&json!({"location": "westus2"}))
                .send()
                .await
                .unwrap();
            assert!(r.status().is_success(), "{}", r.status());
            written.push((path, Instant::now()));
            i += 1;
            // A steady stream, not a flood: the snapshot stays a few MB, so one save (whose
            // time the bound includes) stays well under a second even in a debug build.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        child.kill();
        let killed = Instant::now();
        // Bounded loss: what was acknowledged a full interval plus one save's time before the
        // kill reached the file. (A save of a few MB takes up to a few hundred ms in a debug
        // build on a busy machine: the bound allows a second.)
        let bound = Duration::from_millis(INTERVAL_MS + 1000);
        acknowledged.extend(written.into_iter().filter(|(_, at)| killed.duration_since(*at) > bound));
        let text = std::fs::read(&file).expect("the state file exists");
        let _: Value = serde_json::from_slice(&text).expect("the state file is whole JSON after kill -9");
    }
    assert!(!acknowledged.is_empty());
    // A temporary file an interrupted save left is removed when azemu starts again.
    let stale = dir.join(".state.json.tmp-1-0");
    std::fs::write(&stale, b"{").unwrap();
    let (mut child, url, token) = spawn_azemu(&dir, &args).await;
    assert!(!stale.exists(), "a stale temporary file outlived a restart");
    for (path, _) in &acknowledged {
        let r = client
            .get(format!("{url}{path}?api-version=2024-11-30"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "after the last kill: {path} was lost");
    }
    // A clean stop (SIGTERM) saves and leaves nothing temporary.
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.0.wait();
    let leftovers: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("tmp"))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    eprintln!(
        "kill -9: {cycles} cycles, {} acknowledged writes all kept",
        acknowledged.len()
    );
}
