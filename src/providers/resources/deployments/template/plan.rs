//! From a template and parameters to a deployment plan: variables, resource expansion
//! (`copy`, `condition`, child resources), resource ids, the dependency graph in waves, lazy
//! evaluation of resource bodies, nested deployments and outputs.

use super::error::{at_line, EvalError};
use super::eval::{copy_count, eval_value, Ctx, Declared, Phase, State, UserFunction, VarDef};
use super::graph;
use super::json::{child_path, index_path};
use super::params::{self, BoundParameter, ParamType};
use super::{Env, Template, TemplateError};
use serde_json::{json, Map, Value};

/// Keys of a resource definition that steer the deployment; they are not part of the body
/// sent to the provider.
const TEMPLATE_KEYS: &[&str] = &[
    "type",
    "name",
    "apiVersion",
    "dependsOn",
    "condition",
    "copy",
    "comments",
    "resources",
    "scope",
    "resourceGroup",
    "subscriptionId",
    "existing",
    // Bicep compiles a resource's decorators (`@description`) to `metadata`; it is for readers.
    "metadata",
];

const DEPLOYMENTS: &str = "Microsoft.Resources/deployments";

const MAX_RESOURCES: usize = 800;

/// A resource type and the locations it is deployed to.
type TypeLocations = (String, Vec<String>);

/// One resource definition of the template (child resources flattened).
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) def: Value,
    pub(crate) path: String,
    pub(crate) symbolic: Option<String>,
    pub(crate) parent: Option<usize>,
}

/// A resource instance's place in a copy loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CopyInfo {
    pub(crate) name: String,
    pub(crate) index: i64,
    pub(crate) count: i64,
    /// `mode: serial` batch size (copy-resources.md#serial-or-parallel).
    pub(crate) serial_batch: Option<i64>,
}

/// One resource instance to deploy.
#[derive(Debug, Clone)]
pub(crate) struct PlannedResource {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) full_type: String,
    pub(crate) api_version: String,
    /// JSON path of the definition in the template (`resources[2]`).
    pub(crate) path: String,
    pub(crate) symbolic: Option<String>,
    pub(crate) copy: Option<CopyInfo>,
    /// `condition` evaluated to true; a false resource is not deployed.
    pub(crate) condition: bool,
    /// `existing: true` (languageVersion 2.0): referenced, never deployed.
    pub(crate) existing: bool,
    /// Indices (into `Plan::resources`) this resource waits for.
    pub(crate) depends_on: Vec<usize>,
    /// The body calls `reference()`/`list*()`: evaluated only when its turn comes.
    pub(crate) lazy: bool,
    pub(crate) source: usize,
    body: Option<Value>,
}

impl PlannedResource {
    pub(crate) fn is_deployed(&self) -> bool {
        self.condition && !self.existing
    }

    pub(crate) fn copy_stack(&self) -> Vec<(String, i64)> {
        self.copy.iter().map(|c| (c.name.clone(), c.index)).collect()
    }
}

/// `expressionEvaluationOptions.scope` of a nested deployment (linked-templates.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NestedScope {
    Inner,
    Outer,
}

/// A `Microsoft.Resources/deployments` resource with an inline template, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct NestedDeployment {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) subscription_id: Option<String>,
    pub(crate) resource_group: Option<String>,
    pub(crate) mode: String,
    pub(crate) scope: NestedScope,
    pub(crate) template: Template,
    /// Evaluated `properties.parameters` (inner scope).
    pub(crate) parameters: Value,
    inherited_params: Map<String, Value>,
    inherited_vars: Map<String, Value>,
    inherited_functions: std::collections::HashMap<String, UserFunction>,
    inherited_declared: Vec<Declared>,
}

/// A resource evaluated for deployment.
#[derive(Debug, Clone)]
pub(crate) struct EvaluatedResource {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) full_type: String,
    pub(crate) api_version: String,
    /// The request body (`location`, `properties`, `tags`, `sku`, `identity`, ...).
    pub(crate) body: Value,
    pub(crate) nested: Option<NestedDeployment>,
}

