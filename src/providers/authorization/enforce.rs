//! `--enforce-rbac`: every ARM call is checked against the caller's token `oid`.
//!
//! The action comes from the route and the method: `{type}/read` for GET, `/write` for
//! PUT and PATCH, `/delete` for DELETE, `{type}/{action}/action` for POST. A refusal is
//! Azure's 403 `AuthorizationFailed`.

use super::engine;
use crate::arm::{ArmError, ArmResult, Body, Response};
use crate::entra::Caller;
use crate::routing::{Ctx, Route};
use crate::world::Tx;

/// The RBAC action a request performs.
pub(crate) fn action_for(route: &Route, method: &str, last_segment: &str) -> String {
    match method {
        "GET" | "HEAD" => format!("{}/read", route.action),
        "PUT" | "PATCH" => format!("{}/write", route.action),
        "DELETE" => format!("{}/delete", route.action),
        _ => {
            // POST {resource}/{verb}: the route's action already names the type; add the verb
            // unless the route names the verb itself (register, moveResources).
            let base = route.action;
            if base.to_ascii_lowercase().ends_with(&last_segment.to_ascii_lowercase()) {
                format!("{base}/action")
            } else {
                format!("{base}/{last_segment}/action")
            }
        }
    }
}

/// The scope a request acts on: its path without a trailing POST verb.
fn scope_of(ctx: &Ctx) -> String {
    let path = &ctx.req.path;
    if ctx.req.method == "POST" {
        if let Some((head, _)) = path.rsplit_once('/') {
            return head.to_string();
        }
    }
    path.clone()
}

/// Refuses the request unless the caller holds the route's action at its scope.
pub(crate) fn check_request(w: &Tx, ctx: &Ctx, route: &Route) -> ArmResult<()> {
    if route.action.is_empty()
        || route.action.starts_with("Microsoft.Resources/subscriptions/providers") && ctx.req.method == "GET"
    {
        return Ok(());
    }
    if route.action == "Microsoft.Resources/subscriptions" || route.action == "Microsoft.Resources/tenants" {
        return Ok(());
    }
    let Some(caller) = ctx.caller else {
        return Err(ArmError::new(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        ));
    };
    let (action, scope) = match registration_action(route, ctx) {
        Some(x) => x,
        None => {
            let last = ctx.req.segments.last().map(String::as_str).unwrap_or("");
            (action_for(route, &ctx.req.method, last), scope_of(ctx))
        }
    };
    let d = engine::check(w, &caller.object_id, &action, &scope);
    if d.allowed {
        return Ok(());
    }
    Err(authorization_failed(&caller.app_id, &caller.object_id, &action, &scope))
}

/// `POST /subscriptions/{s}/providers/{ns}/register` (and `unregister`): Azure checks the
/// namespace's own `{ns}/register/action` at the subscription, e.g. "… does not have
/// authorization to perform action 'Microsoft.ContainerService/register/action' over scope
/// '/subscriptions/…'".
fn registration_action(route: &Route, ctx: &Ctx) -> Option<(String, String)> {
    let verb = route
        .action
        .strip_prefix("Microsoft.Resources/subscriptions/providers/")?;
    Some((format!("{}/{verb}/action", ctx.namespace), ctx.scope.to_string()))
}

/// Azure's 403 for a missing permission.
pub(crate) fn authorization_failed(app_id: &str, object_id: &str, action: &str, scope: &str) -> ArmError {
    ArmError::new(
        403,
        "AuthorizationFailed",
        format!(
            "The client '{app_id}' with object id '{object_id}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        ),
    )
}

/// A GET of a collection (`…/resourcegroups`, `…/managedClusters`): its route ends in a literal.
pub(crate) fn is_list(route: &Route, method: &str) -> bool {
    method == "GET" && route.pattern.last().is_some_and(|p| *p != "*")
}

/// Keeps the items of a list the caller may read (`{type}/read` at the item's id).
pub(crate) fn readable_only(w: &Tx, caller: &Caller, route: &Route, mut resp: Response) -> Response {
    let action = format!("{}/read", route.action);
    // A list written as JSON text is read like one built as a value: nothing escapes the filter.
    if let Body::Raw(text, _) = &resp.body {
        if let Ok(v) = serde_json::from_slice(text) {
            resp.body = Body::Json(v);
        }
    }
    if let Body::Json(body) = &mut resp.body {
        if let Some(items) = body.get_mut("value").and_then(|v| v.as_array_mut()) {
            items.retain(|item| {
                let id = item["id"].as_str().unwrap_or("");
                !id.is_empty() && engine::check(w, &caller.object_id, &action, id).allowed
            });
        }
    }
    resp
}
