//! Long-running operations: one engine for every provider.
//!
//! A write that takes time registers an [`Operation`] and answers 201/202 with an
//! `Azure-AsyncOperation` URL (and `Location` for DELETE/POST). The operation completes
//! lazily: before each request the server calls [`Operations::due`] and runs the effects of
//! operations whose time has come (immediately by default, after a duration, or after N status
//! polls). Nothing runs in the background, so behaviour is deterministic under a seed.
//!
//! The engine is generic over the context its effects receive, so it knows nothing of the
//! providers that use it.

use super::error::ArmError;
use super::time::{rfc3339, Millis};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// When an operation reaches its terminal state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Completion {
    /// At the next request after the one that started it.
    Immediate,
    /// Once the clock passes this time.
    At(Millis),
    /// After this many status polls.
    AfterPolls(u32),
    /// Only when something ends it explicitly (abort, or a test's control call).
    Manual,
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded,
    Failed(ArmError),
    Canceled,
}

impl Outcome {
    pub fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "Succeeded",
            Outcome::Failed(_) => "Failed",
            Outcome::Canceled => "Canceled",
        }
    }
}

/// What runs when the operation ends, with the context and the outcome.
pub type Effect<C> = Box<dyn FnOnce(&C, &Outcome) + Send>;

pub struct Operation<C> {
    pub id: String,
    /// The resource the operation acts on (canonical id).
    pub resource_id: String,
    /// What the resource is doing (`Creating`, `Updating`, `Deleting`, `UpgradingNodeImageVersion`).
    pub activity: String,
    pub start: Millis,
    pub end: Option<Millis>,
    pub outcome: Option<Outcome>,
    pub completion: Completion,
    /// When set, the operation ends `Failed` with this error instead of succeeding.
    pub fail_with: Option<ArmError>,
    pub polls: u32,
    effect: Option<Effect<C>>,
}

/// A copy of an operation's visible state.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub id: String,
    pub resource_id: String,
    pub activity: String,
    pub status: String,
    pub start: Millis,
    pub end: Option<Millis>,
    pub error: Option<ArmError>,
}

impl Snapshot {
    pub fn is_done(&self) -> bool {
        self.end.is_some()
    }

    /// The operation-status resource: `{id,name,status,startTime,endTime?,error?}`.
    pub fn status_body(&self, id_path: &str) -> Value {
        let mut body = json!({
            "id": id_path,
            "name": self.id,
            "status": self.status,
            "startTime": rfc3339(self.start),
        });
        if let Some(end) = self.end {
            body["endTime"] = json!(rfc3339(end));
            body["percentComplete"] = json!(100.0);
        } else {
            body["percentComplete"] = json!(0.0);
        }
        if let Some(e) = &self.error {
            body["error"] = e.inner_json();
        }
        body
    }
}

pub struct Operations<C> {
    ops: Mutex<BTreeMap<String, Operation<C>>>,
    pending: AtomicUsize,
}

impl<C> Default for Operations<C> {
    fn default() -> Self {
        Operations {
            ops: Mutex::new(BTreeMap::new()),
            pending: AtomicUsize::new(0),
        }
    }
}

/// What a caller asks for when starting an operation.
pub struct Start<C> {
    pub id: String,
    pub resource_id: String,
    pub activity: String,
    pub now: Millis,
    pub completion: Completion,
    pub fail_with: Option<ArmError>,
    pub effect: Effect<C>,
}

impl<C> Operations<C> {
    pub fn start(&self, s: Start<C>) -> String {
        let id = s.id.clone();
        let op = Operation {
            id: s.id,
            resource_id: s.resource_id,
            activity: s.activity,
            start: s.now,
            end: None,
            outcome: None,
            completion: s.completion,
            fail_with: s.fail_with,
            polls: 0,
            effect: Some(s.effect),
        };
        self.ops.lock().unwrap().insert(id.clone(), op);
        self.pending.fetch_add(1, Ordering::SeqCst);
        id
    }