/// The deployment plan.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) parameters: Vec<BoundParameter>,
    pub(crate) resources: Vec<PlannedResource>,
    /// Deployable resources in dependency order: each wave only needs earlier waves.
    pub(crate) waves: Vec<Vec<usize>>,
    template: Template,
    st: State,
    sources: Vec<Source>,
}

/// Binds parameters, evaluates variables, expands resources and orders them.
pub(crate) fn plan(tpl: &Template, parameters: &Value, env: &mut dyn Env) -> Result<Plan, TemplateError> {
    let mut st = State {
        functions: user_functions(tpl)?,
        ..State::default()
    };
    let bound = params::bind(tpl, parameters, &mut st, env)?;
    st.set_variables(variable_defs(tpl));
    Ctx::new(&mut st, env, Phase::Variables)
        .all_variables()
        .map_err(|e| validation_error(tpl, e, "variable"))?;
    build(tpl.clone(), st, bound, env)
}

/// Plans a nested deployment: inner scope binds its own parameters; outer scope sees the
/// parent's parameters, variables and functions.
pub(crate) fn plan_nested(n: &NestedDeployment, env: &mut dyn Env) -> Result<Plan, TemplateError> {
    match n.scope {
        NestedScope::Inner => plan(&n.template, &n.parameters, env),
        NestedScope::Outer => {
            let mut st = State {
                params: n.inherited_params.clone(),
                functions: n.inherited_functions.clone(),
                declared: n.inherited_declared.clone(),
                ..State::default()
            };
            st.preset_variables(&n.inherited_vars);
            build(n.template.clone(), st, Vec::new(), env)
        }
    }
}

fn build(
    template: Template,
    mut st: State,
    parameters: Vec<BoundParameter>,
    env: &mut dyn Env,
) -> Result<Plan, TemplateError> {
    let sources = flatten(&template)?;
    let mut resources = Vec::new();
    for si in 0..sources.len() {
        expand(&template, &sources, si, &mut st, env, &mut resources)?;
    }
    // best-practices.md#template-limits: 800 resources, copies included.
    if resources.len() > MAX_RESOURCES {
        return Err(TemplateError::validation(&format!(
            "The number of template resources limit exceeded. Limit: '{MAX_RESOURCES}' and actual: '{}'. Please see https://aka.ms/arm-syntax-resources for usage details.",
            resources.len()
        )));
    }
    // An outer-scope nested template also sees its parent's resources by name.
    let inherited = std::mem::take(&mut st.declared);
    st.declared = resources.iter().map(declared).chain(inherited).collect();
    graph::link(&template, &sources, &mut resources, &mut st, env)?;
    graph::check_output_references(&template, &mut st, env, &resources)?;
    let waves = graph::waves(&template, &resources)?;
    let mut plan = Plan {
        parameters,
        resources,
        waves,
        template,
        st,
        sources,
    };
    plan.prepare_bodies(env)?;
    Ok(plan)
}

fn declared(r: &PlannedResource) -> Declared {
    Declared {
        name: r.name.clone(),
        full_type: r.full_type.clone(),
        id: r.id.clone(),
        api_version: r.api_version.clone(),
        copy_name: r.copy.as_ref().map(|c| c.name.clone()),
        symbolic: r.symbolic.clone(),
        enabled: r.condition,
    }
}

/// `functions`: `[{namespace, members: {name: {parameters: [{name}], output: {value}}}}]`.
fn user_functions(tpl: &Template) -> Result<std::collections::HashMap<String, UserFunction>, TemplateError> {
    let mut out = std::collections::HashMap::new();
    let Some(groups) = tpl.value.get("functions").and_then(Value::as_array) else {
        return Ok(out);
    };
    for (gi, g) in groups.iter().enumerate() {
        let ns = g.get("namespace").and_then(Value::as_str).unwrap_or_default();
        let members = g.get("members").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, m) in members {
            let params = m
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| p.get("name").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let Some(output) = m.get("output").and_then(|o| o.get("value")).cloned() else {
                return Err(tpl.error_at(
                    &index_path("functions", gi),
                    &format!("The function '{ns}.{name}' must have an output value"),
                ));
            };
            out.insert(format!("{ns}.{name}").to_lowercase(), UserFunction { params, output });
        }
    }
    Ok(out)
}

