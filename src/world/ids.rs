//! Generated identifiers: random by default, reproducible under `--seed`.

use sha2_lite::sha256;
use std::sync::Mutex;

pub struct Ids {
    rng: Mutex<Option<u64>>,
}

/// splitmix64: small, fast and good enough for ids.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn guid_from(bytes: [u8; 16]) -> String {
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

impl Ids {
    pub fn new(seed: Option<u64>) -> Ids {
        Ids { rng: Mutex::new(seed) }
    }

    fn bytes16(&self) -> [u8; 16] {
        let mut g = self.rng.lock().unwrap();
        match g.as_mut() {
            Some(state) => {
                let a = splitmix(state).to_le_bytes();
                let b = splitmix(state).to_le_bytes();
                let mut out = [0u8; 16];
                out[..8].copy_from_slice(&a);
                out[8..].copy_from_slice(&b);
                out
            }
            None => *uuid::Uuid::new_v4().as_bytes(),
        }
    }

    /// 32 bytes (key material), reproducible under `--seed`.
    pub fn bytes32(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(&self.bytes16());
        out[16..].copy_from_slice(&self.bytes16());
        out
    }

    /// A version-4 GUID, lower case.
    pub fn guid(&self) -> String {
        guid_from(self.bytes16())
    }

    /// `n` lower-case hex characters (n ≤ 32).
    pub fn hex(&self, n: usize) -> String {
        let b = self.bytes16();
        let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
        s[..n.min(32)].to_string()
    }

    /// A number in `0..n`.
    pub fn below(&self, n: u64) -> u64 {
        let b = self.bytes16();
        u64::from_le_bytes(b[..8].try_into().unwrap()) % n.max(1)
    }

    pub fn reseed(&self, seed: Option<u64>) {
        *self.rng.lock().unwrap() = seed;
    }
}

/// A GUID derived from `input`: the same input always gives the same GUID (stable object ids
/// for token clients, across restarts).
pub fn stable_guid(input: &str) -> String {
    let d = sha256(input.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    guid_from(b)
}

mod sha2_lite {
    pub fn sha256(data: &[u8]) -> [u8; 32] {
        let d = ring::digest::digest(&ring::digest::SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }
}
