"""Managed identities and RBAC, driven by the real az."""

import uuid

import pytest

from conftest import same_id, unique_name

ACRPULL_GUID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
READER_GUID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _is_guid(s: str) -> bool:
    try:
        uuid.UUID(s)
        return True
    except (TypeError, ValueError):
        return False


@pytest.fixture
def identity(az, resource_group):
    """A user-assigned identity in a fresh resource group."""
    return az("identity", "create", "-n", unique_name("compat-id-"), "-g", resource_group)


def test_identity_lifecycle(az, az_fail, resource_group, subscription_id, tenant_id):
    """`az identity create/show/list/delete` (azure-cli.md §3 "az identity create": PUT
    .../userAssignedIdentities/{n} returns id, name, type, location, tags and
    properties.{tenantId, principalId, clientId}, which az flattens; location defaults to
    the group's; aks-rules.md j5/j8 for show-after-delete)."""
    name = "Compat-Kubelet-" + uuid.uuid4().hex[:6]
    created = az("identity", "create", "-n", name, "-g", resource_group)
    assert created["name"] == name
    assert created["type"] == "Microsoft.ManagedIdentity/userAssignedIdentities"
    assert created["location"] == "westus2"  # inherited from the group
    assert created["tenantId"] == tenant_id
    assert _is_guid(created["clientId"]) and _is_guid(created["principalId"])
    assert created["clientId"] != created["principalId"]
    assert created["resourceGroup"].lower() == resource_group.lower()
    assert same_id(
        created["id"],
        f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
        f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}",
    )
    assert created["id"].endswith("/userAssignedIdentities/" + name)  # stored casing echoed

    shown = az("identity", "show", "-n", name.lower(), "-g", resource_group)
    for key in ("id", "name", "clientId", "principalId", "tenantId"):
        assert shown[key] == created[key], key

    # Re-creating keeps the same principal (PUT is an update, not a new identity).
    again = az("identity", "create", "-n", name, "-g", resource_group)
    assert again["principalId"] == created["principalId"]
    assert again["clientId"] == created["clientId"]

    listed = az("identity", "list", "-g", resource_group)
    assert [i["id"] for i in listed] == [created["id"]]
    assert any(i["id"] == created["id"] for i in az("identity", "list"))

    az("identity", "delete", "-n", name, "-g", resource_group)
    assert az("identity", "list", "-g", resource_group) == []
    err = az_fail("identity", "show", "-n", name, "-g", resource_group)
    assert "ResourceNotFound" in err or "not found" in err.lower()


def test_identity_create_in_missing_group(az_fail):
    """Creating under a group that does not exist fails with 404 ResourceGroupNotFound
    (aks-rules.md j4). `-l` is given because without it az only needs the group for the
    default location and stops client-side ("Missing required field: --location")."""
    err = az_fail("identity", "create", "-n", "x", "-l", "westus2", "-g", unique_name("compat-nogroup-"))
    assert "ResourceGroupNotFound" in err or "could not be found" in err


def test_role_definition_acrpull(az, subscription_id):
    """`az role definition list --name AcrPull` finds exactly the built-in AcrPull role
    (azure-cli.md §4: roleDefinitions $filter=roleName eq '<name>'; aks-rules.md §5
    built-in role ids)."""
    defs = az("role", "definition", "list", "--name", "AcrPull")
    assert len(defs) == 1, defs
    d = defs[0]
    assert d["id"].endswith(ACRPULL_GUID)
    assert d["name"] == ACRPULL_GUID
    assert d["roleName"] == "AcrPull"
    assert d["roleType"] == "BuiltInRole"
    assert d["type"] == "Microsoft.Authorization/roleDefinitions"


@pytest.mark.parametrize("name,guid", [
    ("Managed Identity Operator", "f1a07417-d97a-45cb-824c-7a7467783830"),
    ("Network Contributor", "4d97b98b-1d4f-4787-a291-c67834d212e7"),
    ("Reader", READER_GUID),
])
def test_role_definition_builtins(az, name, guid):
    """Built-in roles used by the AKS flow are served (aks-rules.md §5 table; azure-cli.md
    §4 lists AcrPull, Network Contributor, Managed Identity Operator). `role definition
    list --name` keeps only exact-case roleName matches client-side, so names are given in
    their canonical casing; the lower-case 'acrpull' used by `role assignment create` is
    covered by the role assignment tests."""
    defs = az("role", "definition", "list", "--name", name)
    assert [d["name"] for d in defs] == [guid]


