//! Template deployments over HTTPS: modes, `onErrorDeployment`, a second PUT while one runs,
//! cancel, circular dependencies, what-if of a Complete deployment, and a deployment of 200
//! resources. (The az and Python SDK flows are in tests/compat/test_deployments.py and
//! test_sdk.py; the template language has its own unit tests under
//! `src/providers/resources/deployments/template/`.)

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const API: &str = "api-version=2025-04-01";

fn deployment(s: &TestServer, rg: &str, name: &str) -> String {
    format!("{}/providers/Microsoft.Resources/deployments/{name}?{API}", s.rg_id(rg))
}

fn identities_template(names: &[&str]) -> Value {
    json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": { "names": { "type": "array", "defaultValue": names } },
        "resources": [{
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
            "apiVersion": "2023-01-31",
            "name": "[parameters('names')[copyIndex()]]",
            "location": "[resourceGroup().location]",
            "copy": { "name": "ids", "count": "[length(parameters('names'))]" }
        }]
    })
}

fn body(template: Value, mode: &str) -> Value {
    json!({ "properties": { "mode": mode, "template": template } })
}

/// PUTs a deployment and follows its operation to the end; the final operation status.
async fn deploy(s: &TestServer, rg: &str, name: &str, b: Value) -> Value {
    let r = s.put(&deployment(s, rg, name), b).await;
    assert!(matches!(r.status, 200 | 201), "{}", r.text);
    assert_eq!(r.json["properties"]["provisioningState"], "Accepted");
    settle(s, &r).await
}

async fn identity_names(s: &TestServer, rg: &str) -> Vec<String> {
    let r = s
        .get(&format!(
            "{}/providers/Microsoft.ManagedIdentity/userAssignedIdentities",
            s.rg_id(rg)
        ))
        .await;
    let mut names: Vec<String> = r
        .values()
        .iter()
        .map(|v| v["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn complete_mode_deletes_what_the_template_does_not_name() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    s.create_identity("rg", "outsider").await;
    let op = deploy(
        &s,
        "rg",
        "inc",
        body(identities_template(&["aaa", "bbb"]), "Incremental"),
    )
    .await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(identity_names(&s, "rg").await, ["aaa", "bbb", "outsider"]);

    let what_if = s
        .post(
            &deployment(&s, "rg", "comp").replace('?', "/whatIf?"),
            body(identities_template(&["aaa"]), "Complete"),
        )
        .await;
    assert_eq!(what_if.status, 200, "{}", what_if.text);
    let mut kinds: Vec<String> = what_if.json["properties"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["changeType"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["Delete", "Delete", "NoChange"]);
    assert_eq!(
        identity_names(&s, "rg").await,
        ["aaa", "bbb", "outsider"],
        "what-if changes nothing"
    );

    let op = deploy(&s, "rg", "comp", body(identities_template(&["aaa"]), "Complete")).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    assert_eq!(identity_names(&s, "rg").await, ["aaa"]);
    // Deployments themselves are kept.
    let list = s
        .get(&format!(
            "{}/providers/Microsoft.Resources/deployments?{API}",
            s.rg_id("rg")
        ))
        .await;
    assert_eq!(list.values().len(), 2);
}

#[tokio::test]
async fn a_failed_deployment_redeploys_the_last_successful_one() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let op = deploy(&s, "rg", "good", body(identities_template(&["kept"]), "Incremental")).await;
    assert_eq!(op["status"], "Succeeded");
    // A name the identity rules refuse makes this deployment fail.
    let mut failing = body(identities_template(&["-bad-"]), "Incremental");
    failing["properties"]["onErrorDeployment"] = json!({ "type": "LastSuccessful" });
    let op = deploy(&s, "rg", "bad", failing).await;
    assert_eq!(op["status"], "Failed", "{op}");
    assert_eq!(op["error"]["code"], "DeploymentFailed");
    assert_eq!(op["error"]["details"][0]["code"], "InvalidResourceName");
    let bad = s.get(&deployment(&s, "rg", "bad")).await;
    assert_eq!(bad.json["properties"]["provisioningState"], "Failed");
    assert_eq!(
        bad.json["properties"]["onErrorDeployment"],
        json!({ "type": "LastSuccessful", "deploymentName": "good", "provisioningState": "Succeeded" })
    );
    let ops = s.get(&deployment(&s, "rg", "bad").replace('?', "/operations?")).await;
    assert_eq!(ops.values()[0]["properties"]["statusCode"], "BadRequest");
}

#[tokio::test]
async fn a_running_deployment_refuses_a_second_put_and_can_be_canceled() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let path = deployment(&s, "rg", "slow");
    let rb = s
        .request(Method::PUT, &path)
        .await
        .header("x-azemu-lro", "manual")
        .json(&body(identities_template(&["later"]), "Incremental"));
    let r = s.send(rb).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let again = s.put(&path, body(identities_template(&["later"]), "Incremental")).await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert_eq!(again.code(), "DeploymentActive");
    let answered_again = |h: Value| h["writes"]["answeredAgain"].as_u64().unwrap();
    let before = answered_again(s.get("/_azemu/health").await.json);
    let c = s.post(&path.replace('?', "/cancel?"), json!({})).await;
    assert_eq!(c.status, 204, "{}", c.text);
    assert_eq!(
        answered_again(s.get("/_azemu/health").await.json),
        before + 1,
        "a cancel ends operations, which only a whole-world transaction does: the group's \
         transaction commits nothing and the cancel is answered again, once"
    );
    let g = s.get(&path).await;
    assert_eq!(g.json["properties"]["provisioningState"], "Canceled");
    assert_eq!(
        identity_names(&s, "rg").await,
        Vec::<String>::new(),
        "a canceled deployment created nothing"
    );
    let c = s.post(&path.replace('?', "/cancel?"), json!({})).await;
    assert_eq!(c.status, 409, "{}", c.text);
}

#[tokio::test]
async fn a_circular_dependency_is_an_invalid_template_and_leaves_no_trace() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let id = |n: &str, dep: &str| {
        json!({
            "type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
            "name": n, "location": LOC,
            "dependsOn": [format!("[resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', '{dep}')]")]
        })
    };
    let t = json!({
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": [id("one", "two"), id("two", "one")]
    });
    let r = s.put(&deployment(&s, "rg", "loop"), body(t, "Incremental")).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidTemplate");
    assert!(r.message().contains("Circular dependency"), "{}", r.message());
    assert_eq!(s.get(&deployment(&s, "rg", "loop")).await.code(), "DeploymentNotFound");
}

