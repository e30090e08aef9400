//! Managed clusters: create, read, update, delete and list, with AKS's server-side defaults,
//! the identity modes (system-assigned, user-assigned, legacy service principal), the
//! kubelet identity, and the documented rules in [`super::rules`].
//!
//! A PUT is parsed into a [`ClusterRequest`], planned by [`super::plan`] (every rule checked,
//! nothing written), then applied here through the transaction.

use super::model::{IdentityType, KubeletKind, Method, ProvisioningState};
use super::nodes::KubeletIdentity;
use super::plan::{self, ControlPlane, CreatePlan, PlannedPool, Target, UpdatePlan};
use super::pools;
use super::request::ClusterRequest;
use super::rules::KubeletAfterUpdate;
use super::{kubeconfig, KIND, NAMESPACE};
use crate::arm::id;
use crate::arm::lro::Outcome;
use crate::arm::{ArmError, ArmResult, Response};
use crate::providers::common::{arm, identities, lro, resource, schema};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Map, Value};

/// Read-only properties clients echo back; the server's values win.
const READ_ONLY: &[&str] = &[
    "provisioningState",
    "powerState",
    "maxAgentPools",
    "currentKubernetesVersion",
    "fqdn",
    "privateFQDN",
    "azurePortalFQDN",
    "resourceUID",
    "agentPoolProfiles",
    "identityProfile",
    "servicePrincipalProfile",
];

/// Cluster names: 1–63 letters, digits, `-` and `_`, starting and ending alphanumeric.
/// Source: Azure naming rules for Microsoft.ContainerService/managedClusters.
pub(crate) fn check_cluster_name(name: &str) -> ArmResult<()> {
    let ok = (1..=63).contains(&name.len())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidParameter",
            format!("The value of parameter name is invalid: '{name}'. Cluster names must be 1-63 characters of letters, numbers, '-' and '_', starting and ending with a letter or number."),
        )
        .with_target("name"))
    }
}

/// The parent group and the canonical cluster id of the request.
pub(crate) fn ids(w: &Tx, ctx: &Ctx) -> ArmResult<(resource::Parent, String)> {
    let parent = resource::parent_group(w, ctx)?;
    let rid = resource::tracked_id(&parent, NAMESPACE, "managedClusters", ctx.name(0));
    Ok((parent, rid))
}

/// The cluster id of a pool id (or any id below a cluster).
pub(crate) fn cluster_of(child_id: &str) -> String {
    let segs = id::segments(child_id);
    format!("/{}", segs[..segs.len().min(8)].join("/"))
}

/// The kubelet identity the cluster currently names.
pub(crate) fn kubelet_of(rec: &Record) -> Option<KubeletIdentity> {
    serde_json::from_value(rec.internal["kubelet"].clone()).ok()
}

/// Whether a stored cluster uses a managed identity (else a service principal).
pub(crate) fn is_msi(body: &Value) -> bool {
    IdentityType::of_cluster(body).is_msi()
}

/// The GET shape: the stored body with `agentPoolProfiles` composed from the pools.
pub(crate) fn compose(w: &Tx, rec: &Record) -> Value {
    let mut body = rec.body.clone();
    let profiles: Vec<Value> = pools::of_cluster(w, &rec.id)
        .into_iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("name".into(), p.body["name"].clone());
            if let Some(props) = p.body["properties"].as_object() {
                for (k, v) in props {
                    m.insert(k.clone(), v.clone());
                }
            }
            Value::Object(m)
        })
        .collect();
    body["properties"]["agentPoolProfiles"] = json!(profiles);
    body
}

pub(crate) fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let (parent, rid) = ids(w, ctx)?;
    let name = ctx.name(0);
    match Method::of(ctx.method())? {
        Method::Get => Ok(Response::ok(compose(
            w,
            &resource::get_or_404(w, ctx, &rid, KIND, name)?,
        ))),
        Method::Put => put(w, ctx, &parent, &rid, name),
        Method::Patch => patch(w, ctx, &rid, name),
        Method::Delete => delete(w, ctx, &rid),
    }
}

pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let scope = ctx.scope.to_string();
    let parts = id::ScopeParts::parse(&scope);
    if !(parts.is_subscription() || parts.is_resource_group()) {
        return Err(ArmError::bad_request(
            "InvalidResourceId",
            "Managed clusters are listed per subscription or resource group.",
        ));
    }
    let page = resource::page_below(w, ctx, &scope, Some(KIND), |_| true, |r| compose(w, &r))?;
    Ok(Response::ok(page))
}

// ---- identities a write creates ------------------------------------------------------------

/// AKS's own kubelet identity, `{cluster}-agentpool` in the node resource group (made when
/// it is not there yet).
fn managed_kubelet(w: &Tx, node_rg_id: &str, cluster: &str, location: &str, tenant: &str) -> KubeletIdentity {
    let name = format!("{cluster}-agentpool");
    let rid = format!("{node_rg_id}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}");
    let body = match w.store.get(&rid) {
        Some(r) => r.body,
        None => identities::save(
            w,
            identities::Identity {
                id: &rid,
                name: &name,
                location,
                tenant_id: tenant,
                client_id: &w.ids.guid(),
                principal_id: &w.ids.guid(),
                isolation_scope: "None",
                tags: json!({}),
                system_data: None,
            },
        ),
    };
    KubeletIdentity {
        kind: KubeletKind::UserAssigned,
        client_id: body["properties"]["clientId"].as_str().unwrap_or_default().to_string(),
        object_id: body["properties"]["principalId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        resource_id: Some(rid),
    }
}

fn sp_kubelet(w: &Tx, tenant: &str, client_id: &str) -> KubeletIdentity {
    let p = crate::entra::principals::client_principal(w, tenant, client_id);
    KubeletIdentity {
        kind: KubeletKind::ServicePrincipal,
        client_id: client_id.to_string(),
        object_id: p.object_id,
        resource_id: None,
    }
}

fn identity_profile(k: &KubeletIdentity) -> Value {
    json!({ "kubeletidentity": { "resourceId": k.resource_id, "clientId": k.client_id, "objectId": k.object_id } })
}

/// Adds a new system-assigned principal the plan made.
fn apply_control_plane(w: &Tx, cp: &ControlPlane) {
    if let Some(p) = &cp.new_principal {
        w.directory.upsert(p.clone());
    }
}

fn tenant_of(w: &Tx, parent: &resource::Parent) -> String {
    crate::providers::common::arm::tenant_of(w, &parent.subscription).unwrap_or_else(|| w.config.tenant_id.clone())
}

fn urls<'a>(sub: &'a str, location: &'a str) -> lro::Urls<'a> {
    lro::Urls::Provider {
        subscription: sub,
        namespace: NAMESPACE,
        location,
    }
}

/// `PUT`: parse, plan (every rule checked, nothing written), apply.
fn put(w: &Tx, ctx: &Ctx, parent: &resource::Parent, rid: &str, name: &str) -> ArmResult<Response> {
    check_cluster_name(name)?;
    let req = ClusterRequest::parse(ctx)?;
    let existing = w.store.get(rid);
    resource::check_preconditions(ctx, existing.as_ref().and_then(|r| r.body["eTag"].as_str()))?;
    let tenant = tenant_of(w, parent);
    let target = Target {
        id: rid,
        name,
        tenant: &tenant,
        location: req.location,
    };
    match existing {
        None => {
            let plan = plan::plan_create(w, parent, &req, &target)?;
            apply_create(w, ctx, parent, &req, &target, plan)
        }
        Some(existing) => {
            lro::ensure_idle(w, rid)?;
            let plan = plan::plan_update(w, parent, &existing, &req, &target)?;
            apply_update(w, ctx, existing, &req, &target, plan)
        }
    }
}

/// Request properties minus read-only ones.
fn writable_properties(body: &Value) -> Map<String, Value> {
    let mut props = body["properties"].as_object().cloned().unwrap_or_default();
    for k in READ_ONLY {
        props.remove(*k);
    }
    if let Some(wp) = props.get_mut("windowsProfile").and_then(Value::as_object_mut) {
        wp.remove("adminPassword");
    }
    props
}

// ---- create -------------------------------------------------------------------------------

/// The DNS prefix AKS picks when the request names none: `{name}-{group}-{subscription}`, each
/// part shortened.
fn default_dns_prefix(name: &str, resource_group: &str, subscription: &str) -> String {
    let short = |s: &str, n: usize| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
            .take(n)
            .collect::<String>()
    };
    format!(
        "{}-{}-{}",
        short(name, 10),
        short(resource_group, 16),
        subscription.get(..6).unwrap_or(subscription)
    )
}

