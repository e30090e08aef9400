//! The ARM template language engine: parsing, expressions, functions, parameters,
//! variables, resource expansion, the dependency graph and outputs.
//!
//! The engine is pure: everything it needs from the running deployment (the resource group,
//! the subscription, live resources for `reference()`, `list*()` actions, the clock, fresh
//! GUIDs) comes through [`Env`], which the caller implements.
//!
//! Use:
//! 1. [`parse_request_body`] for a body as az sends it (or [`Template::parse`] for template
//!    text alone);
//! 2. [`plan()`] binds parameters, evaluates variables, expands `copy` and `condition`, builds
//!    the dependency graph, orders the resources in waves and evaluates every body that does
//!    not depend on deploy-time state. Its errors are validation errors (`InvalidTemplate`,
//!    400, with [`TemplateError::additional_info`] for line, column and path);
//! 3. for each wave, for each resource: [`Plan::evaluate_resource`] gives the request body
//!    (evaluated just before deploying, so `reference()` sees resources deployed earlier).
//!    Its errors belong to that resource's deployment operation; an error the environment
//!    answered (say `ResourceNotFound` from `reference()`) comes back unchanged in
//!    [`TemplateError::to_arm`]. A `Microsoft.Resources/deployments` resource with an inline
//!    template carries a [`NestedDeployment`]: run it with [`plan_nested`] and an [`Env`]
//!    scoped to its `subscription_id`/`resource_group` (an inner-scope template sees its own
//!    resource group; an outer-scope one the parent's parameters and variables), then record
//!    it so `reference('<name>').outputs` answers;
//! 4. [`Plan::outputs`] once every resource is deployed; [`Plan::parameters_echo`],
//!    [`Plan::dependencies`] and [`Plan::providers`] fill the deployment's properties.
//!
//! What-if uses [`Plan::preview_resource`]: values that need resources this deployment would
//! create stay as their expression text, as Azure's what-if shows them.

mod dotnet;
pub(crate) mod error;
pub(crate) mod eval;
pub(crate) mod expr;
mod functions;
mod graph;
pub(crate) mod hash;
pub(crate) mod json;
mod params;
mod plan;

#[cfg(test)]
mod tests;

pub(crate) use error::TemplateError;
pub(crate) use plan::{plan, plan_nested, EvaluatedResource, NestedDeployment, Plan};

use crate::arm::error::ArmError;
use json::{Pos, Positions};
use serde_json::{json, Value};

/// Where the deployment runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct DeploymentScope {
    pub(crate) tenant_id: String,
    pub(crate) subscription_id: Option<String>,
    /// `None` for a subscription-scope deployment.
    pub(crate) resource_group: Option<String>,
}

/// What the engine asks of the running deployment.
pub(crate) trait Env {
    /// The deployment's scope (for `resourceId()` and resource ids).
    fn scope(&self) -> DeploymentScope;
    /// `resourceGroup()`: `{id, name, type, location, managedBy?, tags, properties}`.
    fn resource_group(&mut self) -> Result<Value, ArmError>;
    /// `subscription()`: `{id, subscriptionId, tenantId, displayName}`.
    fn subscription(&mut self) -> Result<Value, ArmError>;
    /// `tenant()`: `{countryCode, displayName, id, tenantId}`.
    fn tenant(&mut self) -> Result<Value, ArmError>;
    /// `environment()`; [`azure_cloud_environment`] is Azure's public cloud.
    fn environment(&self) -> Value {
        azure_cloud_environment()
    }
    /// `deployment()`: `{name, properties: {template, templateHash, parameters, mode,
    /// provisioningState}}` (template-functions-deployment#deployment).
    fn deployment(&mut self) -> Value;
    /// `reference()`: the resource's `properties`, or the whole resource when `full`.
    fn reference(&mut self, id: &str, api_version: Option<&str>, full: bool) -> Result<Value, ArmError>;
    /// `list{Action}()`: `POST {id}/{function}?api-version={api_version}` with `body`.
    fn list(&mut self, id: &str, function: &str, api_version: &str, body: Option<&Value>) -> Result<Value, ArmError>;
    /// `newGuid()`.
    fn new_guid(&mut self) -> String;
    /// Milliseconds since the Unix epoch, for `utcNow()`.
    fn now_ms(&self) -> i64;
}

/// `environment()` for AzureCloud (template-functions-deployment#environment example output).
pub(crate) fn azure_cloud_environment() -> Value {
    json!({
        "name": "AzureCloud",
        "gallery": "https://gallery.azure.com/",
        "graph": "https://graph.windows.net/",
        "portal": "https://portal.azure.com",
        "graphAudience": "https://graph.windows.net/",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "batch": "https://batch.core.windows.net/",
        "media": "https://rest.media.azure.net",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "vmImageAliasDoc": "https://raw.githubusercontent.com/Azure/azure-rest-api-specs/master/arm-compute/quickstart-templates/aliases.json",
        "resourceManager": "https://management.azure.com/",
        "authentication": {
            "loginEndpoint": "https://login.microsoftonline.com/",
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD"
        },
        "suffixes": {
            "acrLoginServer": ".azurecr.io",
            "azureDatalakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "azureDatalakeStoreFileSystem": "azuredatalakestore.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "keyvaultDns": ".vault.azure.net",
            "sqlServerHostname": ".database.windows.net",
            "storage": "core.windows.net"
        }
    })
}

