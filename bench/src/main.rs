//! `azemu-bench`: measures azemu against its performance targets.
//!
//! One run measures, all on 127.0.0.1:
//! 1. exec-to-ready: from spawning `azemu serve --port 0 --no-tls --no-auth` to reading its
//!    `azemu ready:` line (median and p90 of repeated starts);
//! 2. idle RSS: VmRSS of a ready azemu that has served a handful of requests (median of starts);
//! 3. what users run (module [`user`]), each next to a reference measured in the same run: GET
//!    resource-group throughput and p50/p99 with a real bearer token over HTTP and HTTPS
//!    against a bare hyper server (this binary's `bare-server` mode, plain HTTP) and azemu
//!    under `--no-auth`, in rotating rounds; identity PUTs from 32 clients into 32 groups and
//!    into one; the seed flow over REST and a 200-identity template deployment as wall time;
//!    RSS after them. One table (or `--json` with every figure).
//!
//! With `--scale N` it measures scale instead: one azemu is filled with N user-assigned
//! identities (one resource group, plain HTTP, no auth) and reports the create rate, RSS and
//! the median latency of a `$top=1` identity page, a `/resources?$top=10` page and a
//! role-assignment PUT, at 1,000 identities and at N, with their ratio (near 1 when a page
//! costs what it returns, not what the store holds).
//!
//! The targets are informational: the exit code is 0 whenever the measurements could be taken,
//! non-zero only when something failed (a server did not start, a request failed, ...).
//!
//! ```text
//! azemu-bench --azemu target/release/azemu [--json] [options]
//! azemu-bench --azemu target/release/azemu --scale 100000 [--json]
//! azemu-bench bare-server [--port N]
//! ```

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Res<T> = Result<T, BoxError>;

const SUBSCRIPTION_ID: &str = "a2e0c0de-0000-4000-8000-000000000002";
const RESOURCE_GROUP: &str = "azemu-bench";
const API_VERSION: &str = "2024-11-01";
const LOCATION: &str = "westus2";

/// How long a server may take to print its ready line before the run fails.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one request may take before the run fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// Slack on top of warm-up + duration before a load run is abandoned as failed.
const RUN_SLACK: Duration = Duration::from_secs(30);
/// Upper bound on the requests one connection sends in one run (the clock stops it first).
const MAX_REQUESTS_PER_CONNECTION: u64 = 50_000_000;
/// Requests served by each started azemu before its idle RSS is read.
const IDLE_REQUESTS: usize = 10;
/// Pause between the last of those requests and reading VmRSS.
const IDLE_SETTLE: Duration = Duration::from_millis(250);

const TARGET_READY_MS: f64 = 20.0;
const TARGET_RSS_MB: f64 = 15.0;
const TARGET_RATIO: f64 = 0.85;

const USAGE: &str = "\
usage: azemu-bench --azemu PATH [options]
       azemu-bench bare-server [--port N]

Measures azemu's exec-to-ready time and idle RSS; GET resource-group throughput with a
bearer token over HTTP and HTTPS against a bare hyper server; identity PUTs from 32
clients; the seed flow and a 200-identity template deployment as wall time; RSS after
them. All on 127.0.0.1.

options:
  --azemu PATH          the azemu binary (build it with `cargo build --release`)
  --json                print the results as JSON instead of the summary
  --starts N            timed starts for exec-to-ready [20]
  --rss-starts N        of those, how many also measure idle RSS [5]
  --connections N       keep-alive connections of the load generator [32]
  --warmup SECS         warm-up of each load run, not counted [1]
  --duration SECS       measured time of each load run [3]
  --rounds N            load runs per GET target, targets in rotating order [3]
  --client-threads N    worker threads of the load generator [2]
  --flow-runs N         runs of the seed flow over REST [25]
  --deploy-runs N       runs of the 200-identity template deployment [5]
  --writes N            identity PUTs per write run (32 clients) [32000]
  --scale N             instead: fill azemu with N identities and compare latencies
                        at 1,000 and at N (creates run on --connections, at most 8)
  --samples N           requests per latency median in the scale run, at most 300 [200]
";

