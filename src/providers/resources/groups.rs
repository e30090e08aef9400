//! Resource groups: create, read, update, delete (with everything inside), the resources
//! they hold, and moving resources between groups.

use crate::arm::id::{self, ScopeParts};
use crate::arm::lro::Outcome;
use crate::arm::regions;
use crate::arm::{ArmError, ArmResult, Response};
use crate::providers::common::{arm, lro, resource, schema};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const KIND: &str = arm::RESOURCE_GROUP_KIND;

/// Azure's rule for resource group names: 1–90 letters, digits, `-`, `.`, `(`, `)`, `_`
/// (Unicode letters and digits included), not ending with a period.
/// Source: ARM error `InvalidResourceGroup` ("The name can only be a letter, digit, '-', '.', '(', ')' or '_'").
pub(crate) fn check_resource_group_name(name: &str) -> ArmResult<()> {
    let bad: String = name
        .chars()
        .filter(|c| !(c.is_alphanumeric() || matches!(c, '-' | '.' | '(' | ')' | '_')))
        .collect();
    let message = if !bad.is_empty() {
        format!("The provided resource group name '{name}' has these invalid characters: '{bad}'. The name can only be a letter, digit, '-', '.', '(', ')' or '_'.")
    } else if name.chars().count() > 90 {
        format!("The provided resource group name '{name}' is too long. The name can be at most 90 characters.")
    } else if name.ends_with('.') {
        format!("The provided resource group name '{name}' ends with a period. The name cannot end with a period.")
    } else {
        return Ok(());
    };
    Err(ArmError::bad_request("InvalidResourceGroup", message))
}

fn group_id(ctx: &Ctx) -> String {
    id::resource_group_id(ctx.name(0), ctx.name(1))
}

/// `GET/HEAD/PUT/PATCH/DELETE /subscriptions/{s}/resourcegroups/{rg}`.
pub(crate) fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    match ctx.method() {
        "GET" => get(w, ctx),
        "HEAD" => Ok(Response::empty(if w.store.contains(&group_id(ctx)) {
            204
        } else {
            404
        })),
        "PUT" => put(w, ctx),
        "PATCH" => patch(w, ctx),
        "DELETE" => delete(w, ctx),
        _ => method_not_allowed(ctx),
    }
}

fn method_not_allowed(ctx: &Ctx) -> ArmResult<Response> {
    Err(ArmError::new(
        405,
        "MethodNotAllowed",
        format!("The HTTP method '{}' is not supported.", ctx.method()),
    ))
}

fn get(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    w.store
        .body_json(&group_id(ctx))
        .map(|body| Response::json_text(200, body))
        .ok_or_else(|| ArmError::resource_group_not_found(ctx.name(1)))
}

fn put(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let (sub, name) = (ctx.name(0), ctx.name(1));
    check_resource_group_name(name)?;
    let body = ctx.req.json_object()?;
    schema::validate("resourceGroup", &body)?;
    let Some(loc_raw) = body["location"].as_str() else {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    let location = regions::normalize(loc_raw).ok_or_else(|| {
        ArmError::bad_request(
            "LocationNotAvailableForResourceGroup",
            format!(
                "The provided location '{loc_raw}' is not available for resource group. List of available regions is '{}'.",
                regions::names_csv()
            ),
        )
    })?;
    let tags = resource::tags(&body)?;
    let existing = w.store.get(&id::resource_group_id(sub, name));
    if let Some(old) = &existing {
        let old_loc = old.body["location"].as_str().unwrap_or("");
        if old_loc != location {
            return Err(ArmError::conflict(
                "InvalidResourceGroupLocation",
                format!("Invalid resource group location '{location}'. The Resource group already exists in location '{old_loc}'."),
            ));
        }
        if old.body["properties"]["provisioningState"] == "Deleting" {
            return Err(ArmError::conflict(
                "ResourceGroupBeingDeleted",
                format!("The resource group '{name}' is in deprovisioning state and cannot perform this operation."),
            ));
        }
    }
    // The name keeps the casing of its first creation.
    let stored_name = existing
        .as_ref()
        .and_then(|r| r.body["name"].as_str().map(str::to_string))
        .unwrap_or_else(|| name.to_string());
    let rid = id::resource_group_id(sub, &stored_name);
    let mut rg = json!({
        "id": rid,
        "name": stored_name,
        "type": KIND,
        "location": location,
        "properties": { "provisioningState": "Succeeded" },
    });
    if let Some(t) = tags {
        rg["tags"] = t;
    }
    if let Some(m) = body.get("managedBy").filter(|m| !m.is_null()) {
        rg["managedBy"] = m.clone();
    }
    let status = if existing.is_some() { 200 } else { 201 };
    let mut rec = Record::new(rid, KIND, rg.clone());
    if let Some(old) = existing {
        rec.internal = old.internal;
    }
    w.store.put(rec);
    Ok(Response::json(status, rg))
}

fn patch(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    schema::validate("resourceGroupPatch", &body)?;
    let tags = resource::tags(&body)?;
    let rid = group_id(ctx);
    if !w.store.contains(&rid) {
        return Err(ArmError::resource_group_not_found(ctx.name(1)));
    }
    let updated = w
        .store
        .update(&rid, |r| {
            if body.get("tags").is_some() {
                r.body["tags"] = tags.clone().unwrap_or(json!({}));
            }
            if let Some(m) = body.get("managedBy") {
                r.body["managedBy"] = m.clone();
            }
        })
        .ok_or_else(|| ArmError::resource_group_not_found(ctx.name(1)))?;
    Ok(Response::ok(updated.body))
}

fn delete(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let Some(rec) = w.store.get(&group_id(ctx)) else {
        return Err(ArmError::resource_group_not_found(ctx.name(1)));
    };
    let rid = rec.id.clone();
    w.store
        .update(&rid, |r| r.body["properties"]["provisioningState"] = "Deleting".into());
    let target = rid.clone();
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: rid.clone(),
            activity: "Deleting",
            urls: lro::Urls::Subscription {
                subscription: ctx.name(0),
            },
            location_header: true,
            fail: None,
            effect: crate::world::tx::effect(move |w, outcome| match outcome {
                Outcome::Succeeded => arm::remove_group_with_contents(w, &target),
                _ => {
                    w.store.update(&target, |r| {
                        r.body["properties"]["provisioningState"] = "Succeeded".into()
                    });
                }
            }),
        },
    )?;
    Ok(started.apply(Response::empty(202)))
}

