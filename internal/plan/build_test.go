package plan

import (
	"encoding/json"
	"math/rand/v2"
	"net"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
)

// TestBuildValid builds the valid fixture and checks every part of the plan. Long: one
// assertion per part of the plan.
func TestBuildValid(t *testing.T) {
	p := mustBuild(t, validResources())
	if !p.HasUnderlay {
		t.Fatal("HasUnderlay = false")
	}
	wantApplied := []Ref{
		{"Underlay", "weft", "fabric"}, {"L3VNI", "weft", "blue"}, {"L3VNI", "weft", "red"},
		{"L2VNI", "weft", "legacy"}, {"L2VNI", "weft", "vms"}, {"L2VNI", "weft", "web"}, {"L3Passthrough", "weft", "kube"},
	}
	if !reflect.DeepEqual(p.Applied, wantApplied) {
		t.Errorf("Applied = %v, want %v", p.Applied, wantApplied)
	}
	// Node index 3 → VTEP .4, router ID = VTEP.
	if got := p.FRR.Router.RouterID.String(); got != "100.65.0.4" {
		t.Errorf("router ID = %s", got)
	}
	if got := p.Kernel.Underlay.VTEPs; len(got) != 1 || got[0].String() != "100.65.0.4/32" {
		t.Errorf("VTEPs = %v", got)
	}
	// The router MAC spells the VTEP out.
	if p.Kernel.Underlay.RouterMAC != "06:64:41:00:04:00" {
		t.Errorf("router MAC = %s", p.Kernel.Underlay.RouterMAC)
	}
	if got := p.Kernel.Underlay.Interfaces; !slices.Equal(got, []string{"eth1"}) {
		t.Errorf("interfaces = %v", got)
	}
	// Neighbors sorted by address, passthrough neighbor included in the default VRF.
	var ids []string
	for _, n := range p.FRR.Router.Neighbors {
		ids = append(ids, n.ID())
	}
	if want := []string{"192.168.11.1", "192.168.11.2", "192.169.20.5"}; !slices.Equal(ids, want) {
		t.Errorf("default VRF neighbors = %v, want %v", ids, want)
	}
	if n := p.FRR.Router.Neighbors[0]; n.Password == nil || n.Password.Name != "tor-pass" || n.Password.Key != "password" {
		t.Errorf("password ref = %+v", n.Password)
	}
	// The printable plan never holds the password value.
	raw, _ := json.Marshal(p)
	if strings.Contains(string(raw), "s3cr3t-md5") {
		t.Error("the plan's printable form contains the password")
	}
	// VRFs in VNI order; red routes web's gateway subnets.
	if len(p.FRR.VRFs) != 2 || p.FRR.VRFs[0].Name != "red" || p.FRR.VRFs[1].Name != "blue" {
		t.Fatalf("VRFs = %+v", p.FRR.VRFs)
	}
	red := p.FRR.VRFs[0]
	if !slices.Equal(red.IPv4Networks, []netip.Prefix{netip.MustParsePrefix("192.170.1.0/24")}) ||
		!slices.Equal(red.IPv6Networks, []netip.Prefix{netip.MustParsePrefix("fd00:170::/64")}) {
		t.Errorf("red networks = %v %v", red.IPv4Networks, red.IPv6Networks)
	}
	if len(red.Neighbors) != 2 || red.Neighbors[0].Address.String() != "192.169.10.5" || red.Neighbors[1].Address.String() != "fd00:10::5" {
		t.Errorf("red host neighbors = %+v", red.Neighbors)
	}
	if red.Neighbors[0].RemoteAS != "64515" || red.Neighbors[0].RouteMapIn != "host_red_in" || !red.Neighbors[0].BFD {
		t.Errorf("red host neighbor = %+v", red.Neighbors[0])
	}
	if red.ASN != 64514 {
		t.Errorf("red ASN = %d, want the underlay's", red.ASN)
	}
	if blue := p.FRR.VRFs[1]; blue.Neighbors[0].RemoteAS != "external" {
		t.Errorf("blue remote-as = %s", blue.Neighbors[0].RemoteAS)
	}
	// Kernel: L3VNI veth addresses; L2VNIs in VNI order with the right masters.
	l3 := p.Kernel.L3VNIs[0]
	if l3.Bridge != "br-pe-100" || l3.VXLAN != "vni100" || l3.VXLANPort != 4789 || l3.HostVeth == nil ||
		l3.HostVeth.RouterName != "pe-100" || l3.HostVeth.HostName != "host-100" ||
		l3.HostVeth.RouterAddrs[0].String() != "192.169.10.1/24" || l3.HostVeth.HostAddrs[0].String() != "192.169.10.5/24" {
		t.Errorf("kernel L3VNI = %+v %+v", l3, l3.HostVeth)
	}
	l2 := p.Kernel.L2VNIs
	if len(l2) != 3 || l2[0].VNI != 110 || l2[0].VRF != "red" || l2[0].GatewayMAC != "02:77:67:00:00:6e" ||
		!l2[0].HostMaster.Managed || l2[0].HostMaster.Name != "br-hs-110" {
		t.Errorf("kernel L2VNI web = %+v", l2[0])
	}
	if l2[1].MTU != 1450 || l2[1].VRF != "" || l2[1].GatewayMAC != "" {
		t.Errorf("kernel L2VNI legacy = %+v", l2[1])
	}
	if l2[2].HostMaster.Managed || l2[2].HostMaster.Name != "br-vms" {
		t.Errorf("kernel L2VNI vms host master = %+v", l2[2].HostMaster)
	}
	if evpn := p.FRR.Router.EVPN; !evpn.AdvertiseAllVNI || len(evpn.VNIs) != 1 || evpn.VNIs[0].VNI != 120 || evpn.VNIs[0].RD != "100.65.0.4:120" {
		t.Errorf("EVPN = %+v", evpn)
	}
	if pt := p.Kernel.Passthrough; pt == nil || pt.Veth.RouterName != "pe-pt" || pt.Veth.HostAddrs[0].String() != "192.169.20.5/24" {
		t.Errorf("passthrough = %+v", pt)
	}
	// Filters: red's toReceive is filtered per family; "le 128" after "ge 64" is dropped as FRR does.
	var in6 *struct{ ge, le uint8 }
	for _, pl := range p.FRR.PrefixLists {
		if pl.Name == "host_red_in_v6" {
			in6 = &struct{ ge, le uint8 }{pl.Entries[0].GE, pl.Entries[0].LE}
		}
	}
	if in6 == nil || in6.ge != 64 || in6.le != 0 {
		t.Errorf("host_red_in_v6 = %+v", in6)
	}
	for _, d := range p.Kernel.names() {
		if len(d) > 15 {
			t.Errorf("device name %q is longer than 15 characters", d)
		}
	}
}

