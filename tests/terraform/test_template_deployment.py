"""`azurerm_resource_group_template_deployment` with the seed template
(examples/templates/seed.json): Terraform deploys it through azemu's deployments API, reads its
outputs back, re-plans with no changes, and destroys it; the template's resources come and go."""

from __future__ import annotations

import json
from pathlib import Path

from tfkit import same_id

SEED = Path(__file__).resolve().parents[2] / "examples" / "templates" / "seed.json"


def test_seed_template_through_resource_group_template_deployment(terraform, subscription):
    tf = terraform(wiring="env")
    # The provider parses template_content as strict JSON (az sends comments; Terraform
    # does not accept them), so the file's comment lines are left out.
    strict = "\n".join(line for line in SEED.read_text().splitlines() if not line.strip().startswith("//"))
    json.loads(strict)
    template = tf.dir / "seed.json"
    template.write_text(strict)
    tf.write('''
resource "azurerm_resource_group" "seed" {
  name     = "tpl-rg"
  location = "westus2"
}

resource "azurerm_resource_group_template_deployment" "seed" {
  name                = "seed"
  resource_group_name = azurerm_resource_group.seed.name
  deployment_mode     = "Incremental"
  template_content    = file("%s")
  # Every parameter is given: ARM echoes defaulted parameters too, and the provider compares
  # what it reads back with what it sent.
  parameters_content  = jsonencode({
    clusterName              = { value = "tplAKS" }
    location                 = { value = "westus2" }
    controlPlaneIdentityName = { value = "myIdentity" }
    kubeletIdentityName      = { value = "myKubeletIdentity" }
    registryName             = { value = "tplacr0001" }
    grantOperatorRole        = { value = true }
    nodeCount                = { value = 1 }
  })
}

output "kubelet_client_id" {
  value = jsondecode(azurerm_resource_group_template_deployment.seed.output_content).kubeletClientId.value
}
''' % template)
    tf.apply()
    out = tf.outputs()
    rg = subscription.rg_path("tpl-rg")
    kubelet = subscription.get(f"{rg}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/myKubeletIdentity",
                               "2023-01-31")
    assert out["kubelet_client_id"] == kubelet["properties"]["clientId"]
    cluster = subscription.get(f"{rg}/providers/Microsoft.ContainerService/managedClusters/tplAKS", "2025-10-01")
    assert same_id(cluster["properties"]["identityProfile"]["kubeletidentity"]["resourceId"], kubelet["id"])
    deployment = subscription.get(f"{rg}/providers/Microsoft.Resources/deployments/seed", "2025-04-01")
    assert deployment["properties"]["provisioningState"] == "Succeeded"
    tf.assert_no_changes()
    tf.destroy()
    assert not any(g["name"] == "tpl-rg" for g in subscription.resource_groups())
