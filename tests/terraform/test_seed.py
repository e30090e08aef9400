"""The seed's Terraform configuration, on both provider versions."""

from __future__ import annotations

import time

import pytest

import configs
from tfkit import record, same_id

MC = "Microsoft.ContainerService/managedClusters"
UAI = "Microsoft.ManagedIdentity/userAssignedIdentities"


# 4.18 with the README's explicit provider block, 5.2 with an empty one and ARM_* variables.
@pytest.mark.parametrize("version,wiring", [("4.18.0", "block"), ("5.2.0", "env")])
def test_seed_flow_apply_replan_destroy(terraform, subscription, emulator, version, wiring):
    """The seed's main.tf with the operator grant: apply, a plan with no changes, destroy,
    nothing left."""
    tf = terraform(version, wiring)
    tf.write(configs.seed(version, operator_grant=True))

    mark = emulator.journal_mark()
    start = time.monotonic()
    tf.apply()
    apply_s = time.monotonic() - start
    applied = emulator.journal_since(mark)

    rg = subscription.rg_path("aks-rg")
    uai = subscription.get(f"{rg}/providers/{UAI}/aks-kubelet-identity", "2023-01-31")
    mc = subscription.get(f"{rg}/providers/{MC}/aks-kubelet", "2025-10-01")
    assert uai and mc, "apply reported success but the identity or the cluster is missing"
    assert mc["properties"]["provisioningState"] == "Succeeded"
    kubelet = mc["properties"]["identityProfile"]["kubeletidentity"]
    assert same_id(kubelet["resourceId"], uai["id"])
    assert kubelet["clientId"] == uai["properties"]["clientId"]
    assert kubelet["objectId"] == uai["properties"]["principalId"]
    assert [same_id(k, uai["id"]) for k in mc["identity"]["userAssignedIdentities"]] == [True]
    mine = [a for a in subscription.role_assignments() if a["properties"]["principalId"] == uai["properties"]["principalId"]]
    assert len(mine) == 2, mine     # AcrPull on the group, Managed Identity Operator on itself
    state = tf.state_show("azurerm_kubernetes_cluster.kubelet_identity")
    assert same_id(state["id"], mc["id"])
    assert state["kube_config"][0]["host"], "kube_config comes from listClusterUserCredential"

    tf.assert_no_changes()

    mark = emulator.journal_mark()
    start = time.monotonic()
    tf.destroy()
    destroy_s = time.monotonic() - start
    destroyed = emulator.journal_since(mark)

    assert tf.state_list() == []
    assert subscription.resource_groups() == [], "the group (or the cluster's node resource group) is left"
    assert subscription.resources() == []
    left = [a for a in subscription.role_assignments() if a["properties"]["principalId"] == uai["properties"]["principalId"]]
    assert left == []
    record("seed flow", version=version, wiring=wiring,
           apply_s=round(apply_s, 1), apply_requests=len(applied), apply_by_method=by_method(applied),
           destroy_s=round(destroy_s, 1), destroy_requests=len(destroyed), destroy_by_method=by_method(destroyed))


def by_method(entries: list[dict]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entries:
        out[e["method"]] = out.get(e["method"], 0) + 1
    return out


def test_seed_as_written_fails_with_missing_permission(terraform, subscription):
    """The seed verbatim (no Managed Identity Operator grant): AKS refuses the cluster with
    CustomKubeletIdentityMissingPermissionError, and the state holds what was created before."""
    tf = terraform()
    tf.write(configs.seed(tf.version, operator_grant=False))
    cp = tf.apply(check=False)
    assert cp.returncode != 0, tf.describe(cp)
    assert "CustomKubeletIdentityMissingPermissionError" in cp.stderr, tf.describe(cp)

    in_state = tf.state_list()
    assert "azurerm_resource_group.example" in in_state
    assert "azurerm_user_assigned_identity.kubelet" in in_state
    assert "azurerm_kubernetes_cluster.kubelet_identity" not in in_state
    rg = subscription.rg_path("aks-rg")
    assert subscription.get(f"{rg}/providers/{MC}/aks-kubelet", "2025-10-01") is None
    uai = subscription.get(f"{rg}/providers/{UAI}/aks-kubelet-identity", "2023-01-31")
    assert uai is not None
    assert tf.state_show("azurerm_user_assigned_identity.kubelet")["principal_id"] == uai["properties"]["principalId"]
    # Whatever else the state holds exists in azemu (the AcrPull assignment, which does not wait
    # for the cluster, may or may not have finished before Terraform stopped).
    if "azurerm_role_assignment.kubelet_acr_pull" in in_state:
        ra = tf.state_show("azurerm_role_assignment.kubelet_acr_pull")
        assert subscription.get(ra["id"], "2022-04-01") is not None