def test_role_assignment_graph_path(az, identity, resource_group, subscription_id):
    """`az role assignment create --assignee <clientId>` resolves the managed identity via
    the Graph subset (servicePrincipals filter by servicePrincipalNames) and assigns its
    principalId; a duplicate create through the object-id path is reported as the existing
    assignment (exit 0): azure-cli.md §0 #7 and §3 "az role assignment create" (409
    RoleAssignmentExists, then az lists atScope() and returns the match); aks-rules.md i1."""
    scope = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    ra = az("role", "assignment", "create", "--assignee", identity["clientId"],
            "--role", "acrpull", "--scope", scope)
    # If Graph is not served az silently uses the clientId as object id (azure-cli.md §0 #7).
    assert ra["principalId"] == identity["principalId"]
    assert ra["principalType"] == "ServicePrincipal"
    assert ra["roleDefinitionId"].endswith(ACRPULL_GUID)
    assert ra["scope"] == scope
    assert _is_guid(ra["name"])
    assert ra["id"] == f"{scope}/providers/Microsoft.Authorization/roleAssignments/{ra['name']}"

    dup = az("role", "assignment", "create", "--assignee-object-id", identity["principalId"],
             "--assignee-principal-type", "ServicePrincipal", "--role", "acrpull", "--scope", scope)
    assert dup["id"] == ra["id"]
    assert dup["principalId"] == identity["principalId"]

    listed = az("role", "assignment", "list", "--assignee", identity["clientId"], "--scope", scope)
    assert [a["id"] for a in listed] == [ra["id"]]
    assert listed[0]["roleDefinitionName"] == "AcrPull"

    az("role", "assignment", "delete", "--assignee", identity["clientId"], "--role", "acrpull",
       "--scope", scope)
    assert az("role", "assignment", "list", "--assignee", identity["clientId"], "--scope", scope) == []


def test_role_assignment_object_id_path(az, identity, resource_group, subscription_id):
    """`--assignee-object-id <principalId> --assignee-principal-type ServicePrincipal`
    creates the assignment without Graph (azure-cli.md §3, "Avoid Graph"); a repeated
    create returns the existing assignment with exit 0 (aks-rules.md i1, 409
    RoleAssignmentExists handled by az); list/delete by id (aks-rules.md i7/i8)."""
    scope = identity["id"]  # a resource scope, as in the AKS flow
    args = ["--assignee-object-id", identity["principalId"],
            "--assignee-principal-type", "ServicePrincipal", "--role", "acrpull", "--scope", scope]
    ra = az("role", "assignment", "create", *args)
    assert ra["principalId"] == identity["principalId"]
    assert ra["principalType"] == "ServicePrincipal"
    assert ra["scope"] == scope  # echoed exactly as sent (azure-cli.md §4)
    assert ra["roleDefinitionId"].endswith(ACRPULL_GUID)

    dup = az("role", "assignment", "create", *args)
    assert dup["id"] == ra["id"]

    at_scope = az("role", "assignment", "list", "--scope", scope)
    assert ra["id"] in [a["id"] for a in at_scope]
    by_assignee = az("role", "assignment", "list", "--assignee", identity["clientId"], "--scope", scope)
    assert [a["id"] for a in by_assignee] == [ra["id"]]

    az("role", "assignment", "delete", "--ids", ra["id"])
    assert ra["id"] not in [a["id"] for a in az("role", "assignment", "list", "--scope", scope)]


def test_role_assignment_inherited_listing(az, identity, resource_group, subscription_id):
    """An assignment at the group scope is visible from a child resource scope with
    --include-inherited (atScope() = at or above the scope, aks-rules.md i6/i7)."""
    rg_scope = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    ra = az("role", "assignment", "create", "--assignee-object-id", identity["principalId"],
            "--assignee-principal-type", "ServicePrincipal", "--role", "Reader", "--scope", rg_scope)
    try:
        inherited = az("role", "assignment", "list", "--scope", identity["id"], "--include-inherited")
        assert ra["id"] in [a["id"] for a in inherited]
    finally:
        az("role", "assignment", "delete", "--ids", ra["id"])


def test_role_assignment_unknown_role(az_fail, identity, resource_group, subscription_id):
    """An unknown role name is refused by az after the roleDefinitions lookup returns
    nothing (azure-cli.md §3: az resolves --role through roleDefinitions $filter)."""
    scope = f"/subscriptions/{subscription_id}/resourceGroups/{resource_group}"
    err = az_fail("role", "assignment", "create", "--assignee-object-id", identity["principalId"],
                  "--assignee-principal-type", "ServicePrincipal", "--role", "NoSuchRole", "--scope", scope)
    assert "NoSuchRole" in err
