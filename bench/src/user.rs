//! What users run, each figure next to a reference measured in the same run:
//!
//! - GET of one resource group with a real bearer token (client credentials from azemu's own
//!   token endpoint) over plain HTTP and over HTTPS, in rotating rounds with the bare hyper
//!   server (plain HTTP: it has no TLS; sent the same requests, token included) and with azemu
//!   under `--no-auth` (sent no token);
//! - writes: PUT of user-assigned identities from 32 concurrent clients into 32 resource groups
//!   and into one group, with the token, over plain HTTP;
//! - the seed's flow over REST (group, two identities, Managed Identity Operator, cluster create
//!   with `x-azemu-lro: immediate`, kubelet identity update, credentials, delete) as wall time;
//! - a 200-identity template deployment (copy loop), PUT plus one poll, as wall time;
//! - writes beside a long write: the latency of identity PUTs into one group, alone and while
//!   a client keeps running what-ifs of that template (a long write) in another group;
//! - RSS after the flows.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};

const TENANT_ID: &str = "a2e0c0de-0000-4000-8000-000000000001";
/// The client azemu registers by default (any secret is accepted).
const CLIENT_ID: &str = "a2e0c0de-0000-4000-8000-000000000003";
const IDENTITY_API: &str = "2024-11-30";
const ROLE_API: &str = "2022-04-01";
const AKS_API: &str = "2026-06-01";
const DEPLOYMENT_API: &str = "2025-04-01";
const MANAGED_IDENTITY_OPERATOR: &str = "f1a07417-d97a-45cb-824c-7a7467783830";
/// Concurrent writers.
const WRITERS: usize = 32;
/// Identities in the template's copy loop.
const TEMPLATE_COPIES: usize = 200;

const TARGET_GET_RATIO: f64 = TARGET_RATIO;
const TARGET_WRITES_PER_S: f64 = 20_000.0;
const TARGET_FLOW_MS: f64 = 20.0;
const TARGET_DEPLOY_MS: f64 = 1000.0;

pub(crate) struct UserResults {
    get: Vec<(&'static str, TargetStats)>,
    writes_32_groups: f64,
    writes_one_group: f64,
    writes: usize,
    beside: Beside,
    flow_ms: Vec<f64>,
    deploy_ms: Vec<f64>,
    rss_before_flow_kib: u64,
    rss_after_flow_kib: u64,
    rss_after_all_kib: u64,
    bare_rss_kib: u64,
    connections: usize,
    rounds: usize,
    duration_s: u64,
}

/// Identity PUT latencies (ms) into one group, alone and beside long writes in another.
struct Beside {
    alone_ms: Vec<f64>,
    busy_ms: Vec<f64>,
    what_ifs: usize,
}

/// PUTs alone in the beside-long-writes measurement.
const BESIDE_PUTS: usize = 2000;
/// What-ifs the PUTs beside them span.
const BESIDE_WHAT_IFS: usize = 40;

fn template_body() -> Value {
    json!({ "properties": {
        "mode": "Incremental",
        "template": {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [{
                "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                "apiVersion": IDENTITY_API,
                "name": "[concat('id-', copyIndex())]",
                "location": LOCATION,
                "copy": { "name": "ids", "count": TEMPLATE_COPIES },
            }],
        },
    }})
}

/// [`BESIDE_PUTS`] identity PUTs, one at a time, into `side-b` alone; then PUTs while another
/// client asks for [`BESIDE_WHAT_IFS`] what-ifs of the [`TEMPLATE_COPIES`]-identity template in
/// `side-a`, one after another (each one a long write: the deployment runs for real in a
/// scratch transaction).
async fn beside_long_writes(ep: &Endpoint) -> Res<Beside> {
    put_group(ep, "side-a").await?;
    put_group(ep, "side-b").await?;
    let mut s = connect_to(ep).await?;
    let mut alone_ms = Vec::with_capacity(BESIDE_PUTS);
    for i in 0..BESIDE_PUTS {
        alone_ms.push(timed_put(&mut s, ep, i).await?);
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let looper = {
        let (ep, stop) = (ep.clone(), stop.clone());
        let path = with_api(
            &format!(
                "{}/resourceGroups/side-a/providers/Microsoft.Resources/deployments/bench/whatIf",
                sub()
            ),
            DEPLOYMENT_API,
        );
        let body = template_body().to_string();
        tokio::spawn(async move {
            let mut w = connect_to(&ep).await?;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) && n < BESIDE_WHAT_IFS {
                let (status, text) = send_to(&mut w, &ep, Method::POST, &path, Some(&body), &[]).await?;
                if status != StatusCode::OK {
                    return Err::<usize, BoxError>(
                        format!("what-if: {status}: {}", String::from_utf8_lossy(&text)).into(),
                    );
                }
                n += 1;
            }
            Ok(n)
        })
    };
    // Let the what-ifs start.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut busy_ms = Vec::with_capacity(BESIDE_PUTS);
    // Until the what-ifs are done (at most 100 times as many PUTs as alone).
    for i in BESIDE_PUTS..101 * BESIDE_PUTS {
        if looper.is_finished() {
            break;
        }
        match timed_put(&mut s, ep, i).await {
            Ok(t) => busy_ms.push(t),
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                return Err(e);
            }
        }
    }
    stop.store(true, Ordering::Relaxed);
    let what_ifs = looper.await??;
    Ok(Beside {
        alone_ms,
        busy_ms,
        what_ifs,
    })
}

