//! Subscriptions: list, get, and the regions a subscription offers.

use crate::arm::regions::REGIONS;
use crate::arm::{ArmError, ArmResult, Response};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const KIND: &str = "Microsoft.Resources/subscriptions";

pub(crate) fn create(w: &Tx, subscription_id: &str, tenant_id: &str, display_name: &str) {
    w.store.put(Record::new(
        format!("/subscriptions/{subscription_id}"),
        KIND,
        json!({
            "id": format!("/subscriptions/{subscription_id}"),
            "authorizationSource": "RoleBased",
            "managedByTenants": [],
            "subscriptionId": subscription_id,
            "tenantId": tenant_id,
            "displayName": display_name,
            "state": "Enabled",
            "subscriptionPolicies": {
                "locationPlacementId": "Public_2014-09-01",
                "quotaId": "PayAsYouGo_2014-09-01",
                "spendingLimit": "Off",
            },
        }),
    ));
}

/// `GET /subscriptions`: the subscriptions of the caller's tenant.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let tenant = ctx.caller.map(|c| c.tenant_id.clone());
    let items: Vec<Value> = w
        .store
        .list(|r| r.kind == KIND)
        .into_iter()
        .filter(|r| match &tenant {
            Some(t) if !t.is_empty() => r.body["tenantId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(t)),
            _ => true,
        })
        .map(|r| r.body)
        .collect();
    Ok(Response::ok(crate::arm::paging::page(ctx.req, items)?))
}

/// `GET /subscriptions/{id}`.
pub(crate) fn get(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let sub = ctx.name(0);
    w.store
        .get(&format!("/subscriptions/{sub}"))
        .map(|r| Response::ok(r.body))
        .ok_or_else(|| ArmError::subscription_not_found(sub))
}

/// `GET /subscriptions/{id}/locations`.
pub(crate) fn locations(_w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let sub = ctx.name(0);
    let items: Vec<Value> = REGIONS
        .iter()
        .map(|(name, display, geo)| {
            json!({
                "id": format!("/subscriptions/{sub}/locations/{name}"),
                "name": name,
                "type": "Region",
                "displayName": display,
                "regionalDisplayName": format!("({geo}) {display}"),
                "metadata": { "regionType": "Physical", "regionCategory": "Recommended", "geographyGroup": geo },
            })
        })
        .collect();
    Ok(Response::ok(json!({ "value": items })))
}
