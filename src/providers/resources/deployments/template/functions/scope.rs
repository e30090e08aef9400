//! Functions that read the template's own state or the deployment's environment
//! (template-functions-deployment, template-functions-resource, template-functions-scope,
//! template-functions-date, copyIndex, user-defined functions).

use super::super::dotnet;
use super::super::eval::{eval_value, Collected, Ctx, Phase, COLLECTED};
use super::{to_text, Args};
use crate::providers::resources::deployments::template::error::EvalError;
use serde_json::{Map, Value};

type R = Result<Value, EvalError>;

pub(super) fn call(ctx: &mut Ctx, name: &str, a: &Args) -> Option<R> {
    Some(match name {
        "parameters" => parameters(ctx, a),
        "lambdavariables" => a.count(1, 1).and_then(|_| super::lambda::variable(ctx, a.str(0)?)),
        "variables" => variables(ctx, a),
        "copyindex" => copy_index(ctx, a),
        "resourcegroup" => resource_group(ctx, a),
        "subscription" => a
            .count(0, 0)
            .and_then(|_| ctx.env.subscription().map_err(EvalError::env)),
        "tenant" => a.count(0, 0).and_then(|_| ctx.env.tenant().map_err(EvalError::env)),
        "environment" => a.count(0, 0).map(|_| ctx.env.environment()),
        "deployment" => a.count(0, 0).map(|_| ctx.env.deployment()),
        "resourceid" => resource_id(ctx, a, Level::ResourceGroup),
        "subscriptionresourceid" => resource_id(ctx, a, Level::Subscription),
        "tenantresourceid" => resource_id(ctx, a, Level::Tenant),
        "extensionresourceid" => extension_resource_id(a),
        "reference" => reference(ctx, a),
        "newguid" => only_in_defaults(ctx, a).map(|_| ctx.env.new_guid().into()),
        "utcnow" => utc_now(ctx, a),
        n if n.starts_with("list") && n.len() > 4 => list(ctx, a),
        _ => return None,
    })
}

fn not_expected(f: &str, why: &str) -> EvalError {
    EvalError::msg(format!(
        "The template function '{f}' is not expected at this location.{why} Please see https://aka.ms/arm-functions for usage details."
    ))
}

fn parameters(ctx: &mut Ctx, a: &Args) -> R {
    a.count(1, 1)?;
    let n = a.str(0)?;
    ctx.st.param(n).cloned().ok_or_else(|| {
        EvalError::msg(format!(
            "The template parameter '{n}' is not found. Please see https://aka.ms/arm-syntax-parameters for usage details."
        ))
    })
}

fn variables(ctx: &mut Ctx, a: &Args) -> R {
    a.count(1, 1)?;
    if matches!(ctx.phase, Phase::ParameterDefault | Phase::Function) {
        return Err(not_expected(a.name, ""));
    }
    let n = a.str(0)?.to_string();
    ctx.variable(&n)
}

/// `copyIndex([loopName], [offset])`: 0-based, innermost loop unless named
/// (copy-resources.md, copy-variables.md).
fn copy_index(ctx: &mut Ctx, a: &Args) -> R {
    a.count(0, 2)?;
    let (loop_name, offset) = match a.v.first() {
        Some(Value::String(s)) => (Some(s.clone()), if a.len() == 2 { a.int(1)? } else { 0 }),
        Some(_) if a.len() == 1 => (None, a.int(0)?),
        Some(_) => return Err(a.fail(0, "String")),
        None => (None, 0),
    };
    let hit = match &loop_name {
        Some(n) => ctx.copy.iter().rev().find(|(l, _)| l.eq_ignore_ascii_case(n)),
        None => ctx.copy.last(),
    };
    match hit {
        Some((_, i)) => i
            .checked_add(offset)
            .map(Value::from)
            .ok_or_else(|| a.error("the offset is too large")),
        None if loop_name.is_some() && !ctx.copy.is_empty() => Err(EvalError::msg(format!(
            "The template copy index loop '{}' is not found. Please see https://aka.ms/arm-copy for usage details.",
            loop_name.unwrap_or_default()
        ))),
        None => Err(not_expected(
            a.name,
            " The function can only be used in a resource with copy specified.",
        )),
    }
}

fn resource_group(ctx: &mut Ctx, a: &Args) -> R {
    a.count(0, 0)?;
    if ctx.env.scope().resource_group.is_none() {
        // Seen from Azure at subscription scope, in upper case.
        return Err(not_expected("RESOURCEGROUP", ""));
    }
    ctx.env.resource_group().map_err(EvalError::env)
}

#[derive(Clone, Copy, PartialEq)]
enum Level {
    ResourceGroup,
    Subscription,
    Tenant,
}

