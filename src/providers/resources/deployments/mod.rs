//! ARM template deployments (`Microsoft.Resources/deployments`), at resource-group and
//! subscription scope.
//!
//! A deployment is one more client of the providers, inside azemu: the template engine
//! (`template/`, pure) plans the resources; `run.rs` creates each one with an internal ARM
//! call ([`crate::world::Tx::call`]) — the same routing, validation, rules, RBAC and
//! operations as an HTTP request — so a template is refused exactly where a direct call
//! would be. No provider knows about templates. `api.rs` answers the REST API (spec:
//! `Microsoft.Resources/deployments` 2025-04-01); `whatif.rs` runs a deployment in a scratch
//! transaction and reports the difference.

mod api;
mod run;
pub(crate) mod template;
mod whatif;

use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::Route;

pub(crate) const KIND: &str = "Microsoft.Resources/deployments";
const ACTION: &str = "Microsoft.Resources/deployments";
const NS: &str = "microsoft.resources";

#[rustfmt::skip]
const ROUTES: &[Route] = &[
    Route { namespace: NS, pattern: &["deployments"], methods: &["GET"], action: ACTION, handler: api::list },
    Route { namespace: NS, pattern: &["deployments", "*"], methods: &["GET", "HEAD", "PUT", "DELETE"], action: ACTION, handler: api::handle },
    Route { namespace: NS, pattern: &["deployments", "*", "cancel"], methods: &["POST"], action: ACTION, handler: api::cancel },
    Route { namespace: NS, pattern: &["deployments", "*", "validate"], methods: &["POST"], action: ACTION, handler: api::validate },
    Route { namespace: NS, pattern: &["deployments", "*", "whatif"], methods: &["POST"], action: ACTION, handler: whatif::what_if },
    Route { namespace: NS, pattern: &["deployments", "*", "exporttemplate"], methods: &["POST"], action: ACTION, handler: api::export_template },
    Route { namespace: NS, pattern: &["deployments", "*", "operations"], methods: &["GET"], action: ACTION, handler: api::operations },
    Route { namespace: NS, pattern: &["deployments", "*", "operations", "*"], methods: &["GET"], action: ACTION, handler: api::operation },
    Route { namespace: NS, pattern: &["deployments", "*", "operationstatuses", "*"], methods: &["GET"], action: "", handler: crate::providers::common::lro::status_route },
    Route { namespace: NS, pattern: &["deployments", "*", "operationresults", "*"], methods: &["GET"], action: "", handler: crate::providers::common::lro::result_route },
    Route { namespace: NS, pattern: &["calculatetemplatehash"], methods: &["POST"], action: "", handler: api::calculate_template_hash },
    // The older form of the operations list, without `/providers/Microsoft.Resources`.
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups", "*", "deployments", "*", "operations"], methods: &["GET"], action: ACTION, handler: api::operations_legacy },
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups", "*", "deployments", "*", "operations", "*"], methods: &["GET"], action: ACTION, handler: api::operation_legacy },
];

/// Template deployments: their own registration, within ARM's namespace.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: "Microsoft.Resources",
    types: &[
        TypeInfo {
            name: "deployments",
            api_versions: super::ARM_API_VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "deployments/operations",
            api_versions: super::ARM_API_VERSIONS,
            global: false,
        },
    ],
    routes: ROUTES,
    schemas: &[],
    seed: None,
    on_removed: None,
    validate_move: None,
};
