//! `Microsoft.Network/virtualNetworks` and their subnets, as far as the AKS flows need: a
//! subnet id that `--vnet-subnet-id` can point at and role assignments can be scoped to.
//!
//! Subnets are stored as their own records (so they exist as scopes) and are composed into
//! the virtual network's `properties.subnets` on every read; a PUT of the virtual network
//! replaces its subnets, as in Azure.

mod cidr;

use crate::arm::id;
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::{resource, schema};
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::{Ctx, Route};
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const NAMESPACE: &str = "Microsoft.Network";
pub(crate) const VNET_KIND: &str = "Microsoft.Network/virtualNetworks";
pub(crate) const SUBNET_KIND: &str = "Microsoft.Network/virtualNetworks/subnets";

const VERSIONS: &[&str] = &[
    "2026-03-01",
    "2025-05-01",
    "2024-10-01",
    "2024-07-01",
    "2024-05-01",
    "2024-03-01",
    "2024-01-01",
    "2023-11-01",
    "2023-09-01",
    "2023-05-01",
    "2022-07-01",
    "2021-08-01",
    "2020-11-01",
];

/// Everything azemu knows of this provider: its one registration.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: NAMESPACE,
    types: &[
        TypeInfo {
            name: "virtualNetworks",
            api_versions: VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "virtualNetworks/subnets",
            api_versions: VERSIONS,
            global: false,
        },
    ],
    routes: ROUTES,
    schemas: &[
        (
            "virtualNetwork",
            include_str!("../../../api-specs/Microsoft.Network/virtualNetwork.json"),
        ),
        (
            "subnet",
            include_str!("../../../api-specs/Microsoft.Network/subnet.json"),
        ),
    ],
    seed: None,
    on_removed: None,
    validate_move: None,
};

#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    Route { namespace: "microsoft.network", pattern: &["virtualnetworks"], methods: &["GET"], action: VNET_KIND, handler: list_vnets },
    Route { namespace: "microsoft.network", pattern: &["virtualnetworks", "*"], methods: &["GET", "PUT", "PATCH", "DELETE"], action: VNET_KIND, handler: vnet },
    Route { namespace: "microsoft.network", pattern: &["virtualnetworks", "*", "subnets"], methods: &["GET"], action: SUBNET_KIND, handler: list_subnets },
    Route { namespace: "microsoft.network", pattern: &["virtualnetworks", "*", "subnets", "*"], methods: &["GET", "PUT", "DELETE"], action: SUBNET_KIND, handler: subnet },
];

fn etag(w: &Tx) -> String {
    format!("W/\"{}\"", w.ids.guid())
}

/// The virtual network body with its current subnets.
fn compose(w: &Tx, vnet: &Record) -> Value {
    let mut body = vnet.body.clone();
    let subnets: Vec<Value> = w
        .store
        .children(&vnet.id, SUBNET_KIND)
        .into_iter()
        .map(|r| r.body)
        .collect();
    body["properties"]["subnets"] = json!(subnets);
    body
}

fn vnet(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let parent = resource::parent_group(w, ctx)?;
    let name = ctx.name(0);
    let rid = resource::tracked_id(&parent, NAMESPACE, "virtualNetworks", name);
    match ctx.method() {
        "GET" => Ok(Response::ok(compose(
            w,
            &resource::get_or_404(w, ctx, &rid, VNET_KIND, name)?,
        ))),
        "PUT" => put_vnet(w, ctx, &parent, &rid, name),
        "PATCH" => {
            let body = ctx.req.json_object()?;
            let tags = resource::tags(&body)?;
            resource::get_or_404(w, ctx, &rid, VNET_KIND, name)?;
            let rec = w
                .store
                .update(&rid, |r| r.body["tags"] = tags.clone().unwrap_or(json!({})))
                .ok_or_else(|| resource::not_found(ctx, VNET_KIND, name))?;
            Ok(Response::ok(compose(w, &rec)))
        }
        _ => Ok(match w.store.remove_tree(&rid).into_iter().last() {
            Some(rec) => Response::ok(rec.body),
            None => Response::empty(204),
        }),
    }
}

