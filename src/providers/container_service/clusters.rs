//! Managed clusters: create, read, update, delete and list, with AKS's server-side defaults,
//! the identity modes (system-assigned, user-assigned, legacy service principal), the
//! kubelet identity, and the documented rules in [`super::rules`].

use super::nodes::KubeletIdentity;
use super::pools::{self, PoolContext};
use super::{kubeconfig, rules, versions, KIND, NAMESPACE};
use crate::arm::id;
use crate::arm::lro::Outcome;
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::entra::{Principal, PrincipalKind};
use crate::providers::common::{identities, lro, resource, schema};
use crate::providers::resources::groups;
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::World;
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
pub fn check_cluster_name(name: &str) -> ArmResult<()> {
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
pub fn ids(w: &World, ctx: &Ctx) -> ArmResult<(resource::Parent, String)> {
    let parent = resource::parent_group(w, ctx)?;
    let rid = resource::tracked_id(&parent, NAMESPACE, "managedClusters", ctx.name(0));
    Ok((parent, rid))
}

/// The cluster id of a pool id (or any id below a cluster).
pub fn cluster_of(child_id: &str) -> String {
    let segs = id::segments(child_id);
    format!("/{}", segs[..segs.len().min(8)].join("/"))
}

/// The kubelet identity the cluster currently names.
pub fn kubelet_of(rec: &Record) -> Option<KubeletIdentity> {
    serde_json::from_value(rec.internal["kubelet"].clone()).ok()
}

pub fn is_msi(body: &Value) -> bool {
    body["identity"]["type"]
        .as_str()
        .is_some_and(|t| !t.eq_ignore_ascii_case("None"))
}

/// The GET shape: the stored body with `agentPoolProfiles` composed from the pools.
pub fn compose(w: &World, rec: &Record) -> Value {
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
            m.insert("eTag".into(), p.body["eTag"].clone());
            Value::Object(m)
        })
        .collect();
    body["properties"]["agentPoolProfiles"] = json!(profiles);
    body
}

pub fn handle(w: &World, ctx: &Ctx) -> ArmResult<Response> {
    let (parent, rid) = ids(w, ctx)?;
    let name = ctx.name(0);
    match ctx.method() {
        "GET" => Ok(Response::ok(compose(
            w,
            &resource::get_or_404(w, ctx, &rid, KIND, name)?,
        ))),
        "PUT" => put(w, ctx, &parent, &rid, name),
        "PATCH" => patch(w, ctx, &rid, name),
        _ => delete(w, ctx, &rid),
    }
}

