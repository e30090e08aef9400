//! The world: everything one azemu holds in memory, and the shared services handlers use
//! (clock, id generator, long-running operations, activity log).
//!
//! Handlers never touch the world's state directly: they receive a [`Tx`] (see `tx.rs`),
//! which stages every change and commits it whole, and for a write holds the gates of the
//! partitions it writes in (`gate.rs`: a resource group, a subscription's own level, or the
//! whole world), so a multi-step change (a cluster and its node resource group) is never seen
//! half-done by another write, a refused one leaves no trace, and writes into different
//! resource groups or subscriptions run side by side.

pub(crate) mod clock;
pub(crate) mod events;
pub(crate) mod gate;
pub(crate) mod ids;
pub(crate) mod tx;

use crate::arm::lro::Operations;
use crate::arm::time::Millis;
use crate::config::Config;
use crate::entra::{Directory, Signer};
use crate::store::Store;
use clock::Clock;
use events::Events;
use ids::Ids;
use std::sync::OnceLock;
pub(crate) use tx::Tx;

/// How an ARM request is answered, given a transaction: routing, checks and the handler.
/// The server supplies it; internal ARM calls ([`Tx::call`]) go through it too.
pub(crate) type Pipeline = fn(&Tx, &crate::arm::Request) -> crate::arm::ArmResult<crate::arm::Response>;

/// The test harness's settings that providers consult: LRO timing rules and injected
/// operation failures. They live with the control API, which owns them (with the journal,
/// the faults and persistence); the world holds them type-erased, knowing nothing of it.
pub(crate) trait Harness: Send + Sync + 'static {
    /// The timing spec a rule sets for a write of `method` on `resource_id`.
    fn lro_rule(&self, method: &str, resource_id: &str) -> Option<String>;
    /// The failure an injected fault asks the operation `req` starts to end with.
    fn lro_failure(&self, world: &World, req: &crate::arm::Request) -> Option<crate::arm::ArmError>;
    /// The concrete harness, for the control API that owns it.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// What the layers above give the world when they build it: the world knows no provider and
/// no server, only these functions.
#[derive(Clone, Copy)]
pub(crate) struct Wiring {
    /// Answers ARM requests (HTTP and internal calls).
    pub(crate) pipeline: Pipeline,
    /// Puts the default data in (at start and reset).
    pub(crate) seed: fn(&Tx),
}

pub(crate) struct World {
    pub(crate) config: Config,
    base_url: OnceLock<std::sync::Arc<str>>,
    /// State: reached through a [`Tx`] only (and whole, by reset and snapshots).
    store: Store,
    directory: Directory,
    ops: Operations<tx::Effect>,
    events: Events,
    pub(crate) clock: Clock,
    pub(crate) ids: Ids,
    pub(crate) signer: Signer,
    wiring: Wiring,
    harness: Box<dyn Harness>,
    gates: gate::Gates,
}

impl World {
    /// A world with the default tenant, subscription and service principal.
    pub(crate) fn new(config: Config, signer: Signer, wiring: Wiring, harness: Box<dyn Harness>) -> World {
        let clock = match config.seed {
            Some(_) => Clock::virtual_at(clock::VIRTUAL_EPOCH),
            None => Clock::wall(),
        };
        let w = World {
            ids: Ids::new(config.seed),
            config,
            base_url: OnceLock::new(),
            store: Store::default(),
            directory: Directory::default(),
            ops: Operations::default(),
            clock,
            events: Events::default(),
            signer,
            wiring,
            harness,
            gates: gate::Gates::default(),
        };
        w.transact(wiring.seed);
        w
    }

    /// The URL clients reach azemu at (`https://127.0.0.1:8443`), set once the port is bound.
    pub(crate) fn base_url(&self) -> &str {
        self.base_url.get().map(|u| &**u).unwrap_or("https://127.0.0.1:8443")
    }

