//! The in-memory resource store.
//!
//! A map from the lower-cased resource id (its *key*, [`id::key`]) to a [`Record`]: the
//! canonical id, the ARM type, the body ARM answers with, and a private `internal` value the
//! owning provider may use for state that must never appear in ARM responses (node models,
//! secrets). The store knows no provider: it only stores, finds, lists and removes by id
//! prefix and type.
//!
//! # Indexes
//!
//! Lists must cost what they return, not what the store holds (100,000 identities must not
//! make a `$top=1` page slow). Besides the map by key, the store keeps every record in
//! ordered *buckets*:
//!
//! - an **anchor** is a proper prefix of a key made of an even number of segments: `""` (the
//!   root), `/subscriptions/s`, `/subscriptions/s/resourcegroups/rg`, `{rg}/providers/ns`,
//!   `{rg}/providers/ns/type/name`, ... Subscriptions, resource groups and resources are all
//!   anchors, so everything strictly below any of them is in that anchor's bucket;
//! - `below[anchor]` holds every record strictly below the anchor, and
//!   `typed[type][anchor]` the records of one (lower-cased) ARM type strictly below it;
//! - a bucket is ordered by the record's creation number (`seq`), so a listing keeps creation
//!   order (what azemu has always answered), and a page is a range scan that starts after the
//!   last creation number of the previous page: O(log n + page).
//!
//! A scope with an odd number of segments (`{rg}/providers/ns/type`) is not an anchor: a query
//! at it reads its parent's bucket and keeps what is below it. An identity (8 segments) sits in
//! 4 anchors, so 8 bucket entries; buckets share the record (`Arc`), nothing is copied.
//!
//! Creation numbers are unique: a record written with number 0, or with one another record
//! holds (an old snapshot), gets a new one.
//!
//! # Memory
//!
//! A body and a provider's `internal` value are kept as compact JSON text, parsed when read
//! (a parsed value with its maps and strings takes about five times the memory). A record
//! of an identity, with its index entries, takes about 1.7 KB; `scripts/bench.sh --scale`
//! measures the whole process.
//!
//! # Concurrency
//!
//! One read-write lock guards the maps; every critical section is short: a point look-up, an
//! insert, or a bounded chunk of a range scan ([`CHUNK`] entries). No caller code ever runs
//! under the lock (callbacks get a clone of the `Arc` after it is released), so a reader never
//! waits long for a writer, nor a writer for a long listing.

use crate::arm::id;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

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

/// A JSON value as the store keeps it: compact text (a fifth of the memory of a parsed
/// [`Value`]), parsed again when read. serde_json reads back at most 128 levels, so a value
/// nested deeper than [`TEXT_DEPTH`] stays parsed.
enum Kept {
    Null,
    Text(Box<str>),
    Parsed(Value),
}

/// The deepest value kept as text.
const TEXT_DEPTH: usize = 100;

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

impl Kept {
    fn new(v: Value) -> Kept {
        if v.is_null() {
            return Kept::Null;
        }
        if depth(&v) > TEXT_DEPTH {
            return Kept::Parsed(v);
        }
        match serde_json::to_string(&v) {
            Ok(text) => Kept::Text(text.into_boxed_str()),
            Err(_) => Kept::Parsed(v),
        }
    }

    fn value(&self) -> Value {
        match self {
            Kept::Null => Value::Null,
            // Written by `to_string` and shallow enough: reading it back cannot fail.
            Kept::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            Kept::Parsed(v) => v.clone(),
        }
    }

    /// The value as compact JSON text: the kept text itself, not parsed and written again
    /// (what `serde_json::to_vec(&self.value())` gives).
    fn json(&self) -> Vec<u8> {
        match self {
            Kept::Null => b"null".to_vec(),
            Kept::Text(t) => t.as_bytes().to_vec(),
            Kept::Parsed(v) => serde_json::to_vec(v).unwrap_or_default(),
        }
    }

    /// The top-level field `name` of an object value, when present and a `T`. From text, the
    /// value is read only up to that field: what follows is not looked at.
    fn field<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        match self {
            Kept::Null => None,
            Kept::Text(t) => field_of_text(t, name),
            Kept::Parsed(v) => v.get(name).and_then(|x| T::deserialize(x).ok()),
        }
    }
}

