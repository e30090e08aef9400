//! Scenarios: declarative end-to-end flows in YAML (or JSON), run against a running azemu
//! (`--url`) or against one started in-process.
//!
//! A scenario is a list of steps. A step sends an ARM request (`request`, with a bearer
//! token and `api-version`), calls azemu's control API (`control`), or uses a shortcut
//! (`advanceClock`, `publishNodeImage`, `fault`); it may wait for the long-running
//! operation it started (`wait`), check the answer (`expect`) and remember values for later
//! steps (`save`, `capture`). `${name}` and `${name.json.path}` are replaced everywhere;
//! `${subscriptionId}`, `${tenantId}`, `${clientId}`, `${url}` and `${guid:any-key}` (a GUID
//! stable for the key) are always defined. See `scenarios/README.md` for the format.

pub(crate) mod client;
pub(crate) mod path;

use client::{Client, Exchange};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Scenario {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) description: String,
    /// Run in a fresh subscription of its own (default true against `--url`).
    #[serde(default)]
    pub(crate) isolate: Option<bool>,
    #[serde(default)]
    pub(crate) vars: BTreeMap<String, Value>,
    pub(crate) steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Step {
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) request: Option<Call>,
    #[serde(default)]
    pub(crate) control: Option<Call>,
    /// Shortcut: `POST /_azemu/clock {"advance": …}`.
    #[serde(default)]
    pub(crate) advance_clock: Option<String>,
    /// Shortcut: `POST /_azemu/node-images {"family": …}`.
    #[serde(default)]
    pub(crate) publish_node_image: Option<String>,
    /// Shortcut: `POST /_azemu/faults` with this rule.
    #[serde(default)]
    pub(crate) fault: Option<Value>,
    /// Follow the operation the request started until it ends.
    #[serde(default)]
    pub(crate) wait: bool,
    #[serde(default)]
    pub(crate) expect: Option<Expect>,
    /// The operation's final status when `wait` is set (`Succeeded`, `Failed`, `Canceled`).
    #[serde(default)]
    pub(crate) expect_operation: Option<String>,
    /// Remember the response body under this name (`${name.properties.clientId}`).
    #[serde(default)]
    pub(crate) save: Option<String>,
    /// Remember single values: variable → JSON path in the response body, or `header:Name`.
    #[serde(default)]
    pub(crate) capture: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Call {
    #[serde(default = "get")]
    pub(crate) method: String,
    pub(crate) path: String,
    #[serde(default)]
    pub(crate) api_version: Option<String>,
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) body: Option<Value>,
    /// Call as another client (its own token) instead of the default service principal.
    #[serde(default)]
    pub(crate) client_id: Option<String>,
    /// The tenant to get the token from (default: azemu's default tenant).
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    /// Send no bearer token.
    #[serde(default)]
    pub(crate) anonymous: bool,
}

fn get() -> String {
    "GET".into()
}

impl Call {
    /// A `POST` to azemu's control API (the step shortcuts).
    fn control(path: &str, body: Value) -> Call {
        Call {
            method: "POST".into(),
            path: path.into(),
            api_version: None,
            headers: BTreeMap::new(),
            body: Some(body),
            client_id: None,
            tenant_id: None,
            anonymous: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Expect {
    /// One status or a list of acceptable ones (default: any success).
    #[serde(default)]
    pub(crate) status: Option<Value>,
    /// `error.code` of an error answer.
    #[serde(default)]
    pub(crate) error: Option<String>,
    /// JSON path → expected value.
    #[serde(default)]
    pub(crate) json: BTreeMap<String, Value>,
    /// JSON path → substring the value (as text) must contain.
    #[serde(default)]
    pub(crate) contains: BTreeMap<String, String>,
    #[serde(default)]
    pub(crate) exists: Vec<String>,
    #[serde(default)]
    pub(crate) absent: Vec<String>,
    /// Header → expected value (`"*"`: present).
    #[serde(default)]
    pub(crate) headers: BTreeMap<String, String>,
    /// JSON path → expected number of items.
    #[serde(default)]
    pub(crate) count: BTreeMap<String, usize>,
}

/// Loads a scenario from YAML or JSON.
pub(crate) fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    } else {
        serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// What a run produced.
#[derive(Debug, Default)]
pub struct Outcome {
    pub passed_steps: usize,
    pub failure: Option<String>,
    /// Every exchange, in order (for determinism checks).
    pub transcript: Vec<Exchange>,
}

struct Run<'a> {
    client: &'a Client,
    vars: Map<String, Value>,
    guids: BTreeMap<String, String>,
    scenario: String,
    verbose: bool,
    out: Outcome,
}

/// Replaces `${…}` in a string. A string that is exactly one `${…}` keeps the value's type.
fn substitute_str(run: &mut Run, s: &str) -> Result<Value, String> {
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}')) {
        if !inner.contains("${") {
            return lookup(run, inner);
        }
    }
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| format!("unclosed ${{ in '{s}'"))?;
        let v = lookup(run, &after[..end])?;
        match v {
            Value::String(x) => out.push_str(&x),
            other => out.push_str(&other.to_string()),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(Value::String(out))
}

