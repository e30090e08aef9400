"""ARM template deployments through the real az: validate, create, what-if, show, list,
operation list and delete at resource-group scope; a subscription-scope template that creates a
resource group and a nested deployment into it; the seed's setup as one template
(examples/templates/seed.json), and the same template without the operator role failing with
the AKS error inside DeploymentFailed."""

import json
from pathlib import Path

import pytest

from conftest import same_id, unique_name

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "templates" / "seed.json"
SEED_PARAMS = ROOT / "examples" / "templates" / "seed.parameters.json"

SMALL = """{
  // comments and trailing commas are fine: az sends the file's text as it is
  "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
  "contentVersion": "1.0.0.0",
  "parameters": {
    "prefix": { "type": "string", "defaultValue": "id", "maxLength": 10 },
    "count": { "type": "int", "defaultValue": 2, "minValue": 1, "maxValue": 5 },
  },
  "resources": [
    {
      "type": "Microsoft.ManagedIdentity/userAssignedIdentities",
      "apiVersion": "2023-01-31",
      "name": "[format('{0}-{1}', parameters('prefix'), copyIndex())]",
      "location": "[resourceGroup().location]",
      "copy": { "name": "ids", "count": "[parameters('count')]" },
      "tags": { "index": "[string(copyIndex())]" }
    }
  ],
  "outputs": {
    "first": { "type": "string", "value": "[reference(resourceId('Microsoft.ManagedIdentity/userAssignedIdentities', format('{0}-0', parameters('prefix'))), '2023-01-31').clientId]" },
    "hash": { "type": "string", "value": "[uniqueString('test')]" }
  }
}
"""

SUB_TEMPLATE = {
    "$schema": "https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#",
    "contentVersion": "1.0.0.0",
    "parameters": {"rgName": {"type": "string"}, "idName": {"type": "string", "defaultValue": "nested-id"}},
    "resources": [
        {"type": "Microsoft.Resources/resourceGroups", "apiVersion": "2022-09-01",
         "name": "[parameters('rgName')]", "location": "[deployment().location]"},
        {"type": "Microsoft.Resources/deployments", "apiVersion": "2022-09-01", "name": "inner",
         "resourceGroup": "[parameters('rgName')]",
         "dependsOn": ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName'))]"],
         "properties": {
             "mode": "Incremental",
             "expressionEvaluationOptions": {"scope": "inner"},
             "parameters": {"name": {"value": "[parameters('idName')]"}},
             "template": {
                 "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
                 "contentVersion": "1.0.0.0",
                 "parameters": {"name": {"type": "string"}},
                 "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities",
                                "apiVersion": "2023-01-31", "name": "[parameters('name')]",
                                "location": "[resourceGroup().location]"}],
                 "outputs": {"principal": {"type": "string", "value": "[reference(parameters('name')).principalId]"}},
             },
         }},
    ],
    "outputs": {"principal": {"type": "string",
                              "value": "[reference(extensionResourceId(subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('rgName')), 'Microsoft.Resources/deployments', 'inner')).outputs.principal.value]"}},
}


@pytest.fixture
def template_file(tmp_path):
    p = tmp_path / "small.json"
    p.write_text(SMALL)
    return str(p)


def test_group_deployment_validate_create_show_list_operations_delete(az, resource_group, template_file):
    v = az("deployment", "group", "validate", "-g", resource_group, "-f", template_file,
           "-p", "count=3")
    assert v["properties"]["provisioningState"] == "Succeeded"
    assert len(v["properties"]["validatedResources"]) == 3

    d = az("deployment", "group", "create", "-g", resource_group, "-n", "small", "-f", template_file,
           "-p", "count=3")
    assert d["properties"]["provisioningState"] == "Succeeded"
    assert d["properties"]["outputs"]["hash"]["value"] == "rbgf3xv4ufgzg"
    ids = az("identity", "list", "-g", resource_group)
    assert sorted(i["name"] for i in ids) == ["id-0", "id-1", "id-2"]
    first = next(i for i in ids if i["name"] == "id-0")
    assert d["properties"]["outputs"]["first"]["value"] == first["clientId"]
    assert next(i for i in ids if i["name"] == "id-2")["tags"] == {"index": "2"}

    shown = az("deployment", "group", "show", "-g", resource_group, "-n", "small")
    assert shown["properties"]["parameters"]["count"] == {"type": "Int", "value": 3}
    listed = az("deployment", "group", "list", "-g", resource_group)
    assert [x["name"] for x in listed] == ["small"]
    ops = az("deployment", "operation", "group", "list", "-g", resource_group, "-n", "small")
    assert len(ops) == 3
    assert all(o["properties"]["provisioningState"] == "Succeeded" for o in ops)
    exported = az("deployment", "group", "export", "-g", resource_group, "-n", "small")
    assert exported["parameters"]["count"]["maxValue"] == 5

    az("deployment", "group", "delete", "-g", resource_group, "-n", "small", "-o", "none")
    assert az("deployment", "group", "list", "-g", resource_group) == []
    assert len(az("identity", "list", "-g", resource_group)) == 3, "deleting a deployment keeps its resources"


