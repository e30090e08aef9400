//! The documented AKS rules, each a named function with the rule it enforces and its source.
//! Where research found no primary source for the exact code, the closest AKS code is used and
//! the choice is listed in the README's fidelity section.

use super::model::{IdentityType, KubeletKind, PoolMode};
use super::node_images::Catalog;
use super::nodes::{KubeletIdentity, PoolModel};
use super::request::ServicePrincipalRequest;
use crate::arm::id;
use crate::arm::{ArmError, ArmResult};
use crate::providers::authorization::engine;
use crate::store::Record;
use crate::world::Tx;
use serde_json::Value;

/// The action the control-plane identity needs on a kubelet identity.
pub(crate) const ASSIGN_IDENTITY_ACTION: &str = "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action";
pub(crate) const USER_ASSIGNED_IDENTITY_KIND: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// "Once you create a cluster with a managed identity, you can't switch back to using a service
/// principal": on an MSI cluster a PUT naming a real service principal (a clientId other than
/// `msi`, or a secret) is refused; echoing `{"clientId": "msi"}` is accepted.
/// Source: seed doc Limitations; aks-rules.md a1, a3 (`PropertyChangeNotAllowed`, confirmed for
/// SP changes on existing clusters; its use for the MSI case is our choice), b1, b2.
pub(crate) fn msi_cluster_cannot_return_to_service_principal(
    is_msi: bool,
    requested: Option<IdentityType>,
    sp: &ServicePrincipalRequest,
) -> ArmResult<()> {
    if !is_msi {
        return Ok(());
    }
    if sp.client_id.as_deref().is_some_and(|c| !c.eq_ignore_ascii_case("msi")) {
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'servicePrincipalProfile.clientId' is not allowed.",
        ));
    }
    if sp.has_secret() {
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'servicePrincipalProfile.secret' is not allowed.",
        ));
    }
    if requested == Some(IdentityType::ServicePrincipal) {
        return Err(ArmError::bad_request(
            "PropertyChangeNotAllowed",
            "Changing property 'identity.type' is not allowed: a cluster that uses a managed identity cannot go back to a service principal.",
        ));
    }
    Ok(())
}

/// Who a cluster's control plane acts as after a PUT: the identity type the request names, else
/// the one the cluster has; a new cluster without one uses its service principal when it names
/// one (a client id other than `msi`), else a system-assigned identity. An MSI cluster never
/// goes back to a service principal, and a service-principal cluster needs a client id.
/// Source: aks-rules.md a1–a3, b1–b4 (SP → MSI is allowed, MSI → SP is not); the default to a
/// system-assigned identity is `az aks create`'s (docs "Use a managed identity in AKS").
pub(crate) fn control_plane_identity_type(
    requested: Option<IdentityType>,
    existing: Option<IdentityType>,
    sp: &ServicePrincipalRequest,
) -> ArmResult<IdentityType> {
    if let Some(old) = existing {
        msi_cluster_cannot_return_to_service_principal(old.is_msi(), requested, sp)?;
    }
    let kind = match (requested, existing) {
        (Some(t), _) => t,
        (None, Some(old)) => old,
        (None, None) if sp.real_client().is_some() => IdentityType::ServicePrincipal,
        (None, None) => IdentityType::SystemAssigned,
    };
    if kind == IdentityType::ServicePrincipal && sp.real_client().is_none() && existing.is_none_or(IdentityType::is_msi)
    {
        return Err(ArmError::bad_request(
            "BadRequest",
            "A cluster without a managed identity needs servicePrincipalProfile.clientId and servicePrincipalProfile.secret.",
        ));
    }
    Ok(kind)
}

