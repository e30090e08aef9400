//! The deployments REST API: create (long-running), get, list, delete, cancel, validate,
//! exportTemplate, deployment operations and calculateTemplateHash.

use super::run::{self, Ran, Target, TxEnv};
use super::template::{self, json::Positions, Template};
use super::KIND;
use crate::arm::id::ScopeParts;
use crate::arm::lro::Outcome;
use crate::arm::{paging, ArmError, ArmResult, Response};
use crate::providers::common::{arm, lro};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

/// Incremental or Complete (deployment-modes.md).
#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Mode {
    Incremental,
    Complete,
}

impl Mode {
    fn parse(v: &Value) -> ArmResult<Mode> {
        match v.as_str().map(str::to_ascii_lowercase).as_deref() {
            None | Some("incremental") => Ok(Mode::Incremental),
            Some("complete") => Ok(Mode::Complete),
            Some(other) => Err(ArmError::bad_request(
                "InvalidDeploymentMode",
                format!("The deployment mode '{other}' is not supported. Use 'Incremental' or 'Complete'."),
            )),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Incremental => "Incremental",
            Mode::Complete => "Complete",
        }
    }
}

/// `onErrorDeployment`: what to redeploy when this deployment fails.
#[derive(Clone, PartialEq, Debug)]
pub(super) enum OnError {
    LastSuccessful,
    Specific(String),
}

/// A deployment request, parsed and checked.
pub(super) struct DeploymentRequest {
    pub(crate) template: Template,
    pub(crate) parameters: Value,
    pub(crate) mode: Mode,
    pub(crate) location: Option<String>,
    pub(crate) on_error: Option<OnError>,
    pub(crate) tags: Option<Value>,
}

/// The deployment a request addresses.
pub(super) fn target(tx: &Tx, ctx: &Ctx, name: &str) -> ArmResult<Target> {
    let parts = ScopeParts::parse(ctx.scope);
    let subscription = parts.subscription.ok_or_else(|| {
        ArmError::bad_request(
            "InvalidDeploymentScope",
            "azemu serves deployments at resource group and subscription scope.",
        )
    })?;
    check_deployment_name(name)?;
    Ok(Target {
        tenant_id: arm::tenant_of(tx, &subscription).unwrap_or_else(|| tx.config.tenant_id.clone()),
        subscription,
        resource_group: parts.resource_group,
        name: name.to_string(),
    })
}

/// Deployment names: 1–64 letters, digits, `-`, `_`, `.`, `(`, `)` (the spec's
/// `deploymentName` pattern `^[-\w\._\(\)]+$`, maxLength 64).
pub(super) fn check_deployment_name(name: &str) -> ArmResult<()> {
    let ok = (1..=64).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '(' | ')'));
    if ok {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidDeploymentName",
        format!("The deployment name '{name}' is invalid. It can be 1 to 64 characters long and contain letters, digits, '-', '_', '.', '(' and ')'."),
    ))
}

/// The request body's text (az splices the template file's raw text in, comments and all,
/// so it is read as lenient JSON: research note §5).
fn body_text<'c>(ctx: &'c Ctx) -> ArmResult<&'c str> {
    std::str::from_utf8(&ctx.req.body).map_err(|_| ArmError::invalid_content("the body is not UTF-8"))
}

pub(super) fn parse_request(ctx: &Ctx, target: &Target) -> ArmResult<DeploymentRequest> {
    let (body, template) = template::parse_request_body(body_text(ctx)?)?;
    parse_request_value(&body, template, target)
}

