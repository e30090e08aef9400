//! The documented AKS rules, each a named function with the rule it enforces and its source.
//! Where research found no primary source for the exact code, the closest AKS code is used and
//! the choice is listed in the README's fidelity section.

use crate::arm::id;
use crate::arm::{ArmError, ArmResult};
use crate::providers::authorization::engine;
use crate::world::Tx;
use serde_json::Value;

/// The action the control-plane identity needs on a kubelet identity.
pub const ASSIGN_IDENTITY_ACTION: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action";
pub const USER_ASSIGNED_IDENTITY_KIND: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// "Once you create a cluster with a managed identity, you can't switch back to using a service
/// principal": on an MSI cluster a PUT naming a real service principal (a clientId other than
/// `msi`, or a secret) is refused; echoing `{"clientId": "msi"}` is accepted.
/// Source: seed doc Limitations; aks-rules.md a1, a3 (`PropertyChangeNotAllowed`, confirmed for
/// SP changes on existing clusters; its use for the MSI case is our choice), b1, b2.
pub fn msi_cluster_cannot_return_to_service_principal(is_msi: bool, request: &Value) -> ArmResult<()> {
    if !is_msi {
        return Ok(());
    }
    let sp = &request["properties"]["servicePrincipalProfile"];
    let client = sp["clientId"].as_str().unwrap_or("msi");
    if !client.eq_ignore_ascii_case("msi") {
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'servicePrincipalProfile.clientId' is not allowed.",
        ));
    }
    if sp["secret"].as_str().is_some_and(|s| !s.is_empty()) {
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'servicePrincipalProfile.secret' is not allowed.",
        ));
    }
    if request["identity"]["type"]
        .as_str()
        .is_some_and(|t| t.eq_ignore_ascii_case("None"))
    {
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'identity.type' is not allowed: a cluster that uses a managed identity cannot go back to a service principal.",
        ));
    }
    Ok(())
}

/// `resetServicePrincipalProfile` on an MSI cluster is refused.
/// Source: aks-rules.md a2 (terraform-provider-azurerm #6257, PR #6205): 400 `BadRequest`.
pub fn reset_service_principal_not_allowed_on_msi_cluster(is_msi: bool) -> ArmResult<()> {
    if is_msi {
        Err(ArmError::bad_request(
            "BadRequest",
            "Updating service principal profile is not allowed on MSI cluster.",
        ))
    } else {
        Ok(())
    }
}

/// A pre-created kubelet identity needs a user-assigned control-plane identity.
/// Source: aks-rules.md c1 (code from the AKS RP error list; status and message unconfirmed).
pub fn custom_kubelet_identity_requires_user_assigned_control_plane(identity_type: &str) -> ArmResult<()> {
    if identity_type.eq_ignore_ascii_case("UserAssigned") {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster",
            format!("Custom kubelet identity is only supported on a cluster with a user-assigned control-plane identity (identity.type 'UserAssigned'); this cluster's identity type is '{identity_type}'."),
        ))
    }
}

/// "A pre-created kubelet managed identity must be a user-assigned managed identity."
/// Source: seed doc Limitations; aks-rules.md d1 (code name from the AKS RP error list; message ours).
pub fn custom_kubelet_identity_must_be_user_assigned(resource_id: &str) -> ArmResult<()> {
    let segs = id::segments(resource_id);
    let ok = id::split_provider_path(&segs).is_some_and(|p| {
        p.namespace.eq_ignore_ascii_case("Microsoft.ManagedIdentity")
            && p.rest.len() == 2
            && p.rest[0].eq_ignore_ascii_case("userAssignedIdentities")
    }) && id::ScopeParts::parse(resource_id).resource_group.is_some();
    if ok {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "CustomKubeletIdentityPropertyError",
            format!("The kubelet identity '{resource_id}' is not a user-assigned managed identity. identityProfile.kubeletidentity.resourceId must be the resource id of a Microsoft.ManagedIdentity/userAssignedIdentities resource."),
        ))
    }
}

/// A user-assigned identity the cluster names (control plane or kubelet) must exist.
/// Source: aks-rules.md d2/d3 (unconfirmed; `GetUserAssignedIdentityResourceError` is in the AKS RP code list).
pub fn user_assigned_identity_must_exist(w: &Tx, resource_id: &str, role: &str) -> ArmResult<Value> {
    w.store
        .get(resource_id)
        .filter(|r| r.kind.eq_ignore_ascii_case(USER_ASSIGNED_IDENTITY_KIND))
        .map(|r| r.body)
        .ok_or_else(|| {
            ArmError::bad_request(
                "GetUserAssignedIdentityResourceError",
                format!("Failed to get the {role} user-assigned identity '{resource_id}': the resource was not found."),
            )
        })
}

/// AKS supports exactly one user-assigned control-plane identity.
/// Source: ManagedClusterIdentity description in the 2026-08-01 spec ("Only one user assigned identity is allowed").
pub fn exactly_one_user_assigned_control_plane_identity(identities: &serde_json::Map<String, Value>) -> ArmResult<()> {
    if identities.len() == 1 {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "BadRequest",
            format!(
                "A cluster with identity type 'UserAssigned' needs exactly one user assigned identity; {} were given.",
                identities.len()
            ),
        ))
    }
}