struct Options {
    azemu: PathBuf,
    json: bool,
    starts: usize,
    rss_starts: usize,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    rounds: usize,
    client_threads: usize,
    scale: Option<usize>,
    samples: usize,
    flow_runs: usize,
    deploy_runs: usize,
    writes: usize,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = if args.first().map(String::as_str) == Some("bare-server") {
        bare_server_main(&args[1..])
    } else if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        Ok(())
    } else {
        parse_options(&args).and_then(|o| if o.scale.is_some() { scale::run(o) } else { run(o) })
    };
    if let Err(e) = result {
        eprintln!("azemu-bench: error: {e}");
        std::process::exit(1);
    }
}

fn parse_options(args: &[String]) -> Res<Options> {
    let mut o = Options {
        azemu: PathBuf::new(),
        json: false,
        starts: 20,
        rss_starts: 5,
        connections: 32,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(3),
        rounds: 3,
        client_threads: 2,
        scale: None,
        samples: 200,
        flow_runs: 25,
        deploy_runs: 5,
        writes: 32_000,
    };
    let mut azemu = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--json" {
            o.json = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        let num = |lo: u64, hi: u64| -> Res<u64> {
            match value.parse::<u64>() {
                Ok(n) if (lo..=hi).contains(&n) => Ok(n),
                _ => Err(format!("{flag} must be a whole number from {lo} to {hi}").into()),
            }
        };
        match flag.as_str() {
            "--azemu" => azemu = Some(PathBuf::from(value)),
            "--starts" => o.starts = num(1, 1000)? as usize,
            "--rss-starts" => o.rss_starts = num(1, 1000)? as usize,
            "--connections" => o.connections = num(1, 1024)? as usize,
            "--warmup" => o.warmup = Duration::from_secs(num(0, 60)?),
            "--duration" => o.duration = Duration::from_secs(num(1, 600)?),
            "--rounds" => o.rounds = num(1, 100)? as usize,
            "--client-threads" => o.client_threads = num(1, 64)? as usize,
            "--scale" => o.scale = Some(num(SCALE_BASE as u64, 10_000_000)? as usize),
            "--samples" => o.samples = num(1, 300)? as usize,
            "--flow-runs" => o.flow_runs = num(1, 10_000)? as usize,
            "--deploy-runs" => o.deploy_runs = num(1, 1000)? as usize,
            "--writes" => o.writes = num(32, 10_000_000)? as usize,
            _ => return Err(format!("unknown option {flag}\n{USAGE}").into()),
        }
    }
    o.azemu = azemu.ok_or_else(|| format!("--azemu PATH is required\n{USAGE}"))?;
    if !o.azemu.is_file() {
        return Err(format!("{} is not a file (build azemu first)", o.azemu.display()).into());
    }
    o.rss_starts = o.rss_starts.min(o.starts);
    Ok(o)
}

// ---------------------------------------------------------------------------------------------
// The bare hyper server.

/// A JSON body shaped and sized like a resource group as ARM returns it.
fn bare_body() -> Bytes {
    let body = json!({
        "id": format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RESOURCE_GROUP}"),
        "name": RESOURCE_GROUP,
        "type": "Microsoft.Resources/resourceGroups",
        "location": LOCATION,
        "properties": { "provisioningState": "Succeeded" }
    });
    Bytes::from(body.to_string())
}

/// `bare-server [--port N]`: answers every GET with [`bare_body`] over HTTP/1.1 keep-alive on
/// 127.0.0.1, prints `bare ready: http://127.0.0.1:PORT` and runs until its stdin closes (so it
/// never outlives the bench that started it).
fn bare_server_main(args: &[String]) -> Res<()> {
    let port: u16 = match args {
        [] => 0,
        [flag, v] if flag == "--port" => v.parse().map_err(|_| "--port takes 0-65535")?,
        _ => return Err("usage: azemu-bench bare-server [--port N]".into()),
    };
    std::thread::spawn(|| {
        // Blocks until the parent closes our stdin (or dies); nothing is ever written to it.
        let mut buf = [0u8; 64];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await?;
        println!("bare ready: http://{}", listener.local_addr()?);
        std::io::stdout().flush()?;
        let body = bare_body();
        loop {
            let (tcp, _) = listener.accept().await?;
            let _ = tcp.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let body = body.clone();
                    async move {
                        let resp = if req.method() == Method::GET {
                            Response::builder()
                                .status(StatusCode::OK)
                                .header("content-type", "application/json; charset=utf-8")
                                .body(Full::new(body))
                        } else {
                            Response::builder()
                                .status(StatusCode::METHOD_NOT_ALLOWED)
                                .body(Full::new(Bytes::new()))
                        };
                        resp
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(tcp), svc)
                    .await;
            });
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Child servers.

/// A started server; killed and reaped when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    ready: Duration,
    log: Option<PathBuf>,
    /// The ready line the server printed.
    line: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// VmRSS of the server process, in KiB.
    fn rss_kib(&self) -> Res<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| "no VmRSS in /proc/PID/status".into())
    }

    fn log_tail(&self) -> String {
        log_tail(self.log.as_deref())
    }
}

