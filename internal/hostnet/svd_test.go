package hostnet

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/umltest"
)

// needSVD runs the calling test here when the kernel has what the single-VXLAN-device layout
// needs (VLAN filtering, VNI filtering), else inside UML; false when it already ran there.
func needSVD(t *testing.T) bool {
	t.Helper()
	requireRoot(t)
	return umltest.Need(t, HasSingleVXLAN, "vrf", "bridge", "vxlan", "veth", "8021q")
}

// svdPlan is the plan of L2VNIs vnis on the single-VXLAN-device layout, as plan.Build makes it.
func svdPlan(vnis ...uint32) plan.KernelPlan {
	kp := underlayPlan()
	kp.SVD = &plan.SVD{Bridge: plan.SVDBridge, VXLAN: plan.SVDVXLAN, Port: 4789}
	for _, vni := range vnis {
		v := l2vni(vni)
		v.Bridge, v.VXLAN, v.SVI = plan.SVDBridge, plan.SVDVXLAN, plan.SVIName(vni)
		kp.L2VNIs = append(kp.L2VNIs, v)
	}
	return kp
}

// bridgeJSON runs `bridge -n <ns> -j <args>` and decodes its output: iproute2 reads the
// kernel independently of the code under test.
func bridgeJSON(t *testing.T, ns Namespace, out any, args ...string) {
	t.Helper()
	b, err := exec.Command("bridge", append([]string{"-n", ns.Name, "-j"}, args...)...).Output()
	if err != nil {
		t.Fatalf("bridge %v: %v", args, err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("bridge %v: %v in %s", args, err, b)
	}
}

// kernelSVD is the single-VXLAN-device layout as iproute2 shows it: the VXLAN device's
// VLAN → VNI map and VNI filter, and each port's VLANs with their flags.
type kernelSVD struct {
	tunnel map[int]int               // VLAN → VNI
	vnis   []int                     // the filter, sorted
	ports  map[string]map[int]string // port → VLAN → flags ("PVID Egress Untagged")
}

func readKernelSVD(t *testing.T, ns Namespace) kernelSVD {
	t.Helper()
	k := kernelSVD{tunnel: map[int]int{}, ports: map[string]map[int]string{}}
	var tun []struct {
		Ifname  string `json:"ifname"`
		Tunnels []struct {
			VLAN     int `json:"vlan"`
			VLANEnd  int `json:"vlanEnd"`
			TunID    int `json:"tunid"`
			TunIDEnd int `json:"tunidEnd"`
		} `json:"tunnels"`
	}
	bridgeJSON(t, ns, &tun, "vlan", "tunnelshow")
	for _, p := range tun {
		for _, x := range p.Tunnels {
			end := max(x.VLANEnd, x.VLAN)
			for v := x.VLAN; v <= end; v++ {
				k.tunnel[v] = x.TunID + v - x.VLAN
			}
		}
	}
	var vni []struct {
		Ifname string `json:"ifname"`
		VNIs   []struct {
			VNI    int `json:"vni"`
			VNIEnd int `json:"vniEnd"`
		} `json:"vnis"`
	}
	bridgeJSON(t, ns, &vni, "vni", "show")
	for _, d := range vni {
		for _, x := range d.VNIs {
			for v := x.VNI; v <= max(x.VNIEnd, x.VNI); v++ {
				k.vnis = append(k.vnis, v)
			}
		}
	}
	slices.Sort(k.vnis)
	var vl []struct {
		Ifname string `json:"ifname"`
		VLANs  []struct {
			VLAN  int      `json:"vlan"`
			Flags []string `json:"flags"`
		} `json:"vlans"`
	}
	bridgeJSON(t, ns, &vl, "vlan", "show")
	for _, p := range vl {
		m := map[int]string{}
		for _, x := range p.VLANs {
			m[x.VLAN] = strings.Join(x.Flags, " ")
		}
		k.ports[p.Ifname] = m
	}
	return k
}

// vniVLAN is the VLAN the kernel maps to vni, 0 for none.
func (k kernelSVD) vniVLAN(vni int) int {
	for vid, v := range k.tunnel {
		if v == vni {
			return vid
		}
	}
	return 0
}

// checkSVD asserts that the kernel holds the layout for exactly vnis (L2VNIs): see checkSVDVNIs.
func checkSVD(t *testing.T, e *env, vnis ...int) map[int]int {
	t.Helper()
	return checkSVDVNIs(t, e, vnis, nil)
}

// checkSVDVNIs asserts that the kernel holds the layout for exactly the L2VNIs l2 and the
// L3VNIs l3: each VNI mapped to one VLAN and in the filter, the bridge a tagged member of the
// VLAN, an SVI on it; an L2VNI's router veth an untagged access port of that VLAN and nothing
// else, its host side as in the per-VNI layout. It returns the VLAN of each VNI.
func checkSVDVNIs(t *testing.T, e *env, l2, l3 []int) map[int]int {
	t.Helper()
	br, ok := mustLink(t, e.rh, plan.SVDBridge).(*netlink.Bridge)
	if !ok || br.VlanFiltering == nil || !*br.VlanFiltering {
		t.Fatalf("%s is not a VLAN-filtering bridge: %+v", plan.SVDBridge, br)
	}
	vx, ok := mustLink(t, e.rh, plan.SVDVXLAN).(*netlink.Vxlan)
	if !ok || !vx.FlowBased || vx.Learning || vx.Port != 4789 || !vx.SrcAddr.Equal(underlay().LocalIP.AsSlice()) {
		t.Fatalf("%s is not an external VXLAN device from the VTEP without learning: %+v", plan.SVDVXLAN, vx)
	}
	if got := masterName(t, e.rh, vx); got != plan.SVDBridge {
		t.Errorf("%s master %q", plan.SVDVXLAN, got)
	}
	pi, err := e.rh.LinkGetProtinfo(vx)
	if err != nil {
		t.Fatal(err)
	}
	if pi.Learning || !pi.NeighSuppress || !pi.VlanTunnel {
		t.Errorf("%s port flags: learning=%v neigh_suppress=%v vlan_tunnel=%v", plan.SVDVXLAN, pi.Learning, pi.NeighSuppress, pi.VlanTunnel)
	}
	k := readKernelSVD(t, e.router)
	vnis := append(slices.Clone(l2), l3...)
	if want := slices.Sorted(slices.Values(vnis)); !slices.Equal(k.vnis, want) {
		t.Errorf("VNI filter of %s: %v, want %v", plan.SVDVXLAN, k.vnis, want)
	}
	if len(k.tunnel) != len(vnis) {
		t.Errorf("VLAN → VNI map of %s: %v, want one VLAN for each of %v", plan.SVDVXLAN, k.tunnel, vnis)
	}
	out := map[int]int{}
	for _, vni := range vnis {
		vid := k.vniVLAN(vni)
		if vid == 0 {
			t.Errorf("VNI %d has no VLAN (map %v)", vni, k.tunnel)
			continue
		}
		out[vni] = vid
		for _, port := range []string{plan.SVDVXLAN, plan.SVDBridge} {
			if f, ok := k.ports[port][vid]; !ok || strings.Contains(f, "PVID") || strings.Contains(f, "Untagged") {
				t.Errorf("%s: VLAN %d %q (present %v), want tagged", port, vid, f, ok)
			}
		}
		svi, ok := mustLink(t, e.rh, plan.SVIName(uint32(vni))).(*netlink.Vlan)
		if !ok || svi.VlanId != vid || svi.ParentIndex != br.Index || svi.Flags&1 == 0 || svi.Group != OwnedGroup {
			t.Errorf("SVI of VNI %d: %+v, want VLAN %d on %s, up", vni, svi, vid, plan.SVDBridge)
		}
		if !slices.Contains(l2, vni) {
			continue
		}
		pe := plan.RouterVethName(uint32(vni))
		if got, want := k.ports[pe], map[int]string{vid: "PVID Egress Untagged"}; !maps.Equal(got, want) {
			t.Errorf("%s VLANs %v, want %v", pe, got, want)
		}
		if got := masterName(t, e.rh, mustLink(t, e.rh, pe)); got != plan.SVDBridge {
			t.Errorf("%s master %q", pe, got)
		}
		host := mustLink(t, e.hh, plan.HostVethName(uint32(vni)))
		if got := masterName(t, e.hh, host); got != plan.ManagedHostBridgeName(uint32(vni)) {
			t.Errorf("%s master %q", host.Attrs().Name, got)
		}
	}
	for _, port := range []string{plan.SVDVXLAN, plan.SVDBridge} {
		if len(k.ports[port]) != len(vnis) {
			t.Errorf("%s has VLANs %v, want only those of %v", port, k.ports[port], vnis)
		}
	}
	return out
}

func TestSVDLayout(t *testing.T) {
	if !needSVD(t) {
		return
	}
	e := newEnv(t)
	e.apply(t, svdPlan(100, 101, 102))
	vids := checkSVD(t, e, 100, 101, 102)
	for _, vni := range []uint32{100, 101, 102} {
		noLink(t, e.rh, plan.BridgeName(vni))
		noLink(t, e.rh, plan.VXLANName(vni))
	}
	if res := e.apply(t, svdPlan(100, 101, 102)); res.Writes != 0 {
		t.Errorf("second apply wrote %d times: %+v", res.Writes, res)
	}

	// A VNI that goes takes its VLAN, mapping, filter entry and devices; the others keep
	// their VLANs; a new VNI takes the lowest free VLAN.
	e.apply(t, svdPlan(100, 102))
	after := checkSVD(t, e, 100, 102)
	for _, vni := range []int{100, 102} {
		if after[vni] != vids[vni] {
			t.Errorf("VNI %d moved from VLAN %d to %d", vni, vids[vni], after[vni])
		}
	}
	noLink(t, e.rh, plan.RouterVethName(101))
	noLink(t, e.hh, plan.ManagedHostBridgeName(101))
	e.apply(t, svdPlan(100, 102, 200))
	if got := checkSVD(t, e, 100, 102, 200); got[200] != vids[101] {
		t.Errorf("VNI 200 got VLAN %d, want the freed %d", got[200], vids[101])
	}

	// Drift: a VLAN added to a port by hand, a mapping removed by hand.
	pe := mustLink(t, e.rh, plan.RouterVethName(100))
	if err := e.rh.BridgeVlanAdd(pe, 3000, false, false, false, true); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("bridge", "-n", e.router.Name, "vlan", "del", "dev", plan.SVDVXLAN, "vid", fmt.Sprint(vids[102])).CombinedOutput(); err != nil {
		t.Fatalf("bridge vlan del: %v: %s", err, out)
	}
	e.apply(t, svdPlan(100, 102, 200))
	checkSVD(t, e, 100, 102, 200)

	// Everything goes.
	e.apply(t, underlayPlan())
	noLink(t, e.rh, plan.SVDBridge)
	noLink(t, e.rh, plan.SVDVXLAN)
	noLink(t, e.hh, plan.HostVethName(100))
}

// TestSVDVLANLimit: past the bridge's VLANs, an L2VNI fails alone with an error that says why;
// the others stay; it gets a VLAN once one is free. (The limit is 4094; the test lowers it.)
func TestSVDVLANLimit(t *testing.T) {
	if !needSVD(t) {
		return
	}
	e := newEnv(t)
	e.a.maxVLANs = 2
	_, err := e.a.Apply(t.Context(), svdPlan(100, 101, 102), e.router, e.host)
	if e.rh == nil {
		e.rh = handle(t, e.router)
	}
	if err == nil || !strings.Contains(err.Error(), "at most 2 VNIs") || !strings.Contains(err.Error(), "vni-102") {
		t.Fatalf("apply of 3 VNIs with 2 VLANs: %v, want vni-102 refused for want of a VLAN", err)
	}
	checkSVD(t, e, 100, 101)
	noLink(t, e.rh, plan.RouterVethName(102))
	e.apply(t, svdPlan(101, 102))
	checkSVD(t, e, 101, 102)
}

// TestLayoutMigration moves a node from the per-VNI layout to the single VXLAN device and back
// in one pass each: the host side (host bridges, host veths, a workload's port) stays as it
// is, with the same interfaces, and nothing of the old layout is left.
func TestLayoutMigration(t *testing.T) {
	if !needSVD(t) {
		return
	}
	e := newEnv(t)
	per := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{l2vni(100), l2vni(101), l2vni(102)}}
	e.apply(t, per)
	// A workload's port on a host bridge.
	wl := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "wl0"}, PeerName: "wl0p"}
	if err := e.hh.LinkAdd(wl); err != nil {
		t.Fatal(err)
	}
	if err := e.hh.LinkSetMaster(mustLink(t, e.hh, "wl0"), mustLink(t, e.hh, plan.ManagedHostBridgeName(100))); err != nil {
		t.Fatal(err)
	}
	hostIndex := func() map[string]int {
		out := map[string]int{}
		for _, vni := range []uint32{100, 101, 102} {
			for _, n := range []string{plan.HostVethName(vni), plan.ManagedHostBridgeName(vni)} {
				out[n] = mustLink(t, e.hh, n).Attrs().Index
			}
		}
		return out
	}
	before := hostIndex()

	e.apply(t, svdPlan(100, 101, 102))
	checkSVD(t, e, 100, 101, 102)
	for _, vni := range []uint32{100, 101, 102} {
		noLink(t, e.rh, plan.BridgeName(vni))
		noLink(t, e.rh, plan.VXLANName(vni))
	}
	if got := hostIndex(); !maps.Equal(got, before) {
		t.Errorf("host side changed in the move to the single VXLAN device: %v, was %v", got, before)
	}
	if got := masterName(t, e.hh, mustLink(t, e.hh, "wl0")); got != plan.ManagedHostBridgeName(100) {
		t.Errorf("workload port's master %q", got)
	}
	if res := e.apply(t, svdPlan(100, 101, 102)); res.Writes != 0 {
		t.Errorf("apply after the move wrote %d times", res.Writes)
	}

	// And back (an agent downgraded, or FRR 8.4 again).
	e.apply(t, per)
	noLink(t, e.rh, plan.SVDBridge)
	noLink(t, e.rh, plan.SVDVXLAN)
	for _, vni := range []uint32{100, 101, 102} {
		if got := masterName(t, e.rh, mustLink(t, e.rh, plan.RouterVethName(vni))); got != plan.BridgeName(vni) {
			t.Errorf("%s master %q after the move back", plan.RouterVethName(vni), got)
		}
		if vx := mustLink(t, e.rh, plan.VXLANName(vni)).(*netlink.Vxlan); vx.VxlanId != int(vni) || vx.Attrs().Flags&1 == 0 {
			t.Errorf("%s after the move back: %+v", plan.VXLANName(vni), vx)
		}
	}
	if got := hostIndex(); !maps.Equal(got, before) {
		t.Errorf("host side changed in the move back: %v, was %v", got, before)
	}
	if res := e.apply(t, per); res.Writes != 0 {
		t.Errorf("apply after the move back wrote %d times", res.Writes)
	}
}

