//! azemu's own API under `/_azemu/`: health and reset, the clock, fresh subscriptions for
//! isolated tests, faults, LRO timing, the request journal, state snapshots, RBAC
//! explanations, node images and the node model of clusters. Nothing here leaks into ARM
//! responses.

pub(crate) mod faults;
pub(crate) mod journal;
pub(crate) mod lro_rules;
pub(crate) mod state;
pub(crate) mod ui;

use crate::arm::{ArmError, ArmResult, Request, Response};
use crate::providers::hooks;
use crate::world::{Tx, World};
use serde_json::{json, Value};

pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The test harness's own state: faults, LRO timing rules, the request journal and
/// `--state-file` persistence. The world holds it (as a [`crate::world::Harness`], for the
/// providers' LRO questions); everything else about it is the control API's.
#[derive(Default)]
pub(crate) struct Harness {
    pub(crate) faults: faults::Faults,
    pub(crate) lro_rules: lro_rules::LroRules,
    pub(crate) journal: journal::Journal,
    pub(crate) persistence: state::Persistence,
}

impl crate::world::Harness for Harness {
    fn lro_rule(&self, method: &str, resource_id: &str) -> Option<String> {
        self.lro_rules.rule_for(method, resource_id)
    }

    fn lro_failure(&self, world: &World, req: &Request) -> Option<ArmError> {
        faults::lro_failure(world, req)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The control API's harness in `w`.
pub(crate) fn harness(w: &World) -> &Harness {
    w.harness()
        .as_any()
        .downcast_ref::<Harness>()
        .expect("the world is built with the control API's harness")
}

/// Answers `/_azemu/...`.
pub(crate) fn handle(w: &World, req: &Request) -> Response {
    match route(w, req) {
        Ok(r) => r,
        Err(e) => e.into(),
    }
}

fn not_found(req: &Request) -> ArmError {
    ArmError::not_found(
        "NotFound",
        format!("'{} {}' is not part of azemu's control API.", req.method, req.path),
    )
}

fn body(req: &Request) -> ArmResult<Value> {
    req.json_or_empty()
}

fn route(w: &World, req: &Request) -> ArmResult<Response> {
    let segs: Vec<&str> = req.segments.iter().skip(1).map(String::as_str).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    if req.method != "GET" {
        // Reset and state import replace the whole world; every other control write is one
        // transaction, like an ARM write.
        return match (req.method.as_str(), l.as_slice()) {
            ("POST", ["reset"]) => {
                w.reset();
                harness(w).faults.clear();
                harness(w).lro_rules.clear();
                harness(w).journal.clear();
                Ok(health(w))
            }
            ("PUT", ["state"]) => {
                let snap: state::Snapshot = serde_json::from_slice(&req.body).map_err(ArmError::invalid_content)?;
                state::import(w, snap).map_err(|e| ArmError::bad_request("InvalidState", e))?;
                Ok(health(w))
            }
            _ => w.try_transact(|tx| route_write(tx, req, &segs, &l)),
        };
    }
    route_read(&w.read(), req, &segs, &l)
}

fn route_read(w: &Tx, req: &Request, segs: &[&str], l: &[&str]) -> ArmResult<Response> {
    match l {
        ["health"] => Ok(health(w)),
        ["clock"] => Ok(clock_json(w)),
        ["authorize"] => authorize(w, req),
        ["events"] => Ok(Response::ok(json!({ "value": w.activity(req.query("resource")) }))),
        ["faults"] => Ok(Response::ok(json!({ "value": harness(w).faults.list() }))),
        ["lro"] => Ok(Response::ok(json!({ "value": harness(w).lro_rules.list() }))),
        ["requests"] => Ok(Response::ok(json!({ "value": journal_query(w, req)? }))),
        ["requests", "scenario"] => Ok(Response::ok(journal::as_scenario(&journal_query(w, req)?))),
        ["state"] => Ok(Response::ok(
            serde_json::to_value(state::export(w)).map_err(|e| ArmError::internal(e.to_string()))?,
        )),
        ["routes"] => Ok(Response::ok(json!({ "value": hooks::describe_routes() }))),
        ["operations"] => Ok(Response::ok(json!({ "value": w.operations().iter().map(|o| {
                let mut b = o.status_body(&o.id);
                b["resourceId"] = json!(o.resource_id);
                b["activity"] = json!(o.activity);
                b
            }).collect::<Vec<_>>() }))),
        ["ui", ..] => ui::get(w, req, &segs[1..]),
        _ => hooks::provider_view(w, req, segs).unwrap_or_else(|| Err(not_found(req))),
    }
}

fn route_write(w: &Tx, req: &Request, segs: &[&str], l: &[&str]) -> ArmResult<Response> {
    match (req.method.as_str(), l) {
        ("POST", ["clock"]) => clock(w, req),
        ("POST", ["subscriptions"]) => create_subscription(w, req),
        ("DELETE", ["subscriptions", _]) => delete_subscription(w, segs[1]),
        ("POST", ["faults"]) => add_fault(w, req),
        ("DELETE", ["faults"]) => {
            harness(w).faults.clear();
            Ok(Response::empty(204))
        }
        ("DELETE", ["faults", _]) if harness(w).faults.remove(segs[1]) => Ok(Response::empty(204)),
        ("DELETE", ["faults", _]) => Err(ArmError::not_found(
            "FaultNotFound",
            format!("No fault has the id '{}'.", segs[1]),
        )),
        ("POST", ["lro"]) | ("PUT", ["lro"]) => {
            let rule: lro_rules::LroRule = serde_json::from_value(body(req)?).map_err(ArmError::invalid_content)?;
            hooks::parse_lro_spec(w, &rule.spec)?;
            harness(w).lro_rules.set(rule.clone());
            Ok(Response::json(201, serde_json::to_value(rule).unwrap_or_default()))
        }
        ("DELETE", ["lro"]) => {
            harness(w).lro_rules.clear();
            Ok(Response::empty(204))
        }
        ("DELETE", ["requests"]) => {
            harness(w).journal.clear();
            Ok(Response::empty(204))
        }
        _ => hooks::provider_action(w, req, segs).unwrap_or_else(|| Err(not_found(req))),
    }
}

fn health(w: &World) -> Response {
    Response::ok(json!({
        "status": "ok",
        "version": VERSION,
        "url": w.base_url(),
        "tenantId": w.config.tenant_id,
        "subscriptionId": w.config.subscription_id,
        "clientId": w.config.client_id,
        "time": crate::arm::time::rfc3339(w.now()),
        "writes": w.write_counts(),
    }))
}

fn clock_json(w: &World) -> Response {
    Response::ok(json!({ "now": crate::arm::time::rfc3339(w.now()), "virtual": w.clock.is_virtual() }))
}

/// `POST /_azemu/clock` `{"set": "2026-01-01T00:00:00Z"}` or `{"advance": "3s"}` (a number
/// is seconds). Times must lie in 0000-01-01..9999-12-31 (RFC 3339's four-digit years) and
/// durations must be finite, non-negative and at most that span; anything else is a 400 and
/// leaves the clock alone.
fn clock(w: &Tx, req: &Request) -> ArmResult<Response> {
    use crate::arm::time;
    let b = body(req)?;
    let set = match &b["set"] {
        Value::Null => None,
        Value::String(t) => Some(time::parse_rfc3339(t).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidClockValue",
                format!(
                    "'{t}' is not a UTC time such as 2026-01-01T00:00:00Z between {} and {}.",
                    time::rfc3339(time::MIN_TIME),
                    time::rfc3339(time::MAX_TIME)
                ),
            )
        })?),
        other => {
            return Err(ArmError::bad_request(
                "InvalidClockValue",
                format!("'{other}' is not a UTC time such as 2026-01-01T00:00:00Z."),
            ))
        }
    };
    let advance = match b.get("advance") {
        None | Some(Value::Null) => None,
        Some(d) => Some(
            match d {
                Value::String(s) => time::parse_duration_ms(s),
                Value::Number(n) => n.as_f64().and_then(time::duration_from_secs),
                _ => None,
            }
            .ok_or_else(|| {
                ArmError::bad_request(
                    "InvalidClockValue",
                    format!("'{d}' is not a duration such as '3s' or '250ms' (non-negative, at most 10000 years)."),
                )
            })?,
        ),
    };
    let past_the_end = |ms: i64| {
        ArmError::bad_request(
            "InvalidClockValue",
            format!(
                "Advancing the clock by {ms} ms would move it past {}.",
                time::rfc3339(time::MAX_TIME)
            ),
        )
    };
    // Everything is checked before the clock moves.
    match (set, advance) {
        (Some(t), ms) => {
            let to = t
                .checked_add(ms.unwrap_or(0))
                .filter(|x| time::in_range(*x))
                .ok_or_else(|| past_the_end(ms.unwrap_or(0)))?;
            w.clock.set(to);
        }
        (None, Some(ms)) if !w.clock.advance(ms) => return Err(past_the_end(ms)),
        _ => {}
    }
    w.settle();
    Ok(clock_json(w))
}