pub(super) fn parse_request_value(
    body: &Value,
    template: Option<Template>,
    target: &Target,
) -> ArmResult<DeploymentRequest> {
    let p = &body["properties"];
    if !p.is_object() {
        return Err(ArmError::bad_request(
            "InvalidRequestContent",
            "The 'properties' of a deployment are required.",
        ));
    }
    for link in ["templateLink", "parametersLink"] {
        if !p[link].is_null() {
            return Err(ArmError::bad_request(
                "InvalidContentLink",
                format!("azemu does not fetch '{link}' content: send the template and its parameters inline."),
            ));
        }
    }
    let Some(template) = template.filter(|t| t.value.is_object()) else {
        return Err(ArmError::bad_request(
            "InvalidTemplate",
            "Deployment template validation failed: 'The deployment must have a 'template' object.'.",
        ));
    };
    template_fits_the_scope(&template, target)?;
    let mode = Mode::parse(&p["mode"])?;
    let location = body["location"].as_str().map(str::to_string);
    if target.resource_group.is_none() {
        if location.is_none() {
            return Err(ArmError::bad_request(
                "LocationRequired",
                "The location property is required for this definition (a subscription deployment needs 'location').",
            ));
        }
        if mode == Mode::Complete {
            return Err(ArmError::bad_request(
                "InvalidDeploymentMode",
                "Complete mode is supported only for deployments at resource group scope.",
            ));
        }
    }
    let on_error = match &p["onErrorDeployment"] {
        Value::Null => None,
        o => Some(match o["type"].as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("lastsuccessful") => OnError::LastSuccessful,
            Some("specificdeployment") => OnError::Specific(
                o["deploymentName"]
                    .as_str()
                    .ok_or_else(|| {
                        ArmError::bad_request("InvalidOnErrorDeployment", "SpecificDeployment needs 'deploymentName'.")
                    })?
                    .to_string(),
            ),
            _ => {
                return Err(ArmError::bad_request(
                    "InvalidOnErrorDeployment",
                    "onErrorDeployment.type must be 'LastSuccessful' or 'SpecificDeployment'.",
                ))
            }
        }),
    };
    let parameters = match &p["parameters"] {
        Value::Null => json!({}),
        v if v.is_object() => v.clone(),
        _ => {
            return Err(ArmError::bad_request(
                "InvalidRequestContent",
                "The deployment 'parameters' must be an object.",
            ))
        }
    };
    Ok(DeploymentRequest {
        template,
        parameters,
        mode,
        location,
        on_error,
        tags: body.get("tags").cloned(),
    })
}

/// A template written for one scope (its `$schema`) deployed at another is refused.
fn template_fits_the_scope(template: &Template, target: &Target) -> ArmResult<()> {
    let here = if target.resource_group.is_some() {
        "resourceGroup"
    } else {
        "subscription"
    };
    let written_for = template.target_scope();
    let has_schema = template.value.get("$schema").is_some();
    if !has_schema || written_for == here {
        return Ok(());
    }
    Err(ArmError::bad_request(
        "InvalidTemplate",
        format!("Deployment template validation failed: 'The template '$schema' is written for a {written_for} deployment; this deployment is at {here} scope.'."),
    ))
}

/// `deployment()` as the template sees it.
pub(super) fn deployment_function(target: &Target, req: &DeploymentRequest) -> Value {
    template::deployment_object(
        &target.name,
        &req.template.value,
        &template::template_hash(&req.template.value),
        &req.parameters,
        req.mode.as_str(),
        req.location.as_deref(),
    )
}

/// Plans `req` at `target` (template errors are `InvalidTemplate`).
pub(super) fn plan<'t, 'w>(
    tx: &'t Tx<'w>,
    target: &Target,
    req: &DeploymentRequest,
) -> ArmResult<(template::Plan, TxEnv<'t, 'w>)> {
    let mut env = TxEnv {
        tx,
        target: target.clone(),
        deployment: deployment_function(target, req),
    };
    let plan = template::plan(&req.template, &req.parameters, &mut env).map_err(|e| e.to_arm())?;
    Ok((plan, env))
}

pub(crate) fn handle(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = target(tx, ctx, ctx.name(0))?;
    match ctx.method() {
        "PUT" => put(tx, ctx, &target),
        "DELETE" => delete(tx, &target),
        "HEAD" => Ok(Response::empty(if tx.store.contains(&target.deployment_id()) {
            204
        } else {
            404
        })),
        _ => Ok(Response::ok(get_record(tx, &target)?.body)),
    }
}

fn get_record(tx: &Tx, target: &Target) -> ArmResult<Record> {
    tx.store.get(&target.deployment_id()).ok_or_else(|| {
        ArmError::not_found(
            "DeploymentNotFound",
            format!("Deployment '{}' could not be found.", target.name),
        )
    })
}

/// A second PUT (or a delete) while the deployment runs (409 `DeploymentActive`).
fn ensure_not_running(tx: &Tx, target: &Target) -> ArmResult<()> {
    match tx.ops.running_on(&target.deployment_id()) {
        None => Ok(()),
        Some(op) => Err(ArmError::conflict(
            "DeploymentActive",
            format!(
                "Unable to edit or replace deployment '{}': previous deployment from '{}' is still active. Please see https://aka.ms/arm-deploy for usage details.",
                target.name,
                crate::arm::time::rfc3339(op.start)
            ),
        )),
    }
}

