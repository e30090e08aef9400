"""What a Terraform user changes on a cluster: the kubelet identity, node pools, a registry
with AcrPull for the kubelet identity."""

from __future__ import annotations

import configs
from tfkit import changes, same_id

MC = "Microsoft.ContainerService/managedClusters"


def _cluster(version: str, identity: str, kubelet: str | None, pool_count: int = 1, tags: str = "") -> str:
    """A cluster in azurerm_resource_group.rg; `identity` is an identity block, `kubelet` the
    name of an azurerm_user_assigned_identity for kubelet_identity (or None)."""
    kubelet_block = ""
    depends = ""
    if kubelet:
        kubelet_block = f'''
  kubelet_identity {{
    client_id                 = azurerm_user_assigned_identity.{kubelet}.client_id
    object_id                 = azurerm_user_assigned_identity.{kubelet}.principal_id
    user_assigned_identity_id = azurerm_user_assigned_identity.{kubelet}.id
  }}'''
        depends = "\n  depends_on = [azurerm_role_assignment.operator]"
    return f'''
resource "azurerm_kubernetes_cluster" "aks" {{
  name                = "aks"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  dns_prefix          = "aks"
{identity}{kubelet_block}
  default_node_pool {{
    name       = "system"
    node_count = {pool_count}
    vm_size    = "Standard_DS2_v2"
    upgrade_settings {{
      max_surge = "10%"
    }}
  }}
{configs.cluster_extras(version)}{tags}{depends}
}}
'''


def _rg(name: str) -> str:
    return f'''
resource "azurerm_resource_group" "rg" {{
  name     = "{name}"
  location = "westus2"
}}
'''


SYSTEM_ASSIGNED = '  identity {\n    type = "SystemAssigned"\n  }\n'


def _identity(name: str) -> str:
    return f'''
resource "azurerm_user_assigned_identity" "{name}" {{
  name                = "{name}"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
}}
'''


def test_changing_kubelet_identity_replaces_the_cluster(terraform, subscription, emulator):
    """kubelet_identity's fields are ForceNew in the provider: a new identity means a new cluster,
    and the new cluster carries it."""
    tf = terraform()
    base = (_rg("kubelet-swap") + _identity("control_plane") + _identity("kubelet1") + _identity("kubelet2") + '''
resource "azurerm_role_assignment" "operator" {
  scope                = azurerm_resource_group.rg.id
  role_definition_name = "Managed Identity Operator"
  principal_id         = azurerm_user_assigned_identity.control_plane.principal_id
}
''')
    identity = ('  identity {\n    type         = "UserAssigned"\n'
                '    identity_ids = [azurerm_user_assigned_identity.control_plane.id]\n  }')
    tf.write(base + _cluster(tf.version, identity, "kubelet1"))
    tf.apply()
    path = f"{subscription.rg_path('kubelet-swap')}/providers/{MC}/aks"
    before = subscription.get(path, "2025-10-01")
    k1 = tf.state_show("azurerm_user_assigned_identity.kubelet1")
    assert same_id(before["properties"]["identityProfile"]["kubeletidentity"]["resourceId"], k1["id"])

    tf.write(base + _cluster(tf.version, identity, "kubelet2"))
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
    base = _rg("pools") + _cluster(tf.version, SYSTEM_ASSIGNED, None)
    tf.write(base)
    tf.apply()
    cluster = f"{subscription.rg_path('pools')}/providers/{MC}/aks"

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
    got = subscription.get(f"{cluster}/agentPools/user1", "2025-10-01")
    assert got["properties"]["count"] == 1 and got["properties"]["mode"] == "User"
    tf.assert_no_changes()

    tf.write(base + pool(3))
    code, plan = tf.plan()
    assert changes(plan) == {"azurerm_kubernetes_cluster_node_pool.user": ["update"]}, tf.last_plan_text
    tf.apply()
    assert subscription.get(f"{cluster}/agentPools/user1", "2025-10-01")["properties"]["count"] == 3
    mc = subscription.get(cluster, "2025-10-01")
    assert {p["name"]: p["count"] for p in mc["properties"]["agentPoolProfiles"]} == {"system": 1, "user1": 3}
    tf.assert_no_changes()

    tf.write(base)
    tf.apply()
    assert subscription.get(f"{cluster}/agentPools/user1", "2025-10-01") is None
    mc = subscription.get(cluster, "2025-10-01")
    assert [p["name"] for p in mc["properties"]["agentPoolProfiles"]] == ["system"]
    tf.assert_no_changes()


ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"


def test_registry_with_acr_pull_for_the_kubelet_identity(terraform, subscription, emulator):
    """azurerm_container_registry plus an AcrPull azurerm_role_assignment (by
    role_definition_name) for the cluster's kubelet identity: the nodes can pull."""
    tf = terraform()
    registry = "tfacr" + subscription.id.replace("-", "")[:12]
    tf.write(_rg("acr") + _cluster(tf.version, SYSTEM_ASSIGNED, None) + f'''
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


def test_pool_without_upgrade_settings_shows_max_surge_as_drift(terraform):
    """AKS answers `upgradeSettings.maxSurge: "10%"` for a pool created without upgrade settings
    (spec: "If not specified, the default is 10%"), and the provider then plans to remove it on
    every plan, as it does on Azure (hashicorp/terraform-provider-azurerm#24020). Saying
    `max_surge = "10%"` in the configuration makes the plan clean."""
    tf = terraform()
    with_surge = _cluster(tf.version, SYSTEM_ASSIGNED, None)
    without = with_surge.replace('    upgrade_settings {\n      max_surge = "10%"\n    }\n', "")
    assert without != with_surge
    tf.write(_rg("surge") + without)
    tf.apply()
    code, plan = tf.plan()
    assert code == 2
    assert changes(plan) == {"azurerm_kubernetes_cluster.aks": ["update"]}, tf.last_plan_text
    rc = next(r for r in plan["resource_changes"] if r["address"] == "azurerm_kubernetes_cluster.aks")
    assert rc["change"]["before"]["default_node_pool"][0]["upgrade_settings"] == [
        {"max_surge": "10%", "drain_timeout_in_minutes": 0, "node_soak_duration_in_minutes": 0,
         "undrainable_node_behavior": ""}], tf.last_plan_text
    assert rc["change"]["after"]["default_node_pool"][0]["upgrade_settings"] == []

    tf.write(_rg("surge") + with_surge)
    tf.assert_no_changes()