/// `POST /_azemu/subscriptions` `{"displayName"?, "subscriptionId"?, "tenantId"?, "newTenant"?}`:
/// a fresh subscription (optionally in a fresh tenant) owned by the default client.
fn create_subscription(w: &Tx, req: &Request) -> ArmResult<Response> {
    let b = body(req)?;
    let sub = b["subscriptionId"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| w.ids.guid());
    if !crate::arm::id::is_guid(&sub) {
        return Err(ArmError::bad_request(
            "InvalidSubscriptionId",
            format!("The provided subscription identifier '{sub}' is malformed or invalid."),
        ));
    }
    if w.store.contains(&format!("/subscriptions/{sub}")) {
        return Err(ArmError::conflict(
            "SubscriptionExists",
            format!("The subscription '{sub}' already exists."),
        ));
    }
    let tenant = if b["newTenant"].as_bool().unwrap_or(false) {
        let t = w.ids.guid();
        let domain = format!("azemu{}.onmicrosoft.com", &t[..8]);
        hooks::create_tenant(w, &t, &format!("azemu tenant {}", &t[..8]), &domain);
        t
    } else {
        let t = b["tenantId"].as_str().unwrap_or(&w.config.tenant_id).to_string();
        hooks::find_tenant(w, &t).ok_or_else(|| {
            ArmError::not_found("TenantNotFound", format!("The tenant '{t}' does not exist in azemu."))
        })?
    };
    let name = b["displayName"].as_str().unwrap_or("azemu test subscription");
    hooks::create_subscription(w, &sub, &tenant, name);
    let owner = crate::entra::principals::client_principal(w, &tenant, &w.config.client_id);
    hooks::grant_role(w, &format!("/subscriptions/{sub}"), &owner.object_id, hooks::OWNER_ROLE);
    Ok(Response::json(
        201,
        json!({ "subscriptionId": sub, "tenantId": tenant, "displayName": name, "ownerObjectId": owner.object_id }),
    ))
}

