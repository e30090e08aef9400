//! Values AKS fills in for properties a request leaves out, so that clients that read every
//! field back (Terraform's azurerm above all) see what they would see on Azure.

use serde_json::{json, Value};

/// `nodeProvisioningProfile`: AKS answers `{"mode": "Manual"}` for clusters created without
/// one (observed in `az aks show` output of such clusters), and the spec gives the defaults:
/// `mode` "If not specified, the default is Manual", `defaultNodePools` `default: Auto`
/// (Microsoft.ContainerService `ManagedClusterNodeProvisioningProfile`, 2026-08-01). azurerm 5.x
/// requires the block and defaults it the same way (`kubernetes_cluster_resource.go`), so a
/// cluster made by az and imported into Terraform plans with no changes, as on Azure.
pub(crate) fn node_provisioning_profile(sent: Option<&Value>) -> Value {
    let mut out = json!({ "mode": "Manual", "defaultNodePools": "Auto" });
    for (k, v) in sent.and_then(Value::as_object).into_iter().flatten() {
        if !v.is_null() {
            out[k] = v.clone();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_provisioning_profile_fills_what_is_left_out() {
        assert_eq!(
            node_provisioning_profile(None),
            json!({ "mode": "Manual", "defaultNodePools": "Auto" })
        );
        assert_eq!(
            node_provisioning_profile(Some(&json!({ "mode": "Auto" }))),
            json!({ "mode": "Auto", "defaultNodePools": "Auto" })
        );
        assert_eq!(
            node_provisioning_profile(Some(&json!({ "mode": "Auto", "defaultNodePools": "None" }))),
            json!({ "mode": "Auto", "defaultNodePools": "None" })
        );
    }
}
