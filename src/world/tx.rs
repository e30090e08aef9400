//! The transaction: the only way a request changes the world.
//!
//! A write request opens a [`Tx`] (which holds the write gates of the partition it writes
//! in for its whole life: see `gate.rs`), and every change it makes — records, principals, operations started or ended, activity
//! events — is *staged* inside it. Reads through the transaction see the staged changes
//! first, so a handler can build on what it wrote. Nothing reaches the shared state until
//! [`Tx::commit`]; a transaction dropped without committing leaves no trace. A refused
//! request therefore never needs to undo anything, whatever order its checks run in.
//!
//! Read requests get a read-only transaction (no gate, nothing staged): they see committed
//! state only.
//!
//! Long-running operations end inside a transaction too ([`Tx::settle`]): their effects are
//! applied through it, and the operation is marked ended when that transaction commits, so
//! no other writer sees an operation ended whose effect is not in the store yet.

use super::events::Event;
use super::gate::{self, Held};
use super::World;
use crate::arm::id;
use crate::arm::lro::{Outcome, Snapshot, Start};
use crate::arm::time::Millis;
use crate::arm::{ArmResult, Request, Response};
use crate::entra::{Caller, Principal};
use crate::store::{Record, Scope};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

/// What runs when a long-running operation ends: it changes the world through the
/// transaction that ends the operation. An error makes the operation end `Failed` with it
/// (a template deployment whose resources failed).
pub(crate) type Effect = Box<dyn for<'a> FnOnce(&Tx<'a>, &Outcome) -> ArmResult<()> + Send>;

/// Makes an [`Effect`] of a closure that cannot fail (the bound lets the compiler see it
/// works for any transaction).
pub(crate) fn effect(f: impl for<'a, 'b, 'c> FnOnce(&'b Tx<'a>, &'c Outcome) + Send + 'static) -> Effect {
    Box::new(move |tx, outcome| {
        f(tx, outcome);
        Ok(())
    })
}

/// Makes an [`Effect`] of a closure that may fail the operation.
pub(crate) fn fallible_effect(
    f: impl for<'a, 'b, 'c> FnOnce(&'b Tx<'a>, &'c Outcome) -> ArmResult<()> + Send + 'static,
) -> Effect {
    Box::new(f)
}

/// Applies `effect` for an operation ending with `outcome`; the outcome it really ends with.
fn apply(tx: &Tx, effect: Option<Effect>, outcome: Outcome) -> Outcome {
    match effect.map(|e| e(tx, &outcome)) {
        Some(Err(e)) if outcome == Outcome::Succeeded => Outcome::Failed(e),
        _ => outcome,
    }
}

/// One change to a keyed collection: the new value, or `None` for a removal.
#[derive(Clone)]
struct Staged<V> {
    order: Vec<String>,
    values: HashMap<String, Option<V>>,
}

impl<V: Clone> Staged<V> {
    fn new() -> Self {
        Staged {
            order: Vec::new(),
            values: HashMap::new(),
        }
    }

    fn set(&mut self, key: String, value: Option<V>) {
        if !self.values.contains_key(&key) {
            self.order.push(key.clone());
        }
        self.values.insert(key, value);
    }

    fn get(&self, key: &str) -> Option<&Option<V>> {
        self.values.get(key)
    }

    fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The changes in the order they were first made, leaving this empty.
    fn drain(&mut self) -> Vec<(String, Option<V>)> {
        let mut values = std::mem::take(&mut self.values);
        std::mem::take(&mut self.order)
            .into_iter()
            .filter_map(|k| values.remove(&k).map(|v| (k, v)))
            .collect()
    }
}

/// The store as a transaction sees it: committed records overlaid with staged changes.
pub(crate) struct TxStore<'w> {
    base: &'w crate::store::Store,
    staged: RefCell<Staged<Record>>,
    /// The write gates this transaction holds; `None` for a read-only one.
    held: Option<RefCell<Held<'w>>>,
}

