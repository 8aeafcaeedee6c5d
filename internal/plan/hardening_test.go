package plan

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/ipam"
)

// later makes an object younger than the fixture's (whose timestamps are all zero), so it
// loses every contest.
func later(m *metav1.ObjectMeta) { m.CreationTimestamp = metav1.NewTime(time.Unix(1e9, 0)) }

// dependents are the errors of the resources that need Underlay fabric or L3VNI red.
var (
	webNeedsRed = want{L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}
)

// TestHardening holds the families of bad input that got through before (issue 9): each
// case must fail on its own field, and nothing else may change.
// Long: a table of cases.
func TestHardening(t *testing.T) {
	var cases []invalidCase
	add := func(name string, mutate func(r *Resources), w ...want) {
		cases = append(cases, invalidCase{name, mutate, w})
	}

	// 1. Host links overlap in the host namespace, whatever VRF they serve; the older wins.
	add("host links overlap across VRFs (v4)", func(r *Resources) {
		blue(r).HostSession.LocalCIDR.IPv4 = "192.169.10.0/25"
		later(&r.L3VNIs[1].ObjectMeta)
	}, want{L3, "blue", "spec.hostSession.localCIDR.ipv4", ReasonConflict})
	add("host links overlap across VRFs (v6)", func(r *Resources) {
		blue(r).HostSession.LocalCIDR.IPv6 = "fd00:10::/48"
		later(&r.L3VNIs[1].ObjectMeta)
	}, want{L3, "blue", "spec.hostSession.localCIDR.ipv6", ReasonConflict})
	add("host links overlap: the older L3VNI keeps its link", func(r *Resources) {
		blue(r).HostSession.LocalCIDR.IPv4 = "192.169.10.0/24"
		later(&r.L3VNIs[0].ObjectMeta)
	}, want{L3, "red", "spec.hostSession.localCIDR.ipv4", ReasonConflict}, webNeedsRed)
	add("passthrough link overlaps an L3VNI's", func(r *Resources) {
		pt(r).LocalCIDR.IPv4 = "192.169.11.128/25"
	}, want{PT, "kube", "spec.hostSession.localCIDR.ipv4", ReasonConflict})
	add("older passthrough keeps its link against a newer L3VNI", func(r *Resources) {
		blue(r).HostSession.LocalCIDR.IPv4 = "192.169.20.0/24"
		later(&r.L3VNIs[1].ObjectMeta)
	}, want{L3, "blue", "spec.hostSession.localCIDR.ipv4", ReasonConflict})
	add("passthrough v6 link overlaps an L3VNI's", func(r *Resources) {
		pt(r).LocalCIDR.IPv6 = "fd00:10::/64"
		later(&r.L3Passthroughs[0].ObjectMeta)
	}, want{PT, "kube", "spec.hostSession.localCIDR.ipv6", ReasonConflict})

	// 4. Device names: lo, the Underlay's NICs, another resource's device, weft's own names.
	add("vrf named lo", func(r *Resources) { blue(r).VRF = "lo" }, inv(L3, "blue", "spec.vrf"))
	add("vrf named like the uplink", func(r *Resources) { blue(r).VRF = "eth1" }, want{L3, "blue", "spec.vrf", ReasonConflict})
	add("vrf named like a host bridge", func(r *Resources) {
		red(r).VRF = "br-vms"
		later(&r.L3VNIs[0].ObjectMeta)
	}, want{L3, "red", "spec.vrf", ReasonConflict}, webNeedsRed)
	add("vrf named like the passthrough veth", func(r *Resources) { blue(r).VRF = "pe-pt" }, inv(L3, "blue", "spec.vrf"))
	add("vrf named like a host veth", func(r *Resources) { blue(r).VRF = "host-110" }, inv(L3, "blue", "spec.vrf"))
	add("managed host bridge named like the uplink", func(r *Resources) {
		legacy(r).HostMaster = &v1alpha1.HostMaster{Name: "eth1"}
	}, want{L2, "legacy", "spec.hostMaster.name", ReasonConflict})
	add("external host bridge named like the uplink", func(r *Resources) { vms(r).HostMaster.Name = "eth1" },
		want{L2, "vms", "spec.hostMaster.name", ReasonConflict})
	add("managed host bridge named like a VRF", func(r *Resources) {
		legacy(r).HostMaster = &v1alpha1.HostMaster{Name: "blue"}
	}, want{L2, "legacy", "spec.hostMaster.name", ReasonConflict})
	add("managed host bridge named lo", func(r *Resources) {
		legacy(r).HostMaster = &v1alpha1.HostMaster{Name: "lo"}
	}, inv(L2, "legacy", "spec.hostMaster.name"))
	add("managed host bridge named like another VNI's bridge", func(r *Resources) {
		legacy(r).HostMaster = &v1alpha1.HostMaster{Name: "br-hs-110"}
	}, inv(L2, "legacy", "spec.hostMaster.name"))
	add("managed host bridge named like the passthrough veth", func(r *Resources) {
		legacy(r).HostMaster = &v1alpha1.HostMaster{Name: "host-pt"}
	}, inv(L2, "legacy", "spec.hostMaster.name"))
	add("uplink named like a weft device", func(r *Resources) { ul(r).Interfaces[0].NetworkDevice.Name = "vni100" },
		inv(U, "fabric", "spec.interfaces[0].networkDevice.name"))
	add("unnumbered neighbor on lo", func(r *Resources) {
		ul(r).Neighbors[0] = v1alpha1.Neighbor{Interface: "lo", Type: v1alpha1.PeerExternal}
	}, inv(U, "fabric", "spec.neighbors[0].interface"))
	add("unnumbered neighbor on a weft bridge", func(r *Resources) {
		ul(r).Neighbors[0] = v1alpha1.Neighbor{Interface: "br-pe-100", Type: v1alpha1.PeerExternal}
	}, inv(U, "fabric", "spec.neighbors[0].interface"))

	for _, n := range []string{"all", "default"} {
		add("uplink named "+n+" (the kernel refuses it)", func(r *Resources) { ul(r).Interfaces[0].NetworkDevice.Name = n },
			inv(U, "fabric", "spec.interfaces[0].networkDevice.name"))
		add("host bridge named "+n+" (the kernel refuses it)", func(r *Resources) { vms(r).HostMaster.Name = n },
			inv(L2, "vms", "spec.hostMaster.name"))
		add("unnumbered neighbor on "+n, func(r *Resources) {
			ul(r).Neighbors[0] = v1alpha1.Neighbor{Interface: n, Type: v1alpha1.PeerExternal}
		}, inv(U, "fabric", "spec.neighbors[0].interface"))
	}
	add("unnumbered neighbor named like an address", func(r *Resources) {
		ul(r).Neighbors[0] = v1alpha1.Neighbor{Interface: "10.0.0.1", Type: v1alpha1.PeerExternal}
	}, inv(U, "fabric", "spec.neighbors[0].interface"))
	add("passthrough link holds an Underlay neighbor", func(r *Resources) { pt(r).LocalCIDR.IPv4 = "192.168.11.0/24" },
		want{PT, "kube", "spec.hostSession.localCIDR.ipv4", ReasonConflict})
	add("a second Underlay is reported for its broken field first", func(r *Resources) {
		r.Underlays = append(r.Underlays, *r.Underlays[0].DeepCopy())
		r.Underlays[1].Name = "zz-second"
		r.Underlays[1].Spec.ASN = 0
	}, inv(U, "zz-second", "spec.asn"))

	// 5. Special-purpose addresses.
	for _, c := range []string{"127.0.0.0/24", "224.0.0.0/24", "0.0.0.0/0", "0.0.0.0/24", "169.254.0.0/24", "240.0.0.0/24", "255.255.255.0/24"} {
		add("router ID from "+c, func(r *Resources) { ul(r).RouterIDCIDR = c }, inv(U, "fabric", "spec.routerIDCIDR"))
		add("VTEP from "+c, func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{c} }, inv(U, "fabric", "spec.tunnelEndpoint.cidrs[0]"))
	}
	for _, c := range []string{"fe80::/64", "ff02::/64", "::/0", "::ffff:0:0/104", "::/120"} {
		add("IPv6 VTEP from "+c, func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/24", c} }, inv(U, "fabric", "spec.tunnelEndpoint.cidrs[1]"))
	}
	for _, a := range []string{"255.255.255.255", "0.0.0.1", "240.0.0.1", "127.0.0.2", "224.0.0.5", "ff02::5", "::", "::1", "fe80::1"} {
		add("neighbor "+a, func(r *Resources) { ul(r).Neighbors[0].Address = a }, inv(U, "fabric", "spec.neighbors[0].address"))
	}
	add("neighbor is the node's own VTEP", func(r *Resources) { ul(r).Neighbors[0].Address = "100.65.0.4" }, inv(U, "fabric", "spec.neighbors[0].address"))
	add("neighbor is the node's own router ID", func(r *Resources) {
		ul(r).RouterIDCIDR = "10.255.0.0/24"
		ul(r).Neighbors[1].Address = "10.255.0.4"
	}, inv(U, "fabric", "spec.neighbors[1].address"))
	add("neighbor is the node's own IPv6 VTEP", func(r *Resources) {
		ul(r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/24", "fd00:65::/64"}
		ul(r).Neighbors[0].Address = "fd00:65::4"
	}, inv(U, "fabric", "spec.neighbors[0].address"))
	for _, g := range []string{"169.254.1.1/24", "224.0.0.1/24", "127.0.0.1/8", "0.1.2.3/8", "240.1.1.1/24"} {
		add("gateway "+g, func(r *Resources) { web(r).GatewayIPs = []string{g} }, inv(L2, "web", "spec.gatewayIPs[0]"))
	}
	for _, g := range []string{"fe80::1/64", "ff02::1/64", "::1/128", "::ffff:10.0.0.1/120"} {
		add("gateway "+g, func(r *Resources) { web(r).GatewayIPs = []string{"192.170.1.1/24", g} }, inv(L2, "web", "spec.gatewayIPs[1]"))
	}
	for _, c := range []string{"127.0.0.0/24", "224.0.0.0/24", "0.0.0.0/24", "240.0.0.0/24"} {
		add("host link "+c, func(r *Resources) { blue(r).HostSession.LocalCIDR.IPv4 = c }, inv(L3, "blue", "spec.hostSession.localCIDR.ipv4"))
		add("passthrough link "+c, func(r *Resources) { pt(r).LocalCIDR.IPv4 = c }, inv(PT, "kube", "spec.hostSession.localCIDR.ipv4"))
	}
	for _, c := range []string{"fe80::/64", "ff00::/64", "::/64"} {
		add("host link "+c, func(r *Resources) { blue(r).HostSession.LocalCIDR.IPv6 = c }, inv(L3, "blue", "spec.hostSession.localCIDR.ipv6"))
	}

	// 10. The schema's list limits.
	add("17 interfaces", func(r *Resources) {
		ul(r).Interfaces = nil
		for i := range 17 {
			ul(r).Interfaces = append(ul(r).Interfaces, v1alpha1.UnderlayInterface{Type: v1alpha1.InterfaceNetworkDevice, NetworkDevice: &v1alpha1.NetworkDevice{Name: fmt.Sprintf("eth%d", i)}})
		}
	}, inv(U, "fabric", "spec.interfaces"))
	add("65 neighbors", func(r *Resources) {
		ul(r).Neighbors = nil
		for i := range 65 {
			ul(r).Neighbors = append(ul(r).Neighbors, v1alpha1.Neighbor{Address: fmt.Sprintf("192.168.12.%d", i+1), Type: v1alpha1.PeerExternal})
		}
	}, inv(U, "fabric", "spec.neighbors"))
	add("65 BFD profiles", func(r *Resources) {
		for i := range 64 {
			ul(r).BFDProfiles = append(ul(r).BFDProfiles, v1alpha1.BFDProfile{Name: fmt.Sprintf("p%d", i)})
		}
	}, inv(U, "fabric", "spec.bfdProfiles"))
	add("17 import route targets", func(r *Resources) {
		blue(r).ImportRouteTargets = nil
		for i := range 17 {
			blue(r).ImportRouteTargets = append(blue(r).ImportRouteTargets, fmt.Sprintf("64514:%d", i))
		}
	}, inv(L3, "blue", "spec.importRouteTargets"))
	add("17 export route targets", func(r *Resources) {
		legacy(r).ExportRouteTargets = nil
		for i := range 17 {
			legacy(r).ExportRouteTargets = append(legacy(r).ExportRouteTargets, fmt.Sprintf("64514:%d", i))
		}
	}, inv(L2, "legacy", "spec.exportRouteTargets"))
	add("1001 prefixes", func(r *Resources) {
		f := &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered}
		for i := range 1001 {
			f.Prefixes = append(f.Prefixes, v1alpha1.PrefixMatch{Prefix: fmt.Sprintf("10.%d.%d.0/24", i/256, i%256)})
		}
		blue(r).HostSession.ToAdvertise = f
	}, inv(L3, "blue", "spec.hostSession.toAdvertise.prefixes"))

	// 12. A routing domain is an L3VNI of the L2VNI's namespace; Secrets too.
	add("routing domain not an object name", func(r *Resources) { web(r).RoutingDomain.L3VNI = "Red/x" }, inv(L2, "web", "spec.routingDomain.l3vni"))
	add("password Secret in another namespace", func(r *Resources) { r.Secrets[0].Namespace = "other" },
		want{U, "fabric", "spec.neighbors[1].passwordSecret.name", ReasonNotFound})
	add("password Secret name not a name", func(r *Resources) { ul(r).Neighbors[1].PasswordSecret.Name = "Tor Pass" },
		inv(U, "fabric", "spec.neighbors[1].passwordSecret.name"))
	add("password Secret key not a key", func(r *Resources) { ul(r).Neighbors[1].PasswordSecret.Key = "pass word" },
		inv(U, "fabric", "spec.neighbors[1].passwordSecret.key"))

	// 13. Reserved VRF names.
	for _, v := range []string{"main", "local", "default", "all", "Main", "LOCAL", "Default"} {
		add("vrf "+v, func(r *Resources) { blue(r).VRF = v }, inv(L3, "blue", "spec.vrf"))
	}
	runInvalid(t, cases)
}

