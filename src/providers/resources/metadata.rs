//! `GET /metadata/endpoints`: the cloud metadata document az and Terraform read to learn
//! where ARM, the token service and Graph are. Every endpoint points back at this server.

use crate::arm::{ArmError, Request, Response};
use crate::world::Tx;
use serde_json::{json, Value};

use crate::providers::common::arm::ACR_SUFFIX;

/// Every endpoint is the bare origin, without a trailing slash: clients join it with
/// `format!("{endpoint}/{path}")` (go-azure-sdk `sdk/client/client.go` `NewRequest`; azure-cli
/// `cloud/custom.py` `_populate_from_metadata_endpoint`), so a trailing slash gives `//path`,
/// and the delete poller of go-azure-sdk v0.20250131 (azurerm 4.18) then polls the parent
/// collection instead of the deleted resource (`poller_provisioning_state.go`
/// `resourceManagerResourcePathFromUri` strips one leading slash only). Token audiences keep
/// Azure's form with the slash: they only ever get `/.default` appended (azure-cli
/// `auth/util.py` `resource_to_scopes`).
fn document(base: &str) -> Value {
    json!({
        "name": "azemu",
        "portal": base,
        "resourceManager": base,
        "authentication": {
            "loginEndpoint": base,
            "audiences": [format!("{base}/"), format!("{base}/management")],
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "media": base,
        "graphAudience": base,
        "graph": base,
        "microsoftGraphResourceId": base,
        "batch": base,
        "gallery": base,
        "sqlManagement": base,
        "vmImageAliasDoc": format!("{base}/_azemu/vm-image-aliases"),
        "activeDirectoryDataLake": base,
        "appInsightsResourceId": base,
        "appInsightsTelemetryChannelResourceId": base,
        "attestationResourceId": base,
        "synapseAnalyticsResourceId": base,
        "logAnalyticsResourceId": base,
        "ossrDbmsResourceId": base,
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