/// A new service-principal cluster needs the principal's secret (write-only: never echoed,
/// aks-rules.md b3).
/// Source: ManagedClusterServicePrincipalProfile in the 2026-08-01 spec (`clientId` required,
/// `secret` "The secret password associated with the service principal"); the spec does not
/// mark `secret` required: requiring it on create, and the code `BadRequest`, are azemu's choice.
pub(crate) fn service_principal_cluster_needs_secret(
    kind: IdentityType,
    sp: &ServicePrincipalRequest,
) -> ArmResult<()> {
    if kind == IdentityType::ServicePrincipal && !sp.has_secret() {
        return Err(ArmError::bad_request(
            "BadRequest",
            "servicePrincipalProfile.secret is required for a cluster that uses a service principal.",
        )
        .with_target("servicePrincipalProfile.secret"));
    }
    Ok(())
}

/// What the kubelet runs as after an update.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KubeletAfterUpdate {
    /// The pre-created identity the request names.
    Custom(KubeletIdentity),
    /// AKS's own `{cluster}-agentpool` identity in the node resource group.
    Managed,
    /// What it runs as today.
    Keep(Option<KubeletIdentity>),
}

/// The kubelet identity after an update: a pre-created one the request names; on a migration
/// from a service principal to a managed identity AKS gives the kubelet its own identity (the
/// nodes keep the service principal until their image is upgraded, see
/// [`pools_taking_new_kubelet_identity_now`]); otherwise the one it has.
/// Source: aks-rules.md b4 (SP → MSI: "kubelet keeps the SP until node pools are upgraded"), e1.
pub(crate) fn kubelet_identity_after_update(
    custom: Option<KubeletIdentity>,
    current: Option<KubeletIdentity>,
    was_msi: bool,
    control_plane: IdentityType,
) -> KubeletAfterUpdate {
    match (custom, current) {
        (Some(k), _) => KubeletAfterUpdate::Custom(k),
        (None, Some(old)) if !was_msi && control_plane.is_msi() && old.kind == KubeletKind::ServicePrincipal => {
            KubeletAfterUpdate::Managed
        }
        (None, old) => KubeletAfterUpdate::Keep(old),
    }
}

/// What a kubelet identity change does to one pool now.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum KubeletRollout {
    /// The pool is reimaged onto this newer node image, and its nodes take the identity.
    Reimage(String),
    /// The pool already runs the newest image: its nodes keep their identity until a newer
    /// image is published and the pool upgraded.
    Pending,
}

/// After the cluster names a new kubelet identity, which pools take it now: a pool whose
/// nodes already use it (with nothing pending) is left alone; a pool with a newer node image to
/// move to is reimaged onto it; a pool already on the newest image keeps its nodes and is
/// pending. A pure function of the pools' node models and the image catalog.
/// Source: aks-rules.md e1 (an identity change reimages the pools), e2 ("An update only works if
/// there's a VHD update to consume"; no error), e3 (per-pool effective identity), h4 (images
/// are never downgraded).
pub(crate) fn pools_taking_new_kubelet_identity_now(
    pools: &[(String, PoolModel)],
    identity: &KubeletIdentity,
    catalog: &Catalog,
) -> Vec<(String, KubeletRollout)> {
    pools
        .iter()
        .filter(|(_, m)| !(m.identity.as_ref().is_some_and(|i| i.same_as(identity)) && m.pending.is_none()))
        .map(|(id, m)| {
            let rollout = match catalog.newer_than(&m.image) {
                Some(image) => KubeletRollout::Reimage(image.to_string()),
                None => KubeletRollout::Pending,
            };
            (id.clone(), rollout)
        })
        .collect()
}