def test_invalid_template_is_refused_with_its_position(az_fail, resource_group, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(SMALL.replace("[parameters('count')]", "[parameters('count'"))
    err = az_fail("deployment", "group", "create", "-g", resource_group, "-f", str(bad))
    assert "InvalidTemplate" in err, err
    err = az_fail("deployment", "group", "validate", "-g", resource_group, "-f", str(tmp_path / "bad.json"),
                  "-p", "prefix=waytoolongprefix")
    assert "InvalidTemplate" in err, err


def test_what_if_lists_creates_then_no_change_and_modify(az, resource_group, template_file):
    w = az("deployment", "group", "what-if", "-g", resource_group, "-f", template_file, "--no-pretty-print")
    assert sorted(c["changeType"] for c in w["changes"]) == ["Create", "Create"]
    assert az("identity", "list", "-g", resource_group) == [], "what-if changes nothing"
    az("deployment", "group", "create", "-g", resource_group, "-f", template_file, "-o", "none")
    w = az("deployment", "group", "what-if", "-g", resource_group, "-f", template_file, "--no-pretty-print")
    assert sorted(c["changeType"] for c in w["changes"]) == ["NoChange", "NoChange"]
    w = az("deployment", "group", "what-if", "-g", resource_group, "-f", template_file, "-p", "count=3",
           "--no-pretty-print")
    assert sorted(c["changeType"] for c in w["changes"]) == ["Create", "NoChange", "NoChange"]
    # The pretty-printed change list az renders from the answer.
    _, cp = az.run("deployment", "group", "what-if", "-g", resource_group, "-f", template_file, "-p", "count=3")
    assert cp.returncode == 0, cp.stderr
    assert "Resource changes: 1 to create, 2 no change." in cp.stdout, cp.stdout


def test_subscription_deployment_creates_a_group_and_a_nested_deployment(az, tmp_path):
    rg = unique_name("compat-subdep-")
    f = tmp_path / "sub.json"
    f.write_text(json.dumps(SUB_TEMPLATE))
    name = unique_name("sub-")
    d = az("deployment", "sub", "create", "-l", "westus2", "-n", name, "-f", str(f), "-p", f"rgName={rg}")
    assert d["properties"]["provisioningState"] == "Succeeded"
    ident = az("identity", "show", "-g", rg, "-n", "nested-id")
    assert d["properties"]["outputs"]["principal"]["value"] == ident["principalId"]
    inner = az("deployment", "group", "show", "-g", rg, "-n", "inner")
    assert inner["properties"]["provisioningState"] == "Succeeded"
    assert [x["name"] for x in az("deployment", "sub", "list", "--query", f"[?name=='{name}']")] == [name]
    az("group", "delete", "-n", rg, "-y", "-o", "none")


@pytest.mark.aks
def test_seed_template_deploys_the_cluster_with_its_kubelet_identity(az, resource_group):
    d = az("deployment", "group", "create", "-g", resource_group, "-n", "seed", "-f", str(SEED),
           "-p", f"@{SEED_PARAMS}")
    assert d["properties"]["provisioningState"] == "Succeeded"
    cluster = az("aks", "show", "-g", resource_group, "-n", "myAKSCluster")
    kubelet = az("identity", "show", "-g", resource_group, "-n", "myKubeletIdentity")
    assert same_id(cluster["identityProfile"]["kubeletidentity"]["resourceId"], kubelet["id"])
    assert cluster["identityProfile"]["kubeletidentity"]["clientId"] == kubelet["clientId"]
    assert d["properties"]["outputs"]["kubeletClientId"]["value"] == kubelet["clientId"]


@pytest.mark.aks
def test_seed_template_without_the_operator_role_fails_with_the_aks_error(az, az_fail, resource_group):
    err = az_fail("deployment", "group", "create", "-g", resource_group, "-n", "seed", "-f", str(SEED),
                  "-p", f"@{SEED_PARAMS}", "-p", "grantOperatorRole=false")
    assert "DeploymentFailed" in err, err
    assert "CustomKubeletIdentityMissingPermissionError" in err, err
    ops = az("deployment", "operation", "group", "list", "-g", resource_group, "-n", "seed")
    failed = [o for o in ops if o["properties"]["provisioningState"] == "Failed"]
    assert [o["properties"]["targetResource"]["resourceType"] for o in failed] == \
        ["Microsoft.ContainerService/managedClusters"]
    assert failed[0]["properties"]["statusMessage"]["error"]["code"] == "CustomKubeletIdentityMissingPermissionError"
    # What was created before the failure stays, as in Azure.
    assert {i["name"] for i in az("identity", "list", "-g", resource_group)} == {"myIdentity", "myKubeletIdentity"}
