//! Agent pools: the `.../agentPools/{name}` sub-resource, kept consistent with the cluster's
//! `agentPoolProfiles` in both directions (a pool is one record; the cluster's profiles are
//! composed from the pools on every read), node image upgrades and pool upgrade profiles.

use super::model::{Method, PoolMode, ProvisioningState};
use super::node_images::Catalog;
use super::nodes::{self, PoolModel};
use super::request::PoolRequest;
use super::rules::KubeletRollout;
use super::{clusters, node_images, rules, versions, NAMESPACE, POOL_KIND};
use crate::arm::lro::Outcome;
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::{lro, resource};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Map, Value};

const SUBNET_KIND: &str = "Microsoft.Network/virtualNetworks/subnets";

/// Pool names: lower-case letters and digits, starting with a letter, at most 12 characters
/// (6 for Windows). Source: AKS docs "Create node pools" (naming rules).
pub(crate) fn check_pool_name(name: &str, os_type: &str) -> ArmResult<()> {
    let max = if os_type.eq_ignore_ascii_case("Windows") { 6 } else { 12 };
    let ok = !name.is_empty()
        && name.chars().count() <= max
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase());
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "InvalidParameter",
            format!("The value of parameter agentPoolProfile.name is invalid. '{name}' must start with a lowercase letter, contain only lowercase letters and numbers, and be at most {max} characters long."),
        )
        .with_target("agentPoolProfile.name"))
    }
}

/// What a pool inherits from its cluster.
pub(crate) struct PoolContext<'a> {
    pub(crate) cluster_version: &'a str,
    pub(crate) default_mode: PoolMode,
    pub(crate) network_plugin: &'a str,
    pub(crate) plugin_mode: &'a str,
}

fn max_pods_default(c: &PoolContext) -> u64 {
    match (c.network_plugin, c.plugin_mode) {
        ("kubenet", _) => 110,
        ("azure", m) if !m.eq_ignore_ascii_case("overlay") => 30,
        _ => 250,
    }
}

/// A pool setting: the request's value when it gives one (not null, not `""`), else the
/// pool's current one.
struct Pick<'a> {
    props: &'a Value,
    old: &'a Value,
}

impl Pick<'_> {
    fn get(&self, k: &str) -> Value {
        match self.props.get(k) {
            Some(v) if !v.is_null() && v != "" => v.clone(),
            _ => self.old.get(k).cloned().unwrap_or(Value::Null),
        }
    }
}

/// The ARM properties of a pool from a request (`props`), its current state (`old`) and the
/// cluster. Validates what AKS validates. Returns (properties, image family name).
pub(crate) fn normalize(
    w: &Tx,
    name: &str,
    props: &Value,
    old: Option<&Value>,
    c: &PoolContext,
) -> ArmResult<(Value, &'static str)> {
    let old = old.cloned().unwrap_or(Value::Null);
    let pick = Pick { props, old: &old };
    let os_type = pick.get("osType").as_str().unwrap_or("Linux").to_string();
    check_pool_name(name, &os_type)?;
    let os_sku = pick.get("osSKU").as_str().map(str::to_string).unwrap_or_default();
    let family = node_images::family_for(&os_type, &os_sku)?;
    let mode = pick
        .get("mode")
        .as_str()
        .and_then(PoolMode::parse)
        .unwrap_or(c.default_mode);
    let count = pick.get("count").as_u64().unwrap_or(if old.is_null() { 3 } else { 1 });
    let autoscale = pick.get("enableAutoScaling").as_bool().unwrap_or(false);
    check_settings(w, props, &old, mode, count, autoscale)?;
    let (requested_version, current) = pool_version(props, &old, c)?;
    let settings = PoolSettings {
        os_type,
        os_sku: if os_sku.is_empty() {
            if family.os_type == "Windows" {
                "Windows2022"
            } else {
                "Ubuntu"
            }
            .to_string()
        } else {
            os_sku
        },
        mode,
        count,
        autoscale,
        requested_version,
        current,
    };
    Ok((pool_properties(&pick, &settings, c), family.name))
}