impl TxStore<'_> {
    fn staged_for(&self, resource_id: &str) -> Option<Option<Record>> {
        let staged = self.staged.borrow();
        if staged.is_empty() {
            return None;
        }
        staged.get(&id::key(resource_id)).cloned()
    }

    pub(crate) fn get(&self, resource_id: &str) -> Option<Record> {
        match self.staged_for(resource_id) {
            Some(v) => v,
            None => self.base.get(resource_id),
        }
    }

    /// Reads a record in place when it is not staged, without copying it.
    pub(crate) fn with<R>(&self, resource_id: &str, f: impl FnOnce(&Record) -> R) -> Option<R> {
        match self.staged_for(resource_id) {
            Some(v) => v.as_ref().map(f),
            None => self.base.with(resource_id, f),
        }
    }

    /// A record's body as compact JSON text (`serde_json::to_vec(&body)`); a committed one
    /// is not parsed ([`Store::body_json`](crate::store::Store::body_json)).
    pub(crate) fn body_json(&self, resource_id: &str) -> Option<Vec<u8>> {
        match self.staged_for(resource_id) {
            Some(v) => v.map(|r| serde_json::to_vec(&r.body).unwrap_or_default()),
            None => self.base.body_json(resource_id),
        }
    }

    /// A top-level field of a record's body (`Some(None)`: absent, or not a `T`), read
    /// without parsing the rest ([`Store::body_field`](crate::store::Store::body_field)).
    pub(crate) fn body_field<T: serde::de::DeserializeOwned>(
        &self,
        resource_id: &str,
        name: &str,
    ) -> Option<Option<T>> {
        match self.staged_for(resource_id) {
            Some(v) => v.map(|r| r.body.get(name).and_then(|x| T::deserialize(x).ok())),
            None => self.base.body_field(resource_id, name),
        }
    }

    pub(crate) fn contains(&self, resource_id: &str) -> bool {
        match self.staged_for(resource_id) {
            Some(v) => v.is_some(),
            None => self.base.contains(resource_id),
        }
    }

    fn stage(&self, key: String, value: Option<Record>) {
        let Some(held) = &self.held else {
            panic!("a read-only transaction cannot change the store");
        };
        // Outside its partition a transaction writes only where it can take the gate now;
        // when it cannot, it is conflicted (and answered again holding the whole world).
        held.borrow_mut().claim(gate::partition(&key));
        self.staged.borrow_mut().set(key, value);
    }

    /// Marks the transaction as needing the whole world (it is about to do something whose
    /// reach it cannot know: end other operations). False when it does not hold it.
    fn whole_or_conflicted(&self) -> bool {
        self.held.as_ref().is_some_and(|h| {
            let mut h = h.borrow_mut();
            h.need_whole();
            h.is_whole()
        })
    }

    /// Inserts or replaces; a replaced record keeps its creation order. Returns the old record.
    pub(crate) fn put(&self, mut rec: Record) -> Option<Record> {
        let old = self.get(&rec.id);
        rec.seq = match &old {
            Some(o) => o.seq,
            None => self.base.next_seq(),
        };
        self.stage(id::key(&rec.id), Some(rec));
        old
    }

    /// Changes a record; returns the updated copy, or `None` when absent.
    pub(crate) fn update(&self, resource_id: &str, f: impl FnOnce(&mut Record)) -> Option<Record> {
        let mut rec = self.get(resource_id)?;
        f(&mut rec);
        self.stage(id::key(resource_id), Some(rec.clone()));
        Some(rec)
    }

    pub(crate) fn remove(&self, resource_id: &str) -> Option<Record> {
        let old = self.get(resource_id)?;
        self.stage(id::key(resource_id), None);
        Some(old)
    }

    /// Removes `resource_id` and everything below it; returns what was removed, deepest first.
    pub(crate) fn remove_tree(&self, resource_id: &str) -> Vec<Record> {
        let mut removed: Vec<Record> = self.get(resource_id).into_iter().collect();
        removed.extend(self.below(resource_id, None));
        for r in &removed {
            self.stage(id::key(&r.id), None);
        }
        removed.sort_by_cached_key(|r| std::cmp::Reverse(id::segments(&r.id).len()));
        removed
    }

    /// Every record matching `pred`, in creation order. A full scan: prefer [`TxStore::below`]
    /// and [`TxStore::page`].
    #[allow(dead_code)]
    pub(crate) fn list(&self, pred: impl Fn(&Record) -> bool) -> Vec<Record> {
        self.page(&Scope::below("/"), None, 0, usize::MAX, pred)
    }

    /// Records strictly below `scope` (of type `kind`, case-insensitive, if given), in
    /// creation order. Costs what it returns (see the store's indexes).
    pub(crate) fn below(&self, scope: &str, kind: Option<&str>) -> Vec<Record> {
        self.page(&Scope::below(scope), kind, 0, usize::MAX, |_| true)
    }

    /// Records of one type (case-insensitive) below `parent`.
    pub(crate) fn children(&self, parent: &str, kind: &str) -> Vec<Record> {
        self.below(parent, Some(kind))
    }

    /// Records of one type anywhere, in creation order.
    pub(crate) fn of_kind(&self, kind: &str) -> Vec<Record> {
        self.below("/", Some(kind))
    }

    /// At most `limit` records strictly below `scope` (of type `kind` if given) whose
    /// creation number is above `after` and for which `keep` holds, in creation order: what
    /// this transaction sees, staged changes included. Costs O(log n + what it reads).
    pub(crate) fn page(
        &self,
        scope: &Scope,
        kind: Option<&str>,
        after: u64,
        limit: usize,
        keep: impl Fn(&Record) -> bool,
    ) -> Vec<Record> {
        let staged = self.staged.borrow();
        let mut out = Vec::new();
        if limit == 0 {
            return out;
        }
        self.base.scan(scope, kind, after, |r| {
            if (staged.is_empty() || !staged.values.contains_key(&id::key(&r.id))) && keep(&r) {
                out.push(r);
            }
            out.len() < limit
        });
        if staged.is_empty() {
            return out;
        }
        let mine = staged.values.iter().filter_map(|(key, v)| {
            let r = v.as_ref()?;
            let fits =
                r.seq > after && kind.is_none_or(|k| r.kind.eq_ignore_ascii_case(k)) && scope.holds(key) && keep(r);
            fits.then(|| r.clone())
        });
        out.extend(mine);
        out.sort_by_key(|r| r.seq);
        out.truncate(limit);
        out
    }

    fn commit(&self) {
        self.base.apply(self.staged.borrow_mut().drain());
    }
}

