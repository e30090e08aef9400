//! The directory: every service principal azemu knows. Token clients, user-assigned
//! identities and system-assigned identities (clusters) all live here, as in Entra ID.

use crate::arm::time::Millis;
use dashmap::DashMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum PrincipalKind {
    /// A client-credentials application (what `az login --service-principal` uses).
    Application,
    /// A managed identity, user- or system-assigned.
    ManagedIdentity,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Principal {
    /// The object id (an identity's `principalId`).
    pub(crate) object_id: String,
    /// The application id (an identity's `clientId`).
    pub(crate) app_id: String,
    pub(crate) display_name: String,
    pub(crate) kind: PrincipalKind,
    pub(crate) tenant_id: String,
    /// For managed identities: the ARM resource id it belongs to.
    #[serde(default)]
    pub(crate) alternative_names: Vec<String>,
    pub(crate) created: Millis,
}

impl Principal {
    /// The Microsoft Graph `servicePrincipal` shape.
    pub(crate) fn graph_json(&self) -> Value {
        json!({
            "@odata.type": "#microsoft.graph.servicePrincipal",
            "id": self.object_id,
            "appId": self.app_id,
            "displayName": self.display_name,
            "accountEnabled": true,
            "appOwnerOrganizationId": self.tenant_id,
            "servicePrincipalType": match self.kind {
                PrincipalKind::Application => "Application",
                PrincipalKind::ManagedIdentity => "ManagedIdentity",
            },
            "servicePrincipalNames": self.service_principal_names(),
            "alternativeNames": self.alternative_names,
        })
    }

    pub(crate) fn service_principal_names(&self) -> Vec<String> {
        let mut names = vec![self.app_id.clone()];
        names.extend(self.alternative_names.iter().cloned());
        names
    }
}

#[derive(Default)]
pub(crate) struct Directory {
    by_object_id: DashMap<String, Principal>,
}

impl Directory {
    pub(crate) fn upsert(&self, p: Principal) {
        self.by_object_id.insert(p.object_id.to_ascii_lowercase(), p);
    }

    pub(crate) fn get(&self, object_id: &str) -> Option<Principal> {
        self.by_object_id
            .get(&object_id.to_ascii_lowercase())
            .map(|p| p.clone())
    }
    pub(crate) fn remove(&self, object_id: &str) -> Option<Principal> {
        self.by_object_id
            .remove(&object_id.to_ascii_lowercase())
            .map(|(_, p)| p)
    }

    /// All principals, oldest first.
    pub(crate) fn all(&self) -> Vec<Principal> {
        let mut v: Vec<Principal> = self.by_object_id.iter().map(|p| p.clone()).collect();
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.object_id.cmp(&b.object_id)));
        v
    }

    pub(crate) fn clear(&self) {
        self.by_object_id.clear();
    }

    pub(crate) fn import(&self, principals: Vec<Principal>) {
        self.clear();
        for p in principals {
            self.upsert(p);
        }
    }
}
