//! The stand-in Entra ID token service: OIDC discovery, instance discovery, JWKS and the
//! client-credentials token endpoints (v2 and the v1 `resource=` form).
//!
//! Any client id and secret are accepted. Each client becomes a service principal in the
//! directory with an object id that is stable for its client id, so role assignments made for
//! it survive restarts of the client.

use crate::arm::request::{Request, Response};
use crate::arm::time::rfc3339;
use crate::world::World;
use serde_json::json;

/// How long issued tokens last, in seconds.
pub(crate) use super::principals::{client_principal, issue, issuer, TOKEN_LIFETIME_S};

/// An AAD-style error (`{"error","error_description","error_codes",...}`), not ARM's envelope.
pub(crate) fn aad_error(w: &World, status: u16, error: &str, code: u32, description: &str) -> Response {
    let trace = w.ids.guid();
    let correlation = w.ids.guid();
    let ts = rfc3339(w.now());
    Response::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{code}: {description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {ts}"),
            "error_codes": [code],
            "timestamp": ts,
            "trace_id": trace,
            "correlation_id": correlation,
        }),
    )
}

/// Resolves the tenant named in a token or discovery path: an id, a domain, or `common`/`organizations`.
pub(crate) fn resolve_tenant(w: &World, tenant: &str) -> Option<String> {
    if tenant.eq_ignore_ascii_case("common") || tenant.eq_ignore_ascii_case("organizations") {
        return Some(w.config.tenant_id.clone());
    }
    crate::providers::hooks::find_tenant(&w.read(), tenant)
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 form without `/v2.0`).
pub(crate) fn openid_configuration(w: &World, tenant: &str, v2: bool) -> Response {
    let Some(tid) = resolve_tenant(w, tenant) else {
        return aad_error(w, 400, "invalid_tenant", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."));
    };
    let base = w.base_url();
    let ver = if v2 { "/v2.0" } else { "" };
    Response::ok(json!({
        "token_endpoint": format!("{base}/{tenant}/oauth2{ver}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant}/discovery{ver}/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["EdDSA"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer(base, &tid, v2),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{base}/{tenant}/oauth2{ver}/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant}/oauth2{ver}/devicecode"),
        "end_session_endpoint": format!("{base}/{tenant}/oauth2{ver}/logout"),
        "tenant_region_scope": "WW",
        "cloud_instance_name": "azemu",
        "cloud_graph_host_name": "graph.azemu.localhost",
        "msgraph_host": base.trim_start_matches("https://").trim_start_matches("http://"),
    }))
}

/// `GET /common/discovery/instance`: MSAL's instance discovery, answered for this host.
pub(crate) fn instance_discovery(w: &World) -> Response {
    let base = w.base_url();
    let host = base.split("://").nth(1).unwrap_or(base);
    Response::ok(json!({
        "tenant_discovery_endpoint": format!("{base}/{}/v2.0/.well-known/openid-configuration", w.config.tenant_id),
        "api-version": "1.1",
        "metadata": [{ "preferred_network": host, "preferred_cache": host, "aliases": [host] }],
    }))
}

pub(crate) fn jwks(w: &World) -> Response {
    Response::ok(w.signer.jwks())
}

/// `POST /{tenant}/oauth2/v2.0/token` (v2) and `POST /{tenant}/oauth2/token` (v1).
pub(crate) fn token(w: &World, req: &Request, tenant: &str, v2: bool) -> Response {
    let t = match TokenRequest::parse(w, req, tenant, v2) {
        Ok(t) => t,
        Err(refused) => return refused,
    };
    let principal = w.transact(|tx| client_principal(tx, &t.tenant_id, &t.client_id));
    let access_token = issue(w, &principal, &t.tenant_id, &t.resource, v2);
    token_response(w, access_token, &t.resource, v2)
}

/// A client-credentials token request, checked as Entra ID checks it.
struct TokenRequest {
    tenant_id: String,
    client_id: String,
    /// The audience: v2's `scope` without `/.default`, or v1's `resource`.
    resource: String,
}

impl TokenRequest {
    /// The request, or Entra ID's error answer.
    fn parse(w: &World, req: &Request, tenant: &str, v2: bool) -> Result<TokenRequest, Response> {
        let form: Vec<(String, String)> = form_urlencoded::parse(&req.body).into_owned().collect();
        let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let Some(tenant_id) = resolve_tenant(w, tenant) else {
            return Err(aad_error(w, 400, "invalid_request", 90002, &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.")));
        };
        match field("grant_type") {
            Some("client_credentials") => {}
            Some(g) => {
                let message = format!("The app requested an unsupported grant type '{g}'.");
                return Err(aad_error(w, 400, "unsupported_grant_type", 70003, &message));
            }
            None => return Err(missing_parameter(w, "grant_type")),
        }
        let Some(client_id) = field("client_id").filter(|c| !c.is_empty()) else {
            return Err(missing_parameter(w, "client_id"));
        };
        if field("client_secret").is_none() && field("client_assertion").is_none() {
            return Err(aad_error(
                w,
                401,
                "invalid_client",
                7000216,
                "'client_assertion', 'client_secret' or 'request' is required for the 'client_credentials' grant type.",
            ));
        }
        let resource = match (v2, field("scope"), field("resource")) {
            (true, Some(scope), _) => audience_from_scope(scope),
            (true, None, _) => return Err(aad_error(w, 400, "invalid_request", 90014, "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.")),
            (false, _, Some(r)) => r.to_string(),
            (false, _, None) => {
                return Err(aad_error(
                    w,
                    400,
                    "invalid_request",
                    50001,
                    "The resource principal named was not found in the tenant.",
                ))
            }
        };
        Ok(TokenRequest {
            tenant_id,
            client_id: client_id.to_string(),
            resource,
        })
    }
}

fn missing_parameter(w: &World, name: &str) -> Response {
    aad_error(
        w,
        400,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
    )
}

/// The token endpoint's answer: v2 and v1 shapes differ (v1 gives times as strings).
fn token_response(w: &World, access_token: String, resource: &str, v2: bool) -> Response {
    let now_s = w.now() / 1000;
    if v2 {
        Response::ok(json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S,
            "ext_expires_in": TOKEN_LIFETIME_S,
            "access_token": access_token,
        }))
    } else {
        Response::ok(json!({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_S.to_string(),
            "ext_expires_in": TOKEN_LIFETIME_S.to_string(),
            "expires_on": (now_s + TOKEN_LIFETIME_S).to_string(),
            "not_before": now_s.to_string(),
            "resource": resource,
            "access_token": access_token,
        }))
    }
}

/// `https://host//.default openid` → `https://host/`.
pub(crate) fn audience_from_scope(scope: &str) -> String {
    let first = scope
        .split_whitespace()
        .find(|s| !matches!(*s, "openid" | "profile" | "offline_access"))
        .unwrap_or("");
    first.strip_suffix("/.default").unwrap_or(first).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_to_audience() {
        assert_eq!(
            audience_from_scope("https://127.0.0.1:8443//.default"),
            "https://127.0.0.1:8443/"
        );
        assert_eq!(audience_from_scope("openid https://x/.default"), "https://x");
    }
}