/// The properties of a new cluster: the request's writable ones with AKS's server-side defaults.
fn new_cluster_properties(
    w: &Tx,
    req: &ClusterRequest,
    plan: &CreatePlan,
    parent: &resource::Parent,
    t: &Target,
    kubelet: Option<&KubeletIdentity>,
) -> Map<String, Value> {
    let location = t.location;
    let dns_prefix = req
        .dns_prefix
        .clone()
        .unwrap_or_else(|| default_dns_prefix(t.name, &parent.resource_group, &parent.subscription));
    let suffix = w.ids.hex(8);
    let mut props = writable_properties(&req.body);
    let defaults = json!({
        "provisioningState": ProvisioningState::Creating.as_str(),
        "powerState": { "code": "Running" },
        "kubernetesVersion": req.kubernetes_version.as_deref().unwrap_or(plan.version),
        "currentKubernetesVersion": plan.version,
        "dnsPrefix": dns_prefix,
        "fqdn": format!("{dns_prefix}-{suffix}.hcp.{location}.azmk8s.io"),
        "azurePortalFQDN": format!("{dns_prefix}-{suffix}.portal.hcp.{location}.azmk8s.io"),
        "nodeResourceGroup": plan.node_rg,
        "enableRBAC": props.get("enableRBAC").and_then(Value::as_bool).unwrap_or(true),
        "supportPlan": props.get("supportPlan").and_then(Value::as_str).unwrap_or("KubernetesOfficial"),
        "maxAgentPools": 100,
        "disableLocalAccounts": props.get("disableLocalAccounts").and_then(Value::as_bool).unwrap_or(false),
        "networkProfile": plan.network,
        "resourceUID": w.ids.hex(24),
        "oidcIssuerProfile": props.get("oidcIssuerProfile").cloned().filter(|v| v.is_object()).unwrap_or(json!({ "enabled": false })),
        "autoUpgradeProfile": props.get("autoUpgradeProfile").cloned().filter(|v| v.is_object()).unwrap_or(json!({ "upgradeChannel": "none", "nodeOSUpgradeChannel": "NodeImage" })),
        "storageProfile": json!({ "diskCSIDriver": { "enabled": true }, "fileCSIDriver": { "enabled": true }, "snapshotController": { "enabled": true } }),
        "securityProfile": props.get("securityProfile").cloned().filter(|v| v.is_object()).unwrap_or(json!({})),
        "servicePrincipalProfile": if plan.cp.kind.is_msi() { json!({ "clientId": "msi" }) } else { json!({ "clientId": req.service_principal.client_id }) },
        "nodeProvisioningProfile": super::defaults::node_provisioning_profile(props.get("nodeProvisioningProfile")),
    });
    for (k, v) in defaults.as_object().into_iter().flatten() {
        props.insert(k.clone(), v.clone());
    }
    if let Some(sp_obj) = props.get_mut("storageProfile").and_then(Value::as_object_mut) {
        for (k, v) in req.body["properties"]["storageProfile"]
            .as_object()
            .into_iter()
            .flatten()
        {
            sp_obj.insert(k.clone(), v.clone());
        }
    }
    if let Some(wi) = props
        .get_mut("securityProfile")
        .and_then(|s| s.get_mut("workloadIdentity"))
        .and_then(Value::as_object_mut)
    {
        wi.entry("enabled").or_insert(json!(false));
    }
    if let (true, Some(k)) = (plan.cp.kind.is_msi(), kubelet) {
        props.insert("identityProfile".into(), identity_profile(k));
    }
    props
}

