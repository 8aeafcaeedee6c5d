package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var cp ControlPlane

func TestMain(m *testing.M) { Main(m, &cp, Options{}) }

// minimal valid specs, which each case breaks in one place.
const (
	underlaySpec = `
asn: 64514
neighbors: [{address: 192.168.11.1, asn: 64512}]
tunnelEndpoint: {cidrs: [100.65.0.0/24]}
`
	l3Spec = `
vrf: red
vni: 100
hostSession: {hostASN: 64515, localCIDR: {ipv4: 192.169.10.0/24}}
`
)

// TestCRDRejections checks that the API server itself (OpenAPI schema and CEL rules from
// the kubebuilder markers) rejects invalid objects with a message naming the field.
func TestCRDRejections(t *testing.T) {
	c := cp.Client(t)
	cases := []struct {
		name, kind, spec string
		// field is the path the API server must name; msg a part of its message.
		field, msg string
	}{
		{"vni zero", "L2VNI", `vni: 0`, "spec.vni", "greater than or equal to 1"},
		{"vni too large", "L2VNI", `vni: 16777216`, "spec.vni", "less than or equal to 16777215"},
		{"vni missing", "L2VNI", `vxlanPort: 4789`, "spec.vni", "Required value"},
		{"gateway without routing domain", "L2VNI", `{vni: 10, gatewayIPs: [10.0.0.1/24]}`, "spec.gatewayIPs", "gatewayIPs require routingDomain"},
		{"gateway not a CIDR", "L2VNI", `{vni: 10, routingDomain: {l3vni: red}, gatewayIPs: [10.0.0.1]}`, "spec.gatewayIPs", "must be a CIDR"},
		{"two IPv4 gateways", "L2VNI", `{vni: 10, routingDomain: {l3vni: red}, gatewayIPs: [10.0.0.1/24, 10.0.1.1/24]}`, "spec.gatewayIPs", "at most one gateway IP per address family"},
		{"external host master without name", "L2VNI", `{vni: 10, hostMaster: {lifecycle: External}}`, "spec.hostMaster.name", "name is required for an External host master"},
		{"host master type", "L2VNI", `{vni: 10, hostMaster: {type: Tap}}`, "spec.hostMaster.type", "Unsupported value"},
		{"host master name too long", "L2VNI", `{vni: 10, hostMaster: {name: a-very-long-bridge-name}}`, "spec.hostMaster.name", "may not be more than 15 bytes"},
		{"mtu too small", "L2VNI", `{vni: 10, mtu: 100}`, "spec.mtu", "greater than or equal to 576"},
		{"route distinguisher shape", "L2VNI", `{vni: 10, routeDistinguisher: "65000-100"}`, "spec.routeDistinguisher", "should match"},
		{"route target shape", "L2VNI", `{vni: 10, importRouteTargets: ["x:1"]}`, "spec.importRouteTargets[0]", "should match"},
		{"routing domain not a name", "L2VNI", `{vni: 10, routingDomain: {l3vni: Red}}`, "spec.routingDomain.l3vni", "should match"},
		{"gateway network address", "L2VNI", `{vni: 10, routingDomain: {l3vni: red}, gatewayIPs: [10.0.0.0/24]}`, "spec.gatewayIPs", "must not be the network address of its subnet"},
		{"gateway broadcast address", "L2VNI", `{vni: 10, routingDomain: {l3vni: red}, gatewayIPs: [10.0.0.255/24]}`, "spec.gatewayIPs", "must not be the broadcast address of its subnet"},
		{"gateway link-local", "L2VNI", `{vni: 10, routingDomain: {l3vni: red}, gatewayIPs: ["fe80::1/64"]}`, "spec.gatewayIPs", "a gateway must not be in"},
		{"host master with weft's prefix", "L2VNI", `{vni: 10, hostMaster: {lifecycle: External, name: br-hs-11}}`, "spec.hostMaster.name", "must not be lo nor start with"},
		{"host master all", "L2VNI", `{vni: 10, hostMaster: {lifecycle: External, name: all}}`, "spec.hostMaster.name", "must not be all or default: the kernel reserves"},
		{"vrf pattern", "L3VNI", `{vrf: Red, vni: 100}`, "spec.vrf", "should match"},
		{"vrf reserved prefix", "L3VNI", `{vrf: vni100, vni: 100}`, "spec.vrf", "must not start with br-pe-, br-hs-, vni, pe- or host-"},
		{"vrf default", "L3VNI", `{vrf: default, vni: 100}`, "spec.vrf", "must not be default, main, local, all or lo"},
		{"vrf main", "L3VNI", `{vrf: main, vni: 100}`, "spec.vrf", "must not be default, main, local, all or lo"},
		{"route distinguisher 4-byte both", "L3VNI", `{vrf: red, vni: 100, routeDistinguisher: "4200000000:70000"}`, "spec.routeDistinguisher", "NN at most 65535 after an ASN above 65535"},
		{"route target leading zero", "L3VNI", `{vrf: red, vni: 100, exportRouteTargets: ["1:01"]}`, "spec.exportRouteTargets", "every route target must be ASN:NN or IPv4:NN in plain decimal"},
		{"route target twice", "L3VNI", `{vrf: red, vni: 100, importRouteTargets: ["1:1", "1:1"]}`, "spec.importRouteTargets", "every route target must be listed once"},
		{"link host bits", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.1/24}}}`, "spec.hostSession.localCIDR.ipv4", "without host bits"},
		{"link too small", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.0/31}}}`, "spec.hostSession.localCIDR.ipv4", "must be /30 or larger"},
		{"link loopback", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 127.0.0.0/24}}}`, "spec.hostSession.localCIDR.ipv4", "must not overlap 0.0.0.0/8, 127.0.0.0/8"},
		{"link IPv6 link-local", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv6: "fe80::/64"}}}`, "spec.hostSession.localCIDR.ipv6", "must not overlap ::/128"},
		{"link IPv6 covering IPv4-mapped", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv6: "::fffe:0:0/95"}}}`, "spec.hostSession.localCIDR.ipv6", "::ffff:0:0/96 (IPv4-mapped)"},
		{"prefix host bits", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.0/24}, toReceive: {mode: Filtered, prefixes: [{prefix: 10.0.0.1/8}]}}}`, "spec.hostSession.toReceive.prefixes[0].prefix", "without host bits"},
		{"host session asn and type", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, hostType: External, localCIDR: {ipv4: 192.169.10.0/24}}}`, "spec.hostSession", "exactly one of hostASN and hostType"},
		{"host session without link", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {}}}`, "spec.hostSession.localCIDR", "localCIDR needs ipv4, ipv6 or both"},
		{"ipv6 in ipv4 link", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: "fd00::/64"}}}`, "spec.hostSession.localCIDR.ipv4", "must be an IPv4 CIDR"},
		{"prefixes with mode All", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.0/24}, toReceive: {mode: All, prefixes: [{prefix: 10.0.0.0/8}]}}}`, "spec.hostSession.toReceive.prefixes", "prefixes are only allowed with mode Filtered"},
		{"prefix not a CIDR", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.0/24}, toReceive: {mode: Filtered, prefixes: [{prefix: nope}]}}}`, "spec.hostSession.toReceive.prefixes[0].prefix", "must be a CIDR"},
		{"ge above le", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.0/24}, toReceive: {mode: Filtered, prefixes: [{prefix: 10.0.0.0/8, ge: 24, le: 16}]}}}`, "spec.hostSession.toReceive.prefixes[0].le", "ge must not be greater than le"},
		{"ge not longer than prefix", "L3VNI", `{vrf: red, vni: 100, hostSession: {hostASN: 1, localCIDR: {ipv4: 192.169.10.0/24}, toReceive: {mode: Filtered, prefixes: [{prefix: 10.0.0.0/16, ge: 8}]}}}`, "spec.hostSession.toReceive.prefixes[0].ge", "ge must be longer than the prefix length"},
		{"asn zero", "Underlay", `{asn: 0, neighbors: [{address: 192.168.11.1, asn: 64512}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.asn", "greater than or equal to 1"},
		{"no neighbors", "Underlay", `{asn: 1, neighbors: [], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors", "should have at least 1 items"},
		{"neighbor address and interface", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, interface: eth1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0]", "exactly one of address and interface"},
		{"neighbor address not an IP", "Underlay", `{asn: 1, neighbors: [{address: tor1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].address", "must be an IP address"},
		{"neighbor link-local", "Underlay", `{asn: 1, neighbors: [{address: "fe80::1", asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].address", "must not be in 0.0.0.0/8"},
		{"neighbor broadcast", "Underlay", `{asn: 1, neighbors: [{address: 255.255.255.255, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].address", "must not be in 0.0.0.0/8"},
		{"neighbor twice", "Underlay", `{asn: 1, neighbors: [{address: "fd00::1", asn: 2}, {address: "fd00:0::1", asn: 3}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors", "every neighbor must be listed once"},
		{"multihop on iBGP", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 1, ebgpMultihop: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors", "ebgpMultihop applies only to eBGP sessions"},
		{"multihop unnumbered", "Underlay", `{asn: 1, neighbors: [{interface: eth1, type: External, ebgpMultihop: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].ebgpMultihop", "cannot be used with an unnumbered"},
		{"secret name", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, passwordSecret: {name: Tor_Password}}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].passwordSecret.name", "should match"},
		{"secret key", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, passwordSecret: {name: tor, key: "md5 key"}}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].passwordSecret.key", "should match"},
		{"neighbor asn and type", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, type: External}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0]", "exactly one of asn and type"},
		{"hold time without keepalive", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, holdTimeSeconds: 9}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].keepaliveTimeSeconds", "must be set together"},
		{"hold time 2", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, holdTimeSeconds: 2, keepaliveTimeSeconds: 1}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].holdTimeSeconds", "must be 0 or 3..65535"},
		{"keepalive not below hold", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, holdTimeSeconds: 9, keepaliveTimeSeconds: 9}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].keepaliveTimeSeconds", "must be smaller than holdTimeSeconds"},
		{"undefined bfd profile", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2, bfdProfile: fast}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors", "must name one of spec.bfdProfiles"},
		{"duplicate bfd profile", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], bfdProfiles: [{name: fast}, {name: fast}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.bfdProfiles[1]", "Duplicate value"},
		{"bfd multiplier", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], bfdProfiles: [{name: fast, detectMultiplier: 1}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.bfdProfiles[0].detectMultiplier", "greater than or equal to 2"},
		{"two IPv4 tunnel CIDRs", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24, 100.66.0.0/24]}}`, "spec.tunnelEndpoint.cidrs", "at most one CIDR per address family"},
		{"tunnel endpoint missing", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}]}`, "spec.tunnelEndpoint", "Required value"},
		{"tunnel CIDR host bits", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.1/24]}}`, "spec.tunnelEndpoint.cidrs", "without host bits"},
		{"tunnel CIDR too small", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/31]}}`, "spec.tunnelEndpoint.cidrs", "must be /30 or larger"},
		{"tunnel CIDR link-local", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [169.254.0.0/16]}}`, "spec.tunnelEndpoint.cidrs", "must not overlap"},
		{"router id CIDR required", "Underlay", `{asn: 1, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: ["fd00:65::/64"]}}`, "spec.routerIDCIDR", "routerIDCIDR is required when tunnelEndpoint has no IPv4 CIDR"},
		{"router id CIDR host bits", "Underlay", `{asn: 1, routerIDCIDR: 10.0.0.1/24, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.routerIDCIDR", "without host bits"},
		{"router id CIDR multicast", "Underlay", `{asn: 1, routerIDCIDR: 224.0.1.0/24, neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.routerIDCIDR", "must not overlap"},
		{"interface lo", "Underlay", `{asn: 1, interfaces: [{type: NetworkDevice, networkDevice: {name: lo}}], neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.interfaces[0].networkDevice.name", "must not be lo"},
		{"interface default", "Underlay", `{asn: 1, interfaces: [{type: NetworkDevice, networkDevice: {name: default}}], neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.interfaces[0].networkDevice.name", "must not be all or default: the kernel reserves"},
		{"unnumbered neighbor named like an address", "Underlay", `{asn: 1, neighbors: [{interface: "10.0.0.1", type: External}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.neighbors[0].interface", "not an IP address"},
		{"interface twice", "Underlay", `{asn: 1, interfaces: [{type: NetworkDevice, networkDevice: {name: eth1}}, {type: NetworkDevice, networkDevice: {name: eth1}}], neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.interfaces", "every interface must be listed once"},
		{"router id CIDR is IPv6", "Underlay", `{asn: 1, routerIDCIDR: "fd00::/64", neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.routerIDCIDR", "must be an IPv4 CIDR"},
		{"interface union", "Underlay", `{asn: 1, interfaces: [{type: NetworkDevice}], neighbors: [{address: 192.168.11.1, asn: 2}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`, "spec.interfaces[0].networkDevice", "networkDevice must be set exactly when type is NetworkDevice"},
		{"passthrough without session", "L3Passthrough", `{nodeSelector: {}}`, "spec.hostSession", "Required value"},
		{"passthrough host type", "L3Passthrough", `{hostSession: {hostType: Both, localCIDR: {ipv4: 192.168.9.0/24}}}`, "spec.hostSession.hostType", "Unsupported value"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			obj := object(t, tc.kind, fmt.Sprintf("bad-%d", i), tc.spec)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err := c.Create(ctx, obj)
			if err == nil {
				_ = c.Delete(ctx, obj)
				t.Fatalf("%s was accepted; want a rejection naming %s", tc.kind, tc.field)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.field+":") || !strings.Contains(msg, tc.msg) {
				t.Errorf("rejection does not name %q with %q:\n%s", tc.field, tc.msg, msg)
			}
		})
	}
}

// TestCRDAcceptsValid guards the rejection cases: the minimal objects they break are valid.
func TestCRDAcceptsValid(t *testing.T) {
	c := cp.Client(t)
	for _, tc := range []struct{ kind, spec string }{
		{"Underlay", underlaySpec},
		{"L3VNI", l3Spec},
		{"L2VNI", `{vni: 110, routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1/24, "fd00:1::1/64"], routeDistinguisher: "10.0.0.1:110"}`},
		{"L3Passthrough", `{hostSession: {hostType: External, localCIDR: {ipv4: 192.168.9.0/24}, toAdvertise: {mode: Filtered, prefixes: [{prefix: 10.0.0.0/16, ge: 24, le: 32}]}}}`},
	} {
		obj := object(t, tc.kind, "valid-"+strings.ToLower(tc.kind), tc.spec)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if err := c.Create(ctx, obj); err != nil {
			t.Errorf("%s: %v", tc.kind, err)
		} else {
			_ = c.Delete(ctx, obj)
		}
		cancel()
	}
}

// TestKubectlExplain checks that the CRDs carry their field documentation to kubectl.
func TestKubectlExplain(t *testing.T) {
	kc := cp.Kubeconfig(t)
	for _, tc := range []struct {
		field string
		want  []string
	}{
		{"l2vni.spec.hostMaster", []string{"host bridge the segment is attached to", "lifecycle", "Managed", "External"}},
		{"underlay.spec.neighbors.passwordSecret", []string{"TCP MD5 password"}},
		{"routernodestatus.status.failedResources", []string{"FailedResources lists the resources selected for this node"}},
	} {
		out, err := exec.Command(cp.Kubectl(t), "--kubeconfig", kc, "explain", tc.field).CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl explain %s: %v\n%s", tc.field, err, out)
		}
		for _, w := range tc.want {
			if !strings.Contains(string(out), w) {
				t.Errorf("kubectl explain %s lacks %q:\n%s", tc.field, w, out)
			}
		}
	}
}

func object(t *testing.T, kind, name, spec string) *unstructured.Unstructured {
	t.Helper()
	var s map[string]any
	if err := yaml.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatalf("spec %q: %v", spec, err)
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "network.weft.dev/v1alpha1",
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": Namespace},
		"spec":       s,
	}}
	return obj
}

// TestExamplesAcceptedBySchema: every example a user applies passes the API server's own
// schemas and CEL rules (a server dry run; this control plane runs no webhooks, whose
// cross-object rules judge the examples against a cluster's other objects).
func TestExamplesAcceptedBySchema(t *testing.T) {
	kc := cp.Kubeconfig(t)
	dirs := []string{"examples", "examples/fabric"}
	// Every shape's directory, so a new one is checked without being listed here.
	entries, err := os.ReadDir(filepath.Join(RepoRoot(), "examples", "fabric"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, "examples/fabric/"+e.Name())
		}
	}
	if len(dirs) < 5 {
		t.Fatalf("example directories %v: want examples, examples/fabric and one per fabric shape", dirs)
	}
	for _, dir := range dirs {
		out, err := exec.Command(cp.Kubectl(t), "--kubeconfig", kc, "apply", "--dry-run=server", "-f", filepath.Join(RepoRoot(), dir)).CombinedOutput()
		if err != nil {
			t.Errorf("kubectl apply --dry-run=server -f %s: %v\n%s", dir, err, out)
		}
	}
}
