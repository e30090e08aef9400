//! The write gates: which writes may run at the same time.
//!
//! State is split into *partitions* by where it lives: each resource group (with everything
//! in it), each subscription's own level (the subscription, its provider registrations, its
//! subscription-scope resources), and the tenant (everything else). A write transaction
//! holds the partition its request addresses exclusively, so writes into different resource
//! groups or subscriptions run side by side, while two writes into one group queue.
//!
//! The locks form a hierarchy, always taken in this order, so they cannot deadlock:
//!
//! 1. the world: shared by partition writers, exclusive for a whole-world write (reset,
//!    snapshots, ending due operations, the control API, `--audit-refusals`);
//! 2. the subscription: shared by its groups' writers, exclusive for a subscription-level
//!    write (so a group's writer sees its subscription's registrations, roles and
//!    assignments stable for its whole transaction);
//! 3. the resource group: exclusive.
//!
//! A transaction that writes outside its partition (a cluster creating its node resource
//! group, a deleted identity taking its role assignments elsewhere) takes that partition
//! too, but only if it is free right now: it never waits while holding a lock. When it is
//! not free, the transaction is marked *conflicted*; it cannot commit, and the dispatcher
//! answers the request again holding the whole world (nothing was committed, so the retry
//! starts from the same state).
//!
//! Reads of other partitions see committed state, as read requests do. Locks are striped
//! (a fixed number per level, chosen by a hash of the name), so no client-chosen name
//! grows memory; two names sharing a stripe merely queue.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard, TryLockError};

/// Lock stripes for subscriptions and for resource groups.
const SUBSCRIPTION_STRIPES: usize = 64;
const GROUP_STRIPES: usize = 1024;

/// Where a resource id (or request path) lives, as the stripes that guard it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Partition {
    /// Outside every subscription: role definitions at the root, tenant-level resources.
    Tenant,
    /// A subscription's own level (its stripe).
    Subscription(usize),
    /// A resource group (its subscription's stripe, its own stripe).
    Group(usize, usize),
}

/// The partition of `path` (`/subscriptions/{s}/resourceGroups/{g}/...`, any case).
pub(crate) fn partition(path: &str) -> Partition {
    let mut segs = path.split('/').filter(|s| !s.is_empty());
    match (segs.next(), segs.next()) {
        (Some(a), Some(sub)) if a.eq_ignore_ascii_case("subscriptions") => {
            let s = stripe(&[sub], SUBSCRIPTION_STRIPES);
            match (segs.next(), segs.next()) {
                (Some(b), Some(group)) if b.eq_ignore_ascii_case("resourceGroups") => {
                    Partition::Group(s, stripe(&[sub, group], GROUP_STRIPES))
                }
                _ => Partition::Subscription(s),
            }
        }
        _ => Partition::Tenant,
    }
}

/// A case-insensitive FNV-1a hash of `names`, reduced to one of `n` stripes.
fn stripe(names: &[&str], n: usize) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for name in names {
        for b in name.bytes().chain(std::iter::once(b'/')) {
            h ^= u64::from(b.to_ascii_lowercase());
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (h % n as u64) as usize
}

/// The world's write locks (see the module documentation).
pub(crate) struct Gates {
    world: RwLock<()>,
    subscriptions: Vec<RwLock<()>>,
    groups: Vec<Mutex<()>>,
    /// Taken before any other by every write under `--audit-refusals`, which compares the
    /// whole state before and after a refusal: writers then run one at a time, through the
    /// same partition locks (so their rules are exercised all the same).
    serial: Mutex<()>,
    counts: Counts,
}

/// How many write transactions held a partition, the whole world, and how many of the
/// former were conflicted (`GET /_azemu/health` shows them).
#[derive(Default)]
struct Counts {
    partition: AtomicU64,
    whole: AtomicU64,
    conflicted: AtomicU64,
}

impl Gates {
    /// Serializes writers for `--audit-refusals` (see [`Gates::serial`]).
    pub(crate) fn serial(&self) -> MutexGuard<'_, ()> {
        self.serial.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The counts as JSON: `{"inPartition", "wholeWorld", "answeredAgain"}`.
    pub(crate) fn counts(&self) -> serde_json::Value {
        serde_json::json!({
            "inPartition": self.counts.partition.load(Relaxed),
            "wholeWorld": self.counts.whole.load(Relaxed),
            "answeredAgain": self.counts.conflicted.load(Relaxed),
        })
    }
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            world: RwLock::new(()),
            subscriptions: (0..SUBSCRIPTION_STRIPES).map(|_| RwLock::new(())).collect(),
            groups: (0..GROUP_STRIPES).map(|_| Mutex::new(())).collect(),
            serial: Mutex::new(()),
            counts: Counts::default(),
        }
    }
}

