//! Fault injection: rules under `/_azemu/faults` that make matching ARM calls answer 429
//! (with `Retry-After` and rate-limit headers), 500 or 503, wait before answering, or start
//! a long-running operation that ends `Failed`. A rule applies to the next N matches or with
//! a probability (reproducible under `--seed`). Faults are applied after authentication, so
//! clients exercise their real retry paths.
//!
//! One more kind, `{"panic": true}`, makes the matching request's handler panic while it
//! holds the write gate and the fault rules' lock: it shows that a bug in one request answers
//! that request 500 `InternalServerError` and leaves azemu serving every other one.

use crate::arm::{glob, ArmError, Request, Response};
use crate::world::World;
use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Match {
    /// HTTP method, e.g. `PUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<String>,
    /// Glob over the path (`*` matches anything, case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) path: Option<String>,
    /// Resource provider namespace, e.g. `Microsoft.ContainerService`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) provider: Option<String>,
    /// Glob over `"{METHOD} {Namespace}/{type}[/{childType}]"` or a POST action name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) operation: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Respond {
    /// 429, 500 or 503 (any 4xx/5xx is accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) retry_after: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) message: Option<String>,
    /// Wait this long before answering (the request is then served normally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) delay_ms: Option<u64>,
    /// The long-running operation the request starts ends `Failed` with this code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lro_fail: Option<String>,
    /// The request's handler panics (azemu answers 500 and keeps serving).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) panic: Option<bool>,
}

/// The longest delay a fault may ask for: 10 minutes.
pub(crate) const MAX_DELAY_MS: u64 = 600_000;

