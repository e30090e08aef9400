//! The request and response values handlers see: plain data, no HTTP library types, so
//! handlers can be called from the server, from scenarios or from tests alike.

use super::error::{ArmError, ArmResult};
use serde_json::Value;

/// One incoming call, already decoded by the server.
#[derive(Debug, Clone, Default)]
pub(crate) struct Request {
    /// Upper-case method.
    pub(crate) method: String,
    /// The normalized path (single slashes, decoded, no trailing slash).
    pub(crate) path: String,
    pub(crate) segments: Vec<String>,
    /// Query pairs in order, decoded.
    pub(crate) query: Vec<(String, String)>,
    /// Headers with lower-case names.
    pub(crate) headers: Headers,
    pub(crate) body: Vec<u8>,
    /// The advertised base URL (`https://127.0.0.1:8443`), for links in responses.
    pub(crate) base_url: std::sync::Arc<str>,
}

impl Request {
    /// A query parameter, name matched case-insensitively (`$skipToken` / `$skiptoken`).
    pub(crate) fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    pub(crate) fn api_version(&self) -> Option<&str> {
        self.query("api-version")
    }

    /// The body as JSON; an empty body is an error.
    pub(crate) fn json(&self) -> ArmResult<Value> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(ArmError::invalid_content("The request body is empty"));
        }
        serde_json::from_slice(&self.body).map_err(ArmError::invalid_content)
    }

    /// The body as JSON; an empty body is `{}` (POST actions often send none).
    pub(crate) fn json_or_empty(&self) -> ArmResult<Value> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(Value::Object(Default::default()));
        }
        serde_json::from_slice(&self.body).map_err(ArmError::invalid_content)
    }

    /// The JSON body, which must be an object.
    pub(crate) fn json_object(&self) -> ArmResult<Value> {
        let v = self.json()?;
        if !v.is_object() {
            return Err(ArmError::invalid_content("The request body must be a JSON object"));
        }
        Ok(v)
    }

    /// `{base}{path}` — the absolute URL of a path on this server.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

/// A request's headers, names lower case, in the order sent: kept in one string (two
/// allocations per request, not two per header).
#[derive(Debug, Clone, Default)]
pub(crate) struct Headers {
    /// Names and values back to back.
    text: String,
    /// Per header, where its name and its value end in `text`.
    ends: Vec<(usize, usize)>,
}

impl Headers {
    /// Room for `count` headers of `bytes` bytes in all.
    pub(crate) fn with_capacity(count: usize, bytes: usize) -> Headers {
        Headers {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(count),
        }
    }

    /// Adds a header; `name` must be lower case.
    pub(crate) fn push(&mut self, name: &str, value: &str) {
        self.text.push_str(name);
        let name_end = self.text.len();
        self.text.push_str(value);
        self.ends.push((name_end, self.text.len()));
    }

    /// The headers in order, as (name, value).
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut start = 0;
        self.ends.iter().map(move |&(name_end, end)| {
            let pair = (&self.text[start..name_end], &self.text[name_end..end]);
            start = end;
            pair
        })
    }

    /// The first header named `name` (matched case-insensitively).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

/// The content type of every JSON answer.
pub(crate) const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// What a handler answers.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Body,
}

#[derive(Debug, Clone)]
pub(crate) enum Body {
    Empty,
    Json(Value),
    /// Raw bytes with their content type (kubeconfig downloads, PEM files, JSON already
    /// written as text).
    Raw(Vec<u8>, std::borrow::Cow<'static, str>),
}

impl Body {
    /// The body as a JSON value: JSON bodies, and JSON already written as text (a stored
    /// record served as it is); `None` for anything else.
    pub(crate) fn into_json(self) -> Option<Value> {
        match self {
            Body::Json(v) => Some(v),
            Body::Raw(b, _) => serde_json::from_slice(&b).ok(),
            Body::Empty => None,
        }
    }
}

impl Response {
    pub(crate) fn json(status: u16, body: Value) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Json(body),
        }
    }

    pub(crate) fn ok(body: Value) -> Response {
        Self::json(200, body)
    }

    pub(crate) fn empty(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Empty,
        }
    }

    /// A JSON body serialized straight from a borrowed value (no copy of the value).
    pub(crate) fn json_of(status: u16, value: &Value) -> Response {
        Self::json_text(status, serde_json::to_vec(value).unwrap_or_default())
    }

    /// A JSON body already written as compact text (a stored record's body).
    pub(crate) fn json_text(status: u16, text: Vec<u8>) -> Response {
        Self::raw(status, text, JSON_CONTENT_TYPE)
    }

    pub(crate) fn raw(
        status: u16,
        bytes: Vec<u8>,
        content_type: impl Into<std::borrow::Cow<'static, str>>,
    ) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Raw(bytes, content_type.into()),
        }
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self
    }
}

impl From<ArmError> for Response {
    fn from(e: ArmError) -> Response {
        let mut r = Response::json(e.status, e.to_json());
        r.headers.extend(e.headers.iter().cloned());
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_keep_order_and_match_names_in_any_case() {
        let mut h = Headers::with_capacity(0, 0);
        h.push("host", "127.0.0.1:1");
        h.push("x-empty", "");
        h.push("accept", "application/json");
        h.push("accept", "text/plain");
        let all: Vec<(&str, &str)> = h.iter().collect();
        assert_eq!(
            all,
            [
                ("host", "127.0.0.1:1"),
                ("x-empty", ""),
                ("accept", "application/json"),
                ("accept", "text/plain")
            ]
        );
        assert_eq!(h.get("Accept"), Some("application/json"));
        assert_eq!(h.get("X-EMPTY"), Some(""));
        assert_eq!(h.get("missing"), None);
        assert_eq!(Headers::default().get("host"), None);
    }
}
