//! `api-version` gating.
//!
//! By default any well-formed version is accepted: az 2.91 and Terraform's azurerm 4.x send
//! different versions for the same type, and both must work. `--strict-api-versions` refuses
//! versions outside a type's list with ARM's codes.

use super::error::{ArmError, ArmResult};
use super::request::Request;

/// Missing `api-version` → 400 `MissingApiVersionParameter`; malformed → 400 `InvalidApiVersionParameter`.
pub(crate) fn require(req: &Request) -> ArmResult<&str> {
    let v = req.api_version().ok_or_else(|| {
        ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    })?;
    if !well_formed(v) {
        return Err(ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!("The api-version '{v}' is invalid. The supported versions are in the form 'yyyy-mm-dd' with an optional '-preview' suffix."),
        ));
    }
    Ok(v)
}

/// `yyyy-mm-dd` with an optional suffix such as `-preview`, `-beta`, `-privatepreview`.
pub(crate) fn well_formed(v: &str) -> bool {
    let (date, suffix) = match v.get(..10) {
        Some(d) => (d, &v[10..]),
        None => return false,
    };
    let b = date.as_bytes();
    let date_ok = b.iter().enumerate().all(|(i, c)| match i {
        4 | 7 => *c == b'-',
        _ => c.is_ascii_digit(),
    });
    let suffix_ok = suffix.is_empty()
        || (suffix.starts_with('-') && suffix.len() > 1 && suffix[1..].chars().all(|c| c.is_ascii_alphanumeric()));
    date_ok && suffix_ok
}

/// Who owns a type decides which code a refused version gets.
pub(crate) enum Owner<'a> {
    /// ARM's own types (resource groups, subscriptions, providers, role assignments).
    Arm,
    /// A resource provider's type: `NoRegisteredProviderFound` names the type and location.
    Provider {
        type_name: &'a str,
        location: &'a str,
        locations: &'a str,
    },
}

/// In strict mode, refuses a version outside `supported`.
pub(crate) fn check_strict(version: &str, supported: &[&str], owner: Owner) -> ArmResult<()> {
    if supported.is_empty() || supported.iter().any(|s| s.eq_ignore_ascii_case(version)) {
        return Ok(());
    }
    let list = supported.join(", ");
    Err(match owner {
        Owner::Arm => ArmError::bad_request(
            "InvalidApiVersionParameter",
            format!("The api-version '{version}' is invalid. The supported versions are '{list}'."),
        ),
        Owner::Provider { type_name, location, locations } => ArmError::bad_request(
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version '{version}' for type '{type_name}'. \
                 The supported api-versions are '{list}'. The supported locations are '{locations}'."
            ),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(well_formed("2024-11-01"));
        assert!(well_formed("2025-05-31-preview"));
        assert!(!well_formed("2024-1-01"));
        assert!(!well_formed("latest"));
        assert!(!well_formed("2024-11-01-"));
    }
}
