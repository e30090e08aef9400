//! Parameter binding and validation (Microsoft Learn, "Parameters in ARM templates").

use super::error::{at_line, EvalError};
use super::eval::{eval_value, Ctx, Phase, State};
use super::functions::{display, type_name};
use super::json::child_path;
use super::{Env, Template, TemplateError};
use serde_json::{Map, Value};

/// A parameter type (parameters.md#data-types); names are case-insensitive in templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    SecureString,
    Int,
    Bool,
    Object,
    SecureObject,
    Array,
}

impl ParamType {
    pub(crate) fn parse(s: &str) -> Option<ParamType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "string" => ParamType::String,
            "securestring" => ParamType::SecureString,
            "int" => ParamType::Int,
            "bool" => ParamType::Bool,
            "object" => ParamType::Object,
            "secureobject" => ParamType::SecureObject,
            "array" => ParamType::Array,
            _ => return None,
        })
    }

    /// The capitalised name ARM echoes in `properties.parameters` and `outputs`.
    pub(crate) fn arm_name(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::SecureString => "SecureString",
            ParamType::Int => "Int",
            ParamType::Bool => "Bool",
            ParamType::Object => "Object",
            ParamType::SecureObject => "SecureObject",
            ParamType::Array => "Array",
        }
    }

    pub(crate) fn is_secure(self) -> bool {
        matches!(self, ParamType::SecureString | ParamType::SecureObject)
    }

    /// The JSON kind a value of this type must have, as ARM names it in errors.
    pub(crate) fn expected(self) -> &'static str {
        match self {
            ParamType::String | ParamType::SecureString => "String, Uri",
            ParamType::Int => "Integer",
            ParamType::Bool => "Boolean",
            ParamType::Object | ParamType::SecureObject => "Object",
            ParamType::Array => "Array",
        }
    }

    pub(crate) fn accepts(self, v: &Value) -> bool {
        match self {
            ParamType::String | ParamType::SecureString => v.is_string(),
            ParamType::Int => v.is_i64(),
            ParamType::Bool => v.is_boolean(),
            ParamType::Object | ParamType::SecureObject => v.is_object(),
            ParamType::Array => v.is_array(),
        }
    }
}

/// A bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct BoundParameter {
    pub(crate) name: String,
    pub(crate) ptype: ParamType,
    pub(crate) value: Value,
}

/// `properties.parameters` as a deployment echoes it: `{name: {type, value}}`; secure values
/// are never echoed (only their type).
pub(crate) fn echo_parameters(params: &[BoundParameter]) -> Value {
    let mut out = Map::new();
    for p in params {
        let mut o = Map::new();
        o.insert("type".into(), p.ptype.arm_name().into());
        if !p.ptype.is_secure() {
            o.insert("value".into(), p.value.clone());
        }
        out.insert(p.name.clone(), Value::Object(o));
    }
    Value::Object(out)
}

/// Binds supplied values (`{name: {value}}`) and defaults, validating each; fills `st.params`.
pub(crate) fn bind(
    tpl: &Template,
    supplied: &Value,
    st: &mut State,
    env: &mut dyn Env,
) -> Result<Vec<BoundParameter>, TemplateError> {
    let empty = Map::new();
    let defs = tpl.value.get("parameters").and_then(Value::as_object).unwrap_or(&empty);
    let supplied = match supplied {
        Value::Null => &empty,
        Value::Object(m) => m,
        _ => {
            return Err(TemplateError::invalid(
                "The deployment parameters must be a JSON object.",
            ))
        }
    };
    check_unknown(defs, supplied)?;
    let mut bound = Vec::with_capacity(defs.len());
    for (name, def) in defs {
        let path = child_path("parameters", name);
        let given = supplied
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v);
        let p = bind_one(tpl, name, def, given, &path, st, env)?;
        st.params.insert(name.clone(), p.value.clone());
        bound.push(p);
    }
    Ok(bound)
}

/// "The template parameters 'x' in the parameters file are not valid; they are not present in
/// the original template and can therefore not be provided at deployment time."
fn check_unknown(defs: &Map<String, Value>, supplied: &Map<String, Value>) -> Result<(), TemplateError> {
    let unknown: Vec<&str> = supplied
        .keys()
        .filter(|k| !k.starts_with('$') && !defs.keys().any(|d| d.eq_ignore_ascii_case(k)))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = defs.keys().map(String::as_str).collect();
    Err(TemplateError::invalid(format!(
        "Deployment template validation failed: 'The template parameters '{}' in the parameters file are not valid; they are not present in the original template and can therefore not be provided at deployment time. The only supported parameters for this template are '{}'. Please see https://aka.ms/arm-pass-parameter-values for usage details.'.",
        unknown.join(", "),
        known.join(", ")
    )))
}

fn bind_one(
    tpl: &Template,
    name: &str,
    def: &Value,
    given: Option<&Value>,
    path: &str,
    st: &mut State,
    env: &mut dyn Env,
) -> Result<BoundParameter, TemplateError> {
    let at = at_line(tpl.pos(path));
    let resolved = resolve_definition(tpl, def);
    let def = &resolved;
    let type_str = def.get("type").and_then(Value::as_str).unwrap_or_default();
    let ptype = ParamType::parse(type_str).ok_or_else(|| {
        tpl.error_at(
            path,
            &format!("The template parameter '{name}'{at} is not valid: the type '{type_str}' is not supported. Please see https://aka.ms/arm-syntax-parameters for usage details."),
        )
    })?;
    let value = match given {
        Some(g) => supplied_value(tpl, name, g, path)?,
        None => match def.get("defaultValue") {
            Some(d) => default_value(tpl, name, d, path, st, env)?,
            // A nullable parameter (user-defined types) without a value is null.
            None if def.get("nullable").and_then(Value::as_bool) == Some(true) => Value::Null,
            // microsoft/fabric-toolbox#398 (verbatim Azure text).
            None => {
                return Err(tpl.error_at(
                    path,
                    &format!("The value for the template parameter '{name}'{at} is not provided. Please see https://aka.ms/arm-create-parameter-file for usage details."),
                ))
            }
        },
    };
    let nullable = def.get("nullable").and_then(Value::as_bool) == Some(true);
    if !(ptype.accepts(&value) || nullable && value.is_null()) {
        return Err(tpl.error_at(
            path,
            &format!(
                "Template parameter JToken type is not valid. Expected '{}'. Actual '{}'. Please see https://aka.ms/resource-manager-parameter-files for usage details.",
                ptype.expected(),
                type_name(&value)
            ),
        ));
    }
    check_constraints(tpl, name, def, &value, path, st, env)?;
    Ok(BoundParameter {
        name: name.to_string(),
        ptype,
        value,
    })
}

