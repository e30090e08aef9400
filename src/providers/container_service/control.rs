//! azemu's own view of AKS under `/_azemu/`: the node image catalog (and publishing a new
//! image), each cluster's pools and nodes with the kubelet identity they really use, and a
//! simulated image pull that asks the authorization engine whether a pool's nodes may pull.

use super::nodes::{self, KubeletIdentity};
use super::{clusters, node_images, pools, KIND};
use crate::arm::{ArmError, ArmResult, Request, Response};
use crate::providers::authorization::engine;
use crate::world::Tx;
use serde_json::{json, Value};

/// The action AcrPull grants that an image pull needs.
pub(crate) const PULL_ACTION: &str = "Microsoft.ContainerRegistry/registries/pull/read";
const REGISTRY_KIND: &str = "Microsoft.ContainerRegistry/registries";

/// `GET /_azemu/node-images`, `/_azemu/clusters`, `/_azemu/clusters/{sub}/{rg}/{name}[/pull-check]`.
pub(crate) fn get(w: &Tx, req: &Request, segs: &[&str]) -> Option<ArmResult<Response>> {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    Some(match l.as_slice() {
        ["node-images"] => Ok(catalog(w)),
        ["clusters"] => Ok(Response::ok(
            json!({ "value": w.store.list(|r| r.kind == KIND).iter().map(|r| view(w, r)).collect::<Vec<_>>() }),
        )),
        ["clusters", _, _, _] => find(w, segs).map(|r| Response::ok(view(w, &r))),
        ["clusters", _, _, _, "pull-check"] => find(w, segs).and_then(|r| pull_check(w, req, &r)),
        ["nodes", _, "metadata", "identity", "oauth2", "token"] => Ok(super::imds::token_for_node(w, req, segs[1])),
        _ => return None,
    })
}

/// `POST /_azemu/node-images` `{"family": "...", "version"?: "..."}` (or `osType`/`osSku`).
pub(crate) fn write(w: &Tx, req: &Request, segs: &[&str]) -> Option<ArmResult<Response>> {
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    match (
        req.method.as_str(),
        lower.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
    ) {
        ("POST", ["node-images"]) => Some(publish(w, req)),
        _ => None,
    }
}

fn publish(w: &Tx, req: &Request) -> ArmResult<Response> {
    let b = req.json_or_empty()?;
    let family = match b["family"].as_str() {
        Some(f) => f.to_string(),
        None => node_images::family_for(
            b["osType"].as_str().unwrap_or("Linux"),
            b["osSku"].as_str().unwrap_or(""),
        )?
        .name
        .to_string(),
    };
    let v = node_images::publish(w, &family, b["version"].as_str())?;
    w.events.record(
        w.now(),
        "/azemu/nodeImages",
        "NodeImagePublished",
        format!("{} released", v["version"].as_str().unwrap_or("")),
        "",
    );
    Ok(Response::json(201, v))
}