/// `GET /subscriptions/{s}/resourcegroups`.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let tags = super::filters::groups(ctx.req.query("$filter"))?;
    let prefix = format!("/subscriptions/{}", ctx.name(0));
    let keep = |r: &Record| tags(&r.body);
    Ok(Response::ok(resource::page_below(
        w,
        ctx,
        &prefix,
        Some(KIND),
        keep,
        |r| r.body,
    )?))
}

/// True for a tracked top-level resource: `{rg}/providers/{ns}/{type}/{name}`.
fn is_top_level(rec: &Record) -> bool {
    let segs = id::segments(&rec.id);
    segs.len() == 8 && segs[4].eq_ignore_ascii_case("providers") && rec.body.get("location").is_some()
}

fn resource_summary(rec: &Record, expand: &str) -> Value {
    let b = &rec.body;
    let mut out = json!({ "id": rec.id, "name": b["name"], "type": rec.kind, "location": b["location"] });
    for k in ["tags", "sku", "kind", "identity", "managedBy"] {
        if let Some(v) = b.get(k).filter(|v| !v.is_null()) {
            out[k] = v.clone();
        }
    }
    if expand.contains("provisioningstate") {
        out["provisioningState"] = b["properties"]["provisioningState"].clone();
    }
    if expand.contains("createdtime") {
        out["createdTime"] = b["systemData"]["createdAt"].clone();
    }
    if expand.contains("changedtime") {
        out["changedTime"] = b["systemData"]["lastModifiedAt"].clone();
    }
    out
}

/// `GET {rg}/resources` and `GET /subscriptions/{s}/resources`.
pub(crate) fn resources(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let scope = if ctx.names.len() >= 2 {
        let rid = group_id(ctx);
        if !w.store.contains(&rid) {
            return Err(ArmError::resource_group_not_found(ctx.name(1)));
        }
        rid
    } else {
        format!("/subscriptions/{}", ctx.name(0))
    };
    let expand = ctx.req.query("$expand").unwrap_or("").to_ascii_lowercase();
    // A type filter reads that type's index; otherwise every record below the scope, in
    // creation order, keeping the top-level ones.
    let (kind, pred) = super::filters::resources(ctx.req.query("$filter"))?;
    let keep = |r: &Record| is_top_level(r) && pred(r);
    let page = resource::page_below(w, ctx, &scope, kind.as_deref(), keep, |r| resource_summary(&r, &expand))?;
    Ok(Response::ok(page))
}

