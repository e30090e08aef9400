//! `Microsoft.ContainerService`: managed clusters and their agent pools, credentials,
//! upgrade profiles, maintenance configurations, the node image (VHD) catalog and the node
//! model that shows which kubelet identity each node really uses.
//!
//! The documented AKS identity rules live in [`rules`], one named function each.

pub(crate) mod actions;
pub(crate) mod clusters;
pub(crate) mod control;
pub(crate) mod defaults;
pub(crate) mod imds;
pub(crate) mod kubeconfig;
pub(crate) mod model;
pub(crate) mod node_images;
pub(crate) mod nodes;
pub(crate) mod plan;
pub(crate) mod pools;
pub(crate) mod request;
pub(crate) mod rules;
pub(crate) mod versions;

use crate::arm::lro::Outcome;
use crate::arm::ArmResult;
use crate::providers::common::lro;
use crate::providers::{ProviderInfo, TypeInfo};
use crate::routing::Route;
use crate::store::Record;
use crate::world::Tx;

pub(crate) const NAMESPACE: &str = "Microsoft.ContainerService";
pub(crate) const KIND: &str = "Microsoft.ContainerService/managedClusters";
pub(crate) const POOL_KIND: &str = "Microsoft.ContainerService/managedClusters/agentPools";
const CS: &str = "microsoft.containerservice";
const POOL_ACTION: &str = "Microsoft.ContainerService/managedClusters/agentPools";

const VERSIONS: &[&str] = &[
    "2026-08-01",
    "2026-06-01",
    "2026-02-01",
    "2025-10-01",
    "2025-08-01",
    "2025-07-01",
    "2025-05-01",
    "2025-03-01",
    "2025-01-01",
    "2024-10-01",
    "2024-09-01",
    "2024-08-01",
    "2024-07-01",
    "2024-06-01",
    "2024-05-01",
    "2024-02-01",
    "2024-01-01",
    "2023-11-01",
    "2023-10-01",
    "2023-08-01",
    "2023-07-01",
    "2023-06-01",
    "2023-05-01",
    "2023-04-01",
    "2023-03-01",
    "2023-02-01",
    "2023-01-01",
    "2017-08-31",
];

/// Everything azemu knows of this provider: its one registration.
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    namespace: NAMESPACE,
    types: &[
        TypeInfo {
            name: "managedClusters",
            api_versions: VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "managedClusters/agentPools",
            api_versions: VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "managedClusters/maintenanceConfigurations",
            api_versions: VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "locations",
            api_versions: VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "locations/operations",
            api_versions: VERSIONS,
            global: false,
        },
        TypeInfo {
            name: "locations/kubernetesVersions",
            api_versions: VERSIONS,
            global: false,
        },
    ],
    routes: ROUTES,
    schemas: &[
        (
            "managedCluster",
            include_str!("../../../api-specs/Microsoft.ContainerService/managedCluster.json"),
        ),
        (
            "agentPool",
            include_str!("../../../api-specs/Microsoft.ContainerService/agentPool.json"),
        ),
        (
            "maintenanceConfiguration",
            include_str!("../../../api-specs/Microsoft.ContainerService/maintenanceConfiguration.json"),
        ),
    ],
    seed: Some(seed),
    on_removed: Some(on_removed),
    validate_move: Some(validate_move),
};