fn log_tail(log: Option<&Path>) -> String {
    let Some(text) = log.and_then(|p| std::fs::read_to_string(p).ok()) else {
        return String::new();
    };
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    if tail.is_empty() {
        tail
    } else {
        format!("\n--- server stderr (last lines) ---\n{tail}")
    }
}

/// Spawns `cmd` and waits for its ready line (`<prefix>http://127.0.0.1:PORT ...`). The time
/// from just before the spawn to the moment the line has been read is the exec-to-ready time.
fn start_server(mut cmd: Command, prefix: &str, log: Option<PathBuf>) -> Res<Server> {
    let stderr = match &log {
        Some(p) => Stdio::from(File::options().create(true).append(true).open(p)?),
        None => Stdio::inherit(),
    };
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(stderr);
    let t0 = Instant::now();
    let mut child = cmd.spawn()?;
    let stdout = child.stdout.take().ok_or("no stdout pipe")?;
    // From here on the child is killed on every return path.
    let mut server = Server {
        child,
        addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        ready: Duration::ZERO,
        log,
        line: String::new(),
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let read = reader.read_line(&mut line);
        let at = Instant::now();
        let _ = tx.send((at, read.map(|_| line)));
        // Keep draining so the server never blocks on a full pipe; ends when the process exits.
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    let (at, line) = match rx.recv_timeout(READY_TIMEOUT) {
        Ok((at, Ok(line))) if !line.is_empty() => (at, line),
        Ok((_, Ok(_))) => {
            std::thread::sleep(Duration::from_millis(100));
            let status = server.child.try_wait().ok().flatten();
            return Err(format!(
                "server exited before its ready line (status: {status:?}){}",
                server.log_tail()
            )
            .into());
        }
        Ok((_, Err(e))) => return Err(format!("reading the ready line: {e}").into()),
        Err(_) => return Err(format!("no ready line within {READY_TIMEOUT:?}{}", server.log_tail()).into()),
    };
    server.ready = at - t0;
    server.addr = parse_ready_line(&line, prefix)?;
    server.line = line;
    Ok(server)
}

/// The loopback address of a ready line; anything but 127.0.0.1 is refused.
fn parse_ready_line(line: &str, prefix: &str) -> Res<SocketAddr> {
    let bad = || format!("unexpected ready line: {:?}", line.trim_end());
    let url = line
        .strip_prefix(prefix)
        .and_then(|r| r.split_whitespace().next())
        .ok_or_else(bad)?;
    let hostport = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("{} (http:// or https:// expected)", bad()))?
        .trim_end_matches('/');
    let addr: SocketAddr = hostport.parse().map_err(|_| bad())?;
    if addr.ip() != Ipv4Addr::LOCALHOST {
        return Err(format!("server is not on 127.0.0.1: {addr}").into());
    }
    Ok(addr)
}

fn azemu_command(bin: &Path, data_dir: &Path) -> Command {
    let mut cmd = Command::new(bin);
    cmd.args(["serve", "--host", "127.0.0.1", "--port", "0", "--no-tls", "--no-auth"])
        .arg("--data-dir")
        .arg(data_dir);
    // The settings of the environment (AZEMU_*) must not change what is measured.
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("AZEMU_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn start_azemu(o: &Options, data_dir: &Path, log: &Path) -> Res<Server> {
    start_server(
        azemu_command(&o.azemu, data_dir),
        "azemu ready: ",
        Some(log.to_path_buf()),
    )
}

fn start_bare() -> Res<Server> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("bare-server");
    start_server(cmd, "bare ready: ", None)
}