fn prefixes(body: &Value) -> Vec<String> {
    body["properties"]["addressSpace"]["addressPrefixes"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

fn put_vnet(w: &Tx, ctx: &Ctx, parent: &resource::Parent, rid: &str, name: &str) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    schema::validate("virtualNetwork", &body)?;
    let location = resource::require_location(&body, VNET_KIND)?;
    let tags = resource::tags(&body)?;
    let space = prefixes(&body);
    for p in &space {
        cidr::parse(p).ok_or_else(|| invalid_prefix(p))?;
    }
    let existing = w.store.get(rid);
    resource::check_location_unchanged(existing.as_ref(), location, parent)?;
    let stored_id = existing
        .as_ref()
        .map(|r| r.id.clone())
        .unwrap_or_else(|| rid.to_string());
    // Check every subnet before writing anything.
    let wanted: Vec<(String, Value)> = body["properties"]["subnets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| (s["name"].as_str().unwrap_or_default().to_string(), s.clone()))
        .collect();
    for (sname, s) in &wanted {
        if sname.is_empty() {
            return Err(
                ArmError::bad_request("InvalidRequestFormat", "Every subnet needs a name.")
                    .with_target("properties.subnets"),
            );
        }
        check_subnet_prefix(&space, s, sname)?;
    }
    let guid = existing
        .as_ref()
        .and_then(|r| r.body["properties"]["resourceGuid"].as_str().map(str::to_string))
        .unwrap_or_else(|| w.ids.guid());
    let doc = json!({
        "id": stored_id,
        "name": existing.as_ref().and_then(|r| r.body["name"].as_str().map(str::to_string)).unwrap_or_else(|| name.to_string()),
        "type": VNET_KIND,
        "location": location,
        "tags": tags.unwrap_or(json!({})),
        "etag": etag(w),
        "properties": {
            "provisioningState": "Succeeded",
            "resourceGuid": guid,
            "addressSpace": { "addressPrefixes": space },
            "subnets": [],
            "virtualNetworkPeerings": [],
            "enableDdosProtection": body["properties"]["enableDdosProtection"].as_bool().unwrap_or(false),
        },
    });
    for old in w.store.children(&stored_id, SUBNET_KIND) {
        if !wanted
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(old.body["name"].as_str().unwrap_or("")))
        {
            w.store.remove_tree(&old.id);
        }
    }
    let status = if existing.is_some() { 200 } else { 201 };
    w.store.put(Record::new(stored_id.clone(), VNET_KIND, doc));
    for (sname, s) in &wanted {
        store_subnet(w, &stored_id, sname, s);
    }
    let rec = w
        .store
        .get(&stored_id)
        .ok_or_else(|| ArmError::internal("virtual network vanished"))?;
    Ok(Response::json(status, compose(w, &rec)))
}

fn invalid_prefix(p: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidAddressPrefixFormat",
        format!("Address prefix {p} does not have a valid format."),
    )
}

/// Rule: a subnet's prefix must parse and lie inside the virtual network's address space.
/// Source: Azure Network error `NetcfgSubnetRangeOutsideVnet`.
fn check_subnet_prefix(space: &[String], subnet: &Value, name: &str) -> ArmResult<()> {
    let given = cidr::subnet_prefixes(subnet);
    if given.is_empty() {
        return Err(ArmError::bad_request(
            "InvalidRequestFormat",
            format!("Subnet '{name}' needs properties.addressPrefix."),
        )
        .with_target("properties.addressPrefix"));
    }
    for prefix in given {
        let net = cidr::parse(prefix).ok_or_else(|| invalid_prefix(prefix))?;
        if !space
            .iter()
            .filter_map(|s| cidr::parse(s))
            .any(|outer| cidr::contains(outer, net))
        {
            return Err(ArmError::bad_request(
                "NetcfgSubnetRangeOutsideVnet",
                format!("Subnet '{name}' is not valid because its IP address range is outside the IP address range of virtual network."),
            ));
        }
    }
    Ok(())
}

