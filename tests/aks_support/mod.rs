//! Helpers the AKS integration tests share (`tests/aks.rs`, `tests/node_images.rs`): request
//! bodies in the shapes az and Terraform send, LRO polling, and azemu's own cluster view.

#![allow(dead_code)]

use crate::common::*;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

pub const API: &str = "2026-06-01";
/// The api-version Terraform's azurerm provider uses for clusters (terraform-azurerm.md §5).
pub const TF_API: &str = "2025-10-01";
pub const RG_API: &str = "2024-11-01";
pub const LOC: &str = "westus2";
pub const MANAGED_IDENTITY_OPERATOR: &str = "f1a07417-d97a-45cb-824c-7a7467783830";
pub const CLUSTER_TYPE: &str = "Microsoft.ContainerService/managedClusters";
pub const POOL_TYPE: &str = "Microsoft.ContainerService/managedClusters/agentPools";

// ---- helpers ------------------------------------------------------------------------------

pub fn with_api(path: &str, version: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}api-version={version}")
}

pub fn api(path: &str) -> String {
    with_api(path, API)
}

pub fn cluster_id(s: &TestServer, rg: &str, name: &str) -> String {
    format!("{}/providers/{CLUSTER_TYPE}/{name}", s.rg_id(rg))
}

pub fn pool_id(s: &TestServer, rg: &str, name: &str, pool: &str) -> String {
    format!("{}/agentPools/{pool}", cluster_id(s, rg, name))
}

pub fn view_path(s: &TestServer, rg: &str, name: &str) -> String {
    format!("/_azemu/clusters/{}/{rg}/{name}", s.sub())
}

pub fn pool_profile(name: &str, mode: &str, count: u64) -> Value {
    json!({
        "name": name,
        "count": count,
        "vmSize": "",
        "orchestratorVersion": "",
        "osType": "Linux",
        "mode": mode,
        "type": "VirtualMachineScaleSets",
    })
}

/// A cluster with a system-assigned control plane and AKS's own kubelet identity.
pub fn system_assigned(location: &str) -> Value {
    json!({
        "location": location,
        "sku": { "name": "Base", "tier": "Free" },
        "identity": { "type": "SystemAssigned" },
        "properties": {
            "kubernetesVersion": "",
            "enableRBAC": true,
            "agentPoolProfiles": [pool_profile("nodepool1", "System", 3)],
        },
    })
}

/// A cluster with a user-assigned control plane `cp` and, optionally, a pre-created kubelet
/// identity given by its resource id only (as `az aks update` sends it).
pub fn user_assigned(location: &str, cp: &str, kubelet: Option<&str>) -> Value {
    let mut b = system_assigned(location);
    b["identity"] = json!({ "type": "UserAssigned", "userAssignedIdentities": { cp: {} } });
    if let Some(k) = kubelet {
        b["properties"]["identityProfile"] = json!({ "kubeletidentity": { "resourceId": k } });
    }
    b
}

/// A legacy cluster that uses a service principal.
pub fn service_principal(location: &str, client: &str, secret: &str) -> Value {
    let mut b = system_assigned(location);
    b.as_object_mut().unwrap().remove("identity");
    b["properties"]["servicePrincipalProfile"] = json!({ "clientId": client, "secret": secret });
    b
}

pub fn is_terminal(status: &str) -> bool {
    matches!(status, "Succeeded" | "Failed" | "Canceled")
}

/// Follows the `Azure-AsyncOperation` URL of `r` until the operation is terminal; returns the
/// last operation-status body.
pub async fn settle(s: &TestServer, r: &Reply) -> Value {
    let url = r
        .header("azure-asyncoperation")
        .unwrap_or_else(|| panic!("an Azure-AsyncOperation header on {} {}", r.status, r.text));
    for _ in 0..20 {
        let p = s.poll(&url).await;
        assert_eq!(p.status, 200, "operation status: {}", p.text);
        if is_terminal(p.json["status"].as_str().unwrap_or("")) {
            return p.json;
        }
    }
    panic!("the operation at {url} did not end after 20 polls");
}