/// The variables section; `copy` entries build arrays (copy-variables.md).
fn variable_defs(tpl: &Template) -> Vec<(String, VarDef)> {
    let mut defs = Vec::new();
    let Some(vars) = tpl.value.get("variables").and_then(Value::as_object) else {
        return defs;
    };
    for (k, v) in vars {
        match v {
            Value::Array(loops) if k.eq_ignore_ascii_case("copy") => {
                for (i, l) in loops.iter().enumerate() {
                    let name = l.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                    let count = l.get("count").cloned().unwrap_or(Value::Null);
                    let input = l.get("input").cloned().unwrap_or(Value::Null);
                    let path = index_path("variables.copy", i);
                    defs.push((name, VarDef::Copy { count, input, path }));
                }
            }
            _ => defs.push((k.clone(), VarDef::Plain(v.clone()))),
        }
    }
    defs
}

/// Turns an evaluation failure at validation time into ARM's error, located at the string
/// that failed: "The template {what} '{name}' at line 'L' and column 'C' is not valid: ...".
pub(crate) fn validation_error(tpl: &Template, e: EvalError, what: &str) -> TemplateError {
    if let Some(inner) = e.env.clone() {
        let mut t = TemplateError::invalid(inner.message.clone());
        t.inner = Some(inner);
        return t;
    }
    let path = e.path.clone().unwrap_or_default();
    let name = element_name(tpl, &path);
    let at = at_line(tpl.pos(&path));
    let mut err = tpl.error_at(
        &path,
        &format!("The template {what} '{name}'{at} is not valid: {}", e.message),
    );
    err.expression_position = e.position;
    err
}

/// The name of the template element a path points into: a resource's `name` as written,
/// else the key under `variables`/`outputs`/`parameters`.
fn element_name(tpl: &Template, path: &str) -> String {
    let mut cur = &tpl.value;
    let mut name = None;
    let mut after_section = false;
    for seg in path.split(['.', '[']).filter(|s| !s.is_empty()) {
        let seg = seg.trim_end_matches(']').trim_matches('\'');
        let next = match (cur, seg.parse::<usize>()) {
            (Value::Array(a), Ok(i)) => a.get(i),
            (Value::Object(o), _) => o.get(seg),
            _ => None,
        };
        let Some(next) = next else { break };
        if after_section && name.is_none() && !next.get("type").is_some_and(Value::is_string) {
            name = Some(seg.to_string());
        }
        if next.get("type").is_some_and(Value::is_string) {
            if let Some(n) = next.get("name").and_then(Value::as_str) {
                name = Some(n.to_string());
            }
        }
        after_section = ["variables", "outputs", "parameters"].contains(&seg) && name.is_none();
        cur = next;
    }
    name.unwrap_or_else(|| path.to_string())
}

/// Flattens `resources` (an array, or an object keyed by symbolic name in languageVersion
/// 2.0) and the child `resources` of each definition.
fn flatten(tpl: &Template) -> Result<Vec<Source>, TemplateError> {
    let mut out = Vec::new();
    match tpl.value.get("resources") {
        Some(Value::Array(items)) => {
            for (i, r) in items.iter().enumerate() {
                push_source(tpl, r, index_path("resources", i), None, None, &mut out)?;
            }
        }
        Some(Value::Object(items)) => {
            for (k, r) in items {
                push_source(tpl, r, child_path("resources", k), Some(k.clone()), None, &mut out)?;
            }
        }
        _ => {}
    }
    Ok(out)
}

fn push_source(
    tpl: &Template,
    r: &Value,
    path: String,
    symbolic: Option<String>,
    parent: Option<usize>,
    out: &mut Vec<Source>,
) -> Result<(), TemplateError> {
    let Some(obj) = r.as_object() else {
        return Err(tpl.error_at(&path, "The template resource must be a JSON object"));
    };
    for key in ["type", "name", "apiVersion"] {
        if !obj.get(key).is_some_and(Value::is_string) {
            let at = at_line(tpl.pos(&path));
            return Err(tpl.error_at(&path, &format!("The template resource{at} is not valid: the '{key}' property is missing or not a string. Please see https://aka.ms/arm-syntax-resources for usage details.")));
        }
    }
    let mut def = obj.clone();
    let children = def.remove("resources");
    let me = out.len();
    out.push(Source {
        def: Value::Object(def),
        path: path.clone(),
        symbolic,
        parent,
    });
    if let Some(Value::Array(kids)) = children {
        for (i, k) in kids.iter().enumerate() {
            push_source(tpl, k, index_path(&format!("{path}.resources"), i), None, Some(me), out)?;
        }
    }
    Ok(())
}