/// The directory as a transaction sees it.
pub(crate) struct TxDirectory<'w> {
    base: &'w crate::entra::Directory,
    staged: RefCell<Staged<Principal>>,
}

impl TxDirectory<'_> {
    pub(crate) fn get(&self, object_id: &str) -> Option<Principal> {
        match self.staged.borrow().get(&object_id.to_ascii_lowercase()) {
            Some(v) => v.clone(),
            None => self.base.get(object_id),
        }
    }

    /// The principal with this app id: staged first, then the directory's index.
    pub(crate) fn by_app_id(&self, app_id: &str) -> Option<Principal> {
        let staged = self.staged.borrow();
        let mine = staged.values.values().flatten();
        if let Some(p) = mine.clone().find(|p| p.app_id.eq_ignore_ascii_case(app_id)) {
            return Some(p.clone());
        }
        self.base
            .by_app_id(app_id)
            .filter(|p| staged.get(&p.object_id.to_ascii_lowercase()).is_none())
    }

    pub(crate) fn upsert(&self, p: Principal) {
        self.staged.borrow_mut().set(p.object_id.to_ascii_lowercase(), Some(p));
    }

    pub(crate) fn remove(&self, object_id: &str) -> Option<Principal> {
        let old = self.get(object_id)?;
        self.staged.borrow_mut().set(object_id.to_ascii_lowercase(), None);
        Some(old)
    }

    /// All principals, oldest first.
    pub(crate) fn all(&self) -> Vec<Principal> {
        let staged = self.staged.borrow();
        if staged.is_empty() {
            return self.base.all();
        }
        let mut v: Vec<Principal> = self
            .base
            .all()
            .into_iter()
            .filter(|p| !staged.values.contains_key(&p.object_id.to_ascii_lowercase()))
            .collect();
        v.extend(staged.values.values().flatten().cloned());
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.object_id.cmp(&b.object_id)));
        v
    }

    fn commit(&self) {
        for (key, value) in self.staged.borrow_mut().drain() {
            match value {
                Some(p) => self.base.upsert(p),
                None => {
                    self.base.remove(&key);
                }
            }
        }
    }
}

