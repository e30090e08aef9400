"""The Terraform configurations the flows apply (HCL text, without the terraform and provider
blocks, which `Terraform.write` adds)."""

from __future__ import annotations


def cluster_extras(version: str) -> str:
    """What a cluster needs beyond the seed in this provider version: azurerm 5.x requires a
    `node_provisioning_profile` block (kubernetes_cluster_resource.go, `Required: true`)."""
    if version.startswith("4."):
        return ""
    return '  node_provisioning_profile {\n    mode = "Manual"\n  }\n'


# The seed's main.tf ("Use a pre-created kubelet managed identity in AKS", Terraform section),
# as written: one identity for both the control plane and the kubelet.
SEED_RESOURCE_GROUP = '''
resource "azurerm_resource_group" "example" {
 name     = "aks-rg"
 location = "East US"
}
resource "azurerm_user_assigned_identity" "kubelet" {
 name                = "aks-kubelet-identity"
 resource_group_name = azurerm_resource_group.example.name
 location            = azurerm_resource_group.example.location
}
'''

SEED_CLUSTER = '''
resource "azurerm_kubernetes_cluster" "kubelet_identity" {
 name                = "aks-kubelet"
 location            = azurerm_resource_group.example.location
 resource_group_name = azurerm_resource_group.example.name
 dns_prefix          = "akskubelet"
 identity {
   type         = "UserAssigned"
   identity_ids = [azurerm_user_assigned_identity.kubelet.id]
 }
 kubelet_identity {
   client_id                 = azurerm_user_assigned_identity.kubelet.client_id
   object_id                 = azurerm_user_assigned_identity.kubelet.principal_id
   user_assigned_identity_id = azurerm_user_assigned_identity.kubelet.id
 }
 default_node_pool {
   name       = "system"
   node_count = 1
   vm_size    = "Standard_DS2_v2"
%(pool_extras)s }
%(extras)s%(depends)s}
'''

SEED_ACR_PULL = '''
resource "azurerm_role_assignment" "kubelet_acr_pull" {
 scope                = azurerm_resource_group.example.id
 role_definition_name = "AcrPull"
 principal_id         = azurerm_user_assigned_identity.kubelet.principal_id
}
'''

# What AKS requires of a cluster whose control plane and kubelet share one identity: Managed
# Identity Operator for that identity on itself (aks-rules.md c3).
OPERATOR_GRANT = '''
resource "azurerm_role_assignment" "kubelet_operator" {
 scope                = azurerm_user_assigned_identity.kubelet.id
 role_definition_name = "Managed Identity Operator"
 principal_id         = azurerm_user_assigned_identity.kubelet.principal_id
}
'''

# AKS answers `upgradeSettings.maxSurge: "10%"` for a pool created without upgrade settings,
# which the provider shows as drift unless the configuration says so too
# (hashicorp/terraform-provider-azurerm#24020).
MAX_SURGE = '   upgrade_settings {\n     max_surge = "10%"\n   }\n'


def seed(version: str, operator_grant: bool, max_surge: bool = True) -> str:
    """The seed's main.tf; with `operator_grant`, plus the role assignment AKS requires."""
    cluster = SEED_CLUSTER % {
        "pool_extras": MAX_SURGE if max_surge else "",
        "extras": cluster_extras(version),
        "depends": " depends_on = [azurerm_role_assignment.kubelet_operator]\n" if operator_grant else "",
    }
    return SEED_RESOURCE_GROUP + cluster + SEED_ACR_PULL + (OPERATOR_GRANT if operator_grant else "")


# Small building blocks for the day-two flows.

def cluster(version: str, identity_block: str, kubelet: str | None, pool_count: int = 1) -> str:
    """A cluster in azurerm_resource_group.rg; `identity_block` is an identity block, `kubelet` the
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
{identity_block}{kubelet_block}
  default_node_pool {{
    name       = "system"
    node_count = {pool_count}
    vm_size    = "Standard_DS2_v2"
    upgrade_settings {{
      max_surge = "10%"
    }}
  }}
{cluster_extras(version)}{depends}
}}
'''


def resource_group(name: str) -> str:
    return f'''
resource "azurerm_resource_group" "rg" {{
  name     = "{name}"
  location = "westus2"
}}
'''


SYSTEM_ASSIGNED = '  identity {\n    type = "SystemAssigned"\n  }\n'


def identity(name: str) -> str:
    return f'''
resource "azurerm_user_assigned_identity" "{name}" {{
  name                = "{name}"
  resource_group_name = azurerm_resource_group.rg.name
  location            = azurerm_resource_group.rg.location
}}
'''