/// The top-level field `name` of the JSON object `text`, read up to that field only (the
/// store writes each key once, so the first is the only one).
fn field_of_text<T: DeserializeOwned>(text: &str, name: &str) -> Option<T> {
    match scan::member(text, name) {
        Ok(Some(value)) => serde_json::from_str(value).ok(),
        Ok(None) => None,
        Err(scan::Unread) => field_by_serde(text, name),
    }
}

/// A reader of the JSON the store writes that finds a top-level member by skipping over the
/// others byte by byte (no value is built; a check reads one field of a body on every call).
/// Anything it does not expect is [`scan::Unread`], and serde reads the text instead.
mod scan {
    pub(super) struct Unread;

    fn skip_ws(b: &[u8], mut i: usize) -> usize {
        while b.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    }

    /// Where the string starting at `b[i] == '"'` ends (after its closing quote).
    fn string_end(b: &[u8], mut i: usize) -> Result<usize, Unread> {
        i += 1;
        loop {
            match b.get(i) {
                Some(b'"') => return Ok(i + 1),
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
                None => return Err(Unread),
            }
        }
    }

    /// Where the value starting at `b[i]` ends.
    fn value_end(b: &[u8], i: usize) -> Result<usize, Unread> {
        match b.get(i) {
            Some(b'"') => string_end(b, i),
            Some(b'{' | b'[') => {
                let (mut depth, mut j) = (0usize, i);
                loop {
                    match b.get(j) {
                        Some(b'"') => {
                            j = string_end(b, j)?;
                            continue;
                        }
                        Some(b'{' | b'[') => depth += 1,
                        Some(b'}' | b']') => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(j + 1);
                            }
                        }
                        Some(_) => {}
                        None => return Err(Unread),
                    }
                    j += 1;
                }
            }
            Some(_) => {
                let mut j = i;
                while b
                    .get(j)
                    .is_some_and(|c| !matches!(c, b',' | b'}' | b']') && !c.is_ascii_whitespace())
                {
                    j += 1;
                }
                if j == i {
                    return Err(Unread);
                }
                Ok(j)
            }
            None => Err(Unread),
        }
    }

    /// The text of the value of the top-level member `name` of the object `text`; `None`
    /// when the object has no such member.
    pub(super) fn member<'t>(text: &'t str, name: &str) -> Result<Option<&'t str>, Unread> {
        let b = text.as_bytes();
        let mut i = skip_ws(b, 0);
        if b.get(i) != Some(&b'{') {
            return Err(Unread);
        }
        i = skip_ws(b, i + 1);
        if b.get(i) == Some(&b'}') {
            return Ok(None);
        }
        loop {
            if b.get(i) != Some(&b'"') {
                return Err(Unread);
            }
            let key_end = string_end(b, i)?;
            let raw_key = &text[i + 1..key_end - 1];
            let is_it = if raw_key.contains('\\') {
                serde_json::from_str::<String>(&text[i..key_end]).map_err(|_| Unread)? == name
            } else {
                raw_key == name
            };
            i = skip_ws(b, key_end);
            if b.get(i) != Some(&b':') {
                return Err(Unread);
            }
            i = skip_ws(b, i + 1);
            let end = value_end(b, i)?;
            if is_it {
                return Ok(Some(&text[i..end]));
            }
            i = skip_ws(b, end);
            match b.get(i) {
                Some(b',') => i = skip_ws(b, i + 1),
                Some(b'}') => return Ok(None),
                _ => return Err(Unread),
            }
        }
    }
}

