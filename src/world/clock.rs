//! The clock every timestamp comes from: the wall clock by default, a virtual clock that only
//! moves when told (`POST /_azemu/clock`) when azemu runs with `--seed`.

use crate::arm::time::{parse_rfc3339, Millis};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Where a seeded (virtual) clock starts: 2026-01-01T00:00:00Z.
pub const VIRTUAL_EPOCH: Millis = 1_767_225_600_000;

pub struct Clock {
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
    pub fn wall() -> Clock {
        Clock {
            state: Mutex::new(State { fixed: None, offset: 0 }),
        }
    }

    pub fn virtual_at(t: Millis) -> Clock {
        Clock {
            state: Mutex::new(State {
                fixed: Some(t),
                offset: 0,
            }),
        }
    }

    pub fn now(&self) -> Millis {
        let s = self.state.lock().unwrap();
        match s.fixed {
            Some(t) => t,
            None => wall() + s.offset,
        }
    }

    pub fn is_virtual(&self) -> bool {
        self.state.lock().unwrap().fixed.is_some()
    }

    pub fn advance(&self, by: Millis) {
        let mut s = self.state.lock().unwrap();
        match s.fixed.as_mut() {
            Some(t) => *t += by,
            None => s.offset += by,
        }
    }

    /// Sets the time; a wall clock keeps running from there.
    pub fn set(&self, to: Millis) {
        let mut s = self.state.lock().unwrap();
        match s.fixed.as_mut() {
            Some(t) => *t = to,
            None => s.offset = to - wall(),
        }
    }

    pub fn set_rfc3339(&self, to: &str) -> bool {
        match parse_rfc3339(to) {
            Some(t) => {
                self.set(t);
                true
            }
            None => false,
        }
    }
}
