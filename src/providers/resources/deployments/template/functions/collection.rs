//! Array and object functions (template-functions-array, template-functions-object), and the
//! string/array functions that accept either (`concat`, `contains`, `first`, `length`, ...).

use super::{json_eq, to_text, Args};
use crate::providers::resources::deployments::template::error::EvalError;
use crate::providers::resources::deployments::template::json;
use serde_json::{Map, Value};

type R = Result<Value, EvalError>;

pub(super) fn call(name: &str, a: &Args) -> Option<R> {
    Some(match name {
        "array" => a.count(1, 1).map(|_| as_array(&a.v[0])),
        "createarray" => Ok(Value::Array(a.v.clone())),
        "createobject" => create_object(a),
        "concat" => concat(a),
        "contains" => contains(a),
        "empty" => a.count(1, 1).map(|_| is_empty(&a.v[0]).into()),
        "first" => end(a, true),
        "last" => end(a, false),
        "indexof" => index_of(a, false),
        "lastindexof" => index_of(a, true),
        "intersection" => intersection(a),
        "union" => union(a),
        "items" => items(a),
        "objectkeys" => a
            .count(1, 1)
            .and_then(|_| a.object(0))
            .map(|o| o.keys().cloned().map(Value::from).collect()),
        "json" => a.count(1, 1).and_then(|_| parse_json(a, a.str(0)?)),
        "length" => length(a),
        "min" => extreme(a, true),
        "max" => extreme(a, false),
        "range" => range(a),
        "skip" => slice(a, true),
        "take" => slice(a, false),
        "coalesce" => Ok(a.v.iter().find(|v| !v.is_null()).cloned().unwrap_or(Value::Null)),
        "tryget" => try_get(a),
        "null" => a.count(0, 0).map(|_| Value::Null),
        "flatten" => flatten(a),
        "shallowmerge" => shallow_merge(a),
        _ => return None,
    })
}

/// `json(s)`: lenient JSON (the docs' base64ToJson example is single-quoted).
pub(super) fn parse_json(a: &Args, s: &str) -> R {
    json::parse(s)
        .map(|(v, _)| v)
        .map_err(|e| a.error(format!("the string is not valid JSON: {}", e.message)))
}

fn as_array(v: &Value) -> Value {
    match v {
        Value::Array(_) => v.clone(),
        other => Value::Array(vec![other.clone()]),
    }
}

fn create_object(a: &Args) -> R {
    if !a.len().is_multiple_of(2) {
        return Err(a.error("the number of parameters must be even (key and value pairs)"));
    }
    let mut m = Map::new();
    for i in (0..a.len()).step_by(2) {
        m.insert(a.str(i)?.to_string(), a.v[i + 1].clone());
    }
    Ok(Value::Object(m))
}

/// `concat`: all arrays, or strings (ints and bools rendered as text); template-functions-string#concat.
fn concat(a: &Args) -> R {
    a.count(1, usize::MAX)?;
    if a.v.iter().any(Value::is_array) {
        let mut out = Vec::new();
        for (i, v) in a.v.iter().enumerate() {
            match v {
                Value::Array(items) => out.extend(items.iter().cloned()),
                Value::Null => {}
                _ => return Err(a.fail(i, "Array")),
            }
        }
        return Ok(Value::Array(out));
    }
    let mut s = String::new();
    for (i, v) in a.v.iter().enumerate() {
        s.push_str(&to_text(v).ok_or_else(|| a.fail(i, "String, Integer, Boolean, Array"))?);
    }
    Ok(s.into())
}

/// `contains`: case-sensitive for strings and array items, case-insensitive for object keys.
fn contains(a: &Args) -> R {
    a.count(2, 2)?;
    let found = match &a.v[0] {
        Value::String(s) => s.contains(&to_text(&a.v[1]).ok_or_else(|| a.fail(1, "String"))?),
        Value::Array(items) => items.iter().any(|x| json_eq(x, &a.v[1])),
        Value::Object(m) => {
            let k = to_text(&a.v[1]).ok_or_else(|| a.fail(1, "String"))?;
            m.keys().any(|x| x.eq_ignore_ascii_case(&k))
        }
        _ => return Err(a.fail(0, "Array, Object, String")),
    };
    Ok(found.into())
}

