package hostnet

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestReannounceNotifiesAgainAndTouchesOnlyWeft checks that Reannounce makes the kernel send
// a fresh RTM_NEWADDR, and no RTM_DELADDR, for an address weft put on lo, leaves the address
// in place, never touches a foreign device (even with a weft-like name) and never adds an
// address that is not there.
func TestReannounceNotifiesAgainAndTouchesOnlyWeft(t *testing.T) {
	e := newEnv(t)
	kp := underlayPlan()
	e.apply(t, kp)
	foreignAddr := netip.MustParsePrefix("192.0.2.1/24")
	foreign := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pe-999"}, PeerName: "pe-999p"}
	must(t, e.rh.LinkAdd(foreign))
	must(t, e.rh.AddrAdd(mustLink(t, e.rh, "pe-999"), &netlink.Addr{IPNet: ipNet(foreignAddr)}))

	vtep := netip.MustParsePrefix("10.255.0.1/32")
	absent := netip.MustParsePrefix("10.255.0.77/32")
	m := watch(t, e.router)
	gone := netip.MustParsePrefix("192.168.130.1/24")
	res, err := e.a.Reannounce(context.Background(), e.router, map[string][]netip.Prefix{
		"lo":        {vtep, absent},
		"pe-999":    {foreignAddr},
		"br-pe-130": {gone},
	})
	if err == nil || !strings.Contains(err.Error(), "pe-999 is not weft's") || strings.Contains(err.Error(), "br-pe-130") {
		t.Errorf("want an error naming the foreign device and not the missing one, got %v", err)
	}
	if !slices.Equal(res.Absent["lo"], []netip.Prefix{absent}) || !slices.Equal(res.Absent["br-pe-130"], []netip.Prefix{gone}) || len(res.Absent) != 2 {
		t.Errorf("absent: got %v, want lo's %s and br-pe-130's %s", res.Absent, absent, gone)
	}
	if res.Updated != 1 || res.Writes != 1 {
		t.Errorf("want 1 address re-announced in 1 write, got %+v", res)
	}
	ev := m.eventsBefore(t, e.rh, "sentinel0")
	// Only the events of the addresses involved: the kernel may still be announcing its own
	// changes to others (the IPv6 VTEP of a fresh lo), which are not Reannounce's.
	want := []string{"RTM_NEWADDR " + vtep.String()}
	var addrEvents []string
	for _, x := range ev {
		for _, p := range []netip.Prefix{vtep, absent, foreignAddr} {
			if x == "RTM_NEWADDR "+p.String() || x == "RTM_DELADDR "+p.String() {
				addrEvents = append(addrEvents, x)
			}
		}
	}
	if !slices.Equal(addrEvents, want) {
		t.Errorf("address events: got %q, want %q (all events: %q)", addrEvents, want, ev)
	}
	lo := mustLink(t, e.rh, "lo")
	if !hasAddr(t, e.rh, lo, vtep) {
		t.Errorf("%s is gone from lo", vtep)
	}
	if hasAddr(t, e.rh, lo, absent) {
		t.Errorf("%s was added to lo; Reannounce must only repeat existing addresses", absent)
	}
	if !hasAddr(t, e.rh, mustLink(t, e.rh, "pe-999"), foreignAddr) {
		t.Errorf("the foreign device lost its address")
	}
}

// TestReannounceMovedNIC checks that Reannounce repeats the address of an underlay NIC weft
// moved into the router namespace (zebra may miss it like any other, and without it has no
// connected route to the ToR), and refuses the same NIC once it is back in the host's hands.
func TestReannounceMovedNIC(t *testing.T) {
	e := newEnv(t)
	v4 := netip.MustParsePrefix("10.0.1.1/31")
	addNIC(t, e, "uplink0", v4)
	kp := underlayPlan()
	kp.Underlay.Interfaces = []string{"uplink0"}
	res := e.apply(t, kp)
	if !slices.Contains(res.AddedRouterAddrs["uplink0"], v4) {
		t.Fatalf("the moved NIC's address is not in AddedRouterAddrs: %v", res.AddedRouterAddrs)
	}
	// A route through the uplink: removing its address, even for a moment, would flush it.
	uplink := mustLink(t, e.rh, "uplink0")
	_, dst, _ := net.ParseCIDR("10.99.0.0/16")
	must(t, e.rh.RouteAdd(&netlink.Route{LinkIndex: uplink.Attrs().Index, Dst: dst, Gw: net.ParseIP("10.0.1.0")}))
	m := watch(t, e.router)
	res, err := e.a.Reannounce(context.Background(), e.router, map[string][]netip.Prefix{"uplink0": {v4}})
	if err != nil || res.Updated != 1 {
		t.Fatalf("reannounce the moved NIC: %+v, %v", res, err)
	}
	ev := m.eventsBefore(t, e.rh, "sentinel0")
	if slices.Contains(ev, "RTM_DELADDR "+v4.String()) || !slices.Contains(ev, "RTM_NEWADDR "+v4.String()) {
		t.Errorf("want a fresh RTM_NEWADDR and no RTM_DELADDR for %s: %q", v4, ev)
	}
	if !hasAddr(t, e.rh, mustLink(t, e.rh, "uplink0"), v4) {
		t.Errorf("the moved NIC lost %s", v4)
	}
	if rs, err := e.rh.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst}, netlink.RT_FILTER_DST); err != nil || len(rs) != 1 {
		t.Errorf("the route through the uplink is gone after Reannounce: %v %v", rs, err)
	}

	// Given back and then moved in by someone else: not weft's to touch any more.
	kp.Underlay.Interfaces = nil
	e.apply(t, kp)
	must(t, e.hh.LinkSetNsFd(mustLink(t, e.hh, "uplink0"), int(nsHandle(t, e.router))))
	if _, err := e.a.Reannounce(context.Background(), e.router, map[string][]netip.Prefix{"uplink0": {v4}}); err == nil || !strings.Contains(err.Error(), "uplink0 is not weft's") {
		t.Errorf("want a refusal for a NIC weft did not move in, got %v", err)
	}
}
