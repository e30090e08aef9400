//! Evaluation of template values and expressions over `serde_json::Value`.

use super::error::EvalError;
use super::expr::{self, Expr};
use super::functions;
use super::json::{child_path, index_path};
use super::Env;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Where in the template an expression sits; decides which functions it may call
/// (template-functions-resource: `reference`/`list*` only in resource properties and
/// outputs; template-functions-string#newguid and template-functions-date#utcnow: only in a
/// parameter's `defaultValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    ParameterDefault,
    Variables,
    /// A resource's name, type, condition, copy count, dependsOn, scope.
    Header,
    /// A resource's properties (deploy time).
    Body,
    Outputs,
    /// The body of a user-defined function.
    Function,
}

/// A resource declared in the template (after copy expansion), for `reference('name')`
/// and `dependsOn`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Declared {
    pub(crate) name: String,
    pub(crate) full_type: String,
    pub(crate) id: String,
    pub(crate) api_version: String,
    pub(crate) copy_name: Option<String>,
    /// The symbolic name (languageVersion 2.0 templates).
    pub(crate) symbolic: Option<String>,
    pub(crate) enabled: bool,
}

/// A variable: a plain value or a `copy` entry of the variables section.
#[derive(Debug, Clone)]
pub(crate) enum VarDef {
    Plain(Value),
    Copy { count: Value, input: Value, path: String },
}

#[derive(Debug, Clone)]
pub(crate) enum Slot {
    Pending,
    Evaluating,
    Done(Value),
}

/// A user-defined function (`functions` section).
#[derive(Debug, Clone)]
pub(crate) struct UserFunction {
    pub(crate) params: Vec<String>,
    pub(crate) output: Value,
}

/// Everything expressions can see besides the environment.
#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub(crate) params: Map<String, Value>,
    pub(crate) var_defs: Vec<(String, VarDef)>,
    pub(crate) slots: HashMap<String, Slot>,
    pub(crate) declared: Vec<Declared>,
    pub(crate) functions: HashMap<String, UserFunction>,
}

impl State {
    pub(crate) fn set_variables(&mut self, defs: Vec<(String, VarDef)>) {
        self.slots = defs.iter().map(|(n, _)| (n.to_lowercase(), Slot::Pending)).collect();
        self.var_defs = defs;
    }

    /// Values of every variable evaluated so far, in declaration order.
    pub(crate) fn variable_values(&self) -> Map<String, Value> {
        let mut out = Map::new();
        for (n, _) in &self.var_defs {
            if let Some(Slot::Done(v)) = self.slots.get(&n.to_lowercase()) {
                out.insert(n.clone(), v.clone());
            }
        }
        out
    }

    /// Adopts already-evaluated variables (a nested deployment with outer scope).
    pub(crate) fn preset_variables(&mut self, vars: &Map<String, Value>) {
        self.var_defs = vars
            .iter()
            .map(|(k, v)| (k.clone(), VarDef::Plain(v.clone())))
            .collect();
        self.slots = vars
            .iter()
            .map(|(k, v)| (k.to_lowercase(), Slot::Done(v.clone())))
            .collect();
    }

    pub(crate) fn param(&self, name: &str) -> Option<&Value> {
        self.params.get(name).or_else(|| {
            self.params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }
}

/// An evaluation context: state, environment, active copy loops and phase.
pub(crate) struct Ctx<'a> {
    pub(crate) st: &'a mut State,
    pub(crate) env: &'a mut dyn Env,
    /// Active copy loops, outermost first: (loop name, index).
    pub(crate) copy: Vec<(String, i64)>,
    pub(crate) phase: Phase,
    /// What-if preview: a string whose `reference()`/`list*()` cannot be answered yet stays
    /// the expression text, as what-if shows it.
    pub(crate) preview: bool,
    /// Lambda parameters in scope (template-functions-lambda), innermost last.
    pub(crate) lambda: Vec<(String, Value)>,
    /// Dependency scan: `reference()`/`list*()` record their target here instead of calling
    /// the environment, and a failing string is skipped rather than fatal.
    pub(crate) collect: Option<Vec<Collected>>,
    /// JSON path of the string being evaluated (for what `collect` records).
    pub(crate) path: String,
}

/// A `reference()`/`list*()` target found by a dependency scan.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Collected {
    pub(crate) target: String,
    pub(crate) is_reference: bool,
    pub(crate) path: String,
}