/// PUT of identity `i` into `side-b` (it must be created); its latency in ms.
async fn timed_put(s: &mut Sender, ep: &Endpoint, i: usize) -> Res<f64> {
    let path = with_api(
        &format!(
            "{}/resourceGroups/side-b/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i:05}",
            sub()
        ),
        IDENTITY_API,
    );
    let body = json!({ "location": LOCATION }).to_string();
    let t0 = Instant::now();
    let (status, text) = send_to(s, ep, Method::PUT, &path, Some(&body), &[]).await?;
    let took = ms(t0.elapsed());
    if status != StatusCode::CREATED {
        return Err(format!("PUT {path}: {status}: {}", String::from_utf8_lossy(&text)).into());
    }
    Ok(took)
}

fn sub() -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}")
}

fn with_api(path: &str, v: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={v}")
}

/// One request that must answer one of `ok`; its JSON body.
async fn call(
    s: &mut Sender,
    ep: &Endpoint,
    method: Method,
    path: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
    ok: &[u16],
) -> Res<Value> {
    let text = body.map(|b| b.to_string());
    let (status, bytes) = send_to(s, ep, method.clone(), path, text.as_deref(), headers).await?;
    if !ok.contains(&status.as_u16()) {
        return Err(format!("{method} {path}: {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// A client-credentials token for ARM from azemu's token endpoint.
async fn token(ep: &Endpoint) -> Res<Arc<str>> {
    let mut s = connect_to(ep).await?;
    let form = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret=bench&scope=https%3A%2F%2Fmanagement.azure.com%2F.default"
    );
    let path = format!("/{TENANT_ID}/oauth2/v2.0/token");
    let (status, bytes) = send_to(
        &mut s,
        ep,
        Method::POST,
        &path,
        Some(&form),
        &[("content-type", "application/x-www-form-urlencoded")],
    )
    .await?;
    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    match v["access_token"].as_str() {
        Some(t) if status == StatusCode::OK => Ok(t.into()),
        _ => Err(format!("token: {status}: {}", String::from_utf8_lossy(&bytes)).into()),
    }
}

fn azemu_serving(o: &Options, data_dir: &Path, log: &Path, tls: bool, auth: bool) -> Res<Server> {
    let mut cmd = Command::new(&o.azemu);
    cmd.args(["serve", "--host", "127.0.0.1", "--port", "0"])
        .arg("--data-dir")
        .arg(data_dir);
    if !tls {
        cmd.arg("--no-tls");
    }
    if !auth {
        cmd.arg("--no-auth");
    }
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AZEMU_") {
            cmd.env_remove(k);
        }
    }
    start_server(cmd, "azemu ready: ", Some(log.to_path_buf()))
}

/// The endpoint of a started azemu: TLS trusting the CA its ready line names, and a token.
fn endpoint_of(rt: &tokio::runtime::Runtime, s: &Server, auth: bool) -> Res<Endpoint> {
    let tls = if s.line.contains("https://") {
        let ca = s
            .line
            .split("(CA: ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .ok_or_else(|| format!("no CA in the ready line {:?}", s.line))?;
        Some(tls_trusting(Path::new(ca))?)
    } else {
        None
    };
    let mut ep = Endpoint {
        addr: s.addr,
        tls,
        token: None,
    };
    if auth {
        ep.token = Some(rt.block_on(token(&ep))?);
    }
    Ok(ep)
}

async fn put_group(ep: &Endpoint, name: &str) -> Res<()> {
    let mut s = connect_to(ep).await?;
    let path = with_api(&format!("{}/resourcegroups/{name}", sub()), API_VERSION);
    call(
        &mut s,
        ep,
        Method::PUT,
        &path,
        Some(json!({ "location": LOCATION })),
        &[],
        &[200, 201],
    )
    .await?;
    Ok(())
}

/// `total` identity PUTs from [`WRITERS`] clients, client `c` writing into group
/// `{prefix}-{c % groups}`; creates per second.
async fn writes(ep: &Endpoint, prefix: &str, groups: usize, total: usize) -> Res<f64> {
    for g in 0..groups {
        put_group(ep, &format!("{prefix}-{g}")).await?;
    }
    let mut senders = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        senders.push(connect_to(ep).await?);
    }
    let next = Arc::new(AtomicUsize::new(0));
    let body = json!({ "location": LOCATION }).to_string();
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (c, mut s) in senders.into_iter().enumerate() {
        let (ep, next, body, prefix) = (ep.clone(), next.clone(), body.clone(), prefix.to_string());
        tasks.push(tokio::spawn(async move {
            let group = format!("{}/resourceGroups/{prefix}-{}", sub(), c % groups);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return Ok::<(), BoxError>(());
                }
                let path = with_api(
                    &format!("{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i:07}"),
                    IDENTITY_API,
                );
                let (status, text) = send_to(&mut s, &ep, Method::PUT, &path, Some(&body), &[]).await?;
                if status != StatusCode::CREATED {
                    return Err(format!("PUT {path}: {status}: {}", String::from_utf8_lossy(&text)).into());
                }
            }
        }));
    }
    for t in tasks {
        t.await??;
    }
    Ok(total as f64 / t0.elapsed().as_secs_f64())
}

