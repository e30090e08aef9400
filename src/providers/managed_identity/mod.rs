//! `Microsoft.ManagedIdentity/userAssignedIdentities`.
//!
//! Each identity is also a service principal in the directory (appId = `clientId`, object id =
//! `principalId`). Deleting the identity removes the principal but leaves the role assignments
//! that name it, as Azure does.

use crate::arm::{ArmError, ArmResult, Response};
use crate::providers::common::{identities, resource, schema};
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::{Ctx, Route};
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

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
        "GET" => resource::get_response_or_404(w, ctx, &rid, KIND, name),
        "PUT" => put(w, ctx, &parent, &rid, name),
        "PATCH" => patch(w, ctx, &rid, name),
        _ => delete(w, &rid),
    }
}

/// A user-assigned identity PUT or PATCH, parsed and checked.
struct IdentityRequest {
    /// PUT only (PATCH cannot move an identity).
    location: Option<String>,
    /// `None`: the request leaves the tags alone (PATCH without `tags`).
    tags: Option<Value>,
    isolation_scope: Option<String>,
}

impl IdentityRequest {
    fn parse(ctx: &Ctx, put: bool) -> ArmResult<IdentityRequest> {
        let body = ctx.req.json_object()?;
        schema::validate("userAssignedIdentity", &body)?;
        let location = if put {
            Some(resource::require_location(&body, KIND)?.to_string())
        } else {
            None
        };
        let tags = match body.get("tags") {
            None => None,
            Some(_) => Some(resource::tags(&body)?.unwrap_or(json!({}))),
        };
        Ok(IdentityRequest {
            location,
            tags,
            isolation_scope: body["properties"]["isolationScope"].as_str().map(str::to_string),
        })
    }
}

/// What a PUT keeps of an existing identity: its id and name casing, client and principal ids.
struct Kept {
    id: String,
    name: String,
    client_id: String,
    principal_id: String,
    isolation_scope: Option<String>,
}

impl Kept {
    fn of(existing: Option<&Record>, rid: &str, name: &str, w: &Tx) -> Kept {
        let text = |r: &Record, k: &str| r.body["properties"][k].as_str().unwrap_or_default().to_string();
        match existing {
            Some(r) => Kept {
                id: r.id.clone(),
                name: r.body["name"].as_str().unwrap_or(name).to_string(),
                client_id: text(r, "clientId"),
                principal_id: text(r, "principalId"),
                isolation_scope: r.body["properties"]["isolationScope"].as_str().map(str::to_string),
            },
            None => Kept {
                id: rid.to_string(),
                name: name.to_string(),
                client_id: w.ids.guid(),
                principal_id: w.ids.guid(),
                isolation_scope: None,
            },
        }
    }
}

fn put(w: &Tx, ctx: &Ctx, parent: &resource::Parent, rid: &str, name: &str) -> ArmResult<Response> {
    check_identity_name(name)?;
    let req = IdentityRequest::parse(ctx, true)?;
    let location = req.location.as_deref().unwrap_or_default();
    let existing = w.store.get(rid);
    resource::check_location_unchanged(existing.as_ref(), location, parent)?;
    let kept = Kept::of(existing.as_ref(), rid, name, w);
    let tenant_id =
        crate::providers::common::arm::tenant_of(w, &parent.subscription).unwrap_or_else(|| w.config.tenant_id.clone());
    let isolation = req
        .isolation_scope
        .or(kept.isolation_scope)
        .unwrap_or_else(|| "None".to_string());
    let doc = identities::save(
        w,
        identities::Identity {
            id: &kept.id,
            name: &kept.name,
            location,
            tenant_id: &tenant_id,
            client_id: &kept.client_id,
            principal_id: &kept.principal_id,
            isolation_scope: &isolation,
            tags: req.tags.unwrap_or(json!({})),
            system_data: Some(resource::system_data(w, ctx, existing.as_ref().map(|r| &r.body))),
        },
    );
    Ok(Response::json(if existing.is_some() { 200 } else { 201 }, doc))
}

fn patch(w: &Tx, ctx: &Ctx, rid: &str, name: &str) -> ArmResult<Response> {
    let req = IdentityRequest::parse(ctx, false)?;
    let existing = resource::get_or_404(w, ctx, rid, KIND, name)?;
    let system_data = resource::system_data(w, ctx, Some(&existing.body));
    let updated = w
        .store
        .update(rid, |r| {
            if let Some(t) = req.tags {
                r.body["tags"] = t;
            }
            if let Some(s) = req.isolation_scope {
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
    Ok(Response::ok(resource::page_in_scope(w, ctx, KIND)?))
}
