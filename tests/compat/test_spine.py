"""Spine: login, account, resource groups, driven by the real az."""

from conftest import unique_name


def test_account_show_matches_health(az, health):
    """`az account show` after SP login reports the emulator's default subscription and
    tenant (azure-cli.md §2 step 5: subscriptions come from GET /subscriptions; fields
    id/subscriptionId/tenantId/state are what az normalises)."""
    acct = az("account", "show")
    assert acct["id"] == health["subscriptionId"]
    assert acct["tenantId"] == health["tenantId"]
    assert acct["state"] == "Enabled"
    assert acct["isDefault"] is True
    assert acct["user"]["type"] == "servicePrincipal"


def test_account_list_has_default_subscription(az, health):
    """`az account list` shows the subscription discovered at login (azure-cli.md §2 step 5)."""
    subs = az("account", "list")
    assert health["subscriptionId"] in [s["id"] for s in subs]


def test_group_lifecycle(az, subscription_id):
    """Resource group create/show/list/exists/update/delete (azure-cli.md §3 "az group
    create": PUT .../resourcegroups/{rg} returns id, name, type, location,
    properties.provisioningState; aks-rules.md j8: DELETE then 404)."""
    name = unique_name("compat-spine-")
    created = az("group", "create", "-n", name, "-l", "westus2")
    assert created["name"] == name
    assert created["location"] == "westus2"
    assert created["id"] == f"/subscriptions/{subscription_id}/resourceGroups/{name}"
    assert created["type"] == "Microsoft.Resources/resourceGroups"
    assert created["properties"]["provisioningState"] == "Succeeded"

    shown = az("group", "show", "-n", name)
    assert shown["id"] == created["id"]
    assert shown["location"] == "westus2"

    listed = az("group", "list")
    assert name in [g["name"] for g in listed]

    assert az("group", "exists", "-n", name) is True

    updated = az("group", "update", "-n", name, "--tags", "a=b")
    assert updated["tags"] == {"a": "b"}
    assert az("group", "show", "-n", name)["tags"] == {"a": "b"}

    az("group", "delete", "-n", name, "-y")
    assert az("group", "exists", "-n", name) is False
    assert name not in [g["name"] for g in az("group", "list")]


def test_group_create_is_idempotent(az):
    """A second `az group create` with the same name updates in place (ARM PUT semantics,
    aks-rules.md j8: 201 on create, 200 on update)."""
    name = unique_name("compat-idem-")
    first = az("group", "create", "-n", name, "-l", "westus2")
    second = az("group", "create", "-n", name, "-l", "westus2", "--tags", "x=y")
    assert second["id"] == first["id"]
    assert second["tags"] == {"x": "y"}
    az("group", "delete", "-n", name, "-y")


def test_group_name_casing(az):
    """Names match case-insensitively and the stored casing is echoed (aks-rules.md j6;
    azure-cli.md §3 "Casing")."""
    name = "MyRG" + unique_name("")
    az("group", "create", "-n", name, "-l", "westus2", "-o", "none")
    try:
        shown = az("group", "show", "-n", name.lower())
        assert shown["name"] == name
        assert shown["id"].endswith("/resourceGroups/" + name)
        assert az("group", "exists", "-n", name.upper()) is True
    finally:
        az("group", "delete", "-n", name.lower(), "-y")
    assert az("group", "exists", "-n", name) is False


def test_group_show_missing(az_fail):
    """GET of a missing group is 404 ResourceGroupNotFound (aks-rules.md j4)."""
    err = az_fail("group", "show", "-n", unique_name("compat-missing-"))
    assert "ResourceGroupNotFound" in err


def test_group_exists_missing(az):
    """`az group exists` on a group that never existed is false (HEAD → 404, aks-rules.md j4)."""
    assert az("group", "exists", "-n", unique_name("compat-never-")) is False