fn apply_create(
    w: &Tx,
    ctx: &Ctx,
    parent: &resource::Parent,
    req: &ClusterRequest,
    t: &Target,
    plan: CreatePlan,
) -> ArmResult<Response> {
    apply_control_plane(w, &plan.cp);
    let node_rg_id = arm::create_managed_group(w, &parent.subscription, &plan.node_rg, t.location, t.id, None);
    let kubelet = match (&plan.custom_kubelet, plan.cp.kind) {
        (Some(k), _) => k.clone(),
        (None, IdentityType::ServicePrincipal) => sp_kubelet(
            w,
            t.tenant,
            req.service_principal.client_id.as_deref().unwrap_or_default(),
        ),
        (None, _) => managed_kubelet(w, &node_rg_id, t.name, t.location, t.tenant),
    };
    let props = new_cluster_properties(w, req, &plan, parent, t, Some(&kubelet));
    let mut doc = json!({
        "id": t.id,
        "name": t.name,
        "type": KIND,
        "location": t.location,
        "tags": req.tags.clone().unwrap_or(json!({})),
        "sku": req.sku.clone().unwrap_or(json!({ "name": "Base", "tier": "Free" })),
        "eTag": w.ids.guid(),
        "properties": Value::Object(props),
    });
    if !plan.cp.identity.is_null() {
        doc["identity"] = plan.cp.identity.clone();
    }
    let mut rec = Record::new(t.id, KIND, doc);
    rec.internal = json!({
        "kubelet": Some(&kubelet),
        "pki": kubeconfig::new_cluster_pki(w, t.name),
        "spSecret": req.body["properties"]["servicePrincipalProfile"]["secret"],
        "userToken": w.ids.hex(32) + &w.ids.hex(32),
        "adminToken": w.ids.hex(32) + &w.ids.hex(32),
    });
    w.store.put(rec.clone());
    w.events.record(
        w.now(),
        t.id,
        "OperationStarted",
        format!(
            "Creating cluster {} (Kubernetes {}) in {}",
            t.name, plan.version, t.location
        ),
        ctx.correlation_id,
    );
    for p in plan.pools {
        pools::create(w, &rec, &p.name, p.props, p.family, ctx.correlation_id);
    }
    finish_with_lro(w, ctx, t.id, t.location, ProvisioningState::Creating, 201, false)
}

/// Starts the cluster operation; on success the cluster and its pools end `Succeeded`, and with
/// `roll` the kubelet identity change is rolled out to the pools.
fn finish_with_lro(
    w: &Tx,
    ctx: &Ctx,
    rid: &str,
    location: &str,
    state: ProvisioningState,
    status: u16,
    roll: bool,
) -> ArmResult<Response> {
    let sub = id::segments(rid)[1].clone();
    let target = rid.to_string();
    let corr = ctx.correlation_id.to_string();
    pools::set_state(w, rid, state);
    super::set_provisioning_state(w, rid, state);
    let upgrade_all = state == ProvisioningState::Upgrading;
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: rid.to_string(),
            activity: state.as_str(),
            urls: urls(&sub, location),
            location_header: false,
            fail: None,
            effect: crate::world::tx::effect(move |w, outcome| {
                if *outcome == Outcome::Succeeded {
                    if upgrade_all {
                        for p in pools::of_cluster(w, &target) {
                            pools::replace_all_nodes(w, &p.id, &corr);
                        }
                    }
                    if roll || upgrade_all {
                        pools::roll_kubelet_identity(w, &target, &corr);
                    }
                }
                pools::set_state(w, &target, ProvisioningState::ended(outcome));
                super::mark_ended(w, &target, state, outcome, &corr);
            }),
        },
    )?;
    let rec = w.store.get(rid).ok_or_else(|| ArmError::internal("cluster vanished"))?;
    Ok(started.apply(Response::json(status, compose(w, &rec))))
}

// ---- update -------------------------------------------------------------------------------