pub(crate) fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn end(a: &Args, first: bool) -> R {
    a.count(1, 1)?;
    match &a.v[0] {
        Value::String(s) => {
            let c = if first { s.chars().next() } else { s.chars().last() };
            Ok(c.map(String::from).unwrap_or_default().into())
        }
        Value::Array(items) => Ok((if first { items.first() } else { items.last() })
            .cloned()
            .unwrap_or(Value::Null)),
        _ => Err(a.fail(0, "Array, String")),
    }
}

/// `indexOf`/`lastIndexOf`: strings case-insensitively, arrays by deep equality.
fn index_of(a: &Args, last: bool) -> R {
    a.count(2, 2)?;
    let found: i64 = match &a.v[0] {
        Value::String(s) => {
            let (s, t) = (s.to_lowercase(), a.str(1)?.to_lowercase());
            let byte = if last { s.rfind(&t) } else { s.find(&t) };
            byte.map(|b| s[..b].chars().count() as i64).unwrap_or(-1)
        }
        Value::Array(items) => {
            let mut it = items.iter().enumerate();
            let hit = if last {
                it.rev().find(|(_, x)| json_eq(x, &a.v[1]))
            } else {
                it.find(|(_, x)| json_eq(x, &a.v[1]))
            };
            hit.map(|(i, _)| i as i64).unwrap_or(-1)
        }
        _ => return Err(a.fail(0, "Array, String")),
    };
    Ok(found.into())
}

fn intersection(a: &Args) -> R {
    a.count(2, usize::MAX)?;
    match &a.v[0] {
        Value::Array(first) => {
            let mut out: Vec<Value> = Vec::new();
            for x in first {
                let in_all =
                    (1..a.len()).all(|i| a.v[i].as_array().is_some_and(|arr| arr.iter().any(|y| json_eq(x, y))));
                if in_all && !out.iter().any(|y| json_eq(x, y)) {
                    out.push(x.clone());
                }
            }
            check_all(a, "Array")?;
            Ok(Value::Array(out))
        }
        Value::Object(first) => {
            check_all(a, "Object")?;
            let mut out = Map::new();
            for (k, v) in first {
                if (1..a.len()).all(|i| a.v[i].get(k).is_some_and(|w| json_eq(v, w))) {
                    out.insert(k.clone(), v.clone());
                }
            }
            Ok(Value::Object(out))
        }
        _ => Err(a.fail(0, "Array, Object")),
    }
}

fn check_all(a: &Args, kind: &str) -> Result<(), EvalError> {
    for (i, v) in a.v.iter().enumerate() {
        if super::type_name(v) != kind {
            return Err(a.fail(i, kind));
        }
    }
    Ok(())
}