/// `resetServicePrincipalProfile` on an MSI cluster is refused.
/// Source: aks-rules.md a2 (terraform-provider-azurerm #6257, PR #6205): 400 `BadRequest`.
pub(crate) fn reset_service_principal_not_allowed_on_msi_cluster(is_msi: bool) -> ArmResult<()> {
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
pub(crate) fn custom_kubelet_identity_requires_user_assigned_control_plane(
    identity_type: IdentityType,
) -> ArmResult<()> {
    if identity_type == IdentityType::UserAssigned {
        Ok(())
    } else {
        Err(ArmError::bad_request(
            "CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster",
            format!("Custom kubelet identity is only supported on a cluster with a user-assigned control-plane identity (identity.type 'UserAssigned'); this cluster's identity type is '{}'.", identity_type.arm_name()),
        ))
    }
}

/// "A pre-created kubelet managed identity must be a user-assigned managed identity."
/// Source: seed doc Limitations; aks-rules.md d1 (code name from the AKS RP error list; message ours).
pub(crate) fn custom_kubelet_identity_must_be_user_assigned(resource_id: &str) -> ArmResult<()> {
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

/// A user-assigned identity the cluster names (control plane or kubelet) must exist: `found` is
/// what the store holds at `resource_id`, whatever its type.
/// Source: aks-rules.md d2/d3 (unconfirmed; `GetUserAssignedIdentityResourceError` is in the AKS RP code list).
pub(crate) fn user_assigned_identity_must_exist(
    resource_id: &str,
    found: Option<&Record>,
    role: &str,
) -> ArmResult<Value> {
    found
        .filter(|r| r.kind.eq_ignore_ascii_case(USER_ASSIGNED_IDENTITY_KIND))
        .map(|r| r.body.clone())
        .ok_or_else(|| {
            ArmError::bad_request(
                "GetUserAssignedIdentityResourceError",
                format!("Failed to get the {role} user-assigned identity '{resource_id}': the resource was not found."),
            )
        })
}

/// AKS supports exactly one user-assigned control-plane identity.
/// Source: ManagedClusterIdentity description in the 2026-08-01 spec ("Only one user assigned identity is allowed").
pub(crate) fn exactly_one_user_assigned_control_plane_identity(identities: &[String]) -> ArmResult<()> {
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
/// Identity Operator) on the kubelet identity — also when both are the same identity. `allowed`
/// is the RBAC decision for [`ASSIGN_IDENTITY_ACTION`] (see [`may_assign_identity`]).
/// Source: aks-rules.md c2, c3: 400 `CustomKubeletIdentityMissingPermissionError` (confirmed).
pub(crate) fn control_plane_can_assign_kubelet_identity(
    control_plane_principal: &str,
    kubelet_id: &str,
    allowed: bool,
) -> ArmResult<()> {
    if allowed {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "CustomKubeletIdentityMissingPermissionError",
        format!(
            "The cluster using user-assigned managed identity must be granted 'Managed Identity Operator' role to assign kubelet identity. You can run 'az role assignment create --assignee {control_plane_principal} --role 'Managed Identity Operator' --scope {kubelet_id}' to grant the permission. See https://aka.ms/aks/kubeletidentity for more information."
        ),
    ))
}

/// Whether `principal` may assign the identity `identity_id` (the RBAC engine's decision).
pub(crate) fn may_assign_identity(w: &Tx, principal: &str, identity_id: &str) -> bool {
    engine::check(w, principal, ASSIGN_IDENTITY_ACTION, identity_id).allowed
}

/// "The China East and China North regions in Microsoft Azure operated by 21Vianet aren't
/// supported" for a pre-created kubelet identity.
/// Source: seed doc Limitations; aks-rules.md f1 (status and code unconfirmed: `BadRequest` chosen).
pub(crate) fn custom_kubelet_identity_not_in_china_east_or_north(location: &str) -> ArmResult<()> {
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
pub(crate) fn msi_cluster_cannot_move_to_another_tenant(
    is_msi: bool,
    cross_tenant: bool,
    cluster_id: &str,
) -> ArmResult<()> {
    let message = if is_msi && cross_tenant {
        format!(
            "Moving the managed identity cluster '{cluster_id}' to a subscription in another tenant is not supported."
        )
    } else {
        format!("Moving the managed cluster '{cluster_id}' to another resource group or subscription is not supported.")
    };
    Err(ArmError::bad_request("ResourceMoveNotSupported", message).with_target(cluster_id))
}

/// A custom subnet must exist: `exists` is whether the store holds a subnet at `subnet_id`.
/// Source: AKS error `SubnetNotFound` quoted in sassoftware/viya4-iac-azure #163.
pub(crate) fn vnet_subnet_must_exist(subnet_id: &str, exists: bool) -> ArmResult<()> {
    if exists {
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

/// AKS creates the node resource group itself: a cluster cannot name its own resource group,
/// nor any group that already exists (it would take the group over and delete its contents with
/// the cluster). Checked on create; `nodeResourceGroup` cannot change afterwards.
/// Source: AKS errors `NodeResourceGroupSameAsResourceGroup` (Azure/azure-cli #27215: "Node
/// resource group '…' is the same as ResourceGroup '…', which is not allowed, please provide a
/// different node resource group.") and 400 `NodeResourceGroupAlreadyExists`
/// (hashicorp/terraform-provider-azurerm #7562, Azure/azure-cli-extensions #2072: "Node resource
/// group '…' under subscription '…' already exists, please provide a new one.").
pub(crate) fn node_resource_group_must_not_exist(
    subscription: &str,
    cluster_group: &str,
    node_group: &str,
    exists: bool,
) -> ArmResult<()> {
    if node_group.eq_ignore_ascii_case(cluster_group) {
        return Err(ArmError::bad_request(
            "NodeResourceGroupSameAsResourceGroup",
            format!("Node resource group '{node_group}' is the same as ResourceGroup '{cluster_group}', which is not allowed, please provide a different node resource group."),
        ));
    }
    if exists {
        return Err(ArmError::bad_request(
            "NodeResourceGroupAlreadyExists",
            format!("Node resource group '{node_group}' under subscription '{subscription}' already exists, please provide a new one."),
        ));
    }
    Ok(())
}

/// A cluster needs at least one System pool.
/// Source: AKS error `MustDefineAtLeastOneSystemPool` ("Must define at least one system pool.").
pub(crate) fn must_define_at_least_one_system_pool(modes: &[PoolMode]) -> ArmResult<()> {
    if modes.contains(&PoolMode::System) {
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
pub(crate) fn immutable_properties_unchanged(existing: &Value, request: &Value) -> ArmResult<()> {
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
pub(crate) fn kubernetes_version_never_downgraded(current: &str, requested: &str) -> ArmResult<()> {
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
pub(crate) fn pool_version_not_above_control_plane(pool: &str, control_plane: &str) -> ArmResult<()> {
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
pub(crate) fn node_image_upgrade_needs_scale_sets(pool_type: &str) -> ArmResult<()> {
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
pub(crate) fn local_accounts_enabled_for_static_credentials(disable_local_accounts: bool) -> ArmResult<()> {
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
pub(crate) fn keep_one_system_pool(remaining_system_pools: usize) -> ArmResult<()> {
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

    fn sp(client: Option<&str>, secret: Option<&str>) -> ServicePrincipalRequest {
        ServicePrincipalRequest {
            client_id: client.map(str::to_string),
            secret: secret.map(str::to_string),
        }
    }

    #[test]
    fn msi_echo_is_accepted_real_sp_is_not() {
        assert!(msi_cluster_cannot_return_to_service_principal(true, None, &sp(Some("msi"), None)).is_ok());
        let e = msi_cluster_cannot_return_to_service_principal(true, None, &sp(Some("abc"), Some("s"))).unwrap_err();
        assert_eq!(e.code, "PropertyChangeNotAllowed");
        assert!(msi_cluster_cannot_return_to_service_principal(false, None, &sp(Some("abc"), None)).is_ok());
        let e =
            msi_cluster_cannot_return_to_service_principal(true, Some(IdentityType::ServicePrincipal), &sp(None, None))
                .unwrap_err();
        assert_eq!(e.code, "PropertyChangeNotAllowed");
    }

    #[test]
    fn control_plane_identity_type() {
        use IdentityType::*;
        let none = sp(None, None);
        assert_eq!(
            super::control_plane_identity_type(None, None, &none).unwrap(),
            SystemAssigned
        );
        assert_eq!(
            super::control_plane_identity_type(None, None, &sp(Some("app"), Some("s"))).unwrap(),
            ServicePrincipal
        );
        assert_eq!(
            super::control_plane_identity_type(None, Some(UserAssigned), &none).unwrap(),
            UserAssigned
        );
        assert_eq!(
            super::control_plane_identity_type(Some(ServicePrincipal), None, &none)
                .unwrap_err()
                .code,
            "BadRequest"
        );
        assert_eq!(
            super::control_plane_identity_type(Some(ServicePrincipal), Some(SystemAssigned), &none)
                .unwrap_err()
                .code,
            "PropertyChangeNotAllowed"
        );
        // SP → MSI is allowed.
        assert_eq!(
            super::control_plane_identity_type(Some(SystemAssigned), Some(ServicePrincipal), &none).unwrap(),
            SystemAssigned
        );
    }

    #[test]
    fn service_principal_cluster_needs_secret() {
        assert!(
            super::service_principal_cluster_needs_secret(IdentityType::ServicePrincipal, &sp(Some("a"), None))
                .is_err()
        );
        assert!(super::service_principal_cluster_needs_secret(
            IdentityType::ServicePrincipal,
            &sp(Some("a"), Some("s"))
        )
        .is_ok());
        assert!(super::service_principal_cluster_needs_secret(IdentityType::SystemAssigned, &sp(None, None)).is_ok());
    }

    fn kubelet(kind: KubeletKind, client: &str) -> KubeletIdentity {
        KubeletIdentity {
            kind,
            client_id: client.into(),
            object_id: format!("{client}-object"),
            resource_id: None,
        }
    }

    #[test]
    fn kubelet_identity_after_update() {
        let sp_kubelet = kubelet(KubeletKind::ServicePrincipal, "sp");
        let custom = kubelet(KubeletKind::UserAssigned, "custom");
        assert_eq!(
            super::kubelet_identity_after_update(None, Some(sp_kubelet.clone()), false, IdentityType::SystemAssigned),
            KubeletAfterUpdate::Managed
        );
        assert_eq!(
            super::kubelet_identity_after_update(
                Some(custom.clone()),
                Some(sp_kubelet.clone()),
                false,
                IdentityType::UserAssigned
            ),
            KubeletAfterUpdate::Custom(custom)
        );
        assert_eq!(
            super::kubelet_identity_after_update(None, Some(sp_kubelet.clone()), false, IdentityType::ServicePrincipal),
            KubeletAfterUpdate::Keep(Some(sp_kubelet))
        );
    }

    #[test]
    fn pools_taking_new_kubelet_identity_now() {
        let f = "AKSUbuntu-2204gen2containerd";
        let (old, new) = (format!("{f}-202512.08.0"), format!("{f}-202512.15.0"));
        let catalog = Catalog::of(&[(f, &[old.as_str(), new.as_str()])]);
        let (was, now) = (
            kubelet(KubeletKind::UserAssigned, "a"),
            kubelet(KubeletKind::UserAssigned, "b"),
        );
        let model = |image: &str, identity: &KubeletIdentity| PoolModel {
            image: image.to_string(),
            identity: Some(identity.clone()),
            ..PoolModel::default()
        };
        let pools = vec![
            ("behind".to_string(), model(&old, &was)),
            ("newest".to_string(), model(&new, &was)),
            ("done".to_string(), model(&new, &now)),
        ];
        assert_eq!(
            super::pools_taking_new_kubelet_identity_now(&pools, &now, &catalog),
            vec![
                ("behind".to_string(), KubeletRollout::Reimage(new.clone())),
                ("newest".to_string(), KubeletRollout::Pending),
            ]
        );
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