// ---------------------------------------------------------------------------------------------
// HTTP client.

type Sender = SendRequest<Full<Bytes>>;

/// Where requests go: a loopback address, over TLS when `tls` is set, with a bearer token
/// when `token` is set.
#[derive(Clone)]
struct Endpoint {
    addr: SocketAddr,
    tls: Option<Arc<rustls::ClientConfig>>,
    token: Option<Arc<str>>,
}

impl Endpoint {
    fn plain(addr: SocketAddr) -> Endpoint {
        Endpoint {
            addr,
            tls: None,
            token: None,
        }
    }
}

async fn connect(addr: SocketAddr) -> Res<Sender> {
    connect_to(&Endpoint::plain(addr)).await
}

async fn connect_to(ep: &Endpoint) -> Res<Sender> {
    let addr = ep.addr;
    debug_assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
    let tcp = tokio::time::timeout(REQUEST_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connecting to {addr} timed out"))??;
    tcp.set_nodelay(true)?;
    let sender = match &ep.tls {
        None => {
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
            // The connection task ends when the sender is dropped or the server closes.
            tokio::spawn(async move {
                let _ = conn.await;
            });
            sender
        }
        Some(cfg) => {
            let name = rustls_pki_types::ServerName::try_from("127.0.0.1")?.to_owned();
            let tls = tokio_rustls::TlsConnector::from(cfg.clone()).connect(name, tcp).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            sender
        }
    };
    Ok(sender)
}

/// A TLS client configuration trusting the CA in `ca_pem` (azemu's `ca.pem`).
fn tls_trusting(ca_pem: &Path) -> Res<Arc<rustls::ClientConfig>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca_pem)? {
        roots.add(cert?)?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(cfg))
}

async fn send(
    sender: &mut Sender,
    addr: SocketAddr,
    method: Method,
    path: &str,
    body: Option<&str>,
) -> Res<(StatusCode, Bytes)> {
    send_to(sender, &Endpoint::plain(addr), method, path, body, &[]).await
}

/// One request on `sender`, with the endpoint's token and `headers` added.
async fn send_to(
    sender: &mut Sender,
    ep: &Endpoint,
    method: Method,
    path: &str,
    body: Option<&str>,
    headers: &[(&str, &str)],
) -> Res<(StatusCode, Bytes)> {
    let addr = ep.addr;
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("accept", "application/json");
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    if let Some(t) = &ep.token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Full::new(Bytes::from(body.unwrap_or("").to_owned())))?;
    let exchange = async {
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        Ok::<_, BoxError>((status, bytes))
    };
    tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("request to {addr}{path} timed out"))?
}

fn rg_path() -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{RESOURCE_GROUP}?api-version={API_VERSION}")
}

/// Creates the benchmark resource group (idempotent) and checks that a GET returns it.
/// Returns the size of the GET body.
async fn prepare_azemu(addr: SocketAddr, gets: usize) -> Res<usize> {
    let mut s = connect(addr).await?;
    let body = json!({ "location": LOCATION }).to_string();
    let (status, text) = send(&mut s, addr, Method::PUT, &rg_path(), Some(&body)).await?;
    if !status.is_success() {
        return Err(format!("PUT resource group: {status}: {}", String::from_utf8_lossy(&text)).into());
    }
    let mut len = 0;
    for _ in 0..gets.max(1) {
        let (status, text) = send(&mut s, addr, Method::GET, &rg_path(), None).await?;
        let v: Value = serde_json::from_slice(&text).unwrap_or(Value::Null);
        if status != StatusCode::OK || v["name"] != RESOURCE_GROUP {
            return Err(format!("GET resource group: {status}: {}", String::from_utf8_lossy(&text)).into());
        }
        len = text.len();
    }
    Ok(len)
}

/// GETs the path a few times from the bare server; returns the size of the body.
async fn probe_bare(addr: SocketAddr, gets: usize) -> Res<usize> {
    let mut s = connect(addr).await?;
    let mut len = 0;
    for _ in 0..gets.max(1) {
        let (status, text) = send(&mut s, addr, Method::GET, &rg_path(), None).await?;
        if status != StatusCode::OK {
            return Err(format!("bare server GET: {status}").into());
        }
        len = text.len();
    }
    Ok(len)
}

