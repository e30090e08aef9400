//! What ARM's own resource types offer every provider: a subscription's tenant, resource
//! groups created and removed on a provider's behalf (AKS's node resource group), and the
//! cloud's DNS suffixes. Providers reach `Microsoft.Resources` only through here.

use crate::arm::id;
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const RESOURCE_GROUP_KIND: &str = "Microsoft.Resources/resourceGroups";

/// ACR login servers are `{registry}.{ACR_SUFFIX}`.
pub(crate) const ACR_SUFFIX: &str = "azurecr.io";

/// The tenant a subscription belongs to. Every ARM call checks its token against it, so only
/// `tenantId` is read from the body.
pub(crate) fn tenant_of(w: &Tx, subscription_id: &str) -> Option<String> {
    let mut key = String::with_capacity(15 + subscription_id.len());
    key.push_str("/subscriptions/");
    key.push_str(subscription_id);
    w.store.body_field::<String>(&key, "tenantId").flatten()
}

/// Creates a resource group on behalf of a provider (AKS's node resource group).
pub(crate) fn create_managed_group(
    w: &Tx,
    sub: &str,
    name: &str,
    location: &str,
    managed_by: &str,
    tags: Option<Value>,
) -> String {
    let rid = id::resource_group_id(sub, name);
    let mut rg = json!({
        "id": rid,
        "name": name,
        "type": RESOURCE_GROUP_KIND,
        "location": location,
        "managedBy": managed_by,
        "properties": { "provisioningState": "Succeeded" },
    });
    if let Some(t) = tags {
        rg["tags"] = t;
    }
    w.store.put(Record::new(rid.clone(), RESOURCE_GROUP_KIND, rg));
    rid
}

/// Removes a resource group and everything inside it, letting each provider clean up.
pub(crate) fn remove_group_with_contents(w: &Tx, rid: &str) {
    for rec in w.store.remove_tree(rid) {
        crate::providers::on_removed(w, &rec);
    }
}
