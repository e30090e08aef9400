//! Running a deployment: the engine's [`Env`] over a transaction, and the loop that creates
//! each planned resource with an internal ARM call, records a deployment operation per
//! resource, runs nested deployments and evaluates the outputs.

use super::template::{self, plan_nested, DeploymentScope, Env, NestedDeployment, Plan};
use super::KIND;
use crate::arm::{id, ArmError, ArmResult, Request, Response};
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Map, Value};

/// Where a deployment runs and what it is called.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub(crate) tenant_id: String,
    pub(crate) subscription: String,
    /// `None` at subscription scope.
    pub(crate) resource_group: Option<String>,
    pub(crate) name: String,
}

impl Target {
    pub(crate) fn scope_id(&self) -> String {
        match &self.resource_group {
            Some(rg) => format!("/subscriptions/{}/resourceGroups/{rg}", self.subscription),
            None => format!("/subscriptions/{}", self.subscription),
        }
    }

    pub(crate) fn deployment_id(&self) -> String {
        format!("{}/providers/{KIND}/{}", self.scope_id(), self.name)
    }
}

/// A resource group's id in the form templates write it
/// (`subscriptionResourceId('Microsoft.Resources/resourceGroups', …)` gives
/// `/subscriptions/{s}/providers/Microsoft.Resources/resourceGroups/{rg}`), as ARM routes it.
fn canonical(path: &str) -> String {
    let lower = path.to_ascii_lowercase();
    let marker = "/providers/microsoft.resources/resourcegroups/";
    match lower.find(marker) {
        Some(at) if lower.starts_with("/subscriptions/") && lower[..at].matches('/').count() == 2 => {
            format!("{}/resourceGroups/{}", &path[..at], &path[at + marker.len()..])
        }
        _ => path.to_string(),
    }
}

/// An ARM request made from inside azemu, through the whole pipeline.
pub(super) fn arm_call(
    tx: &Tx,
    method: &str,
    path: &str,
    api_version: &str,
    body: Option<&Value>,
) -> ArmResult<Response> {
    let (path, segments) = id::path_and_segments(&canonical(path));
    let req = Request {
        method: method.to_string(),
        segments,
        path,
        query: vec![("api-version".to_string(), api_version.to_string())],
        headers: {
            let mut h = crate::arm::Headers::default();
            h.push("content-type", "application/json");
            h
        },
        body: body
            .map(|b| serde_json::to_vec(b).unwrap_or_default())
            .unwrap_or_default(),
        base_url: tx.base_url_shared(),
    };
    tx.call(&req)
}

/// The newest api-version azemu serves for a resource id's type (for calls a template does
/// not give a version for: `reference()` of an outside resource, Complete-mode deletes).
pub(super) fn newest_api_version(resource_id: &str) -> String {
    let segs = id::segments(resource_id);
    let split = id::split_provider_path(&segs);
    let (ns, rest) = match &split {
        Some(p) => (p.namespace.as_str(), p.rest.clone()),
        None => ("", segs.clone()),
    };
    crate::providers::api_versions(ns, &rest)
        .and_then(|v| v.iter().find(|v| !v.contains("preview")).or(v.first()))
        .unwrap_or(&"2025-04-01")
        .to_string()
}

/// The engine's view of the running deployment, over the transaction.
pub(super) struct TxEnv<'t, 'w> {
    pub(crate) tx: &'t Tx<'w>,
    pub(crate) target: Target,
    /// `deployment()`'s answer.
    pub(crate) deployment: Value,
}

fn body_of(r: Response) -> Value {
    r.body.into_json().unwrap_or(Value::Null)
}

impl Env for TxEnv<'_, '_> {
    fn scope(&self) -> DeploymentScope {
        DeploymentScope {
            tenant_id: self.target.tenant_id.clone(),
            subscription_id: Some(self.target.subscription.clone()),
            resource_group: self.target.resource_group.clone(),
        }
    }

    fn resource_group(&mut self) -> Result<Value, ArmError> {
        let Some(rg) = &self.target.resource_group else {
            return Err(ArmError::bad_request(
                "InvalidTemplate",
                "The template function 'resourceGroup' is not expected at subscription scope.",
            ));
        };
        let rec = self
            .tx
            .store
            .get(&format!(
                "/subscriptions/{}/resourceGroups/{rg}",
                self.target.subscription
            ))
            .ok_or_else(|| ArmError::resource_group_not_found(rg))?;
        let mut v = rec.body.clone();
        if v.get("tags").is_none() {
            v["tags"] = json!({});
        }
        Ok(v)
    }

    fn subscription(&mut self) -> Result<Value, ArmError> {
        let sub = &self.target.subscription;
        let rec = self
            .tx
            .store
            .get(&format!("/subscriptions/{sub}"))
            .ok_or_else(|| ArmError::subscription_not_found(sub))?;
        Ok(json!({
            "id": format!("/subscriptions/{sub}"),
            "subscriptionId": sub,
            "tenantId": rec.body["tenantId"],
            "displayName": rec.body["displayName"],
        }))
    }

