//! The HTTP(S) server: hyper on tokio, TLS by rustls, HTTP/1.1 and HTTP/2.
//!
//! It decodes each request into an [`arm::Request`](crate::arm::Request), hands it to
//! [`dispatch::handle`], and writes the response with the headers every ARM response carries
//! (`x-ms-request-id`, `x-ms-correlation-request-id`, JSON content type).

pub(crate) mod dispatch;
pub(crate) mod guard;
pub(crate) mod tls;

use crate::arm::{id, Body, Headers, Request, Response};
use crate::config::Config;
use crate::entra::Signer;
use crate::world::World;
use bytes_body::full;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::watch;

mod bytes_body {
    use hyper::body::Bytes;
    /// A whole body, or the dashboard's event stream.
    pub(crate) type Full = http_body_util::Either<http_body_util::Full<Bytes>, crate::control::ui::stream::SseBody>;
    pub(crate) fn full(b: Vec<u8>) -> Full {
        http_body_util::Either::Left(http_body_util::Full::new(Bytes::from(b)))
    }
}

/// A started azemu.
pub struct Running {
    pub addr: SocketAddr,
    /// The URL clients use (`https://127.0.0.1:PORT`).
    pub url: String,
    /// The CA clients must trust, when serving TLS.
    pub ca_path: Option<PathBuf>,
    pub(crate) world: Arc<World>,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting, lets open requests finish (up to 5 s), then returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.task.await;
    }

    /// Waits until the server stops by itself (it never does without `stop`).
    pub async fn wait(self) {
        let _ = self.task.await;
    }

    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }
}

fn url_host(host: &str) -> String {
    match host {
        "0.0.0.0" | "" => "localhost".to_string(),
        "::" => "[::1]".to_string(),
        h if h.contains(':') => format!("[{h}]"),
        h => h.to_string(),
    }
}

/// Binds, builds the world and starts serving in the background.
pub async fn start(config: Config) -> std::io::Result<Running> {
    std::fs::create_dir_all(&config.data_dir)?;
    let tls = if config.tls { Some(tls::setup(&config)?) } else { None };
    let signer = match config.seed {
        Some(seed) => Signer::derived(&format!("azemu-token-key:{seed}")),
        None => Signer::load_or_create(&config.data_dir).unwrap_or_else(|_| Signer::ephemeral()),
    };
    let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
    let addr = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = config
        .public_url
        .clone()
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| format!("{scheme}://{}:{}", url_host(&config.host), addr.port()));
    let wiring = crate::world::Wiring {
        pipeline: dispatch::pipeline,
        seed: crate::providers::seed_defaults,
    };
    let world = Arc::new(World::new(
        config,
        signer,
        wiring,
        Box::new(crate::control::Harness::default()),
    ));
    world.set_base_url(url.clone());
    crate::control::state::load_at_start(&world)?;
    let (tx, rx) = watch::channel(false);
    let ca_path = tls.as_ref().map(|t| t.ca_path.clone());
    let acceptor = tls.map(|t| tokio_rustls::TlsAcceptor::from(t.server_config));
    let saver = tokio::spawn(crate::control::state::save_periodically(world.clone(), rx.clone()));
    let task = tokio::spawn(accept_loop(listener, acceptor, world.clone(), rx, saver));
    Ok(Running {
        addr,
        url,
        ca_path,
        world,
        shutdown: tx,
        task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    world: Arc<World>,
    mut shutdown: watch::Receiver<bool>,
    saver: tokio::task::JoinHandle<()>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let idle = Duration::from_millis(world.config.idle_timeout_ms.max(1));
    loop {
        let (tcp, _peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = tcp.set_nodelay(true);
        let world = world.clone();
        let stop = shutdown.clone();
        let svc = hyper::service::service_fn(move |req| {
            let world = world.clone();
            let sse = crate::control::ui::stream::accept(&world, &req, &stop);
            async move {
                Ok::<_, std::convert::Infallible>(match sse {
                    Some(r) => r.map(http_body_util::Either::Right),
                    None => serve(&world, req).await,
                })
            }
        });
        let watcher = graceful.watcher();
        match &acceptor {
            Some(acc) => {
                let acc = acc.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(Duration::from_secs(10), acc.accept(tcp)).await {
                        Ok(Ok(stream)) => serve_connection(stream, svc, watcher, idle).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                });
            }
            None => {
                tokio::spawn(async move {
                    // The `auto` builder waits for the first bytes to tell HTTP/1.1 from h2c,
                    // before any protocol timer runs: a connection that sends nothing within
                    // `idle` is closed here.
                    let mut first = [0u8; 1];
                    if let Ok(Ok(n)) = tokio::time::timeout(idle, tcp.peek(&mut first)).await {
                        if n > 0 {
                            serve_connection(tcp, svc, watcher, idle).await;
                        }
                    }
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
    }
    // A periodic save under way finishes (its temporary file renamed) before the last one.
    let _ = saver.await;
    crate::control::state::save_at_stop(&world);
}

/// Serves one connection over HTTP/1.1 or HTTP/2, whichever the client speaks (hyper-util's
/// `auto` builder reads the HTTP/2 preface; with TLS the client chose by ALPN), until it closes
/// or the server shuts down gracefully. A connection idle for `idle` is closed: HTTP/1.1 one
/// that sends no (complete) request head, HTTP/2 one that stops answering keep-alive pings.
async fn serve_connection<IO, S>(io: IO, svc: S, watcher: hyper_util::server::graceful::Watcher, idle: Duration)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            hyper::Request<Incoming>,
            Response = hyper::Response<bytes_body::Full>,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(idle);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(idle))
        .keep_alive_timeout(idle);
    let conn = builder.serve_connection(TokioIo::new(io), svc);
    let _ = watcher.watch(conn).await;
}

/// Reads a body of at most `limit` bytes. The rest of an oversized body is drained in the
/// background (bounded in bytes and time), so neither an HTTP/2 stream nor an HTTP/1.1
/// connection is reset under a client still sending before the 413 answer reaches it.
async fn read_body(mut body: Incoming, limit: usize, declared: Option<usize>) -> Result<Vec<u8>, ()> {
    let mut out = Vec::new();
    if declared.is_none_or(|n| n <= limit) {
        out.reserve(declared.unwrap_or(0));
        loop {
            match body.frame().await {
                None => return Ok(out),
                Some(Err(_)) => return Err(()),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        if out.len() + data.len() > limit {
                            break;
                        }
                        out.extend_from_slice(&data);
                    }
                }
            }
        }
    }
    tokio::spawn(async move {
        let mut drained = 0usize;
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while let Some(Ok(frame)) = body.frame().await {
                drained += frame.data_ref().map_or(0, |d| d.len());
                if drained > 4 * guard::MAX_BODY_BYTES {
                    break;
                }
            }
        })
        .await;
    });
    Err(())
}

