//! Container registries and virtual networks, as far as the AKS flows need them.

mod common;

use common::TestServer;
use serde_json::json;

fn registry(s: &TestServer, rg: &str, name: &str) -> String {
    format!(
        "{}/providers/Microsoft.ContainerRegistry/registries/{name}",
        s.rg_id(rg)
    )
}

/// Registry names are 5–50 alphanumerics (Azure naming rules for registries).
#[tokio::test]
async fn check_registry_name_refuses_invalid_names() {
    let s = TestServer::start().await;
    s.create_rg("acr-rg", "westus2").await;
    for bad in ["abc", "has-dash", "x".repeat(51).as_str()] {
        let r = s
            .put(
                &registry(&s, "acr-rg", bad),
                json!({ "location": "westus2", "sku": { "name": "Basic" } }),
            )
            .await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text);
    }
    let ok = s
        .put(
            &registry(&s, "acr-rg", "goodname1"),
            json!({ "location": "westus2", "sku": { "name": "Basic" } }),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.text);
    assert_eq!(ok.json["properties"]["loginServer"], "goodname1.azurecr.io");
}

/// Registry names are global: another group (or subscription) using the name → 400 `AlreadyInUse`;
/// checkNameAvailability says so too.
#[tokio::test]
async fn check_name_free_registry_names_are_global() {
    let s = TestServer::start().await;
    s.create_rg("acr-a", "westus2").await;
    s.create_rg("acr-b", "westus2").await;
    let body = json!({ "location": "westus2", "sku": { "name": "Basic" } });
    assert_eq!(
        s.put(&registry(&s, "acr-a", "sharedname"), body.clone()).await.status,
        201
    );
    let taken = s.put(&registry(&s, "acr-b", "SharedName"), body.clone()).await;
    assert_eq!(taken.status, 400, "{}", taken.text);
    assert_eq!(taken.code(), "AlreadyInUse");
    let check = s
        .post(
            &format!(
                "/subscriptions/{}/providers/Microsoft.ContainerRegistry/checkNameAvailability?api-version=2025-11-01",
                s.sub()
            ),
            json!({ "name": "sharedname", "type": "Microsoft.ContainerRegistry/registries" }),
        )
        .await;
    assert_eq!(check.json["nameAvailable"], false);
    assert_eq!(check.json["reason"], "AlreadyExists");
    // The same registry PUT again is an update, not a clash.
    assert_eq!(s.put(&registry(&s, "acr-a", "sharedname"), body).await.status, 200);
}

/// A subnet must lie inside its virtual network (Azure's `NetcfgSubnetRangeOutsideVnet`), and
/// subnets are real scopes that role assignments can use.
#[tokio::test]
async fn subnets_live_inside_their_virtual_network() {
    let s = TestServer::start().await;
    s.create_rg("net", "westus2").await;
    let vnet = format!("{}/providers/Microsoft.Network/virtualNetworks/vnet", s.rg_id("net"));
    let outside = s
        .put(
            &vnet,
            json!({ "location": "westus2", "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
            "subnets": [{ "name": "bad", "properties": { "addressPrefix": "192.168.0.0/24" } }] } }),
        )
        .await;
    assert_eq!(outside.status, 400);
    assert_eq!(outside.code(), "NetcfgSubnetRangeOutsideVnet");
    assert_eq!(s.get(&vnet).await.status, 404, "nothing was half-written");
    let made = s
        .put(
            &vnet,
            json!({ "location": "westus2", "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] },
            "subnets": [{ "name": "aks", "properties": { "addressPrefix": "10.0.1.0/24" } }] } }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let subnet = made.json["properties"]["subnets"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.get(&subnet).await.status, 200);
    let list = s.get(&format!("{vnet}/subnets")).await;
    assert_eq!(list.values().len(), 1);
    // A PUT of the network without the subnet removes it, as in Azure.
    let replaced = s
        .put(
            &vnet,
            json!({ "location": "westus2", "properties": { "addressSpace": { "addressPrefixes": ["10.0.0.0/16"] } } }),
        )
        .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(s.get(&subnet).await.status, 404);
}

/// IPv6 and dual-stack virtual networks: an IPv6 address space, subnets with
/// `addressPrefixes` (IPv4 and IPv6), each prefix inside the space of its own family.
/// Source: network API `Subnet.addressPrefixes` ("List of address prefixes for the subnet")
/// and "IPv6 for Azure Virtual Network" (dual-stack virtual networks and subnets).
#[tokio::test]
async fn ipv6_and_dual_stack_virtual_networks_are_accepted() {
    let s = TestServer::start().await;
    s.create_rg("net6", "westus2").await;
    let vnet = format!("{}/providers/Microsoft.Network/virtualNetworks/dual", s.rg_id("net6"));
    let space = json!({ "addressPrefixes": ["10.0.0.0/16", "fd00:db8:deca::/48"] });
    let outside = s
        .put(
            &vnet,
            json!({ "location": "westus2", "properties": { "addressSpace": space,
            "subnets": [{ "name": "bad", "properties": { "addressPrefixes": ["10.0.1.0/24", "fd00:db8:beef::/64"] } }] } }),
        )
        .await;
    assert_eq!(outside.status, 400, "{}", outside.text);
    assert_eq!(outside.code(), "NetcfgSubnetRangeOutsideVnet");
    let malformed = s
        .put(
            &vnet,
            json!({ "location": "westus2", "properties": { "addressSpace": { "addressPrefixes": ["fd00::/129"] } } }),
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.text);
    assert_eq!(malformed.code(), "InvalidAddressPrefixFormat");
    let made = s
        .put(
            &vnet,
            json!({ "location": "westus2", "properties": { "addressSpace": space,
            "subnets": [{ "name": "aks", "properties": { "addressPrefixes": ["10.0.1.0/24", "fd00:db8:deca:1::/64"] } }] } }),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text);
    let sub = &made.json["properties"]["subnets"][0];
    assert_eq!(
        sub["properties"]["addressPrefixes"],
        json!(["10.0.1.0/24", "fd00:db8:deca:1::/64"])
    );
    assert!(sub["properties"].get("addressPrefix").is_none(), "{sub}");
    // A separate subnet PUT with an IPv6-only prefix, inside and outside the space.
    let inside = s
        .put(
            &format!("{vnet}/subnets/v6"),
            json!({ "properties": { "addressPrefix": "fd00:db8:deca:2::/64" } }),
        )
        .await;
    assert_eq!(inside.status, 201, "{}", inside.text);
    assert_eq!(inside.json["properties"]["addressPrefix"], "fd00:db8:deca:2::/64");
    let elsewhere = s
        .put(
            &format!("{vnet}/subnets/v6b"),
            json!({ "properties": { "addressPrefix": "2001:db8::/64" } }),
        )
        .await;
    assert_eq!(elsewhere.code(), "NetcfgSubnetRangeOutsideVnet", "{}", elsewhere.text);
}

/// Terraform's azurerm reads `registries/{name}/replications` on every refresh; azemu serves no
/// geo-replication, so the list is empty, and a registry that does not exist is a 404.
#[tokio::test]
async fn registry_replications_list_is_empty() {
    let s = TestServer::start().await;
    s.create_rg("acr-rg", "westus2").await;
    let id = registry(&s, "acr-rg", "replicated1");
    let r = s
        .put(&id, json!({ "location": "westus2", "sku": { "name": "Premium" } }))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let list = s.get(&format!("{id}/replications")).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.json["value"], json!([]));
    let missing = s
        .get(&format!("{}/replications", registry(&s, "acr-rg", "nosuchacr")))
        .await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.code(), "ResourceNotFound");
}
