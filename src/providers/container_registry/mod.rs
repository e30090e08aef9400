//! `Microsoft.ContainerRegistry/registries`, as far as the AKS flows need: create, read,
//! list, delete, name availability, and a `loginServer` — so `--attach-acr` has a scope to
//! grant AcrPull on and the image pull check has a registry to resolve.

use crate::arm::id;
use crate::arm::{ArmError, ArmResult, Response};
use crate::providers::common::arm::ACR_SUFFIX;
use crate::providers::common::{resource, schema};
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::{Ctx, Route};
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

mod replications;

pub(crate) const NAMESPACE: &str = "Microsoft.ContainerRegistry";
pub(crate) const KIND: &str = "Microsoft.ContainerRegistry/registries";

const REGISTRY_VERSIONS: &[&str] = &[
    "2026-09-01-preview",
    "2025-11-01",
    "2025-04-01",
    "2023-11-01-preview",
    "2023-07-01",
    "2023-01-01-preview",
    "2022-12-01",
    "2021-09-01",
    "2019-05-01",
];

/// Everything azemu knows of this provider: its one registration.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: NAMESPACE,
    types: &[
        TypeInfo {
            name: "registries",
            api_versions: REGISTRY_VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "registries/replications",
            api_versions: REGISTRY_VERSIONS,
            global: false,
        },
    ],
    routes: ROUTES,
    schemas: &[(
        "registry",
        include_str!("../../../api-specs/Microsoft.ContainerRegistry/registry.json"),
    )],
    seed: None,
    on_removed: None,
    validate_move: None,
};

#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    Route { namespace: "microsoft.containerregistry", pattern: &["registries"], methods: &["GET"], action: KIND, handler: list },
    Route { namespace: "microsoft.containerregistry", pattern: &["registries", "*"], methods: &["GET", "PUT", "PATCH", "DELETE"], action: KIND, handler: handle },
    Route { namespace: "microsoft.containerregistry", pattern: &["registries", "*", "replications"], methods: &["GET"], action: "Microsoft.ContainerRegistry/registries/replications", handler: replications::list },
    Route { namespace: "microsoft.containerregistry", pattern: &["checknameavailability"], methods: &["POST"], action: "Microsoft.ContainerRegistry/checkNameAvailability", handler: check_name_availability },
];

/// Registry names: 5–50 alphanumeric characters.
/// Source: Azure naming rules for Microsoft.ContainerRegistry/registries.
pub(crate) fn check_registry_name(name: &str) -> ArmResult<()> {
    let len = name.chars().count();
    if (5..=50).contains(&len) && name.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidParameter",
            format!("Registry name '{name}' is invalid: it may contain only alpha numeric characters and must be between 5 and 50 characters."),
        )
        .with_target("registryName"))
    }
}

/// A registry with this name anywhere in azemu (names are global, like DNS names).
fn taken(w: &Tx, name: &str) -> Option<Record> {
    w.store
        .of_kind(KIND)
        .into_iter()
        .find(|r| r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(name)))
}

/// Rule: registry names are globally unique: another resource group or subscription using it → 400 `AlreadyInUse`.
pub(crate) fn check_name_free(w: &Tx, name: &str, own_id: &str) -> ArmResult<()> {
    match taken(w, name) {
        Some(r) if !id::same(&r.id, own_id) => Err(ArmError::bad_request(
            "AlreadyInUse",
            format!("The registry DNS name {}.{ACR_SUFFIX} is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability", name.to_ascii_lowercase()),
        )),
        _ => Ok(()),
    }
}

fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let parent = resource::parent_group(w, ctx)?;
    let name = ctx.name(0);
    let rid = resource::tracked_id(&parent, NAMESPACE, "registries", name);
    match ctx.method() {
        "GET" => resource::get_response_or_404(w, ctx, &rid, KIND, name),
        "PUT" => put(w, ctx, &parent, &rid, name),
        "PATCH" => patch(w, ctx, &rid, name),
        _ => Ok(match w.store.remove_tree(&rid).into_iter().last() {
            Some(rec) => Response::ok(rec.body),
            None => Response::empty(204),
        }),
    }
}

/// The policies a registry answers with: Azure's defaults (the `RegistryGet` example of
/// Microsoft.ContainerRegistry 2025-11-01, which also shows `roleAssignmentMode` and
/// `networkRuleBypassAllowedForTasks`), each replaced by the one the request sends.
fn policies(sent: &Value) -> Value {
    let mut out = json!({
        "quarantinePolicy": { "status": "disabled" },
        "trustPolicy": { "type": "Notary", "status": "disabled" },
        "retentionPolicy": { "days": 7, "status": "disabled" },
        "exportPolicy": { "status": "enabled" },
        "azureADAuthenticationAsArmPolicy": { "status": "enabled" },
    });
    for (k, v) in sent.as_object().into_iter().flatten() {
        if v.is_object() {
            out[k] = v.clone();
        }
    }
    out
}

