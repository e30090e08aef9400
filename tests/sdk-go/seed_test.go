// The Azure SDK for Go against azemu: the seed walkthrough ("use a pre-created kubelet
// managed identity in AKS") through azidentity, armresources, armmsi, armauthorization/v2 and
// armcontainerservice/v6, with a custom cloud configuration.
//
// Wiring (what scripts/sdk-test.sh does): start azemu, then `eval "$(azemu env)"`. From that
// environment the SDK needs:
//   - SSL_CERT_FILE: Go's crypto/x509 reads the roots from it (azemu's CA + the system roots);
//   - AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET: the
//     credential (azidentity reads AZURE_AUTHORITY_HOST as its authority);
//   - ARM_METADATA_HOSTNAME: where ARM is, for the cloud configuration below;
//   - AZURE_SUBSCRIPTION_ID: the subscription to work in.
package sdkgo

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerservice/armcontainerservice/v6"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"
)

// Managed Identity Operator, a built-in role.
const managedIdentityOperator = "f1a07417-d97a-45cb-824c-7a7467783830"

const location = "westus2"

func env(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: run through scripts/sdk-test.sh, or eval \"$(azemu env)\" first", name)
	}
	return v
}

// azemuCloud is azemu as a custom cloud: its token service and ARM at the same URL.
func azemuCloud(t *testing.T) cloud.Configuration {
	armURL := "https://" + env(t, "ARM_METADATA_HOSTNAME")
	return cloud.Configuration{
		ActiveDirectoryAuthorityHost: env(t, "AZURE_AUTHORITY_HOST"),
		Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
			cloud.ResourceManager: {Endpoint: armURL, Audience: armURL},
		},
	}
}

type clients struct {
	groups      *armresources.ResourceGroupsClient
	identities  *armmsi.UserAssignedIdentitiesClient
	assignments *armauthorization.RoleAssignmentsClient
	clusters    *armcontainerservice.ManagedClustersClient
	pools       *armcontainerservice.AgentPoolsClient
	sub         string
}