/// Evaluates a header field of a resource (name, type, condition, ...) as a string.
fn header_str(ctx: &mut Ctx, def: &Value, key: &str, path: &str) -> Result<Option<String>, EvalError> {
    let Some(v) = def.get(key) else { return Ok(None) };
    let p = child_path(path, key);
    match eval_value(ctx, v, &p)? {
        Value::String(s) => Ok(Some(s)),
        Value::Null => Ok(None),
        other => Err(EvalError::msg(format!(
            "The '{key}' property must be a string; it is of type '{}'.",
            super::functions::type_name(&other)
        ))
        .in_path(&p)),
    }
}

/// Expands one definition into its instances (copy loop and condition evaluated).
fn expand(
    tpl: &Template,
    sources: &[Source],
    si: usize,
    st: &mut State,
    env: &mut dyn Env,
    out: &mut Vec<PlannedResource>,
) -> Result<(), TemplateError> {
    let src = &sources[si];
    let mut ctx = Ctx::new(st, env, Phase::Header);
    let copy = copy_spec(&mut ctx, &src.def, &src.path).map_err(|e| validation_error(tpl, e, "resource"))?;
    let instances: Vec<Option<CopyInfo>> = match copy {
        None => vec![None],
        Some(c) => (0..c.count).map(|i| Some(CopyInfo { index: i, ..c.clone() })).collect(),
    };
    // A child declared inside its parent takes the parent's type and name as prefixes; no
    // dependency on the parent is implied (resource-dependency.md, "Child resources").
    let parent = src
        .parent
        .and_then(|p| out.iter().find(|r| r.source == p))
        .map(|r| (r.full_type.clone(), r.name.clone()));
    for copy in instances {
        ctx.copy = copy.iter().map(|c| (c.name.clone(), c.index)).collect();
        let r = instance(tpl, &mut ctx, src, si, copy, parent.as_ref())?;
        out.push(r);
    }
    Ok(())
}

