//! The ARM error envelope: `{"error":{"code","message","target"?,"details"?}}`.
//!
//! Every failure azemu answers, from a malformed body to a refused AKS rule, is an
//! [`ArmError`]. Status, code and message follow what Azure returns for the same case.

use serde_json::{json, Value};
use std::fmt;

/// One ARM error: HTTP status, PascalCase code, human message, optional target and details.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ArmError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    pub(crate) target: Option<String>,
    pub(crate) details: Vec<ArmError>,
    /// Extra response headers (e.g. `Retry-After` on a 429, `Allow` on a 405).
    pub(crate) headers: Vec<(String, String)>,
}

impl ArmError {
    pub(crate) fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> Self {
        ArmError {
            status,
            code: code.into(),
            message: message.into(),
            target: None,
            details: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub(crate) fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    pub(crate) fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(404, code, message)
    }

    pub(crate) fn conflict(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(409, code, message)
    }

    pub(crate) fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// The inner `{"code","message",...}` object (used by operation-status bodies too).
    pub(crate) fn inner_json(&self) -> Value {
        let mut inner = json!({ "code": self.code, "message": self.message });
        if let Some(t) = &self.target {
            inner["target"] = json!(t);
        }
        if !self.details.is_empty() {
            inner["details"] = Value::Array(self.details.iter().map(|d| d.inner_json()).collect());
        }
        inner
    }

    /// The full envelope `{"error": {...}}`.
    pub(crate) fn to_json(&self) -> Value {
        json!({ "error": self.inner_json() })
    }

    // ---- the generic ARM errors every provider shares -------------------------------

    /// `ResourceGroupNotFound` (404): "Resource group '<name>' could not be found."
    pub(crate) fn resource_group_not_found(name: &str) -> Self {
        Self::not_found(
            "ResourceGroupNotFound",
            format!("Resource group '{name}' could not be found."),
        )
    }

    /// `ResourceNotFound` (404), with Azure's wording.
    pub(crate) fn resource_not_found(type_path: &str, name: &str, resource_group: &str) -> Self {
        Self::not_found(
            "ResourceNotFound",
            format!(
                "The Resource '{type_path}/{name}' under resource group '{resource_group}' was not found. \
                 For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// `SubscriptionNotFound` (404).
    pub(crate) fn subscription_not_found(id: &str) -> Self {
        Self::not_found(
            "SubscriptionNotFound",
            format!("The subscription '{id}' could not be found."),
        )
    }

    /// `InvalidRequestContent` (400): a body that is not valid JSON or not the right shape.
    pub(crate) fn invalid_content(detail: impl fmt::Display) -> Self {
        Self::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalServerError", message)
    }
}

impl fmt::Display for ArmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}): {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ArmError {}

pub(crate) type ArmResult<T> = Result<T, ArmError>;