pub fn list(w: &World, ctx: &Ctx) -> ArmResult<Response> {
    let scope = ctx.scope.to_string();
    let parts = id::ScopeParts::parse(&scope);
    if !(parts.is_subscription() || parts.is_resource_group()) {
        return Err(ArmError::bad_request(
            "InvalidResourceId",
            "Managed clusters are listed per subscription or resource group.",
        ));
    }
    let items: Vec<Value> = w
        .store
        .list(|r| r.kind == KIND && id::is_at_or_above(&scope, &r.id))
        .iter()
        .map(|r| compose(w, r))
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

/// The control-plane identity a request asks for, resolved against azemu's identities.
struct ControlPlane {
    /// The ARM `identity` block to store.
    identity: Value,
    /// The principal that acts for the control plane (`None` for service-principal clusters).
    principal_id: Option<String>,
    kind: String,
}

fn resolve_control_plane(
    w: &World,
    request: &Value,
    existing: Option<&Record>,
    cluster_id: &str,
    cluster_name: &str,
    tenant: &str,
) -> ArmResult<ControlPlane> {
    let sp_client = request["properties"]["servicePrincipalProfile"]["clientId"]
        .as_str()
        .filter(|c| !c.eq_ignore_ascii_case("msi"));
    let requested = request["identity"]["type"].as_str().map(str::to_string);
    let kind = match (&requested, existing) {
        (Some(t), _) => t.clone(),
        (None, Some(old)) => old.body["identity"]["type"].as_str().unwrap_or("None").to_string(),
        (None, None) if sp_client.is_some() => "None".to_string(),
        (None, None) => "SystemAssigned".to_string(),
    };
    let old_identity = existing.map(|r| r.body["identity"].clone()).unwrap_or(Value::Null);
    match kind.as_str() {
        "UserAssigned" => {
            let map = if requested.is_some() {
                request["identity"]["userAssignedIdentities"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            } else {
                old_identity["userAssignedIdentities"]
                    .as_object()
                    .cloned()
                    .unwrap_or_default()
            };
            rules::exactly_one_user_assigned_control_plane_identity(&map)?;
            let (uid, _) = map
                .iter()
                .next()
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            let body = rules::user_assigned_identity_must_exist(w, &uid, "control plane")?;
            let p = &body["properties"];
            let stored_id = body["id"].as_str().unwrap_or(&uid).to_string();
            Ok(ControlPlane {
                identity: json!({ "type": "UserAssigned", "userAssignedIdentities": { stored_id: { "clientId": p["clientId"], "principalId": p["principalId"] } } }),
                principal_id: p["principalId"].as_str().map(str::to_string),
                kind,
            })
        }
        "SystemAssigned" => {
            let principal = old_identity["principalId"]
                .as_str()
                .filter(|_| old_identity["type"] == "SystemAssigned")
                .map(str::to_string)
                .unwrap_or_else(|| w.ids.guid());
            if w.directory.get(&principal).is_none() {
                w.directory.upsert(Principal {
                    object_id: principal.clone(),
                    app_id: w.ids.guid(),
                    display_name: cluster_name.to_string(),
                    kind: PrincipalKind::ManagedIdentity,
                    tenant_id: tenant.to_string(),
                    alternative_names: vec!["isExplicit=False".to_string(), cluster_id.to_string()],
                    created: w.now(),
                });
            }
            Ok(ControlPlane {
                identity: json!({ "type": "SystemAssigned", "principalId": principal, "tenantId": tenant }),
                principal_id: Some(principal),
                kind,
            })
        }
        "None" => {
            if sp_client.is_none() && existing.is_none_or(|e| is_msi(&e.body)) {
                return Err(ArmError::bad_request(
                    "BadRequest",
                    "A cluster without a managed identity needs servicePrincipalProfile.clientId and servicePrincipalProfile.secret.",
                ));
            }
            Ok(ControlPlane {
                identity: Value::Null,
                principal_id: None,
                kind,
            })
        }
        other => Err(ArmError::bad_request(
            "InvalidParameter",
            format!("The identity type '{other}' is not supported."),
        )
        .with_target("identity.type")),
    }
}

/// The kubelet identity named in a request, checked against every documented rule.
fn custom_kubelet(w: &World, request: &Value, cp: &ControlPlane, location: &str) -> ArmResult<Option<KubeletIdentity>> {
    let k = &request["properties"]["identityProfile"]["kubeletidentity"];
    let Some(rid) = k["resourceId"].as_str().filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    rules::custom_kubelet_identity_requires_user_assigned_control_plane(&cp.kind)?;
    rules::custom_kubelet_identity_must_be_user_assigned(rid)?;
    rules::custom_kubelet_identity_not_in_china_east_or_north(location)?;
    let body = rules::user_assigned_identity_must_exist(w, rid, "kubelet")?;
    let p = &body["properties"];
    for (field, prop) in [("clientId", "clientId"), ("objectId", "principalId")] {
        if let Some(given) = k[field].as_str().filter(|s| !s.is_empty()) {
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
        rules::control_plane_can_assign_kubelet_identity(w, principal, &stored_id)?;
    }
    Ok(Some(KubeletIdentity {
        kind: "UserAssigned".into(),
        client_id: p["clientId"].as_str().unwrap_or_default().to_string(),
        object_id: p["principalId"].as_str().unwrap_or_default().to_string(),
        resource_id: Some(stored_id),
    }))
}

/// AKS's own kubelet identity, `{cluster}-agentpool` in the node resource group.
fn managed_kubelet(w: &World, node_rg_id: &str, cluster: &str, location: &str, tenant: &str) -> KubeletIdentity {
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
        kind: "UserAssigned".into(),
        client_id: body["properties"]["clientId"].as_str().unwrap_or_default().to_string(),
        object_id: body["properties"]["principalId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        resource_id: Some(rid),
    }
}

fn sp_kubelet(w: &World, tenant: &str, client_id: &str) -> KubeletIdentity {
    let p = crate::entra::oidc::client_principal(w, tenant, client_id);
    KubeletIdentity {
        kind: "ServicePrincipal".into(),
        client_id: client_id.to_string(),
        object_id: p.object_id,
        resource_id: None,
    }
}

fn identity_profile(k: &KubeletIdentity) -> Value {
    json!({ "kubeletidentity": { "resourceId": k.resource_id, "clientId": k.client_id, "objectId": k.object_id } })
}

fn network_defaults(requested: &Value) -> Value {
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

fn tenant_of(w: &World, parent: &resource::Parent) -> String {
    crate::providers::resources::subscriptions::tenant_of(w, &parent.subscription)
        .unwrap_or_else(|| w.config.tenant_id.clone())
}

fn urls<'a>(sub: &'a str, location: &'a str) -> lro::Urls<'a> {
    lro::Urls::Provider {
        subscription: sub,
        namespace: NAMESPACE,
        location,
    }
}

fn put(w: &World, ctx: &Ctx, parent: &resource::Parent, rid: &str, name: &str) -> ArmResult<Response> {
    check_cluster_name(name)?;
    let body = ctx.req.json_object()?;
    schema::validate("managedCluster", &body)?;
    let location = resource::require_location(&body, KIND)?;
    let existing = w.store.get(rid);
    resource::check_preconditions(ctx, existing.as_ref().and_then(|r| r.body["eTag"].as_str()))?;
    match existing {
        None => create(w, ctx, parent, rid, name, &body, location),
        Some(existing) => update(w, ctx, parent, existing, &body, location),
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

fn create(
    w: &World,
    ctx: &Ctx,
    parent: &resource::Parent,
    rid: &str,
    name: &str,
    body: &Value,
    location: &str,
) -> ArmResult<Response> {
    let tenant = tenant_of(w, parent);
    let tags = resource::tags(body)?;
    // Everything is checked before anything is written.
    let version =
        versions::check_version_supported(body["properties"]["kubernetesVersion"].as_str().unwrap_or(""), location)?;
    let profiles: Vec<Value> = body["properties"]["agentPoolProfiles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let modes: Vec<String> = profiles
        .iter()
        .map(|p| p["mode"].as_str().unwrap_or("System").to_string())
        .collect();
    rules::must_define_at_least_one_system_pool(&modes)?;
    let np = network_defaults(&body["properties"]["networkProfile"]);
    let pc = PoolContext {
        cluster_version: version,
        default_mode: "System",
        network_plugin: np["networkPlugin"].as_str().unwrap_or("azure"),
        plugin_mode: np["networkPluginMode"].as_str().unwrap_or(""),
    };
    let mut normalized = Vec::new();
    for (i, p) in profiles.iter().enumerate() {
        let pname = p["name"].as_str().unwrap_or_default();
        if profiles[..i].iter().any(|q| q["name"].as_str() == Some(pname)) {
            return Err(ArmError::bad_request(
                "InvalidParameter",
                format!("Agent pool name '{pname}' is used more than once."),
            ));
        }
        normalized.push((pname.to_string(), pools::normalize(w, pname, p, None, &pc)?));
    }
    let cp = resolve_control_plane(w, body, None, rid, name, &tenant)?;
    let custom = custom_kubelet(w, body, &cp, location)?;
    let sp = &body["properties"]["servicePrincipalProfile"];
    if cp.kind == "None" && sp["secret"].as_str().is_none_or(str::is_empty) {
        return Err(ArmError::bad_request(
            "BadRequest",
            "servicePrincipalProfile.secret is required for a cluster that uses a service principal.",
        )
        .with_target("servicePrincipalProfile.secret"));
    }

    let node_rg = body["properties"]["nodeResourceGroup"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("MC_{}_{name}_{location}", parent.resource_group));
    let node_rg_id = groups::create_managed(w, &parent.subscription, &node_rg, location, rid, None);
    let kubelet = match (&custom, cp.kind.as_str()) {
        (Some(k), _) => Some(k.clone()),
        (None, "None") => Some(sp_kubelet(w, &tenant, sp["clientId"].as_str().unwrap_or_default())),
        (None, _) => Some(managed_kubelet(w, &node_rg_id, name, location, &tenant)),
    };

    let dns_prefix = body["properties"]["dnsPrefix"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let short = |s: &str, n: usize| {
                s.chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(n)
                    .collect::<String>()
            };
            format!(
                "{}-{}-{}",
                short(name, 10),
                short(&parent.resource_group, 16),
                &parent.subscription[..6]
            )
        });
    let suffix = w.ids.hex(8);
    let mut props = writable_properties(body);
    let requested_version = body["properties"]["kubernetesVersion"]
        .as_str()
        .filter(|v| !v.is_empty())
        .unwrap_or(version);
    let defaults = json!({
        "provisioningState": "Creating",
        "powerState": { "code": "Running" },
        "kubernetesVersion": requested_version,
        "currentKubernetesVersion": version,
        "dnsPrefix": dns_prefix,
        "fqdn": format!("{dns_prefix}-{suffix}.hcp.{location}.azmk8s.io"),
        "azurePortalFQDN": format!("{dns_prefix}-{suffix}.portal.hcp.{location}.azmk8s.io"),
        "nodeResourceGroup": node_rg,
        "enableRBAC": props.get("enableRBAC").and_then(Value::as_bool).unwrap_or(true),
        "supportPlan": props.get("supportPlan").and_then(Value::as_str).unwrap_or("KubernetesOfficial"),
        "maxAgentPools": 100,
        "disableLocalAccounts": props.get("disableLocalAccounts").and_then(Value::as_bool).unwrap_or(false),
        "networkProfile": np,
        "resourceUID": w.ids.hex(24),
        "oidcIssuerProfile": props.get("oidcIssuerProfile").cloned().filter(|v| v.is_object()).unwrap_or(json!({ "enabled": false })),
        "autoUpgradeProfile": props.get("autoUpgradeProfile").cloned().filter(|v| v.is_object()).unwrap_or(json!({ "upgradeChannel": "none", "nodeOSUpgradeChannel": "NodeImage" })),
        "storageProfile": json!({ "diskCSIDriver": { "enabled": true }, "fileCSIDriver": { "enabled": true }, "snapshotController": { "enabled": true } }),
        "securityProfile": props.get("securityProfile").cloned().filter(|v| v.is_object()).unwrap_or(json!({})),
        "servicePrincipalProfile": if cp.kind == "None" { json!({ "clientId": sp["clientId"] }) } else { json!({ "clientId": "msi" }) },
        "nodeProvisioningProfile": super::defaults::node_provisioning_profile(props.get("nodeProvisioningProfile")),
    });
    for (k, v) in defaults.as_object().into_iter().flatten() {
        props.insert(k.clone(), v.clone());
    }
    if let Some(sp_obj) = props.get_mut("storageProfile").and_then(Value::as_object_mut) {
        for (k, v) in body["properties"]["storageProfile"].as_object().into_iter().flatten() {
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
    if cp.kind != "None" {
        if let Some(k) = &kubelet {
            props.insert("identityProfile".into(), identity_profile(k));
        }
    }
    let mut doc = json!({
        "id": rid,
        "name": name,
        "type": KIND,
        "location": location,
        "tags": tags.unwrap_or(json!({})),
        "sku": body.get("sku").cloned().filter(|s| s.is_object()).unwrap_or(json!({ "name": "Base", "tier": "Free" })),
        "eTag": w.ids.guid(),
        "properties": Value::Object(props),
    });
    if !cp.identity.is_null() {
        doc["identity"] = cp.identity.clone();
    }
    let mut rec = Record::new(rid, KIND, doc);
    rec.internal = json!({
        "kubelet": kubelet,
        "pki": kubeconfig::new_cluster_pki(w, name),
        "spSecret": sp["secret"],
        "userToken": w.ids.hex(32) + &w.ids.hex(32),
        "adminToken": w.ids.hex(32) + &w.ids.hex(32),
    });
    w.store.put(rec.clone());
    w.events.record(
        w.now(),
        rid,
        "OperationStarted",
        format!("Creating cluster {name} (Kubernetes {version}) in {location}"),
        ctx.correlation_id,
    );
    for (pname, (pprops, family)) in normalized {
        pools::create(w, &rec, &pname, pprops, family, ctx.correlation_id);
    }
    finish_with_lro(w, ctx, rid, location, "Creating", 201, false)
}

/// Starts the cluster operation; on success the cluster and its pools end `Succeeded`, and with
/// `roll` the kubelet identity change is rolled out to the pools.
fn finish_with_lro(
    w: &World,
    ctx: &Ctx,
    rid: &str,
    location: &str,
    activity: &'static str,
    status: u16,
    roll: bool,
) -> ArmResult<Response> {
    let sub = id::segments(rid)[1].clone();
    let target = rid.to_string();
    let corr = ctx.correlation_id.to_string();
    pools::set_state(w, rid, activity);
    w.store
        .update(rid, |r| r.body["properties"]["provisioningState"] = json!(activity));
    let upgrade_all = activity == "Upgrading";
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: rid.to_string(),
            activity,
            urls: urls(&sub, location),
            location_header: false,
            fail: None,
            effect: Box::new(move |w: &World, outcome: &Outcome| {
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
                pools::set_state(w, &target, outcome.status());
                super::mark_ended(w, &target, activity, outcome, &corr);
            }),
        },
    )?;
    let rec = w.store.get(rid).ok_or_else(|| ArmError::internal("cluster vanished"))?;
    Ok(started.apply(Response::json(status, compose(w, &rec))))
}

fn update(
    w: &World,
    ctx: &Ctx,
    parent: &resource::Parent,
    existing: Record,
    body: &Value,
    location: &str,
) -> ArmResult<Response> {
    let rid = existing.id.clone();
    let name = existing.body["name"].as_str().unwrap_or_default().to_string();
    lro::ensure_idle(w, &rid)?;
    resource::check_location_unchanged(Some(&existing), location, parent)?;
    let was_msi = is_msi(&existing.body);
    rules::msi_cluster_cannot_return_to_service_principal(was_msi, body)?;
    rules::immutable_properties_unchanged(&existing.body, body)?;
    let tags = resource::tags(body)?;
    let tenant = tenant_of(w, parent);

    // Version.
    let current = existing.body["properties"]["currentKubernetesVersion"]
        .as_str()
        .unwrap_or(versions::DEFAULT)
        .to_string();
    let requested = body["properties"]["kubernetesVersion"]
        .as_str()
        .filter(|v| !v.is_empty());
    let version = match requested {
        Some(v) => versions::check_version_supported(v, location)?,
        None => versions::resolve(&current).unwrap_or(versions::DEFAULT),
    };
    rules::kubernetes_version_never_downgraded(&current, version)?;
    let upgrading = versions::compare(version, &current) == std::cmp::Ordering::Greater;

    // Identities.
    let cp = resolve_control_plane(w, body, Some(&existing), &rid, &name, &tenant)?;
    let old_kubelet = kubelet_of(&existing);
    // The kubelet identity the cluster already has, echoed back (az and Terraform PUT the GET
    // body back), is no change: the kubelet rules apply to a new one (azure-cli.md §3,
    // terraform-azurerm.md §5).
    let echoed = body["properties"]["identityProfile"]["kubeletidentity"]["resourceId"]
        .as_str()
        .zip(old_kubelet.as_ref().and_then(|k| k.resource_id.as_deref()))
        .is_some_and(|(requested, current)| id::same(requested, current));
    let custom = if echoed {
        None
    } else {
        custom_kubelet(w, body, &cp, location)?
    };
    let cp_changed = cp.principal_id
        != existing.body["identity"]["principalId"]
            .as_str()
            .map(str::to_string)
            .or_else(|| {
                existing.body["identity"]["userAssignedIdentities"]
                    .as_object()
                    .and_then(|m| m.values().next())
                    .and_then(|v| v["principalId"].as_str().map(str::to_string))
            });
    let node_rg_id = id::resource_group_id(
        &parent.subscription,
        existing.body["properties"]["nodeResourceGroup"]
            .as_str()
            .unwrap_or_default(),
    );
    let kubelet = match (&custom, old_kubelet.clone()) {
        (Some(k), _) => Some(k.clone()),
        // SP → MSI migration: AKS gives the kubelet its own identity.
        (None, Some(old)) if !was_msi && cp.kind != "None" && old.kind == "ServicePrincipal" => {
            Some(managed_kubelet(w, &node_rg_id, &name, location, &tenant))
        }
        (None, old) => old,
    };
    // A new control-plane identity must be able to assign the kubelet identity it keeps.
    if custom.is_none() && cp_changed && cp.kind == "UserAssigned" {
        if let (Some(k), Some(p)) = (&kubelet, &cp.principal_id) {
            if let Some(kid) = k
                .resource_id
                .as_ref()
                .filter(|kid| !id::is_at_or_above(&node_rg_id, kid))
            {
                rules::control_plane_can_assign_kubelet_identity(w, p, kid)?;
            }
        }
    }
    let kubelet_changed = match (&kubelet, &old_kubelet) {
        (Some(a), Some(b)) => !a.same_as(b),
        (a, b) => a.is_some() != b.is_some(),
    };

    // Pools named in the request: existing ones are updated, new ones created.
    let profiles: Vec<Value> = body["properties"]["agentPoolProfiles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let np = existing.body["properties"]["networkProfile"].clone();
    let pc = PoolContext {
        cluster_version: version,
        default_mode: "System",
        network_plugin: np["networkPlugin"].as_str().unwrap_or("azure"),
        plugin_mode: np["networkPluginMode"].as_str().unwrap_or(""),
    };
    let current_pools = pools::of_cluster(w, &rid);
    let mut planned = Vec::new();
    for p in &profiles {
        let pname = p["name"].as_str().unwrap_or_default();
        let old = current_pools
            .iter()
            .find(|r| r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(pname)));
        let mut props = p.clone();
        if upgrading
            && props["orchestratorVersion"]
                .as_str()
                .is_none_or(|v| v.is_empty() || versions::resolve(v) == versions::resolve(&current))
        {
            props["orchestratorVersion"] = json!(version);
        }
        let (norm, family) = pools::normalize(w, pname, &props, old.map(|r| &r.body["properties"]), &pc)?;
        planned.push((pname.to_string(), old.cloned(), norm, family));
    }
    let mut modes: Vec<String> = current_pools
        .iter()
        .filter(|r| {
            !planned
                .iter()
                .any(|(n, _, _, _)| r.body["name"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(n)))
        })
        .map(|r| r.body["properties"]["mode"].as_str().unwrap_or("").to_string())
        .collect();
    modes.extend(
        planned
            .iter()
            .map(|(_, _, n, _)| n["mode"].as_str().unwrap_or("").to_string()),
    );
    rules::must_define_at_least_one_system_pool(&modes)?;

    // Everything checked: write.
    let mut props = existing.body["properties"].as_object().cloned().unwrap_or_default();
    for (k, v) in writable_properties(body) {
        props.insert(k, v);
    }
    let npp = super::defaults::node_provisioning_profile(props.get("nodeProvisioningProfile"));
    props.insert("nodeProvisioningProfile".into(), npp);
    props.insert("kubernetesVersion".into(), json!(requested.unwrap_or(version)));
    props.insert("currentKubernetesVersion".into(), json!(version));
    if cp.kind != "None" {
        props.insert("servicePrincipalProfile".into(), json!({ "clientId": "msi" }));
        if let Some(k) = &kubelet {
            props.insert("identityProfile".into(), identity_profile(k));
        }
    }
    if cp.kind == "UserAssigned" && existing.body["identity"]["type"] == "SystemAssigned" {
        if let Some(old) = existing.body["identity"]["principalId"].as_str() {
            w.directory.remove(old);
        }
    }
    let mut doc = existing.body.clone();
    doc["properties"] = Value::Object(props);
    doc["eTag"] = json!(w.ids.guid());
    if let Some(t) = tags {
        doc["tags"] = t;
    }
    if let Some(s) = body.get("sku").filter(|s| s.is_object()) {
        doc["sku"] = s.clone();
    }
    if cp.identity.is_null() {
        if let Some(m) = doc.as_object_mut() {
            m.remove("identity");
        }
    } else {
        doc["identity"] = cp.identity.clone();
    }
    let mut rec = existing.clone();
    rec.body = doc;
    rec.internal["kubelet"] = serde_json::to_value(&kubelet).unwrap_or(Value::Null);
    w.store.put(rec.clone());
    if kubelet_changed {
        let k = kubelet
            .as_ref()
            .map(|k| format!("{} {}", k.kind, k.client_id))
            .unwrap_or_default();
        w.events.record(
            w.now(),
            &rid,
            "KubeletIdentityChanged",
            format!("cluster now names kubelet identity {k}; node pools are upgraded to consume it"),
            ctx.correlation_id,
        );
    }
    for (pname, old, norm, family) in planned {
        match old {
            Some(o) => pools::update(w, &o, norm, ctx.correlation_id),
            None => {
                pools::create(w, &rec, &pname, norm, family, ctx.correlation_id);
            }
        }
    }
    let activity = if upgrading { "Upgrading" } else { "Updating" };
    w.events.record(
        w.now(),
        &rid,
        "OperationStarted",
        format!("{activity} cluster {name}"),
        ctx.correlation_id,
    );
    finish_with_lro(w, ctx, &rid, location, activity, 200, kubelet_changed)
}

fn patch(w: &World, ctx: &Ctx, rid: &str, name: &str) -> ArmResult<Response> {
    let body = ctx.req.json_object()?;
    schema::validate("tagsPatch", &body)?;
    let tags = resource::tags(&body)?;
    let rec = resource::get_or_404(w, ctx, rid, KIND, name)?;
    lro::ensure_idle(w, rid)?;
    w.store.update(rid, |r| {
        r.body["tags"] = tags.clone().unwrap_or(json!({}));
        r.body["eTag"] = json!(w.ids.guid());
    });
    let location = rec.body["location"].as_str().unwrap_or_default().to_string();
    finish_with_lro(w, ctx, rid, &location, "Updating", 200, false)
}

/// Removes what a cluster brought along: its node resource group (with AKS's kubelet
/// identity) and its system-assigned principal.
pub fn teardown(w: &World, rec: &Record) {
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
            groups::remove_with_contents(w, &rg_id);
        }
    }
    if rec.body["identity"]["type"] == "SystemAssigned" {
        if let Some(p) = rec.body["identity"]["principalId"].as_str() {
            w.directory.remove(p);
        }
    }
}

fn delete(w: &World, ctx: &Ctx, rid: &str) -> ArmResult<Response> {
    let Some(rec) = w.store.get(rid) else {
        return Ok(Response::empty(204));
    };
    // A delete ends whatever else runs on the cluster.
    w.ops.finish_for(w, rid, w.now(), Outcome::Canceled);
    let location = rec.body["location"].as_str().unwrap_or_default().to_string();
    let sub = id::segments(rid)[1].clone();
    w.store
        .update(rid, |r| r.body["properties"]["provisioningState"] = json!("Deleting"));
    pools::set_state(w, rid, "Deleting");
    w.events
        .record(w.now(), rid, "OperationStarted", "Deleting cluster", ctx.correlation_id);
    let target = rid.to_string();
    let corr = ctx.correlation_id.to_string();
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: rid.to_string(),
            activity: "Deleting",
            urls: urls(&sub, &location),
            location_header: true,
            fail: None,
            effect: Box::new(move |w: &World, outcome: &Outcome| {
                if *outcome == Outcome::Succeeded {
                    if let Some(rec) = w.store.get(&target) {
                        teardown(w, &rec);
                    }
                    w.store.remove_tree(&target);
                    w.events
                        .record(w.now(), &target, "OperationEnded", "Deleting: Succeeded", &corr);
                } else {
                    super::set_provisioning_state(w, &target, outcome.status());
                    pools::set_state(w, &target, outcome.status());
                }
            }),
        },
    )?;
    Ok(started.apply(Response::empty(202)))
}
