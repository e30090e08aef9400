//! Template errors, shaped as ARM reports them.
//!
//! Message formats seen from Azure:
//! - `Deployment template validation failed: '<reason>'.` with `additionalInfo`
//!   `[{"type":"TemplateViolation","info":{"lineNumber","linePosition","path"}}]`
//!   (microsoft/fabric-toolbox#398);
//! - `Deployment template language expression evaluation failed: '<reason>'. Please see
//!   https://aka.ms/arm-template-expressions for usage details.` (Azure/azure-cli#14373);
//! - `Unable to process template language expressions for resource '<id>' at line 'N' and
//!   column 'M'. '<reason>'` for a failure while deploying (F5Networks/f5-azure-arm-templates#238);
//! - `Deployment template parse failed: '<json error>'.`

use super::json::Pos;
use crate::arm::error::ArmError;
#[cfg(test)]
use serde_json::{json, Value};
use std::fmt;

/// An error while evaluating one value: an expression failure (message and position inside
/// the expression string) or an error the environment answered (a `reference()` to a missing
/// resource, a failed `list*()` call), passed through as it came.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalError {
    pub(crate) message: String,
    /// Character position inside the expression string.
    pub(crate) position: Option<usize>,
    /// JSON path (relative to the template) of the string holding the expression.
    pub(crate) path: Option<String>,
    pub(crate) env: Option<ArmError>,
}

impl EvalError {
    pub(crate) fn msg(message: impl Into<String>) -> Self {
        EvalError {
            message: message.into(),
            position: None,
            path: None,
            env: None,
        }
    }

    pub(crate) fn at(message: impl Into<String>, position: usize) -> Self {
        EvalError {
            position: Some(position),
            ..Self::msg(message)
        }
    }

    pub(crate) fn env(e: ArmError) -> Self {
        EvalError {
            env: Some(e.clone()),
            ..Self::msg(e.message)
        }
    }

    /// Sets the JSON path unless an inner value already did.
    pub(crate) fn in_path(mut self, path: &str) -> Self {
        if self.path.is_none() {
            self.path = Some(path.to_string());
        }
        self
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A template failure, ready to become an ARM error.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TemplateError {
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) message: String,
    /// JSON path of the offending element (prefixed as the caller asked, e.g.
    /// `properties.template.resources[0]`).
    pub(crate) path: Option<String>,
    pub(crate) pos: Option<Pos>,
    /// Set when the failure is an environment error passed through unchanged.
    pub(crate) inner: Option<ArmError>,
    /// Character position inside the failing expression string, when one failed.
    pub(crate) expression_position: Option<usize>,
}

impl TemplateError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        TemplateError {
            status: 400,
            code: "InvalidTemplate".into(),
            message: message.into(),
            path: None,
            pos: None,
            inner: None,
            expression_position: None,
        }
    }

    /// `Deployment template validation failed: '<reason>'.`
    pub(crate) fn validation(reason: &str) -> Self {
        Self::invalid(format!("Deployment template validation failed: '{reason}'."))
    }

    pub(crate) fn located(mut self, path: Option<String>, pos: Option<Pos>) -> Self {
        self.path = path;
        self.pos = pos;
        self
    }

    /// `additionalInfo` as ARM attaches it to template violations.
    #[cfg(test)]
    pub(crate) fn additional_info(&self) -> Option<Value> {
        let pos = self.pos?;
        Some(json!([{
            "type": "TemplateViolation",
            "info": {
                "lineNumber": pos.line,
                "linePosition": pos.column,
                "path": self.path.clone().unwrap_or_default(),
            }
        }]))
    }

    /// The ARM error: the environment's own error when it is one, else `InvalidTemplate`.
    pub(crate) fn to_arm(&self) -> ArmError {
        if let Some(inner) = &self.inner {
            return inner.clone();
        }
        ArmError::new(self.status, self.code.clone(), self.message.clone())
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for TemplateError {}

/// "at line 'L' and column 'C'" (empty when the position is unknown).
pub(crate) fn at_line(pos: Option<Pos>) -> String {
    match pos {
        Some(p) => format!(" at line '{}' and column '{}'", p.line, p.column),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn additional_info_has_the_template_violation_shape() {
        let e = TemplateError::validation("x").located(
            Some("properties.template.parameters.p".into()),
            Some(Pos { line: 1, column: 702 }),
        );
        assert_eq!(e.message, "Deployment template validation failed: 'x'.");
        assert_eq!(
            e.additional_info().unwrap(),
            json!([{"type":"TemplateViolation","info":{"lineNumber":1,"linePosition":702,"path":"properties.template.parameters.p"}}])
        );
        assert_eq!(e.to_arm().status, 400);
        assert_eq!(e.to_arm().code, "InvalidTemplate");
    }

    #[test]
    fn environment_errors_pass_through() {
        let inner = ArmError::not_found("ResourceNotFound", "gone");
        let mut e = TemplateError::invalid("x");
        e.inner = Some(inner.clone());
        assert_eq!(e.to_arm(), inner);
        assert_eq!(at_line(None), "");
        assert_eq!(at_line(Some(Pos { line: 2, column: 3 })), " at line '2' and column '3'");
    }
}
