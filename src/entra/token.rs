//! Access tokens: JWTs signed with ES256 by a key azemu keeps in its data dir, so tokens
//! stay valid across restarts. The public key is published at `/{tenant}/discovery/v2.0/keys`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

/// Signs tokens with Ed25519 (JWT `alg: EdDSA`): deterministic signatures, so tokens are
/// reproducible under `--seed`.
pub(crate) struct Signer {
    key: Ed25519KeyPair,
    kid: String,
    /// Tokens already verified, keyed by the token string (clients send the same token for an
    /// hour): a repeated token costs one hash lookup instead of a signature check and a parse.
    verified: dashmap::DashMap<Box<str>, Arc<Verified>, foldhash::fast::RandomState>,
}

/// How many verified tokens are remembered before the memory is cleared.
const VERIFIED_CAPACITY: usize = 4096;

/// What a verified token says, read once when its signature was checked.
#[derive(Debug, PartialEq)]
pub(crate) struct Verified {
    /// `None` when the token names no object id (`oid`): such a token is refused.
    pub(crate) caller: Option<Caller>,
    /// The `aud` claim (empty when absent).
    pub(crate) audience: String,
    /// The `exp` claim in seconds since the epoch (`i64::MAX` when absent).
    pub(crate) expires_s: i64,
}

/// What azemu reads from a bearer token. Shared: every request of a remembered token gets
/// the same one, and a clone (one per request and transaction) copies no string.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Caller(Arc<CallerIds>);

/// The ids a [`Caller`] carries (its fields read through it: `caller.tenant_id`).
#[derive(Debug, PartialEq)]
pub(crate) struct CallerIds {
    pub(crate) object_id: String,
    pub(crate) tenant_id: String,
    pub(crate) app_id: String,
}

impl std::ops::Deref for Caller {
    type Target = CallerIds;

    fn deref(&self) -> &CallerIds {
        &self.0
    }
}

impl Signer {
    /// Loads the key seed from `dir/token-signing-key`, creating it on first use.
    pub(crate) fn load_or_create(dir: &Path) -> std::io::Result<Signer> {
        let path = dir.join("token-signing-key");
        let seed = match std::fs::read(&path) {
            Ok(b) if b.len() == 32 => b,
            _ => {
                let fresh = uuid::Uuid::new_v4()
                    .as_bytes()
                    .iter()
                    .chain(uuid::Uuid::new_v4().as_bytes())
                    .copied()
                    .collect::<Vec<u8>>();
                crate::files::write_private(&path, &fresh)?;
                fresh
            }
        };
        Self::from_seed(&seed).ok_or_else(|| std::io::Error::other("invalid token signing key"))
    }

    /// A key derived from `material` (used under `--seed`, so tokens are reproducible).
    pub(crate) fn derived(material: &str) -> Signer {
        let d = ring::digest::digest(&ring::digest::SHA256, material.as_bytes());
        Self::from_seed(d.as_ref()).expect("32-byte seed")
    }

    /// A key that lives as long as the process.
    pub(crate) fn ephemeral() -> Signer {
        Self::derived(&uuid::Uuid::new_v4().to_string())
    }

    fn from_seed(seed: &[u8]) -> Option<Signer> {
        let key = Ed25519KeyPair::from_seed_unchecked(seed).ok()?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        Some(Signer {
            key,
            kid,
            verified: dashmap::DashMap::with_hasher(foldhash::fast::RandomState::default()),
        })
    }