/// Decodes, dispatches and encodes one request.
async fn serve(world: &World, req: hyper::Request<Incoming>) -> hyper::Response<bytes_body::Full> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let correlation_id = parts
        .headers
        .get(&CORRELATION_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| world.ids.guid());
    let request_id = world.ids.guid();
    let raw_path = parts.uri.path();
    let query = parts.uri.query().map(parse_query).unwrap_or_default();
    // hyper's header names are already lower case.
    let bytes = parts
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum::<usize>();
    let mut headers = Headers::with_capacity(parts.headers.len() + 1, bytes + 64);
    for (k, v) in &parts.headers {
        if let Ok(v) = v.to_str() {
            headers.push(k.as_str(), v);
        }
    }
    // HTTP/2 carries the host as the `:authority` pseudo-header, not `Host`.
    if !parts.headers.contains_key(hyper::header::HOST) {
        if let Some(a) = parts.uri.authority() {
            headers.push("host", a.as_str());
        }
    }
    let method = parts.method.as_str().to_ascii_uppercase();

    let limit = guard::body_limit(&method, raw_path);
    let declared_len = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let body_bytes = read_body(body, limit, declared_len).await;

    let (path, segments) = id::path_and_segments(raw_path);
    let refused = if body_bytes.is_err() {
        Some(guard::too_large(limit))
    } else {
        guard::check_path(raw_path).err()
    };
    let before = (refused.is_none() && matches!(method.as_str(), "PUT" | "PATCH" | "DELETE"))
        .then(|| world.read().store.get(&path).map(|r| r.body))
        .flatten();
    let content_type = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let body = body_bytes.unwrap_or_default();
    let refused = refused.or_else(|| guard::check_body(&method, &segments, content_type.as_deref(), &body).err());
    let request = Request {
        method,
        segments,
        path,
        query,
        headers,
        body,
        base_url: world.base_url_shared(),
    };
    if !matches!(request.method.as_str(), "GET" | "HEAD") {
        crate::control::harness(world).persistence.let_saver_in().await;
    }
    let settling = world.has_pending_operations();
    let response = match refused {
        Some(e) => e.into(),
        None => handle_catching_panics(world, &request, &correlation_id),
    };
    if settling || !matches!(request.method.as_str(), "GET" | "HEAD") {
        crate::control::harness(world).persistence.touch();
    }
    let response = crate::control::faults::delay(world, &request, response).await;
    let status = response.status;
    tracing::info!(
        method = %request.method,
        path = %raw_path,
        status,
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    let mut encoded = encode(response, &request.method, request_id, &correlation_id);
    if world.config.seed.is_some() {
        // Under --seed the clock is virtual: `Date` follows it, not the wall clock.
        if let Ok(v) = hyper::header::HeaderValue::from_str(&crate::arm::time::http_date(world.now())) {
            encoded.headers_mut().insert(hyper::header::DATE, v);
        }
    }
    crate::control::journal::record(world, request, status, correlation_id, started.elapsed(), before);
    encoded
}

