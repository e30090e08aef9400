//! The request journal: every call azemu answered, with time, method, path, api-version,
//! status, correlation id and duration, and for writes the resource before and after.
//! Read at `GET /_azemu/requests`; `GET /_azemu/requests/scenario` turns it into a scenario.
//!
//! The journal is bounded by bytes (`--journal-max-bytes`, 16 MiB by default) as well as by
//! count: the oldest entries go first. Bodies are kept as JSON text (what they cost is what
//! they weigh); a refused request's body (401, 403, 413, 415, 429: nobody's write) is never
//! kept, and any other body larger than [`MAX_KEPT_BODY`] is left out, its size noted.

use crate::arm::time::rfc3339;
use crate::arm::Request;
use crate::world::World;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// How many entries are kept (the oldest are dropped first).
pub(crate) const CAPACITY: usize = 10_000;

/// The largest request body or resource an entry keeps.
pub(crate) const MAX_KEPT_BODY: usize = 256 * 1024;

/// What an entry weighs besides its strings (the fields, the queue slot, rendering).
const ENTRY_OVERHEAD: usize = 256;

/// One answered request, kept cheaply; rendered as JSON only when read.
struct Entry {
    sequence: u64,
    time: i64,
    method: &'static str,
    /// The path, the correlation id and the api-version, back to back in one buffer, taken
    /// over from the entry it pushes out when that one fits (no allocation, nothing freed).
    text: String,
    path_end: usize,
    correlation_end: usize,
    has_api_version: bool,
    status: u16,
    duration_ms: f64,
    /// For writes: the request body, and the resource before and after.
    write: Option<Box<Write>>,
}

/// A write's bodies as JSON text (`None`: none, or not kept).
struct Write {
    request: Kept,
    before: Kept,
    after: Kept,
}

enum Kept {
    None,
    Json(Box<str>),
    /// Left out: why, and how large it was.
    Omitted(&'static str, usize),
}

impl Kept {
    fn of_value(v: Option<Value>) -> Kept {
        match v {
            None | Some(Value::Null) => Kept::None,
            Some(v) => {
                let text = v.to_string();
                if text.len() > MAX_KEPT_BODY {
                    Kept::Omitted("too large for the journal", text.len())
                } else {
                    Kept::Json(text.into_boxed_str())
                }
            }
        }
    }

    fn weight(&self) -> usize {
        match self {
            Kept::Json(t) => t.len(),
            _ => 0,
        }
    }

    fn render(&self) -> Value {
        match self {
            Kept::Json(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            _ => Value::Null,
        }
    }
}

impl Entry {
    fn path(&self) -> &str {
        &self.text[..self.path_end]
    }

    fn correlation_id(&self) -> &str {
        &self.text[self.path_end..self.correlation_end]
    }

    fn api_version(&self) -> Option<&str> {
        self.has_api_version.then(|| &self.text[self.correlation_end..])
    }

    fn weight(&self) -> usize {
        ENTRY_OVERHEAD
            + self.text.len()
            + self
                .write
                .as_ref()
                .map_or(0, |w| w.request.weight() + w.before.weight() + w.after.weight())
    }

    fn to_json(&self) -> Value {
        let mut e = json!({
            "sequence": self.sequence,
            "time": rfc3339(self.time),
            "method": self.method,
            "path": self.path(),
            "apiVersion": self.api_version(),
            "status": self.status,
            "correlationId": self.correlation_id(),
            "durationMs": self.duration_ms,
        });
        if let Some(w) = &self.write {
            e["requestBody"] = w.request.render();
            e["before"] = w.before.render();
            e["after"] = w.after.render();
            if let Kept::Omitted(why, size) = &w.request {
                e["requestBodyOmitted"] = json!({ "reason": why, "bytes": size });
            }
        }
        e
    }
}

#[derive(Default)]
struct Entries {
    sequence: u64,
    bytes: usize,
    queue: VecDeque<(usize, Entry)>,
}

#[derive(Default)]
pub(crate) struct Journal {
    entries: Mutex<Entries>,
}

impl Journal {
    pub(crate) fn clear(&self) {
        let mut g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        g.queue.clear();
        g.bytes = 0;
    }

    /// The last sequence number given out, and the newest `n` entries, oldest first.
    pub(crate) fn tail(&self, n: usize) -> (u64, Vec<Value>) {
        let guard = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let skip = guard.queue.len().saturating_sub(n);
        let tail = guard.queue.iter().skip(skip).map(|(_, e)| e.to_json()).collect();
        (guard.sequence, tail)
    }

