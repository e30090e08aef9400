"""Day-two AKS commands a developer runs after the walkthrough, through the real az:
credentials, node pools, scaling, upgrades, stop/start, listing and deleting.
"""

import json
import ssl
import urllib.request

import pytest

from conftest import unique_name

pytestmark = pytest.mark.aks


def test_aks_day_two_commands(az, tmp_path, emulator):
    """Each command's observable result, as az shows it (azure-cli 2.91)."""
    rg = unique_name("compat-day2-")
    az("group", "create", "-n", rg, "-l", "eastus", "-o", "none")
    az("aks", "create", "-g", rg, "-n", "day2", "--node-count", "2", "--generate-ssh-keys", "-o", "none")

    # Credentials: a kubeconfig pointing at the cluster's FQDN; the admin one carries a client certificate.
    user_cfg, admin_cfg = tmp_path / "user", tmp_path / "admin"
    az("aks", "get-credentials", "-g", rg, "-n", "day2", "--file", str(user_cfg), "-o", "none")
    fqdn = az("aks", "show", "-g", rg, "-n", "day2", "--query", "fqdn", "-o", "tsv")
    assert f"server: https://{fqdn}:443" in user_cfg.read_text()
    az("aks", "get-credentials", "-g", rg, "-n", "day2", "--admin", "--file", str(admin_cfg), "-o", "none")
    assert "client-certificate-data" in admin_cfg.read_text()

    # Node pools.
    az("aks", "nodepool", "add", "-g", rg, "--cluster-name", "day2", "-n", "user1", "--node-count", "1", "-o", "none")
    assert az("aks", "nodepool", "scale", "-g", rg, "--cluster-name", "day2", "-n", "user1",
              "--node-count", "3")["count"] == 3
    pools = {p["name"]: (p["count"], p["mode"]) for p in az("aks", "nodepool", "list", "-g", rg, "--cluster-name", "day2")}
    assert pools == {"nodepool1": (2, "System"), "user1": (3, "User")}
    scaled = az("aks", "scale", "-g", rg, "-n", "day2", "--node-count", "4", "--nodepool-name", "nodepool1")
    assert [p["count"] for p in scaled["agentPoolProfiles"] if p["name"] == "nodepool1"] == [4]

    # Versions and an upgrade.
    assert "1.34" in az("aks", "get-versions", "-l", "eastus", "--query", "values[].version", "-o", "tsv")
    target = az("aks", "get-upgrades", "-g", rg, "-n", "day2",
                "--query", "controlPlaneProfile.upgrades[-1].kubernetesVersion", "-o", "tsv")
    upgraded = az("aks", "upgrade", "-g", rg, "-n", "day2", "--kubernetes-version", target, "--yes")
    assert upgraded["currentKubernetesVersion"] == target
    assert {p["currentOrchestratorVersion"] for p in upgraded["agentPoolProfiles"]} == {target}

    # A new node image, consumed cluster-wide with --node-image-only (aks-rules.md h3).
    ctx = ssl.create_default_context(cafile=emulator.ca)
    req = urllib.request.Request(emulator.url + "/_azemu/node-images", method="POST",
                                 data=json.dumps({"family": "AKSUbuntu-2204gen2containerd"}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        newest = json.loads(resp.read())["version"]
    az("aks", "upgrade", "-g", rg, "-n", "day2", "--node-image-only", "--yes", "-o", "none")
    images = az("aks", "nodepool", "list", "-g", rg, "--cluster-name", "day2", "--query", "[].nodeImageVersion")
    assert images == [newest, newest]

    az("aks", "nodepool", "delete", "-g", rg, "--cluster-name", "day2", "-n", "user1")
    assert [p["name"] for p in az("aks", "nodepool", "list", "-g", rg, "--cluster-name", "day2")] == ["nodepool1"]

    # Power state.
    az("aks", "stop", "-g", rg, "-n", "day2")
    assert az("aks", "show", "-g", rg, "-n", "day2", "--query", "powerState.code", "-o", "tsv") == "Stopped"
    az("aks", "start", "-g", rg, "-n", "day2")
    assert az("aks", "show", "-g", rg, "-n", "day2", "--query", "powerState.code", "-o", "tsv") == "Running"

    # Listing: the cluster's own kubelet identity lives in the node resource group, not here.
    types = az("resource", "list", "-g", rg, "--query", "[].type", "-o", "tsv").split()
    assert types == ["Microsoft.ContainerService/managedClusters"]

    # Deleting the cluster removes its node resource group; deleting the group empties it.
    node_rg = az("aks", "show", "-g", rg, "-n", "day2", "--query", "nodeResourceGroup", "-o", "tsv")
    az("aks", "delete", "-g", rg, "-n", "day2", "--yes")
    assert az("aks", "list", "-g", rg) == []
    assert az("group", "exists", "-n", node_rg) is False
    az("group", "delete", "-n", rg, "--yes")
    assert az("group", "exists", "-n", rg) is False
