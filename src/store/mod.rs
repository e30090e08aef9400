//! The in-memory resource store.
//!
//! A map from the lower-cased resource id to a [`Record`]: the canonical id, the ARM type,
//! the body ARM answers with, and a private `internal` value the owning provider may use for
//! state that must never appear in ARM responses (node models, secrets). The store knows no
//! provider: it only stores, finds, lists and removes by id prefix.

use crate::arm::id;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Record {
    /// Canonical id, casing as created.
    pub(crate) id: String,
    /// ARM type, e.g. `Microsoft.ContainerService/managedClusters`.
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// What GET answers.
    pub(crate) body: Value,
    /// Provider-private state, never sent over ARM.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub(crate) internal: Value,
    /// Creation order, for stable listings.
    #[serde(default)]
    pub(crate) seq: u64,
}

impl Record {
    pub(crate) fn new(id: impl Into<String>, kind: impl Into<String>, body: Value) -> Record {
        Record {
            id: id.into(),
            kind: kind.into(),
            body,
            internal: Value::Null,
            seq: 0,
        }
    }
}

/// Ids are not attacker-chosen here: a fast hash beats SipHash on every lookup.
type Hasher = foldhash::fast::RandomState;

#[derive(Default)]
pub(crate) struct Store {
    map: DashMap<String, Record, Hasher>,
    seq: AtomicU64,
}

impl Store {
    pub(crate) fn get(&self, resource_id: &str) -> Option<Record> {
        self.map.get(&id::key(resource_id)).map(|r| r.clone())
    }

    /// Reads a record in place, without copying it.
    pub(crate) fn with<R>(&self, resource_id: &str, f: impl FnOnce(&Record) -> R) -> Option<R> {
        self.map.get(&id::key(resource_id)).map(|r| f(&r))
    }

    pub(crate) fn contains(&self, resource_id: &str) -> bool {
        self.map.contains_key(&id::key(resource_id))
    }

    /// The creation number the next new record takes.
    pub(crate) fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, Ordering::SeqCst).saturating_add(1)
    }

    /// Writes one committed change: the record under `key`, or its removal.
    pub(crate) fn apply(&self, key: String, value: Option<Record>) {
        match value {
            Some(rec) => {
                self.map.insert(key, rec);
            }
            None => {
                self.map.remove(&key);
            }
        }
    }

    #[cfg(test)]
    /// Inserts or replaces; a replaced record keeps its creation order. Returns the old record.
    pub(crate) fn put(&self, mut rec: Record) -> Option<Record> {
        let k = id::key(&rec.id);
        let old = self.map.get(&k).map(|r| r.clone());
        rec.seq = match &old {
            Some(o) => o.seq,
            None => self.seq.fetch_add(1, Ordering::SeqCst).saturating_add(1),
        };
        self.map.insert(k, rec);
        old
    }

    #[cfg(test)]
    /// Removes `resource_id` and everything below it; returns what was removed, deepest first.
    pub(crate) fn remove_tree(&self, resource_id: &str) -> Vec<Record> {
        let mut removed: Vec<Record> = self.list(|r| id::is_at_or_above(resource_id, &r.id));
        for r in &removed {
            self.map.remove(&id::key(&r.id));
        }
        removed.sort_by_key(|r| std::cmp::Reverse(id::segments(&r.id).len()));
        removed
    }

    /// Every record matching `pred`, in creation order.
    pub(crate) fn list(&self, pred: impl Fn(&Record) -> bool) -> Vec<Record> {
        let mut out: Vec<Record> = self
            .map
            .iter()
            .filter(|r| pred(r.value()))
            .map(|r| r.value().clone())
            .collect();
        out.sort_by_key(|r| r.seq);
        out
    }

    pub(crate) fn clear(&self) {
        self.map.clear();
    }

    /// Everything, in creation order (for state export).
    pub(crate) fn export(&self) -> Vec<Record> {
        self.list(|_| true)
    }

    /// Replaces everything with `records` (state import), keeping their order.
    pub(crate) fn import(&self, records: Vec<Record>) {
        self.map.clear();
        let mut max = 0;
        for r in records {
            max = max.max(r.seq);
            self.map.insert(id::key(&r.id), r);
        }
        self.seq.store(max, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn case_insensitive_and_keeps_casing() {
        let s = Store::default();
        s.put(Record::new(
            "/subscriptions/S/resourceGroups/MyRG",
            "Microsoft.Resources/resourceGroups",
            json!({}),
        ));
        let r = s.get("/SUBSCRIPTIONS/s/resourcegroups/myrg").unwrap();
        assert_eq!(r.id, "/subscriptions/S/resourceGroups/MyRG");
    }

    #[test]
    fn remove_tree_takes_children_only() {
        let s = Store::default();
        for id in ["/s/a", "/s/a/b", "/s/ab"] {
            s.put(Record::new(id, "t", json!({})));
        }
        let removed = s.remove_tree("/s/a");
        assert_eq!(removed.len(), 2);
        assert!(s.contains("/s/ab"));
    }
}
