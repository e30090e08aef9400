"""The "pre-created kubelet managed identity" AKS walkthrough (shared/seed), driven by the
real az with the placeholders filled in, plus the refusals that can be triggered through az.

The tests in this module share one resource group and one cluster and run in file order:
create → show queries → identity update → attach-acr.
"""

import json
import time
import uuid

import pytest

from conftest import same_id, unique_name

pytestmark = pytest.mark.aks

ACRPULL_GUID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
MIO_GUID = "f1a07417-d97a-45cb-824c-7a7467783830"  # Managed Identity Operator
NETWORK_CONTRIBUTOR_GUID = "4d97b98b-1d4f-4787-a291-c67834d212e7"

AKS_API = "2026-06-01"  # the api-version az 2.91.0 uses for managedClusters (azure-cli.md §3)


def _identity_matches(entry: dict, identity: dict) -> None:
    assert entry["clientId"] == identity["clientId"]
    assert entry["principalId"] == identity["principalId"]


def _assignments(az, scope: str) -> list:
    return az("role", "assignment", "list", "--scope", scope)


def _has_assignment(assignments: list, principal_id: str, role_guid: str) -> bool:
    return any(a["principalId"] == principal_id and a["roleDefinitionId"].lower().endswith(role_guid)
               for a in assignments)


@pytest.fixture(scope="module")
def seed(az, subscription_id):
    """Everything the walkthrough needs before `az aks create`, created with az exactly as
    the seed document (and the brief's placeholders) says:
      az group create --name <rg> --location westus2
      az identity create --name <identity> --resource-group <rg>            (control plane)
      az identity create --name <kubelet-identity> --resource-group <rg>    (kubelet)
      az acr create -n <acr> -g <rg> --sku Basic
      az network vnet create -g <rg> -n vnet --address-prefixes 10.0.0.0/8
          --subnet-name aks --subnet-prefixes 10.240.0.0/16
      az role assignment create --assignee <kubelet-client-id> --role "acrpull" --scope "<acr-registry-id>"
    """
    rg = unique_name("compat-aks-")
    s = {"rg": rg, "cluster": "myManagedCluster"}
    az("group", "create", "--name", rg, "--location", "westus2", "-o", "none")

    s["cp"] = az("identity", "create", "--name", "myIdentity", "--resource-group", rg)
    s["kubelet"] = az("identity", "create", "--name", "myKubeletIdentity", "--resource-group", rg)

    acr_name = unique_name("compatacr")
    s["acr"] = az("acr", "create", "-n", acr_name, "-g", rg, "--sku", "Basic")
    assert s["acr"]["name"] == acr_name
    assert s["acr"]["provisioningState"] == "Succeeded"
    assert same_id(s["acr"]["id"], f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
                                   f"/providers/Microsoft.ContainerRegistry/registries/{acr_name}")

    vnet = az("network", "vnet", "create", "-g", rg, "-n", "vnet", "--address-prefixes", "10.0.0.0/8",
              "--subnet-name", "aks", "--subnet-prefixes", "10.240.0.0/16")["newVNet"]
    assert vnet["addressSpace"]["addressPrefixes"] == ["10.0.0.0/8"]
    subnet = next(sn for sn in vnet["subnets"] if sn["name"] == "aks")
    assert subnet["addressPrefix"] == "10.240.0.0/16"
    s["subnet_id"] = subnet["id"]
    assert same_id(s["subnet_id"], f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
                                   f"/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks")

    ra = az("role", "assignment", "create", "--assignee", s["kubelet"]["clientId"],
            "--role", "acrpull", "--scope", s["acr"]["id"])
    assert ra["principalId"] == s["kubelet"]["principalId"]
    assert ra["roleDefinitionId"].endswith(ACRPULL_GUID)
    yield s
    az.run("group", "delete", "-n", rg, "-y", "--no-wait", "-o", "none")


@pytest.fixture(scope="module")
def cluster(az, seed):
    """`az aks create` with exactly the seed document's flags."""
    mc = az("aks", "create",
            "--resource-group", seed["rg"],
            "--name", seed["cluster"],
            "--network-plugin", "azure",
            "--vnet-subnet-id", seed["subnet_id"],
            "--dns-service-ip", "10.2.0.10",
            "--service-cidr", "10.2.0.0/24",
            "--assign-identity", seed["cp"]["id"],
            "--assign-kubelet-identity", seed["kubelet"]["id"],
            "--generate-ssh-keys")
    return mc


