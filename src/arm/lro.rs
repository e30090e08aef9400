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

/// The longest `Retry-After` a client may ask azemu to send, in seconds (one day).
pub(crate) const MAX_RETRY_AFTER_S: u32 = 86_400;

/// When an operation reaches its terminal state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Completion {
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
pub(crate) enum Outcome {
    Succeeded,
    Failed(ArmError),
    Canceled,
}

impl Outcome {
    pub(crate) fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "Succeeded",
            Outcome::Failed(_) => "Failed",
            Outcome::Canceled => "Canceled",
        }
    }
}

pub(crate) struct Operation<E> {
    pub(crate) id: String,
    /// The resource the operation acts on (canonical id).
    pub(crate) resource_id: String,
    /// What the resource is doing (`Creating`, `Updating`, `Deleting`, `UpgradingNodeImageVersion`).
    pub(crate) activity: String,
    pub(crate) start: Millis,
    pub(crate) end: Option<Millis>,
    pub(crate) outcome: Option<Outcome>,
    pub(crate) completion: Completion,
    /// When set, the operation ends `Failed` with this error instead of succeeding.
    pub(crate) fail_with: Option<ArmError>,
    pub(crate) polls: u32,
    /// Set once whoever ends the operation has taken its effect to apply it; the operation
    /// stays running until [`Operations::finish`].
    taken: bool,
    effect: Option<E>,
}

/// A copy of an operation's visible state.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    pub(crate) id: String,
    pub(crate) resource_id: String,
    pub(crate) activity: String,
    pub(crate) status: String,
    pub(crate) start: Millis,
    pub(crate) end: Option<Millis>,
    pub(crate) error: Option<ArmError>,
}

impl Snapshot {
    pub(crate) fn is_done(&self) -> bool {
        self.end.is_some()
    }

