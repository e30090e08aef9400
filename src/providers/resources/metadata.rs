//! `GET /metadata/endpoints`: the cloud metadata document az and Terraform read to learn
//! where ARM, the token service and Graph are. Every endpoint points back at this server.

use crate::arm::{ArmError, Request, Response};
use crate::world::Tx;
use serde_json::{json, Value};

use crate::providers::common::arm::ACR_SUFFIX;

fn document(base: &str) -> Value {
    let slash = format!("{base}/");
    json!({
        "name": "azemu",
        "portal": base,
        "resourceManager": slash,
        "authentication": {
            "loginEndpoint": base,
            "audiences": [slash, format!("{base}/management")],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": slash,
        "graphAudience": slash,
        "graph": slash,
        "microsoftGraphResourceId": slash,
        "batch": slash,
        "gallery": slash,
        "sqlManagement": slash,
        "vmImageAliasDoc": format!("{base}/_azemu/vm-image-aliases"),
        "activeDirectoryDataLake": slash,
        "appInsightsResourceId": slash,
        "appInsightsTelemetryChannelResourceId": slash,
        "attestationResourceId": slash,
        "synapseAnalyticsResourceId": slash,
        "logAnalyticsResourceId": slash,
        "ossrDbmsResourceId": slash,
        "suffixes": {
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "acrLoginServer": ACR_SUFFIX,
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "keyVaultDns": "vault.azure.net",
            "storage": "core.windows.net",
            "azureFrontDoorEndpointSuffix": "azurefd.net",
            "storageSyncEndpointSuffix": "afs.azure.net",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net",
        },
    })
}

/// One object for current api-versions; the older list form for `2019-05-01`.
pub(crate) fn endpoints(w: &Tx, req: &Request) -> Response {
    let Some(version) = req.api_version() else {
        return ArmError::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
        .into();
    };
    let doc = document(w.base_url());
    if version == "2019-05-01" {
        Response::ok(json!([doc]))
    } else {
        Response::ok(doc)
    }
}