/// `union`: arrays without duplicates in first-seen order; objects deep-merged with later
/// values winning and nested arrays replaced (bicep-functions-object#union, quoted in
/// Azure/PSRule.Rules.Azure#2885).
fn union(a: &Args) -> R {
    a.count(2, usize::MAX)?;
    match &a.v[0] {
        Value::Array(_) => {
            check_all(a, "Array")?;
            let mut out: Vec<Value> = Vec::new();
            for v in a.v.iter().filter_map(Value::as_array).flatten() {
                if !out.iter().any(|y| json_eq(v, y)) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        Value::Object(_) => {
            check_all(a, "Object")?;
            let mut out = Value::Object(Map::new());
            for v in &a.v {
                merge(&mut out, v);
            }
            Ok(out)
        }
        _ => Err(a.fail(0, "Array, Object")),
    }
}

fn merge(into: &mut Value, from: &Value) {
    if let (Value::Object(dst), Value::Object(src)) = (&mut *into, from) {
        for (k, v) in src {
            match dst.get_mut(k) {
                Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                _ => {
                    dst.insert(k.clone(), v.clone());
                }
            }
        }
    }
}

/// `items(object)`: `[{key, value}]`, sorted by key (template-functions-object#items).
fn items(a: &Args) -> R {
    a.count(1, 1)?;
    let o = a.object(0)?;
    let mut keys: Vec<&String> = o.keys().collect();
    keys.sort_by_key(|k| k.to_lowercase());
    Ok(keys
        .into_iter()
        .map(|k| serde_json::json!({"key": k, "value": o[k]}))
        .collect())
}

fn length(a: &Args) -> R {
    a.count(1, 1)?;
    let n = match &a.v[0] {
        Value::String(s) => s.chars().count(),
        Value::Array(x) => x.len(),
        Value::Object(o) => o.len(),
        _ => return Err(a.fail(0, "Array, Object, String")),
    };
    Ok((n as i64).into())
}

/// `min`/`max`: a list of integers or one array of integers.
fn extreme(a: &Args, min: bool) -> R {
    a.count(1, usize::MAX)?;
    let values: Vec<Value> = match (&a.v[0], a.len()) {
        (Value::Array(x), 1) => x.clone(),
        _ => a.v.clone(),
    };
    let mut best: Option<i64> = None;
    for v in &values {
        let n = v.as_i64().ok_or_else(|| a.error("the values must be integers"))?;
        best = Some(match best {
            Some(b) if (min && b <= n) || (!min && b >= n) => b,
            _ => n,
        });
    }
    best.map(Value::from)
        .ok_or_else(|| a.error("the array must not be empty"))
}

/// `range(start, count)`: count 0..=10000 and start + count <= 2147483647
/// (template-functions-array#range).
fn range(a: &Args) -> R {
    a.count(2, 2)?;
    let (start, count) = (a.int(0)?, a.int(1)?);
    if !(0..=10_000).contains(&count) {
        return Err(a.error("the count must be a non-negative integer not greater than 10000"));
    }
    if start.checked_add(count).is_none_or(|end| end > 2_147_483_647) {
        return Err(a.error("the sum of start index and count must not exceed 2147483647"));
    }
    Ok((start..start + count).map(Value::from).collect())
}

/// `take`/`skip` on arrays and strings (template-functions-array#take, #skip).
fn slice(a: &Args, skip: bool) -> R {
    a.count(2, 2)?;
    let n = a.int(1)?.max(0) as usize;
    match &a.v[0] {
        Value::Array(x) => {
            let n = n.min(x.len());
            Ok(Value::Array(if skip { x[n..].to_vec() } else { x[..n].to_vec() }))
        }
        Value::String(s) => {
            let it = s.chars();
            Ok(if skip {
                it.skip(n).collect::<String>()
            } else {
                it.take(n).collect::<String>()
            }
            .into())
        }
        _ => Err(a.fail(0, "Array, String")),
    }
}

fn try_get(a: &Args) -> R {
    a.count(2, usize::MAX)?;
    let mut cur = a.v[0].clone();
    for k in &a.v[1..] {
        cur = match (&cur, k) {
            (Value::Object(o), Value::String(s)) => o.get(s).cloned().unwrap_or(Value::Null),
            (Value::Array(x), Value::Number(n)) => n
                .as_u64()
                .and_then(|i| x.get(i as usize))
                .cloned()
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
    }
    Ok(cur)
}

/// `flatten(arrayOfArrays)` (template-functions-array#flatten).
fn flatten(a: &Args) -> R {
    a.count(1, 1)?;
    let mut out = Vec::new();
    for v in a.array(0)? {
        match v {
            Value::Array(inner) => out.extend(inner.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    Ok(Value::Array(out))
}

/// `shallowMerge(arrayOfObjects)`: later objects win, nested objects are replaced
/// (template-functions-object#shallowmerge).
fn shallow_merge(a: &Args) -> R {
    a.count(1, 1)?;
    let mut out = Map::new();
    for v in a.array(0)? {
        let o = v
            .as_object()
            .ok_or_else(|| a.error("the array elements must be objects"))?;
        for (k, x) in o {
            out.insert(k.clone(), x.clone());
        }
    }
    Ok(Value::Object(out))
}