func TestBuildDeterministic(t *testing.T) {
	base := validResources()
	// Add conflicting objects so tie-breaking matters too.
	base.L2VNIs = append(base.L2VNIs, v1alpha1.L2VNI{ObjectMeta: meta("dup-vni"), Spec: v1alpha1.L2VNISpec{VNI: 110}})
	base.Underlays = append(base.Underlays, v1alpha1.Underlay{ObjectMeta: meta("zz-second"), Spec: base.Underlays[0].Spec})
	want, wantErrs := Build(base, testNode)
	wantJSON, _ := json.Marshal(struct {
		P NodePlan
		E []ResourceError
	}{want, wantErrs})
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 50; i++ {
		r := base
		r.L2VNIs = slices.Clone(base.L2VNIs)
		r.L3VNIs = slices.Clone(base.L3VNIs)
		r.Underlays = slices.Clone(base.Underlays)
		rng.Shuffle(len(r.L2VNIs), func(a, b int) { r.L2VNIs[a], r.L2VNIs[b] = r.L2VNIs[b], r.L2VNIs[a] })
		rng.Shuffle(len(r.L3VNIs), func(a, b int) { r.L3VNIs[a], r.L3VNIs[b] = r.L3VNIs[b], r.L3VNIs[a] })
		rng.Shuffle(len(r.Underlays), func(a, b int) { r.Underlays[a], r.Underlays[b] = r.Underlays[b], r.Underlays[a] })
		got, gotErrs := Build(r, testNode)
		gotJSON, _ := json.Marshal(struct {
			P NodePlan
			E []ResourceError
		}{got, gotErrs})
		if string(gotJSON) != string(wantJSON) {
			t.Fatalf("shuffle %d changed the output:\n got %s\nwant %s", i, gotJSON, wantJSON)
		}
	}
	if len(wantErrs) != 2 {
		t.Errorf("want 2 conflicts, got %v", wantErrs)
	}
}