    /// Entries matching the filters, oldest first.
    pub(crate) fn query(
        &self,
        method: Option<&str>,
        path: Option<&str>,
        status: Option<u16>,
        since: Option<u64>,
    ) -> Vec<Value> {
        let path = path.map(str::to_ascii_lowercase);
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .queue
            .iter()
            .map(|(_, e)| e)
            .filter(|e| method.is_none_or(|m| e.method.eq_ignore_ascii_case(m)))
            .filter(|e| path.as_ref().is_none_or(|p| e.path().to_ascii_lowercase().contains(p)))
            .filter(|e| status.is_none_or(|s| e.status == s))
            .filter(|e| since.is_none_or(|s| e.sequence > s))
            .map(Entry::to_json)
            .collect()
    }

    /// Appends `entry` with its text made of `parts` (path, correlation id, api-version).
    fn push(&self, mut entry: Entry, parts: [&str; 3], max_bytes: usize) {
        let text_len: usize = parts.iter().map(|p| p.len()).sum();
        let mut weight = entry.weight() + text_len;
        if weight > max_bytes {
            // Even alone it would not fit: keep the call, not its bodies.
            if let Some(w) = entry.write.as_mut() {
                let size = w.request.weight();
                w.request = Kept::Omitted("too large for the journal", size);
                w.before = Kept::None;
                w.after = Kept::None;
            }
            weight = entry.weight() + text_len;
        }
        // Entries pushed out are dropped after the lock is released (usually one per push).
        let mut evicted = None;
        let mut more_evicted = Vec::new();
        let mut g = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        g.sequence += 1;
        entry.sequence = g.sequence;
        while !g.queue.is_empty() && (g.queue.len() >= CAPACITY || g.bytes + weight > max_bytes) {
            if let Some((w, old)) = g.queue.pop_front() {
                g.bytes -= w;
                match evicted {
                    None => evicted = Some(old),
                    Some(_) => more_evicted.push(old),
                }
            }
        }
        // A buffer with at most this much room to spare is reused (the weight counts the text,
        // so the slack is bounded).
        const SLACK: usize = 64;
        let reused = evicted.as_mut().and_then(|e| {
            let room = e.text.capacity();
            (room >= text_len && room <= text_len + SLACK).then(|| std::mem::take(&mut e.text))
        });
        let mut text = reused.unwrap_or_else(|| String::with_capacity(text_len));
        text.clear();
        text.push_str(parts[0]);
        entry.path_end = text.len();
        text.push_str(parts[1]);
        entry.correlation_end = text.len();
        text.push_str(parts[2]);
        entry.text = text;
        g.bytes += weight;
        g.queue.push_back((weight, entry));
        drop(g);
        drop(evicted);
        drop(more_evicted);
    }
}

/// The method as a static string (the journal keeps thousands of entries).
fn static_method(m: &str) -> &'static str {
    match m {
        "GET" => "GET",
        "PUT" => "PUT",
        "POST" => "POST",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    }
}

fn is_write(method: &str) -> bool {
    matches!(method, "PUT" | "PATCH" | "DELETE" | "POST")
}

/// Statuses of requests nobody was allowed to make: their bodies are never kept.
fn refused(status: u16) -> bool {
    matches!(status, 401 | 403 | 413 | 415 | 429)
}

/// The request body as JSON text, when it is JSON and small enough to keep.
fn request_body(req: &Request, status: u16) -> Kept {
    let blank = req.body.iter().all(u8::is_ascii_whitespace);
    if blank || req.path.contains("/oauth2/") {
        return Kept::None;
    }
    if refused(status) {
        return Kept::Omitted("the request was refused", req.body.len());
    }
    if req.body.len() > MAX_KEPT_BODY {
        return Kept::Omitted("too large for the journal", req.body.len());
    }
    match (
        serde_json::from_slice::<serde::de::IgnoredAny>(&req.body),
        std::str::from_utf8(&req.body),
    ) {
        (Ok(_), Ok(text)) => Kept::Json(text.trim().into()),
        _ => Kept::None,
    }
}

/// Records one answered request, taking the request (the journal keeps its path).
/// `before` is the resource at the path before a write.
pub(crate) fn record(
    w: &World,
    req: Request,
    status: u16,
    correlation_id: String,
    elapsed: Duration,
    before: Option<Value>,
) {
    if req.segments.first().is_some_and(|s| s == "_azemu") {
        return;
    }
    let write = is_write(&req.method).then(|| {
        let after = if refused(status) {
            None
        } else {
            w.read().store.get(&req.path).map(|r| r.body)
        };
        Box::new(Write {
            request: request_body(&req, status),
            before: Kept::of_value(before),
            after: Kept::of_value(after),
        })
    });
    let method = static_method(&req.method);
    let api_version = req.api_version();
    let entry = Entry {
        sequence: 0,
        time: w.now(),
        method,
        text: String::new(),
        path_end: 0,
        correlation_end: 0,
        has_api_version: api_version.is_some(),
        status,
        duration_ms: (elapsed.as_secs_f64() * 1_000_000.0).round() / 1000.0,
        write,
    };
    let parts = [req.path.as_str(), correlation_id.as_str(), api_version.unwrap_or("")];
    super::harness(w).journal.push(entry, parts, w.config.journal_max_bytes);
}

/// GUID strings in `v` with the JSON path that reaches them (simple keys only).
fn guids_in(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if crate::arm::id::is_guid(s) => out.push((s.to_ascii_lowercase(), path.to_string())),
        Value::Object(m) => {
            for (k, x) in m {
                if k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    guids_in(x, &p, out);
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                guids_in(x, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Replaces every case-insensitive occurrence of `needle` in `text`.
fn replace_ci(text: &str, needle: &str, with: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(pos) = lower[i..].find(needle) {
        out.push_str(&text[i..i + pos]);
        out.push_str(with);
        i += pos + needle.len();
    }
    out.push_str(&text[i..]);
    out
}

/// The ARM calls of the journal as a scenario that replays them and expects the same
/// statuses. Values azemu generated (an identity's clientId and principalId, …) become
/// captures of the step that created them, and the subscription becomes `${subscriptionId}`,
/// so the scenario replays against any azemu.
pub(crate) fn as_scenario(entries: &[Value]) -> Value {
    let arm: Vec<&Value> = entries
        .iter()
        .filter(|e| {
            let p = e["path"].as_str().unwrap_or("");
            (p.starts_with("/subscriptions") || p.starts_with("/providers") || p.starts_with("/tenants"))
                && !p.contains("/operations/")
                && !p.contains("/operationresults/")
        })
        .collect();
    let mut subs: Vec<String> = arm
        .iter()
        .filter_map(|e| crate::arm::id::ScopeParts::parse(e["path"].as_str().unwrap_or("")).subscription)
        .map(|s| s.to_ascii_lowercase())
        .collect();
    subs.sort();
    subs.dedup();
    let mut steps: Vec<Value> = Vec::new();
    // generated GUID → variable name
    let mut generated: Vec<(String, String)> = Vec::new();
    for (i, e) in arm.iter().enumerate() {
        let mut request = json!({ "method": e["method"], "path": e["path"], "apiVersion": e["apiVersion"] });
        if !e["requestBody"].is_null() {
            request["body"] = e["requestBody"].clone();
        }
        let mut text = request.to_string();
        if let [only] = subs.as_slice() {
            text = replace_ci(&text, only, "${subscriptionId}");
        }
        for (guid, var) in &generated {
            text = replace_ci(&text, guid, &format!("${{{var}}}"));
        }
        let request: Value = serde_json::from_str(&text).unwrap_or(request);
        let mut step = json!({
            "name": format!("{} {}", e["method"].as_str().unwrap_or(""), request["path"].as_str().unwrap_or("")),
            "request": request,
            "expect": { "status": e["status"] },
        });
        let sent = format!("{} {}", e["path"], e["requestBody"]).to_ascii_lowercase();
        let mut found = Vec::new();
        guids_in(&e["after"], "", &mut found);
        let mut captures = serde_json::Map::new();
        for (guid, path) in found {
            if sent.contains(&guid) || subs.contains(&guid) || generated.iter().any(|(g, _)| *g == guid) {
                continue;
            }
            let var = format!(
                "s{}_{}",
                i + 1,
                path.replace(['.', '[', ']'], "_").trim_end_matches('_')
            );
            captures.insert(var.clone(), json!(path));
            generated.push((guid, var));
        }
        if !captures.is_empty() {
            step["capture"] = Value::Object(captures);
        }
        steps.push(step);
    }
    json!({ "name": "recorded session", "description": "Recorded from the azemu request journal.", "steps": steps })
}
