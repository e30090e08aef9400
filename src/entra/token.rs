//! Access tokens: JWTs signed with ES256 by a key azemu keeps in its data dir, so tokens
//! stay valid across restarts. The public key is published at `/{tenant}/discovery/v2.0/keys`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use serde_json::{json, Value};
use std::path::Path;

/// Signs tokens with Ed25519 (JWT `alg: EdDSA`): deterministic signatures, so tokens are
/// reproducible under `--seed`.
pub(crate) struct Signer {
    key: Ed25519KeyPair,
    kid: String,
    /// Tokens already verified (clients send the same token for an hour).
    verified: dashmap::DashMap<String, Value>,
}

/// How many verified tokens are remembered before the memory is cleared.
const VERIFIED_CAPACITY: usize = 4096;

/// What azemu reads from a bearer token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Caller {
    pub(crate) object_id: String,
    pub(crate) tenant_id: String,
    pub(crate) app_id: String,
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
            verified: dashmap::DashMap::new(),
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

    /// The claims of a token this signer issued; `None` for anything else.
    pub(crate) fn verify(&self, token: &str) -> Option<Value> {
        if let Some(c) = self.verified.get(token) {
            return Some(c.clone());
        }
        let claims = self.verify_signature(token)?;
        if self.verified.len() >= VERIFIED_CAPACITY {
            self.verified.clear();
        }
        self.verified.insert(token.to_string(), claims.clone());
        Some(claims)
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
        Some(Caller {
            object_id: c["oid"].as_str()?.to_string(),
            tenant_id: c["tid"].as_str().unwrap_or_default().to_string(),
            app_id: c["appid"]
                .as_str()
                .or_else(|| c["azp"].as_str())
                .unwrap_or_default()
                .to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_verifies() {
        let s = Signer::ephemeral();
        let t = s.sign(&json!({"oid": "x", "tid": "t"}));
        assert_eq!(s.verify(&t).unwrap()["oid"], "x");
        let other = Signer::ephemeral();
        assert!(other.verify(&t).is_none());
        assert!(!t.contains('='));
    }
}