/// [`field_of_text`] by serde, for text the byte reader leaves unread.
fn field_by_serde<T: DeserializeOwned>(text: &str, name: &str) -> Option<T> {
    use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
    use std::fmt;

    /// Deserializes a key to whether it is the one looked for.
    struct IsKey<'n>(&'n str);
    impl<'de> DeserializeSeed<'de> for IsKey<'_> {
        type Value = bool;
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
            d.deserialize_str(self)
        }
    }
    impl Visitor<'_> for IsKey<'_> {
        type Value = bool;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a key")
        }
        fn visit_str<E: serde::de::Error>(self, key: &str) -> Result<bool, E> {
            Ok(key == self.0)
        }
    }

    /// Walks the object's keys until `name`, keeping its value in `found`.
    struct Find<'n, T> {
        name: &'n str,
        found: &'n mut Option<T>,
    }
    impl<'de, T: DeserializeOwned> Visitor<'de> for Find<'_, T> {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            while let Some(is_it) = map.next_key_seed(IsKey(self.name))? {
                if is_it {
                    *self.found = map.next_value::<T>().ok();
                    // Stops here: the parser then reports the rest unread, which is ignored.
                    return Ok(());
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }

    let mut found = None;
    let mut de = serde_json::Deserializer::from_str(text);
    let _ = serde::Deserializer::deserialize_map(
        &mut de,
        Find {
            name,
            found: &mut found,
        },
    );
    found
}

/// A record as the store keeps it.
struct Stored {
    id: String,
    kind: String,
    seq: u64,
    body: Kept,
    internal: Kept,
}

impl Stored {
    fn new(r: Record) -> Stored {
        Stored {
            id: r.id,
            kind: r.kind,
            seq: r.seq,
            body: Kept::new(r.body),
            internal: Kept::new(r.internal),
        }
    }

    fn record(&self) -> Record {
        Record {
            id: self.id.clone(),
            kind: self.kind.clone(),
            body: self.body.value(),
            internal: self.internal.value(),
            seq: self.seq,
        }
    }
}

/// Records by creation number.
type Bucket = BTreeMap<u64, Arc<Stored>>;

/// How many bucket entries a range scan takes per hold of the lock, at most.
pub(crate) const CHUNK: usize = 256;

/// How many it takes the first time.
const FIRST_CHUNK: usize = 8;

/// Where a query looks: the bucket's anchor and, for a scope that is not an anchor itself,
/// the key prefix (`{scope}/`) a record must have.
pub(crate) struct Scope {
    anchor: String,
    within: Option<String>,
}

impl Scope {
    /// The records strictly below `scope` (any id; `/` is the root).
    pub(crate) fn below(scope: &str) -> Scope {
        let key = id::key(scope);
        if key == "/" {
            return Scope {
                anchor: String::new(),
                within: None,
            };
        }
        if key.matches('/').count().is_multiple_of(2) {
            return Scope {
                anchor: key,
                within: None,
            };
        }
        let parent = key[..key.rfind('/').unwrap_or(0)].to_string();
        Scope {
            anchor: parent,
            within: Some(format!("{key}/")),
        }
    }

    /// True when `key` (a record's key) is strictly below this scope.
    pub(crate) fn holds(&self, key: &str) -> bool {
        match &self.within {
            Some(prefix) => key.starts_with(prefix.as_str()),
            None => {
                key.len() > self.anchor.len()
                    && key.starts_with(self.anchor.as_str())
                    && key.as_bytes()[self.anchor.len()] == b'/'
            }
        }
    }
}

/// The anchors of a key: its proper prefixes with an even number of segments, root first.
fn anchors(key: &str) -> impl Iterator<Item = &str> {
    key.match_indices('/')
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(move |(_, (pos, _))| &key[..pos])
}

#[derive(Default)]
struct Inner {
    records: HashMap<Box<str>, Arc<Stored>, Hasher>,
    below: HashMap<Box<str>, Bucket, Hasher>,
    typed: HashMap<Box<str>, HashMap<Box<str>, Bucket, Hasher>, Hasher>,
}

impl Inner {
    fn unindex(&mut self, key: &str, rec: &Stored) {
        let kind = rec.kind.to_ascii_lowercase();
        for a in anchors(key) {
            if let Some(b) = self.below.get_mut(a) {
                b.remove(&rec.seq);
                if b.is_empty() {
                    self.below.remove(a);
                }
            }
            if let Some(t) = self.typed.get_mut(kind.as_str()) {
                if let Some(b) = t.get_mut(a) {
                    b.remove(&rec.seq);
                    if b.is_empty() {
                        t.remove(a);
                    }
                }
                if t.is_empty() {
                    self.typed.remove(kind.as_str());
                }
            }
        }
    }

    fn remove(&mut self, key: &str) -> Option<Arc<Stored>> {
        let old = self.records.remove(key)?;
        self.unindex(key, &old);
        Some(old)
    }

