//! Name rules of every type azemu serves, checked before a PUT reaches its handler, so no
//! record is ever stored under a name Azure refuses (a `/`, `%`, a control character or a
//! 100 KB string would otherwise become part of an id).
//!
//! Each rule cites its source. General source for lengths and characters: learn.microsoft.com,
//! "Naming rules and restrictions for Azure resources" (resource-name-rules), and the path
//! parameter patterns of the official REST API specifications.

use super::{authorization, container_registry, container_service, managed_identity, resources};
use crate::arm::{id, ArmError, ArmResult};

/// Checks the name a PUT creates or replaces. `namespace` is lower case; `rest` are the
/// segments after it (for ARM's own paths, the whole path).
pub(crate) fn check(namespace: &str, rest: &[String]) -> ArmResult<()> {
    if rest.len() < 2 || !rest.len().is_multiple_of(2) {
        return Ok(());
    }
    let types: Vec<String> = rest.iter().step_by(2).map(|t| t.to_ascii_lowercase()).collect();
    let types: Vec<&str> = types.iter().map(String::as_str).collect();
    let name = rest[rest.len() - 1].as_str();
    match (namespace, types.as_slice()) {
        ("", ["subscriptions", "resourcegroups"]) => resources::groups::check_resource_group_name(name),
        ("microsoft.managedidentity", ["userassignedidentities"]) => managed_identity::check_identity_name(name),
        ("microsoft.containerservice", ["managedclusters"]) => container_service::clusters::check_cluster_name(name),
        // The Windows limit (6) needs the body: the pool handler checks it.
        ("microsoft.containerservice", ["managedclusters", "agentpools"]) => {
            container_service::pools::check_pool_name(name, "Linux")
        }
        ("microsoft.containerservice", ["managedclusters", "maintenanceconfigurations"]) => {
            check_maintenance_configuration_name(name)
        }
        ("microsoft.containerregistry", ["registries"]) => container_registry::check_registry_name(name),
        ("microsoft.network", ["virtualnetworks"]) => check_network_name(name, 2, 64),
        ("microsoft.network", ["virtualnetworks", "subnets"]) => check_network_name(name, 1, 80),
        ("microsoft.authorization", ["roleassignments"]) => {
            authorization::assignments::invalid_role_assignment_id(name)
        }
        ("microsoft.authorization", ["roledefinitions"]) if !id::is_guid(name) => Err(ArmError::bad_request(
            "InvalidRoleDefinitionId",
            format!(
                "The role definition ID '{}' is not valid. The role definition ID must be a GUID.",
                shown(name)
            ),
        )),
        _ => Ok(()),
    }
}

/// A name as error messages show it: at most 100 characters, control characters escaped.
fn shown(name: &str) -> String {
    let mut s: String = name.chars().take(100).flat_map(char::escape_debug).collect();
    if name.chars().count() > 100 {
        s.push('…');
    }
    s
}

/// Virtual networks (2–64) and subnets (1–80): alphanumerics, underscores, periods and
/// hyphens; start with an alphanumeric, end with an alphanumeric or an underscore.
/// Source: resource-name-rules, Microsoft.Network (virtualNetworks, virtualNetworks/subnets).
/// The code is Microsoft.Network's 400 `InvalidResourceName`.
pub(crate) fn check_network_name(name: &str, min: usize, max: usize) -> ArmResult<()> {
    let len = name.chars().count();
    let ok = (min..=max).contains(&len)
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidResourceName",
        format!(
            "Resource name {} is invalid. The name can be {min} to {max} characters long. It must begin with a word character, and it must end with a word character or with '_'. The name may contain word characters or '.', '-', '_'.",
            shown(name)
        ),
    ))
}

/// AKS maintenance configurations: AKS documents three names (`default`,
/// `aksManagedAutoUpgradeSchedule`, `aksManagedNodeOSUpgradeSchedule`; learn.microsoft.com,
/// "Use planned maintenance", and the Azure CLI's `aks maintenanceconfiguration`), while the
/// CLI's `--config-file` and PowerShell (`aks_maintenance_config`) send others. The spec gives
/// no pattern: azemu applies the one the AKS spec gives its other sub-resource names (1–63
/// letters, digits, `-` and `_`, starting and ending with a letter or digit), with AKS's
/// 400 `InvalidParameter`.
pub(crate) fn check_maintenance_configuration_name(name: &str) -> ArmResult<()> {
    let len = name.chars().count();
    let ok = (1..=63).contains(&len)
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.chars().last().is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidParameter",
        format!(
            "The value of parameter configName is invalid: '{}'. Maintenance configuration names must be 1-63 characters of letters, numbers, '-' and '_', starting and ending with a letter or number.",
            shown(name)
        ),
    )
    .with_target("configName"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn network_names() {
        for ok in ["ab", "vnet-1", "a.b_c", "x_"] {
            assert!(check("microsoft.network", &s(&["virtualNetworks", ok])).is_ok(), "{ok}");
        }
        for bad in ["a", "a/b", "%61", "a\0b", "-a", "a.", &"x".repeat(65)] {
            let e = check("microsoft.network", &s(&["virtualNetworks", bad])).unwrap_err();
            assert_eq!(e.code, "InvalidResourceName", "{bad:?}");
        }
        assert!(check("microsoft.network", &s(&["virtualNetworks", "v", "subnets", "s"])).is_ok());
        assert!(check("microsoft.network", &s(&["virtualNetworks", "v", "subnets", "s%"])).is_err());
    }

    #[test]
    fn maintenance_names() {
        for ok in ["default", "aksManagedAutoUpgradeSchedule", "aks_maintenance_config"] {
            assert!(check_maintenance_configuration_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a%", "_a", &"m".repeat(100_000)] {
            assert!(check_maintenance_configuration_name(bad).is_err());
        }
        let long = check_maintenance_configuration_name(&"m".repeat(100_000)).unwrap_err();
        assert!(long.message.len() < 400, "the message does not echo 100 KB");
    }
}