    /// A signed JWT carrying `claims`.
    pub(crate) fn sign(&self, claims: &Value) -> String {
        let header = json!({ "typ": "JWT", "alg": "EdDSA", "kid": self.kid });
        let msg = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.key.sign(msg.as_bytes());
        format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// What a token this signer issued says; `None` for anything else (bad signature, another
    /// key, not a JWT). A token verified before and not expired at `now_s` (seconds since the
    /// epoch) is answered from memory; an expired one goes through the full check again.
    /// Failures are never remembered, so a forged token is checked (and refused) every time.
    pub(crate) fn verify_cached(&self, token: &str, now_s: i64) -> Option<Arc<Verified>> {
        if let Some(v) = self.verified.get(token) {
            if now_s < v.expires_s {
                return Some(v.clone());
            }
        }
        let claims = self.verify_signature(token)?;
        let v = Arc::new(Verified {
            caller: Caller::from_claims(&claims),
            audience: claims["aud"].as_str().unwrap_or("").to_string(),
            expires_s: claims["exp"].as_i64().unwrap_or(i64::MAX),
        });
        if self.verified.len() >= VERIFIED_CAPACITY {
            self.verified.clear();
        }
        self.verified.insert(token.into(), v.clone());
        Some(v)
    }

    /// Forgets every verified token (on reset).
    pub(crate) fn forget_verified(&self) {
        self.verified.clear();
    }

    /// How many verified tokens are remembered.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.verified.len()
    }

    fn verify_signature(&self, token: &str) -> Option<Value> {
        let (msg, sig) = token.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        UnparsedPublicKey::new(&ED25519, self.key.public_key().as_ref())
            .verify(msg.as_bytes(), &sig)
            .ok()?;
        decode_claims(token)
    }

    /// The JWKS document.
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": [{
            "kty": "OKP", "use": "sig", "crv": "Ed25519", "alg": "EdDSA", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(self.key.public_key().as_ref()),
        }]})
    }
}

/// The payload of a JWT, without checking its signature.
pub(crate) fn decode_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let raw = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&raw).ok()
}

impl Caller {
    pub(crate) fn from_claims(c: &Value) -> Option<Caller> {
        Some(Caller(Arc::new(CallerIds {
            object_id: c["oid"].as_str()?.to_string(),
            tenant_id: c["tid"].as_str().unwrap_or_default().to_string(),
            app_id: c["appid"]
                .as_str()
                .or_else(|| c["azp"].as_str())
                .unwrap_or_default()
                .to_string(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let s = Signer::ephemeral();
        let t = s.sign(&json!({"oid": "x", "tid": "t"}));
        assert_eq!(s.verify_signature(&t).unwrap()["oid"], "x");
        let other = Signer::ephemeral();
        assert!(other.verify_signature(&t).is_none());
        assert!(!t.contains('='));
    }

    #[test]
    fn verified_tokens_are_remembered_until_expiry_and_forgotten_on_reset() {
        let s = Signer::ephemeral();
        let t = s.sign(&json!({"oid": "o", "tid": "t", "appid": "a", "aud": "https://x/", "exp": 100}));
        let v = s.verify_cached(&t, 50).unwrap();
        let c = v.caller.as_ref().unwrap();
        assert_eq!(
            (c.object_id.as_str(), c.tenant_id.as_str(), c.app_id.as_str()),
            ("o", "t", "a")
        );
        assert_eq!((v.audience.as_str(), v.expires_s), ("https://x/", 100));
        assert!(Arc::ptr_eq(&v, &s.verify_cached(&t, 99).unwrap()));
        // Expired: a miss, checked again (and still signed by this key).
        assert!(!Arc::ptr_eq(&v, &s.verify_cached(&t, 100).unwrap()));
        s.forget_verified();
        assert_eq!(s.remembered(), 0);
        assert!(s.verify_cached(&t, 50).is_some());
        // Forged: refused, and never remembered.
        let (msg, _) = t.rsplit_once('.').unwrap();
        let forged = format!("{msg}.{}", URL_SAFE_NO_PAD.encode([7u8; 64]));
        for _ in 0..2 {
            assert!(s.verify_cached(&forged, 50).is_none());
        }
        assert_eq!(s.remembered(), 1);
        assert!(Signer::ephemeral().verify_cached(&t, 50).is_none());
    }

    #[test]
    fn the_memory_is_bounded() {
        let s = Signer::ephemeral();
        for i in 0..VERIFIED_CAPACITY + 10 {
            assert!(s.verify_cached(&s.sign(&json!({"oid": i.to_string()})), 0).is_some());
        }
        assert!(s.remembered() <= VERIFIED_CAPACITY);
    }
}