/// What AKS refuses in a pool's settings: a System pool without nodes, a changed VM size, a
/// subnet that does not exist.
fn check_settings(w: &Tx, props: &Value, old: &Value, mode: PoolMode, count: u64, autoscale: bool) -> ArmResult<()> {
    if mode == PoolMode::System && count == 0 && !autoscale {
        return Err(
            ArmError::bad_request("InvalidParameter", "A system node pool must have at least one node.")
                .with_target("agentPoolProfile.count"),
        );
    }
    if let (Some(old_size), Some(new_size)) = (old["vmSize"].as_str(), props["vmSize"].as_str()) {
        if !new_size.is_empty() && !old_size.eq_ignore_ascii_case(new_size) {
            return Err(ArmError::bad_request(
                "PropertyChangeNotAllowed",
                "Changing property 'vmSize' is not allowed.",
            )
            .with_target("vmSize"));
        }
    }
    if let Some(subnet) = props["vnetSubnetID"].as_str().filter(|s| !s.is_empty()) {
        let exists = w
            .store
            .with(subnet, |r| r.kind.eq_ignore_ascii_case(SUBNET_KIND))
            .unwrap_or(false);
        rules::vnet_subnet_must_exist(subnet, exists)?;
    }
    Ok(())
}

/// The pool's requested and resolved Kubernetes versions, checked against the control plane
/// and the pool's current version.
fn pool_version(props: &Value, old: &Value, c: &PoolContext) -> ArmResult<(Option<String>, &'static str)> {
    let requested = props["orchestratorVersion"].as_str().filter(|v| !v.is_empty());
    let current = match requested {
        Some(v) => versions::check_version_supported(v, "")?,
        None => old["currentOrchestratorVersion"]
            .as_str()
            .and_then(versions::resolve)
            .unwrap_or_else(|| versions::resolve(c.cluster_version).unwrap_or(versions::DEFAULT)),
    };
    if let Some(cp) = versions::resolve(c.cluster_version) {
        rules::pool_version_not_above_control_plane(current, cp)?;
    }
    if let Some(before) = old["currentOrchestratorVersion"].as_str() {
        rules::kubernetes_version_never_downgraded(before, current)?;
    }
    Ok((requested.map(str::to_string), current))
}

/// The settings [`normalize`] decided.
struct PoolSettings {
    os_type: String,
    os_sku: String,
    mode: PoolMode,
    count: u64,
    autoscale: bool,
    requested_version: Option<String>,
    current: &'static str,
}

/// The pool's properties: the request's, with AKS's defaults for what neither the request nor
/// the pool's current state gives.
fn pool_properties(pick: &Pick, s: &PoolSettings, c: &PoolContext) -> Value {
    let mut out: Map<String, Value> = pick.props.as_object().cloned().unwrap_or_default();
    // Read-only fields clients echo from a GET (`agentPoolProfiles[]` carries the pool's `eTag`).
    for k in ["name", "eTag", "provisioningState"] {
        out.remove(k);
    }
    let old = pick.old;
    let defaults = json!({
        "count": s.count,
        "vmSize": pick.get("vmSize").as_str().filter(|s| !s.is_empty()).unwrap_or("Standard_D8ds_v5"),
        "osDiskSizeGB": pick.get("osDiskSizeGB").as_u64().filter(|n| *n > 0).unwrap_or(128),
        "osDiskType": pick.get("osDiskType").as_str().unwrap_or("Managed"),
        "kubeletDiskType": pick.get("kubeletDiskType").as_str().unwrap_or("OS"),
        "maxPods": pick.get("maxPods").as_u64().filter(|n| *n > 0).unwrap_or(max_pods_default(c)),
        "type": pick.get("type").as_str().unwrap_or("VirtualMachineScaleSets"),
        "enableAutoScaling": s.autoscale,
        "scaleDownMode": pick.get("scaleDownMode").as_str().unwrap_or("Delete"),
        "orchestratorVersion": s.requested_version.clone().or_else(|| old["orchestratorVersion"].as_str().map(str::to_string)).unwrap_or_else(|| s.current.to_string()),
        "currentOrchestratorVersion": s.current,
        "enableNodePublicIP": pick.get("enableNodePublicIP").as_bool().unwrap_or(false),
        "mode": s.mode.as_str(),
        "enableEncryptionAtHost": pick.get("enableEncryptionAtHost").as_bool().unwrap_or(false),
        "enableUltraSSD": pick.get("enableUltraSSD").as_bool().unwrap_or(false),
        "osType": s.os_type,
        "osSKU": s.os_sku,
        "upgradeSettings": pick.get("upgradeSettings").as_object().filter(|m| !m.is_empty()).map(|m| Value::Object(m.clone())).unwrap_or(json!({ "maxSurge": "10%" })),
        "enableFIPS": pick.get("enableFIPS").as_bool().unwrap_or(false),
        "powerState": old.get("powerState").cloned().filter(|v| !v.is_null()).unwrap_or(json!({ "code": "Running" })),
        "nodeImageVersion": old["nodeImageVersion"].clone(),
    });
    for (k, v) in defaults.as_object().into_iter().flatten() {
        out.insert(k.clone(), v.clone());
    }
    if out
        .get("upgradeSettings")
        .and_then(|u| u.get("maxSurge"))
        .is_none_or(|m| m.is_null())
    {
        out.insert("upgradeSettings".into(), json!({ "maxSurge": "10%" }));
    }
    Value::Object(out)
}