/// `resourceId([subscriptionId], [resourceGroupName], type, names...)` and its
/// subscription/tenant forms (template-functions-resource#resourceid). The type is the first
/// argument with a `/`; the names must match the type's segments after the namespace.
fn resource_id(ctx: &mut Ctx, a: &Args, level: Level) -> R {
    a.count(2, usize::MAX)?;
    let texts: Vec<String> = (0..a.len())
        .map(|i| to_text(&a.v[i]).ok_or_else(|| a.fail(i, "String")))
        .collect::<Result<_, _>>()?;
    let t = texts
        .iter()
        .position(|s| s.contains('/'))
        .ok_or_else(|| a.error("the type argument is missing"))?;
    let max_pre = match level {
        Level::ResourceGroup => 2,
        Level::Subscription => 1,
        Level::Tenant => 0,
    };
    if t > max_pre {
        return Err(a.error(format!(
            "the type '{}' must be preceded by at most {max_pre} argument(s)",
            texts[t]
        )));
    }
    let scope = ctx.env.scope();
    let (mut sub, mut rg) = (scope.subscription_id.clone(), scope.resource_group.clone());
    match (level, t) {
        (Level::ResourceGroup, 1) => rg = Some(texts[0].clone()),
        (Level::ResourceGroup, 2) => (sub, rg) = (Some(texts[0].clone()), Some(texts[1].clone())),
        (Level::Subscription, 1) => sub = Some(texts[0].clone()),
        _ => {}
    }
    let tail = type_and_names(a, &texts[t], &texts[t + 1..])?;
    let prefix = match (level, sub, rg) {
        (Level::Tenant, _, _) => String::new(),
        (Level::ResourceGroup, Some(s), Some(g)) => format!("/subscriptions/{s}/resourceGroups/{g}"),
        (Level::ResourceGroup | Level::Subscription, Some(s), _) => format!("/subscriptions/{s}"),
        _ => return Err(a.error("the subscription of the deployment is unknown")),
    };
    Ok(format!("{prefix}/providers/{tail}").into())
}

/// `Ns/t1/t2` + `[n1, n2]` → `Ns/t1/n1/t2/n2`.
pub(crate) fn type_and_names(a: &Args, rtype: &str, names: &[String]) -> Result<String, EvalError> {
    let segs: Vec<&str> = rtype.trim_matches('/').split('/').collect();
    let names: Vec<&str> = names.iter().flat_map(|n| n.split('/')).collect();
    if segs.len() < 2 || names.len() != segs.len() - 1 {
        return Err(a.error(format!(
            "the type '{rtype}' requires '{}' resource name argument(s)",
            segs.len().saturating_sub(1)
        )));
    }
    let mut out = segs[0].to_string();
    for (t, n) in segs[1..].iter().zip(&names) {
        out.push_str(&format!("/{t}/{n}"));
    }
    Ok(out)
}

fn extension_resource_id(a: &Args) -> R {
    a.count(3, usize::MAX)?;
    let base = a.str(0)?.trim_end_matches('/').to_string();
    let names: Vec<String> = (2..a.len())
        .map(|i| to_text(&a.v[i]).ok_or_else(|| a.fail(i, "String")))
        .collect::<Result<_, _>>()?;
    let tail = type_and_names(a, a.str(1)?, &names)?;
    Ok(format!("{base}/providers/{tail}").into())
}

/// `reference(nameOrId, [apiVersion], ['Full'])` (template-functions-resource#reference).
/// A name resolves to a resource declared in this template, whose apiVersion is the default.
fn reference(ctx: &mut Ctx, a: &Args) -> R {
    a.count(1, 3)?;
    if !matches!(ctx.phase, Phase::Body | Phase::Outputs) {
        return Err(not_expected(a.name, ""));
    }
    let target = a.str(0)?;
    if collected(ctx, target, true) {
        return Err(EvalError::msg(COLLECTED));
    }
    let mut api = match a.v.get(1) {
        Some(Value::Null) | None => None,
        Some(_) => Some(a.str(1)?.to_string()),
    };
    let full = match a.v.get(2) {
        Some(Value::String(s)) if s.eq_ignore_ascii_case("full") => true,
        Some(Value::Null) | None => false,
        Some(_) => return Err(a.error("the third parameter must be 'Full'")),
    };
    let id = if target.starts_with('/') {
        if api.is_none() {
            api = ctx
                .st
                .declared
                .iter()
                .find(|d| d.id.eq_ignore_ascii_case(target))
                .map(|d| d.api_version.clone());
        }
        target.to_string()
    } else {
        let d = ctx.st.declared.iter().find(|d| {
            d.name.eq_ignore_ascii_case(target) || d.symbolic.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(target))
        }).ok_or_else(|| {
            EvalError::msg(format!(
                "The template reference '{target}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-function-reference for usage details."
            ))
        })?;
        api = api.or_else(|| Some(d.api_version.clone()));
        d.id.clone()
    };
    ctx.env.reference(&id, api.as_deref(), full).map_err(EvalError::env)
}