    /// The same URL, shared (each request carries it).
    pub(crate) fn base_url_shared(&self) -> std::sync::Arc<str> {
        self.base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "https://127.0.0.1:8443".into())
    }

    pub(crate) fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url.into());
    }

    pub(crate) fn now(&self) -> Millis {
        self.clock.now()
    }

    /// The whole world's write gate: no other writer runs while it is held. A panic in one
    /// request never leaves it poisoned for the next.
    fn gate(&self) -> gate::Held<'_> {
        gate::Held::whole(&self.gates)
    }

    /// Under `--audit-refusals`: held around each write so writers run one at a time.
    pub(crate) fn serial_gate(&self) -> Option<std::sync::MutexGuard<'_, ()>> {
        self.config.audit_refusals.then(|| self.gates.serial())
    }

    /// How write transactions were gated so far (`GET /_azemu/health`).
    pub(crate) fn write_counts(&self) -> serde_json::Value {
        self.gates.counts()
    }

    /// The test harness's settings (see [`Harness`]).
    pub(crate) fn harness(&self) -> &dyn Harness {
        &*self.harness
    }

    pub(crate) fn pipeline(&self) -> Pipeline {
        self.wiring.pipeline
    }

    /// A read-only transaction: committed state, no gate.
    pub(crate) fn read(&self) -> Tx<'_> {
        Tx::read(self)
    }

    /// Runs `f` in a write transaction and commits what it staged.
    pub(crate) fn transact<R>(&self, f: impl FnOnce(&Tx) -> R) -> R {
        let tx = Tx::write(self);
        let out = f(&tx);
        tx.commit();
        out
    }

    /// Runs `f` in a write transaction that commits only when `f` succeeds.
    pub(crate) fn try_transact<R, E>(&self, f: impl FnOnce(&Tx) -> Result<R, E>) -> Result<R, E> {
        let tx = Tx::write(self);
        let out = f(&tx)?;
        tx.commit();
        Ok(out)
    }

    /// Ends every long-running operation whose time has come, in a transaction of its own.
    pub(crate) fn settle(&self) {
        if self.ops.any_due(self.now()) {
            self.transact(|tx| tx.settle());
        }
    }

    /// Whether some operation is still running (a request may end it: state may change).
    pub(crate) fn has_pending_operations(&self) -> bool {
        self.ops.has_pending()
    }

    /// The world's operations (read-only views: the control API lists them).
    pub(crate) fn operations(&self) -> Vec<crate::arm::lro::Snapshot> {
        self.ops.all()
    }

    /// How many activity events there are, and those after the first `seen` (the dashboard's
    /// event stream).
    pub(crate) fn activity_since(&self, seen: u64) -> (u64, Vec<serde_json::Value>) {
        self.events.since(seen)
    }

    /// True while some long-running operation has not ended.
    pub(crate) fn has_running_operations(&self) -> bool {
        self.ops.has_pending()
    }

    /// How far operation `id` has come (0 to 1), when its end is known in advance.
    pub(crate) fn operation_progress(&self, id: &str) -> Option<f64> {
        self.ops.progress(id, self.now())
    }

    /// Activity events about `resource` (or anything below it), else all.
    pub(crate) fn activity(&self, resource: Option<&str>) -> Vec<serde_json::Value> {
        self.events.list(resource)
    }

    /// A digest of all state a refused write must not change: records, principals,
    /// operations and activity. The caller holds the whole world's gate (an open whole-world
    /// write [`Tx`]).
    pub(crate) fn fingerprint(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for r in self.store.export() {
            serde_json::to_string(&r).unwrap_or_default().hash(&mut h);
        }
        for p in self.directory.all() {
            serde_json::to_string(&p).unwrap_or_default().hash(&mut h);
        }
        for o in self.ops.all() {
            (o.id, o.status, o.end).hash(&mut h);
        }
        self.events.list(None).len().hash(&mut h);
        h.finish()
    }

    /// Every record and principal, for a state snapshot.
    pub(crate) fn export(&self) -> (Vec<crate::store::Record>, Vec<crate::entra::Principal>) {
        let _g = self.gate();
        (self.store.export(), self.directory.all())
    }

    /// Replaces all state with a snapshot's records and principals.
    pub(crate) fn import(&self, records: Vec<crate::store::Record>, principals: Vec<crate::entra::Principal>) {
        let _g = self.gate();
        self.ops.clear();
        self.store.import(records);
        self.directory.import(principals);
    }

    /// Empties all state and puts the defaults back; configuration is kept.
    pub(crate) fn reset(&self) {
        {
            let _g = self.gate();
            self.ops.clear();
            self.store.clear();
            self.directory.clear();
            self.events.clear();
            self.signer.forget_verified();
            self.ids.reseed(self.config.seed);
            if self.config.seed.is_some() {
                self.clock.set(clock::VIRTUAL_EPOCH);
            }
        }
        self.transact(self.wiring.seed);
    }
}