    fn insert(&mut self, key: String, mut rec: Record, seq: &AtomicU64) {
        // Creation numbers come from imported snapshots too: they saturate, never wrap.
        self.remove(&key);
        let taken = |s: u64| self.below.get("").and_then(|b| b.get(&s)).is_some();
        if rec.seq == 0 || taken(rec.seq) {
            rec.seq = bump(seq);
        } else {
            seq.fetch_max(rec.seq, Ordering::SeqCst);
        }
        let kind = rec.kind.to_ascii_lowercase();
        let rec = Arc::new(Stored::new(rec));
        let typed = self.typed.entry(kind.into()).or_default();
        for a in anchors(&key) {
            self.below.entry(a.into()).or_default().insert(rec.seq, rec.clone());
            typed.entry(a.into()).or_default().insert(rec.seq, rec.clone());
        }
        self.records.insert(key.into(), rec);
    }

    fn bucket(&self, scope: &Scope, kind: Option<&str>) -> Option<&Bucket> {
        match kind {
            None => self.below.get(scope.anchor.as_str()),
            Some(k) => self
                .typed
                .get(k.to_ascii_lowercase().as_str())
                .and_then(|t| t.get(scope.anchor.as_str())),
        }
    }
}

#[derive(Default)]
pub(crate) struct Store {
    inner: RwLock<Inner>,
    seq: AtomicU64,
}