#[tokio::test]
async fn two_hundred_resources_deploy_in_one_operation() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let names: Vec<String> = (0..200).map(|i| format!("id-{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let op = deploy(&s, "rg", "many", body(identities_template(&refs), "Incremental")).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let d = s.get(&deployment(&s, "rg", "many")).await;
    assert_eq!(d.json["properties"]["outputResources"].as_array().unwrap().len(), 200);
    let ops = s.get(&deployment(&s, "rg", "many").replace('?', "/operations?")).await;
    assert_eq!(ops.values().len(), 100, "a first page of the 200 operations");
    assert!(ops.json["nextLink"].is_string());
}

#[tokio::test]
async fn a_template_for_another_scope_and_a_bad_deployment_name_are_refused() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let mut sub_template = identities_template(&["x"]);
    sub_template["$schema"] =
        json!("https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#");
    let r = s
        .put(&deployment(&s, "rg", "scoped"), body(sub_template, "Incremental"))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidTemplate");
    assert!(r.message().contains("subscription deployment"), "{}", r.message());
    let r = s
        .put(
            &deployment(&s, "rg", "bad%20name!"),
            body(identities_template(&["x"]), "Incremental"),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "InvalidDeploymentName");
    assert_eq!(identity_names(&s, "rg").await, Vec::<String>::new());
}

/// `reference()` reads a resource the deployment created, and an output built from it is what
/// a GET of that resource shows (the seed template reads its identities' principal ids so).
#[tokio::test]
async fn reference_reads_what_the_deployment_created() {
    let s = TestServer::start().await;
    s.create_rg("rg", LOC).await;
    let mut template = identities_template(&["kubelet"]);
    template["outputs"] = json!({
        "principalId": {
            "type": "string",
            "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'kubelet')).principalId]"
        },
        "full": {
            "type": "object",
            "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', 'kubelet'), '2023-01-31', 'Full')]"
        }
    });
    let op = deploy(&s, "rg", "refs", body(template, "Incremental")).await;
    assert_eq!(op["status"], "Succeeded", "{op}");
    let identity = s.get(&s.identity_id("rg", "kubelet")).await.json;
    let outputs = s.get(&deployment(&s, "rg", "refs")).await.json["properties"]["outputs"].clone();
    assert_eq!(
        outputs["principalId"]["value"], identity["properties"]["principalId"],
        "{outputs}"
    );
    assert_eq!(
        outputs["full"]["value"]["properties"], identity["properties"],
        "{outputs}"
    );
}
