//! Planning a cluster PUT: from the parsed request and what the world holds, everything the
//! write will do — versions, the control-plane and kubelet identities, the pools — with every
//! rule checked. Planning only reads; [`super::clusters`] applies a plan.

use super::model::{IdentityType, PoolMode};
use super::nodes::KubeletIdentity;
use super::pools::{self, PoolContext};
use super::request::{user_assigned_keys, ClusterRequest};
use super::rules::{self, KubeletAfterUpdate};
use super::{clusters, versions};
use crate::arm::id;
use crate::arm::{ArmError, ArmResult};
use crate::entra::{Principal, PrincipalKind};
use crate::providers::common::resource;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Map, Value};

/// The control-plane identity a request asks for, resolved against azemu's identities.
pub(crate) struct ControlPlane {
    /// The ARM `identity` block to store (`Null` for a service-principal cluster).
    pub(crate) identity: Value,
    /// The principal that acts for the control plane (`None` for service-principal clusters).
    pub(crate) principal_id: Option<String>,
    pub(crate) kind: IdentityType,
    /// A system-assigned principal the write adds to the directory.
    pub(crate) new_principal: Option<Principal>,
}

/// One pool of the request, normalized.
pub(crate) struct PlannedPool {
    pub(crate) name: String,
    /// The pool as it is today (`None`: the write creates it).
    pub(crate) old: Option<Record>,
    pub(crate) props: Value,
    pub(crate) family: &'static str,
}

/// Who the request's cluster is: its id, name, tenant and location.
pub(crate) struct Target<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) tenant: &'a str,
    pub(crate) location: &'a str,
}

pub(crate) fn resolve_control_plane(
    w: &Tx,
    req: &ClusterRequest,
    kind: IdentityType,
    existing: Option<&Record>,
    t: &Target,
) -> ArmResult<ControlPlane> {
    match kind {
        IdentityType::UserAssigned => user_assigned_control_plane(w, req, existing),
        IdentityType::SystemAssigned => Ok(system_assigned_control_plane(w, existing, t)),
        IdentityType::ServicePrincipal => Ok(ControlPlane {
            identity: Value::Null,
            principal_id: None,
            kind,
            new_principal: None,
        }),
    }
}

/// The user-assigned identity the request names (or, naming no type, the one the cluster has).
fn user_assigned_control_plane(w: &Tx, req: &ClusterRequest, existing: Option<&Record>) -> ArmResult<ControlPlane> {
    let keys = match (&req.identity, existing) {
        (Some(i), _) => i.user_assigned.clone(),
        (None, Some(old)) => user_assigned_keys(&old.body["identity"]),
        (None, None) => Vec::new(),
    };
    rules::exactly_one_user_assigned_control_plane_identity(&keys)?;
    let uid = keys.first().cloned().unwrap_or_default();
    let body = rules::user_assigned_identity_must_exist(&uid, w.store.get(&uid).as_ref(), "control plane")?;
    let p = &body["properties"];
    let stored_id = body["id"].as_str().unwrap_or(&uid).to_string();
    Ok(ControlPlane {
        identity: json!({ "type": IdentityType::UserAssigned.arm_name(), "userAssignedIdentities": { stored_id: { "clientId": p["clientId"], "principalId": p["principalId"] } } }),
        principal_id: p["principalId"].as_str().map(str::to_string),
        kind: IdentityType::UserAssigned,
        new_principal: None,
    })
}

