"""Terraform next to the Azure CLI: importing what az created, and seeing what az changed."""

from __future__ import annotations

import json

import configs
from tfkit import changes, drift, same_id

MC = "Microsoft.ContainerService/managedClusters"


def test_import_of_a_cluster_created_with_az_then_plan_has_no_changes(terraform, az, subscription):
    """`terraform import` of a resource group and a cluster made by `az aks create`; the
    configuration that describes them then plans with no changes."""
    az("group", "create", "-n", "imported", "-l", "westus2", "-o", "none")
    mc = az("aks", "create", "-g", "imported", "-n", "imported", "--node-count", "1",
            "--node-vm-size", "Standard_DS2_v2", "--no-ssh-key")
    pool = mc["agentPoolProfiles"][0]
    tf = terraform(wiring="env")
    tf.write(f'''
resource "azurerm_resource_group" "rg" {{
  name     = "imported"
  location = "westus2"
}}

resource "azurerm_kubernetes_cluster" "aks" {{
  name                = "imported"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  dns_prefix          = "{mc["dnsPrefix"]}"
  oidc_issuer_enabled = false    # az left it off (AKS enables it by default from 1.34 on)
  identity {{
    type = "SystemAssigned"
  }}
  default_node_pool {{
    name       = "{pool["name"]}"
    node_count = 1
    vm_size    = "Standard_DS2_v2"
    upgrade_settings {{
      max_surge = "10%"
    }}
  }}
{configs.cluster_extras(tf.version)}}}
''')
    tf.run("import", "-no-color", "azurerm_resource_group.rg", subscription.rg_path("imported"))
    tf.run("import", "-no-color", "azurerm_kubernetes_cluster.aks", mc["id"])
    assert set(tf.state_list()) == {"azurerm_resource_group.rg", "azurerm_kubernetes_cluster.aks"}
    state = tf.state_show("azurerm_kubernetes_cluster.aks")
    assert same_id(state["id"], mc["id"])
    assert state["kubelet_identity"][0]["object_id"] == mc["identityProfile"]["kubeletidentity"]["objectId"]
    tf.assert_no_changes()


def test_out_of_band_changes_show_as_drift(terraform, az, subscription):
    """`az aks update --tags` and `az identity delete` behind Terraform's back: the next plan
    reports both as changes made outside of Terraform and plans to undo them."""
    tf = terraform()
    tf.write(f'''
resource "azurerm_resource_group" "rg" {{
  name     = "drift"
  location = "westus2"
}}

resource "azurerm_user_assigned_identity" "app" {{
  name                = "app"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
}}

resource "azurerm_kubernetes_cluster" "aks" {{
  name                = "aks"
  location            = azurerm_resource_group.rg.location
  resource_group_name = azurerm_resource_group.rg.name
  dns_prefix          = "drift"
  identity {{
    type = "SystemAssigned"
  }}
  default_node_pool {{
    name       = "system"
    node_count = 1
    vm_size    = "Standard_DS2_v2"
    upgrade_settings {{
      max_surge = "10%"
    }}
  }}
{configs.cluster_extras(tf.version)}  tags = {{
    env = "test"
  }}
}}
''')
    tf.apply()
    tf.assert_no_changes()

    az("aks", "update", "-g", "drift", "-n", "aks", "--tags", "env=prod", "team=blue", "-o", "none")
    az("identity", "delete", "-g", "drift", "-n", "app")

    code, plan = tf.plan()
    assert code == 2, tf.last_plan_text
    assert drift(plan) == {
        "azurerm_kubernetes_cluster.aks": ["update"],
        "azurerm_user_assigned_identity.app": ["delete"],
    }, json.dumps(plan["resource_drift"])[:4000]
    assert changes(plan) == {
        "azurerm_kubernetes_cluster.aks": ["update"],
        "azurerm_user_assigned_identity.app": ["create"],
    }, tf.last_plan_text
    seen = next(d for d in plan["resource_drift"] if d["address"] == "azurerm_kubernetes_cluster.aks")
    assert seen["change"]["after"]["tags"] == {"env": "prod", "team": "blue"}

    tf.apply()
    mc = subscription.get(f"{subscription.rg_path('drift')}/providers/{MC}/aks", "2025-10-01")
    assert mc["tags"] == {"env": "test"}
    assert subscription.get(f"{subscription.rg_path('drift')}/providers/Microsoft.ManagedIdentity/"
                            "userAssignedIdentities/app", "2023-01-31") is not None
    tf.assert_no_changes()
