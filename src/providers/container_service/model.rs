//! The typed vocabulary of the AKS handlers: identity types, pool modes, provisioning states
//! and the HTTP methods the handlers branch on. ARM bodies stay JSON (their shape is Azure's);
//! decisions are made on these types.

use crate::arm::lro::Outcome;
use crate::arm::{ArmError, ArmResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// Who the control plane acts as: a managed identity (system- or user-assigned), or a
/// service principal (ARM `identity.type` `None`, or no `identity` block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IdentityType {
    SystemAssigned,
    UserAssigned,
    ServicePrincipal,
}

impl IdentityType {
    /// ARM's `identity.type` value (the schema admits exactly these three).
    pub(crate) fn parse(s: &str) -> ArmResult<IdentityType> {
        match s {
            "SystemAssigned" => Ok(IdentityType::SystemAssigned),
            "UserAssigned" => Ok(IdentityType::UserAssigned),
            "None" => Ok(IdentityType::ServicePrincipal),
            other => Err(ArmError::bad_request(
                "InvalidParameter",
                format!("The identity type '{other}' is not supported."),
            )
            .with_target("identity.type")),
        }
    }

    /// The value of `identity.type` in an ARM body.
    pub(crate) fn arm_name(self) -> &'static str {
        match self {
            IdentityType::SystemAssigned => "SystemAssigned",
            IdentityType::UserAssigned => "UserAssigned",
            IdentityType::ServicePrincipal => "None",
        }
    }

    /// The type of a stored cluster body: no identity (or `None`) is a service principal.
    pub(crate) fn of_cluster(body: &Value) -> IdentityType {
        match body["identity"]["type"].as_str() {
            Some("SystemAssigned") => IdentityType::SystemAssigned,
            Some("UserAssigned") => IdentityType::UserAssigned,
            _ => IdentityType::ServicePrincipal,
        }
    }

    /// A managed identity (MSI) cluster.
    pub(crate) fn is_msi(self) -> bool {
        self != IdentityType::ServicePrincipal
    }
}

/// What a kubelet runs as: a user-assigned identity, a service principal, or nothing (a node
/// built before the cluster named one). Serialized as the node model's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum KubeletKind {
    UserAssigned,
    ServicePrincipal,
    None,
}

impl fmt::Display for KubeletKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KubeletKind::UserAssigned => "UserAssigned",
            KubeletKind::ServicePrincipal => "ServicePrincipal",
            KubeletKind::None => "None",
        })
    }
}

/// An agent pool's mode (the schema admits exactly these).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolMode {
    System,
    User,
    Gateway,
}

impl PoolMode {
    /// A mode as a request or a stored pool spells it; anything else is no known mode.
    pub(crate) fn parse(s: &str) -> Option<PoolMode> {
        match s {
            "System" => Some(PoolMode::System),
            "User" => Some(PoolMode::User),
            "Gateway" => Some(PoolMode::Gateway),
            _ => None,
        }
    }

    /// The mode of a stored pool body.
    pub(crate) fn of_pool(body: &Value) -> Option<PoolMode> {
        body["properties"]["mode"].as_str().and_then(PoolMode::parse)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            PoolMode::System => "System",
            PoolMode::User => "User",
            PoolMode::Gateway => "Gateway",
        }
    }
}

/// `properties.provisioningState` of a cluster or pool: what it is doing, or how its last
/// operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProvisioningState {
    Creating,
    Updating,
    Upgrading,
    Deleting,
    Starting,
    Stopping,
    UpgradingNodeImageVersion,
    Succeeded,
    Failed,
    Canceled,
}

impl ProvisioningState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ProvisioningState::Creating => "Creating",
            ProvisioningState::Updating => "Updating",
            ProvisioningState::Upgrading => "Upgrading",
            ProvisioningState::Deleting => "Deleting",
            ProvisioningState::Starting => "Starting",
            ProvisioningState::Stopping => "Stopping",
            ProvisioningState::UpgradingNodeImageVersion => "UpgradingNodeImageVersion",
            ProvisioningState::Succeeded => "Succeeded",
            ProvisioningState::Failed => "Failed",
            ProvisioningState::Canceled => "Canceled",
        }
    }

    /// The state an operation's outcome leaves.
    pub(crate) fn ended(outcome: &Outcome) -> ProvisioningState {
        match outcome {
            Outcome::Succeeded => ProvisioningState::Succeeded,
            Outcome::Failed(_) => ProvisioningState::Failed,
            Outcome::Canceled => ProvisioningState::Canceled,
        }
    }
}

impl fmt::Display for ProvisioningState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The methods the cluster and pool handlers serve (the routing table admits no others).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub(crate) fn of(method: &str) -> ArmResult<Method> {
        match method {
            "GET" => Ok(Method::Get),
            "PUT" => Ok(Method::Put),
            "PATCH" => Ok(Method::Patch),
            "DELETE" => Ok(Method::Delete),
            other => Err(ArmError::new(
                405,
                "MethodNotAllowed",
                format!("The method '{other}' is not allowed here."),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_types_round_trip_arm_names() {
        for t in [
            IdentityType::SystemAssigned,
            IdentityType::UserAssigned,
            IdentityType::ServicePrincipal,
        ] {
            assert_eq!(IdentityType::parse(t.arm_name()).unwrap(), t);
        }
        assert_eq!(IdentityType::parse("Bogus").unwrap_err().code, "InvalidParameter");
        assert_eq!(IdentityType::of_cluster(&json!({})), IdentityType::ServicePrincipal);
        assert!(IdentityType::of_cluster(&json!({"identity": {"type": "UserAssigned"}})).is_msi());
    }

    #[test]
    fn kubelet_kinds_serialize_as_their_names() {
        assert_eq!(
            serde_json::to_value(KubeletKind::ServicePrincipal).unwrap(),
            json!("ServicePrincipal")
        );
        assert_eq!(KubeletKind::UserAssigned.to_string(), "UserAssigned");
    }
}
