//! What the server checks before a request reaches dispatch: how large a body may be, how the
//! path is encoded, what media type a body has, and how deep its JSON nests. Each refusal is
//! an ARM error with ARM's code.

use crate::arm::ArmError;
use crate::control::state::{json_depth, MAX_BODY_DEPTH};

/// Bodies larger than this are refused with 413.
pub(crate) const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// `PUT /_azemu/state` imports a whole snapshot: bounded, but far above a request's limit.
pub(crate) const MAX_STATE_BYTES: usize = 256 * 1024 * 1024;

/// The most a body of `method` on `raw_path` may have.
pub(crate) fn body_limit(method: &str, raw_path: &str) -> usize {
    if method == "PUT" && is_state_import(raw_path) {
        MAX_STATE_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

fn is_state_import(raw_path: &str) -> bool {
    let segs: Vec<&str> = raw_path.split('/').filter(|s| !s.is_empty()).collect();
    matches!(segs.as_slice(), [a, b] if a.eq_ignore_ascii_case("_azemu") && b.eq_ignore_ascii_case("state"))
}

pub(crate) fn too_large(limit: usize) -> ArmError {
    ArmError::new(
        413,
        "RequestEntityTooLarge",
        format!("The request content is larger than the {limit} bytes azemu accepts."),
    )
}

/// The raw (still encoded) path: decoded exactly once later, so an encoded `%` is refused as
/// ARM does ("The request URI '…' is not valid, because it contains double encoding sequence
/// '%25'", 400 `InvalidDoubleEncodedRequestUri`, as the Azure SDK for .NET reports it:
/// Azure/azure-sdk-for-net#47615), and so is an encoded `/` inside a segment, which would
/// otherwise make one name two segments of an id (no Azure name may contain `/`:
/// learn.microsoft.com, "Naming rules and restrictions for Azure resources").
pub(crate) fn check_path(raw_path: &str) -> Result<(), ArmError> {
    if !raw_path.contains('%') {
        return Ok(());
    }
    let lower = raw_path.to_ascii_lowercase();
    if lower.contains("%25") {
        return Err(ArmError::bad_request(
            "InvalidDoubleEncodedRequestUri",
            format!("The request URI '{raw_path}' is not valid, because it contains double encoding sequence '%25'."),
        ));
    }
    if lower.contains("%2f") {
        return Err(ArmError::bad_request(
            "InvalidRequestUri",
            format!("The request URI '{raw_path}' is not valid: a path segment cannot contain an encoded '/'."),
        ));
    }
    Ok(())
}

/// True for the routes whose bodies are not JSON: the token endpoints (form-encoded) and
/// the IMDS-style token endpoint.
fn form_route(segments: &[String]) -> bool {
    let first = segments.first().map(|s| s.to_ascii_lowercase()).unwrap_or_default();
    first == "metadata" || segments.iter().any(|s| s.eq_ignore_ascii_case("oauth2"))
}

/// A JSON media type: `application/json` (any parameters, e.g. `; charset=utf-8` as az and
/// the SDKs send), `text/json`, or a `+json` structured syntax (`application/merge-patch+json`).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json"
        || essence == "text/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A body on a JSON route must be JSON (ARM: 415 `UnsupportedMediaType`), and not nest
/// deeper than [`MAX_BODY_DEPTH`] (what azemu stores it can save and load again). A body
/// without a `Content-Type` is read as JSON.
pub(crate) fn check_body(
    method: &str,
    segments: &[String],
    content_type: Option<&str>,
    body: &[u8],
) -> Result<(), ArmError> {
    if !matches!(method, "PUT" | "PATCH" | "POST") || body.iter().all(u8::is_ascii_whitespace) || form_route(segments) {
        return Ok(());
    }
    if let Some(ct) = content_type.filter(|ct| !is_json(ct)) {
        return Err(ArmError::new(
            415,
            "UnsupportedMediaType",
            format!("The content media type '{ct}' is not supported. Only 'application/json' is supported."),
        ));
    }
    let limit = if segments.len() == 2 && segments[0] == "_azemu" && segments[1].eq_ignore_ascii_case("state") {
        // A snapshot wraps bodies in a few levels of its own; serde_json reads 128.
        128
    } else {
        MAX_BODY_DEPTH
    };
    if json_depth(body, limit) > limit {
        return Err(ArmError::invalid_content(format!(
            "the JSON nests deeper than {limit} levels"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=UTF-8",
            "text/json",
            "application/merge-patch+json",
        ] {
            assert!(is_json(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "application/xml",
            "",
            "json",
        ] {
            assert!(!is_json(bad), "{bad}");
        }
    }

    #[test]
    fn paths() {
        assert!(check_path("/subscriptions/x/resourceGroups/a%20b").is_ok());
        assert_eq!(
            check_path("/a/%2561").unwrap_err().code,
            "InvalidDoubleEncodedRequestUri"
        );
        assert_eq!(check_path("/a/b%2Fc").unwrap_err().code, "InvalidRequestUri");
        assert!(body_limit("PUT", "/_azemu/state") > body_limit("PUT", "/_azemu/faults"));
        assert_eq!(body_limit("GET", "/_azemu/state"), MAX_BODY_BYTES);
    }
}
