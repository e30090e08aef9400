"""The Python Azure SDKs pointed at azemu (issue 6 item 9): azure-identity plus
azure-mgmt-resource, azure-mgmt-msi, azure-mgmt-authorization and azure-mgmt-containerservice
(the versions pinned in requirements.txt), doing create/get/list/delete for each resource type.

How to point the SDKs at azemu
------------------------------
azemu prints `azemu ready: https://127.0.0.1:PORT (CA: /path/to/ca.pem)` at start; its
tenant, subscription and a client id are at `GET <url>/_azemu/health`. The token endpoint
accepts any client secret.

1. Credential: a `ClientSecretCredential` whose authority is azemu (a URL, or just
   `host:port`; https is implied), with instance discovery switched off (otherwise MSAL asks
   login.microsoftonline.com about the authority) and azemu's CA trusted:

       from azure.identity import ClientSecretCredential

       AZEMU = "https://127.0.0.1:PORT"
       CA = "/path/to/ca.pem"
       credential = ClientSecretCredential(
           tenant_id, client_id, "any-secret",
           authority=AZEMU,
           disable_instance_discovery=True,
           connection_verify=CA,
       )

2. Management clients: `base_url` is azemu, `credential_scopes` is `<azemu>/.default`, and
   the CA is trusted with `connection_verify` (the same keyword for every client):

       from azure.mgmt.resource.resources import ResourceManagementClient
       from azure.mgmt.msi import ManagedServiceIdentityClient
       from azure.mgmt.authorization import AuthorizationManagementClient
       from azure.mgmt.containerservice import ContainerServiceClient

       arm = dict(base_url=AZEMU, credential_scopes=[AZEMU + "/.default"], connection_verify=CA)
       resources = ResourceManagementClient(credential, subscription_id, **arm)
       msi = ManagedServiceIdentityClient(credential, subscription_id, **arm)
       authorization = AuthorizationManagementClient(credential, subscription_id, **arm)
       aks = ContainerServiceClient(credential, subscription_id, **arm)

   Instead of `connection_verify=CA` everywhere, `REQUESTS_CA_BUNDLE=/path/to/ca.pem` in the
   environment is honoured by the credential and by every client.

3. Or from the environment only (12-factor style): set `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`,
   `AZURE_CLIENT_SECRET` (any value), `AZURE_AUTHORITY_HOST=https://127.0.0.1:PORT` and
   `REQUESTS_CA_BUNDLE=/path/to/ca.pem`, then
   `EnvironmentCredential(disable_instance_discovery=True)` and the clients with
   `base_url=AZEMU, credential_scopes=[AZEMU + "/.default"]`.

Long-running operations (`begin_*`) are followed with `.result()` as against Azure: azemu
answers with `Azure-AsyncOperation`/`Location` headers and a short `Retry-After`.

Model notes for these SDK versions: azure-mgmt-authorization 5.0.0b2 takes
`RoleAssignmentCreateParameters(properties=RoleAssignmentProperties(...))` (a plain dict is
sent as raw JSON and must then be `{"properties": {"roleDefinitionId": ..., ...}}`);
`agent_pools.begin_upgrade_node_image_version` is an `LROPoller[None]`.
"""

from __future__ import annotations

import base64
import os
import uuid

import pytest
from azure.core.exceptions import ResourceNotFoundError
from azure.identity import ClientSecretCredential, EnvironmentCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.authorization import models as authz_models
from azure.mgmt.containerservice import ContainerServiceClient
from azure.mgmt.containerservice import models as aks_models
from azure.mgmt.msi import ManagedServiceIdentityClient
from azure.mgmt.resource.resources import ResourceManagementClient

from conftest import DEFAULT_CLIENT_ID, same_id, unique_name

ACRPULL_GUID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
READER_GUID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
LOCATION = "westus2"


# ------------------------------------------------------------------------------------------
# Fixtures: the setup the module docstring describes


@pytest.fixture(scope="module")
def client_id(health) -> str:
    return os.environ.get("AZEMU_CLIENT_ID") or health.get("clientId") or DEFAULT_CLIENT_ID


@pytest.fixture(scope="module")
def credential(emulator, tenant_id, client_id):
    return ClientSecretCredential(
        tenant_id, client_id, "any-secret",
        authority=emulator.url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca,
    )


@pytest.fixture(scope="module")
def arm(emulator) -> dict:
    """The keyword arguments every management client takes to talk to azemu."""
    return dict(base_url=emulator.url, credential_scopes=[emulator.url + "/.default"],
                connection_verify=emulator.ca)