/// The cluster's system-assigned identity: the one it has, else a new principal.
fn system_assigned_control_plane(w: &Tx, existing: Option<&Record>, t: &Target) -> ControlPlane {
    let principal = existing
        .filter(|r| IdentityType::of_cluster(&r.body) == IdentityType::SystemAssigned)
        .and_then(|r| r.body["identity"]["principalId"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| w.ids.guid());
    let new_principal = w.directory.get(&principal).is_none().then(|| Principal {
        object_id: principal.clone(),
        app_id: w.ids.guid(),
        display_name: t.name.to_string(),
        kind: PrincipalKind::ManagedIdentity,
        tenant_id: t.tenant.to_string(),
        alternative_names: vec!["isExplicit=False".to_string(), t.id.to_string()],
        created: w.now(),
    });
    ControlPlane {
        identity: json!({ "type": IdentityType::SystemAssigned.arm_name(), "principalId": principal, "tenantId": t.tenant }),
        principal_id: Some(principal),
        kind: IdentityType::SystemAssigned,
        new_principal,
    }
}

/// The pre-created kubelet identity named in a request, checked against every documented rule.
pub(crate) fn custom_kubelet(
    w: &Tx,
    req: &ClusterRequest,
    cp: &ControlPlane,
    location: &str,
) -> ArmResult<Option<KubeletIdentity>> {
    let Some(k) = &req.kubelet else { return Ok(None) };
    let rid = k.resource_id.as_str();
    rules::custom_kubelet_identity_requires_user_assigned_control_plane(cp.kind)?;
    rules::custom_kubelet_identity_must_be_user_assigned(rid)?;
    rules::custom_kubelet_identity_not_in_china_east_or_north(location)?;
    let body = rules::user_assigned_identity_must_exist(rid, w.store.get(rid).as_ref(), "kubelet")?;
    let p = &body["properties"];
    for (field, given, prop) in [
        ("clientId", &k.client_id, "clientId"),
        ("objectId", &k.object_id, "principalId"),
    ] {
        if let Some(given) = given {
            if !p[prop].as_str().is_some_and(|x| x.eq_ignore_ascii_case(given)) {
                return Err(ArmError::bad_request(
                    "CustomKubeletIdentityPropertyError",
                    format!("identityProfile.kubeletidentity.{field} '{given}' does not match the identity '{rid}'."),
                ));
            }
        }
    }
    let stored_id = body["id"].as_str().unwrap_or(rid).to_string();
    if let Some(principal) = &cp.principal_id {
        let allowed = rules::may_assign_identity(w, principal, &stored_id);
        rules::control_plane_can_assign_kubelet_identity(principal, &stored_id, allowed)?;
    }
    Ok(Some(KubeletIdentity {
        kind: super::model::KubeletKind::UserAssigned,
        client_id: p["clientId"].as_str().unwrap_or_default().to_string(),
        object_id: p["principalId"].as_str().unwrap_or_default().to_string(),
        resource_id: Some(stored_id),
    }))
}

/// What a pool inherits from a cluster whose network profile is `np`.
fn pool_context<'a>(version: &'a str, np: &'a Value) -> PoolContext<'a> {
    PoolContext {
        cluster_version: version,
        default_mode: PoolMode::System,
        network_plugin: np["networkPlugin"].as_str().unwrap_or("azure"),
        plugin_mode: np["networkPluginMode"].as_str().unwrap_or(""),
    }
}

// ---- create -------------------------------------------------------------------------------

/// Everything a cluster create writes.
pub(crate) struct CreatePlan {
    pub(crate) version: &'static str,
    pub(crate) pools: Vec<PlannedPool>,
    pub(crate) network: Value,
    pub(crate) cp: ControlPlane,
    pub(crate) custom_kubelet: Option<KubeletIdentity>,
    pub(crate) node_rg: String,
}

pub(crate) fn plan_create(
    w: &Tx,
    parent: &resource::Parent,
    req: &ClusterRequest,
    t: &Target,
) -> ArmResult<CreatePlan> {
    let version = versions::check_version_supported(req.kubernetes_version.as_deref().unwrap_or(""), t.location)?;
    let modes: Vec<PoolMode> = req.pools.iter().map(|p| p.mode.unwrap_or(PoolMode::System)).collect();
    rules::must_define_at_least_one_system_pool(&modes)?;
    let network = network_defaults(&req.body["properties"]["networkProfile"]);
    let pools = plan_new_pools(w, req, &pool_context(version, &network))?;
    let kind = rules::control_plane_identity_type(req.identity_type(), None, &req.service_principal)?;
    let cp = resolve_control_plane(w, req, kind, None, t)?;
    let custom_kubelet = custom_kubelet(w, req, &cp, t.location)?;
    rules::service_principal_cluster_needs_secret(cp.kind, &req.service_principal)?;
    let node_rg = req
        .node_resource_group
        .clone()
        .unwrap_or_else(|| format!("MC_{}_{}_{}", parent.resource_group, t.name, t.location));
    rules::node_resource_group_must_not_exist(
        &parent.subscription,
        &parent.resource_group,
        &node_rg,
        w.store.contains(&id::resource_group_id(&parent.subscription, &node_rg)),
    )?;
    Ok(CreatePlan {
        version,
        pools,
        network,
        cp,
        custom_kubelet,
        node_rg,
    })
}

fn plan_new_pools(w: &Tx, req: &ClusterRequest, pc: &PoolContext) -> ArmResult<Vec<PlannedPool>> {
    let mut planned = Vec::new();
    for (i, p) in req.pools.iter().enumerate() {
        if req.pools[..i].iter().any(|q| q.name == p.name) {
            return Err(ArmError::bad_request(
                "InvalidParameter",
                format!("Agent pool name '{}' is used more than once.", p.name),
            ));
        }
        let (props, family) = pools::normalize(w, &p.name, &p.props, None, pc)?;
        planned.push(PlannedPool {
            name: p.name.clone(),
            old: None,
            props,
            family,
        });
    }
    Ok(planned)
}

/// AKS's network defaults for what the request's `networkProfile` leaves out.
pub(crate) fn network_defaults(requested: &Value) -> Value {
    let mut np = requested.as_object().cloned().unwrap_or_default();
    let plugin = np
        .get("networkPlugin")
        .and_then(Value::as_str)
        .unwrap_or("azure")
        .to_string();
    let overlay = np
        .get("networkPluginMode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("overlay"))
        || (np.get("networkPlugin").is_none() && np.get("podCidr").is_none());
    fn set(np: &mut Map<String, Value>, k: &str, v: Value) {
        if np.get(k).is_none_or(|x| x.is_null() || x == "") {
            np.insert(k.to_string(), v);
        }
    }
    set(&mut np, "networkPlugin", json!(plugin));
    if overlay && plugin == "azure" {
        set(&mut np, "networkPluginMode", json!("overlay"));
    }
    set(&mut np, "networkPolicy", json!("none"));
    set(&mut np, "serviceCidr", json!("10.0.0.0/16"));
    set(&mut np, "dnsServiceIP", json!("10.0.0.10"));
    set(&mut np, "outboundType", json!("loadBalancer"));
    set(&mut np, "loadBalancerSku", json!("standard"));
    if plugin == "kubenet" || overlay {
        set(&mut np, "podCidr", json!("10.244.0.0/16"));
    }
    set(&mut np, "ipFamilies", json!(["IPv4"]));
    let svc = np["serviceCidr"].clone();
    set(&mut np, "serviceCidrs", json!([svc]));
    if let Some(pod) = np.get("podCidr").cloned().filter(|p| !p.is_null()) {
        set(&mut np, "podCidrs", json!([pod]));
    }
    set(
        &mut np,
        "loadBalancerProfile",
        json!({ "managedOutboundIPs": { "count": 1 }, "backendPoolType": "NodeIPConfiguration" }),
    );
    Value::Object(np)
}

// ---- update -------------------------------------------------------------------------------

/// Everything a cluster update writes.
pub(crate) struct UpdatePlan {
    pub(crate) version: &'static str,
    pub(crate) upgrading: bool,
    pub(crate) cp: ControlPlane,
    pub(crate) kubelet: KubeletAfterUpdate,
    pub(crate) pools: Vec<PlannedPool>,
    pub(crate) node_rg_id: String,
}

/// The Kubernetes version after an update, and whether it is an upgrade.
fn plan_version(existing: &Record, req: &ClusterRequest) -> ArmResult<(String, &'static str, bool)> {
    let current = existing.body["properties"]["currentKubernetesVersion"]
        .as_str()
        .unwrap_or(versions::DEFAULT)
        .to_string();
    let version = match &req.kubernetes_version {
        Some(v) => versions::check_version_supported(v, req.location)?,
        None => versions::resolve(&current).unwrap_or(versions::DEFAULT),
    };
    rules::kubernetes_version_never_downgraded(&current, version)?;
    let upgrading = versions::compare(version, &current) == std::cmp::Ordering::Greater;
    Ok((current, version, upgrading))
}

/// The principal the cluster's control plane acts as today.
fn current_principal(existing: &Record) -> Option<String> {
    let identity = &existing.body["identity"];
    identity["principalId"].as_str().map(str::to_string).or_else(|| {
        identity["userAssignedIdentities"]
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(|v| v["principalId"].as_str().map(str::to_string))
    })
}

pub(crate) fn plan_update(
    w: &Tx,
    parent: &resource::Parent,
    existing: &Record,
    req: &ClusterRequest,
    t: &Target,
) -> ArmResult<UpdatePlan> {
    resource::check_location_unchanged(Some(existing), req.location, parent)?;
    let was = IdentityType::of_cluster(&existing.body);
    let kind = rules::control_plane_identity_type(req.identity_type(), Some(was), &req.service_principal)?;
    rules::immutable_properties_unchanged(&existing.body, &req.body)?;
    let (current, version, upgrading) = plan_version(existing, req)?;
    let cp = resolve_control_plane(w, req, kind, Some(existing), t)?;
    let old_kubelet = clusters::kubelet_of(existing);
    // The kubelet identity the cluster already has, echoed back (az and Terraform PUT the GET
    // body back), is no change: the kubelet rules apply to a new one (azure-cli.md §3,
    // terraform-azurerm.md §5).
    let echoed = req.kubelet.as_ref().is_some_and(|k| {
        old_kubelet
            .as_ref()
            .and_then(|o| o.resource_id.as_deref())
            .is_some_and(|current| id::same(&k.resource_id, current))
    });
    let custom = if echoed {
        None
    } else {
        custom_kubelet(w, req, &cp, req.location)?
    };
    let node_rg_id = id::resource_group_id(
        &parent.subscription,
        existing.body["properties"]["nodeResourceGroup"]
            .as_str()
            .unwrap_or_default(),
    );
    let kubelet = rules::kubelet_identity_after_update(custom, old_kubelet, was.is_msi(), cp.kind);
    // A new control-plane identity must be able to assign the kubelet identity it keeps.
    if let (KubeletAfterUpdate::Keep(Some(k)), Some(p)) = (&kubelet, &cp.principal_id) {
        let cp_changed = cp.principal_id != current_principal(existing);
        if let Some(kid) = k
            .resource_id
            .as_ref()
            .filter(|kid| !id::is_at_or_above(&node_rg_id, kid))
        {
            if cp_changed && cp.kind == IdentityType::UserAssigned {
                rules::control_plane_can_assign_kubelet_identity(p, kid, rules::may_assign_identity(w, p, kid))?;
            }
        }
    }
    let pools = plan_pool_updates(w, existing, req, &current, version, upgrading)?;
    Ok(UpdatePlan {
        version,
        upgrading,
        cp,
        kubelet,
        pools,
        node_rg_id,
    })
}

/// The pools named in an update: existing ones are updated, new ones created; a version upgrade
/// carries the pools that follow the control plane along. At least one System pool remains.
fn plan_pool_updates(
    w: &Tx,
    existing: &Record,
    req: &ClusterRequest,
    current: &str,
    version: &'static str,
    upgrading: bool,
) -> ArmResult<Vec<PlannedPool>> {
    let np = &existing.body["properties"]["networkProfile"];
    let pc = pool_context(version, np);
    let current_pools = pools::of_cluster(w, &existing.id);
    let mut planned = Vec::new();
    for p in &req.pools {
        let old = current_pools
            .iter()
            .find(|r| r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(&p.name)));
        let mut props = p.props.clone();
        if upgrading
            && props["orchestratorVersion"]
                .as_str()
                .is_none_or(|v| v.is_empty() || versions::resolve(v) == versions::resolve(current))
        {
            props["orchestratorVersion"] = json!(version);
        }
        let (props, family) = pools::normalize(w, &p.name, &props, old.map(|r| &r.body["properties"]), &pc)?;
        planned.push(PlannedPool {
            name: p.name.clone(),
            old: old.cloned(),
            props,
            family,
        });
    }
    let named = |r: &Record| {
        planned
            .iter()
            .any(|p| r.body["name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(&p.name)))
    };
    let mut modes: Vec<PoolMode> = current_pools
        .iter()
        .filter(|r| !named(r))
        .filter_map(|r| PoolMode::of_pool(&r.body))
        .collect();
    modes.extend(
        planned
            .iter()
            .filter_map(|p| p.props["mode"].as_str().and_then(PoolMode::parse)),
    );
    rules::must_define_at_least_one_system_pool(&modes)?;
    Ok(planned)
}
