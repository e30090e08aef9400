//! ARM's own resources: the cloud metadata document, tenants, subscriptions, regions,
//! resource providers, resource groups and the resources inside them.

pub(crate) mod deployments;
mod filters;
pub(crate) mod groups;
pub(crate) mod metadata;
pub(crate) mod registry;
pub(crate) mod subscriptions;
pub(crate) mod tenants;

use crate::providers::common::lro;
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::Route;

const RG: &str = "Microsoft.Resources/subscriptions/resourceGroups";
const RES: &str = "Microsoft.Resources/subscriptions/resources";

/// The api-versions ARM's own types answer (for `--strict-api-versions`).
pub(crate) const ARM_API_VERSIONS: &[&str] = &[
    "2025-04-01",
    "2024-11-01",
    "2024-07-01",
    "2024-03-01",
    "2023-07-01",
    "2022-12-01",
    "2022-09-01",
    "2022-01-01",
    "2021-04-01",
    "2021-01-01",
    "2020-10-01",
    "2020-06-01",
    "2020-01-01",
    "2019-11-01",
    "2019-10-01",
    "2019-08-01",
    "2019-07-01",
    "2019-06-01",
    "2019-05-10",
    "2019-05-01",
    "2019-03-01",
    "2018-05-01",
    "2018-02-01",
    "2017-05-10",
    "2016-09-01",
    "2016-06-01",
    "2016-02-01",
    "2015-11-01",
];

/// Everything azemu knows of this provider: its one registration.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: "Microsoft.Resources",
    types: &[
        TypeInfo {
            name: "resourceGroups",
            api_versions: ARM_API_VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "subscriptions",
            api_versions: ARM_API_VERSIONS,
            global: true,
        },
        TypeInfo {
            name: "tenants",
            api_versions: ARM_API_VERSIONS,
            global: true,
        },
    ],
    routes: ROUTES,
    schemas: &[
        (
            "resourceGroup",
            include_str!("../../../api-specs/Microsoft.Resources/resourceGroup.json"),
        ),
        (
            "resourceGroupPatch",
            include_str!("../../../api-specs/Microsoft.Resources/resourceGroupPatch.json"),
        ),
    ],
    seed: Some(seed),
    on_removed: None,
    validate_move: None,
};

#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    Route { namespace: "", pattern: &["subscriptions"], methods: &["GET"], action: "Microsoft.Resources/subscriptions", handler: subscriptions::list },
    Route { namespace: "", pattern: &["subscriptions", "*"], methods: &["GET"], action: "Microsoft.Resources/subscriptions", handler: subscriptions::get },
    Route { namespace: "", pattern: &["subscriptions", "*", "locations"], methods: &["GET"], action: "Microsoft.Resources/subscriptions/locations", handler: subscriptions::locations },
    Route { namespace: "", pattern: &["subscriptions", "*", "providers"], methods: &["GET"], action: "Microsoft.Resources/subscriptions/providers", handler: registry::list },
    Route { namespace: "", pattern: &["subscriptions", "*", "resources"], methods: &["GET"], action: RES, handler: groups::resources },
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups"], methods: &["GET"], action: RG, handler: groups::list },
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups", "*"], methods: &["GET", "HEAD", "PUT", "PATCH", "DELETE"], action: RG, handler: groups::handle },
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups", "*", "resources"], methods: &["GET"], action: RES, handler: groups::resources },
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups", "*", "moveresources"], methods: &["POST"], action: "Microsoft.Resources/subscriptions/resourceGroups/moveResources", handler: groups::move_resources },
    Route { namespace: "", pattern: &["subscriptions", "*", "resourcegroups", "*", "validatemoveresources"], methods: &["POST"], action: "Microsoft.Resources/subscriptions/resourceGroups/validateMoveResources", handler: groups::move_resources },
    Route { namespace: "", pattern: &["subscriptions", "*", "operationresults", "*"], methods: &["GET"], action: "Microsoft.Resources/subscriptions", handler: operation_result },
    Route { namespace: "", pattern: &["providers"], methods: &["GET"], action: "", handler: registry::list },
    Route { namespace: "", pattern: &["tenants"], methods: &["GET"], action: "Microsoft.Resources/tenants", handler: tenants::list },
    // Resource-provider registration: /subscriptions/{s}/providers/{ns}[/register], /providers/{ns}
    Route { namespace: "*", pattern: &[], methods: &["GET"], action: "Microsoft.Resources/subscriptions/providers", handler: registry::get },
    Route { namespace: "*", pattern: &["register"], methods: &["POST"], action: "Microsoft.Resources/subscriptions/providers/register", handler: registry::register },
    Route { namespace: "*", pattern: &["unregister"], methods: &["POST"], action: "Microsoft.Resources/subscriptions/providers/unregister", handler: registry::register },
    // Operation polling for every provider.
    Route { namespace: "*", pattern: &["locations", "*", "operations", "*"], methods: &["GET"], action: "", handler: lro::status_route },
    Route { namespace: "*", pattern: &["locations", "*", "operationstatuses", "*"], methods: &["GET"], action: "", handler: lro::status_route },
    Route { namespace: "*", pattern: &["locations", "*", "operationresults", "*"], methods: &["GET"], action: "", handler: lro::result_route },
];

fn operation_result(w: &crate::world::Tx, ctx: &crate::routing::Ctx) -> crate::arm::ArmResult<crate::arm::Response> {
    lro::result(w, ctx, ctx.name(1))
}

/// The default tenant and subscription.
pub(crate) fn seed(w: &crate::world::Tx) {
    let c = &w.config;
    tenants::create(w, &c.tenant_id, "azemu", crate::config::DEFAULT_TENANT_DOMAIN);
    subscriptions::create(
        w,
        &c.subscription_id,
        &c.tenant_id,
        crate::config::DEFAULT_SUBSCRIPTION_NAME,
    );
}
