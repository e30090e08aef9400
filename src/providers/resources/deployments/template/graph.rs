//! The dependency graph (Microsoft Learn, "Define the order for deploying resources in ARM
//! templates", resource-dependency.md): explicit `dependsOn` by name, resource id or copy loop
//! name; implicit dependencies through `reference()` and `list*()` on resources of the same
//! template; serial copy batches; dependencies on resources that are not deployed
//! (`condition` false) are dropped. Resources are ordered in waves; a cycle is ARM's
//! `InvalidTemplate` "Circular dependency detected on resource" (text seen from Azure,
//! akshata29/entaoai#15).

use super::eval::{eval_value, Ctx, Phase, State};
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
        let (implicit, lazy) = implicit(&mut ctx, src, &resources[i].full_type, resources);
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
        return by(&|r| normalize_id(&r.id) == want);
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

/// Targets of `reference()`/`list*()` calls in the body whose first argument can be
/// evaluated before deployment; and whether the body calls them at all (then it is lazy).
fn implicit(ctx: &mut Ctx, src: &Source, full_type: &str, resources: &[PlannedResource]) -> (Vec<usize>, bool) {
    let body = body_template(&src.def, full_type);
    let mut exprs = Vec::new();
    collect_expressions(&body, &mut exprs);
    let mut deps = Vec::new();
    let mut lazy = false;
    for e in &exprs {
        let mut targets: Vec<Expr> = Vec::new();
        e.visit_calls(&mut |name, args| {
            let l = name.to_ascii_lowercase();
            if (l == "reference" || (l.starts_with("list") && l.len() > 4)) && !args.is_empty() {
                targets.push(args[0].clone());
            }
        });
        lazy |= !targets.is_empty();
        for t in targets {
            if let Ok(Value::String(s)) = super::eval::eval_expr(ctx, &t) {
                deps.extend(resolve(resources, &s));
            }
        }
    }
    (deps, lazy)
}

fn collect_expressions(v: &Value, out: &mut Vec<Expr>) {
    match v {
        Value::String(s) if expr::is_expression(s) => {
            if let Ok(e) = expr::parse(s) {
                out.push(e);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_expressions(x, out)),
        Value::Object(o) => o.values().for_each(|x| collect_expressions(x, out)),
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