pub async fn put_cluster(s: &TestServer, rg: &str, name: &str, body: Value) -> Reply {
    s.put(&api(&cluster_id(s, rg, name)), body).await
}

pub async fn get_cluster(s: &TestServer, rg: &str, name: &str) -> Reply {
    s.get(&api(&cluster_id(s, rg, name))).await
}

/// PUT → 201 → the operation succeeds → the GET body.
pub async fn create_cluster(s: &TestServer, rg: &str, name: &str, body: Value) -> Value {
    let r = put_cluster(s, rg, name, body).await;
    assert_eq!(r.status, 201, "create {name}: {}", r.text);
    let op = settle(s, &r).await;
    assert_eq!(op["status"], "Succeeded", "create {name}: {op}");
    let g = get_cluster(s, rg, name).await;
    assert_eq!(g.status, 200, "{}", g.text);
    g.json
}

/// PUT on an existing cluster → 200 → the operation succeeds → the GET body.
pub async fn update_cluster(s: &TestServer, rg: &str, name: &str, body: Value) -> Value {
    let r = put_cluster(s, rg, name, body).await;
    assert_eq!(r.status, 200, "update {name}: {}", r.text);
    let op = settle(s, &r).await;
    assert_eq!(op["status"], "Succeeded", "update {name}: {op}");
    let g = get_cluster(s, rg, name).await;
    assert_eq!(g.status, 200, "{}", g.text);
    g.json
}

/// azemu's own view of a cluster (pools, nodes, effective kubelet identities).
pub async fn view(s: &TestServer, rg: &str, name: &str) -> Value {
    let r = s.get(&view_path(s, rg, name)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

pub async fn grant(s: &TestServer, scope: &str, role: &str, principal: &str) {
    let r = s
        .assign(scope, &guid(), role, principal, Some("ServicePrincipal"))
        .await;
    assert_eq!(r.status, 201, "role assignment at {scope}: {}", r.text);
}

pub fn principal_of(identity: &Value) -> String {
    identity["properties"]["principalId"].as_str().unwrap().to_string()
}

pub fn client_of(identity: &Value) -> String {
    identity["properties"]["clientId"].as_str().unwrap().to_string()
}

/// An agent pool entry of a cluster body by name.
pub fn profile<'a>(cluster: &'a Value, pool: &str) -> &'a Value {
    cluster["properties"]["agentPoolProfiles"]
        .as_array()
        .expect("agentPoolProfiles")
        .iter()
        .find(|p| p["name"] == pool)
        .unwrap_or_else(|| panic!("no pool {pool} in {cluster}"))
}

/// A group with a control-plane identity and a kubelet identity; returns (cp, kubelet) bodies.
pub async fn identities(s: &TestServer, rg: &str) -> (Value, Value) {
    s.create_rg(rg, LOC).await;
    let cp = s.create_identity(rg, "cp-identity").await;
    let kubelet = s.create_identity(rg, "kubelet-identity").await;
    (cp, kubelet)
}

pub fn id_of(v: &Value) -> String {
    v["id"].as_str().unwrap().to_string()
}

pub fn b64_decode(s: &str) -> String {
    let raw = base64::engine::general_purpose::STANDARD
        .decode(s)
        .unwrap_or_else(|e| panic!("standard base64 ({e}): {s}"));
    String::from_utf8(raw).expect("UTF-8")
}

/// Follows a `Location` URL until it stops answering 202.
pub async fn follow_location(s: &TestServer, r: &Reply) -> Reply {
    let url = r.header("location").expect("a Location header");
    for _ in 0..20 {
        let p = s.poll(&url).await;
        if p.status != 202 {
            return p;
        }
    }
    panic!("{url} still answers 202 after 20 polls");
}

pub async fn put_with_lro(s: &TestServer, path: &str, body: Value, lro: &str) -> Reply {
    s.send(
        s.request(Method::PUT, &api(path))
            .await
            .header("x-azemu-lro", lro)
            .json(&body),
    )
    .await
}
