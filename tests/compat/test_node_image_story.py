"""The node image (VHD) gating story of issue 5, driven by the real az, with azemu's own API
(`/_azemu/...`) showing what the nodes really run.

aks-rules.md e1-e3: changing the kubelet identity of a cluster succeeds at once and the
cluster names the new identity, but a pool that already runs the newest node image is not
reimaged, so its nodes keep using the old identity until a newer image is released and the
pool is upgraded onto it. h2-h5: the upgrade profile's `latestNodeImageVersion`, the
node-image-only upgrade, no downgrade, and "already on the newest image" being a no-op.
Issue 5 item 5: a simulated image pull shows what that means for workloads (AcrPull for the
identity the nodes really use), and the seed's `--attach-acr` advice fixes it.

The tests share one resource group and one cluster and run in file order:
create → kubelet change (pending) → no-op upgrade → publish image → upgrade → pull break → attach-acr.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import same_id, unique_name

pytestmark = pytest.mark.aks

ACRPULL_GUID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
POOL = "nodepool1"  # az aks create's default pool name
FAMILY = "AKSUbuntu-2204gen2containerd"  # the image family of az's default Linux pool


# ------------------------------------------------------------------------------------------
# azemu's own API


def _azemu(emulator, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    """One request to azemu's control API (`/_azemu/...`), trusting azemu's CA."""
    ctx = ssl.create_default_context(cafile=emulator.ca)
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(emulator.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            raw = resp.read().decode()
            return resp.status, (json.loads(raw) if raw.strip() else {})
    except urllib.error.HTTPError as e:
        raw = e.read().decode(errors="replace")
        try:
            return e.code, json.loads(raw)
        except json.JSONDecodeError:
            return e.code, {"raw": raw}


def _cluster_view(emulator, subscription_id: str, story: dict) -> dict:
    """GET /_azemu/clusters/{sub}/{rg}/{name} (issue 5 item 2)."""
    status, view = _azemu(emulator, "GET", f"/_azemu/clusters/{subscription_id}/{story['rg']}/{story['cluster']}")
    assert status == 200, view
    return view


def _pool_view(emulator, subscription_id: str, story: dict) -> dict:
    view = _cluster_view(emulator, subscription_id, story)
    pool, = [p for p in view["pools"] if p["name"] == POOL]
    return pool


def _pull_check(emulator, subscription_id: str, story: dict) -> dict:
    """GET /_azemu/clusters/{sub}/{rg}/{name}/pull-check?image=<loginServer>/app:v1 (issue 5 item 5)."""
    image = f"{story['acr']['loginServer']}/app:v1"
    status, body = _azemu(emulator, "GET", f"/_azemu/clusters/{subscription_id}/{story['rg']}/{story['cluster']}"
                                           f"/pull-check?image={urllib.parse.quote(image, safe='')}")
    assert status == 200, body
    assert body["image"] == image
    assert same_id(body["registry"], story["acr"]["id"])
    return body


def _effective_client_ids(pool: dict) -> set[str]:
    return {i["clientId"] for i in pool["effectiveKubeletIdentities"]}


def _get_upgrades(az, story: dict) -> dict:
    return az("aks", "nodepool", "get-upgrades", "--resource-group", story["rg"],
              "--cluster-name", story["cluster"], "--nodepool-name", POOL)


def _nodepool_show(az, story: dict) -> dict:
    return az("aks", "nodepool", "show", "--resource-group", story["rg"], "--cluster-name", story["cluster"],
              "--name", POOL)


def _upgrade_node_image(az, story: dict):
    """`az aks nodepool upgrade --node-image-only`: az follows the LRO to the end. The SDK's
    begin_upgrade_node_image_version is an LROPoller[None], so az prints nothing (returns None
    here); the pool is read back with `az aks nodepool show`. On this path az asks no question
    (its confirmation prompt is only on the Kubernetes-version path), so neither `--yes` nor
    `--no-wait` is needed."""
    return az("aks", "nodepool", "upgrade", "--resource-group", story["rg"], "--cluster-name", story["cluster"],
              "--name", POOL, "--node-image-only")


# ------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def story(az, emulator, subscription_id):
    """Resource group, three identities (control plane, kubelet1, kubelet2), an ACR, AcrPull
    for kubelet1 at the ACR, and `az aks create` with --assign-identity / --assign-kubelet-identity
    (the seed's steps; kubelet2 is made now for the change later)."""
    rg = unique_name("compat-vhd-")
    s = {"rg": rg, "cluster": unique_name("vhd")}
    az("group", "create", "--name", rg, "--location", "westus2", "-o", "none")
    s["cp"] = az("identity", "create", "--name", "cp-identity", "--resource-group", rg)
    s["kubelet1"] = az("identity", "create", "--name", "kubelet1", "--resource-group", rg)
    s["kubelet2"] = az("identity", "create", "--name", "kubelet2", "--resource-group", rg)
    s["acr"] = az("acr", "create", "-n", unique_name("compatvhd"), "-g", rg, "--sku", "Basic")
    az("role", "assignment", "create", "--assignee", s["kubelet1"]["clientId"], "--role", "acrpull",
       "--scope", s["acr"]["id"], "-o", "none")
    s["created"] = az("aks", "create", "--resource-group", rg, "--name", s["cluster"],
                      "--node-count", "2",
                      "--assign-identity", s["cp"]["id"],
                      "--assign-kubelet-identity", s["kubelet1"]["id"],
                      "--generate-ssh-keys")
    s["pool_id"] = f"{s['created']['id']}/agentPools/{POOL}"
    yield s
    az.run("group", "delete", "-n", rg, "-y", "--no-wait", "-o", "none")


# ------------------------------------------------------------------------------------------
# The story


def test_created_pool_runs_newest_image_with_kubelet1(az, emulator, subscription_id, story):
    """A new pool starts on the newest node image of its family (issue 5 item 1), in AKS's
    `<family>-<YYYYMM>.<DD>.<patch>` format (aks-rules.md h1); every node uses kubelet1
    (e3: the effective identity is the one the pool was imaged with); nothing is pending.
    The upgrade profile shows no newer image (h2: latestNodeImageVersion == nodeImageVersion)."""
    mc = story["created"]
    assert mc["provisioningState"] == "Succeeded"
    assert same_id(mc["identityProfile"]["kubeletidentity"]["resourceId"], story["kubelet1"]["id"])

    pool = _pool_view(emulator, subscription_id, story)
    assert pool["nodeImageVersion"].startswith(FAMILY + "-")
    assert pool["nodeImageVersion"] == mc["agentPoolProfiles"][0]["nodeImageVersion"]
    assert pool["latestNodeImageVersion"] == pool["nodeImageVersion"]
    assert _effective_client_ids(pool) == {story["kubelet1"]["clientId"]}
    assert pool["pending"] is None
    assert len(pool["nodes"]) == 2
    assert all(n["nodeImageVersion"] == pool["nodeImageVersion"] for n in pool["nodes"])
    story["image0"] = pool["nodeImageVersion"]

    up = _get_upgrades(az, story)
    assert up["latestNodeImageVersion"] == story["image0"]


def test_pull_allowed_with_kubelet1(emulator, subscription_id, story):
    """kubelet1 holds AcrPull at the registry, and the pool's nodes run kubelet1, so a pull is
    allowed (issue 5 item 5; the seed's `az role assignment create --role acrpull`)."""
    pc = _pull_check(emulator, subscription_id, story)
    assert pc["allowed"] is True, pc
    r, = pc["results"]
    assert r["pool"] == POOL
    assert r["kubeletIdentity"]["clientId"] == story["kubelet1"]["clientId"]
    assert r["allowed"] is True


def test_kubelet_change_on_newest_image_is_pending(az, emulator, subscription_id, story):
    """`az aks update --enable-managed-identity --assign-identity <cp> --assign-kubelet-identity
    <kubelet2> --yes` (seed "Update an existing cluster"; `--yes` answers az's prompt about
    upgrading the node pools, e1) succeeds and the cluster names kubelet2 at once (e2: no error;
    e3: recorded on the cluster immediately). The pool already runs the newest image, so it is
    not reimaged: it stays on the same image, its nodes keep kubelet1, and azemu says plainly
    that it is waiting for a newer node image (e2, e3; issue 5 item 4)."""
    mc = az("aks", "update", "--resource-group", story["rg"], "--name", story["cluster"],
            "--enable-managed-identity",
            "--assign-identity", story["cp"]["id"],
            "--assign-kubelet-identity", story["kubelet2"]["id"],
            "--yes")
    assert mc["provisioningState"] == "Succeeded"
    kid = az("aks", "show", "--resource-group", story["rg"], "--name", story["cluster"],
             "--query", "identityProfile.kubeletidentity")
    assert same_id(kid["resourceId"], story["kubelet2"]["id"])
    assert kid["clientId"] == story["kubelet2"]["clientId"]
    assert kid["objectId"] == story["kubelet2"]["principalId"]

    view = _cluster_view(emulator, subscription_id, story)
    assert view["kubeletIdentity"]["clientId"] == story["kubelet2"]["clientId"]
    pool, = [p for p in view["pools"] if p["name"] == POOL]
    assert pool["nodeImageVersion"] == story["image0"]
    assert _effective_client_ids(pool) == {story["kubelet1"]["clientId"]}
    assert all(n["kubeletIdentity"]["clientId"] == story["kubelet1"]["clientId"] for n in pool["nodes"])
    assert pool["pending"]["kubeletIdentity"]["clientId"] == story["kubelet2"]["clientId"]
    assert "waiting for a newer node image" in pool["status"]


def test_pull_still_uses_kubelet1_while_pending(emulator, subscription_id, story):
    """While the change is pending the nodes still pull as kubelet1, which has AcrPull, so
    pulls keep working (e2: kubelet keeps the old identity; issue 5 item 5)."""
    pc = _pull_check(emulator, subscription_id, story)
    assert pc["allowed"] is True, pc
    assert {r["kubeletIdentity"]["clientId"] for r in pc["results"]} == {story["kubelet1"]["clientId"]}


def test_get_upgrades_shows_no_newer_image(az, story):
    """`az aks nodepool get-upgrades` (GET .../agentPools/{pool}/upgradeProfiles/default):
    latestNodeImageVersion equals the pool's current image, so no node image upgrade is
    available (aks-rules.md h2)."""
    up = _get_upgrades(az, story)
    assert up["latestNodeImageVersion"] == story["image0"]
    assert _nodepool_show(az, story)["nodeImageVersion"] == story["image0"]


def test_node_image_upgrade_on_newest_is_noop(az, emulator, subscription_id, story):
    """`az aks nodepool upgrade --node-image-only` while already on the newest image succeeds
    and changes nothing (aks-rules.md h5); the kubelet change stays pending (e2)."""
    assert _upgrade_node_image(az, story) is None
    pool = _nodepool_show(az, story)
    assert pool["provisioningState"] == "Succeeded"
    assert pool["nodeImageVersion"] == story["image0"]
    view = _pool_view(emulator, subscription_id, story)
    assert view["nodeImageVersion"] == story["image0"]
    assert _effective_client_ids(view) == {story["kubelet1"]["clientId"]}
    assert "waiting for a newer node image" in view["status"]


def test_publish_node_image_makes_upgrade_available(az, emulator, story):
    """POST /_azemu/node-images publishes the next image of the family (issue 5 item 1,
    simulating Microsoft's weekly release, h4); `az aks nodepool get-upgrades` then shows it
    as latestNodeImageVersion, newer than the pool's (h2)."""
    status, published = _azemu(emulator, "POST", "/_azemu/node-images", {"family": FAMILY})
    assert status in (200, 201), published
    image1 = published["version"]
    assert image1.startswith(FAMILY + "-") and image1 != story["image0"]
    story["image1"] = image1

    up = _get_upgrades(az, story)
    assert up["latestNodeImageVersion"] == image1
    assert up["latestNodeImageVersion"] != story["image0"]


def test_node_image_upgrade_consumes_the_new_image(az, emulator, subscription_id, story):
    """`az aks nodepool upgrade --node-image-only` (POST .../upgradeNodeImageVersion, 202 +
    Azure-AsyncOperation, followed by az to the end; h3). The pool moves to the new image and
    its nodes now run kubelet2: the pending change is done (e2, e3)."""
    assert _upgrade_node_image(az, story) is None
    pool = _nodepool_show(az, story)
    assert pool["provisioningState"] == "Succeeded"
    assert pool["nodeImageVersion"] == story["image1"]

    view = _pool_view(emulator, subscription_id, story)
    assert view["nodeImageVersion"] == story["image1"]
    assert view["latestNodeImageVersion"] == story["image1"]
    assert _effective_client_ids(view) == {story["kubelet2"]["clientId"]}
    assert all(n["nodeImageVersion"] == story["image1"] for n in view["nodes"])
    assert all(n["kubeletIdentity"]["clientId"] == story["kubelet2"]["clientId"] for n in view["nodes"])
    assert view["pending"] is None
    assert "waiting for a newer node image" not in view["status"]

    # h2: on the newest image again.
    assert _get_upgrades(az, story)["latestNodeImageVersion"] == story["image1"]


def test_activity_log_tells_the_story(emulator, story):
    """GET /_azemu/events?resource=<pool id> records the pending kubelet change and the
    reimage onto the new image, each with time and correlation id (issue 5 item 7)."""
    status, body = _azemu(emulator, "GET", "/_azemu/events?resource=" + urllib.parse.quote(story["pool_id"], safe=""))
    assert status == 200, body
    events = body["value"]
    assert events, body
    assert all(e["time"] and "correlationId" in e for e in events)
    messages = [e["message"] for e in events]
    pending_at = next(i for i, m in enumerate(messages) if "waiting for a newer node image" in m)
    reimaged_at = next(i for i, m in enumerate(messages)
                       if story["image1"] in m and story["kubelet2"]["clientId"] in m)
    assert pending_at < reimaged_at, messages


def test_pull_denied_after_upgrade_until_attach_acr(az, emulator, subscription_id, story):
    """Now the nodes pull as kubelet2, which has no AcrPull on the registry: the pull is
    denied (issue 5 item 5: "pulls fail until AcrPull is granted to the new identity *and* the
    pool runs it"). The seed's advice, `az aks update --attach-acr <acr id>`, grants AcrPull
    to the cluster's kubelet identity (kubelet2), and the pull is allowed again."""
    pc = _pull_check(emulator, subscription_id, story)
    assert pc["allowed"] is False, pc
    r, = pc["results"]
    assert r["kubeletIdentity"]["clientId"] == story["kubelet2"]["clientId"]
    assert r["allowed"] is False

    mc = az("aks", "update", "--resource-group", story["rg"], "--name", story["cluster"],
            "--attach-acr", story["acr"]["id"])
    assert mc["provisioningState"] == "Succeeded"
    at_acr = az("role", "assignment", "list", "--scope", story["acr"]["id"])
    assert any(a["principalId"] == story["kubelet2"]["principalId"]
               and a["roleDefinitionId"].lower().endswith(ACRPULL_GUID) for a in at_acr), at_acr

    pc = _pull_check(emulator, subscription_id, story)
    assert pc["allowed"] is True, pc
    r, = pc["results"]
    assert r["kubeletIdentity"]["clientId"] == story["kubelet2"]["clientId"]