/// `DELETE /_azemu/subscriptions/{id}`: the subscription and everything in it.
fn delete_subscription(w: &Tx, sub: &str) -> ArmResult<Response> {
    let id = format!("/subscriptions/{sub}");
    if !w.store.contains(&id) {
        return Err(ArmError::subscription_not_found(sub));
    }
    w.ops.finish_for(w, &id, w.now(), crate::arm::lro::Outcome::Canceled);
    for rec in w.store.remove_tree(&id) {
        hooks::on_removed(w, &rec);
    }
    Ok(Response::empty(204))
}

fn add_fault(w: &Tx, req: &Request) -> ArmResult<Response> {
    let mut f: faults::Fault = serde_json::from_value(body(req)?).map_err(ArmError::invalid_content)?;
    f.validate()?;
    f.id = w.ids.guid();
    f.fired = 0;
    harness(w).faults.add(f.clone());
    Ok(Response::json(201, serde_json::to_value(f).unwrap_or_default()))
}

fn journal_query(w: &Tx, req: &Request) -> ArmResult<Vec<Value>> {
    let status = match req.query("status") {
        Some(s) => Some(
            s.parse::<u16>()
                .map_err(|_| ArmError::bad_request("InvalidQueryParameterValue", "status must be a number."))?,
        ),
        None => None,
    };
    let since = match req.query("since") {
        Some(s) => Some(
            s.parse::<u64>()
                .map_err(|_| ArmError::bad_request("InvalidQueryParameterValue", "since must be a sequence number."))?,
        ),
        None => None,
    };
    Ok(harness(w)
        .journal
        .query(req.query("method"), req.query("path"), status, since))
}

/// `GET /_azemu/authorize?principalId=…&action=…&scope=…`: why a principal is allowed or denied.
fn authorize(w: &Tx, req: &Request) -> ArmResult<Response> {
    let need = |k: &str| {
        req.query(k)
            .map(str::to_string)
            .ok_or_else(|| ArmError::bad_request("MissingParameter", format!("The query parameter '{k}' is required.")))
    };
    let action = need("action")?;
    let scope = need("scope")?;
    let principal = match (req.query("principalId"), req.query("clientId")) {
        (Some(p), _) => p.to_string(),
        (None, Some(c)) => w.directory.by_app_id(c).map(|p| p.object_id).ok_or_else(|| {
            ArmError::not_found(
                "PrincipalNotFound",
                format!("No service principal has client id '{c}'."),
            )
        })?,
        _ => {
            return Err(ArmError::bad_request(
                "MissingParameter",
                "The query parameter 'principalId' (or 'clientId') is required.",
            ))
        }
    };
    let d = hooks::authorize(w, &principal, &action, &scope);
    Ok(Response::ok(serde_json::to_value(d).unwrap_or_default()))
}
