"""What a Terraform user changes on a cluster: the kubelet identity, node pools, a registry
with AcrPull for the kubelet identity."""

from __future__ import annotations

from configs import SYSTEM_ASSIGNED, cluster, identity, resource_group
from tfkit import changes, same_id

MC = "Microsoft.ContainerService/managedClusters"


def test_changing_kubelet_identity_replaces_thecluster(terraform, subscription, emulator):
    """kubelet_identity's fields are ForceNew in the provider: a new identity means a new cluster,
    and the new cluster carries it."""
    tf = terraform()
    base = (resource_group("kubelet-swap") + identity("control_plane") + identity("kubelet1") + identity("kubelet2") + '''
resource "azurerm_role_assignment" "operator" {
  scope                = azurerm_resource_group.rg.id
  role_definition_name = "Managed Identity Operator"
  principal_id         = azurerm_user_assigned_identity.control_plane.principal_id
}
''')
    user_assigned = ('  identity {\n    type         = "UserAssigned"\n'
                     '    identity_ids = [azurerm_user_assigned_identity.control_plane.id]\n  }')
    tf.write(base + cluster(tf.version, user_assigned, "kubelet1"))
    tf.apply()
    path = f"{subscription.rg_path('kubelet-swap')}/providers/{MC}/aks"
    before = subscription.get(path, "2025-10-01")
    k1 = tf.state_show("azurerm_user_assigned_identity.kubelet1")
    assert same_id(before["properties"]["identityProfile"]["kubeletidentity"]["resourceId"], k1["id"])

    tf.write(base + cluster(tf.version, user_assigned, "kubelet2"))
    code, plan = tf.plan()
    assert code == 2
    assert changes(plan) == {"azurerm_kubernetes_cluster.aks": ["delete", "create"]}, tf.last_plan_text
    mark = emulator.journal_mark()
    tf.apply()
    calls = [(e["method"], e["path"].lower()) for e in emulator.journal_since(mark)]
    assert ("DELETE", path.lower()) in calls and ("PUT", path.lower()) in calls, calls
    after = subscription.get(path, "2025-10-01")
    k2 = tf.state_show("azurerm_user_assigned_identity.kubelet2")
    kubelet = after["properties"]["identityProfile"]["kubeletidentity"]
    assert same_id(kubelet["resourceId"], k2["id"])
    assert kubelet["clientId"] == k2["client_id"] and kubelet["objectId"] == k2["principal_id"]
    assert tf.state_show("azurerm_kubernetes_cluster.aks")["kubelet_identity"][0]["client_id"] == k2["client_id"]
    tf.assert_no_changes()


def test_node_pool_added_scaled_and_removed(terraform, subscription):
    """azurerm_kubernetes_cluster_node_pool: added to a running cluster, scaled, removed; each
    step re-plans with no changes."""
    tf = terraform(wiring="env")
    base = resource_group("pools") + cluster(tf.version, SYSTEM_ASSIGNED, None)
    tf.write(base)
    tf.apply()
    cluster_path = f"{subscription.rg_path('pools')}/providers/{MC}/aks"

    def pool(count: int) -> str:
        return f'''
resource "azurerm_kubernetes_cluster_node_pool" "user" {{
  name                  = "user1"
  kubernetes_cluster_id = azurerm_kubernetes_cluster.aks.id
  vm_size               = "Standard_DS2_v2"
  node_count            = {count}
  upgrade_settings {{
    max_surge = "10%"
  }}
}}
'''

    tf.write(base + pool(1))
    tf.apply()
    got = subscription.get(f"{cluster_path}/agentPools/user1", "2025-10-01")
    assert got["properties"]["count"] == 1 and got["properties"]["mode"] == "User"
    tf.assert_no_changes()

    tf.write(base + pool(3))
    code, plan = tf.plan()
    assert changes(plan) == {"azurerm_kubernetes_cluster_node_pool.user": ["update"]}, tf.last_plan_text
    tf.apply()
    assert subscription.get(f"{cluster_path}/agentPools/user1", "2025-10-01")["properties"]["count"] == 3
    mc = subscription.get(cluster_path, "2025-10-01")
    assert {p["name"]: p["count"] for p in mc["properties"]["agentPoolProfiles"]} == {"system": 1, "user1": 3}
    tf.assert_no_changes()

    tf.write(base)
    tf.apply()
    assert subscription.get(f"{cluster_path}/agentPools/user1", "2025-10-01") is None
    mc = subscription.get(cluster_path, "2025-10-01")
    assert [p["name"] for p in mc["properties"]["agentPoolProfiles"]] == ["system"]
    tf.assert_no_changes()


ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def test_registry_with_acr_pull_for_the_kubeletidentity(terraform, subscription, emulator):
    """azurerm_container_registry plus an AcrPull azurerm_role_assignment (by
    role_definition_name) for the cluster's kubelet identity: the nodes can pull."""
    tf = terraform()
    registry = "tfacr" + subscription.id.replace("-", "")[:12]
    tf.write(resource_group("acr") + cluster(tf.version, SYSTEM_ASSIGNED, None) + f'''
resource "azurerm_container_registry" "acr" {{
  name                = "{registry}"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
  sku                 = "Basic"
}}

resource "azurerm_role_assignment" "acr_pull" {{
  scope                = azurerm_container_registry.acr.id
  role_definition_name = "AcrPull"
  principal_id         = azurerm_kubernetes_cluster.aks.kubelet_identity[0].object_id
}}
''')
    tf.apply()
    acr = subscription.get(f"{subscription.rg_path('acr')}/providers/Microsoft.ContainerRegistry/registries/{registry}",
                           "2023-07-01")
    assert acr["properties"]["loginServer"] == f"{registry}.azurecr.io"
    assert acr["sku"]["name"] == "Basic"
    mc = subscription.get(f"{subscription.rg_path('acr')}/providers/{MC}/aks", "2025-10-01")
    kubelet = mc["properties"]["identityProfile"]["kubeletidentity"]
    ra = subscription.get(tf.state_show("azurerm_role_assignment.acr_pull")["id"], "2022-04-01")
    assert ra["properties"]["principalId"] == kubelet["objectId"]
    assert same_id(ra["properties"]["scope"], acr["id"])
    assert ra["properties"]["roleDefinitionId"].lower().endswith(ACR_PULL_ROLE)
    status, check = emulator.call(
        "GET", f"/_azemu/clusters/{subscription.id}/acr/aks/pull-check?image={registry}.azurecr.io/app:v1")
    assert status == 200 and check["allowed"] is True, check
    tf.assert_no_changes()

