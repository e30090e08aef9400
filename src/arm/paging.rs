//! Paging: `{"value": [...], "nextLink": "..."}` with an opaque `$skipToken`; `$top` caps a page.

use super::error::{ArmError, ArmResult};
use super::request::Request;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

/// Default number of items per page when the caller gives no `$top`.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 100;

fn encode_token(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("azemu-page:{offset}"))
}

fn decode_token(token: &str) -> Option<usize> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    String::from_utf8(raw).ok()?.strip_prefix("azemu-page:")?.parse().ok()
}

/// One page of `items` for this request.
pub(crate) fn page(req: &Request, items: Vec<Value>) -> ArmResult<Value> {
    page_with_size(req, items, DEFAULT_PAGE_SIZE)
}

pub(crate) fn page_with_size(req: &Request, items: Vec<Value>, default_size: usize) -> ArmResult<Value> {
    let size = match req.query("$top") {
        Some(t) => t.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidQueryParameterValue",
                format!("The value '{t}' of query parameter '$top' is invalid. It must be a positive integer."),
            )
        })?,
        None => default_size,
    };
    let offset = match req.query("$skipToken") {
        Some(t) => decode_token(t).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidQueryParameterValue",
                "The value of query parameter '$skipToken' is invalid.",
            )
        })?,
        None => 0,
    };
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let mut body = json!({ "value": value });
    // `$top` and the token's offset come from the client: any `usize` each, so their sum may
    // not fit. Past the end there is no next page.
    let next = offset.checked_add(size).filter(|n| *n < total);
    if let Some(next) = next {
        let mut ser = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &req.query {
            if !k.eq_ignore_ascii_case("$skipToken") {
                ser.append_pair(k, v);
            }
        }
        ser.append_pair("$skipToken", &encode_token(next));
        body["nextLink"] = json!(format!("{}{}?{}", req.base_url, req.path, ser.finish()));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        assert_eq!(decode_token(&encode_token(42)), Some(42));
        assert_eq!(decode_token("garbage"), None);
    }

    #[test]
    fn huge_top_and_offset_do_not_overflow() {
        let req = Request {
            method: "GET".into(),
            segments: Vec::new(),
            path: "/x".into(),
            query: vec![
                ("$top".into(), usize::MAX.to_string()),
                ("$skipToken".into(), encode_token(usize::MAX - 1)),
            ],
            headers: Vec::new(),
            body: Vec::new(),
            base_url: "https://127.0.0.1".into(),
        };
        let page = page(&req, vec![json!(1), json!(2)]).unwrap();
        assert_eq!(page, json!({ "value": [] }));
    }
}