/// Long-running operations as a transaction sees them: operations it starts are staged;
/// operations it ends have had their effects applied through it and end at commit.
pub(crate) struct TxOps<'w> {
    base: &'w crate::arm::lro::Operations<Effect>,
    started: RefCell<Vec<Start<Effect>>>,
    ended: RefCell<Vec<(String, Outcome, Millis)>>,
}

impl TxOps<'_> {
    /// Starts an operation when the transaction commits; returns its id.
    pub(crate) fn start(&self, s: Start<Effect>) -> String {
        let id = s.id.clone();
        self.started.borrow_mut().push(s);
        id
    }

    /// The operation running on `resource_id` or below it (staged ones included).
    pub(crate) fn running_on(&self, resource_id: &str) -> Option<Snapshot> {
        let ended = self.ended.borrow();
        if let Some(s) = self
            .base
            .running_on_except(resource_id, &|op| ended.iter().any(|(id, ..)| id == op))
        {
            return Some(s);
        }
        self.started
            .borrow()
            .iter()
            .find(|s| id::is_at_or_above(resource_id, &s.resource_id) && !ended.iter().any(|(id, ..)| *id == s.id))
            .map(Start::snapshot)
    }

    /// Counts a status poll (harness bookkeeping: it changes no resource).
    pub(crate) fn touch(&self, op_id: &str) {
        self.base.touch(op_id);
    }

    pub(crate) fn snapshot(&self, op_id: &str) -> Option<Snapshot> {
        self.base.snapshot(op_id)
    }

    /// Ends the running operations on `resource_id` (and below it) with `outcome`, applying
    /// their effects through `tx`. Returns the ids it ended.
    pub(crate) fn finish_for(&self, tx: &Tx, resource_id: &str, now: Millis, outcome: Outcome) -> Vec<String> {
        let mut ids = Vec::new();
        // The effects taken here cannot be put back, and may write anywhere: only a
        // transaction holding the whole world takes them (a partition's is answered again so).
        if !tx.store.whole_or_conflicted() {
            return ids;
        }
        for (op_id, effect) in self.base.take_effects_on(resource_id) {
            let ended = apply(tx, effect, outcome.clone());
            self.ended.borrow_mut().push((op_id.clone(), ended, now));
            ids.push(op_id);
        }
        ids
    }

    /// Ends now the operations this transaction started on `resource_id` (or below it),
    /// applying their effects: a template deployment waits for each resource it creates.
    /// Returns the error of the first that failed.
    pub(crate) fn finish_started(&self, tx: &Tx, resource_id: &str, now: Millis) -> ArmResult<()> {
        let mine: Vec<Start<Effect>> = {
            let mut started = self.started.borrow_mut();
            let (mine, rest) = started
                .drain(..)
                .partition(|s| id::is_at_or_above(resource_id, &s.resource_id));
            *started = rest;
            mine
        };
        let mut first_error = None;
        for mut s in mine {
            let outcome = match s.fail_with.take() {
                Some(e) => Outcome::Failed(e),
                None => Outcome::Succeeded,
            };
            let effect = std::mem::replace(&mut s.effect, Box::new(|_, _| Ok(())));
            let ended = apply(tx, Some(effect), outcome);
            if let (Outcome::Failed(e), None) = (&ended, &first_error) {
                first_error = Some(e.clone());
            }
            self.ended.borrow_mut().push((s.id.clone(), ended, now));
            self.started.borrow_mut().push(s);
        }
        first_error.map_or(Ok(()), Err)
    }

    fn commit(&self) {
        for s in self.started.borrow_mut().drain(..) {
            self.base.start(s);
        }
        for (op_id, outcome, now) in self.ended.borrow_mut().drain(..) {
            self.base.finish(&op_id, outcome, now);
        }
    }
}