// TestUsableAddressesStillWork: the special-purpose checks leave ordinary choices alone.
func TestUsableAddressesStillWork(t *testing.T) {
	r := validResources()
	blue(&r).HostSession.LocalCIDR.IPv4 = "169.254.10.0/24" // link-local host links are fine
	ul(&r).Neighbors[1].Address = "169.254.0.1"             // and so are link-local BGP peers
	ul(&r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/24", "fd00:65::/64"}
	mustBuild(t, r)
}

// TestNodeIndexLimit: an index past what the router MAC encodes would give another node's
// MAC; the plan refuses it (the Underlay fails, so nothing is applied).
func TestNodeIndexLimit(t *testing.T) {
	for _, idx := range []int{ipam.MaxNodeIndex + 1, 1 << 30, -1} {
		n := testNode
		n.Index = idx
		p, errs := Build(validResources(), n)
		if p.HasUnderlay {
			t.Errorf("index %d: the plan has an Underlay", idx)
		}
		found := false
		for _, e := range errs {
			if e.Kind == U && e.Reason == ReasonInvalid && strings.Contains(e.Message, "node index") {
				found = true
			}
		}
		if !found {
			t.Errorf("index %d: no Underlay error naming the node index: %v", idx, errs)
		}
	}
	n := testNode
	n.Index = ipam.MaxNodeIndex
	r := validResources()
	ul(&r).TunnelEndpoint.CIDRs = []string{"100.0.0.0/7"}
	if p, errs := Build(r, n); !p.HasUnderlay {
		t.Errorf("index %d (the largest) rejected: %v", n.Index, errs)
	}
}

// TestErrorLinesCannotBeForged: user text with newlines, NULs or escape sequences never
// makes a second line, in the name, the field or the message.
func TestErrorLinesCannotBeForged(t *testing.T) {
	r := validResources()
	r.L2VNIs = append(r.L2VNIs, v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "x\nL2VNI/web: spec.vni: fake", Namespace: "weft"}, Spec: v1alpha1.L2VNISpec{VNI: 150}})
	web(&r).RoutingDomain.L3VNI = "red\x00\nL3VNI/red: fake"
	blue(&r).VRF = "blue\r\nfake"
	red(&r).ImportRouteTargets = []string{"1:1\u2028fake"}
	_, errs := Build(r, testNode)
	if len(errs) < 4 {
		t.Fatalf("want 4 errors, got %v", errs)
	}
	for _, e := range errs {
		line := e.Error()
		if strings.ContainsAny(line, "\n\r\x00\u2028") {
			t.Errorf("error is not one line: %q", line)
		}
		if strings.Contains(line, "fake") && !strings.Contains(line, `\n`) && !strings.Contains(line, `\u2028`) && !strings.Contains(line, `\r`) {
			t.Errorf("user text not escaped: %q", line)
		}
	}
}

