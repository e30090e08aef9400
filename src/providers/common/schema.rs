//! Request validation with the JSON Schemas in `api-specs/`.
//!
//! The schemas are azemu's own, written from the facts in the official API specifications.
//! They are embedded in the binary and compiled once, at start. A body that fails is refused
//! with 400 `InvalidRequestContent` naming the JSON path; read-only properties a client echoes
//! back are allowed by the schemas and ignored by the handlers.

use crate::arm::{ArmError, ArmResult};
use jsonschema::Validator;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;

/// Schemas every provider shares (name, text). Each provider lists its own in its
/// registration ([`crate::providers::ProviderInfo::schemas`]).
const COMMON: &[(&str, &str)] = &[("tagsPatch", include_str!("../../../api-specs/common/tagsPatch.json"))];

/// Every schema: the shared ones and each provider's.
fn all() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    COMMON
        .iter()
        .chain(crate::providers::PROVIDERS.iter().flat_map(|p| p.schemas.iter()))
}

static COMPILED: OnceLock<HashMap<&'static str, Validator>> = OnceLock::new();

/// Compiles every schema; called at start so a broken schema stops azemu at once.
pub(crate) fn compile_all() -> Result<(), String> {
    if COMPILED.get().is_some() {
        return Ok(());
    }
    let mut map = HashMap::new();
    for (name, text) in all() {
        let schema: Value =
            serde_json::from_str(text).map_err(|e| format!("api-specs schema '{name}' is not JSON: {e}"))?;
        let v = jsonschema::validator_for(&schema)
            .map_err(|e| format!("api-specs schema '{name}' does not compile: {e}"))?;
        map.insert(*name, v);
    }
    let _ = COMPILED.set(map);
    Ok(())
}

/// `$.properties.count` style path from a JSON pointer.
fn json_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "$".to_string();
    }
    let mut out = String::from("$");
    for seg in pointer.trim_start_matches('/').split('/') {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if seg.chars().all(|c| c.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            out.push('.');
            out.push_str(&seg);
        }
    }
    out
}

/// A validation message quotes the offending value: a value of megabytes is shown by its
/// start and end only, so an error never echoes a hostile body back.
fn shortened(text: &str) -> String {
    const KEEP: usize = 200;
    let n = text.chars().count();
    if n <= 3 * KEEP {
        return text.to_string();
    }
    let head: String = text.chars().take(KEEP).collect();
    let tail: String = text.chars().skip(n - KEEP).collect();
    format!("{head} … ({} characters) … {tail}", n - 2 * KEEP)
}

/// Validates `body` against the schema `name`.
pub(crate) fn validate(name: &str, body: &Value) -> ArmResult<()> {
    if COMPILED.get().is_none() {
        compile_all().map_err(ArmError::internal)?;
    }
    let Some(v) = COMPILED.get().and_then(|m| m.get(name)) else {
        return Err(ArmError::internal(format!("no schema named '{name}'")));
    };
    let first = v.iter_errors(body).next();
    match first {
        None => Ok(()),
        Some(err) => {
            let path = json_path(&err.instance_path().to_string());
            let what = shortened(&err.to_string());
            Err(ArmError::bad_request(
                "InvalidRequestContent",
                format!("The request content was invalid and could not be deserialized: {what} (at '{path}')."),
            )
            .with_target(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles() {
        compile_all().unwrap();
    }

    #[test]
    fn long_values_are_not_echoed() {
        let big = serde_json::json!({ "location": "westus2", "tags": vec![1; 100_000] });
        let e = validate("resourceGroup", &big).unwrap_err();
        assert!(e.message.len() < 1000, "{}", e.message.len());
        assert!(e.message.contains("characters"));
    }

    #[test]
    fn paths_read_like_json_paths() {
        assert_eq!(
            json_path("/properties/agentPoolProfiles/0/count"),
            "$.properties.agentPoolProfiles[0].count"
        );
        assert_eq!(json_path(""), "$");
    }
}