impl Store {
    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|p| p.into_inner())
    }

    fn shared(&self, resource_id: &str) -> Option<Arc<Stored>> {
        id::with_key(resource_id, |k| self.read().records.get(k).cloned())
    }

    pub(crate) fn get(&self, resource_id: &str) -> Option<Record> {
        self.shared(resource_id).map(|r| r.record())
    }

    /// Reads a record (outside the store's lock).
    pub(crate) fn with<R>(&self, resource_id: &str, f: impl FnOnce(&Record) -> R) -> Option<R> {
        self.get(resource_id).map(|r| f(&r))
    }

    /// A record's body as compact JSON text, as stored: what `serde_json::to_vec(&body)`
    /// gives, without parsing it (a GET answering a record unchanged serves this).
    pub(crate) fn body_json(&self, resource_id: &str) -> Option<Vec<u8>> {
        self.shared(resource_id).map(|r| r.body.json())
    }

    /// A top-level field of a record's body: `Some(None)` when the record has no such field
    /// or it is not a `T`. Only the text up to the field is read.
    pub(crate) fn body_field<T: DeserializeOwned>(&self, resource_id: &str, name: &str) -> Option<Option<T>> {
        self.shared(resource_id).map(|r| r.body.field(name))
    }

    pub(crate) fn contains(&self, resource_id: &str) -> bool {
        id::with_key(resource_id, |k| self.read().records.contains_key(k))
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.read().records.len()
    }

    /// The creation number the next new record takes.
    pub(crate) fn next_seq(&self) -> u64 {
        bump(&self.seq)
    }

    /// Writes committed changes, each the record under its key or its removal, in order.
    /// Readers see a batch of up to [`CHUNK`] changes at once. A record new to the store
    /// takes its creation number now, so numbers follow commit order even when writers in
    /// different partitions commit side by side (a reader paging by number never skips one).
    pub(crate) fn apply(&self, changes: Vec<(String, Option<Record>)>) {
        let mut it = changes.into_iter().peekable();
        while it.peek().is_some() {
            let mut inner = self.write();
            for (key, value) in it.by_ref().take(CHUNK) {
                match value {
                    Some(mut rec) => {
                        if !inner.records.contains_key(key.as_str()) {
                            rec.seq = 0;
                        }
                        inner.insert(key, rec, &self.seq)
                    }
                    None => {
                        inner.remove(&key);
                    }
                }
            }
        }
    }

    #[cfg(test)]
    /// Inserts or replaces; a replaced record keeps its creation order. Returns the old record.
    pub(crate) fn put(&self, mut rec: Record) -> Option<Record> {
        let key = id::key(&rec.id);
        let mut inner = self.write();
        let old = inner.records.get(key.as_str()).map(|r| r.record());
        rec.seq = old.as_ref().map(|o| o.seq).unwrap_or(0);
        inner.insert(key, rec, &self.seq);
        old
    }

    #[cfg(test)]
    pub(crate) fn remove(&self, resource_id: &str) -> Option<Record> {
        let old = self.write().remove(&id::key(resource_id));
        old.map(|r| r.record())
    }

    /// Visits the records strictly below `scope` (of type `kind`, case-insensitive, if
    /// given) whose creation number is above `after`, in creation order, until `visit`
    /// answers `false`. The lock is held only while a chunk of entries is copied out; each
    /// record is read (parsed) only when visited.
    pub(crate) fn scan(&self, scope: &Scope, kind: Option<&str>, after: u64, mut visit: impl FnMut(Record) -> bool) {
        let mut from = after;
        // Small first (a `$top=1` page touches a few records), doubling up to CHUNK.
        let mut size = FIRST_CHUNK;
        loop {
            let chunk: Vec<Arc<Stored>> = {
                let inner = self.read();
                let Some(b) = inner.bucket(scope, kind) else { return };
                b.range((Bound::Excluded(from), Bound::Unbounded))
                    .take(size)
                    .map(|(_, r)| r.clone())
                    .collect()
            };
            let Some(last) = chunk.last() else { return };
            from = last.seq;
            let full = chunk.len() == size;
            size = (size * 2).min(CHUNK);
            for r in &chunk {
                if (scope.within.is_none() || scope.holds(&id::key(&r.id))) && !visit(r.record()) {
                    return;
                }
            }
            if !full {
                return;
            }
        }
    }

    /// Records strictly below `scope` (of type `kind` if given), in creation order.
    pub(crate) fn below(&self, scope: &str, kind: Option<&str>) -> Vec<Record> {
        let mut out = Vec::new();
        self.scan(&Scope::below(scope), kind, 0, |r| {
            out.push(r);
            true
        });
        out
    }

    #[cfg(test)]
    /// Removes `resource_id` and everything below it; returns what was removed, deepest first.
    pub(crate) fn remove_tree(&self, resource_id: &str) -> Vec<Record> {
        let mut removed: Vec<Record> = self.get(resource_id).into_iter().collect();
        removed.extend(self.below(resource_id, None));
        self.apply(removed.iter().map(|r| (id::key(&r.id), None)).collect());
        removed.sort_by_cached_key(|r| std::cmp::Reverse(id::segments(&r.id).len()));
        removed
    }

    pub(crate) fn clear(&self) {
        *self.write() = Inner::default();
    }

    /// Everything, in creation order (for state export).
    pub(crate) fn export(&self) -> Vec<Record> {
        self.below("/", None)
    }

    /// Replaces everything with `records` (state import), keeping their order. Records
    /// without a creation number, or with one taken, are numbered after the others.
    pub(crate) fn import(&self, records: Vec<Record>) {
        let max = records.iter().map(|r| r.seq).max().unwrap_or(0);
        let mut inner = self.write();
        *inner = Inner::default();
        self.seq.store(max, Ordering::SeqCst);
        for r in records {
            inner.insert(id::key(&r.id), r, &self.seq);
        }
    }
}

