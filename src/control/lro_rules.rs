//! Per-type timing of long-running operations, set through `/_azemu/lro`:
//! `{"type": "Microsoft.ContainerService/managedClusters", "method": "PUT", "spec": "polls=2"}`.
//! A request's own `x-azemu-lro` header wins over a rule; a rule wins over `--lro-duration`.

use serde::{Deserialize, Serialize};
use std::sync::{Mutex, PoisonError};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct LroRule {
    /// ARM type, e.g. `Microsoft.ContainerService/managedClusters/agentPools`.
    #[serde(rename = "type")]
    pub(crate) type_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<String>,
    /// `immediate`, `manual`, a duration (`3s`), `polls=N`, optionally `,fail`.
    pub(crate) spec: String,
}

#[derive(Default)]
pub(crate) struct LroRules {
    rules: Mutex<Vec<LroRule>>,
}

impl LroRules {
    pub(crate) fn set(&self, r: LroRule) {
        let mut rules = self.rules.lock().unwrap_or_else(PoisonError::into_inner);
        rules.retain(|x| !(x.type_name.eq_ignore_ascii_case(&r.type_name) && x.method == r.method));
        rules.push(r);
    }

    pub(crate) fn list(&self) -> Vec<LroRule> {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub(crate) fn clear(&self) {
        self.rules.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

/// The ARM type of a resource id: `Microsoft.ContainerService/managedClusters/agentPools`.
pub(crate) fn type_of(resource_id: &str) -> String {
    let segs = crate::arm::id::segments(resource_id);
    match crate::arm::id::split_provider_path(&segs) {
        Some(p) => {
            let types: Vec<&str> = p.rest.iter().step_by(2).map(String::as_str).collect();
            format!("{}/{}", p.namespace, types.join("/"))
        }
        None if segs.len() == 4 => "Microsoft.Resources/resourceGroups".to_string(),
        None => String::new(),
    }
}

impl LroRules {
    /// The timing spec for a write of `method` on `resource_id`, if a rule names its type.
    pub(crate) fn rule_for(&self, method: &str, resource_id: &str) -> Option<String> {
        let t = type_of(resource_id);
        self.rules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|r| r.type_name.eq_ignore_ascii_case(&t))
            .find(|r| r.method.as_ref().is_none_or(|m| m.eq_ignore_ascii_case(method)))
            .map(|r| r.spec.clone())
    }
}
