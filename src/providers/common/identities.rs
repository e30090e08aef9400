//! User-assigned identities as records and principals. The ManagedIdentity provider creates
//! them for users; AKS creates its `{cluster}-agentpool` kubelet identity the same way.

use crate::entra::{Principal, PrincipalKind};
use crate::store::Record;
use crate::world::Tx;
use serde_json::{json, Value};

pub(crate) const KIND: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// What a new or updated identity looks like.
pub(crate) struct Identity<'a> {
    pub(crate) id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) location: &'a str,
    pub(crate) tenant_id: &'a str,
    pub(crate) client_id: &'a str,
    pub(crate) principal_id: &'a str,
    pub(crate) isolation_scope: &'a str,
    pub(crate) tags: Value,
    pub(crate) system_data: Option<Value>,
}

/// Stores the identity and its service principal; returns the ARM body.
pub(crate) fn save(w: &Tx, i: Identity) -> Value {
    let mut doc = json!({
        "id": i.id,
        "name": i.name,
        "type": KIND,
        "location": i.location,
        "tags": i.tags,
        "properties": {
            "tenantId": i.tenant_id,
            "principalId": i.principal_id,
            "clientId": i.client_id,
            "isolationScope": i.isolation_scope,
        },
    });
    if let Some(sd) = i.system_data {
        doc["systemData"] = sd;
    }
    w.store.put(Record::new(i.id, KIND, doc.clone()));
    let created = w
        .directory
        .get(i.principal_id)
        .map(|p| p.created)
        .unwrap_or_else(|| w.now());
    w.directory.upsert(Principal {
        object_id: i.principal_id.to_string(),
        app_id: i.client_id.to_string(),
        display_name: i.name.to_string(),
        kind: PrincipalKind::ManagedIdentity,
        tenant_id: i.tenant_id.to_string(),
        alternative_names: vec!["isExplicit=True".to_string(), i.id.to_string()],
        created,
    });
    doc
}

/// Removes the identity's principal (role assignments naming it stay, as in Azure).
pub(crate) fn forget_principal(w: &Tx, rec: &Record) {
    if let Some(pid) = rec.body["properties"]["principalId"].as_str() {
        w.directory.remove(pid);
    }
}