// ---------------------------------------------------------------------------------------------
// Closed-loop load.

struct RunResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

/// `connections` keep-alive connections each send GETs back to back for `warmup + duration`;
/// the requests that complete inside the measured window count.
async fn load_run(ep: &Endpoint, connections: usize, warmup: Duration, duration: Duration) -> Res<RunResult> {
    let path = rg_path();
    let mut senders = Vec::with_capacity(connections);
    for _ in 0..connections {
        senders.push(connect_to(ep).await?);
    }
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + duration;
    let mut tasks = Vec::with_capacity(connections);
    for mut sender in senders {
        let path = path.clone();
        let ep = ep.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies_us: Vec<u32> = Vec::with_capacity(16 * 1024);
            for _ in 0..MAX_REQUESTS_PER_CONNECTION {
                let sent = Instant::now();
                if sent >= until {
                    break;
                }
                let (status, _) = send_to(&mut sender, &ep, Method::GET, &path, None, &[]).await?;
                if status != StatusCode::OK {
                    return Err::<Vec<u32>, BoxError>(format!("GET {path}: {status}").into());
                }
                let done = Instant::now();
                if done >= measure_from && done <= until {
                    latencies_us.push((done - sent).as_micros().min(u32::MAX as u128) as u32);
                }
            }
            Ok(latencies_us)
        }));
    }
    let deadline = until + RUN_SLACK;
    let mut all: Vec<u32> = Vec::new();
    for t in tasks {
        let left = deadline.saturating_duration_since(Instant::now());
        let joined = tokio::time::timeout(left, t)
            .await
            .map_err(|_| "load run did not finish in time")?;
        all.extend(joined??);
    }
    if all.is_empty() {
        return Err("load run completed no request in the measured window".into());
    }
    all.sort_unstable();
    Ok(RunResult {
        rps: all.len() as f64 / duration.as_secs_f64(),
        p50_ms: percentile_sorted(&all, 0.50) as f64 / 1000.0,
        p99_ms: percentile_sorted(&all, 0.99) as f64 / 1000.0,
    })
}

// ---------------------------------------------------------------------------------------------
// Statistics.

/// Nearest-rank percentile of a sorted, non-empty slice.
fn percentile_sorted<T: Copy>(sorted: &[T], p: f64) -> T {
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s
}

