"""Helpers the Terraform flows share: reading plans, recording figures."""

from __future__ import annotations

# Figures the flows measured, printed at the end of the session (and appended to
# $AZEMU_TF_REPORT as JSON lines when set).
MEASUREMENTS: list[dict] = []


def record(name: str, **figures) -> None:
    MEASUREMENTS.append({"measure": name, **figures})


def changes(plan: dict) -> dict[str, list[str]]:
    """{address: actions} for every resource the plan changes (no-op and read left out)."""
    out = {}
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions not in (["no-op"], ["read"]):
            out[rc["address"]] = actions
    return out


def drift(plan: dict) -> dict[str, list[str]]:
    """{address: actions} for every change Terraform detected outside of Terraform. Entries
    whose only difference is an empty value against null (`tags = null` in the state after
    create, `{}` once refreshed: the plugin SDK's own normalisation) are left out."""
    out = {}
    for rc in plan.get("resource_drift", []):
        c = rc["change"]
        if c["actions"] == ["update"] and _squash(c.get("before")) == _squash(c.get("after")):
            continue
        out[rc["address"]] = c["actions"]
    return out


def _squash(v):
    """The value with nulls and empty maps/lists removed, recursively."""
    if isinstance(v, dict):
        v = {k: _squash(x) for k, x in v.items()}
        return {k: x for k, x in v.items() if x not in (None, {}, [])}
    if isinstance(v, list):
        return [_squash(x) for x in v]
    return v


def same_id(a: str | None, b: str | None) -> bool:
    """ARM ids compare case-insensitively."""
    return a is not None and b is not None and a.lower() == b.lower()
