//! Logical, numeric and comparison functions (template-functions-logical,
//! template-functions-numeric, template-functions-comparison).

use super::{json_eq, Args};
use crate::providers::resources::deployments::template::error::EvalError;
use serde_json::Value;
use std::cmp::Ordering;

type R = Result<Value, EvalError>;

pub(super) fn call(name: &str, a: &Args) -> Option<R> {
    Some(match name {
        "and" => bools(a).map(|b| b.iter().all(|x| *x).into()),
        "or" => bools(a).map(|b| b.iter().any(|x| *x).into()),
        "not" => a.count(1, 1).and_then(|_| a.bool(0)).map(|b| (!b).into()),
        "bool" => to_bool(a),
        "true" => a.count(0, 0).map(|_| true.into()),
        "false" => a.count(0, 0).map(|_| false.into()),
        "add" | "sub" | "mul" | "div" | "mod" => arith(name, a),
        "int" => to_int(a),
        "float" => to_float(a),
        "equals" => a.count(2, 2).map(|_| json_eq(&a.v[0], &a.v[1]).into()),
        "less" => compare(a, |o| o == Ordering::Less),
        "lessorequals" => compare(a, |o| o != Ordering::Greater),
        "greater" => compare(a, |o| o == Ordering::Greater),
        "greaterorequals" => compare(a, |o| o != Ordering::Less),
        _ => return None,
    })
}

fn bools(a: &Args) -> Result<Vec<bool>, EvalError> {
    a.count(2, usize::MAX)?;
    (0..a.len()).map(|i| a.bool(i)).collect()
}

/// `bool('true')`, `bool(1)` (template-functions-logical#bool).
fn to_bool(a: &Args) -> R {
    a.count(1, 1)?;
    match &a.v[0] {
        Value::Bool(b) => Ok((*b).into()),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true.into()),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false.into()),
        Value::Number(n) if n.is_i64() => Ok((n.as_i64() != Some(0)).into()),
        Value::String(_) => Err(a.error("the string must be 'true' or 'false'")),
        _ => Err(a.fail(0, "Boolean, Integer, String")),
    }
}

/// Integer arithmetic on 64-bit ints; `div` truncates toward zero like C#.
fn arith(name: &str, a: &Args) -> R {
    a.count(2, 2)?;
    let (x, y) = (a.int(0)?, a.int(1)?);
    let r = match name {
        "add" => x.checked_add(y),
        "sub" => x.checked_sub(y),
        "mul" => x.checked_mul(y),
        _ if y == 0 => return Err(a.error("attempted to divide by zero")),
        "div" => x.checked_div(y),
        _ => x.checked_rem(y),
    };
    r.map(Value::from)
        .ok_or_else(|| a.error("arithmetic operation resulted in an overflow"))
}

/// `int('4')` is 4; a bool is refused with the verbatim Azure text
/// (Azure/azure-quickstart-templates#2019).
fn to_int(a: &Args) -> R {
    a.count(1, 1)?;
    match &a.v[0] {
        Value::Number(n) => Ok(n
            .as_i64()
            .unwrap_or_else(|| n.as_f64().unwrap_or(0.0).trunc() as i64)
            .into()),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| a.error(format!("the string '{s}' is not a valid integer"))),
        _ => Err(a.fail(0, "Integer, String")),
    }
}

fn to_float(a: &Args) -> R {
    a.count(1, 1)?;
    let f = match &a.v[0] {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => return Err(a.fail(0, "Integer, String")),
    };
    f.and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .ok_or_else(|| a.error("the value is not a valid number"))
}

/// Ints (or floats) numerically, strings ordinally.
fn compare(a: &Args, f: impl Fn(Ordering) -> bool) -> R {
    a.count(2, 2)?;
    let o = match (&a.v[0], &a.v[1]) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i.cmp(&j),
            _ => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        },
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(_) | Value::String(_), _) => return Err(a.fail(1, super::type_name(&a.v[0]))),
        _ => return Err(a.fail(0, "Integer, String")),
    };
    Ok(f(o).into())
}
