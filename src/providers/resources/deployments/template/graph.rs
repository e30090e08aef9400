//! The dependency graph (Microsoft Learn, "Define the order for deploying resources in ARM
//! templates", resource-dependency.md): explicit `dependsOn` by name, resource id or copy loop
//! name; implicit dependencies through `reference()` and `list*()` on resources of the same
//! template; serial copy batches; dependencies on resources that are not deployed
//! (`condition` false) are dropped. Resources are ordered in waves; a cycle is ARM's
//! `InvalidTemplate` "Circular dependency detected on resource" (text seen from Azure,
//! akshata29/entaoai#15).

use super::eval::{eval_value, Collected, Ctx, Declared, Phase, State};
use super::expr::{self, Expr};
use super::json::{child_path, index_path};
use super::plan::{body_template, validation_error, PlannedResource, Source};
use super::{Env, Template, TemplateError};
use serde_json::Value;

/// Fills `depends_on` and `lazy` of every resource.
pub(crate) fn link(
    tpl: &Template,
    sources: &[Source],
    resources: &mut [PlannedResource],
    st: &mut State,
    env: &mut dyn Env,
) -> Result<(), TemplateError> {
    for i in 0..resources.len() {
        let src = &sources[resources[i].source];
        let mut ctx = Ctx::new(st, env, Phase::Header);
        ctx.copy = resources[i].copy_stack();
        let mut deps = explicit(tpl, &mut ctx, sources, src, resources)?;
        let (implicit, lazy) = implicit(tpl, &mut ctx, src, &resources[i].full_type, resources)?;
        deps.extend(implicit);
        deps.extend(serial_predecessors(resources, i));
        deps.retain(|d| *d != i && resources[*d].is_deployed());
        deps.sort_unstable();
        deps.dedup();
        resources[i].depends_on = deps;
        resources[i].lazy = lazy;
    }
    Ok(())
}

