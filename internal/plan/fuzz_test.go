package plan

import (
	"strings"
	"testing"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
)

// FuzzBuildRender feeds arbitrary values into every user string and number that can reach
// the FRR configuration. Whatever the input, each resource is either rejected or rendered into
// lines of the shapes the templates produce: no input can smuggle a line, a command or a
// broken token into frr.conf.
func FuzzBuildRender(f *testing.F) {
	f.Add("red", "64514:100", "64514:100", "192.168.11.1", "eth1", "fast", "s3cr3t", "100.65.0.0/24", "192.169.10.0/24", "fd00:10::/64", "10.10.0.0/16", "192.170.1.1/24", "br-vms", int64(64514), int64(110), int32(24), int32(9))
	f.Add("blue-2", "10.0.0.1:5", "4200000000:7", "fd00::1", "eth0.100", "x", "p@ss:w0rd", "fd00:65::/64", "10.0.0.0/30", "fd00::/127", "::/0", "fd00:170::1/64", "br0", int64(4294967295), int64(16777215), int32(128), int32(0))
	f.Add("a\nrouter bgp 1", "1:1\n exit", "1:1 ", "10.0.0.1 remote-as 5", "eth1\n", "f!", "a b", "1.2.3.4/8", "x", "", "10.0.0.0/8\n", "1.1.1.1/32", "../x", int64(-1), int64(0), int32(-3), int32(70000))
	f.Fuzz(func(t *testing.T, vrf, rd, rt, nbAddr, ifName, bfdName, password, vtepCIDR, linkV4, linkV6, filterPrefix, gateway, bridge string, asn, vni int64, le, hold int32) {
		r := Resources{
			Underlays: []v1alpha1.Underlay{{
				ObjectMeta: meta("fabric"),
				Spec: v1alpha1.UnderlaySpec{
					ASN:        asn,
					Interfaces: []v1alpha1.UnderlayInterface{{Type: v1alpha1.InterfaceNetworkDevice, NetworkDevice: &v1alpha1.NetworkDevice{Name: ifName}}},
					Neighbors: []v1alpha1.Neighbor{
						{Address: nbAddr, ASN: ptr(asn + 1), BFDProfile: bfdName, HoldTimeSeconds: ptr(hold), KeepaliveTimeSeconds: ptr(hold / 3), PasswordSecret: &v1alpha1.SecretKeyRef{Name: "pw"}},
						{Interface: ifName, Type: v1alpha1.PeerExternal},
					},
					BFDProfiles:    []v1alpha1.BFDProfile{{Name: bfdName, ReceiveIntervalMs: ptr(hold * 10)}},
					TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{vtepCIDR}},
				},
			}},
			L3VNIs: []v1alpha1.L3VNI{{
				ObjectMeta: meta("tenant"),
				Spec: v1alpha1.L3VNISpec{
					VRF: vrf, VNI: vni, RouteDistinguisher: rd, ImportRouteTargets: []string{rt}, ExportRouteTargets: []string{rd},
					HostSession: &v1alpha1.HostSession{
						HostASN:     ptr(asn),
						LocalCIDR:   v1alpha1.LocalCIDR{IPv4: linkV4, IPv6: linkV6},
						BFDProfile:  bfdName,
						ToReceive:   &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: filterPrefix, LE: ptr(le)}}},
						ToAdvertise: &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: filterPrefix, GE: ptr(le)}}},
					},
				},
			}},
			L2VNIs: []v1alpha1.L2VNI{
				{ObjectMeta: meta("seg"), Spec: v1alpha1.L2VNISpec{VNI: vni + 1, RouteDistinguisher: rt, ImportRouteTargets: []string{rd, rt}, RoutingDomain: &v1alpha1.RoutingDomain{L3VNI: "tenant"}, GatewayIPs: []string{gateway}}},
				{ObjectMeta: meta("ext"), Spec: v1alpha1.L2VNISpec{VNI: vni + 2, HostMaster: &v1alpha1.HostMaster{Lifecycle: v1alpha1.LifecycleExternal, Name: bridge}}},
			},
			L3Passthroughs: []v1alpha1.L3Passthrough{{
				ObjectMeta: meta("pt"),
				Spec:       v1alpha1.L3PassthroughSpec{HostSession: v1alpha1.HostSession{HostType: v1alpha1.PeerExternal, LocalCIDR: v1alpha1.LocalCIDR{IPv6: linkV6}}},
			}},
		}
		r.Secrets = validResources().Secrets
		r.Secrets[0].Name = "pw"
		r.Secrets[0].Data = map[string][]byte{"password": []byte(password)}
		p, _ := Build(r, testNode)
		if !p.HasUnderlay {
			return
		}
		conf, err := frr.Render(&p.FRR, Passwords(r.Secrets))
		if err != nil {
			t.Fatalf("an accepted plan failed to render: %v", err)
		}
		if err := frr.CheckShape(conf); err != nil {
			t.Fatalf("accepted input rendered an unexpected line: %v\n%s", err, conf)
		}
		for _, d := range p.Kernel.names() {
			if len(d) > 15 || strings.ContainsAny(d, " /\n\t") || d == "" {
				t.Fatalf("unsafe device name %q", d)
			}
		}
	})
}
