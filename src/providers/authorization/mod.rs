//! `Microsoft.Authorization`: role definitions (the built-in catalog and custom roles), role
//! assignments at any scope, and the authorization engine the rest of azemu asks.

pub(crate) mod assignments;
pub(crate) mod definitions;
pub(crate) mod enforce;
pub(crate) mod engine;

use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::Route;
use crate::world::Tx;

const VERSIONS: &[&str] = &[
    "2022-05-01-preview",
    "2022-04-01",
    "2020-10-01-preview",
    "2020-04-01-preview",
    "2018-09-01-preview",
    "2018-01-01-preview",
    "2015-07-01",
];

/// Everything azemu knows of this provider: its one registration.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: "Microsoft.Authorization",
    types: &[
        TypeInfo {
            name: "roleAssignments",
            api_versions: VERSIONS,
            global: true,
        },
        TypeInfo {
            name: "roleDefinitions",
            api_versions: VERSIONS,
            global: true,
        },
    ],
    routes: ROUTES,
    schemas: &[
        (
            "roleAssignment",
            include_str!("../../../api-specs/Microsoft.Authorization/roleAssignment.json"),
        ),
        (
            "roleDefinition",
            include_str!("../../../api-specs/Microsoft.Authorization/roleDefinition.json"),
        ),
    ],
    seed: Some(seed),
    on_removed: None,
    validate_move: None,
};

#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    Route { namespace: "microsoft.authorization", pattern: &["roleassignments"], methods: &["GET"], action: "Microsoft.Authorization/roleAssignments", handler: assignments::list },
    Route { namespace: "microsoft.authorization", pattern: &["roleassignments", "*"], methods: &["GET", "PUT", "DELETE"], action: "Microsoft.Authorization/roleAssignments", handler: assignments::handle },
    Route { namespace: "microsoft.authorization", pattern: &["roledefinitions"], methods: &["GET"], action: "Microsoft.Authorization/roleDefinitions", handler: definitions::list },
    Route { namespace: "microsoft.authorization", pattern: &["roledefinitions", "*"], methods: &["GET", "PUT", "DELETE"], action: "Microsoft.Authorization/roleDefinitions", handler: definitions::handle },
];

/// The default service principal owns the default subscription.
pub(crate) fn seed(w: &Tx) {
    let c = &w.config;
    let sp = crate::entra::principals::client_principal(w, &c.tenant_id, &c.client_id);
    assignments::grant(
        w,
        &format!("/subscriptions/{}", c.subscription_id),
        &sp.object_id,
        definitions::OWNER,
    );
}