@pytest.fixture(scope="module")
def resources(credential, subscription_id, arm):
    return ResourceManagementClient(credential, subscription_id, **arm)


@pytest.fixture(scope="module")
def msi(credential, subscription_id, arm):
    return ManagedServiceIdentityClient(credential, subscription_id, **arm)


@pytest.fixture(scope="module")
def authorization(credential, subscription_id, arm):
    return AuthorizationManagementClient(credential, subscription_id, **arm)


@pytest.fixture(scope="module")
def aks(credential, subscription_id, arm):
    return ContainerServiceClient(credential, subscription_id, **arm)


@pytest.fixture
def rg(resources):
    """A fresh resource group made with the SDK, deleted afterwards (best effort)."""
    name = unique_name("compat-sdk-")
    resources.resource_groups.create_or_update(name, {"location": LOCATION})
    yield name
    try:
        resources.resource_groups.begin_delete(name).result()
    except ResourceNotFoundError:
        pass


# ------------------------------------------------------------------------------------------
# azure-identity


@pytest.mark.parametrize("authority_form", ["url", "host:port"])
def test_client_secret_credential(emulator, tenant_id, client_id, authority_form):
    """ClientSecretCredential gets a token from azemu's token endpoint
    (POST {authority}/{tenant}/oauth2/v2.0/token, client_credentials, any secret); the authority
    may be a URL or a bare host:port (azure-identity normalises it to https)."""
    authority = emulator.url if authority_form == "url" else emulator.url.split("://", 1)[1]
    cred = ClientSecretCredential(tenant_id, client_id, "any-secret", authority=authority,
                                  disable_instance_discovery=True, connection_verify=emulator.ca)
    token = cred.get_token(emulator.url + "/.default")
    assert token.token.count(".") == 2  # a JWT
    assert token.expires_on > 0


def test_environment_credential_and_ca_bundle(emulator, tenant_id, client_id, subscription_id, monkeypatch):
    """Configuration from the environment alone: AZURE_TENANT_ID/AZURE_CLIENT_ID/
    AZURE_CLIENT_SECRET/AZURE_AUTHORITY_HOST for EnvironmentCredential, and REQUESTS_CA_BUNDLE
    instead of connection_verify, for the credential and the client."""
    monkeypatch.setenv("AZURE_TENANT_ID", tenant_id)
    monkeypatch.setenv("AZURE_CLIENT_ID", client_id)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "any-secret")
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", emulator.url)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca)
    cred = EnvironmentCredential(disable_instance_discovery=True)
    client = ResourceManagementClient(cred, subscription_id, base_url=emulator.url,
                                      credential_scopes=[emulator.url + "/.default"])
    name = unique_name("compat-sdk-env-")
    client.resource_groups.create_or_update(name, {"location": LOCATION})
    try:
        assert client.resource_groups.get(name).name == name
    finally:
        client.resource_groups.begin_delete(name).result()


# ------------------------------------------------------------------------------------------
# azure-mgmt-resource


def test_resource_groups(resources, subscription_id):
    """ResourceManagementClient: resource group create_or_update / get / check_existence /
    list / update (tags) / begin_delete (LRO followed to the end)."""
    name = unique_name("compat-sdk-rg-")
    created = resources.resource_groups.create_or_update(name, {"location": LOCATION, "tags": {"suite": "sdk"}})
    assert created.name == name
    assert created.location == LOCATION
    assert created.properties.provisioning_state == "Succeeded"
    assert same_id(created.id, f"/subscriptions/{subscription_id}/resourceGroups/{name}")

    got = resources.resource_groups.get(name)
    assert got.id == created.id
    assert got.tags == {"suite": "sdk"}
    assert resources.resource_groups.check_existence(name) is True
    assert name in [g.name for g in resources.resource_groups.list()]

    patched = resources.resource_groups.update(name, {"tags": {"suite": "sdk", "step": "update"}})
    assert patched.tags == {"suite": "sdk", "step": "update"}

    poller = resources.resource_groups.begin_delete(name)
    assert poller.result() is None
    assert poller.status() == "Succeeded"
    assert resources.resource_groups.check_existence(name) is False
    with pytest.raises(ResourceNotFoundError):
        resources.resource_groups.get(name)
    assert name not in [g.name for g in resources.resource_groups.list()]


# ------------------------------------------------------------------------------------------
# azure-mgmt-msi