/// The seed's flow once, in group `rg`; its wall time.
async fn seed_flow(ep: &Endpoint, rg: &str) -> Res<Duration> {
    let mut s = connect_to(ep).await?;
    let ok = [200, 201, 202, 204];
    let imm = [("x-azemu-lro", "immediate")];
    let t0 = Instant::now();
    let group = format!("{}/resourceGroups/{rg}", sub());
    call(
        &mut s,
        ep,
        Method::PUT,
        &with_api(&group, API_VERSION),
        Some(json!({ "location": LOCATION })),
        &[],
        &ok,
    )
    .await?;
    let identity = |name: &str| format!("{group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}");
    let (cp_id, kubelet_id) = (identity("control-plane"), identity("kubelet"));
    let cp = call(
        &mut s,
        ep,
        Method::PUT,
        &with_api(&cp_id, IDENTITY_API),
        Some(json!({ "location": LOCATION })),
        &[],
        &ok,
    )
    .await?;
    call(
        &mut s,
        ep,
        Method::PUT,
        &with_api(&kubelet_id, IDENTITY_API),
        Some(json!({ "location": LOCATION })),
        &[],
        &ok,
    )
    .await?;
    let principal = cp["properties"]["principalId"]
        .as_str()
        .ok_or("identity without principalId")?;
    let assignment = format!(
        "{kubelet_id}/providers/Microsoft.Authorization/roleAssignments/{}",
        guid(t0.elapsed().as_nanos() as u64)
    );
    let role = json!({ "properties": {
        "roleDefinitionId": format!("{}/providers/Microsoft.Authorization/roleDefinitions/{MANAGED_IDENTITY_OPERATOR}", sub()),
        "principalId": principal,
        "principalType": "ServicePrincipal",
    }});
    call(
        &mut s,
        ep,
        Method::PUT,
        &with_api(&assignment, ROLE_API),
        Some(role),
        &[],
        &ok,
    )
    .await?;
    let cluster = format!("{group}/providers/Microsoft.ContainerService/managedClusters/aks");
    let body = |kubelet: bool| {
        let mut b = json!({
            "location": LOCATION,
            "sku": { "name": "Base", "tier": "Free" },
            "identity": { "type": "UserAssigned", "userAssignedIdentities": { cp_id.as_str(): {} } },
            "properties": {
                "kubernetesVersion": "",
                "dnsPrefix": "aks",
                "enableRBAC": true,
                "agentPoolProfiles": [{
                    "name": "nodepool1", "count": 3, "vmSize": "", "orchestratorVersion": "",
                    "osType": "Linux", "mode": "System", "type": "VirtualMachineScaleSets",
                }],
            },
        });
        if kubelet {
            b["properties"]["identityProfile"] = json!({ "kubeletidentity": { "resourceId": kubelet_id } });
        }
        b
    };
    call(
        &mut s,
        ep,
        Method::PUT,
        &with_api(&cluster, AKS_API),
        Some(body(false)),
        &imm,
        &ok,
    )
    .await?;
    let updated = call(
        &mut s,
        ep,
        Method::PUT,
        &with_api(&cluster, AKS_API),
        Some(body(true)),
        &imm,
        &ok,
    )
    .await?;
    if updated["properties"]["identityProfile"]["kubeletidentity"]["resourceId"]
        .as_str()
        .map(str::to_ascii_lowercase)
        != Some(kubelet_id.to_ascii_lowercase())
    {
        return Err(format!("kubelet update not applied: {updated}").into());
    }
    let creds = format!("{cluster}/listClusterUserCredential");
    let c = call(
        &mut s,
        ep,
        Method::POST,
        &with_api(&creds, AKS_API),
        Some(json!({})),
        &[],
        &[200],
    )
    .await?;
    if c["kubeconfigs"].as_array().is_none_or(|k| k.is_empty()) {
        return Err(format!("no kubeconfig: {c}").into());
    }
    call(
        &mut s,
        ep,
        Method::DELETE,
        &with_api(&group, API_VERSION),
        None,
        &imm,
        &ok,
    )
    .await?;
    Ok(t0.elapsed())
}

