//! Bad input never panics and never answers 5xx: every write route, fed bodies of the wrong
//! shape, answers an ARM error (4xx) and leaves the server answering.

mod common;

use common::TestServer;
use reqwest::Method;

const BODIES: &[&str] = &[
    "",
    "null",
    "[]",
    "\"text\"",
    "42",
    "{",
    "{\"location\": 5}",
    "{\"location\": \"westus2\", \"properties\": 5}",
    "{\"location\": \"westus2\", \"properties\": {\"agentPoolProfiles\": 7}}",
    "{\"location\": \"westus2\", \"properties\": {\"agentPoolProfiles\": [{\"name\": 5}]}}",
    "{\"location\": \"westus2\", \"identity\": {\"type\": \"UserAssigned\", \"userAssignedIdentities\": {\"x\": 1}}}",
    "{\"location\": \"westus2\", \"tags\": {\"a\": {\"b\": 1}}}",
    "{\"properties\": {\"roleDefinitionId\": 1, \"principalId\": []}}",
    "{\"resources\": 3, \"targetResourceGroup\": 4}",
    "{\"match\": 1, \"respond\": \"x\"}",
    "{\"family\": 7}",
    "{\"advance\": \"soon\"}",
];

#[tokio::test]
async fn wrong_bodies_get_arm_errors_never_5xx() {
    let s = TestServer::start().await;
    s.create_rg("robust", "westus2").await;
    let id = s.create_identity("robust", "robust-id").await;
    let rg = s.rg_id("robust");
    let mc = format!("{rg}/providers/Microsoft.ContainerService/managedClusters/robust");
    let paths = [
        (Method::PUT, rg.clone()),
        (Method::PATCH, rg.clone()),
        (Method::POST, format!("{rg}/moveResources")),
        (Method::PUT, s.identity_id("robust", "robust-id")),
        (Method::PATCH, s.identity_id("robust", "robust-id")),
        (
            Method::PUT,
            format!(
                "{rg}/providers/Microsoft.Authorization/roleAssignments/{}",
                common::guid()
            ),
        ),
        (
            Method::PUT,
            format!(
                "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
                rg,
                common::guid()
            ),
        ),
        (Method::PUT, mc.clone()),
        (Method::PATCH, mc.clone()),
        (Method::PUT, format!("{mc}/agentPools/pool1")),
        (Method::PUT, format!("{mc}/maintenanceConfigurations/default")),
        (Method::POST, format!("{mc}/resetServicePrincipalProfile")),
        (
            Method::PUT,
            format!("{rg}/providers/Microsoft.ContainerRegistry/registries/robustacr"),
        ),
        (
            Method::PUT,
            format!("{rg}/providers/Microsoft.Network/virtualNetworks/vnet"),
        ),
        (
            Method::PUT,
            format!("{rg}/providers/Microsoft.Network/virtualNetworks/vnet/subnets/s1"),
        ),
        (Method::POST, "/_azemu/faults".to_string()),
        (Method::POST, "/_azemu/node-images".to_string()),
        (Method::POST, "/_azemu/clock".to_string()),
        (Method::POST, "/_azemu/subscriptions".to_string()),
        (Method::PUT, "/_azemu/state".to_string()),
        (Method::POST, "/_azemu/lro".to_string()),
        (Method::POST, "/v1.0/directoryObjects/getByIds".to_string()),
        (Method::POST, format!("/{}/oauth2/v2.0/token", s.tenant())),
    ];
    for (method, path) in &paths {
        for body in BODIES {
            let rb = s
                .request(method.clone(), path)
                .await
                .header("content-type", "application/json")
                .body(body.to_string());
            let r = s.send(rb).await;
            assert!(
                r.status < 500,
                "{method} {path} with body {body:?} answered {}: {}",
                r.status,
                r.text
            );
            if r.status >= 400 && !path.contains("/oauth2/") && !path.starts_with("/v1.0") {
                assert!(
                    !r.code().is_empty(),
                    "{method} {path} {body:?}: an error needs error.code: {}",
                    r.text
                );
            }
        }
    }
    // Nothing was half-written: the identity is intact and the server still answers.
    let again = s.get(&s.identity_id("robust", "robust-id")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json["properties"]["clientId"], id["properties"]["clientId"]);
    assert_eq!(s.get("/_azemu/health").await.status, 200);
    assert_eq!(s.get(&rg).await.status, 200);
}

#[tokio::test]
async fn odd_paths_and_queries_never_5xx() {
    let s = TestServer::start().await;
    let sub = s.sub();
    let paths = [
        format!("/subscriptions/{sub}/resourcegroups?$top=0"),
        format!("/subscriptions/{sub}/resourcegroups?$top=abc"),
        format!("/subscriptions/{sub}/resourcegroups?$skipToken=%%%"),
        format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20"),
        format!("/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions?$filter=nonsense"),
        format!("/subscriptions/{sub}/resources?$filter=resourceType%20eq%20'"),
        "/v1.0/servicePrincipals?$filter=appId%20eq%20".to_string(),
        "/v1.0/servicePrincipals(appId='')".to_string(),
        "/_azemu/authorize?action=x".to_string(),
        "/_azemu/requests?status=abc".to_string(),
        "/_azemu/clusters/x/y/z/pull-check".to_string(),
        "/metadata/identity/oauth2/token?resource=x".to_string(),
        format!("/subscriptions/{sub}/resourceGroups/%E2%82%AC/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x"),
    ];
    for p in &paths {
        let r = s.get(p).await;
        assert!(r.status < 500, "GET {p} answered {}: {}", r.status, r.text);
    }
}