    /// True when some operation may be ready to end (a cheap check before taking locks).
    pub fn has_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst) > 0
    }

    /// Counts a status poll of `id`.
    pub fn touch(&self, id: &str) {
        if let Some(op) = self.ops.lock().unwrap().get_mut(id) {
            op.polls += 1;
        }
    }

    /// Ends every operation whose time has come and runs their effects, in start order.
    pub fn settle(&self, ctx: &C, now: Millis) {
        if !self.has_pending() {
            return;
        }
        let ready: Vec<(Effect<C>, Outcome)> = {
            let mut ops = self.ops.lock().unwrap();
            let mut ready = Vec::new();
            let mut ordered: Vec<&mut Operation<C>> = ops.values_mut().filter(|o| o.end.is_none()).collect();
            ordered.sort_by_key(|o| o.start);
            for op in ordered {
                let due = match op.completion {
                    Completion::Immediate => true,
                    Completion::At(t) => now >= t,
                    Completion::AfterPolls(n) => op.polls >= n,
                    Completion::Manual => false,
                };
                if due {
                    let outcome = match op.fail_with.take() {
                        Some(e) => Outcome::Failed(e),
                        None => Outcome::Succeeded,
                    };
                    op.end = Some(now.max(op.start));
                    op.outcome = Some(outcome.clone());
                    self.pending.fetch_sub(1, Ordering::SeqCst);
                    if let Some(effect) = op.effect.take() {
                        ready.push((effect, outcome));
                    }
                }
            }
            ready
        };
        for (effect, outcome) in ready {
            effect(ctx, &outcome);
        }
    }

    /// Ends the running operation on `resource_id` (and those below it) with `outcome`.
    /// Returns the ids it ended.
    pub fn finish_for(&self, ctx: &C, resource_id: &str, now: Millis, outcome: Outcome) -> Vec<String> {
        let ready: Vec<(String, Effect<C>)> = {
            let mut ops = self.ops.lock().unwrap();
            let mut ready = Vec::new();
            for op in ops.values_mut() {
                if op.end.is_none() && super::id::is_at_or_above(resource_id, &op.resource_id) {
                    op.end = Some(now.max(op.start));
                    op.outcome = Some(outcome.clone());
                    self.pending.fetch_sub(1, Ordering::SeqCst);
                    if let Some(effect) = op.effect.take() {
                        ready.push((op.id.clone(), effect));
                    }
                }
            }
            ready
        };
        let ids = ready.iter().map(|(id, _)| id.clone()).collect();
        for (_, effect) in ready {
            effect(ctx, &outcome);
        }
        ids
    }

    pub fn snapshot(&self, id: &str) -> Option<Snapshot> {
        self.ops.lock().unwrap().get(id).map(snapshot_of)
    }

    /// The operation still running on `resource_id` or on a resource below it, if any.
    pub fn running_on(&self, resource_id: &str) -> Option<Snapshot> {
        self.ops
            .lock()
            .unwrap()
            .values()
            .filter(|o| o.end.is_none() && super::id::is_at_or_above(resource_id, &o.resource_id))
            .min_by_key(|o| o.start)
            .map(snapshot_of)
    }

    pub fn all(&self) -> Vec<Snapshot> {
        self.ops.lock().unwrap().values().map(snapshot_of).collect()
    }

    /// Forgets every operation (server reset).
    pub fn clear(&self) {
        self.ops.lock().unwrap().clear();
        self.pending.store(0, Ordering::SeqCst);
    }
}

impl<C> Operations<C> {
    /// How far operation `id` has come (0 to 1), when its end is known in advance: a time on
    /// the clock or a number of status polls.
    pub fn progress(&self, id: &str, now: Millis) -> Option<f64> {
        let ops = self.ops.lock().unwrap();
        let o = ops.get(id)?;
        if o.end.is_some() {
            return Some(1.0);
        }
        match o.completion {
            Completion::At(t) if t > o.start => Some(((now - o.start) as f64 / (t - o.start) as f64).clamp(0.0, 1.0)),
            Completion::AfterPolls(n) if n > 0 => Some((f64::from(o.polls) / f64::from(n)).min(1.0)),
            _ => None,
        }
    }
}

fn snapshot_of<C>(o: &Operation<C>) -> Snapshot {
    Snapshot {
        id: o.id.clone(),
        resource_id: o.resource_id.clone(),
        activity: o.activity.clone(),
        status: o
            .outcome
            .as_ref()
            .map(|x| x.status().to_string())
            .unwrap_or_else(|| "InProgress".to_string()),
        start: o.start,
        end: o.end,
        error: match &o.outcome {
            Some(Outcome::Failed(e)) => Some(e.clone()),
            Some(Outcome::Canceled) => Some(ArmError::bad_request(
                "OperationCanceled",
                "The operation was canceled by an abort request.",
            )),
            _ => None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;

    fn start(ops: &Operations<AtomicU32>, id: &str, completion: Completion) {
        ops.start(Start {
            id: id.into(),
            resource_id: "/r".into(),
            activity: "Creating".into(),
            now: 0,
            completion,
            fail_with: None,
            effect: Box::new(|c: &AtomicU32, _| {
                c.fetch_add(1, Ordering::SeqCst);
            }),
        });
    }

    #[test]
    fn completes_after_polls() {
        let ops = Operations::default();
        let ctx = AtomicU32::new(0);
        start(&ops, "a", Completion::AfterPolls(2));
        ops.touch("a");
        ops.settle(&ctx, 1);
        assert_eq!(ops.snapshot("a").unwrap().status, "InProgress");
        ops.touch("a");
        ops.settle(&ctx, 2);
        assert_eq!(ops.snapshot("a").unwrap().status, "Succeeded");
        assert_eq!(ctx.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn completes_at_time() {
        let ops = Operations::default();
        let ctx = AtomicU32::new(0);
        start(&ops, "a", Completion::At(100));
        ops.settle(&ctx, 99);
        assert!(ops.running_on("/r").is_some());
        ops.settle(&ctx, 100);
        assert!(ops.running_on("/r").is_none());
    }
}
