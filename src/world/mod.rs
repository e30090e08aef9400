//! The world: everything one azemu holds in memory, and the shared services handlers use
//! (clock, id generator, long-running operations, activity log).
//!
//! Handlers receive `&World`. Writes are serialized by [`World::write`], so a multi-step
//! change (a cluster and its node resource group) is never seen half-done by another write.

pub mod clock;
pub mod events;
pub mod ids;

use crate::arm::lro::Operations;
use crate::arm::time::Millis;
use crate::config::Config;
use crate::control::{faults::Faults, journal::Journal, lro_rules::LroRules};
use crate::entra::{Directory, Signer};
use crate::store::Store;
use clock::Clock;
use events::Events;
use ids::Ids;
use std::sync::{Mutex, MutexGuard, OnceLock};

pub struct World {
    pub config: Config,
    base_url: OnceLock<std::sync::Arc<str>>,
    pub store: Store,
    pub directory: Directory,
    pub ops: Operations<World>,
    pub clock: Clock,
    pub ids: Ids,
    pub events: Events,
    pub signer: Signer,
    pub faults: Faults,
    pub journal: Journal,
    pub lro_rules: LroRules,
    /// `--state-file`: whether state changed since the last save.
    pub persistence: crate::control::state::Persistence,
    write_gate: Mutex<()>,
}

impl World {
    /// A world with the default tenant, subscription and service principal.
    pub fn new(config: Config, signer: Signer) -> World {
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
            faults: Faults::default(),
            journal: Journal::default(),
            lro_rules: LroRules::default(),
            persistence: Default::default(),
            write_gate: Mutex::new(()),
        };
        crate::providers::seed_defaults(&w);
        w
    }

    /// The URL clients reach azemu at (`https://127.0.0.1:8443`), set once the port is bound.
    pub fn base_url(&self) -> &str {
        self.base_url.get().map(|u| &**u).unwrap_or("https://127.0.0.1:8443")
    }

    /// The same URL, shared (each request carries it).
    pub fn base_url_shared(&self) -> std::sync::Arc<str> {
        self.base_url
            .get()
            .cloned()
            .unwrap_or_else(|| "https://127.0.0.1:8443".into())
    }

    pub fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url.into());
    }

    pub fn now(&self) -> Millis {
        self.clock.now()
    }

    /// Serializes writers. Held for the whole of a mutating request.
    pub fn write(&self) -> MutexGuard<'_, ()> {
        self.write_gate.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends every long-running operation whose time has come.
    pub fn settle(&self) {
        if self.ops.has_pending() {
            let now = self.now();
            self.ops.settle(self, now);
        }
    }

    /// Empties all state and puts the defaults back; configuration is kept.
    pub fn reset(&self) {
        self.ops.clear();
        self.store.clear();
        self.directory.clear();
        self.events.clear();
        self.ids.reseed(self.config.seed);
        if self.config.seed.is_some() {
            self.clock.set(clock::VIRTUAL_EPOCH);
        }
        crate::providers::seed_defaults(self);
    }
}