fn put(tx: &Tx, ctx: &Ctx, target: &Target) -> ArmResult<Response> {
    ensure_not_running(tx, target)?;
    let req = parse_request(ctx, target)?;
    let (plan, _) = plan(tx, target, &req)?;
    let mut body = run::deployment_body(tx, target, &plan, req.mode.as_str(), "Running", req.location.as_deref());
    if let Some(t) = &req.tags {
        body["tags"] = t.clone();
    }
    let existed = tx.store.contains(&target.deployment_id());
    tx.store.put(Record {
        id: target.deployment_id(),
        kind: KIND.to_string(),
        body: body.clone(),
        internal: json!({
            "template": req.template.value,
            "parameters": req.parameters,
            "onErrorDeployment": match &req.on_error {
                None => Value::Null,
                Some(OnError::LastSuccessful) => json!({ "type": "LastSuccessful" }),
                Some(OnError::Specific(n)) => json!({ "type": "SpecificDeployment", "deploymentName": n }),
            },
        }),
        seq: 0,
    });
    let t = target.clone();
    let caller = ctx.caller.cloned();
    let started = lro::begin(
        tx,
        ctx,
        lro::Begin {
            resource_id: target.deployment_id(),
            activity: "Deploying",
            urls: lro::Urls::Resource {
                id: &target.deployment_id(),
            },
            location_header: true,
            fail: None,
            effect: crate::world::tx::fallible_effect(move |tx, outcome| {
                tx.as_caller(caller, |tx| run_stored(tx, &t, outcome))
            }),
        },
    )?;
    body["properties"]["provisioningState"] = json!("Accepted");
    Ok(started.apply(Response::json(if existed { 200 } else { 201 }, body)))
}

/// Rebuilds a stored deployment's request (its template and parameters as sent).
fn stored_request(rec: &Record, target: &Target) -> ArmResult<DeploymentRequest> {
    let body = json!({
        "location": rec.body["location"],
        "tags": rec.body["tags"],
        "properties": {
            "template": rec.internal["template"],
            "parameters": rec.internal["parameters"],
            "mode": rec.body["properties"]["mode"],
            "onErrorDeployment": rec.internal["onErrorDeployment"],
        },
    });
    let template = Template::from_value(
        rec.internal["template"].clone(),
        Positions::default(),
        "properties.template",
    )
    .map_err(|e| e.to_arm())?;
    let mut req = parse_request_value(&body, Some(template), target)?;
    req.tags = rec.body.get("tags").filter(|t| !t.is_null()).cloned();
    Ok(req)
}

/// The deployment's operation ended: run it (or record why it did not).
fn run_stored(tx: &Tx, target: &Target, outcome: &Outcome) -> ArmResult<()> {
    let Some(rec) = tx.store.get(&target.deployment_id()) else {
        return Ok(());
    };
    let started = tx.now();
    let ran = match outcome {
        Outcome::Succeeded => run_request(tx, target, &stored_request(&rec, target)?),
        Outcome::Canceled => {
            set_state(tx, target, "Canceled");
            return Ok(());
        }
        Outcome::Failed(e) => Ran {
            operations: Vec::new(),
            output_resources: Vec::new(),
            outputs: json!({}),
            failures: vec![e.clone()],
        },
    };
    run::finish_record(tx, &target.deployment_id(), &ran, started);
    match ran.error() {
        None => Ok(()),
        Some(e) => {
            on_error(tx, target, &rec);
            Err(e)
        }
    }
}

/// Plans and runs a deployment request, Complete mode's deletions included.
pub(super) fn run_request(tx: &Tx, target: &Target, req: &DeploymentRequest) -> Ran {
    let (mut plan, mut env) = match plan(tx, target, req) {
        Ok(p) => p,
        Err(e) => {
            return Ran {
                operations: Vec::new(),
                output_resources: Vec::new(),
                outputs: json!({}),
                failures: vec![e],
            }
        }
    };
    let mut ran = run::execute(tx, target, &mut plan, &mut env);
    if ran.failures.is_empty() && req.mode == Mode::Complete {
        if let Err(e) = delete_unnamed(tx, target, &ran.output_resources) {
            ran.failures.push(e);
        }
    }
    ran
}

