//! Lambda functions (template-functions-lambda): `filter`, `map`, `reduce`, `sort`,
//! `toObject`, `groupBy`, `mapValues`, with `lambda('x', ...)` arguments read through
//! `lambdaVariables('x')`. Lambda arguments are evaluated per element, so these calls are
//! evaluated from the expression tree rather than from evaluated arguments.

use super::super::error::EvalError;
use super::super::eval::{eval_expr, Ctx};
use super::super::expr::Expr;
use super::{to_text, type_message};
use serde_json::{Map, Value};

type R = Result<Value, EvalError>;

/// The lambda functions' names (lower case).
pub(crate) fn is_lambda_function(lower: &str) -> bool {
    matches!(
        lower,
        "filter" | "map" | "reduce" | "sort" | "toobject" | "groupby" | "mapvalues"
    )
}

struct Lambda<'e> {
    params: Vec<String>,
    body: &'e Expr,
}

fn lambda<'e>(f: &str, e: &'e Expr, i: usize) -> Result<Lambda<'e>, EvalError> {
    let Expr::Call { name, args, .. } = e else {
        return Err(EvalError::msg(format!(
            "The template language function '{f}' expects its {} parameter to be a lambda function.",
            ["first", "second", "third", "fourth"].get(i).unwrap_or(&"next")
        )));
    };
    if !name.eq_ignore_ascii_case("lambda") || args.is_empty() {
        return Err(EvalError::msg(format!(
            "The template language function '{f}' expects a lambda function."
        )));
    }
    let mut params = Vec::new();
    for a in &args[..args.len() - 1] {
        match a {
            Expr::Str(s) => params.push(s.clone()),
            _ => return Err(EvalError::msg("The lambda parameter names must be string literals.")),
        }
    }
    Ok(Lambda {
        params,
        body: &args[args.len() - 1],
    })
}

/// Applies a lambda to `values` (extra values beyond its parameters are ignored).
fn apply(ctx: &mut Ctx, l: &Lambda, values: &[Value]) -> R {
    let n = l.params.len().min(values.len());
    for (p, v) in l.params.iter().zip(values).take(n) {
        ctx.lambda.push((p.clone(), v.clone()));
    }
    let r = eval_expr(ctx, l.body);
    ctx.lambda.truncate(ctx.lambda.len() - n);
    r
}

fn arity(f: &str, args: &[Expr], min: usize, max: usize) -> Result<(), EvalError> {
    if (min..=max).contains(&args.len()) {
        return Ok(());
    }
    Err(EvalError::msg(super::arity_message(
        f,
        &format!("between '{min}' and '{max}'"),
    )))
}

fn array_arg(ctx: &mut Ctx, f: &str, e: &Expr) -> Result<Vec<Value>, EvalError> {
    match eval_expr(ctx, e)? {
        Value::Array(a) => Ok(a),
        other => Err(EvalError::msg(type_message(f, 0, 2, "Array", &other))),
    }
}

/// Evaluates a lambda function call.
pub(crate) fn call(ctx: &mut Ctx, lower: &str, f: &str, args: &[Expr]) -> R {
    match lower {
        "filter" | "map" | "sort" | "groupby" => {
            arity(f, args, 2, 2)?;
            let items = array_arg(ctx, f, &args[0])?;
            let l = lambda(f, &args[1], 1)?;
            match lower {
                "filter" => filter(ctx, f, &l, items),
                "map" => items
                    .iter()
                    .enumerate()
                    .map(|(i, x)| apply(ctx, &l, &[x.clone(), Value::from(i as i64)]))
                    .collect(),
                "sort" => sort(ctx, &l, items),
                _ => group_by(ctx, &l, items),
            }
        }
        "reduce" => {
            arity(f, args, 3, 3)?;
            let items = array_arg(ctx, f, &args[0])?;
            let mut acc = eval_expr(ctx, &args[1])?;
            let l = lambda(f, &args[2], 2)?;
            for (i, x) in items.into_iter().enumerate() {
                acc = apply(ctx, &l, &[acc, x, Value::from(i as i64)])?;
            }
            Ok(acc)
        }
        "toobject" => to_object(ctx, f, args),
        _ => map_values(ctx, f, args),
    }
}

fn filter(ctx: &mut Ctx, f: &str, l: &Lambda, items: Vec<Value>) -> R {
    let mut out = Vec::new();
    for (i, x) in items.into_iter().enumerate() {
        match apply(ctx, l, &[x.clone(), Value::from(i as i64)])? {
            Value::Bool(true) => out.push(x),
            Value::Bool(false) => {}
            other => return Err(EvalError::msg(type_message(f, 1, 2, "Boolean", &other))),
        }
    }
    Ok(Value::Array(out))
}

/// A stable insertion sort driven by the lambda's "a comes before b".
fn sort(ctx: &mut Ctx, l: &Lambda, items: Vec<Value>) -> R {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for x in items {
        let mut at = out.len();
        while at > 0 && apply(ctx, l, &[x.clone(), out[at - 1].clone()])? == Value::Bool(true) {
            at -= 1;
        }
        out.insert(at, x);
    }
    Ok(Value::Array(out))
}

fn key_of(ctx: &mut Ctx, l: &Lambda, x: &Value) -> Result<String, EvalError> {
    let k = apply(ctx, l, std::slice::from_ref(x))?;
    to_text(&k).ok_or_else(|| EvalError::msg("The lambda must return a string key."))
}

fn group_by(ctx: &mut Ctx, l: &Lambda, items: Vec<Value>) -> R {
    let mut out: Map<String, Value> = Map::new();
    for x in items {
        let k = key_of(ctx, l, &x)?;
        if let Value::Array(group) = out.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
            group.push(x);
        }
    }
    Ok(Value::Object(out))
}

fn to_object(ctx: &mut Ctx, f: &str, args: &[Expr]) -> R {
    arity(f, args, 2, 3)?;
    let items = array_arg(ctx, f, &args[0])?;
    let key = lambda(f, &args[1], 1)?;
    let value = args.get(2).map(|e| lambda(f, e, 2)).transpose()?;
    let mut out = Map::new();
    for x in items {
        let k = key_of(ctx, &key, &x)?;
        let v = match &value {
            Some(vl) => apply(ctx, vl, std::slice::from_ref(&x))?,
            None => x,
        };
        out.insert(k, v);
    }
    Ok(Value::Object(out))
}

fn map_values(ctx: &mut Ctx, f: &str, args: &[Expr]) -> R {
    arity(f, args, 2, 2)?;
    let obj = match eval_expr(ctx, &args[0])? {
        Value::Object(o) => o,
        other => return Err(EvalError::msg(type_message(f, 0, 2, "Object", &other))),
    };
    let l = lambda(f, &args[1], 1)?;
    let mut out = Map::new();
    for (k, v) in obj {
        out.insert(k, apply(ctx, &l, &[v])?);
    }
    Ok(Value::Object(out))
}

/// `lambdaVariables('name')`: the innermost binding of a lambda parameter.
pub(crate) fn variable(ctx: &Ctx, name: &str) -> R {
    ctx.lambda.iter().rev().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone()).ok_or_else(|| {
        EvalError::msg(format!(
            "The lambda variable '{name}' is not found. The function 'lambdaVariables' can only be used inside a lambda function."
        ))
    })
}