/// Median (mean of the two middle values for an even count).
fn median(v: &[f64]) -> f64 {
    let s = sorted(v);
    let n = s.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// ---------------------------------------------------------------------------------------------
// The benchmark.

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Res<TempDir> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH)?.subsec_nanos();
        let p = std::env::temp_dir().join(format!("azemu-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn progress(msg: &str) {
    eprintln!("azemu-bench: {msg}");
}

struct TargetStats {
    rps: Vec<f64>,
    p50: Vec<f64>,
    p99: Vec<f64>,
    body_bytes: usize,
}

impl TargetStats {
    fn json(&self) -> Value {
        json!({
            "rps_median": round(median(&self.rps), 0),
            "rps_runs": self.rps.iter().map(|v| round(*v, 0)).collect::<Vec<_>>(),
            "latency_ms_p50": round(median(&self.p50), 3),
            "latency_ms_p99": round(median(&self.p99), 3),
            "body_bytes": self.body_bytes,
        })
    }
}

fn run(o: Options) -> Res<()> {
    let tmp = TempDir::new()?;
    let data_dir = tmp.0.join("data");
    let log = tmp.0.join("azemu.stderr.log");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(o.client_threads)
        .enable_all()
        .build()?;

    // 1 + 2: exec-to-ready and idle RSS. The first start (empty data dir) is reported apart.
    progress(&format!(
        "exec-to-ready: 1 + {} starts of {}",
        o.starts,
        o.azemu.display()
    ));
    let first_start_ms = {
        let s = start_azemu(&o, &data_dir, &log)?;
        ms(s.ready)
    };
    let mut ready_ms = Vec::with_capacity(o.starts);
    let mut rss_kib = Vec::with_capacity(o.rss_starts);
    for i in 0..o.starts {
        let s = start_azemu(&o, &data_dir, &log)?;
        ready_ms.push(ms(s.ready));
        if i < o.rss_starts {
            rt.block_on(prepare_azemu(s.addr, IDLE_REQUESTS))
                .map_err(|e| format!("{e}{}", s.log_tail()))?;
            std::thread::sleep(IDLE_SETTLE);
            rss_kib.push(s.rss_kib()? as f64);
        }
    }
    let ready_sorted = sorted(&ready_ms);
    let ready_median = median(&ready_ms);
    let ready_p90 = percentile_sorted(&ready_sorted, 0.90);
    let rss_median_kib = median(&rss_kib);
    let rss_median_mb = rss_median_kib * 1024.0 / 1e6;
    progress(&format!(
        "ready median {ready_median:.2} ms, p90 {ready_p90:.2} ms; idle RSS median {rss_median_mb:.2} MB"
    ));

    // 3: GET throughput against bare hyper, then writes and user flows.
    let u = user::run(&o, &rt, &tmp.0)?;

    let ready_pass = ready_median < TARGET_READY_MS;
    let rss_pass = rss_median_mb < TARGET_RSS_MB;
    let out = json!({
        "exec_to_ready_ms": {
            "median": round(ready_median, 3),
            "p90": round(ready_p90, 3),
            "min": round(ready_sorted[0], 3),
            "max": round(ready_sorted[ready_sorted.len() - 1], 3),
            "starts": ready_ms.len(),
            "first_start_empty_data_dir": round(first_start_ms, 3),
        },
        "idle_rss": {
            "median_kib": rss_median_kib.round() as u64,
            "median_mb": round(rss_median_mb, 2),
            "starts": rss_kib.len(),
        },
        "user": u.json(),
        "targets": {
            "ready_median_ms_below": TARGET_READY_MS,
            "ready_pass": ready_pass,
            "idle_rss_mb_below": TARGET_RSS_MB,
            "idle_rss_pass": rss_pass,
        }
    });
    if o.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let mark = |p: bool| if p { "PASS" } else { "MISS" };
        println!();
        println!(
            "azemu benchmark (127.0.0.1, {} cores; azemu with auth on unless marked)",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
        );
        println!("| figure | value | reference (same run) | ratio | target |");
        println!("|---|---|---|---|---|");
        println!(
            "| exec-to-ready (`--no-tls --no-auth`, {} starts) | {ready_median:.2} ms median, p90 {ready_p90:.2} ms | | | < {TARGET_READY_MS} ms [{}] |",
            ready_ms.len(),
            mark(ready_pass)
        );
        println!(
            "| idle RSS ({} starts) | {rss_median_mb:.2} MB | | | < {TARGET_RSS_MB} MB [{}] |",
            rss_kib.len(),
            mark(rss_pass)
        );
        u.print_rows();
    }
    Ok(())
}

/// A GUID-shaped string from a counter: distinct per call within a run, and across runs (the
/// first part mixes in the clock).
fn guid(n: u64) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0) as u64;
    format!(
        "{:08x}-0000-4000-8000-{:012x}",
        (nanos ^ n.rotate_left(17)) as u32,
        n & 0xffff_ffff_ffff
    )
}

mod user;

// ---------------------------------------------------------------------------------------------
// The scale run.

/// The small store the large one is compared with.
const SCALE_BASE: usize = 1_000;

mod scale {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    const IDENTITY_API: &str = "2024-11-30";
    const ROLE_API: &str = "2022-04-01";
    /// Reader, a built-in role.
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const SCALE_GROUP: &str = "azemu-scale";

    fn group() -> String {
        format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{SCALE_GROUP}")
    }