fn pool_id(cluster_id: &str, name: &str) -> String {
    format!("{cluster_id}/agentPools/{name}")
}

/// Creates a pool record with its nodes (in `Creating`); returns the record id.
pub(crate) fn create(w: &Tx, cluster: &Record, name: &str, mut props: Value, family: &str, corr: &str) -> String {
    let image = node_images::latest(w, family).unwrap_or_default();
    props["nodeImageVersion"] = json!(image);
    props["provisioningState"] = json!(ProvisioningState::Creating.as_str());
    let id = pool_id(&cluster.id, name);
    let count = props["count"].as_u64().unwrap_or(0) as usize;
    let model = PoolModel::new(w, name, count, &image, clusters::kubelet_of(cluster));
    // The 2026-08-01 `AgentPool` carries `eTag` in its properties (a `ProxyResource` has none).
    props["eTag"] = json!(w.ids.guid());
    let body = json!({ "id": id, "name": name, "type": POOL_KIND, "properties": props });
    let mut rec = Record::new(id.clone(), POOL_KIND, body);
    rec.internal = json!({ "model": model });
    w.store.put(rec);
    w.events.record(
        w.now(),
        &id,
        "PoolCreated",
        format!(
            "{count} node(s) on {image}: {}",
            model
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        corr,
    );
    id
}

/// Applies an update to an existing pool (count, settings); scaling adds or removes nodes.
pub(crate) fn update(w: &Tx, pool: &Record, props: Value, corr: &str) {
    let name = pool.body["name"].as_str().unwrap_or_default().to_string();
    let mut model = nodes::model_of(pool);
    let count = props["count"].as_u64().unwrap_or(model.nodes.len() as u64) as usize;
    let (added, removed) = model.scale_to(w, &name, count);
    if !added.is_empty() || !removed.is_empty() {
        w.events.record(
            w.now(),
            &pool.id,
            "PoolScaled",
            format!(
                "scaled to {count}: added [{}], removed [{}]",
                added.join(", "),
                removed.join(", ")
            ),
            corr,
        );
    }
    let image = model.image.clone();
    w.store.update(&pool.id, |r| {
        let state = r.body["properties"]["provisioningState"].clone();
        r.body["properties"] = props;
        r.body["properties"]["provisioningState"] = state;
        r.body["properties"]["nodeImageVersion"] = json!(image);
        r.body["properties"]["eTag"] = json!(w.ids.guid());
    });
    nodes::save(w, &pool.id, &model);
}

/// All pools of a cluster, in creation order.
pub(crate) fn of_cluster(w: &Tx, cluster_id: &str) -> Vec<Record> {
    w.store.children(cluster_id, POOL_KIND)
}

/// Sets `provisioningState` of the cluster's pools.
pub(crate) fn set_state(w: &Tx, cluster_id: &str, state: ProvisioningState) {
    for p in of_cluster(w, cluster_id) {
        super::set_provisioning_state(w, &p.id, state);
    }
}

/// Moves a pool to the newest image of its family with the cluster's kubelet identity, unless it
/// is already there (then nothing changes — aks-rules.md h5). Returns whether it was reimaged.
pub(crate) fn reimage_to_latest(w: &Tx, pool_id: &str, corr: &str) -> bool {
    reimage(w, &Catalog::load(w), pool_id, corr, false)
}

/// A Kubernetes version upgrade replaces every node — surge nodes run the new version, the old
/// ones are drained and deleted (AKS docs "Upgrade an AKS cluster") — on the newest image, with
/// the cluster's current kubelet identity. Returns whether nodes were replaced.
pub(crate) fn replace_all_nodes(w: &Tx, pool_id: &str, corr: &str) -> bool {
    reimage(w, &Catalog::load(w), pool_id, corr, true)
}

fn reimage(w: &Tx, catalog: &Catalog, pool_id: &str, corr: &str, every_node: bool) -> bool {
    let Some(pool) = w.store.get(pool_id) else { return false };
    let Some(cluster) = w.store.get(&clusters::cluster_of(pool_id)) else {
        return false;
    };
    let mut model = nodes::model_of(&pool);
    if node_images::family_of_version(&model.image).is_none() {
        return false;
    }
    // Rule: node images are never downgraded (aks-rules.md h4).
    let latest = match catalog.newer_than(&model.image) {
        Some(newer) => newer.to_string(),
        None if every_node && !model.nodes.is_empty() => model.image.clone(),
        None => return false,
    };
    let name = pool.body["name"].as_str().unwrap_or_default().to_string();
    let surge = nodes::surge_size(
        pool.body["properties"]["upgradeSettings"]["maxSurge"].as_str(),
        model.nodes.len(),
    );
    let identity = clusters::kubelet_of(&cluster);
    let from = model.image.clone();
    let log = model.reimage(w, &name, &latest, identity.clone(), surge);
    w.events.record(
        w.now(),
        pool_id,
        "PoolReimageStarted",
        format!("{from} -> {latest}, {} node(s), maxSurge {surge}", model.nodes.len()),
        corr,
    );
    for line in log {
        w.events.record(w.now(), pool_id, "NodesReplaced", line, corr);
    }
    let who = identity
        .map(|i| format!("{} {}", i.kind, i.client_id))
        .unwrap_or_else(|| "none".into());
    w.events.record(
        w.now(),
        pool_id,
        "PoolReimaged",
        format!("nodes run {latest} with kubelet identity {who}"),
        corr,
    );
    nodes::save(w, pool_id, &model);
    true
}

/// After a kubelet identity change: the pools [`rules::pools_taking_new_kubelet_identity_now`]
/// names are reimaged onto their newer image; the others keep their nodes and the old identity,
/// and are marked pending until a newer image is published and the pool upgraded.
pub(crate) fn roll_kubelet_identity(w: &Tx, cluster_id: &str, corr: &str) {
    let Some(cluster) = w.store.get(cluster_id) else { return };
    let Some(identity) = clusters::kubelet_of(&cluster) else {
        return;
    };
    let models: Vec<(String, PoolModel)> = of_cluster(w, cluster_id)
        .iter()
        .map(|p| (p.id.clone(), nodes::model_of(p)))
        .collect();
    let catalog = Catalog::load(w);
    for (pool_id, rollout) in rules::pools_taking_new_kubelet_identity_now(&models, &identity, &catalog) {
        let reimaged = rollout != KubeletRollout::Pending && reimage(w, &catalog, &pool_id, corr, false);
        if !reimaged {
            mark_pending(w, &pool_id, &identity, corr);
        }
    }
}

/// A pool keeps its nodes (and their kubelet identity) until a newer image comes.
fn mark_pending(w: &Tx, pool_id: &str, identity: &nodes::KubeletIdentity, corr: &str) {
    let Some(pool) = w.store.get(pool_id) else { return };
    let mut model = nodes::model_of(&pool);
    model.pending = Some(nodes::Pending {
        kubelet_identity: identity.clone(),
        since: crate::arm::time::rfc3339(w.now()),
        reason: format!(
            "pending: waiting for a newer node image (the pool already runs the newest, {})",
            model.image
        ),
    });
    nodes::save(w, pool_id, &model);
    w.events.record(
        w.now(),
        pool_id,
        "KubeletIdentityPending",
        format!("pending: waiting for a newer node image; nodes keep kubelet identity {} until the pool is upgraded to a newer image", model.identity.map(|i| i.client_id).unwrap_or_default()),
        corr,
    );
}

fn cluster_record(w: &Tx, ctx: &Ctx) -> ArmResult<Record> {
    let (_, cid) = clusters::ids(w, ctx)?;
    w.store
        .get(&cid)
        .ok_or_else(|| crate::providers::common::resource::not_found(ctx, super::KIND, ctx.name(0)))
}

fn pool_not_found(name: &str) -> ArmError {
    ArmError::not_found("NotFound", format!("Agent pool '{name}' was not found."))
}

/// `GET .../agentPools`.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let cluster = cluster_record(w, ctx)?;
    let items = of_cluster(w, &cluster.id).into_iter().map(|r| r.body).collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

/// `GET/PUT/DELETE .../agentPools/{name}`.
pub(crate) fn handle(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let cluster = cluster_record(w, ctx)?;
    let name = ctx.name(1);
    let pid = pool_id(&cluster.id, name);
    match Method::of(ctx.method())? {
        Method::Get => w
            .store
            .get(&pid)
            .map(|r| Response::ok(r.body))
            .ok_or_else(|| pool_not_found(name)),
        Method::Put => put(w, ctx, &cluster, &pid, name),
        Method::Delete => delete(w, ctx, &cluster, &pid),
        Method::Patch => Err(ArmError::new(
            405,
            "MethodNotAllowed",
            "Agent pools are updated with PUT.",
        )),
    }
}

fn urls<'a>(cluster: &'a Record, sub: &'a str) -> lro::Urls<'a> {
    lro::Urls::Provider {
        subscription: sub,
        namespace: NAMESPACE,
        location: cluster.body["location"].as_str().unwrap_or(""),
    }
}

/// System pools of the cluster other than `pid`.
fn other_system_pools(w: &Tx, cluster_id: &str, pid: &str) -> usize {
    of_cluster(w, cluster_id)
        .iter()
        .filter(|p| !crate::arm::id::same(&p.id, pid) && PoolMode::of_pool(&p.body) == Some(PoolMode::System))
        .count()
}

/// Starts an operation on a pool: its provisioning state becomes `state` and the operation
/// runs with AKS's polling URLs. `effect` gets the outcome, the pool id and the correlation id.
fn begin_pool_op(
    w: &Tx,
    ctx: &Ctx,
    cluster: &Record,
    pid: &str,
    state: ProvisioningState,
    location_header: bool,
    effect: impl for<'a, 'b> FnOnce(&'b Tx<'a>, &'b Outcome, &str, &str) + Send + 'static,
) -> ArmResult<lro::Started> {
    super::set_provisioning_state(w, pid, state);
    let sub = crate::arm::id::segments(&cluster.id)[1].clone();
    let (target, corr) = (pid.to_string(), ctx.correlation_id.to_string());
    lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: pid.to_string(),
            activity: state.as_str(),
            urls: urls(cluster, &sub),
            location_header,
            fail: None,
            effect: crate::world::tx::effect(move |w, outcome| effect(w, outcome, &target, &corr)),
        },
    )
}