fn explicit(
    tpl: &Template,
    ctx: &mut Ctx,
    sources: &[Source],
    src: &Source,
    resources: &[PlannedResource],
) -> Result<Vec<usize>, TemplateError> {
    let mut deps = Vec::new();
    let Some(list) = src.def.get("dependsOn") else {
        return Ok(deps);
    };
    let dpath = child_path(&src.path, "dependsOn");
    let Some(items) = list.as_array() else {
        return Err(tpl.error_at(&dpath, "The 'dependsOn' property must be an array"));
    };
    for (j, item) in items.iter().enumerate() {
        let p = index_path(&dpath, j);
        let v = eval_value(ctx, item, &p).map_err(|e| validation_error(tpl, e, "resource"))?;
        let targets: Vec<String> = match v {
            Value::String(s) => vec![s],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        for t in targets {
            let hit = resolve(resources, &t);
            if hit.is_empty() && !is_copy_loop(sources, &t) {
                return Err(tpl.error_at(&p, &format!("The resource '{t}' is not defined in the template. Please see https://aka.ms/arm-syntax for usage details.")));
            }
            deps.extend(hit);
        }
    }
    Ok(deps)
}

/// A copy loop of the template, possibly with no instances (count 0).
fn is_copy_loop(sources: &[Source], name: &str) -> bool {
    sources.iter().any(|s| {
        s.def
            .pointer("/copy/name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    })
}

/// Resources a `dependsOn` entry or a `reference()` target names: a resource id, a resource
/// name, a copy loop name (every instance), `{namespace}/{type}/{name}` or a symbolic name.
pub(crate) fn resolve(resources: &[PlannedResource], target: &str) -> Vec<usize> {
    let t = target.trim();
    let by = |f: &dyn Fn(&PlannedResource) -> bool| -> Vec<usize> {
        resources
            .iter()
            .enumerate()
            .filter(|(_, r)| f(r))
            .map(|(i, _)| i)
            .collect()
    };
    if t.starts_with('/') {
        let want = normalize_id(t);
        let exact = by(&|r| normalize_id(&r.id) == want);
        if !exact.is_empty() {
            return exact;
        }
        // A resource deployed to another scope (a nested deployment into another resource
        // group) named by an id built for this one still matches by type and name.
        let tail = provider_tail(t);
        return by(&|r| provider_tail(&r.id) == tail);
    }
    let hits =
        by(&|r| r.name.eq_ignore_ascii_case(t) || r.symbolic.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(t)));
    if !hits.is_empty() {
        return hits;
    }
    let hits = by(&|r| r.copy.as_ref().is_some_and(|c| c.name.eq_ignore_ascii_case(t)));
    if !hits.is_empty() {
        return hits;
    }
    let want = t.trim_matches('/').to_lowercase();
    by(&|r| provider_tail(&r.id) == want)
}

/// Lower-cased id with the subscription-level resource-group spelling unified.
fn normalize_id(id: &str) -> String {
    id.trim_end_matches('/')
        .to_lowercase()
        .replace("/providers/microsoft.resources/resourcegroups/", "/resourcegroups/")
}

/// `{namespace}/{type}/{name}...` after the last `/providers/`.
fn provider_tail(id: &str) -> String {
    let l = id.to_lowercase();
    match l.rfind("/providers/") {
        Some(p) => l[p + "/providers/".len()..].to_string(),
        None => l.trim_start_matches('/').to_string(),
    }
}

/// Resources the body reads through `reference()`/`list*()`, and whether it calls them at
/// all (then it is lazy). The body is evaluated in a scan mode where those calls record their
/// target instead of calling the environment, so targets built with `copyIndex()` of a
/// property copy are found too. A `reference()` by name to a resource the template does not
/// declare is refused here, at validation, as ARM does.
fn implicit(
    tpl: &Template,
    ctx: &mut Ctx,
    src: &Source,
    full_type: &str,
    resources: &[PlannedResource],
) -> Result<(Vec<usize>, bool), TemplateError> {
    let body = body_template(&src.def, full_type);
    if runtime_targets(&body, &src.path).is_empty() {
        return Ok((Vec::new(), false));
    }
    let found = scan(ctx, &body, &src.path, Phase::Body);
    let mut deps = Vec::new();
    for c in found {
        let hit = resolve(resources, &c.target);
        if hit.is_empty() && c.is_reference {
            check_reference_name(tpl, &ctx.st.declared, &c.target, &c.path)?;
        }
        deps.extend(hit);
    }
    Ok((deps, true))
}

/// Evaluates `v` in scan mode and returns the `reference()`/`list*()` targets met.
fn scan(ctx: &mut Ctx, v: &Value, path: &str, phase: Phase) -> Vec<Collected> {
    let saved = std::mem::replace(&mut ctx.phase, phase);
    ctx.collect = Some(Vec::new());
    let _ = eval_value(ctx, v, path);
    ctx.phase = saved;
    ctx.collect.take().unwrap_or_default()
}

/// Refuses `reference('name')` when no resource of the template (nor, for an outer-scope
/// nested template, of its parent) has that name.
fn check_reference_name(tpl: &Template, declared: &[Declared], name: &str, path: &str) -> Result<(), TemplateError> {
    let known = declared.iter().any(|d| {
        d.name.eq_ignore_ascii_case(name) || d.symbolic.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(name))
    });
    if known || name.is_empty() || name.starts_with('/') {
        return Ok(());
    }
    Err(tpl.error_at(
        path,
        &format!("The template reference '{name}' is not valid: could not find template resource or resource copy with this name. Please see https://aka.ms/arm-function-reference for usage details."),
    ))
}

/// Checks the `reference()` names used in outputs (evaluable before deployment).
pub(crate) fn check_output_references(
    tpl: &Template,
    st: &mut State,
    env: &mut dyn Env,
    resources: &[PlannedResource],
) -> Result<(), TemplateError> {
    let Some(outputs) = tpl.value.get("outputs") else {
        return Ok(());
    };
    if runtime_targets(outputs, "outputs").is_empty() {
        return Ok(());
    }
    let mut ctx = Ctx::new(st, env, Phase::Outputs);
    for c in scan(&mut ctx, outputs, "outputs", Phase::Outputs) {
        if c.is_reference && resolve(resources, &c.target).is_empty() {
            check_reference_name(tpl, &ctx.st.declared, &c.target, &c.path)?;
        }
    }
    Ok(())
}

/// `(path, first argument, is reference())` of every `reference()`/`list*()` call under `v`.
fn runtime_targets(v: &Value, path: &str) -> Vec<(String, Expr, bool)> {
    let mut exprs = Vec::new();
    collect_expressions(v, path, &mut exprs);
    let mut out = Vec::new();
    for (p, e) in &exprs {
        e.visit_calls(&mut |name, args| {
            let l = name.to_ascii_lowercase();
            if (l == "reference" || (l.starts_with("list") && l.len() > 4)) && !args.is_empty() {
                out.push((p.clone(), args[0].clone(), l == "reference"));
            }
        });
    }
    out
}

fn collect_expressions(v: &Value, path: &str, out: &mut Vec<(String, Expr)>) {
    match v {
        Value::String(s) if expr::is_expression(s) => {
            if let Ok(e) = expr::parse(s) {
                out.push((path.to_string(), e));
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| collect_expressions(x, &index_path(path, i), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| collect_expressions(x, &child_path(path, k), out)),
        _ => {}
    }
}

/// `mode: serial`: each batch waits for the previous batch of the same loop.
fn serial_predecessors(resources: &[PlannedResource], i: usize) -> Vec<usize> {
    let r = &resources[i];
    let Some(c) = &r.copy else { return Vec::new() };
    let Some(b) = c.serial_batch else { return Vec::new() };
    let batch = c.index / b;
    if batch == 0 {
        return Vec::new();
    }
    let range = (batch - 1) * b..batch * b;
    resources
        .iter()
        .enumerate()
        .filter(|(_, o)| o.source == r.source && o.copy.as_ref().is_some_and(|oc| range.contains(&oc.index)))
        .map(|(j, _)| j)
        .collect()
}

/// Topological order in waves (Kahn); only deployable resources take part.
pub(crate) fn waves(tpl: &Template, resources: &[PlannedResource]) -> Result<Vec<Vec<usize>>, TemplateError> {
    let n = resources.len();
    let mut remaining: Vec<usize> = (0..n).filter(|i| resources[*i].is_deployed()).collect();
    let mut done = vec![false; n];
    let mut waves = Vec::new();
    while !remaining.is_empty() {
        let (ready, rest): (Vec<usize>, Vec<usize>) = remaining
            .iter()
            .partition(|i| resources[**i].depends_on.iter().all(|d| done[*d]));
        if ready.is_empty() {
            let r = &resources[rest[0]];
            return Err(tpl.error_at(&r.path, &format!("Circular dependency detected on resource: '{}'. Please see https://aka.ms/arm-syntax-resources for usage details.", r.id)));
        }
        for i in &ready {
            done[*i] = true;
        }
        waves.push(ready);
        remaining = rest;
    }
    Ok(waves)
}