    fn tenant(&mut self) -> Result<Value, ArmError> {
        let t = &self.target.tenant_id;
        let rec = self.tx.store.get(&format!("/tenants/{t}"));
        Ok(json!({
            "countryCode": rec.as_ref().map(|r| r.body["countryCode"].clone()).unwrap_or(json!("US")),
            "displayName": rec.as_ref().map(|r| r.body["displayName"].clone()).unwrap_or(json!("azemu")),
            "id": format!("/tenants/{t}"),
            "tenantId": t,
        }))
    }

    fn deployment(&mut self) -> Value {
        self.deployment.clone()
    }

    fn reference(&mut self, rid: &str, api_version: Option<&str>, full: bool) -> Result<Value, ArmError> {
        let api = api_version
            .map(str::to_string)
            .unwrap_or_else(|| newest_api_version(rid));
        let body = body_of(arm_call(self.tx, "GET", rid, &api, None)?);
        Ok(if full { body } else { body["properties"].clone() })
    }

    fn list(&mut self, rid: &str, function: &str, api_version: &str, body: Option<&Value>) -> Result<Value, ArmError> {
        let r = arm_call(self.tx, "POST", &format!("{rid}/{function}"), api_version, body)?;
        Ok(body_of(r))
    }

    fn new_guid(&mut self) -> String {
        self.tx.ids.guid()
    }

    fn now_ms(&self) -> i64 {
        self.tx.now()
    }
}

/// What came of running one deployment.
pub(super) struct Ran {
    pub(crate) operations: Vec<Value>,
    pub(crate) output_resources: Vec<String>,
    pub(crate) outputs: Value,
    /// The failures, each a resource's own error (the `details` of `DeploymentFailed`).
    pub(crate) failures: Vec<ArmError>,
}

impl Ran {
    pub(crate) fn error(&self) -> Option<ArmError> {
        if self.failures.is_empty() {
            return None;
        }
        Some(deployment_failed(self.failures.clone()))
    }
}

/// ARM's error for a deployment with failed resources: each resource's own error in
/// `details`. Source: the `DeploymentFailed` text seen from Azure (research note §3).
pub(super) fn deployment_failed(details: Vec<ArmError>) -> ArmError {
    let mut e = ArmError::bad_request(
        "DeploymentFailed",
        "At least one resource deployment operation failed. Please list deployment operations for details. Please see https://aka.ms/arm-deployment-operations for usage details.",
    );
    e.details = details;
    e
}

/// A deployment operation record (`deployments/{name}/operations/{id}`).
fn operation(
    tx: &Tx,
    deployment_id: &str,
    res: &template::EvaluatedResource,
    status: u16,
    error: Option<&ArmError>,
    started: i64,
) -> Value {
    let op_id = tx.ids.hex(16).to_ascii_uppercase();
    let now = tx.now();
    let state = if error.is_some() { "Failed" } else { "Succeeded" };
    let code = match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "NoContent",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        _ if status >= 500 => "InternalServerError",
        _ => "BadRequest",
    };
    let message = match error {
        Some(e) => json!({ "status": "Failed", "error": e.inner_json() }),
        None => json!({}),
    };
    json!({
        "id": format!("{deployment_id}/operations/{op_id}"),
        "operationId": op_id,
        "properties": {
            "provisioningOperation": "Create",
            "provisioningState": state,
            "timestamp": crate::arm::time::rfc3339(now),
            "duration": duration(now - started),
            "trackingId": tx.ids.guid(),
            "serviceRequestId": tx.ids.guid(),
            "statusCode": code,
            "statusMessage": message,
            "targetResource": {
                "id": res.id,
                "resourceType": res.full_type,
                "resourceName": res.name,
                "apiVersion": res.api_version,
            },
        },
    })
}

/// ISO 8601 duration of `ms` milliseconds (`PT1.5S`).
pub(super) fn duration(ms: i64) -> String {
    let ms = ms.max(0);
    format!("PT{}.{:03}S", ms / 1000, ms % 1000)
}

/// Creates one resource and waits for its operation to end.
fn deploy_one(tx: &Tx, res: &template::EvaluatedResource) -> ArmResult<u16> {
    let r = arm_call(tx, "PUT", &res.id, &res.api_version, Some(&res.body))?;
    tx.ops.finish_started(tx, &res.id, tx.now())?;
    Ok(r.status)
}

