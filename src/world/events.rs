//! The activity log: what happened to clusters, pools and nodes, in order, with time and
//! correlation id. Read at `GET /_azemu/events`.

use crate::arm::time::{rfc3339, Millis};
use serde_json::{json, Value};
use std::sync::Mutex;

#[derive(Default)]
pub(crate) struct Events {
    items: Mutex<Vec<Value>>,
}

/// One thing that happened, as a transaction records it.
pub(crate) struct Event {
    pub(crate) at: Millis,
    pub(crate) resource_id: String,
    pub(crate) kind: String,
    pub(crate) message: String,
    pub(crate) correlation_id: String,
}

impl Events {
    /// Appends a committed event.
    pub(crate) fn push(&self, e: Event) {
        let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
        let seq = items.len() + 1;
        items.push(json!({
            "sequence": seq,
            "time": rfc3339(e.at),
            "resourceId": e.resource_id,
            "kind": e.kind,
            "message": e.message,
            "correlationId": e.correlation_id,
        }));
    }

    /// Events about `resource` (or anything below it) when given, else all.
    pub(crate) fn list(&self, resource: Option<&str>) -> Vec<Value> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|e| match resource {
                Some(r) => crate::arm::id::is_at_or_above(r, e["resourceId"].as_str().unwrap_or("")),
                None => true,
            })
            .cloned()
            .collect()
    }

    pub(crate) fn clear(&self) {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// How many events there are, and those after the first `seen` (the dashboard's stream).
    pub(crate) fn since(&self, seen: u64) -> (u64, Vec<Value>) {
        let items = self.items.lock().unwrap();
        let from = usize::try_from(seen).unwrap_or(usize::MAX).min(items.len());
        (items.len() as u64, items[from..].to_vec())
    }
}
