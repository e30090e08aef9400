//! What the token service and the providers share: the principal behind a client id (created
//! on first use, inside the caller's transaction) and signed access tokens.

use super::directory::{Principal, PrincipalKind};
use crate::world::ids::stable_guid;
use crate::world::{Tx, World};
use serde_json::{json, Value};

/// How long an access token lives, in seconds.
pub(crate) const TOKEN_LIFETIME_S: i64 = 3599;

pub(crate) fn issuer(base: &str, tid: &str, v2: bool) -> String {
    if v2 {
        format!("{base}/{tid}/v2.0")
    } else {
        format!("{base}/{tid}/")
    }
}

/// The principal behind a client id: a managed identity with that client id, a known
/// application, or a new application whose object id is derived from the client id.
pub(crate) fn client_principal(w: &Tx, tenant_id: &str, client_id: &str) -> Principal {
    if let Some(p) = w.directory.by_app_id(client_id) {
        return p;
    }
    let p = Principal {
        object_id: stable_guid(&format!(
            "azemu-client:{}:{}",
            tenant_id.to_ascii_lowercase(),
            client_id.to_ascii_lowercase()
        )),
        app_id: client_id.to_string(),
        display_name: if client_id.eq_ignore_ascii_case(&w.config.client_id) {
            "azemu".to_string()
        } else {
            format!("azemu-client-{}", &client_id.chars().take(8).collect::<String>())
        },
        kind: PrincipalKind::Application,
        tenant_id: tenant_id.to_string(),
        alternative_names: Vec::new(),
        created: w.now(),
    };
    w.directory.upsert(p.clone());
    p
}

/// Signs an access token for `principal`.
pub(crate) fn issue(w: &World, principal: &Principal, tenant_id: &str, audience: &str, v2: bool) -> String {
    let now_s = w.now() / 1000;
    let claims: Value = json!({
        "aud": audience,
        "iss": issuer(w.base_url(), tenant_id, v2),
        "iat": now_s,
        "nbf": now_s,
        "exp": now_s + TOKEN_LIFETIME_S + 1,
        "appid": principal.app_id,
        "azp": principal.app_id,
        "appidacr": "1",
        "idtyp": "app",
        "oid": principal.object_id,
        "sub": principal.object_id,
        "tid": tenant_id,
        "uti": w.ids.hex(22),
        "ver": if v2 { "2.0" } else { "1.0" },
    });
    w.signer.sign(&claims)
}
