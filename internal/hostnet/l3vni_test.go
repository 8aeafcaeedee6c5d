package hostnet

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/weftnet/weft/internal/plan"
)

// TestL3VNICreateConvergeDelete covers VRFs, L3 bridges, VRF veths and an anycast gateway
// L2VNI; it runs inside UML when this kernel has no VRF.
func TestL3VNICreateConvergeDelete(t *testing.T) {
	if !needVRF(t) {
		return
	}
	e := newEnv(t)
	// An earlier weft run left "blue" with table 5: its table must be kept. A foreign VRF
	// holds table 1000, so "red" (VNI 1000) must get another one.
	e.rh = nil
	e.apply(t, underlayPlan())
	must(t, e.rh.LinkAdd(&netlink.Vrf{LinkAttrs: netlink.LinkAttrs{Name: "blue", Group: OwnedGroup}, Table: 5}))
	must(t, e.rh.LinkAdd(&netlink.Vrf{LinkAttrs: netlink.LinkAttrs{Name: "theirs"}, Table: 1000}))

	gw := l2vni(50)
	gw.VRF = "red"
	gw.GatewayIPs = []netip.Prefix{netip.MustParsePrefix("192.168.50.1/24"), netip.MustParsePrefix("fd00:50::1/64")}
	gw.GatewayMAC = plan.GatewayMAC(50)
	red := l3vni(1000, "red", true)
	kp := plan.KernelPlan{Underlay: underlay(), L3VNIs: []plan.L3VNI{red, l3vni(1001, "blue", false)}, L2VNIs: []plan.L2VNI{gw}}
	e.apply(t, kp)

	tables := map[string]uint32{}
	for _, n := range []string{"red", "blue"} {
		v, ok := mustLink(t, e.rh, n).(*netlink.Vrf)
		if !ok {
			t.Fatalf("%s is not a vrf", n)
		}
		tables[n] = v.Table
		isUp(t, v)
	}
	if tables["blue"] != 5 || tables["red"] == 1000 || tables["red"] == 5 {
		t.Errorf("tables %v: blue must keep 5, red must avoid 1000", tables)
	}
	rmac, _ := net.ParseMAC(underlay().RouterMAC)
	for _, v := range kp.L3VNIs {
		br := mustLink(t, e.rh, v.Bridge)
		masterIs(t, e.rh, v.Bridge, v.VRF)
		masterIs(t, e.rh, v.VXLAN, v.Bridge)
		portFlags(t, e.rh, v.VXLAN)
		if br.Attrs().HardwareAddr.String() != rmac.String() {
			t.Errorf("%s mac %s, want router mac %s", v.Bridge, br.Attrs().HardwareAddr, rmac)
		}
	}
	masterIs(t, e.rh, red.HostVeth.RouterName, "red")
	pe, host := mustLink(t, e.rh, red.HostVeth.RouterName), mustLink(t, e.hh, red.HostVeth.HostName)
	for _, p := range red.HostVeth.RouterAddrs {
		if !hasAddr(t, e.rh, pe, p) {
			t.Errorf("router veth lacks %s (addresses must survive VRF enslavement)", p)
		}
	}
	for _, p := range red.HostVeth.HostAddrs {
		if !hasAddr(t, e.hh, host, p) {
			t.Errorf("host veth lacks %s", p)
		}
	}
	gbr := mustLink(t, e.rh, gw.Bridge)
	masterIs(t, e.rh, gw.Bridge, "red")
	if gbr.Attrs().HardwareAddr.String() != gw.GatewayMAC {
		t.Errorf("gateway mac %s, want %s", gbr.Attrs().HardwareAddr, gw.GatewayMAC)
	}
	for _, p := range gw.GatewayIPs {
		if !hasAddr(t, e.rh, gbr, p) {
			t.Errorf("gateway lacks %s", p)
		}
	}

	// Drift in VRF land: the gateway bridge leaves its VRF, the router veth loses an address.
	must(t, e.rh.LinkSetNoMaster(gbr))
	must(t, e.rh.AddrDel(pe, &netlink.Addr{IPNet: ipNet(red.HostVeth.RouterAddrs[0])}))
	if res := e.apply(t, kp); res.Writes == 0 {
		t.Fatal("drift not corrected")
	}
	masterIs(t, e.rh, gw.Bridge, "red")
	for _, p := range append(gw.GatewayIPs, red.HostVeth.RouterAddrs...) {
		l := gbr
		if p == red.HostVeth.RouterAddrs[0] || p == red.HostVeth.RouterAddrs[1] {
			l = pe
		}
		if !hasAddr(t, e.rh, l, p) {
			t.Errorf("%s lacks %s after correction", l.Attrs().Name, p)
		}
	}
	if res := e.apply(t, kp); res.Writes != 0 {
		t.Errorf("apply after correction wrote %d times", res.Writes)
	}
	// The VRF table is stable across applies (and so across restarts: it is read back).
	if v := mustLink(t, e.rh, "red").(*netlink.Vrf); v.Table != tables["red"] {
		t.Errorf("red table moved from %d to %d", tables["red"], v.Table)
	}

	// Everything goes; the foreign VRF stays.
	e.apply(t, underlayPlan())
	for _, n := range []string{"red", "blue", gw.Bridge, gw.VXLAN, red.Bridge, red.VXLAN, red.HostVeth.RouterName} {
		noLink(t, e.rh, n)
	}
	noLink(t, e.hh, red.HostVeth.HostName)
	mustLink(t, e.rh, "theirs")
}
