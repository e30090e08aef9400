//! The template functions (Microsoft Learn, "ARM template functions", template-functions*).
//!
//! Function names are case-insensitive. Each family lives in its own file; `call` dispatches.

mod cidr;
mod collection;
pub(crate) mod lambda;
mod logic;
mod scope;
mod string;

#[cfg(test)]
mod tests;

use super::error::EvalError;
use super::eval::Ctx;
use serde_json::{Map, Value};

/// Calls function `name` with evaluated arguments.
pub(crate) fn call(ctx: &mut Ctx, name: &str, args: Vec<Value>) -> Result<Value, EvalError> {
    let lower = name.to_ascii_lowercase();
    let a = Args { name, v: args };
    if lower.contains('.') {
        return scope::user_function(ctx, &lower, a);
    }
    if let Some(r) = string::call(&lower, &a) {
        return r;
    }
    if let Some(r) = collection::call(&lower, &a) {
        return r;
    }
    if let Some(r) = cidr::call(&lower, &a) {
        return r;
    }
    if let Some(r) = logic::call(&lower, &a) {
        return r;
    }
    if let Some(r) = scope::call(ctx, &lower, &a) {
        return r;
    }
    if let Some(r) = scope::date(&lower, &a) {
        return r;
    }
    Err(EvalError::msg(format!(
        "The template function '{name}' is not valid. Please see https://aka.ms/arm-functions for usage details."
    )))
}

/// ARM's names for JSON types in error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "Null",
        Value::Bool(_) => "Boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "Integer",
        Value::Number(_) => "Float",
        Value::String(_) => "String",
        Value::Array(_) => "Array",
        Value::Object(_) => "Object",
    }
}

/// A value as text in messages: strings bare, the rest as JSON.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

const ORDINALS: [&str; 10] = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
];

/// "The template language function 'int' expects its first parameter to be one of the
/// following types 'Integer, String'. The provided value is of type 'Boolean'." (verbatim
/// Azure text quoted in Azure/azure-quickstart-templates#2019).
pub(crate) fn type_message(f: &str, i: usize, n: usize, types: &str, got: &Value) -> String {
    let _ = n;
    let which = format!("its {} parameter", ORDINALS.get(i).copied().unwrap_or("next"));
    let kind = if types.contains(',') {
        format!("to be one of the following types '{types}'")
    } else {
        format!("to be of type '{types}'")
    };
    format!(
        "The template language function '{f}' expects {which} {kind}. The provided value is of type '{}'. Please see https://aka.ms/arm-functions for usage details.",
        type_name(got)
    )
}

pub(crate) fn arity_message(f: &str, spec: &str) -> String {
    format!(
        "The template language function '{f}' must have {spec} parameter(s). Please see https://aka.ms/arm-functions for usage details."
    )
}

/// Evaluated arguments of one call, with typed accessors that produce ARM's messages.
pub(crate) struct Args<'a> {
    pub(crate) name: &'a str,
    pub(crate) v: Vec<Value>,
}

type R<T> = Result<T, EvalError>;

impl Args<'_> {
    pub(crate) fn len(&self) -> usize {
        self.v.len()
    }

    /// Requires between `min` and `max` arguments.
    pub(crate) fn count(&self, min: usize, max: usize) -> R<()> {
        if (min..=max).contains(&self.v.len()) {
            return Ok(());
        }
        let spec = match (min, max) {
            (a, b) if a == b => format!("'{a}'"),
            (a, usize::MAX) => format!("at least '{a}'"),
            (a, b) => format!("between '{a}' and '{b}'"),
        };
        Err(EvalError::msg(arity_message(self.name, &spec)))
    }

    pub(crate) fn fail(&self, i: usize, types: &str) -> EvalError {
        EvalError::msg(type_message(self.name, i, self.v.len(), types, &self.v[i]))
    }

    pub(crate) fn error(&self, detail: impl std::fmt::Display) -> EvalError {
        EvalError::msg(format!(
            "Unable to evaluate template language function '{}': {detail}. Please see https://aka.ms/arm-functions for usage details.",
            self.name
        ))
    }

    pub(crate) fn str(&self, i: usize) -> R<&str> {
        self.v[i].as_str().ok_or_else(|| self.fail(i, "String"))
    }

    pub(crate) fn int(&self, i: usize) -> R<i64> {
        self.v[i].as_i64().ok_or_else(|| self.fail(i, "Integer"))
    }

    pub(crate) fn bool(&self, i: usize) -> R<bool> {
        self.v[i].as_bool().ok_or_else(|| self.fail(i, "Boolean"))
    }

    pub(crate) fn array(&self, i: usize) -> R<&Vec<Value>> {
        self.v[i].as_array().ok_or_else(|| self.fail(i, "Array"))
    }

    pub(crate) fn object(&self, i: usize) -> R<&Map<String, Value>> {
        self.v[i].as_object().ok_or_else(|| self.fail(i, "Object"))
    }
}

/// Text of a string, int or bool argument as ARM renders it (bools in .NET casing,
/// `True`/`False`: Azure/PSRule.Rules.Azure#793).
pub(crate) fn to_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Null => Some(String::new()),
        _ => None,
    }
}

/// Deep equality where `1` and `1.0` are equal.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
