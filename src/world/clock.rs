//! The clock every timestamp comes from: the wall clock by default, a virtual clock that only
//! moves when told (`POST /_azemu/clock`) when azemu runs with `--seed`.

use crate::arm::time::{in_range, Millis};
use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a seeded (virtual) clock starts: 2026-01-01T00:00:00Z.
pub(crate) const VIRTUAL_EPOCH: Millis = 1_767_225_600_000;

pub(crate) struct Clock {
    state: Mutex<State>,
}

struct State {
    /// `Some` for a virtual clock: the current time.
    fixed: Option<Millis>,
    /// Added to the wall clock.
    offset: Millis,
}

fn wall() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as Millis)
        .unwrap_or(0)
}

impl Clock {
    /// The state, even after a panic elsewhere poisoned the lock (it holds plain numbers).
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn wall() -> Clock {
        Clock {
            state: Mutex::new(State { fixed: None, offset: 0 }),
        }
    }

    pub(crate) fn virtual_at(t: Millis) -> Clock {
        Clock {
            state: Mutex::new(State {
                fixed: Some(t),
                offset: 0,
            }),
        }
    }

    pub(crate) fn now(&self) -> Millis {
        let s = self.state();
        match s.fixed {
            Some(t) => t,
            None => wall().saturating_add(s.offset),
        }
    }

    pub(crate) fn is_virtual(&self) -> bool {
        self.state().fixed.is_some()
    }

    /// Moves the clock forward by `by`; refused (`false`, nothing changes) when the time would
    /// leave the range azemu represents ([`crate::arm::time::MAX_TIME`]).
    pub(crate) fn advance(&self, by: Millis) -> bool {
        let mut s = self.state();
        let now = match s.fixed {
            Some(t) => t,
            None => wall().saturating_add(s.offset),
        };
        match now.checked_add(by).filter(|t| in_range(*t)) {
            Some(to) => {
                Self::set_locked(&mut s, to);
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
        Self::set_locked(&mut self.state(), to);
        true
    }

    fn set_locked(s: &mut State, to: Millis) {
        match s.fixed.as_mut() {
            Some(t) => *t = to,
            // Both are in range, so the difference fits easily.
            None => s.offset = to - wall(),
        }
    }
}