/// Activity events a transaction records, appended to the log when it commits.
pub(crate) struct TxEvents<'w> {
    base: &'w super::events::Events,
    staged: RefCell<Vec<Event>>,
}

impl TxEvents<'_> {
    pub(crate) fn record(
        &self,
        at: Millis,
        resource_id: &str,
        kind: &str,
        message: impl Into<String>,
        correlation_id: &str,
    ) {
        self.staged.borrow_mut().push(Event {
            at,
            resource_id: resource_id.to_string(),
            kind: kind.to_string(),
            message: message.into(),
            correlation_id: correlation_id.to_string(),
        });
    }

    fn commit(&self) {
        for e in self.staged.borrow_mut().drain(..) {
            self.base.push(e);
        }
    }
}

/// One transaction over the world. See the module documentation.
pub(crate) struct Tx<'w> {
    world: &'w World,
    pub(crate) store: TxStore<'w>,
    pub(crate) directory: TxDirectory<'w>,
    pub(crate) ops: TxOps<'w>,
    pub(crate) events: TxEvents<'w>,
    /// The caller whose permissions internal ARM calls are checked against.
    caller: RefCell<Option<Caller>>,
    /// The correlation id of the request that opened the transaction.
    correlation_id: RefCell<String>,
    /// How deep internal ARM calls are nested (a template deploying a template...).
    depth: Cell<u32>,
}

/// The deepest nesting of internal ARM calls (ARM allows 50 nested deployments).
const MAX_CALL_DEPTH: u32 = 64;

