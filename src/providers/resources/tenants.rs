//! Tenants: `GET /tenants`, and the look-up the token service uses.

use crate::arm::{ArmResult, Response};
use crate::routing::Ctx;
use crate::store::Record;
use crate::world::Tx;
use serde_json::json;

pub(crate) const KIND: &str = "Microsoft.Resources/tenants";

/// Creates a tenant record.
pub(crate) fn create(w: &Tx, tenant_id: &str, display_name: &str, domain: &str) {
    w.store.put(Record::new(
        format!("/tenants/{tenant_id}"),
        KIND,
        json!({
            "id": format!("/tenants/{tenant_id}"),
            "tenantId": tenant_id,
            "countryCode": "US",
            "displayName": display_name,
            "domains": [domain],
            "defaultDomain": domain,
            "tenantCategory": "Home",
            "tenantType": "AAD",
        }),
    ));
}

/// The tenant id for an id or a domain name.
pub(crate) fn find(w: &Tx, name: &str) -> Option<String> {
    if let Some(r) = w.store.get(&format!("/tenants/{name}")) {
        return r.body["tenantId"].as_str().map(str::to_string);
    }
    w.store
        .list(|r| r.kind == KIND)
        .into_iter()
        .find(|r| {
            r.body["defaultDomain"]
                .as_str()
                .is_some_and(|d| d.eq_ignore_ascii_case(name))
        })
        .and_then(|r| r.body["tenantId"].as_str().map(str::to_string))
}

/// `GET /tenants`.
pub(crate) fn list(w: &Tx, ctx: &Ctx) -> ArmResult<Response> {
    let items = w.store.list(|r| r.kind == KIND).into_iter().map(|r| r.body).collect();
    Ok(Response::ok(crate::arm::paging::page(ctx.req, items)?))
}
