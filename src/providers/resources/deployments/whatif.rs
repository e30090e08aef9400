//! What-if: the deployment runs for real in a scratch transaction (every provider rule and
//! default applies), the store is compared before and after, and everything is taken back.
//! The change list follows the spec's `WhatIfOperationResult` (Create, Delete, Ignore,
//! NoChange, Modify) with property-level deltas as `az deployment group what-if` renders them.

use super::api::{self, Mode};
use crate::arm::{ArmResult, Response};
use crate::routing::Ctx;
use crate::world::Tx;
use serde_json::{json, Map, Value};

/// Properties every write changes and what-if does not report (ARM leaves them out too).
const VOLATILE: &[&str] = &["etag", "eTag", "systemData", "provisioningState"];

pub(crate) fn what_if(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = api::target(tx, ctx, ctx.name(0))?;
    let req = match api::parse_request(ctx, &target) {
        Ok(r) => r,
        Err(e) => return Ok(Response::ok(json!({ "status": "Failed", "error": e.inner_json() }))),
    };
    let (changes, error) = tx.scratch(|tx| {
        let ran = api::run_request(tx, &target, &req);
        let mut changes = Vec::new();
        for id in planned_ids(tx, &target, &req, &ran.output_resources) {
            let before = crate::world::World::read(tx).store.get(&id).map(|r| r.body);
            let after = tx.store.get(&id).map(|r| r.body);
            changes.push(change(&id, before, after));
        }
        // What the group held before (Complete mode deleted it in the scratch run).
        let others = api::unnamed(&crate::world::World::read(tx), &target, &ran.output_resources);
        for r in others {
            let kind = if req.mode == Mode::Complete { "Delete" } else { "Ignore" };
            changes.push(json!({ "resourceId": r.id, "changeType": kind, "before": r.body }));
        }
        (changes, ran.error())
    });
    let mut body = json!({ "status": "Succeeded", "properties": { "changes": changes } });
    if let Some(e) = error {
        body["status"] = json!("Failed");
        body["error"] = e.inner_json();
    }
    Ok(Response::ok(body))
}

/// The resources the deployment creates or updates (nested deployments' resources
/// included, the deployments themselves left out).
fn planned_ids(tx: &Tx, target: &super::run::Target, req: &api::DeploymentRequest, deployed: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = deployed
        .iter()
        .filter(|id| {
            !id.to_ascii_lowercase()
                .contains("/providers/microsoft.resources/deployments/")
        })
        .cloned()
        .collect();
    if let Ok((plan, _)) = api::plan(tx, target, req) {
        for r in plan.resources.iter().filter(|r| r.is_deployed()) {
            if !r.full_type.eq_ignore_ascii_case(super::KIND) && !ids.iter().any(|i| i.eq_ignore_ascii_case(&r.id)) {
                ids.push(r.id.clone());
            }
        }
    }
    ids
}

fn change(id: &str, before: Option<Value>, after: Option<Value>) -> Value {
    match (before, after) {
        (None, Some(a)) => json!({ "resourceId": id, "changeType": "Create", "after": a }),
        (None, None) => json!({ "resourceId": id, "changeType": "Create" }),
        (Some(b), None) => json!({ "resourceId": id, "changeType": "Delete", "before": b }),
        (Some(b), Some(a)) => {
            let delta = diff("", &strip(&b), &strip(&a));
            let kind = if delta.is_empty() { "NoChange" } else { "Modify" };
            let mut c = json!({ "resourceId": id, "changeType": kind, "before": b, "after": a });
            if !delta.is_empty() {
                c["delta"] = Value::Array(delta);
            }
            c
        }
    }
}

/// A resource without the properties every write changes.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !VOLATILE.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// The property changes from `before` to `after` (`WhatIfPropertyChange`): Create, Delete,
/// Modify, and Array with children whose paths are integer strings.
fn diff(path: &str, before: &Value, after: &Value) -> Vec<Value> {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let mut out = Vec::new();
            for (k, bv) in b {
                match a.get(k) {
                    None => out.push(json!({ "path": join(path, k), "propertyChangeType": "Delete", "before": bv })),
                    Some(av) => out.extend(diff(&join(path, k), bv, av)),
                }
            }
            for (k, av) in a.iter().filter(|(k, _)| !b.contains_key(*k)) {
                out.push(json!({ "path": join(path, k), "propertyChangeType": "Create", "after": av }));
            }
            out
        }
        (Value::Array(b), Value::Array(a)) if b != a => {
            let mut children = Vec::new();
            for i in 0..b.len().max(a.len()) {
                let p = i.to_string();
                match (b.get(i), a.get(i)) {
                    (Some(bv), Some(av)) if bv != av => {
                        let inner = diff("", bv, av);
                        children.push(json!({ "path": p, "propertyChangeType": "Modify", "before": bv, "after": av, "children": inner }));
                    }
                    (Some(bv), None) => {
                        children.push(json!({ "path": p, "propertyChangeType": "Delete", "before": bv }))
                    }
                    (None, Some(av)) => {
                        children.push(json!({ "path": p, "propertyChangeType": "Create", "after": av }))
                    }
                    _ => {}
                }
            }
            vec![json!({ "path": path, "propertyChangeType": "Array", "children": children })]
        }
        (b, a) if b != a => vec![json!({ "path": path, "propertyChangeType": "Modify", "before": b, "after": a })],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_if_delta_names_each_changed_property() {
        let b = json!({ "tags": { "a": "1" }, "properties": { "count": 1, "list": [1, 2] } });
        let a = json!({ "tags": { "a": "1", "b": "2" }, "properties": { "count": 3, "list": [1] } });
        let d = diff("", &b, &a);
        let paths: Vec<(&str, &str)> = d
            .iter()
            .map(|c| (c["path"].as_str().unwrap(), c["propertyChangeType"].as_str().unwrap()))
            .collect();
        assert_eq!(
            paths,
            vec![
                ("tags.b", "Create"),
                ("properties.count", "Modify"),
                ("properties.list", "Array")
            ]
        );
        assert_eq!(d[2]["children"][0]["path"], "1");
        assert!(diff("", &b, &b).is_empty());
    }
}