#[rustfmt::skip]
pub(crate) const ROUTES: &[Route] = &[
    Route { namespace: CS, pattern: &["managedclusters"], methods: &["GET"], action: KIND, handler: clusters::list },
    Route { namespace: CS, pattern: &["managedclusters", "*"], methods: &["GET", "PUT", "PATCH", "DELETE"], action: KIND, handler: clusters::handle },
    Route { namespace: CS, pattern: &["managedclusters", "*", "listclusterusercredential"], methods: &["POST"], action: KIND, handler: actions::user_credential },
    Route { namespace: CS, pattern: &["managedclusters", "*", "listclusteradmincredential"], methods: &["POST"], action: KIND, handler: actions::admin_credential },
    Route { namespace: CS, pattern: &["managedclusters", "*", "listclustermonitoringusercredential"], methods: &["POST"], action: KIND, handler: actions::monitoring_credential },
    Route { namespace: CS, pattern: &["managedclusters", "*", "resetserviceprincipalprofile"], methods: &["POST"], action: KIND, handler: actions::reset_service_principal },
    Route { namespace: CS, pattern: &["managedclusters", "*", "abort"], methods: &["POST"], action: KIND, handler: actions::abort },
    Route { namespace: CS, pattern: &["managedclusters", "*", "stop"], methods: &["POST"], action: KIND, handler: actions::power },
    Route { namespace: CS, pattern: &["managedclusters", "*", "start"], methods: &["POST"], action: KIND, handler: actions::power },
    Route { namespace: CS, pattern: &["managedclusters", "*", "upgradeprofiles", "default"], methods: &["GET"], action: "Microsoft.ContainerService/managedClusters/upgradeProfiles", handler: actions::upgrade_profile },
    Route { namespace: CS, pattern: &["managedclusters", "*", "maintenanceconfigurations"], methods: &["GET"], action: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations", handler: actions::list_maintenance },
    Route { namespace: CS, pattern: &["managedclusters", "*", "maintenanceconfigurations", "*"], methods: &["GET", "PUT", "DELETE"], action: "Microsoft.ContainerService/managedClusters/maintenanceConfigurations", handler: actions::maintenance },
    Route { namespace: CS, pattern: &["managedclusters", "*", "agentpools"], methods: &["GET"], action: POOL_ACTION, handler: pools::list },
    Route { namespace: CS, pattern: &["managedclusters", "*", "agentpools", "*"], methods: &["GET", "PUT", "DELETE"], action: POOL_ACTION, handler: pools::handle },
    Route { namespace: CS, pattern: &["managedclusters", "*", "agentpools", "*", "upgradenodeimageversion"], methods: &["POST"], action: POOL_ACTION, handler: pools::upgrade_node_image },
    Route { namespace: CS, pattern: &["managedclusters", "*", "agentpools", "*", "abort"], methods: &["POST"], action: POOL_ACTION, handler: pools::abort },
    Route { namespace: CS, pattern: &["managedclusters", "*", "agentpools", "*", "upgradeprofiles", "default"], methods: &["GET"], action: "Microsoft.ContainerService/managedClusters/agentPools/upgradeProfiles", handler: pools::upgrade_profile },
    Route { namespace: CS, pattern: &["locations", "*", "kubernetesversions"], methods: &["GET"], action: "Microsoft.ContainerService/locations/kubernetesVersions", handler: versions::list },
    Route { namespace: CS, pattern: &["locations", "*", "operationstatus", "*"], methods: &["GET"], action: "", handler: lro::status_route },
];

/// Sets `properties.provisioningState` of a cluster or pool.
pub(crate) fn set_provisioning_state(w: &Tx, id: &str, state: model::ProvisioningState) {
    w.store.update(id, |r| {
        r.body["properties"]["provisioningState"] = state.as_str().into()
    });
}

/// An operation on `id` ended: its provisioning state and an `OperationEnded` event.
pub(crate) fn mark_ended(w: &Tx, id: &str, activity: model::ProvisioningState, outcome: &Outcome, corr: &str) {
    set_provisioning_state(w, id, model::ProvisioningState::ended(outcome));
    w.events.record(
        w.now(),
        id,
        "OperationEnded",
        format!("{activity}: {}", outcome.status()),
        corr,
    );
}

/// The node image catalog.
pub(crate) fn seed(w: &Tx) {
    node_images::seed(w);
}

/// A cluster removed by a cascade takes its node resource group and principal along.
pub(crate) fn on_removed(w: &Tx, rec: &Record) {
    clusters::teardown(w, rec);
}

pub(crate) fn validate_move(w: &Tx, rec: &Record, cross_tenant: bool) -> ArmResult<()> {
    actions::validate_move(w, rec, cross_tenant)
}