/// The marker error a collecting `reference()`/`list*()` stops its string with.
pub(crate) const COLLECTED: &str = "\u{0}collected";

impl<'a> Ctx<'a> {
    pub(crate) fn new(st: &'a mut State, env: &'a mut dyn Env, phase: Phase) -> Self {
        Ctx {
            st,
            env,
            copy: Vec::new(),
            phase,
            preview: false,
            lambda: Vec::new(),
            collect: None,
            path: String::new(),
        }
    }

    /// The value of variable `name`, evaluating it (and what it uses) on first use.
    pub(crate) fn variable(&mut self, name: &str) -> Result<Value, EvalError> {
        let key = name.to_lowercase();
        match self.st.slots.get(&key) {
            None => {
                return Err(EvalError::msg(format!(
                    "The template variable '{name}' is not found. Please see https://aka.ms/arm-syntax-variables for usage details."
                )))
            }
            Some(Slot::Done(v)) => return Ok(v.clone()),
            Some(Slot::Evaluating) => {
                return Err(EvalError::msg(format!(
                    "The template variable '{name}' has a circular reference to itself. Please see https://aka.ms/arm-syntax-variables for usage details."
                )))
            }
            Some(Slot::Pending) => {}
        }
        let (decl_name, def) = self
            .st
            .var_defs
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .cloned()
            .ok_or_else(|| EvalError::msg(format!("The template variable '{name}' is not found.")))?;
        self.st.slots.insert(key.clone(), Slot::Evaluating);
        let (saved_phase, saved_copy) = (self.phase, std::mem::take(&mut self.copy));
        let saved_collect = self.collect.take();
        self.phase = Phase::Variables;
        let result = match &def {
            VarDef::Plain(v) => eval_value(self, v, &child_path("variables", &decl_name)),
            VarDef::Copy { count, input, path } => copy_array(self, &decl_name, count, input, path),
        };
        self.phase = saved_phase;
        self.copy = saved_copy;
        self.collect = saved_collect;
        match result {
            Ok(v) => {
                self.st.slots.insert(key, Slot::Done(v.clone()));
                Ok(v)
            }
            Err(e) => {
                self.st.slots.insert(key, Slot::Pending);
                Err(e)
            }
        }
    }

    /// Evaluates every variable (ARM resolves variables before deploying; variables.md).
    pub(crate) fn all_variables(&mut self) -> Result<(), EvalError> {
        let names: Vec<String> = self.st.var_defs.iter().map(|(n, _)| n.clone()).collect();
        for n in names {
            self.variable(&n)?;
        }
        Ok(())
    }
}

/// Copy limits: count 0..=800 (copy-resources.md, copy-variables.md, copy-properties.md).
pub(crate) const MAX_COPY: i64 = 800;

/// Evaluates a copy `count` (an int or an expression yielding one).
pub(crate) fn copy_count(ctx: &mut Ctx, name: &str, count: &Value, path: &str) -> Result<i64, EvalError> {
    let v = eval_value(ctx, count, path)?;
    let n = v.as_i64().ok_or_else(|| {
        EvalError::msg(format!(
            "The template copy '{name}' is not valid: the copy count must be an integer. Please see https://aka.ms/arm-copy for usage details."
        ))
        .in_path(path)
    })?;
    if !(0..=MAX_COPY).contains(&n) {
        return Err(EvalError::msg(format!(
            "The template copy '{name}' is not valid: the copy count must be a non-negative integer value and cannot exceed '{MAX_COPY}'. Please see https://aka.ms/arm-copy for usage details."
        ))
        .in_path(path));
    }
    Ok(n)
}

