//! The authorization engine: does principal P hold action A at scope S?
//!
//! One function the whole product uses — `--enforce-rbac`, the AKS identity rules, the image
//! pull check and the `/_azemu/authorize` explanation. It follows inheritance down the scope
//! tree, wildcards in actions and `notActions`, and explains its answer.

use super::{assignments, definitions};
use crate::arm::glob;
use serde::Serialize;
use serde_json::Value;

use crate::world::Tx;

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Grant {
    pub(crate) role_assignment_id: String,
    pub(crate) role_definition_id: String,
    pub(crate) role_name: String,
    pub(crate) scope: String,
    /// The `actions` entry that matched.
    pub(crate) matched_action: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Decision {
    pub(crate) allowed: bool,
    pub(crate) principal_id: String,
    pub(crate) action: String,
    pub(crate) scope: String,
    /// The assignment that grants the action, when allowed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) granted_by: Option<Grant>,
    /// Why: which assignments were considered and what each lacked.
    pub(crate) reason: String,
    pub(crate) considered: Vec<String>,
}

/// An RBAC action pattern: a glob (`*` spans `/`, case ignored) where a `/*/` segment may also
/// match a single `/` (`userAssignedIdentities/*/read` covers `userAssignedIdentities/read`).
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    glob::matches(pattern, action) || (pattern.contains("/*/") && glob::matches(&pattern.replace("/*/", "/"), action))
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The `actions` entry of `permissions` that allows `action`, if any (`notActions` subtract).
fn permits(permissions: &Value, action: &str) -> Option<String> {
    for block in permissions.as_array().into_iter().flatten() {
        let allowed = strings(&block["actions"])
            .into_iter()
            .find(|p| action_matches(p, action));
        let denied = strings(&block["notActions"])
            .into_iter()
            .any(|p| action_matches(p, action));
        if let (Some(a), false) = (allowed, denied) {
            return Some(a.to_string());
        }
    }
    None
}

/// Does `principal_id` hold `action` at `scope`?
pub(crate) fn check(w: &Tx, principal_id: &str, action: &str, scope: &str) -> Decision {
    let mut considered = Vec::new();
    let mut granted_by = None;
    for a in assignments::of_principal_above(w, principal_id, scope) {
        let props = &a.body["properties"];
        let def_id = props["roleDefinitionId"].as_str().unwrap_or("");
        let at = props["scope"].as_str().unwrap_or("");
        let Some(role) = definitions::find(w, &definitions::guid_of(def_id)) else {
            considered.push(format!("{}: role definition {def_id} no longer exists", a.id));
            continue;
        };
        match permits(&role.properties["permissions"], action) {
            Some(matched) => {
                granted_by = Some(Grant {
                    role_assignment_id: a.id.clone(),
                    role_definition_id: def_id.to_string(),
                    role_name: role.name().to_string(),
                    scope: at.to_string(),
                    matched_action: matched,
                });
                considered.push(format!("{}: '{}' at '{at}' grants it", a.id, role.name()));
                break;
            }
            None => considered.push(format!(
                "{}: '{}' at '{at}' does not include '{action}'",
                a.id,
                role.name()
            )),
        }
    }
    let reason = match &granted_by {
        Some(g) => format!("Allowed by role '{}' assigned at scope '{}' ({}).", g.role_name, g.scope, g.role_assignment_id),
        None if considered.is_empty() => format!("Denied: principal '{principal_id}' has no role assignment at or above scope '{scope}'."),
        None => format!("Denied: none of the {} role assignment(s) of principal '{principal_id}' at or above '{scope}' includes '{action}'.", considered.len()),
    };
    Decision {
        allowed: granted_by.is_some(),
        principal_id: principal_id.to_string(),
        action: action.to_string(),
        scope: scope.to_string(),
        granted_by,
        reason,
        considered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(action_matches("*", "Microsoft.Foo/bar/read"));
        assert!(action_matches(
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"
        ));
        assert!(action_matches(
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
            "microsoft.managedidentity/userassignedidentities/assign/action"
        ));
        assert!(action_matches(
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
            "Microsoft.ManagedIdentity/userAssignedIdentities/read"
        ));
        assert!(!action_matches(
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/write",
            "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"
        ));
        assert!(action_matches(
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/roleAssignments/write"
        ));
    }

    #[test]
    fn not_actions_subtract() {
        let perms: Value = serde_json::json!([{"actions": ["*"], "notActions": ["Microsoft.Authorization/*/Write"]}]);
        assert!(permits(&perms, "Microsoft.Compute/virtualMachines/write").is_some());
        assert!(permits(&perms, "Microsoft.Authorization/roleAssignments/write").is_none());
    }
}