/// The kubelet identity an update leaves the cluster with (AKS's own one is made if needed).
fn apply_kubelet(w: &Tx, plan: &UpdatePlan, t: &Target) -> Option<KubeletIdentity> {
    match &plan.kubelet {
        KubeletAfterUpdate::Custom(k) => Some(k.clone()),
        KubeletAfterUpdate::Managed => Some(managed_kubelet(w, &plan.node_rg_id, t.name, t.location, t.tenant)),
        KubeletAfterUpdate::Keep(k) => k.clone(),
    }
}

/// The cluster body after an update.
fn updated_document(
    w: &Tx,
    existing: &Record,
    req: &ClusterRequest,
    plan: &UpdatePlan,
    kubelet: Option<&KubeletIdentity>,
) -> Value {
    let mut props = existing.body["properties"].as_object().cloned().unwrap_or_default();
    props.extend(writable_properties(&req.body));
    let npp = super::defaults::node_provisioning_profile(props.get("nodeProvisioningProfile"));
    props.insert("nodeProvisioningProfile".into(), npp);
    props.insert(
        "kubernetesVersion".into(),
        json!(req.kubernetes_version.as_deref().unwrap_or(plan.version)),
    );
    props.insert("currentKubernetesVersion".into(), json!(plan.version));
    if plan.cp.kind.is_msi() {
        props.insert("servicePrincipalProfile".into(), json!({ "clientId": "msi" }));
        if let Some(k) = kubelet {
            props.insert("identityProfile".into(), identity_profile(k));
        }
    }
    let mut doc = existing.body.clone();
    doc["properties"] = Value::Object(props);
    doc["eTag"] = json!(w.ids.guid());
    if let Some(t) = &req.tags {
        doc["tags"] = t.clone();
    }
    if let Some(s) = &req.sku {
        doc["sku"] = s.clone();
    }
    if plan.cp.identity.is_null() {
        if let Some(m) = doc.as_object_mut() {
            m.remove("identity");
        }
    } else {
        doc["identity"] = plan.cp.identity.clone();
    }
    doc
}

fn apply_update(
    w: &Tx,
    ctx: &Ctx,
    existing: Record,
    req: &ClusterRequest,
    t: &Target,
    plan: UpdatePlan,
) -> ArmResult<Response> {
    apply_control_plane(w, &plan.cp);
    let old_kubelet = kubelet_of(&existing);
    let kubelet = apply_kubelet(w, &plan, t);
    let kubelet_changed = match (&kubelet, &old_kubelet) {
        (Some(a), Some(b)) => !a.same_as(b),
        (a, b) => a.is_some() != b.is_some(),
    };
    let was = IdentityType::of_cluster(&existing.body);
    if plan.cp.kind == IdentityType::UserAssigned && was == IdentityType::SystemAssigned {
        if let Some(old) = existing.body["identity"]["principalId"].as_str() {
            w.directory.remove(old);
        }
    }
    let mut rec = existing.clone();
    rec.body = updated_document(w, &existing, req, &plan, kubelet.as_ref());
    rec.internal["kubelet"] = serde_json::to_value(&kubelet).unwrap_or(Value::Null);
    w.store.put(rec.clone());
    if kubelet_changed {
        let k = kubelet
            .as_ref()
            .map(|k| format!("{} {}", k.kind, k.client_id))
            .unwrap_or_default();
        w.events.record(
            w.now(),
            t.id,
            "KubeletIdentityChanged",
            format!("cluster now names kubelet identity {k}; node pools are upgraded to consume it"),
            ctx.correlation_id,
        );
    }
    apply_pools(w, &rec, plan.pools, ctx.correlation_id);
    let state = if plan.upgrading {
        ProvisioningState::Upgrading
    } else {
        ProvisioningState::Updating
    };
    w.events.record(
        w.now(),
        t.id,
        "OperationStarted",
        format!("{state} cluster {}", t.name),
        ctx.correlation_id,
    );
    finish_with_lro(w, ctx, t.id, t.location, state, 200, kubelet_changed)
}

