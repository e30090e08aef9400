//! Paging: `{"value": [...], "nextLink": "..."}` with an opaque `$skipToken`; `$top` caps a page.
//!
//! Two kinds of lists: a list built whole ([`page`]) pages by offset; a list read from an
//! ordered index ([`keyed_page`]) pages by key: its token names the creation number of the
//! last item sent, so a page costs what it returns, and items written or removed while a
//! client pages do not shift the others (each item present throughout is sent exactly once).
//! Both accept an offset token (`azemu-page:N`); a keyed list also `azemu-after:N`.

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
    match decode_cursor(token)? {
        Cursor::Offset(n) => Some(n),
        Cursor::After(_) => None,
    }
}

/// Where a page starts.
#[derive(Debug, PartialEq)]
enum Cursor {
    /// After this many items.
    Offset(usize),
    /// After the item with this key.
    After(u64),
}

fn encode_after(key: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("azemu-after:{key}"))
}

fn decode_cursor(token: &str) -> Option<Cursor> {
    let raw = URL_SAFE_NO_PAD.decode(token.trim_end_matches('=')).ok()?;
    let text = String::from_utf8(raw).ok()?;
    if let Some(n) = text.strip_prefix("azemu-page:") {
        return n.parse().ok().map(Cursor::Offset);
    }
    text.strip_prefix("azemu-after:")?.parse().ok().map(Cursor::After)
}

fn invalid_token() -> ArmError {
    ArmError::bad_request(
        "InvalidQueryParameterValue",
        "The value of query parameter '$skipToken' is invalid.",
    )
}

fn page_size(req: &Request, default_size: usize) -> ArmResult<usize> {
    match req.query("$top") {
        Some(t) => t.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            ArmError::bad_request(
                "InvalidQueryParameterValue",
                format!("The value '{t}' of query parameter '$top' is invalid. It must be a positive integer."),
            )
        }),
        None => Ok(default_size),
    }
}

/// The request's URL with `$skipToken` set to `token`.
fn next_link(req: &Request, token: &str) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &req.query {
        if !k.eq_ignore_ascii_case("$skipToken") {
            ser.append_pair(k, v);
        }
    }
    ser.append_pair("$skipToken", token);
    format!("{}{}?{}", req.base_url, req.path, ser.finish())
}

/// One page of a list kept in key order (creation numbers, increasing). `fetch(after, n)`
/// returns, in order, at most `n` items whose key is above `after`, each with its key;
/// `render` turns the ones sent into JSON. `fetch` is asked for one item more than the page
/// holds, to know whether a `nextLink` follows.
pub(crate) fn keyed_page<T>(
    req: &Request,
    fetch: impl FnOnce(u64, usize) -> Vec<(u64, T)>,
    render: impl FnMut(T) -> Value,
) -> ArmResult<Value> {
    let size = page_size(req, DEFAULT_PAGE_SIZE)?;
    let (after, skip) = match req.query("$skipToken") {
        None => (0, 0),
        Some(t) => match decode_cursor(t).ok_or_else(invalid_token)? {
            Cursor::After(k) => (k, 0),
            Cursor::Offset(n) => (0, n),
        },
    };
    let mut items = fetch(after, skip.saturating_add(size).saturating_add(1));
    items.drain(..skip.min(items.len()));
    let more = items.len() > size;
    items.truncate(size);
    let last = items.last().map(|(k, _)| *k);
    let value: Vec<Value> = items.into_iter().map(|(_, t)| t).map(render).collect();
    let mut body = json!({ "value": value });
    if let (true, Some(k)) = (more, last) {
        body["nextLink"] = json!(next_link(req, &encode_after(k)));
    }
    Ok(body)
}

/// One page of `items` for this request.
pub(crate) fn page(req: &Request, items: Vec<Value>) -> ArmResult<Value> {
    page_with_size(req, items, DEFAULT_PAGE_SIZE)
}

pub(crate) fn page_with_size(req: &Request, items: Vec<Value>, default_size: usize) -> ArmResult<Value> {
    let size = page_size(req, default_size)?;
    let offset = match req.query("$skipToken") {
        Some(t) => decode_token(t).ok_or_else(invalid_token)?,
        None => 0,
    };
    let total = items.len();
    let value: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let mut body = json!({ "value": value });
    if offset.saturating_add(size) < total {
        body["nextLink"] = json!(next_link(req, &encode_token(offset + size)));
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
        assert_eq!(decode_cursor(&encode_after(7)), Some(Cursor::After(7)));
        assert_eq!(decode_cursor(&encode_token(3)), Some(Cursor::Offset(3)));
        assert_eq!(
            decode_token(&encode_after(7)),
            None,
            "an offset list takes offsets only"
        );
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
            headers: Default::default(),
            body: Vec::new(),
            base_url: "https://127.0.0.1".into(),
        };
        let page = page(&req, vec![json!(1), json!(2)]).unwrap();
        assert_eq!(page, json!({ "value": [] }));
    }
}
