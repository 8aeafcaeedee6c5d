package plan

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
)

func ptr[T any](v T) *T { return &v }

func meta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: "weft"} }

var testNode = Node{Name: "node-a", Labels: map[string]string{"rack": "r1", "kubernetes.io/hostname": "node-a"}, Index: 3}

// mustBuild builds the plan of r for testNode, which must hold no resource error.
func mustBuild(t *testing.T, r Resources) NodePlan {
	t.Helper()
	p, errs := Build(r, testNode)
	if len(errs) > 0 {
		t.Fatalf("unexpected errors: %v", errs)
	}
	return p
}

// validResources is a realistic, fully valid set: an underlay with two neighbors, two L3VNIs
// (one with a filtered dual-stack host session), three L2VNIs (one symmetric-IRB with an
// anycast gateway, one External host bridge) and a passthrough.
func validResources() Resources {
	return Resources{
		Underlays: []v1alpha1.Underlay{{
			ObjectMeta: meta("fabric"),
			Spec: v1alpha1.UnderlaySpec{
				ASN:        64514,
				Interfaces: []v1alpha1.UnderlayInterface{{Type: v1alpha1.InterfaceNetworkDevice, NetworkDevice: &v1alpha1.NetworkDevice{Name: "eth1"}}},
				Neighbors: []v1alpha1.Neighbor{
					{Address: "192.168.11.2", ASN: ptr(int64(64512)), BFDProfile: "fast", HoldTimeSeconds: ptr(int32(9)), KeepaliveTimeSeconds: ptr(int32(3))},
					{Address: "192.168.11.1", Type: v1alpha1.PeerExternal, PasswordSecret: &v1alpha1.SecretKeyRef{Name: "tor-pass"}},
				},
				BFDProfiles:     []v1alpha1.BFDProfile{{Name: "fast", ReceiveIntervalMs: ptr(int32(100)), TransmitIntervalMs: ptr(int32(100)), DetectMultiplier: ptr(int32(3))}},
				TunnelEndpoint:  v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}},
				GracefulRestart: &v1alpha1.GracefulRestart{RestartTimeSeconds: ptr(int32(120))},
			},
		}},
		L3VNIs: []v1alpha1.L3VNI{
			{
				ObjectMeta: meta("red"),
				Spec: v1alpha1.L3VNISpec{
					VRF: "red", VNI: 100, RouteDistinguisher: "64514:100",
					ImportRouteTargets: []string{"64514:100"}, ExportRouteTargets: []string{"64514:100"},
					HostSession: &v1alpha1.HostSession{
						HostASN:   ptr(int64(64515)),
						LocalCIDR: v1alpha1.LocalCIDR{IPv4: "192.169.10.0/24", IPv6: "fd00:10::/64"},
						ToReceive: &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{
							{Prefix: "10.10.0.0/16", LE: ptr(int32(24))},
							{Prefix: "fd10::/48", GE: ptr(int32(64)), LE: ptr(int32(128))},
						}},
						BFDProfile: "fast",
					},
				},
			},
			{
				ObjectMeta: meta("blue"),
				Spec: v1alpha1.L3VNISpec{
					VRF: "blue", VNI: 200,
					HostSession: &v1alpha1.HostSession{HostType: v1alpha1.PeerExternal, LocalCIDR: v1alpha1.LocalCIDR{IPv4: "192.169.11.0/24"}},
				},
			},
		},
		L2VNIs: []v1alpha1.L2VNI{
			{ObjectMeta: meta("web"), Spec: v1alpha1.L2VNISpec{VNI: 110, RoutingDomain: &v1alpha1.RoutingDomain{L3VNI: "red"}, GatewayIPs: []string{"192.170.1.1/24", "fd00:170::1/64"}}},
			{ObjectMeta: meta("legacy"), Spec: v1alpha1.L2VNISpec{VNI: 120, RouteDistinguisher: "100.65.0.4:120", ExportRouteTargets: []string{"64514:120"}, ImportRouteTargets: []string{"64514:120"}, MTU: ptr(int32(1450))}},
			{ObjectMeta: meta("vms"), Spec: v1alpha1.L2VNISpec{VNI: 130, HostMaster: &v1alpha1.HostMaster{Type: v1alpha1.HostMasterLinuxBridge, Lifecycle: v1alpha1.LifecycleExternal, Name: "br-vms"}}},
		},
		L3Passthroughs: []v1alpha1.L3Passthrough{{
			ObjectMeta: meta("kube"),
			Spec:       v1alpha1.L3PassthroughSpec{HostSession: v1alpha1.HostSession{HostASN: ptr(int64(64516)), LocalCIDR: v1alpha1.LocalCIDR{IPv4: "192.169.20.0/24"}}},
		}},
		Secrets: []corev1.Secret{{ObjectMeta: meta("tor-pass"), Data: map[string][]byte{"password": []byte("s3cr3t-md5")}}},
	}
}