fn sku(name: &str) -> Value {
    json!({ "name": name, "tier": name })
}

fn put(w: &Tx, ctx: &Ctx, parent: &resource::Parent, rid: &str, name: &str) -> ArmResult<Response> {
    check_registry_name(name)?;
    let body = ctx.req.json_object()?;
    schema::validate("registry", &body)?;
    let location = resource::require_location(&body, KIND)?;
    let tags = resource::tags(&body)?;
    check_name_free(w, name, rid)?;
    let existing = w.store.get(rid);
    resource::check_location_unchanged(existing.as_ref(), location, parent)?;
    let sku_name = body["sku"]["name"].as_str().unwrap_or("Basic");
    let created = existing
        .as_ref()
        .and_then(|r| r.body["properties"]["creationDate"].as_str().map(str::to_string))
        .unwrap_or_else(|| crate::arm::time::rfc3339(w.now()));
    let p = &body["properties"];
    let doc = json!({
        "id": existing.as_ref().map(|r| r.id.clone()).unwrap_or_else(|| rid.to_string()),
        "name": existing.as_ref().and_then(|r| r.body["name"].as_str().map(str::to_string)).unwrap_or_else(|| name.to_string()),
        "type": KIND,
        "location": location,
        "tags": tags.unwrap_or(json!({})),
        "sku": sku(sku_name),
        "systemData": resource::system_data(w, ctx, existing.as_ref().map(|r| &r.body)),
        "properties": {
            "loginServer": format!("{}.{ACR_SUFFIX}", name.to_ascii_lowercase()),
            "creationDate": created,
            "provisioningState": "Succeeded",
            "adminUserEnabled": p["adminUserEnabled"].as_bool().unwrap_or(false),
            "publicNetworkAccess": p["publicNetworkAccess"].as_str().unwrap_or("Enabled"),
            "networkRuleBypassOptions": "AzureServices",
            "zoneRedundancy": "Disabled",
            "anonymousPullEnabled": p["anonymousPullEnabled"].as_bool().unwrap_or(false),
            "dataEndpointEnabled": false,
            "dataEndpointHostNames": [],
            "privateEndpointConnections": [],
            "encryption": { "status": "disabled" },
            "networkRuleBypassAllowedForTasks": false,
            "roleAssignmentMode": p["roleAssignmentMode"].as_str().unwrap_or("LegacyRegistryPermissions"),
            "policies": policies(&p["policies"]),
        },
    });
    let status = if existing.is_some() { 200 } else { 201 };
    w.store.put(Record::new(
        doc["id"].as_str().unwrap_or(rid).to_string(),
        KIND,
        doc.clone(),
    ));
    Ok(Response::json(status, doc))
}

fn patch(w: &Tx, ctx: &Ctx, rid: &str, name: &str) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    let tags = resource::tags(&body)?;
    resource::get_or_404(w, ctx, rid, KIND, name)?;
    let updated = w
        .store
        .update(rid, |r| {
            if body.get("tags").is_some() {
                r.body["tags"] = tags.clone().unwrap_or(json!({}));
            }
            if let Some(s) = body["sku"]["name"].as_str() {
                r.body["sku"] = sku(s);
            }
            if let Some(b) = body["properties"]["adminUserEnabled"].as_bool() {
                r.body["properties"]["adminUserEnabled"] = json!(b);
            }
            if let Some(b) = body["properties"]["anonymousPullEnabled"].as_bool() {
                r.body["properties"]["anonymousPullEnabled"] = json!(b);
            }
        })
        .ok_or_else(|| resource::not_found(ctx, KIND, name))?;
    Ok(Response::ok(updated.body))
}

fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    Ok(Response::ok(resource::page_in_scope(w, ctx, KIND)?))
}

/// `POST /subscriptions/{s}/providers/Microsoft.ContainerRegistry/checkNameAvailability`.
fn check_name_availability(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    let name = body["name"].as_str().unwrap_or_default();
    if check_registry_name(name).is_err() {
        return Ok(Response::ok(json!({
            "nameAvailable": false,
            "reason": "Invalid",
            "message": "The specified resource name is invalid: it may contain only alpha numeric characters and must be between 5 and 50 characters.",
        })));
    }
    Ok(Response::ok(match taken(w, name) {
        Some(_) => {
            json!({ "nameAvailable": false, "reason": "AlreadyExists", "message": format!("The registry {name} is already in use.") })
        }
        None => json!({ "nameAvailable": true }),
    }))
}