def _show(az, seed, *extra):
    return az("aks", "show", "--resource-group", seed["rg"], "--name", seed["cluster"], *extra)


def test_aks_create_with_kubelet_identity(az, seed, cluster):
    """The create result carries the user-assigned control-plane identity and the kubelet
    identity with clientId/objectId filled (seed: "A successful AKS cluster creation using a
    kubelet managed identity should result in output similar to ..."; azure-cli.md §3 "az
    aks create" steps 6-7); network settings as requested; az granted Network Contributor on
    the subnet and Managed Identity Operator on the kubelet identity to the control-plane
    identity before the PUT (azure-cli.md §3 steps 3 and 5)."""
    mc = cluster
    assert mc["name"] == seed["cluster"]
    assert mc["provisioningState"] == "Succeeded"
    assert mc["identity"]["type"] == "UserAssigned"
    (uai_id, uai), = mc["identity"]["userAssignedIdentities"].items()
    assert same_id(uai_id, seed["cp"]["id"])
    _identity_matches(uai, seed["cp"])

    kubelet = mc["identityProfile"]["kubeletidentity"]
    assert same_id(kubelet["resourceId"], seed["kubelet"]["id"])
    assert kubelet["clientId"] == seed["kubelet"]["clientId"]
    assert kubelet["objectId"] == seed["kubelet"]["principalId"]

    net = mc["networkProfile"]
    assert net["networkPlugin"] == "azure"
    assert net["serviceCidr"] == "10.2.0.0/24"
    assert net["dnsServiceIp"] == "10.2.0.10"
    pool = mc["agentPoolProfiles"][0]
    assert same_id(pool["vnetSubnetId"], seed["subnet_id"])
    assert pool["count"] == 3
    assert pool["vmSize"], "server must fill the default VM size (az sends an empty string)"
    assert mc["kubernetesVersion"], "server must fill the default Kubernetes version"
    assert mc["linuxProfile"]["adminUsername"] == "azureuser"

    cp_principal = seed["cp"]["principalId"]
    assert _has_assignment(_assignments(az, seed["subnet_id"]), cp_principal, NETWORK_CONTRIBUTOR_GUID)
    assert _has_assignment(_assignments(az, seed["kubelet"]["id"]), cp_principal, MIO_GUID)


def test_aks_show_service_principal_profile(az, seed, cluster):
    """`az aks show --query "servicePrincipalProfile"` on an MSI cluster shows clientId "msi"
    (seed, "Update an existing cluster" step 1; aks-rules.md b1). az prints the SDK model,
    which also lists the write-only `secret` as null."""
    spp = _show(az, seed, "--query", "servicePrincipalProfile")
    assert {k: v for k, v in spp.items() if v is not None} == {"clientId": "msi"}


def test_aks_show_identity(az, seed, cluster):
    """`az aks show --query "identity"`: type UserAssigned, keyed by the control-plane identity
    id, with its clientId/principalId (seed, step 2)."""
    ident = _show(az, seed, "--query", "identity")
    assert ident["type"] == "UserAssigned"
    (uai_id, uai), = ident["userAssignedIdentities"].items()
    assert same_id(uai_id, seed["cp"]["id"])
    _identity_matches(uai, seed["cp"])


def test_aks_show_kubelet_identity(az, seed, cluster):
    """`az aks show --query "identityProfile.kubeletidentity"` (seed, "Get the properties of
    the kubelet managed identity")."""
    kubelet = _show(az, seed, "--query", "identityProfile.kubeletidentity")
    assert same_id(kubelet["resourceId"], seed["kubelet"]["id"])
    assert kubelet["clientId"] == seed["kubelet"]["clientId"]
    assert kubelet["objectId"] == seed["kubelet"]["principalId"]


def test_aks_show_identity_type_tsv(az, seed, cluster):
    """`az aks show --query identity.type --output tsv` prints UserAssigned (seed, "Verify the
    Terraform deployment")."""
    assert _show(az, seed, "--query", "identity.type", "--output", "tsv") == "UserAssigned"


def test_aks_create_refuses_existing_cluster(az_fail, seed, cluster):
    """`az aks create` on an existing name is refused by az after its GET finds the cluster
    (azure-cli.md §3 "az aks create" step 1)."""
    err = az_fail("aks", "create", "--resource-group", seed["rg"], "--name", seed["cluster"],
                  "--generate-ssh-keys")
    assert "already exists" in err