func TestNoUnderlay(t *testing.T) {
	r := validResources()
	r.Underlays = nil
	p, errs := Build(r, testNode)
	if p.HasUnderlay || len(p.Applied) != 0 || len(p.Kernel.L2VNIs) != 0 {
		t.Fatalf("plan without underlay is not empty: %+v", p)
	}
	if len(errs) != 6 {
		t.Fatalf("want 6 DependencyFailed errors, got %v", errs)
	}
	for _, e := range errs {
		if e.Reason != ReasonDependencyFailed {
			t.Errorf("%v: reason %s", e, e.Reason)
		}
	}
}

func TestNodeSelector(t *testing.T) {
	r := validResources()
	r.L2VNIs[1].Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r2"}}
	p := mustBuild(t, r)
	for _, a := range p.Applied {
		if a.Name == "legacy" {
			t.Error("L2VNI/legacy selects rack r2 but was applied on a node of rack r1")
		}
	}
	r.L2VNIs[1].Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r1"}}
	p, _ = Build(r, testNode)
	if !slices.Contains(p.Applied, Ref{"L2VNI", "weft", "legacy"}) {
		t.Error("L2VNI/legacy selects rack r1 but was not applied")
	}
}

func TestOlderWins(t *testing.T) {
	r := validResources()
	newer := v1alpha1.L2VNI{ObjectMeta: meta("aaa-newer"), Spec: v1alpha1.L2VNISpec{VNI: 120}}
	newer.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	r.L2VNIs[1].CreationTimestamp = metav1.NewTime(newer.CreationTimestamp.Add(-time.Hour))
	r.L2VNIs = append(r.L2VNIs, newer)
	_, errs := Build(r, testNode)
	if len(errs) != 1 || errs[0].Name != "aaa-newer" || errs[0].Reason != ReasonConflict || errs[0].Field != "spec.vni" {
		t.Fatalf("want the newer L2VNI to lose its VNI, got %v", errs)
	}
}