/// The control-plane identity must hold `…/userAssignedIdentities/*/assign/action` (Managed
/// Identity Operator) on the kubelet identity — also when both are the same identity.
/// Source: aks-rules.md c2, c3: 400 `CustomKubeletIdentityMissingPermissionError` (confirmed).
pub fn control_plane_can_assign_kubelet_identity(
    w: &Tx,
    control_plane_principal: &str,
    kubelet_id: &str,
) -> ArmResult<()> {
    let d = engine::check(w, control_plane_principal, ASSIGN_IDENTITY_ACTION, kubelet_id);
    if d.allowed {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "CustomKubeletIdentityMissingPermissionError",
        format!(
            "The cluster using user-assigned managed identity must be granted 'Managed Identity Operator' role to assign kubelet identity. You can run 'az role assignment create --assignee {control_plane_principal} --role 'Managed Identity Operator' --scope {kubelet_id}' to grant the permission. See https://aka.ms/aks/kubeletidentity for more information."
        ),
    ))
}

/// "The China East and China North regions in Microsoft Azure operated by 21Vianet aren't
/// supported" for a pre-created kubelet identity.
/// Source: seed doc Limitations; aks-rules.md f1 (status and code unconfirmed: `BadRequest` chosen).
pub fn custom_kubelet_identity_not_in_china_east_or_north(location: &str) -> ArmResult<()> {
    if matches!(location, "chinaeast" | "chinanorth") {
        Err(ArmError::bad_request(
            "BadRequest",
            format!("Pre-created kubelet managed identity is not supported in region '{location}'."),
        ))
    } else {
        Ok(())
    }
}

/// "Moving or migrating a managed identity-enabled cluster to a different tenant isn't
/// supported." AKS clusters cannot be moved at all (Azure's move-support table lists
/// managedClusters as not movable); the cross-tenant case says so in its own words.
/// Source: seed doc Limitations; aks-rules.md f2 (code unconfirmed: `ResourceMoveNotSupported` chosen).
pub fn msi_cluster_cannot_move_to_another_tenant(is_msi: bool, cross_tenant: bool, cluster_id: &str) -> ArmResult<()> {
    let message = if is_msi && cross_tenant {
        format!(
            "Moving the managed identity cluster '{cluster_id}' to a subscription in another tenant is not supported."
        )
    } else {
        format!("Moving the managed cluster '{cluster_id}' to another resource group or subscription is not supported.")
    };
    Err(ArmError::bad_request("ResourceMoveNotSupported", message).with_target(cluster_id))
}

/// A custom subnet must exist.
/// Source: AKS error `SubnetNotFound` quoted in sassoftware/viya4-iac-azure #163.
pub fn vnet_subnet_must_exist(w: &Tx, subnet_id: &str) -> ArmResult<()> {
    if w.store
        .get(subnet_id)
        .is_some_and(|r| r.kind.eq_ignore_ascii_case("Microsoft.Network/virtualNetworks/subnets"))
    {
        return Ok(());
    }
    let segs = id::segments(subnet_id);
    let get = |i: usize| segs.get(i).cloned().unwrap_or_default();
    Err(ArmError::bad_request(
        "SubnetNotFound",
        format!(
            "Could not find subnet {} in vnet {} from resource group {} of subscription {}.",
            get(9),
            get(7),
            get(3),
            get(1)
        ),
    ))
}

/// A cluster needs at least one System pool.
/// Source: AKS error `MustDefineAtLeastOneSystemPool` ("Must define at least one system pool.").
pub fn must_define_at_least_one_system_pool(modes: &[String]) -> ArmResult<()> {
    if modes.iter().any(|m| m.eq_ignore_ascii_case("System")) {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "MustDefineAtLeastOneSystemPool",
            "Must define at least one system pool.",
        ))
    }
}

/// Properties that cannot change once set: 400 `PropertyChangeNotAllowed`.
/// Source: aks-rules.md a3 (Azure/azure-cli #24764: "Changing property '…' is not allowed.").
pub fn immutable_properties_unchanged(existing: &Value, request: &Value) -> ArmResult<()> {
    const PATHS: &[&str] = &[
        "dnsPrefix",
        "fqdnSubdomain",
        "nodeResourceGroup",
        "networkProfile.networkPlugin",
        "networkProfile.serviceCidr",
        "networkProfile.dnsServiceIP",
        "networkProfile.podCidr",
        "linuxProfile.adminUsername",
        "windowsProfile.adminUsername",
    ];
    for path in PATHS {
        let get = |v: &Value| path.split('.').fold(v["properties"].clone(), |acc, k| acc[k].clone());
        let (old, new) = (get(existing), get(request));
        let new_str = new.as_str().unwrap_or("");
        if new.is_null() || new_str.is_empty() || old.is_null() {
            continue;
        }
        let differs = match (old.as_str(), new.as_str()) {
            (Some(a), Some(b)) => !a.eq_ignore_ascii_case(b),
            _ => old != new,
        };
        if differs {
            return Err(ArmError::bad_request(
                "PropertyChangeNotAllowed",
                format!("Changing property '{path}' is not allowed."),
            )
            .with_target(*path));
        }
    }
    Ok(())
}

