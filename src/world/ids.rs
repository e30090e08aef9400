//! Generated identifiers and key material: from a cryptographically secure generator seeded by
//! the operating system's secure random source (`rand`'s thread-local ChaCha generator, which
//! reseeds itself from the OS) by default, so no generated value reveals another (a request id
//! must not predict the next identity's client id, nor a cluster's keys) and a request costs
//! no system call for its ids; reproducible under `--seed`.

use sha2_lite::sha256;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub(crate) struct Ids {
    /// splitmix64 state, used only under `--seed`.
    state: AtomicU64,
    /// True under `--seed`: values come from `state`, else from the secure generator.
    seeded: AtomicBool,
}

/// splitmix64's output function for state `z`.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

fn guid_from(bytes: [u8; 16]) -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut buf)
        .to_string()
}

impl Ids {
    pub(crate) fn new(seed: Option<u64>) -> Ids {
        Ids {
            state: AtomicU64::new(seed.unwrap_or(0)),
            seeded: AtomicBool::new(seed.is_some()),
        }
    }

    fn next(&self) -> u64 {
        mix(self.state.fetch_add(GOLDEN, Ordering::Relaxed).wrapping_add(GOLDEN))
    }

    /// Fills `out`: the seeded sequence under `--seed`, else the secure generator.
    fn fill(&self, out: &mut [u8]) {
        if !self.seeded.load(Ordering::Relaxed) {
            rand::fill(out);
            return;
        }
        // Under --seed: the reproducible sequence.
        for chunk in out.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }

    fn bytes16(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        self.fill(&mut out);
        out
    }

    /// 32 bytes (key material), reproducible under `--seed`.
    pub(crate) fn bytes32(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        self.fill(&mut out);
        out
    }

    /// A version-4 GUID, lower case.
    pub(crate) fn guid(&self) -> String {
        guid_from(self.bytes16())
    }

    /// `n` lower-case hex characters (n ≤ 32).
    pub(crate) fn hex(&self, n: usize) -> String {
        let b = self.bytes16();
        let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
        s[..n.min(32)].to_string()
    }

    /// A number in `0..n`.
    pub(crate) fn below(&self, n: u64) -> u64 {
        let b = self.bytes16();
        u64::from_le_bytes(b[..8].try_into().unwrap()) % n.max(1)
    }

    pub(crate) fn reseed(&self, seed: Option<u64>) {
        self.state.store(seed.unwrap_or(0), Ordering::Relaxed);
        self.seeded.store(seed.is_some(), Ordering::Relaxed);
    }
}

/// A GUID derived from `input`: the same input always gives the same GUID (stable object ids
/// for token clients, across restarts).
pub(crate) fn stable_guid(input: &str) -> String {
    let d = sha256(input.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    guid_from(b)
}

mod sha2_lite {
    pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
        let d = ring::digest::digest(&ring::digest::SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}
