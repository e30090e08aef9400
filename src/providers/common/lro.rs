//! Long-running operations over HTTP: starting one (the `Azure-AsyncOperation`, `Location`
//! and `Retry-After` headers), and the two polling resources clients follow — the
//! operation-status resource and the operation-result (Location) resource.

use crate::arm::lro::{Completion, Start, MAX_RETRY_AFTER_S};
use crate::arm::{ArmError, ArmResult, Response};
use crate::routing::Ctx;
use crate::world::Tx;

/// Where the polling URLs of an operation live.
pub(crate) enum Urls<'a> {
    /// `/subscriptions/{s}/providers/{ns}/locations/{loc}/operations/{id}` (+ `operationresults`).
    Provider {
        subscription: &'a str,
        namespace: &'a str,
        location: &'a str,
    },
    /// `/subscriptions/{s}/operationresults/{id}` (resource group deletion).
    Subscription { subscription: &'a str },
    /// `{resource}/operationStatuses/{id}` and `{resource}/operationResults/{id}` (deployments).
    Resource { id: &'a str },
}

pub(crate) struct Begin<'a> {
    pub(crate) resource_id: String,
    /// `Creating`, `Updating`, `Deleting`, `UpgradingNodeImageVersion`...
    pub(crate) activity: &'a str,
    pub(crate) urls: Urls<'a>,
    /// Whether to send `Location` as well (DELETE and POST).
    pub(crate) location_header: bool,
    /// When set, the operation ends `Failed` with this error.
    pub(crate) fail: Option<ArmError>,
    pub(crate) effect: crate::world::tx::Effect,
}

/// The polling headers of a started operation.
pub(crate) struct Started {
    pub(crate) headers: Vec<(String, String)>,
}

impl Started {
    pub(crate) fn apply(&self, mut r: Response) -> Response {
        r.headers.extend(self.headers.iter().cloned());
        r
    }
}

/// How long this request's operation takes: the `x-azemu-lro` header (`3s`, `polls=2`,
/// `manual`, `immediate`, optionally `,fail`), a per-type rule set through the control API,
/// else `--lro-duration`.
fn completion_for(w: &Tx, ctx: &Ctx, resource_id: &str) -> ArmResult<(Completion, Option<ArmError>)> {
    let spec = ctx
        .req
        .header("x-azemu-lro")
        .map(str::to_string)
        .or_else(|| w.harness().lro_rule(&ctx.req.method, resource_id));
    let (completion, fail) = match spec {
        Some(s) => parse_spec(w, &s)?,
        None => (default_completion(w), None),
    };
    Ok((completion, fail.or_else(|| w.harness().lro_failure(w, ctx.req))))
}

fn default_completion(w: &Tx) -> Completion {
    match w.config.lro_duration_ms {
        0 => Completion::Immediate,
        ms => Completion::At(w.now().saturating_add(ms)),
    }
}

/// Parses an LRO timing spec such as `3s`, `polls=2`, `immediate`, `manual`, `3s,fail`.
pub(crate) fn parse_spec(w: &Tx, spec: &str) -> ArmResult<(Completion, Option<ArmError>)> {
    let mut completion = default_completion(w);
    let mut fail = None;
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let lower = part.to_ascii_lowercase();
        if lower == "immediate" {
            completion = Completion::Immediate;
        } else if lower == "manual" {
            completion = Completion::Manual;
        } else if let Some(n) = lower.strip_prefix("polls=") {
            let n: u32 = n.parse().map_err(|_| bad_spec(spec))?;
            completion = Completion::AfterPolls(n);
        } else if lower == "fail" || lower.starts_with("fail=") {
            let code = part
                .split_once('=')
                .map(|(_, c)| c.to_string())
                .unwrap_or_else(|| "InternalOperationError".into());
            fail = Some(ArmError::new(
                500,
                code,
                "The operation failed as requested by the x-azemu-lro fault setting.",
            ));
        } else if let Some(ms) = crate::arm::time::parse_duration_ms(&lower) {
            // Durations are at most 10000 years and the clock stays in years 0..9999: no overflow.
            completion = Completion::At(w.now().saturating_add(ms));
        } else {
            return Err(bad_spec(spec));
        }
    }
    Ok((completion, fail))
}

fn bad_spec(spec: &str) -> ArmError {
    ArmError::bad_request(
        "InvalidLroSetting",
        format!("The x-azemu-lro value '{spec}' is invalid. Use 'immediate', 'manual', a duration such as '3s' (at most 10000 years), 'polls=N' (N below 2^32), optionally followed by ',fail'."),
    )
}