// TestSVDL3VNI: on the single VXLAN device an L3VNI is a VRF with an SVI carrying the router
// MAC, and a routed L2VNI's SVI is in that VRF with the anycast gateway's MAC and addresses;
// an unchanged plan writes nothing; without them, the VRF and SVIs go.
func TestSVDL3VNI(t *testing.T) {
	if !needSVD(t) {
		return
	}
	e := newEnv(t)
	kp := svdPlan(110, 120)
	l3 := l3vni(100, "red", true)
	l3.Bridge, l3.VXLAN, l3.SVI = plan.SVDBridge, plan.SVDVXLAN, plan.SVIName(100)
	kp.L3VNIs = []plan.L3VNI{l3}
	gw := netip.MustParsePrefix("192.170.1.1/24")
	kp.L2VNIs[0].VRF, kp.L2VNIs[0].GatewayIPs, kp.L2VNIs[0].GatewayMAC = "red", []netip.Prefix{gw}, plan.GatewayMAC(110)
	e.apply(t, kp)
	vids := checkSVDVNIs(t, e, []int{110, 120}, []int{100})
	// Frames to the gateway are the bridge's own, not unknown unicast flooded to the fabric
	// (the router MAC is the bridge's, on every VLAN of it).
	fdb, err := exec.Command("bridge", "-n", e.router.Name, "fdb", "show", "dev", plan.SVDBridge).CombinedOutput()
	if err != nil {
		t.Fatalf("bridge fdb: %v: %s", err, fdb)
	}
	for _, want := range []string{
		fmt.Sprintf("%s vlan %d master %s permanent", plan.GatewayMAC(110), vids[110], plan.SVDBridge),
		fmt.Sprintf("%s vlan %d master %s permanent", underlay().RouterMAC, vids[100], plan.SVDBridge),
	} {
		if !strings.Contains(string(fdb), want) {
			t.Errorf("no %q in the bridge's FDB:\n%s", want, fdb)
		}
	}
	vrf := mustLink(t, e.rh, "red")
	for _, c := range []struct {
		vni    uint32
		master string
		mac    string
		addr   netip.Prefix
	}{
		{100, "red", underlay().RouterMAC, netip.Prefix{}},
		{110, "red", plan.GatewayMAC(110), gw},
		{120, "", "", netip.Prefix{}},
	} {
		svi := mustLink(t, e.rh, plan.SVIName(c.vni))
		if got := masterName(t, e.rh, svi); got != c.master {
			t.Errorf("%s master %q, want %q", svi.Attrs().Name, got, c.master)
		}
		if c.mac != "" && svi.Attrs().HardwareAddr.String() != c.mac {
			t.Errorf("%s MAC %s, want %s", svi.Attrs().Name, svi.Attrs().HardwareAddr, c.mac)
		}
		if c.addr.IsValid() && !hasAddr(t, e.rh, svi, c.addr) {
			t.Errorf("%s lacks %s", svi.Attrs().Name, c.addr)
		}
	}
	if got := masterName(t, e.rh, mustLink(t, e.rh, plan.RouterVethName(100))); got != vrf.Attrs().Name {
		t.Errorf("host session veth master %q", got)
	}
	if res := e.apply(t, kp); res.Writes != 0 {
		t.Errorf("second apply wrote %d times: %+v", res.Writes, res)
	}
	e.apply(t, svdPlan(120))
	checkSVD(t, e, 120)
	noLink(t, e.rh, "red")
	noLink(t, e.rh, plan.SVIName(100))
	noLink(t, e.rh, plan.SVIName(110))
	if fdb, err := exec.Command("bridge", "-n", e.router.Name, "fdb", "show", "dev", plan.SVDBridge).CombinedOutput(); err != nil || strings.Contains(string(fdb), plan.GatewayMAC(110)+" vlan") {
		t.Errorf("the gateway's FDB entry outlived it (%v):\n%s", err, fdb)
	}
}

