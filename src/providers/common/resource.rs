//! Helpers every tracked resource shares: the parent resource group, canonical ids,
//! location and tags checks, `systemData`, and listings by subscription or resource group.

use crate::arm::id::{self, ScopeParts};
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::routing::Ctx;
use crate::store::{Record, Scope};
use crate::world::Tx;
use serde_json::{json, Value};

/// The resource group a tracked resource lives in, as stored.
pub(crate) struct Parent {
    pub(crate) subscription: String,
    /// Name with the casing it was created with.
    pub(crate) resource_group: String,
    pub(crate) id: String,
}

/// The resource group named by the request's scope (which must be a resource group).
pub(crate) fn parent_group(w: &Tx, ctx: &Ctx) -> ArmResult<Parent> {
    let parts = ScopeParts::parse(ctx.scope);
    let (Some(sub), Some(rg)) = (parts.subscription, parts.resource_group) else {
        return Err(ArmError::bad_request(
            "InvalidResourceId",
            format!("The scope '{}' is not a resource group.", ctx.scope),
        ));
    };
    let rec = w
        .store
        .get(&id::resource_group_id(&sub, &rg))
        .ok_or_else(|| ArmError::resource_group_not_found(&rg))?;
    Ok(Parent {
        subscription: id::segments(&rec.id)[1].clone(),
        resource_group: rec.body["name"].as_str().unwrap_or(&rg).to_string(),
        id: rec.id.clone(),
    })
}

/// `{rg}/providers/{Namespace}/{type}/{name}` with canonical casing for the fixed parts.
pub(crate) fn tracked_id(parent: &Parent, namespace: &str, type_name: &str, name: &str) -> String {
    format!("{}/providers/{namespace}/{type_name}/{name}", parent.id)
}

/// A missing tracked resource, with ARM's message.
pub(crate) fn not_found(ctx: &Ctx, type_path: &str, name: &str) -> ArmError {
    let rg = ScopeParts::parse(ctx.scope).resource_group.unwrap_or_default();
    ArmError::resource_not_found(type_path, name, &rg)
}

/// The region of a new resource: required, and one ARM knows. `type_path` names the type in
/// the error (`Microsoft.ManagedIdentity/userAssignedIdentities`).
pub(crate) fn require_location(body: &Value, type_path: &str) -> ArmResult<&'static str> {
    let Some(loc) = body.get("location").and_then(Value::as_str) else {
        return Err(ArmError::bad_request(
            "LocationRequired",
            "The location property is required for this definition.",
        ));
    };
    crate::arm::regions::normalize(loc).ok_or_else(|| {
        ArmError::bad_request(
            "LocationNotAvailableForResourceType",
            format!(
                "The provided location '{loc}' is not available for resource type '{type_path}'. List of available regions for the resource type is '{}'.",
                crate::arm::regions::names_csv()
            ),
        )
    })
}

/// Tags: an object of strings, at most 50, names ≤ 512 and values ≤ 256 characters.
pub(crate) fn tags(body: &Value) -> ArmResult<Option<Value>> {
    match body.get("tags") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => {
            if m.len() > 50 {
                return Err(ArmError::bad_request(
                    "InvalidTagCount",
                    format!("The number of tags ({}) exceeds the limit of 50.", m.len()),
                ));
            }
            for (k, v) in m {
                let Some(s) = v.as_str() else {
                    return Err(ArmError::bad_request(
                        "InvalidRequestContent",
                        format!("The request content was invalid: the value of tag '{k}' must be a string."),
                    )
                    .with_target(format!("tags.{k}")));
                };
                if k.is_empty() || k.chars().count() > 512 || k.contains(['<', '>', '%', '&', '\\', '?', '/']) {
                    return Err(ArmError::bad_request(
                        "InvalidTagNameCharacters",
                        format!("The tag names '{k}' have reserved characters '<,>,%,&,\\,?,/' or control characters, or are longer than 512 characters."),
                    ));
                }
                if s.chars().count() > 256 {
                    return Err(ArmError::bad_request(
                        "InvalidTagValueLength",
                        format!("The tag value of '{k}' is longer than 256 characters."),
                    ));
                }
            }
            Ok(Some(Value::Object(m.clone())))
        }
        Some(_) => Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The request content was invalid: 'tags' must be an object of strings.",
        )
        .with_target("tags")),
    }
}

/// `systemData` for a resource written now by the caller.
pub(crate) fn system_data(w: &Tx, ctx: &Ctx, previous: Option<&Value>) -> Value {
    let now = crate::arm::time::rfc3339(w.now());
    let who = ctx
        .caller
        .map(|c| c.app_id.clone())
        .unwrap_or_else(|| "anonymous".into());
    let created = previous.and_then(|p| p.get("systemData")).cloned();
    json!({
        "createdBy": created.as_ref().and_then(|c| c.get("createdBy")).cloned().unwrap_or(json!(who)),
        "createdByType": "Application",
        "createdAt": created.as_ref().and_then(|c| c.get("createdAt")).cloned().unwrap_or(json!(now)),
        "lastModifiedBy": who,
        "lastModifiedByType": "Application",
        "lastModifiedAt": now,
    })
}