impl<'w> Tx<'w> {
    fn new(world: &'w World, held: Option<Held<'w>>) -> Tx<'w> {
        Tx {
            world,
            store: TxStore {
                base: &world.store,
                staged: RefCell::new(Staged::new()),
                held: held.map(RefCell::new),
            },
            directory: TxDirectory {
                base: &world.directory,
                staged: RefCell::new(Staged::new()),
            },
            ops: TxOps {
                base: &world.ops,
                started: RefCell::new(Vec::new()),
                ended: RefCell::new(Vec::new()),
            },
            events: TxEvents {
                base: &world.events,
                staged: RefCell::new(Vec::new()),
            },
            caller: RefCell::new(None),
            correlation_id: RefCell::new(String::new()),
            depth: Cell::new(0),
        }
    }

    /// A write transaction over the whole world: excludes every other writer until dropped.
    pub(crate) fn write(world: &'w World) -> Tx<'w> {
        Tx::new(world, Some(world.gate()))
    }

    /// A write transaction for a request on `path`: holds the partition `path` lives in (its
    /// resource group, or its subscription's own level) until dropped; writers elsewhere run
    /// at the same time. See `gate.rs`.
    pub(crate) fn write_in(world: &'w World, path: &str) -> Tx<'w> {
        Tx::new(world, Some(Held::partition(&world.gates, path)))
    }

    /// A read-only transaction: sees committed state, takes no gate.
    pub(crate) fn read(world: &'w World) -> Tx<'w> {
        Tx::new(world, None)
    }

    pub(crate) fn is_writable(&self) -> bool {
        self.store.held.is_some()
    }

    /// True when the transaction wrote where it could not take the gate: it cannot commit,
    /// and its request must be answered again in a whole-world transaction.
    pub(crate) fn is_conflicted(&self) -> bool {
        self.store.held.as_ref().is_some_and(|h| h.borrow().is_conflicted())
    }

    fn is_whole(&self) -> bool {
        self.store.held.as_ref().is_some_and(|h| h.borrow().is_whole())
    }

    /// Makes every staged change visible to everyone, in the order it was made. The
    /// transaction stays open (and keeps the gates) for further work. A conflicted one
    /// commits nothing.
    pub(crate) fn commit(&self) {
        if !self.is_writable() || self.is_conflicted() {
            return;
        }
        self.store.commit();
        self.directory.commit();
        self.events.commit();
        self.ops.commit();
    }

    /// Ends, inside this transaction, every operation whose time has come: applies their
    /// effects, and marks them ended at commit. A read-only transaction asks the world to
    /// do it in a transaction of its own. A partition's transaction leaves it to the world
    /// (effects may write anywhere; the dispatcher settles before it opens one).
    pub(crate) fn settle(&self) {
        if !self.is_writable() {
            self.world.settle();
            return;
        }
        if !self.is_whole() {
            return;
        }
        let now = self.world.now();
        for (op_id, effect, outcome) in self.world.ops.take_due(now) {
            let ended = apply(self, effect, outcome);
            self.ops.ended.borrow_mut().push((op_id, ended, now));
        }
    }

    /// Runs `f` and then takes back everything it staged: what-if runs a deployment for real
    /// in here and reports the difference. Operations `f` ends on committed state are not
    /// taken back, so `f` must not abort or settle anything.
    pub(crate) fn scratch<R>(&self, f: impl FnOnce(&Tx) -> R) -> R {
        let store = self.store.staged.borrow().clone();
        let directory = self.directory.staged.borrow().clone();
        let started = self.ops.started.borrow().len();
        let ended = self.ops.ended.borrow().len();
        let events = self.events.staged.borrow().len();
        let out = f(self);
        *self.store.staged.borrow_mut() = store;
        *self.directory.staged.borrow_mut() = directory;
        self.ops.started.borrow_mut().truncate(started);
        self.ops.ended.borrow_mut().truncate(ended);
        self.events.staged.borrow_mut().truncate(events);
        out
    }

    /// Runs `f` as `caller`, then puts the transaction's own caller back (a deployment's
    /// resources are created with the deploying caller's permissions).
    pub(crate) fn as_caller<R>(&self, caller: Option<Caller>, f: impl FnOnce(&Tx) -> R) -> R {
        let own = self.caller.replace(caller);
        let out = f(self);
        *self.caller.borrow_mut() = own;
        out
    }

    /// Remembers who is acting and for which request, so internal calls are authorized as
    /// that caller and logged under that correlation id.
    pub(crate) fn set_request(&self, caller: Option<Caller>, correlation_id: &str) {
        *self.caller.borrow_mut() = caller;
        *self.correlation_id.borrow_mut() = correlation_id.to_string();
    }

    pub(crate) fn correlation_id(&self) -> String {
        self.correlation_id.borrow().clone()
    }

    pub(crate) fn caller(&self) -> Option<Caller> {
        self.caller.borrow().clone()
    }

    /// An ARM request made from inside azemu (a template deployment creating its
    /// resources): the same routing, validation, rules, RBAC and operation engine as an HTTP
    /// request, inside this transaction, without taking the gate again.
    pub(crate) fn call(&self, req: &Request) -> ArmResult<Response> {
        let depth = self.depth.get();
        if depth >= MAX_CALL_DEPTH {
            return Err(crate::arm::ArmError::bad_request(
                "DeploymentNestingLimitExceeded",
                format!("Internal ARM calls are nested deeper than {MAX_CALL_DEPTH} levels."),
            ));
        }
        self.depth.set(depth + 1);
        let out = (self.world.pipeline())(self, req);
        self.depth.set(depth);
        out
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = World;

    /// The world's services a transaction may use freely: configuration, clock, id
    /// generator, signer, harness settings. Its state is reached only through the fields.
    fn deref(&self) -> &World {
        self.world
    }
}

impl Start<Effect> {
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            id: self.id.clone(),
            resource_id: self.resource_id.clone(),
            activity: self.activity.clone(),
            status: "InProgress".into(),
            start: self.now,
            end: None,
            error: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::ArmError;
    use serde_json::json;

    fn world() -> World {
        let config = crate::config::Config {
            data_dir: std::env::temp_dir(),
            ..Default::default()
        };
        let wiring = super::super::Wiring {
            pipeline: |_, _| Err(ArmError::internal("no pipeline in this test")),
            seed: |_| {},
        };
        struct NoHarness;
        impl super::super::Harness for NoHarness {
            fn lro_rule(&self, _: &str, _: &str) -> Option<String> {
                None
            }
            fn lro_failure(&self, _: &World, _: &Request) -> Option<ArmError> {
                None
            }
            fn as_any(&self) -> &dyn std::any::Any {
                self
            }
        }
        World::new(config, crate::entra::Signer::ephemeral(), wiring, Box::new(NoHarness))
    }

    const ID: &str = "/subscriptions/s/resourceGroups/rg/providers/X.Y/things/a";

    #[test]
    fn a_dropped_transaction_leaves_no_trace() {
        let w = world();
        let before = w.fingerprint();
        {
            let tx = Tx::write(&w);
            tx.store.put(Record::new(ID, "X.Y/things", json!({ "v": 1 })));
            assert!(tx.store.contains(ID), "a transaction reads what it staged");
            assert_eq!(tx.store.list(|r| r.kind == "X.Y/things").len(), 1);
            tx.events.record(0, ID, "Created", "staged", "");
        }
        assert!(!w.read().store.contains(ID));
        assert_eq!(before, w.fingerprint());
    }

    #[test]
    fn a_committed_transaction_is_seen_by_everyone() {
        let w = world();
        let before = w.fingerprint();
        w.transact(|tx| {
            tx.store.put(Record::new(ID, "X.Y/things", json!({ "v": 1 })));
            assert!(!w.read().store.contains(ID), "nothing is visible before commit");
        });
        assert_eq!(w.read().store.get(ID).unwrap().body["v"], 1);
        assert_ne!(before, w.fingerprint());
        w.transact(|tx| {
            tx.store.remove_tree("/subscriptions/s/resourceGroups/rg");
        });
        assert!(!w.read().store.contains(ID));
    }

    #[test]
    fn a_write_transaction_pages_over_what_it_staged() {
        let w = world();
        let rg = "/subscriptions/s/resourceGroups/rg";
        let id = |n: usize| format!("{rg}/providers/X.Y/things/t{n}");
        w.transact(|tx| {
            for n in 0..6 {
                tx.store.put(Record::new(id(n), "X.Y/things", json!({ "n": n })));
            }
        });
        let tx = Tx::write(&w);
        tx.store.remove(&id(1));
        tx.store.update(&id(3), |r| r.body["n"] = json!(33));
        tx.store.put(Record::new(id(6), "X.Y/things", json!({ "n": 6 })));
        tx.store.put(Record::new(
            format!("{rg}/providers/X.Y/others/o"),
            "X.Y/others",
            json!({}),
        ));
        let scope = Scope::below(rg);
        let ns = |v: Vec<Record>| v.iter().map(|r| r.body["n"].as_i64().unwrap()).collect::<Vec<_>>();
        let first = tx.store.page(&scope, Some("x.y/THINGS"), 0, 3, |_| true);
        assert_eq!(ns(first.clone()), [0, 2, 33], "staged removal and update seen in place");
        let rest = tx.store.page(&scope, Some("X.Y/things"), first[2].seq, 10, |_| true);
        assert_eq!(ns(rest), [4, 5, 6], "a staged record comes last, in creation order");
        assert_eq!(tx.store.below(rg, None).len(), 7);
        assert_eq!(tx.store.remove_tree(rg).len(), 7);
        assert!(tx.store.below("/", None).is_empty());
        drop(tx);
        assert_eq!(
            w.read().store.below(rg, Some("X.Y/things")).len(),
            6,
            "nothing committed"
        );
    }

    #[test]
    fn a_write_where_another_writer_is_busy_conflicts_and_commits_nothing() {
        let w = world();
        let g1 = "/subscriptions/s/resourceGroups/one";
        let g2 = "/subscriptions/s/resourceGroups/two";
        let busy = Tx::write_in(&w, g2);
        let tx = Tx::write_in(&w, g1);
        tx.store.put(Record::new(
            format!("{g1}/providers/X.Y/things/a"),
            "X.Y/things",
            json!({}),
        ));
        tx.store.put(Record::new(
            format!("{g1}-elsewhere/providers/X.Y/things/free"),
            "X.Y/things",
            json!({}),
        ));
        assert!(!tx.is_conflicted(), "its own group, and a free one, are written");
        tx.store.put(Record::new(
            format!("{g2}/providers/X.Y/things/b"),
            "X.Y/things",
            json!({}),
        ));
        assert!(tx.is_conflicted(), "a busy group is not waited for");
        tx.commit();
        drop((tx, busy));
        assert!(
            w.read().store.below("/", None).is_empty(),
            "a conflicted transaction commits nothing"
        );

        let tx = Tx::write_in(&w, g1);
        tx.store.put(Record::new(
            "/subscriptions/s",
            "Microsoft.Resources/subscriptions",
            json!({}),
        ));
        assert!(
            tx.is_conflicted(),
            "a group's writer does not write its subscription's own level"
        );
        let whole = {
            drop(tx);
            Tx::write(&w)
        };
        whole.store.put(Record::new(
            "/subscriptions/s",
            "Microsoft.Resources/subscriptions",
            json!({}),
        ));
        whole.store.put(Record::new(
            format!("{g2}/providers/X.Y/things/b"),
            "X.Y/things",
            json!({}),
        ));
        assert!(!whole.is_conflicted());
        whole.commit();
        assert_eq!(w.read().store.below("/", None).len(), 2);
    }

    #[test]
    fn creation_numbers_follow_commit_order() {
        let w = world();
        let a = Tx::write_in(&w, "/subscriptions/s/resourceGroups/a");
        let b = Tx::write_in(&w, "/subscriptions/s/resourceGroups/b");
        a.store.put(Record::new(
            "/subscriptions/s/resourceGroups/a/providers/X.Y/things/first",
            "X.Y/things",
            json!({}),
        ));
        b.store.put(Record::new(
            "/subscriptions/s/resourceGroups/b/providers/X.Y/things/second",
            "X.Y/things",
            json!({}),
        ));
        b.commit();
        a.commit();
        let all = w.read().store.of_kind("X.Y/things");
        let names: Vec<&str> = all.iter().map(|r| r.id.rsplit('/').next().unwrap()).collect();
        assert_eq!(
            names,
            ["second", "first"],
            "a reader paging by creation number skips neither"
        );
    }

    #[test]
    #[should_panic(expected = "read-only")]
    fn a_read_transaction_cannot_write() {
        let w = world();
        w.read().store.put(Record::new(ID, "X.Y/things", json!({})));
    }
}