// TestReferencesStayInTheirNamespace: an L2VNI routes only into an L3VNI of its own
// namespace, and a neighbor's password comes from a Secret of the Underlay's namespace.
func TestReferencesStayInTheirNamespace(t *testing.T) {
	r := validResources()
	r.L3VNIs[0].Namespace = "tenant-b"
	_, errs := Build(r, testNode)
	if len(errs) != 1 || errs[0].Ref() != (Ref{L2, "weft", "web"}) || errs[0].Field != "spec.routingDomain.l3vni" || errs[0].Reason != ReasonNotFound {
		t.Errorf("L2VNI weft/web routing into L3VNI tenant-b/red: got %v; want one NotFound on spec.routingDomain.l3vni", errs)
	}
	// The same name in the L2VNI's own namespace is found.
	r.L3VNIs = append(r.L3VNIs, *r.L3VNIs[0].DeepCopy())
	r.L3VNIs[2].Namespace = "weft"
	red2 := &r.L3VNIs[2].Spec
	red2.VRF, red2.VNI, red2.RouteDistinguisher, red2.HostSession = "red2", 300, "", nil
	p := mustBuild(t, r)
	for _, l := range p.Kernel.L2VNIs {
		if l.VNI == 110 && l.VRF != "red2" {
			t.Errorf("L2VNI web joined VRF %q; want red2, the L3VNI of its own namespace", l.VRF)
		}
	}
}