fn lookup(run: &mut Run, expr: &str) -> Result<Value, String> {
    if let Some(key) = expr.strip_prefix("guid:") {
        let seed = format!("{}:{key}", run.scenario);
        let g = run
            .guids
            .entry(key.to_string())
            .or_insert_with(|| crate::world::ids::stable_guid(&seed))
            .clone();
        return Ok(Value::String(g));
    }
    let (head, tail) = match expr.split_once('.') {
        Some((h, t)) => (h, Some(t)),
        None => (expr, None),
    };
    let v = run
        .vars
        .get(head)
        .ok_or_else(|| format!("unknown variable '${{{expr}}}'"))?;
    match tail {
        None => Ok(v.clone()),
        Some(p) => path::get(v, p)
            .cloned()
            .ok_or_else(|| format!("'${{{expr}}}': no value at '{p}' in {head}")),
    }
}

fn substitute(run: &mut Run, v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::String(s) => substitute_str(run, s)?,
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(run, x)).collect::<Result<_, _>>()?),
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let key = match substitute_str(run, k)? {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                out.insert(key, substitute(run, x)?);
            }
            Value::Object(out)
        }
        other => other.clone(),
    })
}

fn sub_text(run: &mut Run, s: &str) -> Result<String, String> {
    Ok(match substitute_str(run, s)? {
        Value::String(x) => x,
        other => other.to_string(),
    })
}

/// Runs one scenario with `client`; the first failed expectation stops it.
pub(crate) async fn run(client: &Client, scenario: &Scenario, subscription: &str, verbose: bool) -> Outcome {
    let mut vars = Map::new();
    vars.insert("subscriptionId".into(), json!(subscription));
    vars.insert("tenantId".into(), json!(client.tenant_id));
    vars.insert("clientId".into(), json!(client.client_id));
    vars.insert("url".into(), json!(client.url));
    let mut run = Run {
        client,
        vars,
        guids: BTreeMap::new(),
        scenario: scenario.name.clone(),
        verbose,
        out: Outcome::default(),
    };
    for (k, v) in &scenario.vars {
        match substitute(&mut run, v) {
            Ok(x) => {
                run.vars.insert(k.clone(), x);
            }
            Err(e) => {
                run.out.failure = Some(format!("vars.{k}: {e}"));
                return run.out;
            }
        }
    }
    let total = scenario.steps.len();
    for (i, step) in scenario.steps.iter().enumerate() {
        let label = step.name.clone().unwrap_or_else(|| format!("step {}", i + 1));
        match run_step(&mut run, step).await {
            Ok(summary) => {
                run.out.passed_steps += 1;
                println!("  ok   [{}/{total}] {label}{summary}", i + 1);
            }
            Err(e) => {
                println!("  FAIL [{}/{total}] {label}", i + 1);
                println!("{}", indent(&e, "       "));
                run.out.failure = Some(format!("{label}: {}", e.lines().next().unwrap_or("")));
                break;
            }
        }
    }
    run.out
}