/// A template deployment of [`TEMPLATE_COPIES`] identities into group `rg`, then one poll of
/// its `Azure-AsyncOperation` URL (which must say `Succeeded`); its wall time.
async fn deploy(ep: &Endpoint, rg: &str) -> Res<Duration> {
    put_group(ep, rg).await?;
    let mut s = connect_to(ep).await?;
    let path = with_api(
        &format!(
            "{}/resourceGroups/{rg}/providers/Microsoft.Resources/deployments/bench",
            sub()
        ),
        DEPLOYMENT_API,
    );
    let body = template_body().to_string();
    let t0 = Instant::now();
    let req = Request::builder()
        .method(Method::PUT)
        .uri(&path)
        .header("host", ep.addr.to_string())
        .header("content-type", "application/json")
        .header("x-azemu-lro", "immediate");
    let req = match &ep.token {
        Some(t) => req.header("authorization", format!("Bearer {t}")),
        None => req,
    };
    s.ready().await?;
    let resp = s.send_request(req.body(Full::new(Bytes::from(body)))?).await?;
    let status = resp.status();
    let poll = resp
        .headers()
        .get("azure-asyncoperation")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = resp.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("PUT deployment: {status}: {}", String::from_utf8_lossy(&bytes)).into());
    }
    let poll = poll.ok_or("deployment without Azure-AsyncOperation")?;
    let poll_path = match poll.find("://") {
        Some(i) => poll[i + 3..]
            .find('/')
            .map(|j| poll[i + 3 + j..].to_string())
            .unwrap_or_default(),
        None => poll,
    };
    let op = call(&mut s, ep, Method::GET, &poll_path, None, &[], &[200]).await?;
    let elapsed = t0.elapsed();
    if op["status"] != "Succeeded" {
        return Err(format!("deployment operation: {op}").into());
    }
    let list = with_api(
        &format!(
            "{}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?$top=1000",
            sub()
        ),
        IDENTITY_API,
    );
    let l = call(&mut s, ep, Method::GET, &list, None, &[], &[200]).await?;
    let n = l["value"].as_array().map(Vec::len).unwrap_or(0);
    if n != TEMPLATE_COPIES {
        return Err(format!("the deployment made {n} identities, not {TEMPLATE_COPIES}").into());
    }
    Ok(elapsed)
}