@pytest.fixture(scope="module")
def updated(az, seed, cluster):
    """Seed "Update an existing cluster to use a kubelet managed identity" step 3, with a new
    kubelet identity; `--yes` answers az's node-pool-upgrade prompt (azure-cli.md §0 #5)."""
    seed["kubelet2"] = az("identity", "create", "--name", "myKubeletIdentity2", "--resource-group", seed["rg"])
    mc = az("aks", "update",
            "--resource-group", seed["rg"],
            "--name", seed["cluster"],
            "--enable-managed-identity",
            "--assign-identity", seed["cp"]["id"],
            "--assign-kubelet-identity", seed["kubelet2"]["id"],
            "--yes")
    return mc


def test_aks_update_kubelet_identity(az, seed, updated):
    """After `az aks update --assign-kubelet-identity <new>` the cluster reports the new
    kubelet identity; az sends only its resourceId, so the server fills clientId/objectId
    (azure-cli.md §3 "az aks update ... --assign-kubelet-identity"; seed update output;
    aks-rules.md e1/e3)."""
    assert updated["provisioningState"] == "Succeeded"
    assert updated["identity"]["type"] == "UserAssigned"
    (uai_id, uai), = updated["identity"]["userAssignedIdentities"].items()
    assert same_id(uai_id, seed["cp"]["id"])
    _identity_matches(uai, seed["cp"])

    for kubelet in (updated["identityProfile"]["kubeletidentity"],
                    _show(az, seed, "--query", "identityProfile.kubeletidentity")):
        assert same_id(kubelet["resourceId"], seed["kubelet2"]["id"])
        assert kubelet["clientId"] == seed["kubelet2"]["clientId"]
        assert kubelet["objectId"] == seed["kubelet2"]["principalId"]

    # az granted the control plane Managed Identity Operator on the new kubelet identity.
    assert _has_assignment(_assignments(az, seed["kubelet2"]["id"]), seed["cp"]["principalId"], MIO_GUID)


def test_aks_update_attach_acr(az, seed, updated):
    """`az aks update --attach-acr <acr-resource-id>` after the kubelet change gives the new
    kubelet identity AcrPull on the registry (seed "Update cluster considerations";
    azure-cli.md §3 "az aks update --attach-acr": assignee = identityProfile.kubeletidentity.objectId,
    a duplicate PUT answered 409 RoleAssignmentExists is treated as success)."""
    mc = az("aks", "update", "--resource-group", seed["rg"], "--name", seed["cluster"],
            "--attach-acr", seed["acr"]["id"])
    assert mc["provisioningState"] == "Succeeded"
    assert same_id(mc["identityProfile"]["kubeletidentity"]["resourceId"], seed["kubelet2"]["id"])
    at_acr = _assignments(az, seed["acr"]["id"])
    assert _has_assignment(at_acr, seed["kubelet2"]["principalId"], ACRPULL_GUID), at_acr
    # The original kubelet identity keeps the AcrPull assignment made in the seed steps.
    assert _has_assignment(at_acr, seed["kubelet"]["principalId"], ACRPULL_GUID), at_acr


# ------------------------------------------------------------------------------------------
# Refusals


def test_kubelet_identity_requires_assign_identity(az, az_fail, seed):
    """`az aks create --assign-kubelet-identity` without `--assign-identity` is refused by az
    client-side (aks-rules.md c1; az source acs/managed_cluster_decorator.py,
    RequiredArgumentMissingError)."""
    name = "nocp" + uuid.uuid4().hex[:6]
    err = az_fail("aks", "create", "--resource-group", seed["rg"], "--name", name,
                  "--assign-kubelet-identity", seed["kubelet"]["id"], "--generate-ssh-keys")
    assert "--assign-kubelet-identity can only be specified when --assign-identity is specified" in err
    assert name not in [c["name"] for c in az("aks", "list", "--resource-group", seed["rg"])]


def _mc_body(location: str, identity: dict, kubelet_id: str) -> str:
    return json.dumps({
        "location": location,
        "identity": identity,
        "properties": {
            "dnsPrefix": "compat",
            "agentPoolProfiles": [{"name": "nodepool1", "count": 1, "vmSize": "Standard_DS2_v2",
                                   "mode": "System", "osType": "Linux",
                                   "type": "VirtualMachineScaleSets"}],
            "identityProfile": {"kubeletidentity": {"resourceId": kubelet_id}},
        },
    })