/// The request's scope, when it is one a tracked type of `kind` is listed in: a
/// subscription or a resource group.
fn list_scope<'a>(ctx: &Ctx<'a>, kind: &str) -> ArmResult<&'a str> {
    let parts = ScopeParts::parse(ctx.scope);
    if !(parts.is_subscription() || parts.is_resource_group()) {
        return Err(ArmError::bad_request(
            "InvalidResourceId",
            format!(
                "Listing '{kind}' is only possible in a subscription or a resource group, not '{}'.",
                ctx.scope
            ),
        ));
    }
    Ok(ctx.scope)
}

/// One page, for this request, of the records of `kind` in its scope (a subscription or a
/// resource group), in creation order.
pub(crate) fn page_in_scope(w: &Tx, ctx: &Ctx, kind: &str) -> ArmResult<Value> {
    let scope = list_scope(ctx, kind)?;
    page_below(w, ctx, scope, Some(kind), |_| true, |r| r.body)
}

/// One page, for this request, of the records strictly below `scope` (of type `kind` if
/// given) for which `keep` holds, in creation order, each rendered by `render`. It reads
/// the store's ordered index from the page's start: O(log n + what it reads).
pub(crate) fn page_below(
    w: &Tx,
    ctx: &Ctx,
    scope: &str,
    kind: Option<&str>,
    keep: impl Fn(&Record) -> bool,
    render: impl FnMut(Record) -> Value,
) -> ArmResult<Value> {
    let scope = Scope::below(scope);
    paging::keyed_page(
        ctx.req,
        |after, n| {
            w.store
                .page(&scope, kind, after, n, keep)
                .into_iter()
                .map(|r| (r.seq, r))
                .collect()
        },
        render,
    )
}

/// The record of a tracked resource or a 404 in ARM's words.
pub(crate) fn get_or_404(w: &Tx, ctx: &Ctx, id_: &str, type_path: &str, name: &str) -> ArmResult<Record> {
    w.store.get(id_).ok_or_else(|| not_found(ctx, type_path, name))
}

/// A tracked resource's GET: its stored body as it is (the stored JSON text, not parsed and
/// written again), or a 404 in ARM's words.
pub(crate) fn get_response_or_404(w: &Tx, ctx: &Ctx, id_: &str, type_path: &str, name: &str) -> ArmResult<Response> {
    w.store
        .body_json(id_)
        .map(|text| Response::json_text(200, text))
        .ok_or_else(|| not_found(ctx, type_path, name))
}

/// A tracked resource cannot change region: ARM answers 409 `InvalidResourceLocation`.
pub(crate) fn check_location_unchanged(existing: Option<&Record>, location: &str, parent: &Parent) -> ArmResult<()> {
    let Some(old) = existing else { return Ok(()) };
    let old_loc = old.body["location"].as_str().unwrap_or("");
    if old_loc.eq_ignore_ascii_case(location) {
        return Ok(());
    }
    let name = old.body["name"].as_str().unwrap_or("");
    Err(ArmError::conflict(
        "InvalidResourceLocation",
        format!(
            "The resource '{name}' already exists in location '{old_loc}' in resource group '{}'. A resource with the same name cannot be created in location '{location}'. Please select a new resource name.",
            parent.resource_group
        ),
    ))
}

/// `If-Match` / `If-None-Match` on a write: a mismatch is 412 `PreconditionFailed`.
/// Source: aks-rules.md j10 (ARM RPC resource-api-reference; AKS PUT takes both headers).
pub(crate) fn check_preconditions(ctx: &Ctx, existing_etag: Option<&str>) -> ArmResult<()> {
    let failed = |detail: String| Err(ArmError::new(412, "PreconditionFailed", detail));
    if let Some(want) = ctx.req.header("if-match").map(str::trim) {
        match existing_etag {
            None => return failed(format!("The resource does not exist; If-Match '{want}' cannot match.")),
            Some(etag) if want != "*" && want.trim_matches('"') != etag.trim_matches('"') => {
                return failed(format!("If-Match '{want}' does not match the current eTag '{etag}'."));
            }
            _ => {}
        }
    }
    if let Some(none) = ctx.req.header("if-none-match").map(str::trim) {
        if let Some(etag) = existing_etag {
            if none == "*" || none.trim_matches('"') == etag.trim_matches('"') {
                return failed(format!("If-None-Match '{none}': the resource exists (eTag '{etag}')."));
            }
        }
    }
    Ok(())
}
