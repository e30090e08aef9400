//! The clock every timestamp comes from: the wall clock by default, a virtual clock that only
//! moves when told (`POST /_azemu/clock`) when azemu runs with `--seed`.

use crate::arm::time::{in_range, Millis};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a seeded (virtual) clock starts: 2026-01-01T00:00:00Z.
pub(crate) const VIRTUAL_EPOCH: Millis = 1_767_225_600_000;

/// Read on every request (several times), set rarely: readers load one number, writers take
/// a lock among themselves so a read-modify-write (`advance`) is never lost.
pub(crate) struct Clock {
    /// A virtual clock stands still between changes; a wall clock runs.
    fixed: bool,
    /// A virtual clock's time, or what is added to the wall clock.
    value: AtomicI64,
    writers: Mutex<()>,
}

fn wall() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Clock {
    /// The writers' lock, even after a panic elsewhere poisoned it (it guards no data).
    fn writing(&self) -> MutexGuard<'_, ()> {
        self.writers.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn wall() -> Clock {
        Clock {
            fixed: false,
            value: AtomicI64::new(0),
            writers: Mutex::new(()),
        }
    }

    pub(crate) fn virtual_at(t: Millis) -> Clock {
        Clock {
            fixed: true,
            value: AtomicI64::new(t),
            writers: Mutex::new(()),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        let v = self.value.load(Ordering::SeqCst);
        if self.fixed {
            v
        } else {
            wall().saturating_add(v)
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.fixed
    }

    /// Moves the clock forward by `by`; refused (`false`, nothing changes) when the time would
    /// leave the range azemu represents ([`crate::arm::time::MAX_TIME`]).
    pub(crate) fn advance(&self, by: Millis) -> bool {
        let _w = self.writing();
        match self.now().checked_add(by).filter(|t| in_range(*t)) {
            Some(to) => {
                self.set_locked(to);
                true
            }
            None => false,
        }
    }

    /// Sets the time; a wall clock keeps running from there. Refused (`false`) outside the
    /// range azemu represents.
    pub(crate) fn set(&self, to: Millis) -> bool {
        if !in_range(to) {
            return false;
        }
        let _w = self.writing();
        self.set_locked(to);
        true
    }

    /// Called holding the writers' lock.
    fn set_locked(&self, to: Millis) {
        // Both are in range, so the difference fits easily.
        let v = if self.fixed { to } else { to - wall() };
        self.value.store(v, Ordering::SeqCst);
    }
}
