package lab

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestParseGoBGPRIB reads what gobgp 3.10 printed for a node's type-2 and type-3 routes in
// the lab (testdata/gobgp-rib-evpn.json): the RD, the MAC and IP or originator, the labels,
// the next hop of MP_REACH, the route targets, the VXLAN encapsulation and the PMSI tunnel.
func TestParseGoBGPRIB(t *testing.T) {
	data, err := os.ReadFile("testdata/gobgp-rib-evpn.json")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := parseGoBGPRIB(data)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(routes, func(a, b EVPNRoute) int { return a.Type - b.Type })
	want := []EVPNRoute{
		{Type: 2, RD: "10.255.1.1:2", MAC: "02:00:00:00:6e:01", IP: "192.168.110.11", Labels: []uint32{110}, NextHop: "10.255.1.1", RTs: []string{"65000:110"}, VXLAN: true},
		{Type: 3, RD: "10.255.1.1:2", Originator: "10.255.1.1", NextHop: "10.255.1.1", RTs: []string{"65000:110"}, VXLAN: true, PMSILabel: 110, PMSITunnel: "10.255.1.1"},
	}
	if len(routes) != len(want) {
		t.Fatalf("got %d routes, want %d: %+v", len(routes), len(want), routes)
	}
	for i := range want {
		if routeKey(routes[i]) != routeKey(want[i]) {
			t.Errorf("route %d is %s, want %s", i, routes[i], want[i])
		}
		if d := diffRoute(want[i], routes[i]); len(d) > 0 {
			t.Errorf("%s: %s", want[i], strings.Join(d, "; "))
		}
	}
	// A route GoBGP has with another next hop, label or route target is told apart.
	bad := routes[0]
	bad.NextHop, bad.Labels, bad.RTs = "10.255.1.9", []uint32{120}, []string{"65000:120"}
	if d := diffRoute(want[0], bad); len(d) != 3 {
		t.Errorf("diff of a route with another next hop, label and route target: %v", d)
	}
}
