//! `$filter` on every list that takes one, read by one OData parser: what each list supports,
//! and the error each answers for a filter it does not take (as the real service does).

mod common;

use common::{Reply, TestServer, DEFAULT_CLIENT_ID, READER};
use serde_json::json;

fn names(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r
        .values()
        .iter()
        .filter_map(|x| x["name"].as_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

// Resource groups filter by tag only; ARM answers `name eq 'foo'` with 400
// InvalidFilterInQueryString (Azure/azure-sdk-for-go#2480).
#[tokio::test]
async fn resource_groups_filter_by_tag_and_refuse_anything_else() {
    let s = TestServer::start().await;
    s.put(
        &s.rg_id("tagged"),
        json!({ "location": "westus2", "tags": { "Env": "prod" } }),
    )
    .await;
    s.put(
        &s.rg_id("other"),
        json!({ "location": "westus2", "tags": { "env": "dev" } }),
    )
    .await;
    s.create_rg("bare", "westus2").await;
    let list = format!("/subscriptions/{}/resourcegroups", s.sub());
    let by_name = s.get(&format!("{list}?$filter=tagname eq 'env'")).await;
    assert_eq!(names(&by_name), ["other", "tagged"], "{}", by_name.text);
    let by_value = s
        .get(&format!("{list}?$filter=tagname eq 'env' and tagvalue eq 'prod'"))
        .await;
    assert_eq!(names(&by_value), ["tagged"]);
    let prefix = s.get(&format!("{list}?$filter=startswith(tagname, 'E')")).await;
    assert_eq!(names(&prefix), ["other", "tagged"]);
    for bad in [
        "name eq 'foo'",
        "tagvalue eq 'prod'",
        "tagname eq 'env' or tagname eq 'x'",
        "tagname eq 'env",
    ] {
        let r = s.get(&format!("{list}?$filter={bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.code(), "InvalidFilterInQueryString");
        assert!(r.message().contains(bad), "{}", r.text);
    }
}

// `az resource list` sends resourceGroup, name, location, resourceType and tag terms joined by
// `and` (azure-cli resource/custom.py _list_resources_odata_filter_builder).
#[tokio::test]
async fn resources_filter_by_every_term_az_sends() {
    let s = TestServer::start().await;
    s.create_rg("rf", "westus2").await;
    s.put(
        &format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/one",
            s.rg_id("rf")
        ),
        json!({ "location": "westus2", "tags": { "team": "a" } }),
    )
    .await;
    s.create_identity("rf", "two").await;
    let list = format!("/subscriptions/{}/resources", s.sub());
    for (filter, want) in [
        ("resourceGroup eq 'RF'", vec!["one", "two"]),
        ("resourceGroup eq 'rf' and name eq 'one'", vec!["one"]),
        (
            "resourceType eq 'Microsoft.ManagedIdentity/userAssignedIdentities' and location eq 'westus2' and name eq 'two'",
            vec!["two"],
        ),
        ("tagname eq 'team' and tagvalue eq 'a'", vec!["one"]),
        ("tagname eq 'team' and tagvalue eq 'b'", vec![]),
        ("name eq 'it''s'", vec![]),
    ] {
        let r = s.get(&format!("{list}?$filter={filter}")).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.text);
        assert_eq!(names(&r), want, "{filter}");
    }
    for bad in ["identity eq 'x'", "resourceType eq '", "name eq 'a' or name eq 'b'"] {
        let r = s.get(&format!("{list}?$filter={bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.code(), "InvalidFilterInQueryString");
    }
}

// Role assignments: atScope(), assignedTo('…'), principalId eq '…' (RoleAssignmentFilter).
#[tokio::test]
async fn role_assignment_filters_parse_as_odata() {
    let s = TestServer::start().await;
    s.create_rg("ra", "westus2").await;
    let id = s.create_identity("ra", "ra-id").await;
    let principal = id["properties"]["principalId"].as_str().unwrap().to_string();
    let r = s
        .assign(
            &s.rg_id("ra"),
            &common::guid(),
            READER,
            &principal,
            Some("ServicePrincipal"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let list = format!("{}/providers/Microsoft.Authorization/roleAssignments", s.rg_id("ra"));
    for filter in [
        format!("atScope() and assignedTo('{principal}')"),
        format!("assignedTo('{principal}')"),
        format!("principalId eq '{principal}'"),
        format!("(principalId eq '{}')", principal.to_uppercase()),
    ] {
        let r = s.get(&format!("{list}?$filter={filter}")).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.text);
        assert_eq!(r.values().len(), 1, "{filter}: {}", r.text);
    }
    for bad in [
        "principalId eq ".to_string(),
        format!("assignedTo('{principal}') or atScope()"),
        format!("atScope() and principalId eq '{principal}'"),
        "roleDefinitionId eq 'x'".to_string(),
    ] {
        let r = s.get(&format!("{list}?$filter={bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.code(), "UnsupportedQuery");
    }
}

#[tokio::test]
async fn role_definition_filters_combine_name_and_type() {
    let s = TestServer::start().await;
    let list = format!(
        "/subscriptions/{}/providers/Microsoft.Authorization/roleDefinitions",
        s.sub()
    );
    let both = s
        .get(&format!(
            "{list}?$filter=roleName eq 'acrpull' and type eq 'BuiltInRole'"
        ))
        .await;
    assert_eq!(both.values().len(), 1, "{}", both.text);
    let none = s
        .get(&format!(
            "{list}?$filter=roleName eq 'acrpull' and type eq 'CustomRole'"
        ))
        .await;
    assert!(none.values().is_empty(), "{}", none.text);
    let bad = s
        .get(&format!("{list}?$filter=roleName eq 'a' or roleName eq 'b'"))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.code(), "UnsupportedQuery");
}

#[tokio::test]
async fn graph_service_principal_filters() {
    let s = TestServer::start().await;
    let sp = s
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=appId eq '{DEFAULT_CLIENT_ID}'"
        ))
        .await;
    let display = sp.values()[0]["displayName"].as_str().unwrap().to_string();
    for filter in [
        format!("appId eq '{DEFAULT_CLIENT_ID}' and displayName eq '{display}'"),
        format!("servicePrincipalNames/any(c: c eq '{DEFAULT_CLIENT_ID}')"),
        format!("startswith(displayName,'{}')", &display[..3].to_uppercase()),
    ] {
        let r = s.get(&format!("/v1.0/servicePrincipals?$filter={filter}")).await;
        assert_eq!(r.status, 200, "{filter}: {}", r.text);
        assert!(
            r.values().iter().any(|v| v["appId"] == DEFAULT_CLIENT_ID),
            "{filter}: {}",
            r.text
        );
    }
    let none = s
        .get(&format!(
            "/v1.0/servicePrincipals?$filter=appId eq '{DEFAULT_CLIENT_ID}' and displayName eq 'nobody'"
        ))
        .await;
    assert!(none.values().is_empty(), "{}", none.text);
    for bad in ["appId eq ", "appId eq 'a' or appId eq 'b'", "accountEnabled eq true"] {
        let r = s.get(&format!("/v1.0/servicePrincipals?$filter={bad}")).await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
        assert_eq!(r.code(), "Request_UnsupportedQuery");
    }
}