/// Builds the array of a variable or property copy: `input` evaluated `count` times.
pub(crate) fn copy_array(
    ctx: &mut Ctx,
    name: &str,
    count: &Value,
    input: &Value,
    path: &str,
) -> Result<Value, EvalError> {
    let n = copy_count(ctx, name, count, &format!("{path}.count"))?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        ctx.copy.push((name.to_string(), i));
        let r = eval_value(ctx, input, &format!("{path}.input"));
        ctx.copy.pop();
        out.push(r?);
    }
    Ok(Value::Array(out))
}

/// Evaluates a JSON value: expressions in strings, property `copy` in objects.
pub(crate) fn eval_value(ctx: &mut Ctx, v: &Value, path: &str) -> Result<Value, EvalError> {
    match v {
        Value::String(s) if ctx.collect.is_some() => {
            ctx.path = path.to_string();
            Ok(eval_string(ctx, s).unwrap_or(Value::Null))
        }
        Value::String(s) => match eval_string(ctx, s) {
            Err(_) if ctx.preview && calls_runtime_function(s) => Ok(Value::String(s.clone())),
            r => r.map_err(|e| e.in_path(path)),
        },
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(eval_value(ctx, item, &index_path(path, i))?);
            }
            Ok(Value::Array(out))
        }
        Value::Object(map) => eval_object(ctx, map, path),
        other => Ok(other.clone()),
    }
}

fn eval_object(ctx: &mut Ctx, map: &Map<String, Value>, path: &str) -> Result<Value, EvalError> {
    let mut out = Map::new();
    for (k, v) in map {
        let p = child_path(path, k);
        if k.eq_ignore_ascii_case("copy") {
            if let Value::Array(loops) = v {
                // Only `{name, count, input}` entries are loops; anything else is a plain property.
                if !loops.is_empty()
                    && loops
                        .iter()
                        .all(|l| l.get("name").is_some() && l.get("count").is_some())
                {
                    property_copies(ctx, loops, &p, &mut out)?;
                    continue;
                }
            }
        }
        // Property names may be expressions too, e.g. `userAssignedIdentities` keyed by
        // `[resourceId(...)]` (user-assigned identities in templates, managed-identity docs).
        let key = match eval_string(ctx, k).map_err(|e| e.in_path(&p))? {
            Value::String(s) => s,
            other => {
                return Err(EvalError::msg(format!(
                    "The property name '{k}' must evaluate to a string; it is of type '{}'.",
                    functions::type_name(&other)
                ))
                .in_path(&p))
            }
        };
        out.insert(key, eval_value(ctx, v, &p)?);
    }
    Ok(Value::Object(out))
}

/// Property iteration (copy-properties.md): `"copy": [{"name","count","input"}]` inside an
/// object adds one array property per entry.
fn property_copies(ctx: &mut Ctx, loops: &[Value], path: &str, out: &mut Map<String, Value>) -> Result<(), EvalError> {
    for (i, l) in loops.iter().enumerate() {
        let p = index_path(path, i);
        let name = l.get("name").and_then(Value::as_str).ok_or_else(|| {
            EvalError::msg("The copy property must have a 'name' of type string. Please see https://aka.ms/arm-copy for usage details.")
                .in_path(&p)
        })?;
        let name = eval_value(ctx, &Value::String(name.to_string()), &p)?;
        let name = name.as_str().unwrap_or_default().to_string();
        let count = l.get("count").cloned().unwrap_or(Value::Null);
        let input = l.get("input").cloned().unwrap_or(Value::Null);
        let arr = copy_array(ctx, &name, &count, &input, &p)?;
        out.insert(name, arr);
    }
    Ok(())
}

/// True when the expression calls `reference()` or a `list*()` function.
pub(crate) fn calls_runtime_function(s: &str) -> bool {
    let Ok(expr::Template::Expression(e)) = expr::classify(s) else {
        return false;
    };
    let mut found = false;
    e.visit_calls(&mut |name, _| {
        let l = name.to_ascii_lowercase();
        found |= l == "reference" || (l.starts_with("list") && l.len() > 4);
    });
    found
}