/// Runs `plan` at `target`: every resource in dependency order (a resource whose
/// dependency failed is not attempted), nested deployments included, then the outputs.
pub(super) fn execute(tx: &Tx, target: &Target, plan: &mut Plan, env: &mut TxEnv) -> Ran {
    let deployment_id = target.deployment_id();
    let mut out = Ran {
        operations: Vec::new(),
        output_resources: Vec::new(),
        outputs: json!({}),
        failures: Vec::new(),
    };
    let mut failed = vec![false; plan.resources.len()];
    for wave in plan.waves.clone() {
        for i in wave {
            if !plan.resources[i].is_deployed() {
                continue;
            }
            if plan.resources[i].depends_on.iter().any(|d| failed[*d]) {
                failed[i] = true;
                continue;
            }
            let started = tx.now();
            let res = match plan.evaluate_resource(i, env) {
                Ok(r) => r,
                Err(e) => {
                    failed[i] = true;
                    out.failures.push(e.to_arm());
                    continue;
                }
            };
            let result = match &res.nested {
                Some(n) => run_nested(tx, target, n).map(|_| 201),
                None => deploy_one(tx, &res),
            };
            match result {
                Ok(status) => {
                    out.operations
                        .push(operation(tx, &deployment_id, &res, status, None, started));
                    out.output_resources.push(res.id.clone());
                }
                Err(e) => {
                    failed[i] = true;
                    out.operations
                        .push(operation(tx, &deployment_id, &res, e.status, Some(&e), started));
                    out.failures.push(e);
                }
            }
        }
    }
    if out.failures.is_empty() {
        match plan.outputs(env) {
            Ok(v) => out.outputs = v,
            Err(e) => out.failures.push(e.to_arm()),
        }
    }
    out
}

/// A nested deployment: its own deployment record at its own scope, run in this
/// transaction; a failure inside it is its parent's resource failure.
fn run_nested(tx: &Tx, parent: &Target, n: &NestedDeployment) -> ArmResult<()> {
    let target = Target {
        tenant_id: parent.tenant_id.clone(),
        subscription: n.subscription_id.clone().unwrap_or_else(|| parent.subscription.clone()),
        resource_group: n.resource_group.clone().or_else(|| parent.resource_group.clone()),
        name: n.name.clone(),
    };
    if let Some(rg) = &target.resource_group {
        if !tx
            .store
            .contains(&format!("/subscriptions/{}/resourceGroups/{rg}", target.subscription))
        {
            return Err(ArmError::resource_group_not_found(rg));
        }
    }
    let mut env = TxEnv {
        tx,
        target: target.clone(),
        deployment: json!({ "name": n.name, "properties": { "template": n.template.value, "mode": n.mode } }),
    };
    let mut plan = plan_nested(n, &mut env).map_err(|e| e.to_arm())?;
    let record = Record {
        id: n.id.clone(),
        kind: KIND.to_string(),
        body: deployment_body(tx, &target, &plan, &n.mode, "Running", None),
        internal: json!({ "template": n.template.value }),
        seq: 0,
    };
    tx.store.put(record);
    let outcome = execute(tx, &target, &mut plan, &mut env);
    finish_record(tx, &n.id, &outcome, tx.now());
    outcome.error().map_or(Ok(()), Err)
}

/// The deployment's body (`DeploymentExtended`) as GET answers it.
pub(super) fn deployment_body(
    tx: &Tx,
    target: &Target,
    plan: &Plan,
    mode: &str,
    state: &str,
    location: Option<&str>,
) -> Value {
    let mut props = Map::new();
    props.insert(
        "templateHash".into(),
        json!(template::template_hash(&plan.template().value)),
    );
    props.insert("parameters".into(), plan.parameters_echo());
    props.insert("mode".into(), json!(mode));
    props.insert("provisioningState".into(), json!(state));
    props.insert("timestamp".into(), json!(crate::arm::time::rfc3339(tx.now())));
    props.insert("duration".into(), json!("PT0S"));
    props.insert("correlationId".into(), json!(tx.correlation_id()));
    props.insert("providers".into(), plan.providers());
    props.insert("dependencies".into(), plan.dependencies());
    let mut body = json!({
        "id": target.deployment_id(),
        "name": target.name,
        "type": KIND,
        "properties": Value::Object(props),
    });
    if let Some(l) = location {
        body["location"] = json!(l);
    }
    body
}

/// Writes what running the deployment gave into its record: state, outputs, resources,
/// error, operations, duration.
pub(super) fn finish_record(tx: &Tx, deployment_id: &str, outcome: &Ran, started: i64) {
    let error = outcome.error();
    tx.store.update(deployment_id, |r| {
        let p = &mut r.body["properties"];
        p["provisioningState"] = json!(if error.is_some() { "Failed" } else { "Succeeded" });
        p["timestamp"] = json!(crate::arm::time::rfc3339(tx.now()));
        p["duration"] = json!(duration(tx.now() - started));
        if let Some(e) = &error {
            p["error"] = e.inner_json();
        } else {
            p["outputs"] = outcome.outputs.clone();
            p["outputResources"] =
                Value::Array(outcome.output_resources.iter().map(|id| json!({ "id": id })).collect());
        }
        r.internal["operations"] = Value::Array(outcome.operations.clone());
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn resource_group_ids_in_provider_form_are_routed_as_groups() {
        assert_eq!(
            super::canonical("/subscriptions/s/providers/Microsoft.Resources/resourceGroups/rg/providers/X.Y/z/n"),
            "/subscriptions/s/resourceGroups/rg/providers/X.Y/z/n"
        );
        assert_eq!(
            super::canonical("/subscriptions/s/resourceGroups/rg"),
            "/subscriptions/s/resourceGroups/rg"
        );
    }
}