/// Complete mode: the resource group's resources the template does not name are deleted
/// (deployment-modes.md; role assignments and deployments are kept).
pub(super) fn unnamed(tx: &Tx, target: &Target, named: &[String]) -> Vec<Record> {
    let scope = target.scope_id();
    tx.store.list(|r| {
        let segs = crate::arm::id::segments(&r.id);
        segs.len() == 8
            && segs[4].eq_ignore_ascii_case("providers")
            && crate::arm::id::is_at_or_above(&scope, &r.id)
            && !r.kind.eq_ignore_ascii_case(KIND)
            && !r.kind.to_ascii_lowercase().starts_with("microsoft.authorization/")
            && !named.iter().any(|n| n.eq_ignore_ascii_case(&r.id))
    })
}

fn delete_unnamed(tx: &Tx, target: &Target, named: &[String]) -> ArmResult<()> {
    for r in unnamed(tx, target, named) {
        run::arm_call(tx, "DELETE", &r.id, &run::newest_api_version(&r.id), None)?;
        tx.ops.finish_started(tx, &r.id, tx.now())?;
    }
    Ok(())
}

fn set_state(tx: &Tx, target: &Target, state: &str) {
    tx.store.update(&target.deployment_id(), |r| {
        r.body["properties"]["provisioningState"] = json!(state);
    });
}