fn put(w: &Tx, ctx: &Ctx, cluster: &Record, pid: &str, name: &str) -> ArmResult<Response> {
    let req = PoolRequest::parse_put(ctx, name)?;
    let existing = w.store.get(pid);
    // `If-Match` / `If-None-Match` are defined for AgentPools_CreateOrUpdate (2026-08-01).
    resource::check_preconditions(
        ctx,
        existing.as_ref().and_then(|r| r.body["properties"]["eTag"].as_str()),
    )?;
    lro::ensure_idle(w, &cluster.id)?;
    let np = &cluster.body["properties"]["networkProfile"];
    let pc = PoolContext {
        cluster_version: cluster.body["properties"]["currentKubernetesVersion"]
            .as_str()
            .unwrap_or(versions::DEFAULT),
        default_mode: PoolMode::User,
        network_plugin: np["networkPlugin"].as_str().unwrap_or("azure"),
        plugin_mode: np["networkPluginMode"].as_str().unwrap_or(""),
    };
    let (props, family) = normalize(
        w,
        &req.name,
        &req.props,
        existing.as_ref().map(|r| &r.body["properties"]),
        &pc,
    )?;
    let this_system = props["mode"].as_str().and_then(PoolMode::parse) == Some(PoolMode::System);
    rules::keep_one_system_pool(other_system_pools(w, &cluster.id, pid) + usize::from(this_system))?;
    let (status, state, version_up) = match &existing {
        None => {
            create(w, cluster, name, props, family, ctx.correlation_id);
            (201, ProvisioningState::Creating, false)
        }
        Some(old) => {
            let up = old.body["properties"]["currentOrchestratorVersion"] != props["currentOrchestratorVersion"];
            update(w, old, props, ctx.correlation_id);
            let state = if up {
                ProvisioningState::Upgrading
            } else {
                ProvisioningState::Updating
            };
            (200, state, up)
        }
    };
    let started = begin_pool_op(w, ctx, cluster, pid, state, false, move |w, outcome, target, corr| {
        if *outcome == Outcome::Succeeded && version_up {
            replace_all_nodes(w, target, corr);
        }
        super::mark_ended(w, target, state, outcome, corr);
    })?;
    let rec = w.store.get(pid).ok_or_else(|| ArmError::internal("pool vanished"))?;
    Ok(started.apply(Response::json(status, rec.body)))
}