func TestRouterAddrs(t *testing.T) {
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	kp := KernelPlan{
		Underlay: Underlay{VTEPs: []netip.Prefix{p("10.255.0.1/32")}},
		L3VNIs: []L3VNI{
			{VNI: 100, VRF: "red", HostVeth: &Veth{RouterName: "pe-100", RouterAddrs: []netip.Prefix{p("192.169.10.1/24")}, HostAddrs: []netip.Prefix{p("192.169.10.2/24")}}},
			{VNI: 200, VRF: "blue"},
		},
		L2VNIs: []L2VNI{
			{VNI: 110, Bridge: "br-pe-110", VRF: "red", GatewayIPs: []netip.Prefix{p("192.168.110.1/24")}},
			{VNI: 120, Bridge: "br-pe-120"},
		},
		Passthrough: &Passthrough{Veth: Veth{RouterName: "pe-pt", RouterAddrs: []netip.Prefix{p("192.169.11.1/24")}}},
	}
	got := kp.RouterAddrs()
	want := map[string][]netip.Prefix{
		"lo":        {p("10.255.0.1/32")},
		"pe-100":    {p("192.169.10.1/24")},
		"br-pe-110": {p("192.168.110.1/24")},
		"pe-pt":     {p("192.169.11.1/24")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for dev, ps := range want {
		if !slices.Equal(got[dev], ps) {
			t.Errorf("%s: got %v, want %v", dev, got[dev], ps)
		}
	}
}

func TestParseLabels(t *testing.T) {
	got, err := ParseLabels("rack=r1,kubernetes.io/hostname=n1,empty=")
	if err != nil || len(got) != 3 || got["rack"] != "r1" || got["kubernetes.io/hostname"] != "n1" || got["empty"] != "" {
		t.Fatalf("got %v, %v", got, err)
	}
	if got, err := ParseLabels(" "); err != nil || len(got) != 0 {
		t.Fatalf("blank: got %v, %v", got, err)
	}
	for _, bad := range []string{"rack", "=v", "a=b,,c=d"} {
		if _, err := ParseLabels(bad); err == nil {
			t.Errorf("ParseLabels(%q): want an error", bad)
		}
	}
}

// TestDuplicateAddressDetection: every node renders EVPN duplicate-address detection at 10
// moves in 60 s, stated here: FRR's default (5 in 180 s) freezes a KubeVirt VM that migrates
// back and forth, and without detection two hosts fighting over a MAC go unnoticed.
func TestDuplicateAddressDetection(t *testing.T) {
	p, _ := Build(validResources(), testNode)
	if got := p.FRR.Router.EVPN.DupAddrDetection; got.MaxMoves != 10 || got.TimeSeconds != 60 {
		t.Errorf("duplicate-address detection = %+v, want 10 moves in 60 s", got)
	}
	conf, err := frr.Render(&p.FRR, Passwords(validResources().Secrets))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(conf, "\n  dup-addr-detection max-moves 10 time 60\n") {
		t.Errorf("frr.conf lacks dup-addr-detection max-moves 10 time 60:\n%s", conf)
	}
}

// TestRouterMACIsUniqueInTheFabric: the router MAC follows the VTEP, not the node index. Two
// clusters on one fabric number their nodes from 0 alike; with index-derived router MACs node
// 0 of each advertised one MAC from two VTEPs and routed traffic to one of them was lost (the
// lab's TestClusters found it). Distinct VTEPs give distinct router MACs, IPv4 and IPv6, all
// locally administered unicast and none in the anycast gateway MACs' range.
func TestRouterMACIsUniqueInTheFabric(t *testing.T) {
	node := func(cidr string, index int) string {
		t.Helper()
		res := Resources{Underlays: []v1alpha1.Underlay{{
			ObjectMeta: metav1.ObjectMeta{Name: "u", Namespace: "ns"},
			Spec: v1alpha1.UnderlaySpec{
				ASN:            65000,
				Neighbors:      []v1alpha1.Neighbor{{Address: "10.0.0.1", Type: v1alpha1.PeerInternal}},
				TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{cidr}},
				RouterIDCIDR:   "10.254.0.0/16",
			},
		}}}
		p, errs := Build(res, Node{Name: "n", Index: index})
		if len(errs) > 0 || !p.HasUnderlay {
			t.Fatalf("%s index %d: %v", cidr, index, errs)
		}
		return p.Kernel.Underlay.RouterMAC
	}
	if a, b := node("10.255.1.0/24", 0), node("10.255.2.0/24", 0); a == b {
		t.Errorf("node 0 of two clusters (VTEPs 10.255.1.1 and 10.255.2.1) share router MAC %s", a)
	}
	seen := map[string]string{}
	add := func(vtep netip.Addr) {
		mac := RouterMAC(vtep)
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			t.Fatalf("RouterMAC(%s) = %q: %v", vtep, mac, err)
		}
		if hw[0]&0x01 != 0 || hw[0]&0x02 == 0 {
			t.Errorf("RouterMAC(%s) = %s: not a locally administered unicast MAC", vtep, mac)
		}
		if strings.HasPrefix(mac, "02:77:67:") {
			t.Errorf("RouterMAC(%s) = %s: in the gateway MACs' range", vtep, mac)
		}
		if other, ok := seen[mac]; ok {
			t.Errorf("VTEPs %s and %s share router MAC %s", other, vtep, mac)
		}
		seen[mac] = vtep.String()
	}
	for _, base := range []string{"10.255.1.0", "10.254.1.0", "11.255.1.0", "192.168.1.0"} {
		a := netip.MustParseAddr(base)
		for range 300 {
			add(a)
			a = a.Next()
		}
	}
	for _, base := range []string{"fd00::", "fd00:1::", "2001:db8::"} {
		a := netip.MustParseAddr(base)
		for range 300 {
			add(a)
			a = a.Next()
		}
	}
}