/// Evaluates one JSON string: a literal, an escaped literal or an expression.
pub(crate) fn eval_string(ctx: &mut Ctx, s: &str) -> Result<Value, EvalError> {
    match expr::classify(s).map_err(|e| EvalError::at(e.message, e.position))? {
        expr::Template::Literal(l) => Ok(Value::String(l)),
        expr::Template::Expression(e) => eval_expr(ctx, &e),
    }
}

/// Evaluates a parsed expression.
pub(crate) fn eval_expr(ctx: &mut Ctx, e: &Expr) -> Result<Value, EvalError> {
    match e {
        Expr::Str(s) => Ok(Value::String(s.clone())),
        Expr::Int(n) => Ok(Value::from(*n)),
        Expr::Prop { target, name, pos } => {
            let t = eval_expr(ctx, target)?;
            property(&t, name).map_err(|m| EvalError::at(m, *pos))
        }
        Expr::Index { target, index, pos } => {
            let t = eval_expr(ctx, target)?;
            let i = eval_expr(ctx, index)?;
            index_value(&t, &i).map_err(|m| EvalError::at(m, *pos))
        }
        Expr::Call { name, args, pos } => eval_call(ctx, name, args, *pos),
    }
}

fn eval_call(ctx: &mut Ctx, name: &str, args: &[Expr], pos: usize) -> Result<Value, EvalError> {
    // if() evaluates only the branch it returns (template-functions-logical#if).
    if name.eq_ignore_ascii_case("if") {
        if args.len() != 3 {
            return Err(EvalError::at(functions::arity_message("if", "3"), pos));
        }
        let c = eval_expr(ctx, &args[0])?;
        let Value::Bool(c) = c else {
            return Err(EvalError::at(functions::type_message("if", 0, 3, "Boolean", &c), pos));
        };
        return eval_expr(ctx, &args[if c { 1 } else { 2 }]);
    }
    let lower = name.to_ascii_lowercase();
    if functions::lambda::is_lambda_function(&lower) {
        return functions::lambda::call(ctx, &lower, name, args).map_err(|e| at_call(e, pos));
    }
    let mut values = Vec::with_capacity(args.len());
    for a in args {
        values.push(eval_expr(ctx, a)?);
    }
    functions::call(ctx, name, values).map_err(|e| at_call(e, pos))
}

fn at_call(mut e: EvalError, pos: usize) -> EvalError {
    if e.position.is_none() {
        e.position = Some(pos);
    }
    e
}

/// `value.name` (case-insensitive, as ARM resolves property names).
pub(crate) fn property(v: &Value, name: &str) -> Result<Value, String> {
    match v {
        Value::Object(m) => m
            .get(name)
            .or_else(|| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
            .cloned()
            .ok_or_else(|| {
                let keys: Vec<&str> = m.keys().map(String::as_str).collect();
                format!(
                    "The language expression property '{name}' doesn't exist, available properties are '{}'.",
                    keys.join(", ")
                )
            }),
        other => Err(format!(
            "The language expression property '{name}' can't be evaluated, the property can only be accessed on an object; the value is of type '{}'.",
            functions::type_name(other)
        )),
    }
}

/// `value[index]`.
pub(crate) fn index_value(v: &Value, i: &Value) -> Result<Value, String> {
    match (v, i) {
        (Value::Array(a), Value::Number(n)) => {
            let idx = n.as_i64().unwrap_or(-1);
            usize::try_from(idx)
                .ok()
                .and_then(|u| a.get(u).cloned())
                .ok_or_else(|| format!("The language expression property array index '{idx}' is out of bounds."))
        }
        (Value::Object(_), Value::String(s)) => property(v, s),
        (t, i) => Err(format!(
            "The language expression property '{}' can't be evaluated on a value of type '{}'.",
            functions::display(i),
            functions::type_name(t)
        )),
    }
}