fn delete(w: &Tx, ctx: &Ctx, cluster: &Record, pid: &str) -> ArmResult<Response> {
    let existing = w.store.get(pid);
    // `If-Match` is defined for AgentPools_Delete (2026-08-01).
    resource::check_preconditions(
        ctx,
        existing.as_ref().and_then(|r| r.body["properties"]["eTag"].as_str()),
    )?;
    let Some(pool) = existing else {
        return Ok(Response::empty(204));
    };
    lro::ensure_idle(w, &cluster.id)?;
    if PoolMode::of_pool(&pool.body) == Some(PoolMode::System) {
        rules::keep_one_system_pool(other_system_pools(w, &cluster.id, pid))?;
    }
    let started = begin_pool_op(
        w,
        ctx,
        cluster,
        pid,
        ProvisioningState::Deleting,
        true,
        |w, outcome, target, corr| {
            if *outcome == Outcome::Succeeded {
                w.store.remove(target);
                w.events
                    .record(w.now(), target, "PoolDeleted", "agent pool and its nodes deleted", corr);
            } else {
                super::set_provisioning_state(w, target, ProvisioningState::ended(outcome));
            }
        },
    )?;
    Ok(started.apply(Response::empty(202)))
}

/// `POST .../agentPools/{name}/upgradeNodeImageVersion`: 202, `UpgradingNodeImageVersion`,
/// then the pool runs the newest image (and the cluster's current kubelet identity).
pub(crate) fn upgrade_node_image(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let cluster = cluster_record(w, ctx)?;
    let name = ctx.name(1);
    let pid = pool_id(&cluster.id, name);
    let pool = w.store.get(&pid).ok_or_else(|| pool_not_found(name))?;
    rules::node_image_upgrade_needs_scale_sets(pool.body["properties"]["type"].as_str().unwrap_or(""))?;
    lro::ensure_idle(w, &cluster.id)?;
    w.events.record(
        w.now(),
        &pid,
        "OperationStarted",
        "UpgradingNodeImageVersion",
        ctx.correlation_id,
    );
    let activity = ProvisioningState::UpgradingNodeImageVersion;
    let started = begin_pool_op(
        w,
        ctx,
        &cluster,
        &pid,
        activity,
        false,
        move |w, outcome, target, corr| {
            if *outcome == Outcome::Succeeded && !reimage_to_latest(w, target, corr) {
                w.events.record(
                    w.now(),
                    target,
                    "NodeImageCurrent",
                    "already on the newest node image; nothing to do",
                    corr,
                );
            }
            super::mark_ended(w, target, activity, outcome, corr);
        },
    )?;
    let rec = w.store.get(&pid).ok_or_else(|| ArmError::internal("pool vanished"))?;
    Ok(started.apply(Response::json(202, rec.body)))
}