impl Fault {
    /// Checks the numbers and the kind a client sent; the 400 it deserves otherwise.
    pub(crate) fn validate(&self) -> Result<(), ArmError> {
        let bad = |m: String| Err(ArmError::bad_request("InvalidFault", m));
        let r = &self.respond;
        if r.status.is_none() && r.delay_ms.is_none() && r.lro_fail.is_none() && r.panic != Some(true) {
            return bad("A fault needs respond.status, respond.delayMs, respond.lroFail or respond.panic.".into());
        }
        if r.status.is_some_and(|s| !(400..=599).contains(&s)) {
            return bad("respond.status must be a 4xx or 5xx status.".into());
        }
        if r.delay_ms.is_some_and(|d| d > MAX_DELAY_MS) {
            return bad(format!("respond.delayMs must be between 0 and {MAX_DELAY_MS}."));
        }
        if r.retry_after.is_some_and(|s| s > crate::arm::lro::MAX_RETRY_AFTER_S) {
            return bad(format!(
                "respond.retryAfter must be between 0 and {} seconds.",
                crate::arm::lro::MAX_RETRY_AFTER_S
            ));
        }
        if self.times == Some(0) {
            return bad("times must be at least 1 (omit it for a fault that stays until deleted).".into());
        }
        if self.probability.is_some_and(|p| !(0.0..=1.0).contains(&p)) {
            return bad("probability must be between 0 and 1.".into());
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Fault {
    #[serde(default)]
    pub(crate) id: String,
    #[serde(rename = "match", default)]
    pub(crate) matcher: Match,
    pub(crate) respond: Respond,
    /// Applies to the next N matches, then is removed. `None`: until deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) times: Option<u32>,
    /// Chance (0..1) that a match fires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) probability: Option<f64>,
    #[serde(default)]
    pub(crate) fired: u32,
}

#[derive(Default)]
pub(crate) struct Faults {
    rules: Mutex<Vec<Fault>>,
    /// How many rules there are, read without the lock on every request.
    count: std::sync::atomic::AtomicUsize,
}

impl Faults {
    pub(crate) fn add(&self, f: Fault) {
        let mut r = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        r.push(f);
        self.count.store(r.len(), std::sync::atomic::Ordering::SeqCst);
    }

    pub(crate) fn list(&self) -> Vec<Fault> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn remove(&self, id: &str) -> bool {
        let mut r = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        let before = r.len();
        r.retain(|f| f.id != id);
        self.count.store(r.len(), std::sync::atomic::Ordering::SeqCst);
        r.len() != before
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clear();
        self.count.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// `"PUT Microsoft.ContainerService/managedClusters"` for a request path.
fn operation_of(req: &Request) -> (String, String) {
    match crate::arm::id::split_provider_path(&req.segments) {
        Some(p) => {
            let types: Vec<&str> = p.rest.iter().step_by(2).map(String::as_str).collect();
            (
                p.namespace.clone(),
                format!("{} {}/{}", req.method, p.namespace, types.join("/")),
            )
        }
        // Subscriptions and resource groups have no `/providers/` segment: they are
        // `Microsoft.Resources` types (`GET Microsoft.Resources/resourceGroups`), as the
        // README's fault table documents.
        None => {
            let mut types: Vec<&str> = req.segments.iter().step_by(2).map(String::as_str).collect();
            if types.len() > 1 && types[0].eq_ignore_ascii_case("subscriptions") {
                types.remove(0);
            }
            let ns = "Microsoft.Resources".to_string();
            let op = format!("{} {ns}/{}", req.method, types.join("/"));
            (ns, op)
        }
    }
}

fn matches(m: &Match, req: &Request) -> bool {
    let (ns, op) = operation_of(req);
    m.method.as_ref().is_none_or(|x| x.eq_ignore_ascii_case(&req.method))
        && m.path.as_ref().is_none_or(|p| glob::matches(p, &req.path))
        && m.provider
            .as_ref()
            .is_none_or(|p| p.is_empty() || p.eq_ignore_ascii_case(&ns))
        && m.operation
            .as_ref()
            .is_none_or(|o| glob::matches(o, &op) || req.segments.last().is_some_and(|l| l.eq_ignore_ascii_case(o)))
}

/// The first rule of `kind` that fires for `req`; counts it and retires exhausted rules.
fn fire(w: &World, req: &Request, wanted: impl Fn(&Respond) -> bool) -> Option<Fault> {
    if super::harness(w).faults.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        return None;
    }
    let mut rules = super::harness(w)
        .faults
        .rules
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let idx = rules.iter().position(|f| {
        wanted(&f.respond)
            && matches(&f.matcher, req)
            && f.probability
                .is_none_or(|p| (w.ids.below(1_000_000) as f64) / 1_000_000.0 < p)
    })?;
    rules[idx].fired = rules[idx].fired.saturating_add(1);
    let f = rules[idx].clone();
    if f.times.is_some_and(|t| f.fired >= t) {
        rules.remove(idx);
        super::harness(w)
            .faults
            .count
            .store(rules.len(), std::sync::atomic::Ordering::SeqCst);
    }
    Some(f)
}

/// An error response for `req` when a status fault fires (called after authentication).
pub(crate) fn apply(w: &World, req: &Request) -> Result<(), ArmError> {
    let Some(f) = fire(w, req, |r| r.status.is_some()) else {
        return Ok(());
    };
    let status = f.respond.status.unwrap_or(500);
    let sub = crate::arm::id::ScopeParts::parse(&req.path)
        .subscription
        .unwrap_or_default();
    let kind = if req.method == "GET" || req.method == "HEAD" {
        "reads"
    } else {
        "writes"
    };
    let retry = f.respond.retry_after.unwrap_or(if status == 429 { 1 } else { 0 });
    let (code, message) = match status {
        429 => (
            "SubscriptionRequestsThrottled",
            format!(
                "Number of '{}' requests for subscription '{sub}' exceeded. Please try after '{retry}' seconds.",
                &kind[..kind.len() - 1]
            ),
        ),
        503 => (
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.".to_string(),
        ),
        _ => (
            "InternalServerError",
            "Encountered internal server error. Please try again later.".to_string(),
        ),
    };
    let mut e = ArmError::new(
        status,
        f.respond.code.clone().unwrap_or_else(|| code.to_string()),
        f.respond.message.clone().unwrap_or(message),
    );
    if status == 429 || retry > 0 {
        e = e.with_header("Retry-After", retry.to_string());
    }
    if status == 429 {
        e = e.with_header(&format!("x-ms-ratelimit-remaining-subscription-{kind}"), "0");
    }
    Err(e)
}

/// The failure a fault asks the operation started by `req` to end with.
pub(crate) fn lro_failure(w: &World, req: &Request) -> Option<ArmError> {
    let f = fire(w, req, |r| r.lro_fail.is_some())?;
    let code = f.respond.lro_fail.unwrap_or_else(|| "InternalOperationError".into());
    Some(ArmError::new(
        500,
        code,
        f.respond
            .message
            .unwrap_or_else(|| "The operation failed (injected fault).".into()),
    ))
}

/// Panics when a panic fault matches `req` (called by the dispatcher while it holds the
/// write gate for a write; the rules' lock is held too, so both are poisoned).
pub(crate) fn panic_point(w: &World, req: &Request) {
    if fire(w, req, |r| r.panic == Some(true)).is_some() {
        let _held = super::harness(w)
            .faults
            .rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        panic!("injected panic (fault) for {} {}", req.method, req.path);
    }
}

/// Waits when a delay fault matches, then returns the response unchanged.
pub(crate) async fn delay(w: &World, req: &Request, resp: Response) -> Response {
    if req.segments.first().is_some_and(|s| s == "_azemu") {
        return resp;
    }
    if let Some(f) = fire(w, req, |r| r.delay_ms.is_some()) {
        let ms = f.respond.delay_ms.unwrap_or(0).min(MAX_DELAY_MS);
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    resp
}
