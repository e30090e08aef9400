//! Resource providers of a subscription: list, get, register and unregister.
//! Every namespace azemu serves starts `Registered`.

use crate::arm::{ArmError, ArmResult, Response};
use crate::providers::{ProviderInfo, PROVIDERS};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

const KIND: &str = "Microsoft.Resources/providerRegistrations";

fn find(namespace: &str) -> ArmResult<&'static ProviderInfo> {
    PROVIDERS
        .iter()
        .copied()
        .find(|p| p.namespace.eq_ignore_ascii_case(namespace))
        .ok_or_else(|| {
            ArmError::not_found(
                "InvalidResourceNamespace",
                format!("The resource namespace '{namespace}' is invalid."),
            )
        })
}

fn registration_id(sub: &str, namespace: &str) -> String {
    format!("/subscriptions/{sub}/providers/{namespace}")
}

/// `Registered` unless the subscription unregistered it.
pub(crate) fn state(w: &Tx, sub: &str, namespace: &str) -> String {
    w.store
        .with(&registration_id(sub, namespace), |r| {
            (r.kind == KIND)
                .then(|| r.body["registrationState"].as_str().map(str::to_string))
                .flatten()
        })
        .flatten()
        .unwrap_or_else(|| "Registered".to_string())
}

/// A namespace as a subscription sees it (`sub`), or at tenant level (no registration state):
/// the types of every registration that serves it.
fn provider_json(w: &Tx, sub: Option<&str>, p: &ProviderInfo) -> Value {
    let types = PROVIDERS
        .iter()
        .filter(|q| q.namespace.eq_ignore_ascii_case(p.namespace))
        .flat_map(|q| q.types.iter());
    let regions: Vec<&str> = crate::arm::regions::REGIONS.iter().map(|(_, d, _)| *d).collect();
    let mut doc = json!({
        "id": match sub { Some(s) => registration_id(s, p.namespace), None => format!("/providers/{}", p.namespace) },
        "namespace": p.namespace,
        "resourceTypes": types.map(|t| json!({
            "resourceType": t.name,
            "locations": if t.global { vec![] } else { regions.clone() },
            "apiVersions": t.api_versions,
            "defaultApiVersion": t.api_versions.first(),
            "capabilities": "None",
        })).collect::<Vec<_>>(),
    });
    if let Some(s) = sub {
        doc["registrationState"] = json!(state(w, s, p.namespace));
        doc["registrationPolicy"] = json!("RegistrationRequired");
    }
    doc
}

/// `GET /subscriptions/{s}/providers`, and `GET /providers` at tenant level.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let sub = ctx.names.first().copied();
    let items = PROVIDERS
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            !PROVIDERS[..*i]
                .iter()
                .any(|q| q.namespace.eq_ignore_ascii_case(p.namespace))
        })
        .map(|(_, p)| provider_json(w, sub, p))
        .collect();
    Ok(Response::ok(crate::arm::paging::page(ctx.req, items)?))
}

fn subscription_of(ctx: &Ctx) -> ArmResult<String> {
    let parts = crate::arm::id::ScopeParts::parse(ctx.scope);
    match parts.subscription {
        Some(s) if parts.is_subscription() => Ok(s),
        _ => Err(ArmError::not_found(
            "NotFound",
            format!("The requested path '{}' was not found.", ctx.req.path),
        )),
    }
}

/// `GET /subscriptions/{s}/providers/{ns}` and `GET /providers/{ns}`.
pub(crate) fn get(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let sub = if ctx.scope.is_empty() {
        None
    } else {
        Some(subscription_of(ctx)?)
    };
    let p = find(ctx.namespace)?;
    Ok(Response::ok(provider_json(w, sub.as_deref(), p)))
}

/// `POST /subscriptions/{s}/providers/{ns}/register` and `/unregister`.
pub(crate) fn register(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let sub = subscription_of(ctx)?;
    let p = find(ctx.namespace)?;
    let unregister = ctx
        .req
        .segments
        .last()
        .is_some_and(|s| s.eq_ignore_ascii_case("unregister"));
    let state = if unregister { "Unregistered" } else { "Registered" };
    w.store.put(Record::new(
        registration_id(&sub, p.namespace),
        KIND,
        json!({ "registrationState": state }),
    ));
    Ok(Response::ok(provider_json(w, Some(&sub), p)))
}

/// A request to a namespace the subscription unregistered is refused, as ARM does.
pub(crate) fn ensure_registered(w: &Tx, sub: &str, namespace: &str) -> ArmResult<()> {
    if state(w, sub, namespace) == "Registered" {
        Ok(())
    } else {
        Err(ArmError::conflict(
            "MissingSubscriptionRegistration",
            format!("The subscription is not registered to use namespace '{namespace}'. See https://aka.ms/rps-not-found for how to register subscriptions."),
        ))
    }
}
