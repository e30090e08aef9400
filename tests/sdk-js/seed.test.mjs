// The Azure SDK for JavaScript against azemu: the seed walkthrough ("use a pre-created kubelet
// managed identity in AKS") through @azure/identity, @azure/arm-resources (including
// resourceGroups.beginDeleteAndWait), @azure/arm-msi, @azure/arm-authorization and
// @azure/arm-containerservice, at the versions package-lock.json pins.
//
// Wiring (what scripts/sdk-test.sh does): start azemu, then `eval "$(azemu env)"`. From that
// environment the SDK needs:
//   - NODE_EXTRA_CA_CERTS: Node trusts azemu's CA (read when node starts);
//   - AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET: the
//     credential;
//   - ARM_METADATA_HOSTNAME: where ARM is (each client's `endpoint`, and the token scope);
//   - AZURE_SUBSCRIPTION_ID: the subscription to work in.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClientSecretCredential, EnvironmentCredential } from "@azure/identity";
import { ResourceManagementClient } from "@azure/arm-resources";
import { ManagedServiceIdentityClient } from "@azure/arm-msi";
import { AuthorizationManagementClient } from "@azure/arm-authorization";
import { ContainerServiceClient } from "@azure/arm-containerservice";

function env(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run through scripts/sdk-test.sh, or eval "$(azemu env)" first`);
  return v;
}

const ARM = `https://${env("ARM_METADATA_HOSTNAME")}`;
const SCOPE = `${ARM}/.default`;
const SUB = env("AZURE_SUBSCRIPTION_ID");
const LOCATION = "westus2";
const MANAGED_IDENTITY_OPERATOR = "f1a07417-d97a-45cb-824c-7a7467783830";

const credential = new ClientSecretCredential(
  env("AZURE_TENANT_ID"),
  env("AZURE_CLIENT_ID"),
  env("AZURE_CLIENT_SECRET"),
  { authorityHost: env("AZURE_AUTHORITY_HOST"), disableInstanceDiscovery: true },
);

// The TypeSpec-generated clients (arm-resources 8, arm-containerservice 25) take
// `credentials.scopes`; the older ones (arm-msi 2, arm-authorization 9) `credentialScopes`.
const modular = { endpoint: ARM, credentials: { scopes: [SCOPE] } };
const classic = { endpoint: ARM, credentialScopes: [SCOPE] };
const fast = { updateIntervalInMs: 50 };

const resources = new ResourceManagementClient(credential, SUB, modular);
const msi = new ManagedServiceIdentityClient(credential, SUB, classic);
const authorization = new AuthorizationManagementClient(credential, SUB, classic);
const aks = new ContainerServiceClient(credential, SUB, modular);

test("EnvironmentCredential gets a token from azemu", async () => {
  const cred = new EnvironmentCredential({ disableInstanceDiscovery: true });
  const token = await cred.getToken(SCOPE);
  assert.equal(token.token.split(".").length, 3, "a JWT");
});

test("resource groups: create, get, list, beginDeleteAndWait", async () => {
  const name = "sdk-js-rg";
  const g = await resources.resourceGroups.createOrUpdate(name, { location: LOCATION, tags: { suite: "js" } });
  assert.equal(g.name, name);
  assert.equal(g.properties.provisioningState, "Succeeded");
  assert.deepEqual((await resources.resourceGroups.get(name)).tags, { suite: "js" });
  const names = [];
  for await (const x of resources.resourceGroups.list()) names.push(x.name);
  assert.ok(names.includes(name), names.join(","));
  assert.equal((await resources.resourceGroups.checkExistence(name)).body, true);
  // The final poll answers 200 with no body, as Azure does (a 204 makes this throw).
  await resources.resourceGroups.beginDeleteAndWait(name, fast);
  assert.equal((await resources.resourceGroups.checkExistence(name)).body, false);
  await assert.rejects(resources.resourceGroups.get(name), (e) => e.statusCode === 404);
});

test("seed walkthrough: identities, role assignment, AKS with a pre-created kubelet identity", async () => {
  const rg = "sdk-js-seed";
  await resources.resourceGroups.createOrUpdate(rg, { location: LOCATION });

  const cp = await msi.userAssignedIdentities.createOrUpdate(rg, "control-plane", { location: LOCATION });
  const kubelet = await msi.userAssignedIdentities.createOrUpdate(rg, "kubelet", { location: LOCATION });
  assert.ok(kubelet.clientId && kubelet.principalId, JSON.stringify(kubelet));

  const role = `/subscriptions/${SUB}/providers/Microsoft.Authorization/roleDefinitions/${MANAGED_IDENTITY_OPERATOR}`;
  const ra = await authorization.roleAssignments.create(kubelet.id, "c1d2e3f4-0000-4000-8000-00000000b001", {
    roleDefinitionId: role,
    principalId: cp.principalId,
    principalType: "ServicePrincipal",
  });
  assert.equal(ra.scope.toLowerCase(), kubelet.id.toLowerCase());

  const cluster = await aks.managedClusters.createOrUpdate(
    rg,
    "seed",
    {
      location: LOCATION,
      identity: { type: "UserAssigned", userAssignedIdentities: { [cp.id]: {} } },
      dnsPrefix: "sdkjs",
      identityProfile: {
        kubeletidentity: { resourceId: kubelet.id, clientId: kubelet.clientId, objectId: kubelet.principalId },
      },
      agentPoolProfiles: [
        { name: "nodepool1", count: 2, vmSize: "Standard_DS2_v2", mode: "System", osType: "Linux", type: "VirtualMachineScaleSets" },
      ],
    },
    fast,
  );
  assert.equal(cluster.provisioningState, "Succeeded");

  const got = await aks.managedClusters.get(rg, "seed");
  const k = got.identityProfile.kubeletidentity;
  assert.equal(k.resourceId.toLowerCase(), kubelet.id.toLowerCase());
  assert.equal(k.clientId, kubelet.clientId);
  assert.ok(Object.keys(got.identity.userAssignedIdentities).some((id) => id.toLowerCase() === cp.id.toLowerCase()));

  const pool = await aks.agentPools.get(rg, "seed", "nodepool1");
  assert.equal(pool.count, 2);
  assert.ok(pool.nodeImageVersion);
  assert.ok(pool.eTag, "the pool's eTag (in properties, as the 2026-08-01 AgentPool has it)");

  await resources.resourceGroups.beginDeleteAndWait(rg, fast);
  await assert.rejects(aks.managedClusters.get(rg, "seed"), (e) => e.statusCode === 404);
});
