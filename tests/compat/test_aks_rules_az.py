"""AKS rules refused through the real az, beyond the seed walkthrough's: the China East/North
limitation and the tenant move limitation (seed article, Limitations; aks-rules.md f1, f2).
"""

import json
import ssl
import urllib.parse
import urllib.request

import pytest

from conftest import unique_name

pytestmark = pytest.mark.aks


def _http(emulator, method: str, path: str, body=None, token=None, form=None) -> dict:
    ctx = ssl.create_default_context(cafile=emulator.ca)
    data = None
    headers = {}
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(emulator.url + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        text = resp.read().decode()
        return json.loads(text) if text else {}


def test_precreated_kubelet_identity_refused_in_china_east(az, az_fail):
    """"The China East and China North regions … aren't supported" for a pre-created kubelet
    identity (seed Limitations; aks-rules.md f1 — the code is unconfirmed, azemu answers
    400 BadRequest). az grants Managed Identity Operator first, so the refusal is the region's."""
    rg = unique_name("compat-cn-")
    az("group", "create", "-n", rg, "-l", "chinaeast", "-o", "none")
    cp = az("identity", "create", "-n", "cn-control-plane", "-g", rg)
    kubelet = az("identity", "create", "-n", "cn-kubelet", "-g", rg)
    err = az_fail("aks", "create", "-g", rg, "-n", "cn", "--assign-identity", cp["id"],
                  "--assign-kubelet-identity", kubelet["id"], "--node-count", "1", "--generate-ssh-keys")
    assert "BadRequest" in err and "chinaeast" in err, err
    assert az("aks", "list", "-g", rg) == []


def test_msi_cluster_cannot_move_to_another_tenant(az, az_fail, emulator):
    """"Moving or migrating a managed identity-enabled cluster to a different tenant isn't
    supported" (seed Limitations; aks-rules.md f2). `az resource move` sends moveResources,
    which is accepted (202) and then fails when az polls it."""
    rg = unique_name("compat-move-")
    az("group", "create", "-n", rg, "-l", "westus2", "-o", "none")
    cluster = az("aks", "create", "-g", rg, "-n", "movable", "--node-count", "1", "--generate-ssh-keys")
    assert cluster["identity"]["type"] == "SystemAssigned"

    other = _http(emulator, "POST", "/_azemu/subscriptions", {"newTenant": True})
    sub, tenant = other["subscriptionId"], other["tenantId"]
    health = emulator.get_json("/_azemu/health")
    token = _http(emulator, "POST", f"/{tenant}/oauth2/v2.0/token", form={
        "grant_type": "client_credentials", "client_id": health["clientId"],
        "client_secret": "any", "scope": emulator.url + "//.default"})["access_token"]
    _http(emulator, "PUT", f"/subscriptions/{sub}/resourcegroups/target?api-version=2024-11-01",
          {"location": "westus2"}, token=token)

    err = az_fail("resource", "move", "--ids", cluster["id"], "--destination-group", "target",
                  "--destination-subscription-id", sub)
    assert "ResourceMoveNotSupported" in err or "another tenant" in err, err
    assert az("aks", "show", "-g", rg, "-n", "movable")["name"] == "movable"


def test_service_principal_cluster_migrates_to_managed_identity_one_way(az, az_fail, emulator):
    """SP → MSI migration (`az aks update --enable-managed-identity`) is allowed (aks-rules.md b4);
    afterwards the cluster reports clientId "msi" and the service principal cannot come back
    (`az aks update-credentials --reset-service-principal` is refused, a2)."""
    rg = unique_name("compat-sp-")
    az("group", "create", "-n", rg, "-l", "westus2", "-o", "none")
    sp_client = "5b1a7d8e-1f4b-4c3a-9a55-2e0f1d6c7b10"
    created = az("aks", "create", "-g", rg, "-n", "legacy", "--node-count", "1", "--generate-ssh-keys",
                 "--service-principal", sp_client, "--client-secret", "legacy-secret")
    assert created["servicePrincipalProfile"]["clientId"] == sp_client
    assert created.get("identity") is None
    assert created["servicePrincipalProfile"].get("secret") is None, "the secret is never echoed"

    migrated = az("aks", "update", "-g", rg, "-n", "legacy", "--enable-managed-identity", "--yes")
    assert migrated["identity"]["type"] == "SystemAssigned"
    assert migrated["servicePrincipalProfile"]["clientId"] == "msi"
    kubelet = migrated["identityProfile"]["kubeletidentity"]
    assert kubelet["resourceId"].lower().endswith("/userassignedidentities/legacy-agentpool")

    err = az_fail("aks", "update-credentials", "-g", rg, "-n", "legacy", "--reset-service-principal",
                  "--service-principal", sp_client, "--client-secret", "again")
    assert "Updating service principal profile is not allowed on MSI cluster" in err, err