enum Level<'g> {
    Shared(#[allow(dead_code)] RwLockReadGuard<'g, ()>),
    Exclusive(#[allow(dead_code)] RwLockWriteGuard<'g, ()>),
}

impl Level<'_> {
    fn exclusive(&self) -> bool {
        matches!(self, Level::Exclusive(_))
    }
}

/// A lock taken now, poisoned or not (a panic in one request never blocks the next).
fn taken<G>(r: Result<G, TryLockError<G>>) -> Option<G> {
    match r {
        Ok(g) => Some(g),
        Err(TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// The locks one write transaction holds.
pub(crate) struct Held<'g> {
    gates: &'g Gates,
    world: Level<'g>,
    subscriptions: Vec<(usize, Level<'g>)>,
    groups: Vec<(usize, MutexGuard<'g, ()>)>,
    conflicted: bool,
}

impl<'g> Held<'g> {
    /// The whole world, exclusively (waits for every other writer to finish).
    pub(crate) fn whole(gates: &'g Gates) -> Held<'g> {
        let g = gates.world.write().unwrap_or_else(|p| p.into_inner());
        gates.counts.whole.fetch_add(1, Relaxed);
        Held {
            gates,
            world: Level::Exclusive(g),
            subscriptions: Vec::new(),
            groups: Vec::new(),
            conflicted: false,
        }
    }

    /// The partition `path` lives in (waits for the writers holding it). The tenant's
    /// partition is the whole world.
    pub(crate) fn partition(gates: &'g Gates, path: &str) -> Held<'g> {
        let p = partition(path);
        if p == Partition::Tenant {
            return Held::whole(gates);
        }
        let world = Level::Shared(gates.world.read().unwrap_or_else(|p| p.into_inner()));
        gates.counts.partition.fetch_add(1, Relaxed);
        let mut held = Held {
            gates,
            world,
            subscriptions: Vec::new(),
            groups: Vec::new(),
            conflicted: false,
        };
        match p {
            Partition::Subscription(s) => {
                let g = gates.subscriptions[s].write().unwrap_or_else(|p| p.into_inner());
                held.subscriptions.push((s, Level::Exclusive(g)));
            }
            Partition::Group(s, g) => {
                let sg = gates.subscriptions[s].read().unwrap_or_else(|p| p.into_inner());
                held.subscriptions.push((s, Level::Shared(sg)));
                let gg = gates.groups[g].lock().unwrap_or_else(|p| p.into_inner());
                held.groups.push((g, gg));
            }
            Partition::Tenant => unreachable!("handled above"),
        }
        held
    }

    /// True when this transaction holds the whole world.
    pub(crate) fn is_whole(&self) -> bool {
        self.world.exclusive()
    }

    fn subscription(&self, s: usize) -> Option<&Level<'g>> {
        self.subscriptions.iter().find(|(i, _)| *i == s).map(|(_, l)| l)
    }

    /// Whether this transaction may write in `p` now, with the locks it holds.
    pub(crate) fn holds(&self, p: Partition) -> bool {
        if self.is_whole() {
            return true;
        }
        match p {
            Partition::Tenant => false,
            Partition::Subscription(s) => self.subscription(s).is_some_and(Level::exclusive),
            Partition::Group(s, g) => match self.subscription(s) {
                Some(l) if l.exclusive() => true,
                Some(_) => self.groups.iter().any(|(i, _)| *i == g),
                None => false,
            },
        }
    }

    /// Makes sure this transaction may write in `p`: takes its locks if they are free right
    /// now; otherwise marks the transaction conflicted and returns false.
    pub(crate) fn claim(&mut self, p: Partition) -> bool {
        if self.holds(p) {
            return true;
        }
        let ok = !self.conflicted
            && match p {
                // Whole-world and subscription locks are never upgraded in place: a shared
                // holder waiting for itself would deadlock.
                Partition::Tenant => false,
                Partition::Subscription(s) => {
                    self.subscription(s).is_none()
                        && match taken(self.gates.subscriptions[s].try_write()) {
                            Some(g) => {
                                self.subscriptions.push((s, Level::Exclusive(g)));
                                true
                            }
                            None => false,
                        }
                }
                Partition::Group(s, g) => self.take_group(s, g),
            };
        if !ok {
            self.conflicted = true;
        }
        ok
    }

    fn take_group(&mut self, s: usize, g: usize) -> bool {
        if self.subscription(s).is_none() {
            match taken(self.gates.subscriptions[s].try_read()) {
                Some(sg) => self.subscriptions.push((s, Level::Shared(sg))),
                None => return false,
            }
        }
        if self.groups.iter().any(|(i, _)| *i == g) {
            return true;
        }
        match taken(self.gates.groups[g].try_lock()) {
            Some(gg) => {
                self.groups.push((g, gg));
                true
            }
            None => false,
        }
    }

    /// Marks the transaction conflicted: it needs the whole world to go on.
    pub(crate) fn need_whole(&mut self) {
        if !self.is_whole() {
            self.conflicted = true;
        }
    }

    /// True when this transaction needed a lock it could not take: it must not commit.
    pub(crate) fn is_conflicted(&self) -> bool {
        self.conflicted
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        if self.conflicted {
            self.gates.counts.conflicted.fetch_add(1, Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    const G1: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/one";
    const G2: &str = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/two";
    const SUB: &str = "/subscriptions/00000000-0000-0000-0000-000000000001";

    /// Runs `f` on another thread; true when it finished within `wait` (false: it is
    /// blocked, and is left to finish later).
    fn finishes(wait: Duration, f: impl FnOnce() + Send + 'static) -> bool {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            f();
            let _ = tx.send(());
        });
        rx.recv_timeout(wait).is_ok()
    }

    fn gates() -> &'static Gates {
        Box::leak(Box::default())
    }

    #[test]
    fn paths_fall_in_their_group_subscription_or_tenant() {
        let g = partition(&format!(
            "{G1}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"
        ));
        assert_eq!(g, partition(&G1.to_ascii_uppercase()), "case does not matter");
        assert!(matches!(g, Partition::Group(..)));
        assert_ne!(partition(G1), partition(G2));
        assert!(matches!(partition(SUB), Partition::Subscription(_)));
        assert!(matches!(
            partition(&format!("{SUB}/providers/Microsoft.Authorization/roleAssignments/a")),
            Partition::Subscription(_)
        ));
        assert!(matches!(
            partition(&format!("{SUB}/resourceGroups")),
            Partition::Subscription(_)
        ));
        assert_eq!(
            partition("/providers/Microsoft.Authorization/roleDefinitions/r"),
            Partition::Tenant
        );
        assert_eq!(partition("/"), Partition::Tenant);
    }

    #[test]
    fn writers_in_different_groups_do_not_wait_for_each_other() {
        let g = gates();
        let _one = Held::partition(g, G1);
        assert!(finishes(Duration::from_secs(10), move || {
            let two = Held::partition(g, G2);
            assert!(two.holds(partition(G2)) && !two.holds(partition(G1)));
        }));
    }

    #[test]
    fn writers_in_one_group_queue() {
        let g = gates();
        let one = Held::partition(g, G1);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _again = Held::partition(g, G1);
            let _ = tx.send(());
        });
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err(), "the second waits");
        drop(one);
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).is_ok(),
            "and goes on once the first is done"
        );
    }

    #[test]
    fn a_subscription_level_writer_waits_for_its_groups_writers_and_a_whole_world_one_for_all() {
        let g = gates();
        let one = Held::partition(g, G1);
        let (tx, rx) = mpsc::channel();
        let t2 = tx.clone();
        std::thread::spawn(move || {
            let _sub = Held::partition(g, SUB);
            let _ = tx.send("subscription");
        });
        std::thread::spawn(move || {
            let _all = Held::whole(g);
            let _ = t2.send("whole");
        });
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        drop(one);
        let mut got = [
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
            rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        ];
        got.sort();
        assert_eq!(got, ["subscription", "whole"]);
    }

    #[test]
    fn a_writer_takes_another_free_group_and_is_conflicted_by_a_busy_one() {
        let g = gates();
        let mut one = Held::partition(g, G1);
        assert!(one.claim(partition(G2)), "a free group is taken");
        assert!(!finishes(Duration::from_millis(100), move || drop(Held::partition(
            g, G2
        ))));
        assert!(!one.is_conflicted());
        assert!(
            !one.claim(partition(SUB)),
            "its own subscription is never upgraded in place"
        );
        assert!(one.is_conflicted());
        assert!(!one.claim(Partition::Tenant));

        let g = gates();
        let _busy = Held::partition(g, G2);
        let mut one = Held::partition(g, G1);
        assert!(!one.claim(partition(G2)), "a busy group is not waited for");
        assert!(one.is_conflicted());
        let mut all = Held::whole(gates());
        assert!(all.claim(Partition::Tenant) && all.claim(partition(G2)) && !all.is_conflicted());
    }
}