/// The value `deployment()` returns for a template sent inline
/// (template-functions-deployment#deployment): name, the template, its hash, the parameters,
/// the mode and the provisioning state; `location` at subscription scope.
pub(crate) fn deployment_object(
    name: &str,
    template: &Value,
    template_hash: &str,
    parameters: &Value,
    mode: &str,
    location: Option<&str>,
) -> Value {
    let mut v = json!({
        "name": name,
        "properties": {
            "template": template,
            "templateHash": template_hash,
            "parameters": parameters,
            "mode": mode,
            "provisioningState": "Accepted"
        }
    });
    if let Some(l) = location {
        v["location"] = json!(l);
    }
    v
}

/// Parses a deployment request body as az sends it (non-strict JSON with the template file's
/// raw text spliced in) and extracts `properties.template`, its positions kept relative to the
/// body. A malformed body is `InvalidRequestContent` (400), as ARM answers an undeserializable
/// body (seen in MicrosoftDocs/azure-docs#102473).
pub(crate) fn parse_request_body(text: &str) -> Result<(Value, Option<Template>), ArmError> {
    let (body, positions) = json::parse(text).map_err(|e| {
        ArmError::bad_request(
            "InvalidRequestContent",
            format!(
                "The request content was invalid and could not be deserialized: '{}'.",
                e.message
            ),
        )
    })?;
    let template = match body.pointer("/properties/template") {
        Some(t) => Some(
            Template::from_value(
                t.clone(),
                positions.subtree("properties.template"),
                "properties.template",
            )
            .map_err(|e| e.to_arm())?,
        ),
        None => None,
    };
    Ok((body, template))
}

/// `templateHash`: Microsoft's MurmurHash64 as a decimal string (the value format seen in
/// Azure/azure-cli#28834). The input canonicalisation (upper-cased compact JSON) is
/// community-sourced and not confirmed against Azure.
pub(crate) fn template_hash(template: &Value) -> String {
    hash::murmur64(template.to_string().to_uppercase().as_bytes()).to_string()
}

/// A parsed template with the positions of its elements.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) value: Value,
    positions: Positions,
    /// Prefix of the template's paths in errors (`properties.template` inside a body).
    prefix: String,
}

impl Template {
    /// Parses template text as ARM accepts it (comments, trailing commas).
    pub(crate) fn parse(text: &str) -> Result<Template, TemplateError> {
        let (value, positions) = json::parse(text).map_err(|e| {
            TemplateError::invalid(format!("Deployment template parse failed: '{}'.", e.message))
                .located(Some(String::new()), Some(e.pos))
        })?;
        Template::from_value(value, positions, "")
    }

    /// A template already parsed, e.g. `properties.template` of a body parsed with
    /// [`json::parse`]: pass `positions.subtree("properties.template")` and that prefix.
    pub(crate) fn from_value(value: Value, positions: Positions, prefix: &str) -> Result<Template, TemplateError> {
        let t = Template {
            value,
            positions,
            prefix: prefix.to_string(),
        };
        if !t.value.is_object() {
            return Err(t.error_at("", "The template must be a JSON object"));
        }
        for (key, want) in [
            ("parameters", "object"),
            ("variables", "object"),
            ("outputs", "object"),
            ("functions", "array"),
        ] {
            let v = &t.value[key];
            let ok = v.is_null() || (want == "object" && v.is_object()) || (want == "array" && v.is_array());
            if !ok {
                return Err(t.error_at(key, &format!("The template '{key}' section must be of type '{want}'")));
            }
        }
        match &t.value["resources"] {
            Value::Null | Value::Array(_) | Value::Object(_) => Ok(t),
            _ => Err(t.error_at(
                "resources",
                "The template 'resources' section must be an array or an object",
            )),
        }
    }

    /// The deployment scope the `$schema` is written for: `resourceGroup` (deploymentTemplate),
    /// `subscription`, `managementGroup` or `tenant`.
    pub(crate) fn target_scope(&self) -> &'static str {
        let schema = self
            .value
            .get("$schema")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase();
        if schema.contains("subscriptiondeploymenttemplate") {
            "subscription"
        } else if schema.contains("managementgroupdeploymenttemplate") {
            "managementGroup"
        } else if schema.contains("tenantdeploymenttemplate") {
            "tenant"
        } else {
            "resourceGroup"
        }
    }

    pub(crate) fn pos(&self, path: &str) -> Option<Pos> {
        self.positions.get(path)
    }

    pub(crate) fn full_path(&self, path: &str) -> String {
        match (self.prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) if path.starts_with('[') => format!("{}{path}", self.prefix),
            (false, false) => format!("{}.{path}", self.prefix),
        }
    }

    /// `Deployment template validation failed: '<reason>'.` located at `path`.
    pub(crate) fn error_at(&self, path: &str, reason: &str) -> TemplateError {
        TemplateError::validation(reason).located(Some(self.full_path(path)), self.pos(path))
    }

    /// The positions under `path`, for a template nested inside this one.
    pub(crate) fn sub_positions(&self, path: &str) -> Positions {
        self.positions.subtree(path)
    }
}
