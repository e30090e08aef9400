//! Cluster actions and sub-resources: credentials (kubeconfigs), resetting the service
//! principal, abort, start/stop, upgrade profiles and maintenance configurations.

use super::clusters::{self, ids, is_msi};
use super::model::{Method, ProvisioningState};
use super::request::ServicePrincipalRequest;
use super::{kubeconfig, pools, rules, versions, KIND, NAMESPACE};
use crate::arm::lro::Outcome;
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::{lro, resource, schema};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const MAINTENANCE_KIND: &str = "Microsoft.ContainerService/managedClusters/maintenanceConfigurations";

fn cluster(w: &Tx, ctx: &Ctx) -> ArmResult<Record> {
    let (_, rid) = ids(w, ctx)?;
    resource::get_or_404(w, ctx, &rid, KIND, ctx.name(0))
}

fn credential(w: &Tx, ctx: &Ctx, kind: &str) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    let admin = kind == "clusterAdmin";
    if admin {
        rules::local_accounts_enabled_for_static_credentials(
            rec.body["properties"]["disableLocalAccounts"]
                .as_bool()
                .unwrap_or(false),
        )?;
    }
    let rg = crate::arm::id::ScopeParts::parse(&rec.id)
        .resource_group
        .unwrap_or_default();
    let name = rec.body["name"].as_str().unwrap_or_default();
    let fqdn = rec.body["properties"]["fqdn"].as_str().unwrap_or_default();
    let token = rec.internal[if admin { "adminToken" } else { "userToken" }]
        .as_str()
        .unwrap_or_default();
    let yaml = kubeconfig::document(name, &rg, fqdn, &rec.internal["pki"], kind, token, admin);
    Ok(Response::ok(kubeconfig::answer(kind, &yaml)))
}

/// `POST .../listClusterUserCredential` (Terraform calls it on every read).
pub(crate) fn user_credential(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    credential(w, ctx, "clusterUser")
}

/// `POST .../listClusterAdminCredential`.
pub(crate) fn admin_credential(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    credential(w, ctx, "clusterAdmin")
}

/// `POST .../listClusterMonitoringUserCredential`.
pub(crate) fn monitoring_credential(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    credential(w, ctx, "clusterMonitoringUser")
}

/// `POST .../resetServicePrincipalProfile`: refused on MSI clusters; on service-principal
/// clusters the new credentials reach every node.
pub(crate) fn reset_service_principal(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    rules::reset_service_principal_not_allowed_on_msi_cluster(is_msi(&rec.body))?;
    let sp = ServicePrincipalRequest::parse(&ctx.req.json_object()?);
    let client =
        sp.client_id.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
            ArmError::bad_request("InvalidParameter", "clientId is required.").with_target("clientId")
        })?;
    lro::ensure_idle(w, &rec.id)?;
    let tenant = crate::providers::common::arm::tenant_of(w, &crate::arm::id::segments(&rec.id)[1])
        .unwrap_or_else(|| w.config.tenant_id.clone());
    let principal = crate::entra::principals::client_principal(w, &tenant, client);
    let kubelet = super::nodes::KubeletIdentity {
        kind: super::model::KubeletKind::ServicePrincipal,
        client_id: client.to_string(),
        object_id: principal.object_id,
        resource_id: None,
    };
    w.store.update(&rec.id, |r| {
        r.body["properties"]["servicePrincipalProfile"] = json!({ "clientId": client });
        r.internal["spSecret"] = json!(sp.secret);
        r.internal["kubelet"] = serde_json::to_value(&kubelet).unwrap_or(Value::Null);
    });
    for p in pools::of_cluster(w, &rec.id) {
        let mut model = super::nodes::model_of(&p);
        model.identity = Some(kubelet.clone());
        for n in &mut model.nodes {
            n.kubelet_identity = kubelet.clone();
        }
        super::nodes::save(w, &p.id, &model);
    }
    w.events.record(
        w.now(),
        &rec.id,
        "ServicePrincipalReset",
        format!("nodes now use service principal {client}"),
        ctx.correlation_id,
    );
    simple_lro(w, ctx, &rec, ProvisioningState::Updating, true, None)
}

/// What a simple operation does when it succeeds.
type Then = Box<dyn for<'a, 'b> FnOnce(&'b Tx<'a>) + Send>;

/// Starts a cluster-level operation with no effect beyond its provisioning state.
fn simple_lro(
    w: &Tx,
    ctx: &Ctx,
    rec: &Record,
    state: ProvisioningState,
    location_header: bool,
    then: Option<Then>,
) -> ArmResult<Response> {
    let sub = crate::arm::id::segments(&rec.id)[1].clone();
    let location = rec.body["location"].as_str().unwrap_or_default().to_string();
    let target = rec.id.clone();
    super::set_provisioning_state(w, &target, state);
    let started = lro::begin(
        w,
        ctx,
        lro::Begin {
            resource_id: rec.id.clone(),
            activity: state.as_str(),
            urls: lro::Urls::Provider {
                subscription: &sub,
                namespace: NAMESPACE,
                location: &location,
            },
            location_header,
            fail: None,
            effect: crate::world::tx::effect(move |w, outcome| {
                if *outcome == Outcome::Succeeded {
                    if let Some(f) = then {
                        f(w);
                    }
                }
                super::set_provisioning_state(w, &target, ProvisioningState::ended(outcome));
            }),
        },
    )?;
    Ok(started.apply(Response::empty(202)))
}

