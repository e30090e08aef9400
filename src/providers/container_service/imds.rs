//! An IMDS-style managed identity endpoint for code written to run on nodes:
//! `GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=…[&client_id=…]` with
//! `Metadata: true`. The token is issued for the node's *effective* kubelet identity — the one
//! its image really runs with. Name the node with the `x-azemu-node` header (or `node` query),
//! or use `/_azemu/nodes/{node}/metadata/identity/oauth2/token` (set
//! `AZURE_POD_IDENTITY_AUTHORITY_HOST` to `{azemu}/_azemu/nodes/{node}` for azure-identity).

use super::control::node_for;
use crate::arm::{Request, Response};
use crate::entra::principals;
use crate::world::Tx;
use serde_json::json;

fn imds_error(status: u16, error: &str, description: &str) -> Response {
    Response::json(status, json!({ "error": error, "error_description": description }))
}

/// `GET /metadata/identity/oauth2/token`.
pub(crate) fn token(w: &Tx, req: &Request) -> Response {
    let is_token = req.segments.len() == 4 && req.segments[2] == "oauth2" && req.segments[3] == "token";
    if !is_token {
        return imds_error(404, "not_found", "Only /metadata/identity/oauth2/token is served.");
    }
    token_for(w, req, None)
}

/// `GET /_azemu/nodes/{node}/metadata/identity/oauth2/token`.
pub(crate) fn token_for_node(w: &Tx, req: &Request, node: &str) -> Response {
    token_for(w, req, Some(node))
}

fn token_for(w: &Tx, req: &Request, node: Option<&str>) -> Response {
    if req.method != "GET" && req.method != "POST" {
        return imds_error(405, "invalid_request", "Use GET.");
    }
    if !req.header("metadata").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return imds_error(400, "invalid_request", "Required metadata header not specified");
    }
    let Some(resource) = req.query("resource").filter(|r| !r.is_empty()) else {
        return imds_error(400, "invalid_request", "Required query variable 'resource' is missing");
    };
    let (node_name, identity) = match node_for(w, req, node) {
        Ok(x) => x,
        Err(e) => return imds_error(400, "invalid_request", &e),
    };
    if identity.kind != super::model::KubeletKind::UserAssigned {
        return imds_error(400, "invalid_request", &format!("Identity not found: node '{node_name}' runs without a managed identity (its kubelet uses a service principal)."));
    }
    for (param, value) in [("client_id", &identity.client_id), ("object_id", &identity.object_id)] {
        if let Some(given) = req.query(param) {
            if !given.eq_ignore_ascii_case(value) {
                return imds_error(400, "invalid_request", "Identity not found");
            }
        }
    }
    if let (Some(given), Some(rid)) = (
        req.query("msi_res_id").or_else(|| req.query("mi_res_id")),
        identity.resource_id.as_ref(),
    ) {
        if !crate::arm::id::same(given, rid) {
            return imds_error(400, "invalid_request", "Identity not found");
        }
    }
    let Some(principal) = w.directory.get(&identity.object_id) else {
        return imds_error(
            400,
            "invalid_request",
            "Identity not found: the node's kubelet identity no longer exists.",
        );
    };
    let tenant = principal.tenant_id.clone();
    let access = principals::issue(w, &principal, &tenant, resource, false);
    let now = w.now() / 1000;
    let lifetime = 86_399;
    Response::ok(json!({
        "access_token": access,
        "client_id": identity.client_id,
        "expires_in": lifetime.to_string(),
        "expires_on": (now + lifetime).to_string(),
        "ext_expires_in": lifetime.to_string(),
        "not_before": now.to_string(),
        "resource": resource,
        "token_type": "Bearer",
    }))
}
