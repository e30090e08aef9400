//! AKS data integrity over real HTTPS: a cluster never takes over a resource group it did not
//! create, and the operations the spec gives `If-Match` refuse a stale eTag, so racing writers
//! lose no update.

mod aks_support;
mod common;

use aks_support::*;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

// ---- the node resource group is AKS's own -------------------------------------------------

// Source: AKS errors 400 `NodeResourceGroupAlreadyExists` (hashicorp/terraform-provider-azurerm
// #7562, Azure/azure-cli-extensions #2072) and `NodeResourceGroupSameAsResourceGroup`
// (Azure/azure-cli #27215). Rule: rules::node_resource_group_must_not_exist.
#[tokio::test]
async fn node_resource_group_must_not_exist() {
    let s = TestServer::start().await;
    s.create_rg("rg-aks", LOC).await;
    let mine = s
        .put(
            &with_api(&s.rg_id("rg-mine"), RG_API),
            json!({ "location": LOC, "tags": { "owner": "team-a" } }),
        )
        .await;
    assert_eq!(mine.status, 201, "{}", mine.text);
    let keep = s.create_identity("rg-mine", "keep-me").await;

    let mut body = system_assigned(LOC);
    body["properties"]["nodeResourceGroup"] = json!("rg-mine");
    let r = put_cluster(&s, "rg-aks", "taker", body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NodeResourceGroupAlreadyExists");
    assert!(r.message().contains("'rg-mine'"), "{}", r.text);
    assert_eq!(get_cluster(&s, "rg-aks", "taker").await.status, 404);

    // The group is untouched: its tags, no managedBy, its contents.
    let g = s.get(&with_api(&s.rg_id("rg-mine"), RG_API)).await;
    assert_eq!(g.status, 200, "{}", g.text);
    assert_eq!(g.json["tags"], json!({ "owner": "team-a" }), "{}", g.text);
    assert!(g.json.get("managedBy").is_none_or(Value::is_null), "{}", g.text);
    assert_eq!(s.get(&id_of(&keep)).await.status, 200);

    // The default name counts too (a leftover MC_ group).
    s.create_rg(&format!("MC_rg-aks_again_{LOC}"), LOC).await;
    let r = put_cluster(&s, "rg-aks", "again", system_assigned(LOC)).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NodeResourceGroupAlreadyExists");

    // The cluster's own group.
    let mut body = system_assigned(LOC);
    body["properties"]["nodeResourceGroup"] = json!("RG-AKS");
    let r = put_cluster(&s, "rg-aks", "own", body).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.code(), "NodeResourceGroupSameAsResourceGroup");

    // A new name is still fine, and the cluster's delete removes only that group.
    let mut body = system_assigned(LOC);
    body["properties"]["nodeResourceGroup"] = json!("rg-nodes-new");
    let c = create_cluster(&s, "rg-aks", "fine", body).await;
    let d = s.delete(&api(&id_of(&c))).await;
    assert_eq!(d.status, 202, "{}", d.text);
    follow_location(&s, &d).await;
    assert_eq!(s.get(&with_api(&s.rg_id("rg-nodes-new"), RG_API)).await.status, 404);
    assert_eq!(s.get(&id_of(&keep)).await.status, 200);
}