/// Kubernetes versions only go forward.
/// Source: AKS upgrade docs ("You can't downgrade").
pub fn kubernetes_version_never_downgraded(current: &str, requested: &str) -> ArmResult<()> {
    if super::versions::compare(requested, current) == std::cmp::Ordering::Less {
        Err(ArmError::bad_request(
            "NotAllowedVersionDowngrade",
            format!("Downgrading kubernetes version from {current} to {requested} is not allowed."),
        ))
    } else {
        Ok(())
    }
}

/// A node pool cannot run a newer Kubernetes version than the control plane.
/// Source: AKS error `NodePoolMcVersionIncompatible` (AKS docs "Upgrade a node pool": the pool
/// version must not be greater than the control plane's).
pub fn pool_version_not_above_control_plane(pool: &str, control_plane: &str) -> ArmResult<()> {
    if super::versions::compare(pool, control_plane) == std::cmp::Ordering::Greater {
        Err(ArmError::bad_request(
            "NodePoolMcVersionIncompatible",
            format!("Node pool version {pool} and control plane version {control_plane} are incompatible. The node pool version cannot be greater than the control plane version."),
        ))
    } else {
        Ok(())
    }
}

/// Node-image-only upgrades work on VirtualMachineScaleSets pools only.
/// Source: aks-rules.md h6 (CLI message; server code unconfirmed: `BadRequest` chosen).
pub fn node_image_upgrade_needs_scale_sets(pool_type: &str) -> ArmResult<()> {
    if pool_type.is_empty() || pool_type.eq_ignore_ascii_case("VirtualMachineScaleSets") {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "BadRequest",
            "Node image upgrade only operation can only be applied on VirtualMachineScaleSets cluster.",
        ))
    }
}

/// Static (local account) credentials are refused when local accounts are disabled.
/// Source: AKS error for `az aks get-credentials --admin` on clusters with disableLocalAccounts.
pub fn local_accounts_enabled_for_static_credentials(disable_local_accounts: bool) -> ArmResult<()> {
    if disable_local_accounts {
        Err(ArmError::bad_request(
            "BadRequest",
            "Getting static credential is not allowed because this cluster is set to disable local accounts.",
        ))
    } else {
        Ok(())
    }
}

/// The last System pool of a cluster cannot be deleted.
/// Source: AKS docs "System node pools" ("must have at least one system node pool").
pub fn keep_one_system_pool(remaining_system_pools: usize) -> ArmResult<()> {
    if remaining_system_pools > 0 {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "OperationNotAllowed",
            "There has to be at least one system agent pool.",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn msi_echo_is_accepted_real_sp_is_not() {
        assert!(msi_cluster_cannot_return_to_service_principal(
            true,
            &json!({"properties": {"servicePrincipalProfile": {"clientId": "msi"}}})
        )
        .is_ok());
        let e = msi_cluster_cannot_return_to_service_principal(
            true,
            &json!({"properties": {"servicePrincipalProfile": {"clientId": "abc", "secret": "s"}}}),
        )
        .unwrap_err();
        assert_eq!(e.code, "PropertyChangeNotAllowed");
        assert!(msi_cluster_cannot_return_to_service_principal(
            false,
            &json!({"properties": {"servicePrincipalProfile": {"clientId": "abc"}}})
        )
        .is_ok());
    }

    #[test]
    fn kubelet_identity_must_be_a_user_assigned_identity_id() {
        assert!(custom_kubelet_identity_must_be_user_assigned(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/k"
        )
        .is_ok());
        assert!(custom_kubelet_identity_must_be_user_assigned(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
        )
        .is_err());
    }

    #[test]
    fn china_east_and_north_refused() {
        assert!(custom_kubelet_identity_not_in_china_east_or_north("chinaeast").is_err());
        assert!(custom_kubelet_identity_not_in_china_east_or_north("chinanorth").is_err());
        assert!(custom_kubelet_identity_not_in_china_east_or_north("chinaeast2").is_ok());
    }

    #[test]
    fn immutables() {
        let old = json!({"properties": {"dnsPrefix": "a", "networkProfile": {"serviceCidr": "10.0.0.0/16"}}});
        assert!(immutable_properties_unchanged(&old, &json!({"properties": {"dnsPrefix": "A"}})).is_ok());
        assert_eq!(
            immutable_properties_unchanged(&old, &json!({"properties": {"dnsPrefix": "b"}}))
                .unwrap_err()
                .code,
            "PropertyChangeNotAllowed"
        );
        assert!(immutable_properties_unchanged(
            &old,
            &json!({"properties": {"networkProfile": {"serviceCidr": "10.1.0.0/16"}}})
        )
        .is_err());
    }
}
