"""Data sources read what exists: client config, subscription, a role definition, an identity
and a cluster, compared with what azemu answers over REST."""

from __future__ import annotations

from tfkit import same_id

ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def test_data_sources_read_what_azemu_serves(terraform, subscription, emulator):
    rg = subscription.rg_path("data")
    subscription.put(rg, {"location": "westus2"}, "2021-04-01")
    uai = subscription.put(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/reader",
                           {"location": "westus2"}, "2023-01-31")
    subscription.put(f"{rg}/providers/Microsoft.ContainerService/managedClusters/aks", {
        "location": "westus2",
        "identity": {"type": "SystemAssigned"},
        "properties": {
            "dnsPrefix": "data",
            "agentPoolProfiles": [{"name": "system", "count": 1, "vmSize": "Standard_DS2_v2", "mode": "System"}],
        },
    }, "2025-10-01")
    mc = subscription.get(f"{rg}/providers/Microsoft.ContainerService/managedClusters/aks", "2025-10-01")
    assert mc["properties"]["provisioningState"] == "Succeeded"

    tf = terraform(wiring="env")
    tf.write('''
data "azurerm_client_config" "current" {}
data "azurerm_subscription" "current" {}
data "azurerm_role_definition" "acr_pull" {
  name = "AcrPull"
}
data "azurerm_user_assigned_identity" "reader" {
  name                = "reader"
  resource_group_name = "data"
}
data "azurerm_kubernetes_cluster" "aks" {
  name                = "aks"
  resource_group_name = "data"
}

output "client" { value = data.azurerm_client_config.current }
output "subscription" { value = data.azurerm_subscription.current }
output "role" { value = data.azurerm_role_definition.acr_pull }
output "identity" { value = data.azurerm_user_assigned_identity.reader }
output "cluster" {
  value = {
    id               = data.azurerm_kubernetes_cluster.aks.id
    fqdn             = data.azurerm_kubernetes_cluster.aks.fqdn
    node_rg          = data.azurerm_kubernetes_cluster.aks.node_resource_group
    version          = data.azurerm_kubernetes_cluster.aks.kubernetes_version
    kubelet          = data.azurerm_kubernetes_cluster.aks.kubelet_identity
    pools            = data.azurerm_kubernetes_cluster.aks.agent_pool_profile
    host             = data.azurerm_kubernetes_cluster.aks.kube_config[0].host
  }
  sensitive = true
}
''')
    tf.apply()
    out = tf.outputs()

    client = out["client"]
    assert client["tenant_id"] == subscription.tenant
    assert client["subscription_id"] == subscription.id
    assert client["client_id"] == emulator.health["clientId"]
    assert client["object_id"] == subscription.owner_object_id    # the client's service principal

    s = out["subscription"]
    assert s["subscription_id"] == subscription.id and s["tenant_id"] == subscription.tenant
    assert s["display_name"] == "terraform suite" and s["state"] == "Enabled"

    role = out["role"]
    assert role["role_definition_id"] == ACR_PULL_ROLE and role["type"] == "BuiltInRole"
    assert "Microsoft.ContainerRegistry/registries/pull/read" in role["permissions"][0]["actions"]

    ident = out["identity"]
    assert same_id(ident["id"], uai["id"])
    assert ident["principal_id"] == uai["properties"]["principalId"]
    assert ident["client_id"] == uai["properties"]["clientId"]
    assert ident["tenant_id"] == uai["properties"]["tenantId"]

    c = out["cluster"]
    props = mc["properties"]
    assert same_id(c["id"], mc["id"])
    assert c["fqdn"] == props["fqdn"] and c["node_rg"] == props["nodeResourceGroup"]
    assert c["version"] == props["kubernetesVersion"]
    assert c["kubelet"][0]["object_id"] == props["identityProfile"]["kubeletidentity"]["objectId"]
    assert [(p["name"], p["count"], p["vm_size"]) for p in c["pools"]] == [("system", 1, "Standard_DS2_v2")]
    assert c["host"].startswith("https://")