/// Checks a move request; returns the records to move and the target group.
fn plan_move(w: &Tx, ctx: &Ctx) -> ArmResult<(Vec<Record>, Record)> {
    let body = ctx.req.json_object()?;
    let source = group_id(ctx);
    if !w.store.contains(&source) {
        return Err(ArmError::resource_group_not_found(ctx.name(1)));
    }
    let ids: Vec<String> = body["resources"]
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| {
            ArmError::bad_request(
                "InvalidRequestContent",
                "The request content was invalid: 'resources' must be a non-empty array of resource ids.",
            )
            .with_target("resources")
        })?
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    let target_id = body["targetResourceGroup"].as_str().ok_or_else(|| {
        ArmError::bad_request(
            "InvalidRequestContent",
            "The request content was invalid: 'targetResourceGroup' is required.",
        )
        .with_target("targetResourceGroup")
    })?;
    let target_parts = ScopeParts::parse(target_id);
    let (Some(tsub), Some(trg)) = (target_parts.subscription.clone(), target_parts.resource_group.clone()) else {
        return Err(ArmError::bad_request(
            "InvalidTargetResourceGroup",
            format!("The target resource group id '{target_id}' is not valid."),
        ));
    };
    if !w.store.contains(&format!("/subscriptions/{tsub}")) {
        return Err(ArmError::subscription_not_found(&tsub));
    }
    let target = w
        .store
        .get(&id::resource_group_id(&tsub, &trg))
        .ok_or_else(|| ArmError::resource_group_not_found(&trg))?;
    if id::same(&target.id, &source) {
        return Err(ArmError::bad_request(
            "InvalidTargetResourceGroup",
            "The source and target resource groups are the same.",
        ));
    }
    let mut records = Vec::new();
    for rid in &ids {
        let rec = w
            .store
            .get(rid)
            .filter(|r| id::is_at_or_above(&source, &r.id) && is_top_level(r))
            .ok_or_else(|| {
                ArmError::bad_request(
                    "ResourceNotTopLevel",
                    format!(
                        "The resource '{rid}' is not a top-level resource of resource group '{}'.",
                        ctx.name(1)
                    ),
                )
            })?;
        records.push(rec);
    }
    Ok((records, target))
}

/// What providers say about moving `records` to `target` (e.g. AKS refuses).
fn move_refusal(w: &Tx, records: &[Record], target: &Record) -> Option<ArmError> {
    let source_sub = id::segments(&records[0].id)[1].clone();
    let target_sub = id::segments(&target.id)[1].clone();
    let source_tenant = crate::providers::common::arm::tenant_of(w, &source_sub);
    let target_tenant = crate::providers::common::arm::tenant_of(w, &target_sub);
    let cross_tenant = source_tenant != target_tenant;
    let details: Vec<ArmError> = records
        .iter()
        .filter_map(|r| crate::providers::validate_move(w, r, cross_tenant).err())
        .collect();
    if details.is_empty() {
        return None;
    }
    let mut e = ArmError::conflict(
        "ResourceMoveProviderValidationFailed",
        "Resource move validation failed. Please see details. Diagnostic information: timestamp '', tracking id ''.",
    );
    e.details = details;
    Some(e)
}

fn move_records(w: &Tx, records: Vec<Record>, target: &Record) {
    for rec in records {
        let old_prefix = rec.id.clone();
        let segs = id::segments(&rec.id);
        let new_prefix = format!("{}/{}", target.id, segs[4..].join("/"));
        for mut child in w.store.remove_tree(&old_prefix) {
            let new_id = format!("{new_prefix}{}", &child.id[old_prefix.len()..]);
            let text = child.body.to_string().replace(&old_prefix, &new_prefix);
            child.body = serde_json::from_str(&text).unwrap_or(child.body);
            child.id = new_id;
            w.store.put(child);
        }
    }
}

/// `POST {rg}/moveResources` and `POST {rg}/validateMoveResources`: 202, then the outcome by polling.
pub(crate) fn move_resources(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let validate_only = ctx
        .req
        .segments
        .last()
        .is_some_and(|s| s.eq_ignore_ascii_case("validateMoveResources"));
    let (records, target) = plan_move(w, ctx)?;
    let refusal = move_refusal(w, &records, &target);
    let source = group_id(ctx);
    let effect: crate::world::tx::Effect = if validate_only {
        crate::world::tx::effect(|_, _| {})
    } else {
        crate::world::tx::effect(move |w, outcome| {
            if *outcome == Outcome::Succeeded {
                move_records(w, records, &target);
            }
        })
    };
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: source,
            activity: "Moving",
            urls: lro::Urls::Subscription {
                subscription: ctx.name(0),
            },
            location_header: true,
            // A refusal is the operation's outcome, as ARM reports it when polled.
            fail: refusal,
            effect,
        },
    )?;
    Ok(started.apply(Response::empty(202)))
}
