//! Typed views of the AKS request bodies: what a cluster PUT asks for, parsed once (after the
//! body passed its schema) into the fields the rules and the plan decide on. The body itself is
//! kept: the writable properties a client sends are stored as given.

use super::model::{IdentityType, PoolMode};
use crate::arm::ArmResult;
use crate::providers::common::{resource, schema};
use crate::routing::Ctx;
use serde_json::Value;

/// `properties.servicePrincipalProfile` of a request.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ServicePrincipalRequest {
    pub(crate) client_id: Option<String>,
    pub(crate) secret: Option<String>,
}

impl ServicePrincipalRequest {
    pub(crate) fn parse(v: &Value) -> ServicePrincipalRequest {
        ServicePrincipalRequest {
            client_id: v["clientId"].as_str().map(str::to_string),
            secret: v["secret"].as_str().map(str::to_string),
        }
    }

    /// The client id of a real service principal: anything but AKS's `msi` placeholder.
    pub(crate) fn real_client(&self) -> Option<&str> {
        self.client_id.as_deref().filter(|c| !c.eq_ignore_ascii_case("msi"))
    }

    pub(crate) fn has_secret(&self) -> bool {
        self.secret.as_deref().is_some_and(|s| !s.is_empty())
    }
}

/// The `identity` block of a request, when it names a type.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct IdentityRequest {
    pub(crate) kind: IdentityType,
    /// The keys of `userAssignedIdentities`, in the order sent.
    pub(crate) user_assigned: Vec<String>,
}

impl IdentityRequest {
    pub(crate) fn parse(v: &Value) -> ArmResult<Option<IdentityRequest>> {
        let Some(t) = v["type"].as_str() else { return Ok(None) };
        Ok(Some(IdentityRequest {
            kind: IdentityType::parse(t)?,
            user_assigned: user_assigned_keys(v),
        }))
    }
}

/// The keys of an identity block's `userAssignedIdentities`.
pub(crate) fn user_assigned_keys(identity: &Value) -> Vec<String> {
    identity["userAssignedIdentities"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// `properties.identityProfile.kubeletidentity` naming a pre-created identity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KubeletRequest {
    pub(crate) resource_id: String,
    pub(crate) client_id: Option<String>,
    pub(crate) object_id: Option<String>,
}

impl KubeletRequest {
    pub(crate) fn parse(v: &Value) -> Option<KubeletRequest> {
        let non_empty = |k: &str| v[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Some(KubeletRequest {
            resource_id: non_empty("resourceId")?,
            client_id: non_empty("clientId"),
            object_id: non_empty("objectId"),
        })
    }
}

/// One entry of `properties.agentPoolProfiles`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PoolRequest {
    pub(crate) name: String,
    pub(crate) mode: Option<PoolMode>,
    /// The profile as sent (its settings are normalized with the pool's current ones).
    pub(crate) props: Value,
}

impl PoolRequest {
    /// An agent pool PUT body (a JSON object that passes the `agentPool` schema) for the pool
    /// `name` the path names.
    pub(crate) fn parse_put(ctx: &Ctx, name: &str) -> ArmResult<PoolRequest> {
        let body = ctx.req.json_object()?;
        schema::validate("agentPool", &body)?;
        let props = body["properties"].clone();
        Ok(PoolRequest {
            name: name.to_string(),
            mode: props["mode"].as_str().and_then(PoolMode::parse),
            props,
        })
    }

    /// An entry of a cluster's `agentPoolProfiles`.
    pub(crate) fn parse(v: &Value) -> PoolRequest {
        PoolRequest {
            name: v["name"].as_str().unwrap_or_default().to_string(),
            mode: v["mode"].as_str().and_then(PoolMode::parse),
            props: v.clone(),
        }
    }
}

/// A managed cluster PUT body.
#[derive(Debug, Clone)]
pub(crate) struct ClusterRequest {
    pub(crate) location: &'static str,
    pub(crate) tags: Option<Value>,
    /// `sku` when it is an object.
    pub(crate) sku: Option<Value>,
    pub(crate) identity: Option<IdentityRequest>,
    pub(crate) service_principal: ServicePrincipalRequest,
    /// `properties.kubernetesVersion` when not empty.
    pub(crate) kubernetes_version: Option<String>,
    pub(crate) pools: Vec<PoolRequest>,
    pub(crate) node_resource_group: Option<String>,
    pub(crate) dns_prefix: Option<String>,
    pub(crate) kubelet: Option<KubeletRequest>,
    /// The body as sent.
    pub(crate) body: Value,
}

impl ClusterRequest {
    /// Parses the request body: a JSON object that passes the `managedCluster` schema, with a
    /// location and valid tags.
    pub(crate) fn parse(ctx: &Ctx) -> ArmResult<ClusterRequest> {
        let body = ctx.req.json_object()?;
        schema::validate("managedCluster", &body)?;
        let location = resource::require_location(&body, super::KIND)?;
        ClusterRequest::from_body(body, location)
    }

    fn from_body(body: Value, location: &'static str) -> ArmResult<ClusterRequest> {
        let props = &body["properties"];
        let non_empty = |v: &Value| v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
        Ok(ClusterRequest {
            location,
            tags: resource::tags(&body)?,
            sku: body.get("sku").filter(|s| s.is_object()).cloned(),
            identity: IdentityRequest::parse(&body["identity"])?,
            service_principal: ServicePrincipalRequest::parse(&props["servicePrincipalProfile"]),
            kubernetes_version: non_empty(&props["kubernetesVersion"]),
            pools: props["agentPoolProfiles"]
                .as_array()
                .map(|a| a.iter().map(PoolRequest::parse).collect())
                .unwrap_or_default(),
            node_resource_group: non_empty(&props["nodeResourceGroup"]),
            dns_prefix: non_empty(&props["dnsPrefix"]),
            kubelet: KubeletRequest::parse(&props["identityProfile"]["kubeletidentity"]),
            body,
        })
    }

    /// The identity type the request names, if any.
    pub(crate) fn identity_type(&self) -> Option<IdentityType> {
        self.identity.as_ref().map(|i| i.kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cluster_body_parses_into_its_fields() {
        let body = json!({
            "location": "westus2",
            "identity": { "type": "UserAssigned", "userAssignedIdentities": { "/x/cp": {} } },
            "properties": {
                "kubernetesVersion": "",
                "servicePrincipalProfile": { "clientId": "msi" },
                "identityProfile": { "kubeletidentity": { "resourceId": "/x/k", "clientId": "" } },
                "agentPoolProfiles": [{ "name": "np", "mode": "System" }],
            },
        });
        let r = ClusterRequest::from_body(body, "westus2").unwrap();
        assert_eq!(r.identity_type(), Some(IdentityType::UserAssigned));
        assert_eq!(r.identity.unwrap().user_assigned, vec!["/x/cp".to_string()]);
        assert_eq!(r.kubernetes_version, None);
        assert_eq!(r.service_principal.real_client(), None);
        assert_eq!(r.kubelet.unwrap().client_id, None);
        assert_eq!(r.pools[0].mode, Some(PoolMode::System));
    }
}
