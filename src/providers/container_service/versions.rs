//! Kubernetes versions AKS offers in azemu, and `GET .../locations/{loc}/kubernetesVersions`.

use crate::arm::{ArmError, ArmResult, Response};
use crate::routing::Ctx;
use crate::world::Tx;
use serde_json::{json, Map, Value};
use std::cmp::Ordering;

/// Supported patch versions, oldest first.
pub(crate) const VERSIONS: &[&str] = &["1.31.11", "1.31.13", "1.32.7", "1.32.9", "1.33.3", "1.33.5", "1.34.1"];
/// What an empty `kubernetesVersion` means.
pub(crate) const DEFAULT: &str = "1.33.5";

fn parts(v: &str) -> Vec<u32> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    parts(a).cmp(&parts(b))
}

fn minor(v: &str) -> String {
    let p = parts(v);
    format!("{}.{}", p.first().unwrap_or(&0), p.get(1).unwrap_or(&0))
}

/// `""` → the default; `1.33` → its newest patch; `1.33.5` → itself. `None` when unsupported.
pub(crate) fn resolve(requested: &str) -> Option<&'static str> {
    let r = requested.trim();
    if r.is_empty() {
        return Some(DEFAULT);
    }
    if let Some(v) = VERSIONS.iter().find(|v| **v == r) {
        return Some(v);
    }
    if parts(r).len() == 2 {
        return VERSIONS.iter().rev().find(|v| minor(v) == r).copied();
    }
    None
}

/// Rule: the requested Kubernetes version must be one AKS offers.
/// Source: AKS error `K8sVersionNotSupported` (az aks create with an unsupported --kubernetes-version).
pub(crate) fn check_version_supported(requested: &str, location: &str) -> ArmResult<&'static str> {
    resolve(requested).ok_or_else(|| {
        let region = if location.is_empty() { "this region".to_string() } else { format!("this region {location}") };
        ArmError::bad_request(
            "K8sVersionNotSupported",
            format!("Version {requested} is not supported in {region}. Please use [az aks get-versions] command to get the supported version list in this region. For more information, please check https://aka.ms/supported-version-list"),
        )
    })
}

/// Versions a cluster on `current` may upgrade to: newer, at most one minor ahead.
pub(crate) fn upgrades_from(current: &str) -> Vec<&'static str> {
    let cur = parts(current);
    VERSIONS
        .iter()
        .copied()
        .filter(|v| compare(v, current) == Ordering::Greater)
        .filter(|v| {
            let p = parts(v);
            p.get(1).copied().unwrap_or(0) <= cur.get(1).copied().unwrap_or(0) + 1
        })
        .collect()
}

/// `GET /subscriptions/{s}/providers/Microsoft.ContainerService/locations/{loc}/kubernetesVersions`.
pub(crate) fn list(_w: &Tx, _ctx: &Ctx) -> ArmResult<Response> {
    let mut minors: Vec<String> = VERSIONS.iter().map(|v| minor(v)).collect();
    minors.dedup();
    let values: Vec<Value> = minors
        .iter()
        .map(|m| {
            let mut patches = Map::new();
            for v in VERSIONS.iter().filter(|v| minor(v) == *m) {
                patches.insert(v.to_string(), json!({ "upgrades": upgrades_from(v) }));
            }
            let mut entry = json!({
                "version": m,
                "capabilities": { "supportPlan": ["KubernetesOfficial"] },
                "patchVersions": patches,
            });
            if *m == minor(DEFAULT) {
                entry["isDefault"] = json!(true);
            }
            entry
        })
        .collect();
    Ok(Response::ok(json!({ "values": values })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution() {
        assert_eq!(resolve(""), Some(DEFAULT));
        assert_eq!(resolve("1.32"), Some("1.32.9"));
        assert_eq!(resolve("1.20.0"), None);
        assert!(upgrades_from("1.32.9").contains(&"1.33.5"));
        assert!(!upgrades_from("1.31.13").contains(&"1.33.5"));
    }
}