    /// The operation-status resource: `{id,name,status,startTime,endTime?,error?}`.
    pub(crate) fn status_body(&self, id_path: &str) -> Value {
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

/// The operations of one world. `E` is what runs when an operation ends (its effect); the
/// engine only keeps it and hands it out, so it knows nothing of who applies it or how.
pub(crate) struct Operations<E> {
    ops: Mutex<BTreeMap<String, Operation<E>>>,
    pending: AtomicUsize,
}

impl<E> Default for Operations<E> {
    fn default() -> Self {
        Operations {
            ops: Mutex::new(BTreeMap::new()),
            pending: AtomicUsize::new(0),
        }
    }
}

/// What a caller asks for when starting an operation.
pub(crate) struct Start<E> {
    pub(crate) id: String,
    pub(crate) resource_id: String,
    pub(crate) activity: String,
    pub(crate) now: Millis,
    pub(crate) completion: Completion,
    pub(crate) fail_with: Option<ArmError>,
    pub(crate) effect: E,
}

/// An operation whose effect was taken to be applied: its id, effect and outcome.
pub(crate) type Due<E> = (String, Option<E>, Outcome);

impl<E> Operations<E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Operation<E>>> {
        self.ops.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn start(&self, s: Start<E>) -> String {
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
            taken: false,
            effect: Some(s.effect),
        };
        self.lock().insert(id.clone(), op);
        self.pending.fetch_add(1, Ordering::SeqCst);
        id
    }

    /// True when some operation may be ready to end (a cheap check before taking locks).
    pub(crate) fn has_pending(&self) -> bool {
        self.pending.load(Ordering::SeqCst) > 0
    }

    /// Counts a status poll of `id`.
    pub(crate) fn touch(&self, id: &str) {
        if let Some(op) = self.lock().get_mut(id) {
            op.polls = op.polls.saturating_add(1);
        }
    }

    fn is_due(op: &Operation<E>, now: Millis) -> bool {
        !op.taken
            && op.end.is_none()
            && match op.completion {
                Completion::Immediate => true,
                Completion::At(t) => now >= t,
                Completion::AfterPolls(n) => op.polls >= n,
                Completion::Manual => false,
            }
    }

    /// Whether some operation's time has come.
    pub(crate) fn any_due(&self, now: Millis) -> bool {
        self.has_pending() && self.lock().values().any(|o| Self::is_due(o, now))
    }

    /// Takes the effects of every operation whose time has come, in start order, with the
    /// outcome each ends with. The operations stay running until [`Operations::finish`].
    pub(crate) fn take_due(&self, now: Millis) -> Vec<Due<E>> {
        if !self.has_pending() {
            return Vec::new();
        }
        let mut ops = self.lock();
        let mut ordered: Vec<&mut Operation<E>> = ops.values_mut().filter(|o| Self::is_due(o, now)).collect();
        ordered.sort_by_key(|o| o.start);
        ordered
            .into_iter()
            .map(|op| {
                op.taken = true;
                let outcome = match op.fail_with.take() {
                    Some(e) => Outcome::Failed(e),
                    None => Outcome::Succeeded,
                };
                (op.id.clone(), op.effect.take(), outcome)
            })
            .collect()
    }

    /// Takes the effects of the running operations on `resource_id` (and below it).
    pub(crate) fn take_effects_on(&self, resource_id: &str) -> Vec<(String, Option<E>)> {
        let mut ops = self.lock();
        ops.values_mut()
            .filter(|op| !op.taken && op.end.is_none() && super::id::is_at_or_above(resource_id, &op.resource_id))
            .map(|op| {
                op.taken = true;
                (op.id.clone(), op.effect.take())
            })
            .collect()
    }

    /// Marks an operation ended: its effect has been applied.
    pub(crate) fn finish(&self, id: &str, outcome: Outcome, now: Millis) {
        if let Some(op) = self.lock().get_mut(id) {
            if op.end.is_none() {
                op.end = Some(now.max(op.start));
                op.outcome = Some(outcome);
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    pub(crate) fn snapshot(&self, id: &str) -> Option<Snapshot> {
        self.lock().get(id).map(snapshot_of)
    }

    /// The operation still running on `resource_id` or on a resource below it, if any,
    /// leaving out those `skip` names.
    pub(crate) fn running_on_except(&self, resource_id: &str, skip: &dyn Fn(&str) -> bool) -> Option<Snapshot> {
        self.lock()
            .values()
            .filter(|o| o.end.is_none() && super::id::is_at_or_above(resource_id, &o.resource_id) && !skip(&o.id))
            .min_by_key(|o| o.start)
            .map(snapshot_of)
    }

    pub(crate) fn all(&self) -> Vec<Snapshot> {
        self.lock().values().map(snapshot_of).collect()
    }

    /// Forgets every operation (server reset).
    pub(crate) fn clear(&self) {
        self.lock().clear();
        self.pending.store(0, Ordering::SeqCst);
    }
}

impl<E> Operations<E> {
    /// How far operation `id` has come (0 to 1), when its end is known in advance: a time on
    /// the clock or a number of status polls.
    pub(crate) fn progress(&self, id: &str, now: Millis) -> Option<f64> {
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

fn snapshot_of<E>(o: &Operation<E>) -> Snapshot {
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

    fn start(ops: &Operations<u32>, id: &str, completion: Completion) {
        ops.start(Start {
            id: id.into(),
            resource_id: "/r".into(),
            activity: "Creating".into(),
            now: 0,
            completion,
            fail_with: None,
            effect: 7,
        });
    }

    /// What a settling transaction does: take the due effects, apply them, finish.
    fn settle(ops: &Operations<u32>, now: Millis) -> u32 {
        let mut applied = 0;
        for (id, effect, outcome) in ops.take_due(now) {
            applied += effect.unwrap_or(0);
            ops.finish(&id, outcome, now);
        }
        applied
    }

    #[test]
    fn completes_after_polls() {
        let ops = Operations::default();
        start(&ops, "a", Completion::AfterPolls(2));
        ops.touch("a");
        assert_eq!(settle(&ops, 1), 0);
        assert_eq!(ops.snapshot("a").unwrap().status, "InProgress");
        ops.touch("a");
        assert_eq!(settle(&ops, 2), 7);
        assert_eq!(ops.snapshot("a").unwrap().status, "Succeeded");
    }

    #[test]
    fn completes_at_time() {
        let ops = Operations::default();
        start(&ops, "a", Completion::At(100));
        settle(&ops, 99);
        assert!(ops.running_on_except("/r", &|_| false).is_some());
        settle(&ops, 100);
        assert!(ops.running_on_except("/r", &|_| false).is_none());
    }

    #[test]
    fn a_taken_operation_runs_until_finished() {
        let ops = Operations::default();
        start(&ops, "a", Completion::Immediate);
        let due = ops.take_due(0);
        assert_eq!(due.len(), 1);
        assert!(ops.take_due(0).is_empty(), "an effect is handed out once");
        assert_eq!(ops.snapshot("a").unwrap().status, "InProgress");
        ops.finish("a", Outcome::Succeeded, 0);
        assert_eq!(ops.snapshot("a").unwrap().status, "Succeeded");
        assert!(!ops.has_pending());
    }
}
