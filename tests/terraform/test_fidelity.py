"""Drift fidelity: defaults AKS fills in show in Terraform's plans as they do on Azure."""

from __future__ import annotations

from configs import SYSTEM_ASSIGNED, cluster, resource_group
from tfkit import changes


def test_pool_without_upgrade_settings_shows_max_surge_as_drift(terraform):
    """AKS answers `upgradeSettings.maxSurge: "10%"` for a pool created without upgrade settings
    (spec: "If not specified, the default is 10%"), and the provider then plans to remove it on
    every plan, as it does on Azure (hashicorp/terraform-provider-azurerm#24020). Saying
    `max_surge = "10%"` in the configuration makes the plan clean."""
    tf = terraform()
    with_surge = cluster(tf.version, SYSTEM_ASSIGNED, None)
    without = with_surge.replace('    upgrade_settings {\n      max_surge = "10%"\n    }\n', "")
    assert without != with_surge
    tf.write(resource_group("surge") + without)
    tf.apply()
    code, plan = tf.plan()
    assert code == 2
    assert changes(plan) == {"azurerm_kubernetes_cluster.aks": ["update"]}, tf.last_plan_text
    rc = next(r for r in plan["resource_changes"] if r["address"] == "azurerm_kubernetes_cluster.aks")
    assert rc["change"]["before"]["default_node_pool"][0]["upgrade_settings"] == [
        {"max_surge": "10%", "drain_timeout_in_minutes": 0, "node_soak_duration_in_minutes": 0,
         "undrainable_node_behavior": ""}], tf.last_plan_text
    assert rc["change"]["after"]["default_node_pool"][0]["upgrade_settings"] == []

    tf.write(resource_group("surge") + with_surge)
    tf.assert_no_changes()