def test_user_assigned_identities(msi, rg, tenant_id, subscription_id):
    """ManagedServiceIdentityClient: user-assigned identity create_or_update / get /
    list_by_resource_group / list_by_subscription / update (tags) / delete."""
    name = unique_name("sdk-id-")
    created = msi.user_assigned_identities.create_or_update(rg, name, {"location": LOCATION})
    assert created.name == name
    assert created.location == LOCATION
    assert created.tenant_id == tenant_id
    uuid.UUID(created.client_id)
    uuid.UUID(created.principal_id)
    assert same_id(created.id, f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
                               f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")

    got = msi.user_assigned_identities.get(rg, name)
    assert (got.id, got.client_id, got.principal_id) == (created.id, created.client_id, created.principal_id)
    assert [i.name for i in msi.user_assigned_identities.list_by_resource_group(rg)] == [name]
    assert created.id in [i.id for i in msi.user_assigned_identities.list_by_subscription()]

    patched = msi.user_assigned_identities.update(rg, name, {"tags": {"suite": "sdk"}})
    assert patched.tags == {"suite": "sdk"}
    assert patched.client_id == created.client_id

    msi.user_assigned_identities.delete(rg, name)
    with pytest.raises(ResourceNotFoundError):
        msi.user_assigned_identities.get(rg, name)
    assert list(msi.user_assigned_identities.list_by_resource_group(rg)) == []


# ------------------------------------------------------------------------------------------
# azure-mgmt-authorization


def test_role_definitions(authorization, subscription_id):
    """AuthorizationManagementClient: built-in role definitions list with a `roleName eq`
    filter, get by scope + GUID, get_by_id."""
    scope = f"/subscriptions/{subscription_id}"
    found = list(authorization.role_definitions.list(scope, filter="roleName eq 'AcrPull'"))
    assert len(found) == 1
    acrpull = found[0]
    assert acrpull.role_name == "AcrPull"
    assert acrpull.name == ACRPULL_GUID
    assert acrpull.id.lower().endswith(f"/providers/microsoft.authorization/roledefinitions/{ACRPULL_GUID}")
    assert any("Microsoft.ContainerRegistry/registries/pull/read" in p.actions for p in acrpull.permissions)

    got = authorization.role_definitions.get(scope, READER_GUID)
    assert got.role_name == "Reader"
    assert authorization.role_definitions.get_by_id(acrpull.id).role_name == "AcrPull"
    names = {d.role_name for d in authorization.role_definitions.list(scope)}
    assert {"Owner", "Contributor", "Reader", "AcrPull", "Managed Identity Operator"} <= names


def test_role_assignments(authorization, msi, rg, subscription_id):
    """AuthorizationManagementClient: role assignment create (to a fresh user-assigned
    identity, principalType ServicePrincipal) / get / get_by_id / list_for_scope /
    list_for_resource_group / list_for_subscription with a principalId filter / delete."""
    principal = msi.user_assigned_identities.create_or_update(rg, unique_name("sdk-ra-"), {"location": LOCATION})
    scope = f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
    reader = f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleDefinitions/{READER_GUID}"
    name = str(uuid.uuid4())
    params = authz_models.RoleAssignmentCreateParameters(
        properties=authz_models.RoleAssignmentProperties(
            role_definition_id=reader, principal_id=principal.principal_id, principal_type="ServicePrincipal"))
    created = authorization.role_assignments.create(scope, name, params)
    assert created.name == name
    assert created.principal_id == principal.principal_id
    assert same_id(created.role_definition_id, reader)
    assert same_id(created.scope, scope)
    assert same_id(created.id, f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}")

    got = authorization.role_assignments.get(scope, name)
    assert got.id == created.id and got.principal_id == principal.principal_id
    assert authorization.role_assignments.get_by_id(created.id).name == name
    assert name in [a.name for a in authorization.role_assignments.list_for_scope(scope)]
    assert name in [a.name for a in authorization.role_assignments.list_for_resource_group(rg)]
    by_principal = list(authorization.role_assignments.list_for_subscription(
        filter=f"principalId eq '{principal.principal_id}'"))
    assert [a.name for a in by_principal] == [name]

    deleted = authorization.role_assignments.delete(scope, name)
    assert deleted is None or deleted.name == name
    with pytest.raises(ResourceNotFoundError):
        authorization.role_assignments.get(scope, name)
    assert name not in [a.name for a in authorization.role_assignments.list_for_scope(scope)]


# ------------------------------------------------------------------------------------------
# azure-mgmt-containerservice


def test_managed_clusters(aks, rg, subscription_id):
    """ContainerServiceClient: managed cluster begin_create_or_update → result / get / list /
    list_by_resource_group, agent_pools list / get / get_upgrade_profile,
    list_cluster_user_credentials (a kubeconfig for the cluster's FQDN), begin_delete → result."""
    name = unique_name("sdkaks")
    body = aks_models.ManagedCluster(
        location=LOCATION,
        dns_prefix=name,
        identity=aks_models.ManagedClusterIdentity(type="SystemAssigned"),
        agent_pool_profiles=[aks_models.ManagedClusterAgentPoolProfile(
            name="nodepool1", count=2, vm_size="Standard_DS2_v2", mode="System", os_type="Linux",
            type="VirtualMachineScaleSets")],
    )
    mc = aks.managed_clusters.begin_create_or_update(rg, name, body).result()
    assert mc.name == name
    assert mc.provisioning_state == "Succeeded"
    assert mc.identity.type == "SystemAssigned"
    uuid.UUID(mc.identity.principal_id)
    assert mc.fqdn and mc.kubernetes_version
    assert mc.node_resource_group
    kubelet = mc.identity_profile["kubeletidentity"]
    uuid.UUID(kubelet.client_id)
    assert same_id(mc.id, f"/subscriptions/{subscription_id}/resourceGroups/{rg}"
                          f"/providers/Microsoft.ContainerService/managedClusters/{name}")

    got = aks.managed_clusters.get(rg, name)
    assert got.id == mc.id and got.fqdn == mc.fqdn
    assert mc.id in [c.id for c in aks.managed_clusters.list()]
    assert [c.name for c in aks.managed_clusters.list_by_resource_group(rg)] == [name]

    pools = list(aks.agent_pools.list(rg, name))
    assert [(p.name, p.count, p.mode) for p in pools] == [("nodepool1", 2, "System")]
    pool = aks.agent_pools.get(rg, name, "nodepool1")
    assert pool.provisioning_state == "Succeeded"
    assert pool.node_image_version
    profile = aks.agent_pools.get_upgrade_profile(rg, name, "nodepool1")
    assert profile.latest_node_image_version == pool.node_image_version

    creds = aks.managed_clusters.list_cluster_user_credentials(rg, name)
    kubeconfig, = creds.kubeconfigs
    assert kubeconfig.name == "clusterUser"
    value = kubeconfig.value
    text = (value if isinstance(value, (bytes, bytearray)) else base64.b64decode(value)).decode()
    assert "apiVersion: v1" in text
    assert f"server: https://{mc.fqdn}" in text

    poller = aks.managed_clusters.begin_delete(rg, name)
    assert poller.result() is None
    assert poller.status() == "Succeeded"
    with pytest.raises(ResourceNotFoundError):
        aks.managed_clusters.get(rg, name)
    assert list(aks.managed_clusters.list_by_resource_group(rg)) == []


def test_template_deployments(credential, subscription_id, arm, resources, rg):
    """`deployments.begin_create_or_update` and `begin_what_if` through the Python SDK
    (azure.mgmt.resource.deployments, the client az 2.91 uses)."""
    from azure.mgmt.resource.deployments import DeploymentsMgmtClient

    deployments = DeploymentsMgmtClient(credential, subscription_id, **arm)
    template = {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": {"name": {"type": "string"}},
        "resources": [{"type": "Microsoft.ManagedIdentity/userAssignedIdentities", "apiVersion": "2023-01-31",
                       "name": "[parameters('name')]", "location": "[resourceGroup().location]"}],
        "outputs": {"principalId": {"type": "string",
                                    "value": "[reference(parameters('name')).principalId]"}},
    }
    body = {"properties": {"mode": "Incremental", "template": template,
                           "parameters": {"name": {"value": "sdk-template-id"}}}}
    what_if = deployments.deployments.begin_what_if(rg, "sdk", body).result()
    assert [c.change_type for c in what_if.changes] == ["Create"]
    d = deployments.deployments.begin_create_or_update(rg, "sdk", body).result()
    assert d.properties.provisioning_state == "Succeeded"
    ident = resources.resources.get_by_id(
        f"/subscriptions/{subscription_id}/resourceGroups/{rg}/providers/Microsoft.ManagedIdentity/"
        "userAssignedIdentities/sdk-template-id", "2023-01-31")
    assert d.properties.outputs["principalId"]["value"] == ident.properties["principalId"]
    what_if = deployments.deployments.begin_what_if(rg, "sdk", body).result()
    assert [c.change_type for c in what_if.changes] == ["NoChange"]
    ops = list(deployments.deployment_operations.list(rg, "sdk"))
    assert [o.properties.provisioning_state for o in ops] == ["Succeeded"]
