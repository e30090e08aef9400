//! Access tokens: JWTs signed with ES256 by a key azemu keeps in its data dir, so tokens
//! stay valid across restarts. The public key is published at `/{tenant}/discovery/v2.0/keys`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{
    EcdsaKeyPair, KeyPair, UnparsedPublicKey, ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use serde_json::{json, Value};
use std::path::Path;

pub struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    kid: String,
}

/// What azemu reads from a bearer token.
#[derive(Debug, Clone, PartialEq)]
pub struct Caller {
    pub object_id: String,
    pub tenant_id: String,
    pub app_id: String,
}

impl Signer {
    /// Loads the key from `dir/token-signing-key.p8`, creating it on first use.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Signer> {
        let path = dir.join("token-signing-key.p8");
        let pkcs8 = match std::fs::read(&path) {
            Ok(b) => b,
            Err(_) => {
                let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| std::io::Error::other("cannot generate a signing key"))?;
                crate::server::tls::write_private(&path, doc.as_ref())?;
                doc.as_ref().to_vec()
            }
        };
        Self::from_pkcs8(&pkcs8).or_else(|_| Ok(Self::ephemeral()))
    }

    /// A key that lives as long as the process.
    pub fn ephemeral() -> Signer {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("ring key generation");
        Self::from_pkcs8(doc.as_ref()).expect("fresh key parses")
    }

    fn from_pkcs8(pkcs8: &[u8]) -> Result<Signer, ()> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &rng).map_err(|_| ())?;
        let digest = ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref());
        let kid = URL_SAFE_NO_PAD.encode(&digest.as_ref()[..12]);
        Ok(Signer { key, rng, kid })
    }

    /// A signed JWT carrying `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({ "typ": "JWT", "alg": "ES256", "kid": self.kid });
        let msg = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.key.sign(&self.rng, msg.as_bytes()).expect("ecdsa signing");
        format!("{msg}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref()))
    }

    /// The claims of a token this signer issued; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<Value> {
        let (msg, sig) = token.rsplit_once('.')?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, self.key.public_key().as_ref())
            .verify(msg.as_bytes(), &sig)
            .ok()?;
        decode_claims(token)
    }

    /// The JWKS document.
    pub fn jwks(&self) -> Value {
        let pk = self.key.public_key().as_ref(); // 0x04 || X || Y
        json!({ "keys": [{
            "kty": "EC", "use": "sig", "crv": "P-256", "alg": "ES256", "kid": self.kid,
            "x": URL_SAFE_NO_PAD.encode(&pk[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&pk[33..65]),
        }]})
    }
}

/// The payload of a JWT, without checking its signature.
pub fn decode_claims(token: &str) -> Option<Value> {
    let payload = token.split('.').nth(1)?;
    let raw = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&raw).ok()
}

impl Caller {
    pub fn from_claims(c: &Value) -> Option<Caller> {
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