/// The query's pairs, decoded as `application/x-www-form-urlencoded` (what
/// `form_urlencoded::parse` gives); a pair with nothing to decode is copied as is.
fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            if pair.contains(['%', '+']) {
                let mut decoded = form_urlencoded::parse(pair.as_bytes()).into_owned();
                decoded.next().unwrap_or_default()
            } else {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (k.to_string(), v.to_string())
            }
        })
        .collect()
}

/// Dispatches one request; a panic inside it (a bug) answers this request 500
/// `InternalServerError`, ARM-shaped, and leaves the server serving: every lock azemu holds
/// tolerates poisoning, so the next request proceeds.
fn handle_catching_panics(world: &World, request: &Request, correlation_id: &str) -> Response {
    let run = std::panic::AssertUnwindSafe(|| dispatch::handle(world, request, correlation_id));
    match std::panic::catch_unwind(run) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(method = %request.method, path = %request.path, panic = %what, "a request panicked");
            crate::arm::ArmError::new(
                500,
                "InternalServerError",
                "Encountered internal server error. Please try again later.",
            )
            .into()
        }
    }
}

/// The headers every ARM answer carries, in the order they are sent, for reads (`[0]`) and
/// writes (`[1]`): built once, cloned per answer. The two ids are placeholders each answer
/// replaces in place; `Content-Type` comes last so an answer without one drops it in place.
fn header_templates() -> &'static [hyper::HeaderMap; 2] {
    use hyper::header::{HeaderName, HeaderValue, CACHE_CONTROL, CONTENT_TYPE, EXPIRES, PRAGMA};
    static TEMPLATES: std::sync::OnceLock<[hyper::HeaderMap; 2]> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let build = |limit: &'static str, remaining: &'static str| {
            // Room for the handler's own headers without growing the index.
            let mut h = hyper::HeaderMap::with_capacity(16);
            h.insert(REQUEST_ID, HeaderValue::from_static("-"));
            h.insert(CORRELATION_ID, HeaderValue::from_static("-"));
            h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
            h.insert(EXPIRES, HeaderValue::from_static("-1"));
            h.insert(HeaderName::from_static(limit), HeaderValue::from_static(remaining));
            h.insert(
                CONTENT_TYPE,
                HeaderValue::from_static(crate::arm::request::JSON_CONTENT_TYPE),
            );
            h
        };
        [
            build("x-ms-ratelimit-remaining-subscription-reads", "11999"),
            build("x-ms-ratelimit-remaining-subscription-writes", "1199"),
        ]
    })
}

const REQUEST_ID: hyper::header::HeaderName = hyper::header::HeaderName::from_static("x-ms-request-id");
const CORRELATION_ID: hyper::header::HeaderName = hyper::header::HeaderName::from_static("x-ms-correlation-request-id");

fn encode(r: Response, method: &str, request_id: String, correlation_id: &str) -> hyper::Response<bytes_body::Full> {
    use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
    let read = method == "GET" || method == "HEAD";
    let Response { status, headers, body } = r;
    // `None`: the JSON type of the template; `Some(None)`: no content type.
    let (mut bytes, content_type) = match body {
        Body::Empty => (Vec::new(), Some(None)),
        Body::Json(v) => {
            let mut b = Vec::with_capacity(512);
            let _ = serde_json::to_writer(&mut b, &v);
            (b, None)
        }
        Body::Raw(b, ct) if ct == crate::arm::request::JSON_CONTENT_TYPE => (b, None),
        Body::Raw(b, ct) => (b, Some(HeaderValue::from_str(&ct).ok())),
    };
    if method == "HEAD" {
        bytes.clear();
    }
    let mut resp = hyper::Response::new(full(bytes));
    *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let h = resp.headers_mut();
    *h = header_templates()[usize::from(!read)].clone();
    let invalid = || HeaderValue::from_static("invalid");
    // The request id is a fresh GUID: its bytes become the header value without a copy.
    let rid = HeaderValue::from_maybe_shared(hyper::body::Bytes::from(request_id)).unwrap_or_else(|_| invalid());
    h.insert(REQUEST_ID, rid);
    h.insert(
        CORRELATION_ID,
        HeaderValue::from_str(correlation_id).unwrap_or_else(|_| invalid()),
    );
    match content_type {
        None => {}
        Some(Some(ct)) => {
            h.insert(CONTENT_TYPE, ct);
        }
        Some(None) => {
            h.remove(CONTENT_TYPE);
        }
    }
    // Handler headers last: they win over the defaults (a throttled answer's rate limit is 0).
    for (k, v) in &headers {
        if let (Ok(name), Ok(val)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
            h.insert(name, val);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_query_reads_as_form_urlencoded_parses_it() {
        for q in [
            "",
            "api-version=2024-11-01",
            "api-version=2024-11-01&$top=1&&$filter=name%20eq%20'a+b'",
            "a&b=&=c&d==e",
            "%zz=%41%42&x=%E2%82%AC&y=%FF",
            "+=+&k=v+w",
        ] {
            let expected: Vec<(String, String)> = form_urlencoded::parse(q.as_bytes()).into_owned().collect();
            assert_eq!(super::parse_query(q), expected, "{q}");
        }
    }
}