/// `POST .../stop` and `.../start`: the cluster's power state.
pub(crate) fn power(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    lro::ensure_idle(w, &rec.id)?;
    let stop = ctx.req.segments.last().is_some_and(|s| s.eq_ignore_ascii_case("stop"));
    let code = if stop { "Stopped" } else { "Running" };
    let state = if stop {
        ProvisioningState::Stopping
    } else {
        ProvisioningState::Starting
    };
    let id = rec.id.clone();
    w.events
        .record(w.now(), &rec.id, "OperationStarted", state.as_str(), ctx.correlation_id);
    simple_lro(
        w,
        ctx,
        &rec,
        state,
        true,
        Some(Box::new(move |w: &Tx| {
            w.store
                .update(&id, |r| r.body["properties"]["powerState"] = json!({ "code": code }));
            for p in pools::of_cluster(w, &id) {
                w.store
                    .update(&p.id, |r| r.body["properties"]["powerState"] = json!({ "code": code }));
            }
        })),
    )
}

/// `POST .../abort`: the running operation ends `Canceled`; nothing is rolled back.
/// Source: aks-rules.md g6.
pub(crate) fn abort(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    let ended = w.ops.finish_for(w, &rec.id, w.now(), Outcome::Canceled);
    w.events.record(
        w.now(),
        &rec.id,
        "OperationAborted",
        format!("{} operation(s) canceled", ended.len()),
        ctx.correlation_id,
    );
    Ok(Response::empty(204))
}

/// `GET .../upgradeProfiles/default`.
pub(crate) fn upgrade_profile(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    let current = rec.body["properties"]["currentKubernetesVersion"]
        .as_str()
        .unwrap_or(versions::DEFAULT)
        .to_string();
    let upgrades = |v: &str| {
        versions::upgrades_from(v)
            .iter()
            .map(|u| json!({ "kubernetesVersion": u }))
            .collect::<Vec<_>>()
    };
    let pools: Vec<Value> = pools::of_cluster(w, &rec.id)
        .iter()
        .map(|p| {
            let v = p.body["properties"]["currentOrchestratorVersion"].as_str().unwrap_or(&current).to_string();
            json!({ "name": p.body["name"], "kubernetesVersion": v, "osType": p.body["properties"]["osType"], "upgrades": upgrades(&v) })
        })
        .collect();
    Ok(Response::ok(json!({
        "id": format!("{}/upgradeProfiles/default", rec.id),
        "name": "default",
        "type": "Microsoft.ContainerService/managedClusters/upgradeProfiles",
        "properties": {
            "controlPlaneProfile": { "name": "master", "kubernetesVersion": current, "osType": "Linux", "upgrades": upgrades(&current) },
            "agentPoolProfiles": pools,
        },
    })))
}

fn maintenance_not_found(name: &str) -> ArmError {
    ArmError::not_found("NotFound", format!("Maintenance configuration '{name}' was not found."))
}

/// `GET .../maintenanceConfigurations`.
pub(crate) fn list_maintenance(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    let items = w
        .store
        .children(&rec.id, MAINTENANCE_KIND)
        .into_iter()
        .map(|r| r.body)
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

/// `GET/PUT/DELETE .../maintenanceConfigurations/{name}` (404 unless created).
pub(crate) fn maintenance(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let rec = cluster(w, ctx)?;
    let name = ctx.name(1);
    let mid = format!("{}/maintenanceConfigurations/{name}", rec.id);
    match Method::of(ctx.method())? {
        Method::Get => w
            .store
            .get(&mid)
            .map(|r| Response::ok(r.body))
            .ok_or_else(|| maintenance_not_found(name)),
        Method::Put => {
            let body = ctx.req.json_object()?;
            schema::validate("maintenanceConfiguration", &body)?;
            let existed = w.store.contains(&mid);
            let doc = json!({
                "id": mid,
                "name": name,
                "type": MAINTENANCE_KIND,
                "properties": body["properties"],
                "systemData": resource::system_data(w, ctx, w.store.get(&mid).as_ref().map(|r| &r.body)),
            });
            w.store.put(Record::new(mid.clone(), MAINTENANCE_KIND, doc.clone()));
            Ok(Response::json(if existed { 200 } else { 201 }, doc))
        }
        Method::Delete => Ok(match w.store.remove(&mid) {
            Some(_) => Response::empty(200),
            None => Response::empty(204),
        }),
        Method::Patch => Err(ArmError::new(
            405,
            "MethodNotAllowed",
            "Maintenance configurations are updated with PUT.",
        )),
    }
}

/// Checks a cluster may move (called by the resource group move).
pub(crate) fn validate_move(_w: &Tx, rec: &Record, cross_tenant: bool) -> ArmResult<()> {
    rules::msi_cluster_cannot_move_to_another_tenant(clusters::is_msi(&rec.body), cross_tenant, &rec.id)
}