func newClients(t *testing.T) clients {
	cfg := azemuCloud(t)
	cred, err := azidentity.NewClientSecretCredential(
		env(t, "AZURE_TENANT_ID"), env(t, "AZURE_CLIENT_ID"), env(t, "AZURE_CLIENT_SECRET"),
		&azidentity.ClientSecretCredentialOptions{
			ClientOptions:            azcore.ClientOptions{Cloud: cfg},
			DisableInstanceDiscovery: true,
		})
	if err != nil {
		t.Fatal(err)
	}
	opts := &arm.ClientOptions{ClientOptions: azcore.ClientOptions{Cloud: cfg}}
	sub := env(t, "AZURE_SUBSCRIPTION_ID")
	c := clients{sub: sub}
	if c.groups, err = armresources.NewResourceGroupsClient(sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	if c.identities, err = armmsi.NewUserAssignedIdentitiesClient(sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	if c.assignments, err = armauthorization.NewRoleAssignmentsClient(sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	if c.clusters, err = armcontainerservice.NewManagedClustersClient(sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	if c.pools, err = armcontainerservice.NewAgentPoolsClient(sub, cred, opts); err != nil {
		t.Fatal(err)
	}
	return c
}

var poll = &runtime.PollUntilDoneOptions{Frequency: 100 * time.Millisecond}

func TestEnvironmentCredentialGetsAToken(t *testing.T) {
	// azidentity reads AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and
	// AZURE_AUTHORITY_HOST from the environment `azemu env` prints.
	cred, err := azidentity.NewEnvironmentCredential(&azidentity.EnvironmentCredentialOptions{
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	armURL := "https://" + env(t, "ARM_METADATA_HOSTNAME")
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{armURL + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(tok.Token, ".") != 2 {
		t.Fatalf("not a JWT: %q", tok.Token)
	}
}

func TestSeedWalkthrough(t *testing.T) {
	ctx := context.Background()
	c := newClients(t)
	rg := "sdk-go-seed"

	// az group create
	g, err := c.groups.CreateOrUpdate(ctx, rg, armresources.ResourceGroup{Location: to.Ptr(location)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *g.Name != rg || *g.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("group: %+v", g)
	}

	// az identity create (control plane, kubelet)
	cp, err := c.identities.CreateOrUpdate(ctx, rg, "control-plane", armmsi.Identity{Location: to.Ptr(location)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kubelet, err := c.identities.CreateOrUpdate(ctx, rg, "kubelet", armmsi.Identity{Location: to.Ptr(location)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if kubelet.Properties == nil || kubelet.Properties.ClientID == nil || kubelet.Properties.PrincipalID == nil {
		t.Fatalf("kubelet identity without ids: %+v", kubelet)
	}

	// The control plane's identity must be able to assign the kubelet identity.
	role := "/subscriptions/" + c.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + managedIdentityOperator
	ra, err := c.assignments.Create(ctx, *kubelet.ID, "b1c2d3e4-0000-4000-8000-00000000a001",
		armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr(role),
			PrincipalID:      cp.Properties.PrincipalID,
			PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(*ra.Properties.Scope, *kubelet.ID) {
		t.Fatalf("assignment scope %s", *ra.Properties.Scope)
	}

	// az aks create --assign-identity CP --assign-kubelet-identity KUBELET
	cluster := armcontainerservice.ManagedCluster{
		Location: to.Ptr(location),
		Identity: &armcontainerservice.ManagedClusterIdentity{
			Type: to.Ptr(armcontainerservice.ResourceIdentityTypeUserAssigned),
			UserAssignedIdentities: map[string]*armcontainerservice.ManagedServiceIdentityUserAssignedIdentitiesValue{
				*cp.ID: {},
			},
		},
		Properties: &armcontainerservice.ManagedClusterProperties{
			DNSPrefix: to.Ptr("sdkgo"),
			IdentityProfile: map[string]*armcontainerservice.UserAssignedIdentity{
				"kubeletidentity": {
					ResourceID: kubelet.ID,
					ClientID:   kubelet.Properties.ClientID,
					ObjectID:   kubelet.Properties.PrincipalID,
				},
			},
			AgentPoolProfiles: []*armcontainerservice.ManagedClusterAgentPoolProfile{{
				Name:   to.Ptr("nodepool1"),
				Count:  to.Ptr[int32](2),
				VMSize: to.Ptr("Standard_DS2_v2"),
				Mode:   to.Ptr(armcontainerservice.AgentPoolModeSystem),
				OSType: to.Ptr(armcontainerservice.OSTypeLinux),
				Type:   to.Ptr(armcontainerservice.AgentPoolTypeVirtualMachineScaleSets),
			}},
		},
	}
	poller, err := c.clusters.BeginCreateOrUpdate(ctx, rg, "seed", cluster, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, err := poller.PollUntilDone(ctx, poll)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Properties.ProvisioningState != "Succeeded" {
		t.Fatalf("cluster state %s", *created.Properties.ProvisioningState)
	}

	// az aks show --query identityProfile.kubeletidentity
	got, err := c.clusters.Get(ctx, rg, "seed", nil)
	if err != nil {
		t.Fatal(err)
	}
	k := got.Properties.IdentityProfile["kubeletidentity"]
	if k == nil || !strings.EqualFold(*k.ResourceID, *kubelet.ID) || *k.ClientID != *kubelet.Properties.ClientID {
		t.Fatalf("kubelet identity: %+v", k)
	}
	if _, ok := got.Identity.UserAssignedIdentities[*cp.ID]; !ok {
		t.Fatalf("control-plane identity: %+v", got.Identity.UserAssignedIdentities)
	}

	// The pool, with its eTag where the 2026-08-01 AgentPool has it: in properties.
	pool, err := c.pools.Get(ctx, rg, "seed", "nodepool1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if *pool.Properties.Count != 2 || pool.Properties.NodeImageVersion == nil {
		t.Fatalf("pool: %+v", pool.Properties)
	}
	if pool.Properties.ETag == nil || *pool.Properties.ETag == "" {
		t.Fatal("the agent pool's properties carry no eTag")
	}

	// az group delete: the resource group and everything in it.
	del, err := c.groups.BeginDelete(ctx, rg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := del.PollUntilDone(ctx, poll); err != nil {
		t.Fatal(err)
	}
	if _, err := c.clusters.Get(ctx, rg, "seed", nil); err == nil {
		t.Fatal("the cluster outlived its resource group")
	}
	exists, err := c.groups.CheckExistence(ctx, rg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if exists.Success {
		t.Fatal("the resource group still exists")
	}
}