/// `list{Action}(resourceId, apiVersion, [functionValues])`: a POST to the resource's action.
fn list(ctx: &mut Ctx, a: &Args) -> R {
    a.count(2, 3)?;
    if !matches!(ctx.phase, Phase::Body | Phase::Outputs) {
        return Err(not_expected(a.name, ""));
    }
    let target = a.str(0)?;
    if collected(ctx, target, false) {
        return Err(EvalError::msg(COLLECTED));
    }
    let api = a.str(1)?;
    // "resourceName or resourceIdentifier" (template-functions-resource#list): a name is a
    // resource of this template.
    let id = match ctx
        .st
        .declared
        .iter()
        .find(|d| !target.starts_with('/') && d.name.eq_ignore_ascii_case(target))
    {
        Some(d) => d.id.clone(),
        None => target.to_string(),
    };
    ctx.env.list(&id, a.name, api, a.v.get(2)).map_err(EvalError::env)
}

/// In a dependency scan, records the target and reports that the call must stop there.
fn collected(ctx: &mut Ctx, target: &str, is_reference: bool) -> bool {
    let path = ctx.path.clone();
    match ctx.collect.as_mut() {
        Some(c) => {
            c.push(Collected {
                target: target.to_string(),
                is_reference,
                path,
            });
            true
        }
        None => false,
    }
}

fn only_in_defaults(ctx: &Ctx, a: &Args) -> Result<(), EvalError> {
    a.count(0, if a.name.eq_ignore_ascii_case("utcNow") { 1 } else { 0 })?;
    if ctx.phase != Phase::ParameterDefault {
        return Err(not_expected(
            a.name,
            " The function can only be used with parameter default values.",
        ));
    }
    Ok(())
}

/// `utcNow([format])`, default `yyyyMMddTHHmmssZ` (template-functions-date#utcnow).
fn utc_now(ctx: &mut Ctx, a: &Args) -> R {
    only_in_defaults(ctx, a)?;
    let fmt = if a.len() == 1 {
        a.str(0)?.to_string()
    } else {
        "yyyyMMddTHHmmssZ".to_string()
    };
    dotnet::format_datetime(ctx.env.now_ms(), &fmt)
        .map(Value::from)
        .map_err(|e| a.error(e))
}

/// A user-defined function (user-defined-functions.md): only its own parameters are visible.
pub(super) fn user_function(ctx: &mut Ctx, lower: &str, a: Args) -> R {
    // user-defined-functions.md, limitations: a user function can't call another one.
    if ctx.phase == Phase::Function {
        return Err(EvalError::msg(format!(
            "The template function '{}' is not valid: user-defined functions can't call other user-defined functions.",
            a.name
        )));
    }
    let f = ctx.st.functions.get(lower).cloned().ok_or_else(|| {
        EvalError::msg(format!(
            "The template function '{}' is not valid. Please see https://aka.ms/arm-functions for usage details.",
            a.name
        ))
    })?;
    a.count(f.params.len(), f.params.len())?;
    let mut params = Map::new();
    for (n, v) in f.params.iter().zip(a.v) {
        params.insert(n.clone(), v);
    }
    let saved = std::mem::replace(&mut ctx.st.params, params);
    let phase = std::mem::replace(&mut ctx.phase, Phase::Function);
    let copy = std::mem::take(&mut ctx.copy);
    let r = eval_value(ctx, &f.output, "functions");
    ctx.st.params = saved;
    ctx.phase = phase;
    ctx.copy = copy;
    r
}

/// `dateTimeAdd(base, duration, [format])`, `dateTimeFromEpoch(seconds)`,
/// `dateTimeToEpoch(dateTime)` (template-functions-date). Results default to
/// `yyyy-MM-ddTHH:mm:ssZ`, the form the documentation's examples show.
pub(super) fn date(name: &str, a: &Args) -> Option<R> {
    const ISO: &str = "yyyy-MM-ddTHH:mm:ssZ";
    let bad_time = |s: &str| a.error(format!("the value '{s}' is not a valid ISO 8601 date time"));
    Some(match name {
        "datetimeadd" => (|| {
            a.count(2, 3)?;
            let base = a.str(0)?;
            let ms = dotnet::parse_iso(base).ok_or_else(|| bad_time(base))?;
            let d = a.str(1)?;
            let delta = dotnet::parse_duration(d)
                .ok_or_else(|| a.error(format!("the value '{d}' is not a valid ISO 8601 duration")))?;
            let fmt = if a.len() == 3 {
                a.str(2)?.to_string()
            } else {
                ISO.to_string()
            };
            dotnet::format_datetime(ms.saturating_add(delta), &fmt)
                .map(Value::from)
                .map_err(|e| a.error(e))
        })(),
        "datetimefromepoch" => (|| {
            a.count(1, 1)?;
            let secs = a.int(0)?;
            dotnet::format_datetime(secs.saturating_mul(1000), ISO)
                .map(Value::from)
                .map_err(|e| a.error(e))
        })(),
        "datetimetoepoch" => (|| {
            a.count(1, 1)?;
            let s = a.str(0)?;
            dotnet::parse_iso(s)
                .map(|ms| Value::from(ms.div_euclid(1000)))
                .ok_or_else(|| bad_time(s))
        })(),
        _ => return None,
    })
}