    fn identity_path(i: usize) -> String {
        format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-{i:07}?api-version={IDENTITY_API}",
            group()
        )
    }

    /// Creates identities `from..to` over `connections` keep-alive connections.
    async fn create(addr: SocketAddr, from: usize, to: usize, connections: usize) -> Res<Duration> {
        let next = Arc::new(AtomicUsize::new(from));
        let body = json!({ "location": LOCATION }).to_string();
        let t0 = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..connections {
            let next = next.clone();
            let body = body.clone();
            tasks.push(tokio::spawn(async move {
                let mut s = connect(addr).await?;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= to {
                        return Ok::<(), BoxError>(());
                    }
                    let path = identity_path(i);
                    let (status, text) = send(&mut s, addr, Method::PUT, &path, Some(&body)).await?;
                    if status != StatusCode::CREATED {
                        return Err(format!("PUT {path}: {status}: {}", String::from_utf8_lossy(&text)).into());
                    }
                }
            }));
        }
        for t in tasks {
            t.await??;
        }
        Ok(t0.elapsed())
    }

    /// Median latency (ms) of `n` requests on one connection, after a few unmeasured ones.
    async fn median_ms(
        addr: SocketAddr,
        n: usize,
        mut make: impl FnMut(u64) -> (Method, String, Option<String>),
        want: StatusCode,
    ) -> Res<f64> {
        let mut s = connect(addr).await?;
        let mut lat = Vec::with_capacity(n);
        for k in 0..(n + 5) as u64 {
            let (method, path, body) = make(k);
            let t = Instant::now();
            let (status, text) = send(&mut s, addr, method, &path, body.as_deref()).await?;
            let took = ms(t.elapsed());
            if status != want {
                return Err(format!("{path}: {status}: {}", String::from_utf8_lossy(&text)).into());
            }
            if k >= 5 {
                lat.push(took);
            }
        }
        Ok(median(&lat))
    }

    /// The three latencies at the store's current size.
    struct Point {
        identities: usize,
        rss_kib: u64,
        get_ms: f64,
        page_ms: f64,
        resources_ms: f64,
        assign_ms: f64,
    }

    async fn measure(addr: SocketAddr, samples: usize, identities: usize, rss_kib: u64, salt: u64) -> Res<Point> {
        let page = format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities?api-version={IDENTITY_API}&$top=1",
            group()
        );
        let page_ms = median_ms(addr, samples, |_| (Method::GET, page.clone(), None), StatusCode::OK).await?;
        // A point read, for comparison: what a larger heap costs any request.
        let one = identity_path(7);
        let get_ms = median_ms(addr, samples, |_| (Method::GET, one.clone(), None), StatusCode::OK).await?;
        let resources = format!("/subscriptions/{SUBSCRIPTION_ID}/resources?api-version={API_VERSION}&$top=10");
        let resources_ms = median_ms(
            addr,
            samples,
            |_| (Method::GET, resources.clone(), None),
            StatusCode::OK,
        )
        .await?;
        let assign_ms = median_ms(
            addr,
            samples,
            |k| {
                // Each at its own identity's scope (the duplicate check reads the assignments
                // of one scope): what is measured is the cost of the store's size.
                let n = salt * 1_000_000 + k;
                let identity = identity_path(k as usize + salt as usize * 300);
                let identity = identity.split('?').next().unwrap_or_default().to_string();
                let path = format!(
                    "{identity}/providers/Microsoft.Authorization/roleAssignments/{}?api-version={ROLE_API}",
                    guid(n)
                );
                let body = json!({ "properties": {
                    "roleDefinitionId": format!("/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Authorization/roleDefinitions/{READER}"),
                    "principalId": guid(n + 500_000),
                    "principalType": "ServicePrincipal",
                }});
                (Method::PUT, path, Some(body.to_string()))
            },
            StatusCode::CREATED,
        )
        .await?;
        Ok(Point {
            identities,
            rss_kib,
            get_ms,
            page_ms,
            resources_ms,
            assign_ms,
        })
    }

    impl Point {
        fn json(&self) -> Value {
            json!({
                "identities": self.identities,
                "rss_kib": self.rss_kib,
                "identity_get_ms_p50": round(self.get_ms, 3),
                "identities_top1_ms_p50": round(self.page_ms, 3),
                "resources_top10_ms_p50": round(self.resources_ms, 3),
                "role_assignment_put_ms_p50": round(self.assign_ms, 3),
            })
        }
    }

    pub fn run(o: Options) -> Res<()> {
        let n = o.scale.unwrap_or(SCALE_BASE);
        let connections = o.connections.min(8);
        let tmp = TempDir::new()?;
        let data_dir = tmp.0.join("data");
        let log = tmp.0.join("azemu.stderr.log");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(o.client_threads)
            .enable_all()
            .build()?;
        let azemu = start_azemu(&o, &data_dir, &log)?;
        let addr = azemu.addr;
        let fail = |e: BoxError| -> BoxError { format!("{e}{}", azemu.log_tail()).into() };
        rt.block_on(async {
            let mut s = connect(addr).await?;
            let path = format!("{}?api-version={API_VERSION}", group());
            let (status, text) = send(
                &mut s,
                addr,
                Method::PUT,
                &path,
                Some(&json!({ "location": LOCATION }).to_string()),
            )
            .await?;
            if !status.is_success() {
                return Err::<(), BoxError>(format!("PUT {path}: {status}: {}", String::from_utf8_lossy(&text)).into());
            }
            Ok(())
        })
        .map_err(fail)?;
        let empty_kib = azemu.rss_kib()?;

        progress(&format!("scale: creating {SCALE_BASE} identities"));
        rt.block_on(create(addr, 0, SCALE_BASE, connections)).map_err(fail)?;
        let rss_base = azemu.rss_kib()?;
        let small = rt
            .block_on(measure(addr, o.samples, SCALE_BASE, rss_base, 1))
            .map_err(fail)?;
        progress(&format!(
            "scale: at {SCALE_BASE}: $top=1 {:.3} ms, /resources {:.3} ms, role assignment {:.3} ms",
            small.page_ms, small.resources_ms, small.assign_ms
        ));

        progress(&format!(
            "scale: creating {} more identities on {connections} connections",
            n - SCALE_BASE
        ));
        let took = rt.block_on(create(addr, SCALE_BASE, n, connections)).map_err(fail)?;
        let creates_per_s = (n - SCALE_BASE) as f64 / took.as_secs_f64();
        std::thread::sleep(IDLE_SETTLE);
        let rss_large = azemu.rss_kib()?;
        let large = rt.block_on(measure(addr, o.samples, n, rss_large, 2)).map_err(fail)?;
        progress(&format!(
            "scale: at {n}: $top=1 {:.3} ms, /resources {:.3} ms, role assignment {:.3} ms",
            large.page_ms, large.resources_ms, large.assign_ms
        ));
        drop(azemu);

        let per_identity = (rss_large as f64 - rss_base as f64) * 1024.0 / (n - SCALE_BASE) as f64;
        let ratio = |a: f64, b: f64| round(b / a, 2);
        if o.json {
            let out = json!({
                "scale": {
                    "identities": n,
                    "connections": connections,
                    "samples": o.samples,
                    "creates_per_s": round(creates_per_s, 0),
                    "create_seconds": round(took.as_secs_f64(), 2),
                    "rss_kib_empty": empty_kib,
                    "rss_bytes_per_identity": round(per_identity, 0),
                    "small": small.json(),
                    "large": large.json(),
                    "ratio_large_small": {
                        "identity_get": ratio(small.get_ms, large.get_ms),
                        "identities_top1": ratio(small.page_ms, large.page_ms),
                        "resources_top10": ratio(small.resources_ms, large.resources_ms),
                        "role_assignment_put": ratio(small.assign_ms, large.assign_ms),
                    }
                }
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!();
            println!(
                "azemu scale benchmark (127.0.0.1, {} cores, plain HTTP, no auth)",
                std::thread::available_parallelism().map(|c| c.get()).unwrap_or(0)
            );
            println!(
                "  creates           {:>9.0} identities/s  ({} identities on {connections} connections in {:.1} s)",
                creates_per_s,
                n - SCALE_BASE,
                took.as_secs_f64()
            );
            println!(
                "  RSS               {:.1} MB empty, {:.1} MB at {SCALE_BASE}, {:.1} MB at {n}: {:.0} B per identity",
                empty_kib as f64 * 1024.0 / 1e6,
                rss_base as f64 * 1024.0 / 1e6,
                rss_large as f64 * 1024.0 / 1e6,
                per_identity
            );
            println!(
                "  median latency ({} requests each)   at {SCALE_BASE:>7}   at {n:>7}   ratio",
                o.samples
            );
            for (name, a, b) in [
                ("GET one identity", small.get_ms, large.get_ms),
                ("GET identities?$top=1", small.page_ms, large.page_ms),
                ("GET /resources?$top=10", small.resources_ms, large.resources_ms),
                ("PUT role assignment", small.assign_ms, large.assign_ms),
            ] {
                println!("    {name:<24} {a:>10.3} ms {b:>10.3} ms   {:>5.2}", b / a);
            }
        }
        Ok(())
    }
}