fn indent(s: &str, pad: &str) -> String {
    s.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

fn show(x: &Exchange) -> String {
    let req = x
        .request_body
        .as_ref()
        .map(|b| {
            format!(
                "\n  request body: {}",
                serde_json::to_string_pretty(b).unwrap_or_default()
            )
        })
        .unwrap_or_default();
    let body = if x.body.is_null() {
        x.body_text.clone()
    } else {
        serde_json::to_string_pretty(&x.body).unwrap_or_default()
    };
    format!(
        "request:  {} {}{req}\nresponse: {}\n{}",
        x.method,
        x.url,
        x.status,
        indent(&body, "  ")
    )
}

async fn run_step(run: &mut Run<'_>, step: &Step) -> Result<String, String> {
    let (call, arm) = step_call(step)?;
    let mut path = sub_text(run, &call.path)?;
    if arm {
        if let Some(v) = &call.api_version {
            let v = sub_text(run, v)?;
            path = format!("{path}{}api-version={v}", if path.contains('?') { '&' } else { '?' });
        }
    }
    let mut headers = Vec::new();
    for (k, v) in &call.headers {
        headers.push((k.clone(), sub_text(run, v)?));
    }
    let body = match &call.body {
        Some(b) => Some(substitute(run, b)?),
        None => None,
    };
    let token = step_token(run, &call, arm).await?;
    let x = run
        .client
        .send(&call.method, &path, &headers, body.as_ref(), token.as_deref())
        .await?;
    if run.verbose {
        println!("{}", indent(&show(&x), "       "));
    }
    run.out.transcript.push(x.clone());
    let mut summary = format!(" — {} {} → {}", x.method, short(&path), x.status);
    let mut final_op: Option<Exchange> = None;
    if step.wait {
        final_op = Some(wait(run, &x, token.as_deref()).await?);
        if let Some(op) = &final_op {
            summary.push_str(&format!(", operation {}", op.body["status"].as_str().unwrap_or("done")));
        }
    }
    let e = step.expect.clone().unwrap_or_default();
    if e.status.is_none() && e.error.is_none() && x.status >= 400 {
        return Err(format!("expected success, got {}\n{}", x.status, show(&x)));
    }
    check(run, &e, &x).map_err(|m| format!("{m}\n{}", show(&x)))?;
    check_operation(step, final_op.as_ref())?;
    keep_values(run, step, &x)?;
    Ok(summary)
}

/// The call a step makes, and whether it is an ARM call (else the control API).
fn step_call(step: &Step) -> Result<(Call, bool), String> {
    Ok(if let Some(c) = &step.request {
        (c.clone(), true)
    } else if let Some(c) = &step.control {
        (c.clone(), false)
    } else if let Some(d) = &step.advance_clock {
        (Call::control("/_azemu/clock", json!({ "advance": d })), false)
    } else if let Some(f) = &step.publish_node_image {
        (Call::control("/_azemu/node-images", json!({ "family": f })), false)
    } else if let Some(f) = &step.fault {
        (Call::control("/_azemu/faults", f.clone()), false)
    } else {
        return Err("a step needs one of: request, control, advanceClock, publishNodeImage, fault".into());
    })
}

/// The bearer token of an ARM call (none for the control API or an anonymous call).
async fn step_token(run: &mut Run<'_>, call: &Call, arm: bool) -> Result<Option<String>, String> {
    if !arm || call.anonymous {
        return Ok(None);
    }
    let client_id = match &call.client_id {
        Some(c) => sub_text(run, c)?,
        None => run.client.client_id.clone(),
    };
    let tenant = match &call.tenant_id {
        Some(t) => sub_text(run, t)?,
        None => run.client.tenant_id.clone(),
    };
    Ok(Some(run.client.token(&client_id, &tenant).await?))
}

/// `expectOperation`: how the step's operation must end.
fn check_operation(step: &Step, final_op: Option<&Exchange>) -> Result<(), String> {
    let Some(want) = &step.expect_operation else {
        return Ok(());
    };
    let got = final_op
        .and_then(|o| o.body["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| "no operation".into());
    if got.eq_ignore_ascii_case(want) {
        return Ok(());
    }
    let detail = final_op.map(show).unwrap_or_default();
    Err(format!(
        "expected the operation to end {want}, it ended {got}\n{detail}"
    ))
}

/// `save` and `capture`: values of the answer later steps refer to.
fn keep_values(run: &mut Run<'_>, step: &Step, x: &Exchange) -> Result<(), String> {
    if let Some(name) = &step.save {
        run.vars.insert(name.clone(), x.body.clone());
    }
    for (var, p) in &step.capture {
        let v = match p.strip_prefix("header:") {
            Some(h) => x.header(h).map(|v| json!(v)),
            None => path::get(&x.body, p).cloned(),
        };
        let v = v.ok_or_else(|| format!("capture {var}: no value at '{p}'\n{}", show(x)))?;
        run.vars.insert(var.clone(), v);
    }
    Ok(())
}

fn short(path: &str) -> String {
    let p = path.split('?').next().unwrap_or(path);
    if p.len() > 110 {
        format!("…{}", &p[p.len() - 100..])
    } else {
        p.to_string()
    }
}

/// Polls `Azure-AsyncOperation` (else `Location`) until the operation ends (bounded).
async fn wait(run: &mut Run<'_>, x: &Exchange, token: Option<&str>) -> Result<Exchange, String> {
    let (url, is_status) = match (x.header("azure-asyncoperation"), x.header("location")) {
        (Some(u), _) => (u.to_string(), true),
        (None, Some(u)) => (u.to_string(), false),
        _ => {
            return Err(format!(
                "wait: the response started no long-running operation\n{}",
                show(x)
            ))
        }
    };
    for _ in 0..600 {
        let p = run.client.send("GET", &url, &[], None, token).await?;
        run.out.transcript.push(p.clone());
        let done = if is_status {
            matches!(p.body["status"].as_str(), Some("Succeeded" | "Failed" | "Canceled"))
        } else {
            p.status != 202
        };
        if done {
            if !is_status {
                let status = if p.status < 300 { "Succeeded" } else { "Failed" };
                let mut q = p.clone();
                q.body = json!({ "status": status, "result": p.body });
                return Ok(q);
            }
            return Ok(p);
        }
        let retry: u64 = p.header("retry-after").and_then(|r| r.parse().ok()).unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(
            retry.saturating_mul(1000).clamp(5, 2000),
        ))
        .await;
    }
    Err(format!("wait: the operation at {url} did not end within 600 polls"))
}

fn check(run: &mut Run, e: &Expect, x: &Exchange) -> Result<(), String> {
    if let Some(s) = &e.status {
        let ok = match s {
            Value::Array(a) => a.iter().any(|v| v.as_u64() == Some(x.status as u64)),
            v => v.as_u64() == Some(x.status as u64),
        };
        if !ok {
            return Err(format!("expected status {s}, got {}", x.status));
        }
    }
    if let Some(code) = &e.error {
        let got = x.body["error"]["code"].as_str().unwrap_or("");
        if got != code {
            return Err(format!("expected error code {code}, got '{got}'"));
        }
    }
    for (p, want) in &e.json {
        let want = substitute(run, want)?;
        let got = path::select(&x.body, p);
        let matches = |g: &&Value| match (g, &want) {
            (Value::String(a), Value::String(b)) => a == b,
            (a, b) => *a == b,
        };
        if !got.iter().any(matches) {
            return Err(format!(
                "expected {p} = {want}, got {}",
                got.first().map(|v| v.to_string()).unwrap_or_else(|| "nothing".into())
            ));
        }
    }
    for (p, want) in &e.contains {
        let want = sub_text(run, want)?;
        let got = path::select(&x.body, p);
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if !got.iter().any(|v| text(v).contains(&want)) {
            return Err(format!(
                "expected {p} to contain '{want}', got {}",
                got.first().map(|v| text(v)).unwrap_or_else(|| "nothing".into())
            ));
        }
    }
    for p in &e.exists {
        if path::select(&x.body, p).iter().all(|v| v.is_null()) {
            return Err(format!("expected {p} to exist"));
        }
    }
    for p in &e.absent {
        if path::select(&x.body, p).iter().any(|v| !v.is_null()) {
            return Err(format!("expected {p} to be absent"));
        }
    }
    for (p, n) in &e.count {
        let got =
            path::get(&x.body, p).and_then(|v| v.as_array().map(Vec::len).or_else(|| v.as_object().map(Map::len)));
        if got != Some(*n) {
            return Err(format!(
                "expected {n} item(s) at {p}, got {}",
                got.map(|g| g.to_string()).unwrap_or_else(|| "none".into())
            ));
        }
    }
    for (h, want) in &e.headers {
        let want = sub_text(run, want)?;
        match x.header(h) {
            None => return Err(format!("expected header {h}")),
            Some(v) if want != "*" && !v.contains(&want) => {
                return Err(format!("expected header {h} to contain '{want}', got '{v}'"))
            }
            _ => {}
        }
    }
    Ok(())
}

/// How to run scenario files.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A running azemu; `None` starts one in-process per file.
    pub url: Option<String>,
    pub ca: Option<PathBuf>,
    pub seed: Option<u64>,
    pub verbose: bool,
}

/// Runs one file, against `opts.url` or a fresh in-process azemu. Returns the outcome.
pub async fn run_file(file: &Path, opts: &Options) -> Result<Outcome, String> {
    let scenario = load(file)?;
    println!("scenario {} — {}", file.display(), scenario.name);
    if opts.verbose && !scenario.description.is_empty() {
        println!("  {}", scenario.description.trim());
    }
    match &opts.url {
        Some(url) => {
            let client = Client::connect(url, opts.ca.as_deref()).await?;
            let isolate = scenario.isolate.unwrap_or(true);
            let sub = if isolate {
                let x = client
                    .send(
                        "POST",
                        "/_azemu/subscriptions",
                        &[],
                        Some(&json!({ "displayName": scenario.name })),
                        None,
                    )
                    .await?;
                x.body["subscriptionId"]
                    .as_str()
                    .ok_or_else(|| format!("could not create a subscription: {}", x.body_text))?
                    .to_string()
            } else {
                client.subscription_id.clone()
            };
            let out = run(&client, &scenario, &sub, opts.verbose).await;
            if isolate {
                let _ = client
                    .send("DELETE", &format!("/_azemu/subscriptions/{sub}"), &[], None, None)
                    .await;
            }
            Ok(out)
        }
        None => {
            let dir = std::env::temp_dir().join(format!(
                "azemu-scenario-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4()
            ));
            let config = crate::Config {
                port: 0,
                data_dir: dir.clone(),
                seed: opts.seed,
                audit_refusals: true,
                ..Default::default()
            };
            let server = crate::start(config)
                .await
                .map_err(|e| format!("cannot start azemu: {e}"))?;
            let client = Client::connect(&server.url, server.ca_path.as_deref()).await?;
            let sub = client.subscription_id.clone();
            let out = run(&client, &scenario, &sub, opts.verbose).await;
            server.stop().await;
            let _ = std::fs::remove_dir_all(dir);
            Ok(out)
        }
    }
}

/// Runs every file; prints a summary. Returns (passed, failed).
pub async fn run_files(files: &[PathBuf], opts: &Options) -> (usize, usize) {
    let (mut passed, mut failed) = (0, 0);
    let mut failures = Vec::new();
    for f in files {
        match run_file(f, opts).await {
            Ok(o) if o.failure.is_none() => {
                passed += 1;
                println!("  passed: {} step(s)\n", o.passed_steps);
            }
            // The error was printed above: the summary names the file only.
            Ok(_) => {
                failed += 1;
                failures.push(f.display().to_string());
                println!();
            }
            Err(e) => {
                failed += 1;
                println!("  error: {e}\n");
                failures.push(f.display().to_string());
            }
        }
    }
    for f in &failures {
        println!("failed: {f}");
    }
    println!("scenarios: {passed} passed, {failed} failed");
    (passed, failed)
}