// TestPassthroughMakesIBGPUnderlayNextHopSelf: with an L3Passthrough, the host's routes go on
// to the fabric; over iBGP bgpd would keep the host's address as their next hop, which the
// fabric cannot reach (the lab's TestPassthroughCarriesHostRoutes found the spine without the
// host's prefix). So iBGP underlay sessions send next-hop-self, and only then: eBGP sessions
// change the next hop anyway, and without a passthrough nothing but the node's own routes
// goes out.
func TestPassthroughMakesIBGPUnderlayNextHopSelf(t *testing.T) {
	res := validResources()
	res.Underlays[0].Spec.Neighbors = append(res.Underlays[0].Spec.Neighbors, v1alpha1.Neighbor{Address: "192.168.12.1", Type: v1alpha1.PeerInternal})
	nextHopSelf := func(p NodePlan) map[string]bool {
		out := map[string]bool{}
		for _, nb := range p.FRR.Router.Neighbors {
			out[nb.Address.String()] = nb.NextHopSelf
		}
		return out
	}
	got := nextHopSelf(mustBuild(t, res))
	want := map[string]bool{"192.168.11.1": false, "192.168.11.2": false, "192.168.12.1": true}
	for addr, w := range want {
		if got[addr] != w {
			t.Errorf("with a passthrough: neighbor %s next-hop-self %v, want %v (all: %v)", addr, got[addr], w, got)
		}
	}
	for addr, nhs := range got {
		if _, underlay := want[addr]; !underlay && nhs {
			t.Errorf("host session %s has next-hop-self", addr)
		}
	}
	res.L3Passthroughs = nil
	for addr, nhs := range nextHopSelf(mustBuild(t, res)) {
		if nhs {
			t.Errorf("without a passthrough: neighbor %s has next-hop-self", addr)
		}
	}
}

// TestIPv6OnlyVTEPNeedsFRRWithEVPNOverIPv6: on a node whose FRR is known to lack EVPN over an
// IPv6 underlay (before 10.6), an Underlay with an IPv6 VTEP and no IPv4 one fails on the
// IPv6 CIDR, naming the release; with an IPv4 CIDR beside it (the VXLAN devices use that), on
// FRR 10.6, or with the release unknown (the webhooks, offline rendering) it plans.
func TestIPv6OnlyVTEPNeedsFRRWithEVPNOverIPv6(t *testing.T) {
	build := func(release string, cidrs ...string) []ResourceError {
		t.Helper()
		node := Node{Name: "n", Index: 0}
		if release != "" {
			v, err := frr.ParseVersion("FRRouting " + release + " (n) on Linux(6.1).")
			if err != nil {
				t.Fatal(err)
			}
			node.FRR = v
		}
		res := Resources{Underlays: []v1alpha1.Underlay{{
			ObjectMeta: metav1.ObjectMeta{Name: "u", Namespace: "ns"},
			Spec: v1alpha1.UnderlaySpec{
				ASN:            65000,
				Neighbors:      []v1alpha1.Neighbor{{Address: "fd00:1::1", Type: v1alpha1.PeerInternal}},
				TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: cidrs},
				RouterIDCIDR:   "10.254.0.0/16",
			},
		}}}
		p, errs := Build(res, node)
		if len(errs) == 0 && !p.HasUnderlay {
			t.Fatalf("FRR %q, %v: no error and no underlay", release, cidrs)
		}
		return errs
	}
	for _, release := range []string{"8.4.4", "10.3", "10.5-dev"} {
		errs := build(release, "10.255.1.0/24", "fd00:255::/64")
		if len(errs) != 0 {
			t.Errorf("FRR %s, dual-stack VTEPs: %v", release, errs)
		}
		errs = build(release, "fd00:255::/64")
		if len(errs) != 1 || errs[0].Field != "spec.tunnelEndpoint.cidrs[0]" || !strings.Contains(errs[0].Message, "FRR 10.6 or later") || !strings.Contains(errs[0].Message, "runs FRR "+release) {
			t.Errorf("FRR %s, IPv6-only VTEP: %v, want one error on spec.tunnelEndpoint.cidrs[0] naming FRR 10.6 and %s", release, errs, release)
		}
	}
	for _, release := range []string{"10.6", "10.6.1", "11.0", ""} {
		if errs := build(release, "fd00:255::/64"); len(errs) != 0 {
			t.Errorf("FRR %q, IPv6-only VTEP: %v, want it planned", release, errs)
		}
	}
}