def _mc_url(subscription_id: str, rg: str, name: str) -> str:
    return (f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/"
            f"Microsoft.ContainerService/managedClusters/{name}?api-version={AKS_API}")


def test_kubelet_identity_requires_user_assigned_control_plane(az, az_fail, seed, subscription_id):
    """Server side of aks-rules.md c1: a BYO kubelet identity on a cluster whose control-plane
    identity is SystemAssigned is refused with 400
    CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster (code from the AKS RP error
    list; the message is unconfirmed, so only the code is checked). az refuses this
    combination client-side, so the request goes through `az rest`."""
    name = "sysmi" + uuid.uuid4().hex[:6]
    err = az_fail("rest", "--method", "put", "--url", _mc_url(subscription_id, seed["rg"], name),
                  "--body", _mc_body("westus2", {"type": "SystemAssigned"}, seed["kubelet"]["id"]))
    assert "CustomKubeletIdentityOnlySupportedOnUserAssignedMSICluster" in err
    assert name not in [c["name"] for c in az("aks", "list", "--resource-group", seed["rg"])]


def test_kubelet_identity_requires_managed_identity_operator(az, az_fail, seed, subscription_id):
    """aks-rules.md c2: the control-plane identity must hold Managed Identity Operator on the
    kubelet identity, else create fails with 400 CustomKubeletIdentityMissingPermissionError.
    `az aks create/update` always grant that role themselves before the PUT (azure-cli.md §3
    "az aks create" step 5, `ensure_cluster_identity_permission_on_kubelet_identity`), so no
    `az aks` invocation reaches the server without it; the PUT is sent with `az rest`
    using fresh identities that have no role assignments."""
    cp = az("identity", "create", "--name", unique_name("nomio-cp-"), "--resource-group", seed["rg"])
    kubelet = az("identity", "create", "--name", unique_name("nomio-kubelet-"), "--resource-group", seed["rg"])
    name = "nomio" + uuid.uuid4().hex[:6]
    body = _mc_body("westus2", {"type": "UserAssigned", "userAssignedIdentities": {cp["id"]: {}}},
                    kubelet["id"])
    err = az_fail("rest", "--method", "put", "--url", _mc_url(subscription_id, seed["rg"], name),
                  "--body", body)
    assert "CustomKubeletIdentityMissingPermissionError" in err
    assert "Managed Identity Operator" in err
    assert name not in [c["name"] for c in az("aks", "list", "--resource-group", seed["rg"])]

    # Granting the role makes the same request succeed (aks-rules.md c2: scope = the kubelet
    # identity resource id).
    az("role", "assignment", "create", "--assignee-object-id", cp["principalId"],
       "--assignee-principal-type", "ServicePrincipal", "--role", "Managed Identity Operator",
       "--scope", kubelet["id"], "-o", "none")
    az("rest", "--method", "put", "--url", _mc_url(subscription_id, seed["rg"], name), "--body", body,
       "-o", "none")
    # `az rest` does not follow the LRO; wait for a terminal state (aks-rules.md g1).
    deadline = time.monotonic() + 120
    while True:
        mc = az("aks", "show", "--resource-group", seed["rg"], "--name", name)
        if mc["provisioningState"] in ("Succeeded", "Failed", "Canceled") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert mc["provisioningState"] == "Succeeded"
    kid = mc["identityProfile"]["kubeletidentity"]
    assert same_id(kid["resourceId"], kubelet["id"])
    assert kid["objectId"] == kubelet["principalId"]
    az("aks", "delete", "--resource-group", seed["rg"], "--name", name, "--yes", "-o", "none")


def test_reset_service_principal_refused_on_msi_cluster(az_fail, seed, cluster):
    """`az aks update-credentials --reset-service-principal` on an MSI cluster is refused with
    400 BadRequest "Updating service principal profile is not allowed on MSI cluster."
    (aks-rules.md a1/a2)."""
    err = az_fail("aks", "update-credentials", "--resource-group", seed["rg"], "--name", seed["cluster"],
                  "--reset-service-principal", "--service-principal", str(uuid.uuid4()),
                  "--client-secret", "anysecret")
    assert "Updating service principal profile is not allowed on MSI cluster" in err