fn copy_spec(ctx: &mut Ctx, def: &Value, path: &str) -> Result<Option<CopyInfo>, EvalError> {
    let Some(c) = def.get("copy") else { return Ok(None) };
    let p = child_path(path, "copy");
    let name = match c.get("name") {
        Some(n) => eval_value(ctx, n, &child_path(&p, "name"))?
            .as_str()
            .unwrap_or_default()
            .to_string(),
        None => String::new(),
    };
    if name.is_empty() {
        return Err(EvalError::msg("The copy 'name' property must be a non-empty string. Please see https://aka.ms/arm-copy for usage details.").in_path(&p));
    }
    let count = copy_count(
        ctx,
        &name,
        c.get("count").unwrap_or(&Value::Null),
        &child_path(&p, "count"),
    )?;
    let serial = c
        .get("mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("serial"));
    let serial_batch = if serial {
        let b = match c.get("batchSize") {
            Some(b) => eval_value(ctx, b, &child_path(&p, "batchSize"))?.as_i64().unwrap_or(1),
            None => 1,
        };
        if b < 1 {
            return Err(EvalError::msg("The copy 'batchSize' must be a positive integer.")
                .in_path(&child_path(&p, "batchSize")));
        }
        Some(b)
    } else {
        None
    };
    Ok(Some(CopyInfo {
        name,
        index: 0,
        count,
        serial_batch,
    }))
}

fn instance(
    tpl: &Template,
    ctx: &mut Ctx,
    src: &Source,
    si: usize,
    copy: Option<CopyInfo>,
    parent: Option<&(String, String)>,
) -> Result<PlannedResource, TemplateError> {
    let ve = |e| validation_error(tpl, e, "resource");
    let condition = match src.def.get("condition") {
        None => true,
        Some(c) => match eval_value(ctx, c, &child_path(&src.path, "condition")).map_err(ve)? {
            Value::Bool(b) => b,
            other => {
                let e = EvalError::msg(format!(
                    "The 'condition' property must be a boolean; it is of type '{}'.",
                    super::functions::type_name(&other)
                ))
                .in_path(&child_path(&src.path, "condition"));
                return Err(ve(e));
            }
        },
    };
    let mut rtype = header_str(ctx, &src.def, "type", &src.path)
        .map_err(ve)?
        .unwrap_or_default();
    let mut name = header_str(ctx, &src.def, "name", &src.path)
        .map_err(ve)?
        .unwrap_or_default();
    if let Some((ptype, pname)) = parent {
        if !rtype.contains('/') {
            rtype = format!("{ptype}/{rtype}");
            name = format!("{pname}/{name}");
        }
    }
    let api_version = header_str(ctx, &src.def, "apiVersion", &src.path)
        .map_err(ve)?
        .unwrap_or_default();
    let rg = header_str(ctx, &src.def, "resourceGroup", &src.path).map_err(ve)?;
    let sub = header_str(ctx, &src.def, "subscriptionId", &src.path).map_err(ve)?;
    let scope = header_str(ctx, &src.def, "scope", &src.path).map_err(ve)?;
    let id = resource_id(tpl, ctx, src, &rtype, &name, sub, rg, scope)?;
    Ok(PlannedResource {
        id,
        name,
        full_type: rtype,
        api_version,
        path: src.path.clone(),
        symbolic: src.symbolic.clone(),
        copy,
        condition,
        existing: src.def.get("existing").and_then(Value::as_bool).unwrap_or(false),
        depends_on: Vec::new(),
        lazy: false,
        source: si,
        body: None,
    })
}

/// The resource id: `{scope}/providers/{ns}/{t1}/{n1}/...`, where scope is the `scope`
/// property (extension resources), else the resource group (or subscription) of the
/// deployment, retargeted by `subscriptionId`/`resourceGroup`.
#[allow(clippy::too_many_arguments)]
fn resource_id(
    tpl: &Template,
    ctx: &Ctx,
    src: &Source,
    rtype: &str,
    name: &str,
    sub: Option<String>,
    rg: Option<String>,
    scope: Option<String>,
) -> Result<String, TemplateError> {
    let types: Vec<&str> = rtype.trim_matches('/').split('/').collect();
    let names: Vec<&str> = name.split('/').collect();
    if types.len() < 2 || names.len() != types.len() - 1 {
        // error-invalid-template.md, "incorrect segment lengths".
        let at = at_line(tpl.pos(&src.path));
        return Err(tpl.error_at(&src.path, &format!("The template resource '{name}' for type '{rtype}'{at} has incorrect segment lengths. A nested resource type must have identical number of segments as its resource name. A root resource type must have segment length one greater than its resource name. Please see https://aka.ms/arm-syntax-resources for usage details.")));
    }
    let env_scope = ctx.env.scope();
    let sub = sub.or(env_scope.subscription_id);
    if rtype.eq_ignore_ascii_case("Microsoft.Resources/resourceGroups") {
        return Ok(format!(
            "/subscriptions/{}/resourceGroups/{name}",
            sub.unwrap_or_default()
        ));
    }
    let mut tail = types[0].to_string();
    for (t, n) in types[1..].iter().zip(&names) {
        tail.push_str(&format!("/{t}/{n}"));
    }
    let home = match (sub, rg.or(env_scope.resource_group)) {
        (Some(s), Some(g)) => format!("/subscriptions/{s}/resourceGroups/{g}"),
        (Some(s), None) => format!("/subscriptions/{s}"),
        (None, _) => String::new(),
    };
    let base = match scope {
        Some(s) if s.starts_with('/') => s.trim_end_matches('/').to_string(),
        // A relative scope (`Microsoft.Compute/virtualMachines/vm1`, as Bicep and the
        // rbac-builtinrole-multiplevms quickstart write it) is a resource of the deployment's
        // resource group.
        Some(s) => format!("{home}/providers/{}", s.trim_matches('/')),
        None => home,
    };
    Ok(format!("{base}/providers/{tail}"))
}

impl Plan {
    #[cfg(test)]
    /// Indices of deployable resources in deployment order.
    pub(crate) fn order(&self) -> Vec<usize> {
        self.waves.iter().flatten().copied().collect()
    }

    pub(crate) fn template(&self) -> &Template {
        &self.template
    }

    #[cfg(test)]
    /// The variables' values.
    pub(crate) fn variables(&self) -> Map<String, Value> {
        self.st.variable_values()
    }

    /// `properties.dependencies` of a deployment (`Dependency` in deployments.json, 2025-04-01):
    /// each deployed resource that waits for others, with what it waits for.
    pub(crate) fn dependencies(&self) -> Value {
        let basic = |r: &PlannedResource| json!({"id": r.id, "resourceType": r.full_type, "resourceName": r.name});
        let list: Vec<Value> = self
            .resources
            .iter()
            .filter(|r| r.is_deployed() && !r.depends_on.is_empty())
            .map(|r| {
                let mut d = basic(r);
                d["dependsOn"] = r.depends_on.iter().map(|j| basic(&self.resources[*j])).collect();
                d
            })
            .collect();
        Value::Array(list)
    }

    /// `properties.providers` of a deployment (`Provider` in deployments.json, 2025-04-01): the
    /// namespaces and types the template deploys, with the locations of evaluated bodies.
    pub(crate) fn providers(&self) -> Value {
        let mut out: Vec<(String, Vec<TypeLocations>)> = Vec::new();
        for r in self.resources.iter().filter(|r| r.is_deployed()) {
            let (ns, rtype) = r.full_type.split_once('/').unwrap_or((&r.full_type, ""));
            let loc = r
                .body
                .as_ref()
                .and_then(|b| b.get("location"))
                .and_then(Value::as_str)
                .map(str::to_string);
            let types = match out.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(ns)) {
                Some((_, t)) => t,
                None => {
                    out.push((ns.to_string(), Vec::new()));
                    &mut out.last_mut().expect("just pushed").1
                }
            };
            let entry = match types.iter_mut().find(|(t, _)| t.eq_ignore_ascii_case(rtype)) {
                Some(e) => e,
                None => {
                    types.push((rtype.to_string(), Vec::new()));
                    types.last_mut().expect("just pushed")
                }
            };
            if let Some(l) = loc.filter(|l| !entry.1.contains(l)) {
                entry.1.push(l);
            }
        }
        out.into_iter()
            .map(|(ns, types)| {
                let rts: Vec<Value> = types
                    .into_iter()
                    .map(|(t, l)| json!({"resourceType": t, "locations": l}))
                    .collect();
                json!({"namespace": ns, "resourceTypes": rts})
            })
            .collect()
    }

    /// `properties.parameters` to echo (secure values left out).
    pub(crate) fn parameters_echo(&self) -> Value {
        params::echo_parameters(&self.parameters)
    }

    /// Evaluates the bodies that do not depend on deploy-time state now, so validation
    /// reports their errors.
    fn prepare_bodies(&mut self, env: &mut dyn Env) -> Result<(), TemplateError> {
        for i in 0..self.resources.len() {
            if self.resources[i].lazy || !self.resources[i].is_deployed() {
                continue;
            }
            let body = self
                .eval_body(i, env, false)
                .map_err(|e| validation_error(&self.template, e, "resource"))?;
            if self.resources[i].full_type.eq_ignore_ascii_case(DEPLOYMENTS) {
                self.nested(i, &body)?;
            }
            self.resources[i].body = Some(body);
        }
        Ok(())
    }

    fn eval_body(&mut self, i: usize, env: &mut dyn Env, preview: bool) -> Result<Value, EvalError> {
        let r = &self.resources[i];
        let src = &self.sources[r.source];
        let body = body_template(&src.def, &r.full_type);
        let path = src.path.clone();
        let copy = r.copy_stack();
        let mut ctx = Ctx::new(&mut self.st, env, Phase::Body);
        ctx.copy = copy;
        ctx.preview = preview;
        eval_value(&mut ctx, &body, &path)
    }

    #[cfg(test)]
    /// Resource `i` as what-if shows it before anything is deployed: what cannot be known yet
    /// (`reference()` of a resource this deployment creates) stays expression text.
    pub(crate) fn preview_resource(&mut self, i: usize, env: &mut dyn Env) -> Result<EvaluatedResource, TemplateError> {
        let body = match self.resources[i].body.clone() {
            Some(b) => b,
            None => self.eval_body(i, env, true).map_err(|e| self.deploy_error(i, e))?,
        };
        self.evaluated(i, body)
    }

    /// The request body of resource `i`, evaluated now (call it when the resource's
    /// dependencies are deployed), and its nested deployment if it is one.
    pub(crate) fn evaluate_resource(
        &mut self,
        i: usize,
        env: &mut dyn Env,
    ) -> Result<EvaluatedResource, TemplateError> {
        let body = match self.resources[i].body.clone() {
            Some(b) => b,
            None => self.eval_body(i, env, false).map_err(|e| self.deploy_error(i, e))?,
        };
        self.evaluated(i, body)
    }

    fn evaluated(&self, i: usize, body: Value) -> Result<EvaluatedResource, TemplateError> {
        let r = &self.resources[i];
        let nested = if r.full_type.eq_ignore_ascii_case(DEPLOYMENTS) {
            self.nested(i, &body)?
        } else {
            None
        };
        Ok(EvaluatedResource {
            id: r.id.clone(),
            name: r.name.clone(),
            full_type: r.full_type.clone(),
            api_version: r.api_version.clone(),
            body,
            nested,
        })
    }

    /// `Unable to process template language expressions for resource '{id}' at line 'N' and
    /// column 'M'. '{reason}'` (F5Networks/f5-azure-arm-templates#238).
    fn deploy_error(&self, i: usize, e: EvalError) -> TemplateError {
        if let Some(inner) = e.env.clone() {
            let mut t = TemplateError::invalid(inner.message.clone());
            t.inner = Some(inner);
            return t;
        }
        let r = &self.resources[i];
        let pos = self.template.pos(&r.path);
        let at = at_line(pos);
        let mut t = TemplateError::invalid(format!(
            "Unable to process template language expressions for resource '{}'{at}. '{}'",
            r.id, e.message
        ))
        .located(Some(self.template.full_path(e.path.as_deref().unwrap_or(&r.path))), pos);
        t.expression_position = e.position;
        t
    }

    fn nested(&self, i: usize, body: &Value) -> Result<Option<NestedDeployment>, TemplateError> {
        let r = &self.resources[i];
        let src = &self.sources[r.source];
        let Some(raw) = src.def.get("properties").and_then(|p| p.get("template")) else {
            return Ok(None);
        };
        let tpath = format!("{}.properties.template", src.path);
        let template = Template::from_value(
            raw.clone(),
            self.template.sub_positions(&tpath),
            &self.template.full_path(&tpath),
        )?;
        let props = &body["properties"];
        let scope = match props
            .pointer("/expressionEvaluationOptions/scope")
            .and_then(Value::as_str)
        {
            Some(s) if s.eq_ignore_ascii_case("inner") => NestedScope::Inner,
            _ => NestedScope::Outer,
        };
        let s = |k: &str| src.def.get(k).and_then(Value::as_str).map(str::to_string);
        let (sub, rg) = self.target_scope(i, s("subscriptionId"), s("resourceGroup"));
        // deployment-modes.md: "Only root-level templates support the complete deployment
        // mode. For linked or nested templates, you must use incremental mode."
        if props
            .get("mode")
            .and_then(Value::as_str)
            .is_some_and(|m| m.eq_ignore_ascii_case("complete"))
        {
            let path = format!("{}.properties.mode", src.path);
            let at = at_line(self.template.pos(&path));
            return Err(self.template.error_at(&path, &format!("The nested deployment '{}'{at} is not valid: only the root template supports the 'Complete' deployment mode; nested deployments must use 'Incremental'. Please see https://aka.ms/arm-deployment-modes for usage details.", r.name)));
        }
        Ok(Some(NestedDeployment {
            name: r.name.clone(),
            id: r.id.clone(),
            subscription_id: sub,
            resource_group: rg,
            mode: props
                .get("mode")
                .and_then(Value::as_str)
                .unwrap_or("Incremental")
                .to_string(),
            scope,
            template,
            parameters: props.get("parameters").cloned().unwrap_or(Value::Null),
            inherited_params: self.st.params.clone(),
            inherited_vars: self.st.variable_values(),
            inherited_functions: self.st.functions.clone(),
            inherited_declared: if scope == NestedScope::Outer {
                self.st.declared.clone()
            } else {
                Vec::new()
            },
        }))
    }

    /// The subscription and resource group a nested deployment targets, read from its id.
    fn target_scope(&self, i: usize, sub: Option<String>, rg: Option<String>) -> (Option<String>, Option<String>) {
        if sub.is_none() && rg.is_none() {
            return (None, None);
        }
        let id = &self.resources[i].id;
        let parts: Vec<&str> = id.split('/').collect();
        let after = |k: &str| {
            parts
                .iter()
                .position(|p| p.eq_ignore_ascii_case(k))
                .and_then(|x| parts.get(x + 1))
                .map(|s| s.to_string())
        };
        (after("subscriptions"), after("resourceGroups"))
    }

    /// The outputs, `{name: {type, value}}`, evaluated now (after every resource deployed).
    /// Secure outputs carry no value.
    pub(crate) fn outputs(&mut self, env: &mut dyn Env) -> Result<Value, TemplateError> {
        let defs = self
            .template
            .value
            .get("outputs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut out = Map::new();
        for (name, def) in &defs {
            let path = child_path("outputs", name);
            let mut ctx = Ctx::new(&mut self.st, env, Phase::Outputs);
            let r = output(&mut ctx, def, &path).map_err(|e| validation_error(&self.template, e, "output"))?;
            let Some((ptype, value)) = r else { continue };
            let ptype = ParamType::parse(&ptype).ok_or_else(|| {
                self.template.error_at(
                    &path,
                    &format!("The template output '{name}' has an unsupported type '{ptype}'"),
                )
            })?;
            if !value.is_null() && !ptype.accepts(&value) {
                return Err(self.template.error_at(
                    &path,
                    &format!(
                        "The template output '{name}' is not valid: Template output JToken type is not valid. Expected '{}'. Actual '{}'. Please see https://aka.ms/arm-syntax-outputs for usage details.",
                        ptype.expected(),
                        super::functions::type_name(&value)
                    ),
                ));
            }
            let mut o = Map::new();
            o.insert("type".into(), ptype.arm_name().into());
            if !ptype.is_secure() {
                o.insert("value".into(), value);
            }
            out.insert(name.clone(), Value::Object(o));
        }
        Ok(Value::Object(out))
    }
}

/// One output: `None` when its condition is false (copy-outputs.md for `copy`).
fn output(ctx: &mut Ctx, def: &Value, path: &str) -> Result<Option<(String, Value)>, EvalError> {
    if let Some(c) = def.get("condition") {
        if eval_value(ctx, c, &child_path(path, "condition"))? == Value::Bool(false) {
            return Ok(None);
        }
    }
    let ptype = def.get("type").and_then(Value::as_str).unwrap_or("string").to_string();
    let value = match def.get("copy") {
        Some(c) => {
            let count = c.get("count").cloned().unwrap_or(Value::Null);
            let input = c.get("input").cloned().unwrap_or(Value::Null);
            let name = path.to_string();
            super::eval::copy_array(ctx, &name, &count, &input, &child_path(path, "copy"))?
        }
        None => eval_value(
            ctx,
            def.get("value").unwrap_or(&Value::Null),
            &child_path(path, "value"),
        )?,
    };
    Ok(Some((ptype, value)))
}

/// The part of a definition that forms the request body; for a nested deployment, its
/// template is left to the nested deployment to evaluate.
pub(crate) fn body_template(def: &Value, full_type: &str) -> Value {
    let mut body = def.as_object().cloned().unwrap_or_default();
    body.retain(|k, _| !TEMPLATE_KEYS.iter().any(|t| t.eq_ignore_ascii_case(k)));
    if full_type.eq_ignore_ascii_case(DEPLOYMENTS) {
        if let Some(Value::Object(p)) = body.get_mut("properties") {
            p.remove("template");
        }
    }
    Value::Object(body)
}