/// The next creation number: one more than the last, saturating (an imported snapshot may
/// carry numbers up to `u64::MAX`).
fn bump(seq: &AtomicU64) -> u64 {
    let prev = seq
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_add(1)))
        .unwrap_or(u64::MAX);
    prev.saturating_add(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RG: &str = "/subscriptions/S/resourceGroups/RG";
    const IDT: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

    fn identity(rg: &str, name: &str) -> Record {
        Record::new(
            format!("{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}"),
            IDT,
            json!({ "name": name }),
        )
    }

    fn names(v: &[Record]) -> Vec<String> {
        v.iter().map(|r| id::name_of(&r.id)).collect()
    }

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

    /// The readers that skip parsing answer what the parsed body says.
    #[test]
    fn fields_and_text_read_without_parsing_agree_with_the_parsed_body() {
        #[derive(Deserialize, Debug, PartialEq)]
        struct Props {
            #[serde(rename = "provisioningState")]
            state: Option<String>,
        }
        let deep = (0..TEXT_DEPTH + 5).fold(json!("x"), |v, _| json!([v]));
        let bodies = [
            json!({ "managedByTenants": [{ "tenantId": "nested" }], "tenantId": "T1", "after": [1, 2.5, "é\n"] }),
            json!({ "quo\"ted\n": "escaped key", "properties": { "provisioningState": "Deleting" } }),
            json!({ "tenantId": 7, "properties": "not an object" }),
            json!({ "other": { "tenantId": "nested only" } }),
            json!(["not", "an", "object"]),
            json!({ "tenantId": "deep", "x": deep }),
            Value::Null,
        ];
        let s = Store::default();
        for (i, body) in bodies.iter().enumerate() {
            let id = format!("/subscriptions/S{i}");
            s.put(Record::new(&id, "t", body.clone()));
            let parsed = s.get(&id).unwrap().body;
            assert_eq!(&parsed, body);
            assert_eq!(
                s.body_json(&id).unwrap(),
                serde_json::to_vec(&parsed).unwrap(),
                "{body}"
            );
            assert_eq!(
                s.body_field::<String>(&id, "tenantId").unwrap(),
                parsed["tenantId"].as_str().map(str::to_string),
                "{body}"
            );
            let state = s.body_field::<Props>(&id, "properties").unwrap();
            assert_eq!(
                state.and_then(|p| p.state).as_deref(),
                parsed["properties"]["provisioningState"].as_str(),
                "{body}"
            );
        }
        // A key written with escapes is found by its name.
        assert_eq!(
            s.body_field::<String>("/subscriptions/S1", "quo\"ted\n"),
            Some(Some("escaped key".to_string()))
        );
        assert_eq!(s.body_json("/subscriptions/none"), None);
        assert_eq!(s.body_field::<String>("/subscriptions/none", "tenantId"), None);
    }

    /// The byte reader finds what serde finds, on the store's compact text and on others.
    #[test]
    fn the_member_reader_agrees_with_serde() {
        let texts = [
            r#"{"id":"/x","managedByTenants":[{"tenantId":"nested"}],"tenantId":"T1","z":1}"#,
            r#"{"a":"}]\"{[","tenantId":"after tricky string"}"#,
            r#"{"a":{"b":[1,{"c":"}"}]},"tenantId":"after nesting","tenantId":"second"}"#,
            r#"{"te\u006eantId":"escaped key"}"#,
            r#" { "tenantId" : "spaced" , "x" : [ ] } "#,
            r#"{"n":-1.5e3,"t":true,"f":false,"z":null,"tenantId":42}"#,
            r#"{"tenantId":null}"#,
            r#"{"tenantId":"last"}"#,
            r#"{}"#,
            r#"[{"tenantId":"in an array"}]"#,
            r#"{"tenantId":"unterminated"#,
            r#"{"x":"#,
            r#""#,
            r#"{"a":1 "tenantId":"missing comma"}"#,
        ];
        for t in texts {
            assert_eq!(
                field_of_text::<String>(t, "tenantId"),
                field_by_serde::<String>(t, "tenantId"),
                "{t}"
            );
            assert_eq!(
                field_of_text::<Value>(t, "tenantId"),
                field_by_serde::<Value>(t, "tenantId"),
                "{t}"
            );
        }
        assert_eq!(field_of_text::<String>(texts[0], "tenantId").as_deref(), Some("T1"));
        assert_eq!(
            field_of_text::<String>(texts[3], "tenantId").as_deref(),
            Some("escaped key")
        );
        assert_eq!(
            field_of_text::<Value>(texts[2], "a"),
            Some(json!({"b": [1, {"c": "}"}]}))
        );
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
        assert!(s.below("/", None).iter().all(|r| r.id == "/s/ab"));
    }

    #[test]
    fn anchors_are_the_even_proper_prefixes() {
        let a: Vec<&str> = anchors("/subscriptions/s/resourcegroups/rg/providers/ns/t/n").collect();
        assert_eq!(
            a,
            vec![
                "",
                "/subscriptions/s",
                "/subscriptions/s/resourcegroups/rg",
                "/subscriptions/s/resourcegroups/rg/providers/ns"
            ]
        );
    }

    #[test]
    fn below_a_scope_by_type_in_creation_order() {
        let s = Store::default();
        let rg2 = "/subscriptions/S/resourceGroups/other";
        for (rg, n) in [(RG, "c"), (rg2, "x"), (RG, "a"), (RG, "b")] {
            s.put(identity(rg, n));
        }
        s.put(Record::new(
            format!("{RG}/providers/X.Y/things/t"),
            "X.Y/things",
            json!({}),
        ));
        assert_eq!(names(&s.below(RG, Some(IDT))), ["c", "a", "b"]);
        assert_eq!(
            names(&s.below("/subscriptions/s", Some(&IDT.to_uppercase()))),
            ["c", "x", "a", "b"]
        );
        assert_eq!(names(&s.below(&RG.to_lowercase(), None)), ["c", "a", "b", "t"]);
        // Not an anchor (odd segment count): the parent's bucket, filtered.
        assert_eq!(
            names(&s.below(
                &format!("{RG}/providers/Microsoft.ManagedIdentity/userAssignedIdentities"),
                None
            )),
            ["c", "a", "b"]
        );
        assert_eq!(names(&s.below(&format!("{RG}/providers"), Some("x.y/things"))), ["t"]);
        assert!(
            s.below("/subscriptions/S/resourceGroups/R", None).is_empty(),
            "a prefix is not a scope"
        );
        assert_eq!(s.below("/", None).len(), 5);
        // A replaced record keeps its place; a removed one leaves every bucket.
        s.put(identity(RG, "c"));
        assert_eq!(names(&s.below(RG, Some(IDT))), ["c", "a", "b"]);
        s.remove(&identity(RG, "a").id);
        assert_eq!(names(&s.below(RG, Some(IDT))), ["c", "b"]);
        assert_eq!(names(&s.below("/", Some(IDT))), ["c", "x", "b"]);
        s.remove_tree(rg2);
        s.remove_tree(RG);
        let inner = s.read();
        assert!(
            inner.records.len() + inner.below.len() + inner.typed.len() == 0,
            "no empty bucket is left"
        );
    }

    #[test]
    fn scan_pages_after_a_creation_number_across_chunks() {
        let s = Store::default();
        let n = CHUNK * 2 + 10;
        for i in 0..n {
            s.put(identity(RG, &format!("id{i:04}")));
        }
        let scope = Scope::below(RG);
        let (mut after, mut seen) = (0, Vec::new());
        loop {
            let mut page = Vec::new();
            s.scan(&scope, Some(IDT), after, |r| {
                page.push(r);
                page.len() < 7
            });
            let Some(last) = page.last() else { break };
            after = last.seq;
            seen.extend(names(&page));
        }
        let want: Vec<String> = (0..n).map(|i| format!("id{i:04}")).collect();
        assert_eq!(seen, want);
    }

    #[test]
    fn records_read_back_as_written_shallow_or_deep() {
        let s = Store::default();
        let mut deep = json!("leaf");
        for _ in 0..(TEXT_DEPTH + 30) {
            deep = json!({ "a": [deep] });
        }
        let bodies = [
            json!({ "z": 1, "a": [1.5, -2, 1e300, u64::MAX, "x\u{0}y"], "m": { "k": null, "b": true } }),
            deep,
        ];
        for (i, body) in bodies.into_iter().enumerate() {
            let mut rec = identity(RG, &format!("r{i}"));
            rec.body = body.clone();
            rec.internal = json!({ "secret": i });
            s.put(rec.clone());
            let back = s.get(&rec.id).unwrap();
            assert_eq!(back.body, body);
            assert_eq!(back.internal, rec.internal);
            assert_eq!(back.body.to_string(), body.to_string(), "key order is kept");
        }
    }

    #[test]
    fn import_numbers_records_without_a_unique_creation_number() {
        let s = Store::default();
        let mut recs: Vec<Record> = ["a", "b", "c"].iter().map(|n| identity(RG, n)).collect();
        recs[2].seq = 5;
        s.import(recs);
        assert_eq!(names(&s.below(RG, None)), ["c", "a", "b"]);
        assert_eq!(s.len(), 3);
        let seqs: Vec<u64> = s.export().iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [5, 6, 7]);
        assert_eq!(s.next_seq(), 8);
    }
}