pub(crate) fn run(o: &Options, rt: &tokio::runtime::Runtime, tmp: &Path) -> Res<UserResults> {
    let log = tmp.join("azemu-user.stderr.log");
    let bare = start_bare()?;
    let plain_srv = azemu_serving(o, &tmp.join("data-plain"), &log, false, true)?;
    let tls_srv = azemu_serving(o, &tmp.join("data-tls"), &log, true, true)?;
    let noauth_srv = azemu_serving(o, &tmp.join("data-noauth"), &log, false, false)?;
    let plain = endpoint_of(rt, &plain_srv, true)?;
    let https = endpoint_of(rt, &tls_srv, true)?;
    let noauth = endpoint_of(rt, &noauth_srv, false)?;
    // The bare server gets the same requests, token included (it ignores it), so both sides
    // of the ratio carry the same client and transport work.
    let bare_ep = Endpoint {
        token: plain.token.clone(),
        ..Endpoint::plain(bare.addr)
    };

    // The flows first, on a fresh azemu: RSS before and after them.
    let rss_before_flow_kib = plain_srv.rss_kib()?;
    let runs = o.flow_runs;
    progress(&format!("seed flow over REST: {runs} runs"));
    let mut flow_ms = Vec::with_capacity(runs);
    for i in 0..runs {
        let d = rt
            .block_on(seed_flow(&plain, &format!("flow-{i}")))
            .map_err(|e| format!("seed flow: {e}{}", plain_srv.log_tail()))?;
        flow_ms.push(ms(d));
    }
    std::thread::sleep(IDLE_SETTLE);
    let rss_after_flow_kib = plain_srv.rss_kib()?;
    progress(&format!(
        "template deployment of {TEMPLATE_COPIES} identities: {} runs",
        o.deploy_runs
    ));
    let mut deploy_ms = Vec::with_capacity(o.deploy_runs);
    for i in 0..o.deploy_runs {
        let d = rt
            .block_on(deploy(&plain, &format!("deploy-{i}")))
            .map_err(|e| format!("deployment: {e}{}", plain_srv.log_tail()))?;
        deploy_ms.push(ms(d));
    }

    // GET throughput, targets in rotating order each round.
    for ep in [&plain, &https, &noauth] {
        rt.block_on(put_group(ep, RESOURCE_GROUP))?;
    }
    rt.block_on(probe_bare(bare.addr, 3))?;
    let bare_rss_kib = bare.rss_kib()?;
    let targets: [(&'static str, &Endpoint); 4] = [
        ("bare hyper, HTTP", &bare_ep),
        ("azemu, token, HTTP", &plain),
        ("azemu, token, HTTPS", &https),
        ("azemu, --no-auth, HTTP", &noauth),
    ];
    let mut get: Vec<(&'static str, TargetStats)> = targets
        .iter()
        .map(|(n, _)| {
            (
                *n,
                TargetStats {
                    rps: vec![],
                    p50: vec![],
                    p99: vec![],
                    body_bytes: 0,
                },
            )
        })
        .collect();
    for round_no in 0..o.rounds {
        for k in 0..targets.len() {
            let idx = (k + round_no) % targets.len();
            let (name, ep) = targets[idx];
            let r = rt
                .block_on(load_run(ep, o.connections, o.warmup, o.duration))
                .map_err(|e| format!("{name} load run: {e}"))?;
            progress(&format!(
                "round {}/{} {:<24} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms",
                round_no + 1,
                o.rounds,
                name,
                r.rps,
                r.p50_ms,
                r.p99_ms
            ));
            get[idx].1.rps.push(r.rps);
            get[idx].1.p50.push(r.p50_ms);
            get[idx].1.p99.push(r.p99_ms);
        }
    }
    drop(bare);
    drop(tls_srv);
    drop(noauth_srv);

    // Writes, with the token over plain HTTP.
    progress(&format!(
        "writes: {} identities from {WRITERS} clients into {WRITERS} groups, then into one",
        o.writes
    ));
    let writes_32_groups = rt
        .block_on(writes(&plain, "w32", WRITERS, o.writes))
        .map_err(|e| format!("writes: {e}{}", plain_srv.log_tail()))?;
    let writes_one_group = rt
        .block_on(writes(&plain, "w1", 1, o.writes))
        .map_err(|e| format!("writes: {e}{}", plain_srv.log_tail()))?;
    progress(&format!(
        "writes beside long writes: {BESIDE_PUTS} identity PUTs alone, then beside what-ifs of {TEMPLATE_COPIES} identities in another group"
    ));
    let beside = rt
        .block_on(beside_long_writes(&plain))
        .map_err(|e| format!("writes beside long writes: {e}{}", plain_srv.log_tail()))?;
    let rss_after_all_kib = plain_srv.rss_kib()?;
    Ok(UserResults {
        get,
        writes_32_groups,
        writes_one_group,
        writes: o.writes,
        beside,
        flow_ms,
        deploy_ms,
        rss_before_flow_kib,
        rss_after_flow_kib,
        rss_after_all_kib,
        bare_rss_kib,
        connections: o.connections,
        rounds: o.rounds,
        duration_s: o.duration.as_secs(),
    })
}

fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

impl UserResults {
    fn rps(&self, i: usize) -> f64 {
        median(&self.get[i].1.rps)
    }

    pub(crate) fn json(&self) -> Value {
        let bare = self.rps(0);
        let get: serde_json::Map<String, Value> = self
            .get
            .iter()
            .enumerate()
            .map(|(i, (name, s))| {
                let mut v = s.json();
                v["ratio_to_bare_hyper"] = json!(round(self.rps(i) / bare, 3));
                v["ratio_to_azemu_token_http"] = json!(round(self.rps(i) / self.rps(1), 3));
                v.as_object_mut().map(|o| o.remove("body_bytes"));
                (name.to_string(), v)
            })
            .collect();
        json!({
            "get_resource_group": {
                "connections": self.connections,
                "rounds": self.rounds,
                "duration_s": self.duration_s,
                "targets": get,
                "target_ratio_token_http_at_least": TARGET_GET_RATIO,
                "pass": self.rps(1) / bare >= TARGET_GET_RATIO,
            },
            "writes_token_http": {
                "clients": WRITERS,
                "identities_per_run": self.writes,
                "creates_per_s_32_groups": round(self.writes_32_groups, 0),
                "creates_per_s_one_group": round(self.writes_one_group, 0),
                "target_creates_per_s": TARGET_WRITES_PER_S,
                "pass": self.writes_32_groups.min(self.writes_one_group) >= TARGET_WRITES_PER_S,
            },
            "seed_flow_token_http_ms": {
                "median": round(median(&self.flow_ms), 3),
                "min": round(sorted(&self.flow_ms)[0], 3),
                "max": round(sorted(&self.flow_ms)[self.flow_ms.len() - 1], 3),
                "runs": self.flow_ms.len(),
                "target_below": TARGET_FLOW_MS,
                "pass": median(&self.flow_ms) < TARGET_FLOW_MS,
            },
            "template_deployment_200_token_http_ms": {
                "median": round(median(&self.deploy_ms), 3),
                "max": round(sorted(&self.deploy_ms)[self.deploy_ms.len() - 1], 3),
                "runs": self.deploy_ms.len(),
                "target_below": TARGET_DEPLOY_MS,
                "pass": median(&self.deploy_ms) < TARGET_DEPLOY_MS,
            },
            "writes_beside_long_writes": {
                "puts_alone": BESIDE_PUTS,
                "puts_beside": self.beside.busy_ms.len(),
                "alone_ms": { "p50": round(percentile(&self.beside.alone_ms, 0.50), 3), "p90": round(percentile(&self.beside.alone_ms, 0.90), 3), "p99": round(percentile(&self.beside.alone_ms, 0.99), 3) },
                "beside_what_ifs_ms": { "p50": round(percentile(&self.beside.busy_ms, 0.50), 3), "p90": round(percentile(&self.beside.busy_ms, 0.90), 3), "p99": round(percentile(&self.beside.busy_ms, 0.99), 3) },
                "what_ifs": self.beside.what_ifs,
            },
            "rss_kib": {
                "fresh_auth_http": self.rss_before_flow_kib,
                "after_flows": self.rss_after_flow_kib,
                "after_all": self.rss_after_all_kib,
                "bare_hyper": self.bare_rss_kib,
            },
        })
    }

    pub(crate) fn print_rows(&self) {
        let mark = |p: bool| if p { "PASS" } else { "MISS" };
        let bare = self.rps(0);
        for (i, (name, s)) in self.get.iter().enumerate() {
            let r = self.rps(i);
            let (reference, ratio, target) = match i {
                0 => (String::new(), String::new(), String::new()),
                1 => (
                    "bare hyper, HTTP".to_string(),
                    format!("{:.3}", r / bare),
                    format!("≥ {TARGET_GET_RATIO} [{}]", mark(r / bare >= TARGET_GET_RATIO)),
                ),
                2 => (
                    "azemu, token, HTTP / bare".to_string(),
                    format!("{:.3} / {:.3}", r / self.rps(1), r / bare),
                    String::new(),
                ),
                _ => (
                    "bare hyper, HTTP".to_string(),
                    format!("{:.3}", r / bare),
                    String::new(),
                ),
            };
            println!(
                "| GET resource group, {name} ({} conn.) | {r:.0} req/s, p50 {:.3} ms, p99 {:.3} ms | {reference} | {ratio} | {target} |",
                self.connections,
                median(&s.p50),
                median(&s.p99),
            );
        }
        let w = self.writes_32_groups.min(self.writes_one_group);
        println!(
            "| PUT identity, token, HTTP, {WRITERS} clients → {WRITERS} groups | {:.0} creates/s | {} identities | | ≥ {TARGET_WRITES_PER_S:.0}/s [{}] |",
            self.writes_32_groups,
            self.writes,
            mark(self.writes_32_groups >= TARGET_WRITES_PER_S)
        );
        println!(
            "| PUT identity, token, HTTP, {WRITERS} clients → 1 group | {:.0} creates/s | {} identities | {:.3} of 32 groups | ≥ {TARGET_WRITES_PER_S:.0}/s [{}] |",
            self.writes_one_group,
            self.writes,
            self.writes_one_group / self.writes_32_groups,
            mark(w >= TARGET_WRITES_PER_S)
        );
        let f = median(&self.flow_ms);
        println!(
            "| seed flow over REST, token, HTTP (8 requests) | {f:.2} ms median (min {:.2}, max {:.2}) | {} runs | | < {TARGET_FLOW_MS} ms [{}] |",
            sorted(&self.flow_ms)[0],
            sorted(&self.flow_ms)[self.flow_ms.len() - 1],
            self.flow_ms.len(),
            mark(f < TARGET_FLOW_MS)
        );
        let d = median(&self.deploy_ms);
        println!(
            "| template deployment, {TEMPLATE_COPIES} identities (PUT + 1 poll) | {d:.1} ms median (max {:.1}) | {} runs | | < {TARGET_DEPLOY_MS} ms [{}] |",
            sorted(&self.deploy_ms)[self.deploy_ms.len() - 1],
            self.deploy_ms.len(),
            mark(d < TARGET_DEPLOY_MS)
        );
        let (a, b) = (&self.beside.alone_ms, &self.beside.busy_ms);
        println!(
            "| PUT identity into one group while {} what-ifs of {TEMPLATE_COPIES} identities run in another ({} PUTs) | p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms | alone ({BESIDE_PUTS} PUTs): p50 {:.3} ms, p90 {:.3} ms, p99 {:.3} ms | p99 {:.2}× | |",
            self.beside.what_ifs,
            b.len(),
            percentile(b, 0.50),
            percentile(b, 0.90),
            percentile(b, 0.99),
            percentile(a, 0.50),
            percentile(a, 0.90),
            percentile(a, 0.99),
            percentile(b, 0.99) / percentile(a, 0.99),
        );
        println!(
            "| RSS, azemu with auth: fresh / after the flows / after everything | {:.2} / {:.2} / {:.2} MB | bare hyper {:.2} MB | | |",
            mb(self.rss_before_flow_kib),
            mb(self.rss_after_flow_kib),
            mb(self.rss_after_all_kib),
            mb(self.bare_rss_kib)
        );
    }
}

/// The `q` quantile of `v` (unsorted).
fn percentile(v: &[f64], q: f64) -> f64 {
    percentile_sorted(&sorted(v), q)
}