/// Updates the planned pools that exist and creates the others.
fn apply_pools(w: &Tx, cluster: &Record, planned: Vec<PlannedPool>, corr: &str) {
    for p in planned {
        match p.old {
            Some(o) => pools::update(w, &o, p.props, corr),
            None => {
                pools::create(w, cluster, &p.name, p.props, p.family, corr);
            }
        }
    }
}

// ---- tags, delete -------------------------------------------------------------------------

fn patch(w: &Tx, ctx: &Ctx, rid: &str, name: &str) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    schema::validate("tagsPatch", &body)?;
    let tags = resource::tags(&body)?;
    let rec = resource::get_or_404(w, ctx, rid, KIND, name)?;
    // `If-Match` is defined for UpdateTags (managedClusters.json 2026-08-01).
    resource::check_preconditions(ctx, rec.body["eTag"].as_str())?;
    lro::ensure_idle(w, rid)?;
    w.store.update(rid, |r| {
        r.body["tags"] = tags.clone().unwrap_or(json!({}));
        r.body["eTag"] = json!(w.ids.guid());
    });
    let location = rec.body["location"].as_str().unwrap_or_default().to_string();
    finish_with_lro(w, ctx, rid, &location, ProvisioningState::Updating, 200, false)
}

/// Removes what a cluster brought along: its node resource group (with AKS's kubelet
/// identity) and its system-assigned principal.
pub(crate) fn teardown(w: &Tx, rec: &Record) {
    if let (Some(sub), Some(node_rg)) = (
        id::ScopeParts::parse(&rec.id).subscription,
        rec.body["properties"]["nodeResourceGroup"].as_str(),
    ) {
        let rg_id = id::resource_group_id(&sub, node_rg);
        let managed_by_us = w
            .store
            .get(&rg_id)
            .is_some_and(|g| g.body["managedBy"].as_str().is_some_and(|m| id::same(m, &rec.id)));
        if managed_by_us {
            arm::remove_group_with_contents(w, &rg_id);
        }
    }
    if IdentityType::of_cluster(&rec.body) == IdentityType::SystemAssigned {
        if let Some(p) = rec.body["identity"]["principalId"].as_str() {
            w.directory.remove(p);
        }
    }
}

fn delete(w: &Tx, ctx: &Ctx, rid: &str) -> ArmResult<Response> {
    let existing = w.store.get(rid);
    // `If-Match` is defined for Delete (managedClusters.json 2026-08-01).
    resource::check_preconditions(ctx, existing.as_ref().and_then(|r| r.body["eTag"].as_str()))?;
    let Some(rec) = existing else {
        return Ok(Response::empty(204));
    };
    // A delete ends whatever else runs on the cluster.
    w.ops.finish_for(w, rid, w.now(), Outcome::Canceled);
    let location = rec.body["location"].as_str().unwrap_or_default().to_string();
    let sub = id::segments(rid)[1].clone();
    w.store.update(rid, |r| {
        r.body["properties"]["provisioningState"] = json!(ProvisioningState::Deleting.as_str())
    });
    pools::set_state(w, rid, ProvisioningState::Deleting);
    w.events
        .record(w.now(), rid, "OperationStarted", "Deleting cluster", ctx.correlation_id);
    let target = rid.to_string();
    let corr = ctx.correlation_id.to_string();
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: rid.to_string(),
            activity: ProvisioningState::Deleting.as_str(),
            urls: urls(&sub, &location),
            location_header: true,
            fail: None,
            effect: crate::world::tx::effect(move |w, outcome| {
                if *outcome == Outcome::Succeeded {
                    if let Some(rec) = w.store.get(&target) {
                        teardown(w, &rec);
                    }
                    w.store.remove_tree(&target);
                    w.events
                        .record(w.now(), &target, "OperationEnded", "Deleting: Succeeded", &corr);
                } else {
                    super::set_provisioning_state(w, &target, ProvisioningState::ended(outcome));
                    pools::set_state(w, &target, ProvisioningState::ended(outcome));
                }
            }),
        },
    )?;
    Ok(started.apply(Response::empty(202)))
}