/// `GET .../agentPools/{name}/upgradeProfiles/default`.
pub(crate) fn upgrade_profile(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let cluster = cluster_record(w, ctx)?;
    let name = ctx.name(1);
    let pid = pool_id(&cluster.id, name);
    let pool = w.store.get(&pid).ok_or_else(|| pool_not_found(name))?;
    let p = &pool.body["properties"];
    let current = p["currentOrchestratorVersion"].as_str().unwrap_or(versions::DEFAULT);
    let model = nodes::model_of(&pool);
    let latest = node_images::family_of_version(&model.image)
        .and_then(|f| node_images::latest(w, f.name))
        .unwrap_or(model.image.clone());
    Ok(Response::ok(json!({
        "id": format!("{pid}/upgradeProfiles/default"),
        "name": "default",
        "type": "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles",
        "properties": {
            "kubernetesVersion": current,
            "osType": p["osType"],
            "upgrades": versions::upgrades_from(current).iter().map(|v| json!({ "kubernetesVersion": v })).collect::<Vec<_>>(),
            "latestNodeImageVersion": latest,
        },
    })))
}

/// `POST .../agentPools/{name}/abort`.
pub(crate) fn abort(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let cluster = cluster_record(w, ctx)?;
    let pid = pool_id(&cluster.id, ctx.name(1));
    if !w.store.contains(&pid) {
        return Err(pool_not_found(ctx.name(1)));
    }
    let ended = w.ops.finish_for(w, &pid, w.now(), Outcome::Canceled);
    w.events.record(
        w.now(),
        &pid,
        "OperationAborted",
        format!("{} operation(s) canceled", ended.len()),
        ctx.correlation_id,
    );
    Ok(Response::empty(204))
}
