//! `Microsoft.ManagedIdentity/userAssignedIdentities`.
//!
//! Each identity is also a service principal in the directory (appId = `clientId`, object id =
//! `principalId`). Deleting the identity removes the principal but leaves the role assignments
//! that name it, as Azure does.

use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::{identities, resource, schema};
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::{Ctx, Route};
use crate::store::Record;
use crate::world::Tx;
use serde_json::json;

pub(crate) const NAMESPACE: &str = "Microsoft.ManagedIdentity";
pub(crate) const KIND: &str = identities::KIND;
const ACTION: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// Everything azemu knows of this provider: its one registration.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: NAMESPACE,
    types: &[
        TypeInfo {
            name: "userAssignedIdentities",
            api_versions: &[
                "2025-05-31-preview",
                "2025-01-31-preview",
                "2024-11-30",
                "2023-07-31-preview",
                "2023-01-31",
                "2022-01-31-preview",
                "2021-09-30-preview",
                "2018-11-30",
                "2015-08-31-preview",
            ],
            global: false,
        },
        TypeInfo {
            name: "operations",
            api_versions: &["2024-11-30", "2023-01-31", "2018-11-30"],
            global: true,
        },
    ],
    routes: ROUTES,
    schemas: &[(
        "userAssignedIdentity",
        include_str!("../../../api-specs/Microsoft.ManagedIdentity/userAssignedIdentity.json"),
    )],
    seed: None,
    on_removed: Some(on_removed),
    validate_move: None,
};

#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    Route { namespace: "microsoft.managedidentity", pattern: &["userassignedidentities"], methods: &["GET"], action: ACTION, handler: list },
    Route { namespace: "microsoft.managedidentity", pattern: &["userassignedidentities", "*"], methods: &["GET", "PUT", "PATCH", "DELETE"], action: ACTION, handler: handle },
];

/// Azure's name rule for user-assigned identities: 3–128 characters, letters, digits,
/// hyphens and underscores, starting with a letter or digit.
/// Source: Azure naming rules for Microsoft.ManagedIdentity (learn.microsoft.com, resource-name-rules).
pub(crate) fn check_identity_name(name: &str) -> ArmResult<()> {
    let len = name.chars().count();
    let ok = (3..=128).contains(&len)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidResourceName",
            format!("Resource name '{name}' is invalid. The name can be 3-128 characters long and can contain only letters, numbers, hyphens and underscores. The first character must be a letter or number."),
        ))
    }
}

fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let parent = resource::parent_group(w, ctx)?;
    let name = ctx.name(0);
    let rid = resource::tracked_id(&parent, NAMESPACE, "userAssignedIdentities", name);
    match ctx.method() {
        "GET" => Ok(Response::ok(resource::get_or_404(w, ctx, &rid, KIND, name)?.body)),
        "PUT" => put(w, ctx, &parent, &rid, name),
        "PATCH" => patch(w, ctx, &rid, name),
        _ => delete(w, &rid),
    }
}

fn put(w: &Tx, ctx: &Ctx, parent: &resource::Parent, rid: &str, name: &str) -> ArmResult<Response> {
    check_identity_name(name)?;
    let body = ctx.req.json_object()?;
    schema::validate("userAssignedIdentity", &body)?;
    let location = resource::require_location(&body, KIND)?;
    let tags = resource::tags(&body)?;
    let existing = w.store.get(rid);
    resource::check_location_unchanged(existing.as_ref(), location, parent)?;
    let (stored_id, stored_name, client_id, principal_id) = match &existing {
        Some(r) => (
            r.id.clone(),
            r.body["name"].as_str().unwrap_or(name).to_string(),
            r.body["properties"]["clientId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            r.body["properties"]["principalId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ),
        None => (rid.to_string(), name.to_string(), w.ids.guid(), w.ids.guid()),
    };
    let tenant_id =
        crate::providers::common::arm::tenant_of(w, &parent.subscription).unwrap_or_else(|| w.config.tenant_id.clone());
    let isolation = body["properties"]["isolationScope"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            existing
                .as_ref()
                .and_then(|r| r.body["properties"]["isolationScope"].as_str().map(str::to_string))
        })
        .unwrap_or_else(|| "None".to_string());
    let doc = identities::save(
        w,
        identities::Identity {
            id: &stored_id,
            name: &stored_name,
            location,
            tenant_id: &tenant_id,
            client_id: &client_id,
            principal_id: &principal_id,
            isolation_scope: &isolation,
            tags: tags.unwrap_or(json!({})),
            system_data: Some(resource::system_data(w, ctx, existing.as_ref().map(|r| &r.body))),
        },
    );
    Ok(Response::json(if existing.is_some() { 200 } else { 201 }, doc))
}

fn patch(w: &Tx, ctx: &Ctx, rid: &str, name: &str) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    schema::validate("userAssignedIdentity", &body)?;
    let tags = resource::tags(&body)?;
    let existing = resource::get_or_404(w, ctx, rid, KIND, name)?;
    let system_data = resource::system_data(w, ctx, Some(&existing.body));
    let updated = w
        .store
        .update(rid, |r| {
            if body.get("tags").is_some() {
                r.body["tags"] = tags.clone().unwrap_or(json!({}));
            }
            if let Some(s) = body["properties"]["isolationScope"].as_str() {
                r.body["properties"]["isolationScope"] = json!(s);
            }
            r.body["systemData"] = system_data;
        })
        .ok_or_else(|| resource::not_found(ctx, KIND, name))?;
    Ok(Response::ok(updated.body))
}

fn delete(w: &Tx, rid: &str) -> ArmResult<Response> {
    match w.store.remove(rid) {
        Some(rec) => {
            on_removed(w, &rec);
            Ok(Response::ok(rec.body))
        }
        None => Ok(Response::empty(204)),
    }
}

/// Removes the identity's principal (role assignments naming it stay, as in Azure).
pub(crate) fn on_removed(w: &Tx, rec: &Record) {
    identities::forget_principal(w, rec);
}

fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let items = resource::list_in_scope(w, ctx, KIND)?;
    Ok(Response::ok(paging::page(ctx.req, items)?))
}