// TestLayoutMigrationKeepsNeighbours: a workload the router knew on its segment's interface
// before a move between layouts is known on the new interface after it, without a frame of
// its own: the pass has the new interface resolve it (a silent workload keeps its MAC+IP
// route).
func TestLayoutMigrationKeepsNeighbours(t *testing.T) {
	if !needSVD(t) {
		return
	}
	e := newEnv(t)
	gw := netip.MustParsePrefix("192.170.1.1/24")
	routed := func(kp plan.KernelPlan, svd bool) plan.KernelPlan {
		l3 := l3vni(100, "red", false)
		if svd {
			l3.Bridge, l3.VXLAN, l3.SVI = plan.SVDBridge, plan.SVDVXLAN, plan.SVIName(100)
		}
		kp.L3VNIs = []plan.L3VNI{l3}
		kp.L2VNIs[0].VRF, kp.L2VNIs[0].GatewayIPs, kp.L2VNIs[0].GatewayMAC = "red", []netip.Prefix{gw}, plan.GatewayMAC(110)
		return kp
	}
	per := routed(plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{l2vni(110)}}, false)
	svd := routed(svdPlan(110), true)
	e.apply(t, per)

	// A workload on the segment, known to the router once it has spoken.
	wl := testNS(t, "wl", true)
	wh := handle(t, wl)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "wl0"}, PeerName: "wl0p", PeerNamespace: netlink.NsFd(int(nsHandle(t, wl)))}
	if err := e.hh.LinkAdd(veth); err != nil {
		t.Fatal(err)
	}
	if err := e.hh.LinkSetMaster(mustLink(t, e.hh, "wl0"), mustLink(t, e.hh, plan.ManagedHostBridgeName(110))); err != nil {
		t.Fatal(err)
	}
	if err := e.hh.LinkSetUp(mustLink(t, e.hh, "wl0")); err != nil {
		t.Fatal(err)
	}
	wlIP := netip.MustParsePrefix("192.170.1.10/24")
	if err := wh.AddrAdd(mustLink(t, wh, "wl0p"), &netlink.Addr{IPNet: ipNet(wlIP)}); err != nil {
		t.Fatal(err)
	}
	if err := wh.LinkSetUp(mustLink(t, wh, "wl0p")); err != nil {
		t.Fatal(err)
	}
	wlMAC := mustLink(t, wh, "wl0p").Attrs().HardwareAddr.String()
	known := func(dev string) error {
		out, err := exec.Command("ip", "-n", e.router.Name, "neigh", "show", "dev", dev).CombinedOutput()
		if err != nil || !strings.Contains(string(out), wlIP.Addr().String()+" lladdr "+wlMAC) {
			return fmt.Errorf("%s does not know %s at %s (%v):\n%s", dev, wlIP.Addr(), wlMAC, err, out)
		}
		return nil
	}
	pollFor(t, 10*time.Second, func() error {
		if out, err := exec.Command("ip", "netns", "exec", wl.Name, "ping", "-c", "1", "-W", "1", gw.Addr().String()).CombinedOutput(); err != nil {
			return fmt.Errorf("workload → gateway: %v: %s", err, out)
		}
		return known(plan.BridgeName(110))
	})

	// The workload stays silent from here on.
	e.apply(t, svd)
	pollFor(t, 10*time.Second, func() error { return known(plan.SVIName(110)) })
	e.apply(t, per)
	pollFor(t, 10*time.Second, func() error { return known(plan.BridgeName(110)) })
}

// pollFor polls check until it returns nil or the deadline passes (then fails with its error).
func pollFor(t *testing.T, d time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