fn catalog(w: &Tx) -> Response {
    let families: Vec<Value> = node_images::FAMILIES
        .iter()
        .map(|f| {
            let versions = node_images::versions(w, f.name);
            json!({
                "family": f.name,
                "osType": f.os_type,
                "osSkus": f.os_skus.iter().filter(|s| !s.is_empty()).collect::<Vec<_>>(),
                "latest": versions.last().map(|v| v["version"].clone()),
                "versions": versions.iter().map(|v| json!({ "version": v["version"], "releasedAt": v["releasedAt"] })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Response::ok(json!({ "families": families }))
}

fn find(w: &Tx, segs: &[&str]) -> ArmResult<crate::store::Record> {
    let rid = format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.ContainerService/managedClusters/{}",
        segs[1], segs[2], segs[3]
    );
    w.store
        .get(&rid)
        .filter(|r| r.kind == KIND)
        .ok_or_else(|| ArmError::resource_not_found(KIND, segs[3], segs[2]))
}

fn identity_json(k: &KubeletIdentity) -> Value {
    serde_json::to_value(k).unwrap_or(Value::Null)
}

/// A cluster as azemu sees it: the kubelet identity it names, and per pool the image, the
/// newest image, the identities its nodes really use, whether a change is pending, the nodes.
pub(crate) fn view(w: &Tx, rec: &crate::store::Record) -> Value {
    let named = clusters::kubelet_of(rec);
    let pools: Vec<Value> = pools::of_cluster(w, &rec.id)
        .iter()
        .map(|p| {
            let m = nodes::model_of(p);
            let latest = node_images::family_of_version(&m.image)
                .and_then(|f| node_images::latest(w, f.name))
                .unwrap_or(m.image.clone());
            let effective = m.effective_identities();
            let status = match (&m.pending, &named) {
                (Some(pending), _) => pending.reason.clone(),
                (None, Some(n)) if effective.iter().all(|e| e.same_as(n)) => {
                    "current: nodes use the kubelet identity the cluster names".to_string()
                }
                (None, _) => "mixed: nodes are being replaced".to_string(),
            };
            json!({
                "name": p.body["name"],
                "id": p.id,
                "provisioningState": p.body["properties"]["provisioningState"],
                "nodeImageVersion": m.image,
                "latestNodeImageVersion": latest,
                "newerNodeImageAvailable": latest != m.image,
                "effectiveKubeletIdentities": effective.iter().map(identity_json).collect::<Vec<_>>(),
                "pending": m.pending,
                "status": status,
                "nodes": m.nodes,
            })
        })
        .collect();
    json!({
        "id": rec.id,
        "name": rec.body["name"],
        "provisioningState": rec.body["properties"]["provisioningState"],
        "identityType": rec.body["identity"]["type"].as_str().unwrap_or("None"),
        "kubeletIdentity": named.as_ref().map(identity_json),
        "pools": pools,
    })
}

/// `GET /_azemu/clusters/{sub}/{rg}/{name}/pull-check?image=myacr.azurecr.io/app:v1[&pool=p]`:
/// can this pool's nodes pull the image? Uses each node's effective kubelet identity and the
/// authorization engine (AcrPull at the registry or above).
fn pull_check(w: &Tx, req: &Request, rec: &crate::store::Record) -> ArmResult<Response> {
    let image = req.query("image").ok_or_else(|| {
        ArmError::bad_request(
            "MissingParameter",
            "The query parameter 'image' is required (e.g. myacr.azurecr.io/app:v1).",
        )
    })?;
    let login_server = image.split('/').next().unwrap_or_default();
    let registry = w
        .store
        .list(|r| {
            r.kind == REGISTRY_KIND
                && r.body["properties"]["loginServer"]
                    .as_str()
                    .is_some_and(|l| l.eq_ignore_ascii_case(login_server))
        })
        .into_iter()
        .next()
        .ok_or_else(|| {
            ArmError::not_found(
                "RegistryNotFound",
                format!("No registry in azemu has the login server '{login_server}'."),
            )
        })?;
    let only = req.query("pool");
    let mut results = Vec::new();
    for p in pools::of_cluster(w, &rec.id) {
        let name = p.body["name"].as_str().unwrap_or_default();
        if only.is_some_and(|o| !o.eq_ignore_ascii_case(name)) {
            continue;
        }
        let m = nodes::model_of(&p);
        for identity in m.effective_identities() {
            let d = engine::check(w, &identity.object_id, PULL_ACTION, &registry.id);
            let node_names: Vec<&str> = m
                .nodes
                .iter()
                .filter(|n| n.kubelet_identity.same_as(&identity))
                .map(|n| n.name.as_str())
                .collect();
            results.push(json!({
                "pool": name,
                "nodes": node_names,
                "kubeletIdentity": identity_json(&identity),
                "allowed": d.allowed,
                "reason": d.reason,
                "grantedBy": d.granted_by,
            }));
        }
    }
    if results.is_empty() {
        return Err(ArmError::not_found(
            "NotFound",
            "No node pool of that name in the cluster.",
        ));
    }
    let allowed = results.iter().all(|r| r["allowed"] == true);
    Ok(Response::ok(json!({
        "image": image,
        "registry": registry.id,
        "action": PULL_ACTION,
        "allowed": allowed,
        "results": results,
    })))
}

/// The node a request names: `x-azemu-node` header or `node` query, else the only node.
pub(crate) fn node_for(w: &Tx, req: &Request, explicit: Option<&str>) -> Result<(String, KubeletIdentity), String> {
    let wanted = explicit
        .map(str::to_string)
        .or_else(|| req.header("x-azemu-node").map(str::to_string))
        .or_else(|| req.query("node").map(str::to_string));
    let mut all = Vec::new();
    for p in w.store.list(|r| r.kind == super::POOL_KIND) {
        for n in nodes::model_of(&p).nodes {
            all.push((n.name.clone(), n.kubelet_identity.clone()));
        }
    }
    match wanted {
        Some(name) => all.into_iter().find(|(n, _)| n.eq_ignore_ascii_case(&name)).ok_or_else(|| format!("No node named '{name}' exists in azemu.")),
        None if all.len() == 1 => Ok(all.remove(0)),
        None => Err(format!("{} nodes exist; name one with the x-azemu-node header, the node query parameter, or /_azemu/nodes/{{node}}/metadata/identity/oauth2/token.", all.len())),
    }
}
