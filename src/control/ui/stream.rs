//! `GET /_azemu/ui/stream`: server-sent events for the dashboard.
//!
//! Each connected page gets one small task that looks at the request journal and the activity
//! log a few times a second and sends what is new:
//!
//! - `journal`: one answered request (with the resource before and after, for writes),
//! - `event`: one entry of the activity log,
//! - `operations`: sent each second while long-running operations are running (the page then
//!   reads the views again, which also lets due operations end),
//! - `reset`: the activity log was emptied (a reset or a state import): read everything again.
//!
//! Every message carries an `id` of the form `{journal sequence}.{event count}`, so a
//! reconnecting `EventSource` (which sends it back as `Last-Event-ID`) resumes where it left
//! off. The task exists only while the page is connected and ends when azemu stops.

use crate::world::World;
use hyper::body::{Body, Bytes, Frame};
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

pub(crate) const PATH: &str = "/_azemu/ui/stream";

/// How often the journal and the activity log are looked at.
const TICK: Duration = Duration::from_millis(200);
/// A comment line this often keeps proxies and idle timeouts from closing the stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// At most this many journal entries are sent at once (a page that was away reads the rest).
const BATCH: usize = 500;

/// The body of an event stream: what the task sends, as it comes.
pub(crate) struct SseBody {
    rx: mpsc::Receiver<Bytes>,
}

impl Body for SseBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.rx.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }
}

/// Where the stream starts: after this journal sequence and this many events.
fn start_from<B>(world: &World, req: &hyper::Request<B>) -> (u64, u64) {
    let parse = |s: &str| -> Option<(u64, u64)> {
        let (j, e) = s.split_once('.')?;
        Some((j.trim().parse().ok()?, e.trim().parse().ok()?))
    };
    if let Some(v) = req.headers().get("last-event-id").and_then(|v| v.to_str().ok()) {
        if let Some(p) = parse(v) {
            return p;
        }
    }
    let query: Vec<(String, String)> = req
        .uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let get = |k: &str| {
        query
            .iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse::<u64>().ok())
    };
    match (get("journal"), get("events")) {
        (Some(j), Some(e)) => (j, e),
        // A page that read nothing yet starts from now.
        _ => (
            crate::control::harness(world).journal.tail(0).0,
            world.activity_since(u64::MAX).0,
        ),
    }
}

/// Answers `GET /_azemu/ui/stream` with an event stream; `None` for every other request.
/// The stream ends when the page goes away or when `stop` turns true.
pub(crate) fn accept<B>(
    world: &Arc<World>,
    req: &hyper::Request<B>,
    stop: &watch::Receiver<bool>,
) -> Option<hyper::Response<SseBody>> {
    if req.method() != hyper::Method::GET || !req.uri().path().eq_ignore_ascii_case(PATH) {
        return None;
    }
    let (journal, events) = start_from(world, req);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(run(world.clone(), tx, stop.clone(), journal, events));
    let mut resp = hyper::Response::new(SseBody { rx });
    let h = resp.headers_mut();
    h.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/event-stream; charset=utf-8"),
    );
    h.insert(
        hyper::header::CACHE_CONTROL,
        hyper::header::HeaderValue::from_static("no-cache"),
    );
    h.insert(
        hyper::header::HeaderName::from_static("x-accel-buffering"),
        hyper::header::HeaderValue::from_static("no"),
    );
    Some(resp)
}

/// One SSE message.
fn message(kind: &str, id: (u64, u64), data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {kind}\nid: {}.{}\ndata: {data}\n\n", id.0, id.1))
}

async fn run(world: Arc<World>, tx: mpsc::Sender<Bytes>, mut stop: watch::Receiver<bool>, journal: u64, events: u64) {
    let mut at = (journal, events);
    // Reconnect quickly after a restart of azemu.
    if tx.send(Bytes::from_static(b"retry: 500\n\n")).await.is_err() {
        return;
    }
    // A page that saw more than this azemu has was talking to an earlier one: start from now,
    // and tell it to read everything again.
    let now = (
        crate::control::harness(&world).journal.tail(0).0,
        world.activity_since(u64::MAX).0,
    );
    if at.0 > now.0 || at.1 > now.1 {
        at = now;
        if tx.send(message("reset", at, &serde_json::json!({}))).await.is_err() {
            return;
        }
    }
    if tx
        .send(message(
            "hello",
            at,
            &serde_json::json!({ "journal": at.0, "events": at.1 }),
        ))
        .await
        .is_err()
    {
        return;
    }
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut quiet = Duration::ZERO;
    let mut since_ops = Duration::ZERO;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() || tx.is_closed() {
            return;
        }
        let mut out: Vec<Bytes> = Vec::new();
        // Requests first: the events a request caused are recorded before it is journaled.
        let entries = crate::control::harness(&world)
            .journal
            .query(None, None, None, Some(at.0));
        for e in entries.iter().take(BATCH) {
            at.0 = e["sequence"].as_u64().unwrap_or(at.0);
            out.push(message("journal", at, e));
        }
        let (count, new_events) = world.activity_since(at.1);
        if count < at.1 {
            at.1 = count;
            out.push(message("reset", at, &serde_json::json!({})));
        } else {
            for e in new_events {
                at.1 += 1;
                out.push(message("event", at, &e));
            }
        }
        since_ops += TICK;
        if world.has_running_operations() && since_ops >= Duration::from_secs(1) {
            since_ops = Duration::ZERO;
            out.push(message("operations", at, &serde_json::json!({})));
        }
        quiet = if out.is_empty() { quiet + TICK } else { Duration::ZERO };
        if quiet >= KEEP_ALIVE {
            quiet = Duration::ZERO;
            out.push(Bytes::from_static(b": keep-alive\n\n"));
        }
        for b in out {
            if tx.send(b).await.is_err() {
                return;
            }
        }
    }
}