/// A parameter typed through `"$ref": "#/definitions/<name>"` (user-defined types, as Bicep
/// compiles them) takes the definition's keys, its own keys winning.
fn resolve_definition(tpl: &Template, def: &Value) -> Value {
    let mut out = def.clone();
    let mut seen = 0;
    while let Some(r) = out.get("$ref").and_then(Value::as_str).map(str::to_string) {
        seen += 1;
        let target = r.strip_prefix('#').and_then(|p| tpl.value.pointer(p)).cloned();
        let (Some(Value::Object(t)), Value::Object(o)) = (target, &mut out) else {
            break;
        };
        o.remove("$ref");
        for (k, v) in t {
            o.entry(k).or_insert(v);
        }
        if seen > 32 {
            break;
        }
    }
    out
}

fn supplied_value(tpl: &Template, name: &str, given: &Value, path: &str) -> Result<Value, TemplateError> {
    if let Some(v) = given.get("value") {
        return Ok(v.clone());
    }
    if given.get("reference").is_some() {
        return Err(tpl.error_at(
            path,
            &format!("The value of the template parameter '{name}' is a Key Vault reference, which this deployment cannot resolve"),
        ));
    }
    Err(tpl.error_at(
        path,
        &format!("The value of the template parameter '{name}' must be given as {{\"value\": ...}}"),
    ))
}

fn default_value(
    tpl: &Template,
    name: &str,
    d: &Value,
    path: &str,
    st: &mut State,
    env: &mut dyn Env,
) -> Result<Value, TemplateError> {
    let mut ctx = Ctx::new(st, env, Phase::ParameterDefault);
    let dpath = format!("{path}.defaultValue");
    eval_value(&mut ctx, d, &dpath).map_err(|e| param_error(tpl, name, path, e))
}

fn param_error(tpl: &Template, name: &str, path: &str, e: EvalError) -> TemplateError {
    let p = e.path.clone().unwrap_or_else(|| path.to_string());
    let at = at_line(tpl.pos(&p));
    tpl.error_at(
        &p,
        &format!("The template parameter '{name}'{at} is not valid: {}", e.message),
    )
}

#[allow(clippy::too_many_arguments)]
fn check_constraints(
    tpl: &Template,
    name: &str,
    def: &Value,
    value: &Value,
    path: &str,
    st: &mut State,
    env: &mut dyn Env,
) -> Result<(), TemplateError> {
    let at = at_line(tpl.pos(path));
    let bad = |why: String| {
        tpl.error_at(path, &format!("The provided value for the template parameter '{name}'{at} is not valid. {why} Please see https://aka.ms/arm-syntax-parameters for usage details."))
    };
    if let Some(allowed) = def.get("allowedValues") {
        let allowed = default_value(tpl, name, allowed, &format!("{path}.allowedValues"), st, env)?;
        let list = allowed.as_array().cloned().unwrap_or_default();
        let ok = |v: &Value| list.iter().any(|a| super::functions::json_eq(a, v));
        let fits = match value {
            Value::Array(items) if !list.iter().any(Value::is_array) => items.iter().all(ok),
            v => ok(v),
        };
        if !fits {
            let shown: Vec<String> = list.iter().map(display).collect();
            // error-invalid-template.md, "Solution 3 - parameter isn't valid".
            return Err(tpl.error_at(path, &format!(
                "The provided value '{}' for the template parameter '{name}'{at} is not valid. The parameter value is not part of the allowed value(s): '{}'. Please see https://aka.ms/arm-syntax-parameters for usage details.",
                display(value),
                shown.join(",")
            )));
        }
    }
    if let Some(n) = value.as_i64() {
        if let Some(min) = def.get("minValue").and_then(Value::as_i64).filter(|m| n < *m) {
            return Err(bad(format!("The value should be greater than or equal to '{min}'.")));
        }
        if let Some(max) = def.get("maxValue").and_then(Value::as_i64).filter(|m| n > *m) {
            return Err(bad(format!("The value should be less than or equal to '{max}'.")));
        }
    }
    let len = match value {
        Value::String(s) => Some(s.chars().count() as i64),
        Value::Array(a) => Some(a.len() as i64),
        _ => None,
    };
    if let Some(len) = len {
        // "Length of the value should be greater than or equal to '12'." (seen from ARM's
        // validation in microsoft/vscode-azurearmtools#1350).
        if let Some(min) = def.get("minLength").and_then(Value::as_i64).filter(|m| len < *m) {
            return Err(bad(format!(
                "Length of the value should be greater than or equal to '{min}'."
            )));
        }
        if let Some(max) = def.get("maxLength").and_then(Value::as_i64).filter(|m| len > *m) {
            return Err(bad(format!(
                "Length of the value should be less than or equal to '{max}'."
            )));
        }
    }
    Ok(())
}
