//! String functions (template-functions-string).

use super::super::dotnet;
use super::super::hash;
use super::{to_text, Args};
use crate::providers::resources::deployments::template::error::EvalError;
use base64::Engine;
use serde_json::Value;

type R = Result<Value, EvalError>;

pub(super) fn call(name: &str, a: &Args) -> Option<R> {
    Some(match name {
        "base64" => one_str(a, |s| Ok(b64().encode(s).into())),
        "base64tostring" => one_str(a, |s| decode_b64(a, s).map(Value::from)),
        "base64tojson" => one_str(a, |s| {
            decode_b64(a, s).and_then(|t| super::collection::parse_json(a, &t))
        }),
        "datauri" => data_uri(a),
        "datauritostring" => one_str(a, |s| data_uri_to_string(a, s)),
        "endswith" => two_str(a, |s, t| Ok(lower(s).ends_with(&lower(t)).into())),
        "startswith" => two_str(a, |s, t| Ok(lower(s).starts_with(&lower(t)).into())),
        "format" => format(a),
        "guid" => hash_args(a, 1).map(|p| hash::guid(&refs(&p)).into()),
        "uniquestring" => unique_string(a),
        "padleft" => pad_left(a),
        "replace" => replace(a),
        "split" => split(a),
        "string" => a.count(1, 1).map(|_| Value::from(to_string(&a.v[0]))),
        "substring" => substring(a),
        "tolower" => one_str(a, |s| Ok(s.to_lowercase().into())),
        "toupper" => one_str(a, |s| Ok(s.to_uppercase().into())),
        "trim" => one_str(a, |s| Ok(s.trim().into())),
        "uri" => two_str(a, |b, r| Ok(resolve_uri(b, r).into())),
        "uricomponent" => one_str(a, |s| Ok(escape_data(s).into())),
        "uricomponenttostring" => one_str(a, |s| Ok(unescape_data(s).into())),
        "join" => join(a),
        _ => return None,
    })
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn lower(s: &str) -> String {
    s.to_lowercase()
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn one_str(a: &Args, f: impl FnOnce(&str) -> R) -> R {
    a.count(1, 1)?;
    f(a.str(0)?)
}

fn two_str(a: &Args, f: impl FnOnce(&str, &str) -> R) -> R {
    a.count(2, 2)?;
    f(a.str(0)?, a.str(1)?)
}

/// `uniqueString`/`guid` arguments: strings only (InvalidTemplateFunctionParametersStringLiterals).
fn hash_args(a: &Args, min: usize) -> Result<Vec<String>, EvalError> {
    a.count(min, usize::MAX)?;
    (0..a.len()).map(|i| a.str(i).map(str::to_string)).collect()
}

/// `uniqueString`: the joined input may be at most 131072 characters
/// (`TemplateLiteralLimitExceeded`).
fn unique_string(a: &Args) -> R {
    let parts = hash_args(a, 1)?;
    let len: usize = parts.iter().map(|p| p.chars().count()).sum::<usize>() + parts.len() - 1;
    if len > 131_072 {
        return Err(a.error(format!(
            "the length of the input '{len}' exceeds the limit of '131072' characters (TemplateLiteralLimitExceeded)"
        )));
    }
    Ok(hash::unique_string(&refs(&parts)).into())
}

fn decode_b64(a: &Args, s: &str) -> Result<String, EvalError> {
    let bytes = b64()
        .decode(s.trim())
        .map_err(|_| a.error("the input is not a valid Base-64 string"))?;
    String::from_utf8(bytes).map_err(|_| a.error("the decoded bytes are not valid UTF-8"))
}

/// `data:text/plain;charset=utf8;base64,...` (template-functions-string#datauri:
/// `dataUri('Hello')` is `data:text/plain;charset=utf8;base64,SGVsbG8=`).
fn data_uri(a: &Args) -> R {
    a.count(1, 1)?;
    let text = match &a.v[0] {
        Value::String(s) => s.clone(),
        other => to_string(other),
    };
    Ok(format!("data:text/plain;charset=utf8;base64,{}", b64().encode(text)).into())
}

fn data_uri_to_string(a: &Args, s: &str) -> R {
    let (meta, data) = s
        .strip_prefix("data:")
        .and_then(|r| r.split_once(','))
        .ok_or_else(|| a.error("the input is not a valid data URI"))?;
    if meta.ends_with(";base64") {
        decode_b64(a, data).map(Value::from)
    } else {
        Ok(unescape_data(data).into())
    }
}

/// `string(x)`: strings as they are, objects and arrays as compact JSON, bools as `True`/`False`
/// (template-functions-string#string; Azure/PSRule.Rules.Azure#793).
pub(crate) fn to_string(v: &Value) -> String {
    to_text(v).unwrap_or_else(|| v.to_string())
}

fn format(a: &Args) -> R {
    a.count(1, usize::MAX)?;
    let fmt = a.str(0)?;
    dotnet::composite_format(fmt, &a.v[1..])
        .map(Value::from)
        .map_err(|e| a.error(e))
}

fn pad_left(a: &Args) -> R {
    a.count(2, 3)?;
    let s = match &a.v[0] {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_i64() => n.to_string(),
        _ => return Err(a.fail(0, "Integer, String")),
    };
    let total = a.int(1)?;
    // uniqueString's input limit (131072 characters) bounds every generated string here too.
    if total > 131_072 {
        return Err(a.error("the total length must not exceed 131072"));
    }
    let pad = match a.v.get(2) {
        None => ' ',
        Some(_) => {
            let p = a.str(2)?;
            let mut chars = p.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => c,
                _ => return Err(a.error("the padding character must be a single character")),
            }
        }
    };
    let len = s.chars().count() as i64;
    if total <= len {
        return Ok(s.into());
    }
    let mut out: String = std::iter::repeat_n(pad, (total - len) as usize).collect();
    out.push_str(&s);
    Ok(out.into())
}

fn replace(a: &Args) -> R {
    a.count(3, 3)?;
    let (s, old, new) = (a.str(0)?, a.str(1)?, a.str(2)?);
    if old.is_empty() {
        return Err(a.error("the string to replace must not be empty"));
    }
    Ok(s.replace(old, new).into())
}

fn split(a: &Args) -> R {
    a.count(2, 2)?;
    let s = a.str(0)?;
    let delims: Vec<String> = match &a.v[1] {
        Value::String(d) => vec![d.clone()],
        Value::Array(ds) => ds.iter().filter_map(|d| d.as_str().map(str::to_string)).collect(),
        _ => return Err(a.fail(1, "Array, String")),
    };
    let mut parts = vec![s.to_string()];
    for d in delims.iter().filter(|d| !d.is_empty()) {
        parts = parts
            .iter()
            .flat_map(|p| p.split(d.as_str()).map(str::to_string).collect::<Vec<_>>())
            .collect();
    }
    Ok(Value::Array(parts.into_iter().map(Value::from).collect()))
}

/// `substring(s, start, length?)` with the documented error text (template-functions-string#substring).
fn substring(a: &Args) -> R {
    a.count(2, 3)?;
    let s: Vec<char> = a.str(0)?.chars().collect();
    let start = a.int(1)?;
    let len = match a.v.get(2) {
        Some(_) => a.int(2)?,
        None => s.len() as i64 - start,
    };
    if start < 0 || len < 0 || start.saturating_add(len) > s.len() as i64 {
        return Err(EvalError::msg(format!(
            "The index and length parameters must refer to a location within the string. The index parameter: '{start}', the length parameter: '{len}', the length of the string parameter: '{}'. Please see https://aka.ms/arm-functions for usage details.",
            s.len()
        )));
    }
    Ok(s[start as usize..(start + len) as usize]
        .iter()
        .collect::<String>()
        .into())
}

fn join(a: &Args) -> R {
    a.count(2, 2)?;
    let items = a.array(0)?;
    let sep = a.str(1)?;
    let mut parts = Vec::with_capacity(items.len());
    for item in items {
        parts.push(to_text(item).ok_or_else(|| a.error("the array elements must be strings, integers or booleans"))?);
    }
    Ok(parts.join(sep).into())
}

/// RFC 3986 §5 reference resolution (template-functions-string#uri).
pub(crate) fn resolve_uri(base: &str, rel: &str) -> String {
    if rel.contains("://") {
        return rel.to_string();
    }
    let Some(scheme_end) = base.find("://") else {
        return format!("{base}{rel}");
    };
    let after = scheme_end + 3;
    let auth_end = base[after..].find('/').map(|i| after + i).unwrap_or(base.len());
    if let Some(r) = rel.strip_prefix("//") {
        return format!("{}{r}", &base[..after]);
    }
    if rel.starts_with('/') {
        return format!("{}{rel}", &base[..auth_end]);
    }
    let path_end = base[auth_end..]
        .find(['?', '#'])
        .map(|i| auth_end + i)
        .unwrap_or(base.len());
    let dir_end = base[auth_end..path_end].rfind('/').map(|i| auth_end + i + 1);
    match dir_end {
        Some(d) => remove_dots(&format!("{}{rel}", &base[..d]), auth_end),
        None => format!("{}/{rel}", &base[..auth_end]),
    }
}

fn remove_dots(uri: &str, path_start: usize) -> String {
    let (head, path) = uri.split_at(path_start);
    let mut out: Vec<&str> = Vec::new();
    let segs: Vec<&str> = path.split('/').collect();
    for (i, seg) in segs.iter().enumerate() {
        match *seg {
            "." => {}
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
            }
            s => out.push(s),
        }
        if (*seg == "." || *seg == "..") && i == segs.len() - 1 {
            out.push("");
        }
    }
    format!("{head}{}", out.join("/"))
}

/// .NET `Uri.EscapeDataString`: everything but unreserved characters, upper-case hex.
pub(crate) fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn unescape_data(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}