/// Starts an operation and returns the headers the response must carry.
pub(crate) fn begin(w: &Tx, ctx: &Ctx, b: Begin) -> ArmResult<Started> {
    let retry = retry_after(ctx)?;
    let (completion, requested_failure) = completion_for(w, ctx, &b.resource_id)?;
    let fail_with = b.fail.or(requested_failure);
    let id = w.ids.guid();
    let api = ctx.api_version;
    let (status_path, result_path) = match &b.urls {
        Urls::Provider {
            subscription,
            namespace,
            location,
        } => (
            format!("/subscriptions/{subscription}/providers/{namespace}/locations/{location}/operations/{id}"),
            format!("/subscriptions/{subscription}/providers/{namespace}/locations/{location}/operationresults/{id}"),
        ),
        Urls::Subscription { subscription } => (
            format!("/subscriptions/{subscription}/operationresults/{id}"),
            format!("/subscriptions/{subscription}/operationresults/{id}"),
        ),
        Urls::Resource { id: rid } => (
            format!("{rid}/operationStatuses/{id}"),
            format!("{rid}/operationResults/{id}"),
        ),
    };
    w.ops.start(Start {
        id: id.clone(),
        resource_id: b.resource_id,
        activity: b.activity.to_string(),
        now: w.now(),
        completion,
        fail_with,
        effect: b.effect,
    });
    let location_only = matches!(b.urls, Urls::Subscription { .. });
    let mut headers = vec![("Retry-After".to_string(), retry)];
    if !location_only {
        headers.push((
            "Azure-AsyncOperation".to_string(),
            format!("{}{status_path}?api-version={api}", ctx.req.base_url),
        ));
    }
    if b.location_header || location_only {
        headers.push((
            "Location".to_string(),
            format!("{}{result_path}?api-version={api}", ctx.req.base_url),
        ));
    }
    Ok(Started { headers })
}

/// `Retry-After` on LRO responses: 0 by default so clients poll at once; the
/// `x-azemu-retry-after` header (whole seconds, at most a day) sets it.
fn retry_after(ctx: &Ctx) -> ArmResult<String> {
    let Some(v) = ctx.req.header("x-azemu-retry-after") else {
        return Ok("0".to_string());
    };
    match v.trim().parse::<u32>() {
        Ok(n) if n <= MAX_RETRY_AFTER_S => Ok(n.to_string()),
        _ => Err(ArmError::bad_request(
            "InvalidRetryAfterSetting",
            format!("The x-azemu-retry-after value '{v}' is invalid. Use a whole number of seconds from 0 to {MAX_RETRY_AFTER_S}."),
        )),
    }
}

/// `GET .../operations/{id}`: the operation-status resource (always 200 while it exists).
pub(crate) fn status(w: &Tx, ctx: &Ctx, op_id: &str) -> ArmResult<Response> {
    let retry = retry_after(ctx)?;
    w.ops.touch(op_id);
    w.settle();
    let snap = w.ops.snapshot(op_id).ok_or_else(|| operation_not_found(op_id))?;
    let r = Response::ok(snap.status_body(&ctx.req.path));
    Ok(if snap.is_done() {
        r
    } else {
        r.header("Retry-After", retry)
    })
}

/// `GET .../operationresults/{id}`: 202 while running; 200 with an empty body when done (as
/// Azure answers the final poll of a resource group delete: `@azure/arm-resources` 8 refuses a
/// 204 there), or the error with its status when it failed.
pub(crate) fn result(w: &Tx, ctx: &Ctx, op_id: &str) -> ArmResult<Response> {
    let retry = retry_after(ctx)?;
    w.ops.touch(op_id);
    w.settle();
    let snap = w.ops.snapshot(op_id).ok_or_else(|| operation_not_found(op_id))?;
    if !snap.is_done() {
        return Ok(Response::empty(202)
            .header(
                "Location",
                ctx.req
                    .url(&format!("{}?api-version={}", ctx.req.path, ctx.api_version)),
            )
            .header("Retry-After", retry));
    }
    if let Some(e) = snap.error {
        return Err(e);
    }
    Ok(Response::empty(200))
}

fn operation_not_found(op_id: &str) -> ArmError {
    ArmError::not_found(
        "OperationNotFound",
        format!("The operation '{op_id}' could not be found."),
    )
}

/// Route handler for `.../locations/{loc}/operations/{id}` (and `operationStatuses`).
pub(crate) fn status_route(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    status(w, ctx, ctx.name(1))
}

/// Route handler for `.../locations/{loc}/operationresults/{id}`.
pub(crate) fn result_route(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    result(w, ctx, ctx.name(1))
}

/// A write refused because another operation is running on the resource (AKS's wording).
pub(crate) fn ensure_idle(w: &Tx, resource_id: &str) -> ArmResult<()> {
    match w.ops.running_on(resource_id) {
        None => Ok(()),
        Some(op) => {
            let what = crate::arm::id::name_of(&op.resource_id);
            Err(ArmError::conflict(
                "OperationNotAllowed",
                format!(
                    "Operation is not allowed: Another operation ({what} - {}) is in progress, please wait for it to finish before starting a new operation. See https://aka.ms/aks-pending-operation for more details",
                    op.activity
                ),
            ))
        }
    }
}