/// `onErrorDeployment`: redeploys the last successful deployment at this scope, or the one
/// named, and notes the result on the failed one.
fn on_error(tx: &Tx, target: &Target, failed: &Record) {
    let spec = &failed.internal["onErrorDeployment"];
    let wanted = match spec["type"].as_str() {
        Some("LastSuccessful") => None,
        Some(_) => spec["deploymentName"].as_str().map(str::to_string),
        None => return,
    };
    let scope = format!("{}/providers/{KIND}/", target.scope_id()).to_ascii_lowercase();
    let earlier = tx
        .store
        .list(|r| {
            r.kind == KIND
                && r.id.to_ascii_lowercase().starts_with(&scope)
                && !r.id.eq_ignore_ascii_case(&failed.id)
                && r.body["properties"]["provisioningState"] == "Succeeded"
                && wanted
                    .as_deref()
                    .is_none_or(|w| r.body["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(w)))
        })
        .into_iter()
        .max_by(|a, b| {
            a.body["properties"]["timestamp"]
                .as_str()
                .cmp(&b.body["properties"]["timestamp"].as_str())
        });
    let (state, name) = match earlier {
        None => ("Failed", wanted.unwrap_or_default()),
        Some(rec) => {
            let name = rec.body["name"].as_str().unwrap_or_default().to_string();
            let t = Target {
                name: name.clone(),
                ..target.clone()
            };
            let ran = stored_request(&rec, &t).map(|req| run_request(tx, &t, &req));
            let ok = ran.as_ref().is_ok_and(|r| r.failures.is_empty());
            if let Ok(r) = &ran {
                run::finish_record(tx, &t.deployment_id(), r, tx.now());
            }
            (if ok { "Succeeded" } else { "Failed" }, name)
        }
    };
    tx.store.update(&failed.id, |r| {
        r.body["properties"]["onErrorDeployment"] =
            json!({ "type": spec["type"], "deploymentName": name, "provisioningState": state });
    });
}

fn delete(tx: &Tx, target: &Target) -> ArmResult<Response> {
    ensure_not_running(tx, target)?;
    // Deleting a deployment keeps its resources; a missing one is already gone (204 too).
    tx.store.remove(&target.deployment_id());
    Ok(Response::empty(204))
}

pub(crate) fn list(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let parts = ScopeParts::parse(ctx.scope);
    if parts.subscription.is_none() {
        return Err(ArmError::bad_request(
            "InvalidDeploymentScope",
            "azemu serves deployments at resource group and subscription scope.",
        ));
    }
    let prefix = format!("{}/providers/{KIND}/", ctx.scope).to_ascii_lowercase();
    let items: Vec<Value> = tx
        .store
        .list(|r| {
            r.kind == KIND && {
                let id = r.id.to_ascii_lowercase();
                id.starts_with(&prefix) && !id[prefix.len()..].contains('/')
            }
        })
        .into_iter()
        .map(|r| r.body)
        .collect();
    Ok(Response::ok(paging::page(ctx.req, items)?))
}

pub(crate) fn cancel(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = target(tx, ctx, ctx.name(0))?;
    get_record(tx, &target)?;
    let ended = tx
        .ops
        .finish_for(tx, &target.deployment_id(), tx.now(), Outcome::Canceled);
    if ended.is_empty() {
        return Err(ArmError::conflict(
            "DeploymentCannotBeCancelled",
            format!(
                "The deployment '{}' cannot be canceled: it is not running.",
                target.name
            ),
        ));
    }
    Ok(Response::empty(204))
}

/// `POST …/validate`: the template and parameters are checked (no resource is touched); a
/// failure is 400 `InvalidTemplate` with the JSON path and position, which az reads as
/// the validation result.
pub(crate) fn validate(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = target(tx, ctx, ctx.name(0))?;
    let req = parse_request(ctx, &target)?;
    let (plan, _) = plan(tx, &target, &req).map_err(|e| {
        let mut outer = ArmError::bad_request(
            "InvalidTemplateDeployment",
            format!("The template deployment '{}' is not valid according to the validation procedure. See inner errors for details.", target.name),
        );
        outer.details = vec![e];
        outer
    })?;
    let mut body = run::deployment_body(
        tx,
        &target,
        &plan,
        req.mode.as_str(),
        "Succeeded",
        req.location.as_deref(),
    );
    body["properties"]["validatedResources"] = plan
        .resources
        .iter()
        .filter(|r| r.is_deployed())
        .map(|r| json!({ "id": r.id }))
        .collect();
    Ok(Response::ok(body))
}

pub(crate) fn export_template(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = target(tx, ctx, ctx.name(0))?;
    let rec = get_record(tx, &target)?;
    Ok(Response::ok(json!({ "template": rec.internal["template"] })))
}

fn operations_of(tx: &Tx, target: &Target) -> ArmResult<Vec<Value>> {
    let rec = get_record(tx, target)?;
    Ok(rec.internal["operations"].as_array().cloned().unwrap_or_default())
}

fn one_operation(tx: &Tx, target: &Target, op_id: &str) -> ArmResult<Response> {
    operations_of(tx, target)?
        .into_iter()
        .find(|o| o["operationId"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(op_id)))
        .map(Response::ok)
        .ok_or_else(|| {
            ArmError::not_found(
                "DeploymentOperationNotFound",
                format!(
                    "Deployment operation '{op_id}' of deployment '{}' could not be found.",
                    target.name
                ),
            )
        })
}

pub(crate) fn operations(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = target(tx, ctx, ctx.name(0))?;
    Ok(Response::ok(paging::page(ctx.req, operations_of(tx, &target)?)?))
}

pub(crate) fn operation(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = target(tx, ctx, ctx.name(0))?;
    one_operation(tx, &target, ctx.name(1))
}

/// `/subscriptions/{s}/resourcegroups/{rg}/deployments/{name}/operations` (no provider segment).
fn legacy_target(tx: &Tx, ctx: &Ctx) -> ArmResult<Target> {
    let (sub, rg, name) = (ctx.name(0), ctx.name(1), ctx.name(2));
    check_deployment_name(name)?;
    Ok(Target {
        tenant_id: arm::tenant_of(tx, sub).unwrap_or_else(|| tx.config.tenant_id.clone()),
        subscription: sub.to_string(),
        resource_group: Some(rg.to_string()),
        name: name.to_string(),
    })
}

pub(crate) fn operations_legacy(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = legacy_target(tx, ctx)?;
    Ok(Response::ok(paging::page(ctx.req, operations_of(tx, &target)?)?))
}

pub(crate) fn operation_legacy(tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let target = legacy_target(tx, ctx)?;
    one_operation(tx, &target, ctx.name(3))
}

/// `POST /providers/Microsoft.Resources/calculateTemplateHash`: the body is a template.
pub(crate) fn calculate_template_hash(_tx: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let template = Template::parse(body_text(ctx)?).map_err(|e| e.to_arm())?;
    Ok(Response::ok(json!({
        "minifiedTemplate": template.value.to_string(),
        "templateHash": template::template_hash(&template.value),
    })))
}