fn store_subnet(w: &Tx, vnet_id: &str, name: &str, s: &Value) -> Value {
    let sid = format!("{vnet_id}/subnets/{name}");
    let existing = w.store.get(&sid);
    let stored_id = existing.as_ref().map(|r| r.id.clone()).unwrap_or(sid);
    let p = &s["properties"];
    let doc = json!({
        "id": stored_id,
        "name": existing.as_ref().and_then(|r| r.body["name"].as_str().map(str::to_string)).unwrap_or_else(|| name.to_string()),
        "type": SUBNET_KIND,
        "etag": etag(w),
        "properties": {
            "provisioningState": "Succeeded",
            "addressPrefix": p["addressPrefix"],
            "serviceEndpoints": p.get("serviceEndpoints").cloned().unwrap_or(json!([])),
            "delegations": p.get("delegations").cloned().unwrap_or(json!([])),
            "privateEndpointNetworkPolicies": p["privateEndpointNetworkPolicies"].as_str().unwrap_or("Disabled"),
            "privateLinkServiceNetworkPolicies": p["privateLinkServiceNetworkPolicies"].as_str().unwrap_or("Enabled"),
        },
    });
    let mut doc = doc;
    if let Some(list) = p["addressPrefixes"].as_array().filter(|a| !a.is_empty()) {
        doc["properties"]["addressPrefixes"] = json!(list);
        if p["addressPrefix"].is_null() {
            if let Some(props) = doc["properties"].as_object_mut() {
                props.remove("addressPrefix");
            }
        }
    }
    let mut rec = Record::new(stored_id, SUBNET_KIND, doc.clone());
    if let Some(old) = existing {
        rec.internal = old.internal;
    }
    w.store.put(rec);
    doc
}

fn vnet_of(w: &Tx, ctx: &Ctx) -> ArmResult<Record> {
    let parent = resource::parent_group(w, ctx)?;
    let rid = resource::tracked_id(&parent, NAMESPACE, "virtualNetworks", ctx.name(0));
    resource::get_or_404(w, ctx, &rid, VNET_KIND, ctx.name(0))
}

fn subnet(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let vnet = vnet_of(w, ctx)?;
    let name = ctx.name(1);
    let sid = format!("{}/subnets/{name}", vnet.id);
    match ctx.method() {
        "GET" => w.store.get(&sid).map(|r| Response::ok(r.body)).ok_or_else(|| {
            ArmError::not_found("NotFound", format!("Resource '{name}' with type 'Microsoft.Network/virtualNetworks/subnets' under virtual network '{}' was not found.", ctx.name(0)))
        }),
        "PUT" => {
            let body = ctx.req.json_object()?;
            schema::validate("subnet", &body)?;
            check_subnet_prefix(&prefixes(&vnet.body), &body, name)?;
            let status = if w.store.contains(&sid) { 200 } else { 201 };
            Ok(Response::json(status, store_subnet(w, &vnet.id, name, &body)))
        }
        _ => Ok(match w.store.remove_tree(&sid).into_iter().last() {
            Some(rec) => Response::ok(rec.body),
            None => Response::empty(204),
        }),
    }
}

fn list_vnets(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let scope = ctx.scope.to_string();
    let parts = id::ScopeParts::parse(&scope);
    if !(parts.is_subscription() || parts.is_resource_group()) {
        return Err(ArmError::bad_request(
            "InvalidResourceId",
            "Virtual networks are listed per subscription or resource group.",
        ));
    }
    let items: Vec<Value> = w
        .store
        .list(|r| r.kind == VNET_KIND && id::is_at_or_above(&scope, &r.id))
        .iter()
        .map(|r| compose(w, r))
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

fn list_subnets(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let vnet = vnet_of(w, ctx)?;
    let items = w
        .store
        .children(&vnet.id, SUBNET_KIND)
        .into_iter()
        .map(|r| r.body)
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}
