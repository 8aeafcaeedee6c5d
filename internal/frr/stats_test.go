package frr

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/frrtest"
)

// sample reads what FRR 8.4.4 printed in the lab (testdata/vtysh/README.md says where).
func sample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "vtysh", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sampleCase is a file of testdata/vtysh and what a parser must make of it.
type sampleCase[T any] struct {
	file string
	want T
}

// checkSamples runs parse on each case's file, in a subtest named after the file.
func checkSamples[T any](t *testing.T, parse func([]byte) (T, error), cases []sampleCase[T]) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parse(sample(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParseBGPSummary(t *testing.T) {
	checkSamples(t, parseBGPSummary, []sampleCase[[]BGPPeer]{
		{"bgp-summary-node.json", []BGPPeer{
			{VRF: "default", Peer: "10.0.1.0", State: "Established", Uptime: 59 * time.Second,
				PrefixesReceived: map[string]int{"ipv4Unicast": 5, "l2VpnEvpn": 8}},
		}},
		// FRR's peerUptime of a session that is down is the time since it went down.
		{"bgp-summary-node-active.json", []BGPPeer{
			{VRF: "default", Peer: "10.0.1.0", State: "Active",
				PrefixesReceived: map[string]int{"ipv4Unicast": 0, "l2VpnEvpn": 0}},
		}},
		{"bgp-summary-leaf-shutdown.json", []BGPPeer{
			{VRF: "default", Peer: "10.0.1.1", State: "Idle (Admin)",
				PrefixesReceived: map[string]int{"ipv4Unicast": 0, "l2VpnEvpn": 0}},
			{VRF: "default", Peer: "10.1.1.0", State: "Established", Uptime: 108 * time.Second,
				PrefixesReceived: map[string]int{"ipv4Unicast": 4, "l2VpnEvpn": 8}},
		}},
		// VRF blue has no session: FRR prints "blue":{}.
		{"bgp-summary-vrfs.json", []BGPPeer{
			{VRF: "default", Peer: "10.0.1.0", State: "Established", Uptime: 44 * time.Second,
				PrefixesReceived: map[string]int{"ipv4Unicast": 4, "l2VpnEvpn": 14}},
			{VRF: "red", Peer: "192.169.10.2", State: "Established", Uptime: 18 * time.Second,
				PrefixesReceived: map[string]int{"ipv4Unicast": 1}},
		}},
	})
	if got, err := parseBGPSummary([]byte("{}\n")); err != nil || len(got) != 0 {
		t.Errorf("no VRF: got %+v, %v", got, err)
	}
	if _, err := parseBGPSummary([]byte("bgpd is not running")); err == nil {
		t.Error("text that is not JSON must be an error")
	}
}

func TestParseBFDPeers(t *testing.T) {
	checkSamples(t, parseBFDPeers, []sampleCase[[]BFDPeer]{
		{"bfd-peers-up.json", []BFDPeer{{Peer: "10.0.1.0", Local: "10.0.1.1", VRF: "default", Interface: "eth1", Status: "up"}}},
		{"bfd-peers-down.json", []BFDPeer{{Peer: "10.0.1.0", Local: "10.0.1.1", VRF: "default", Interface: "eth1", Status: "down"}}},
		{"bfd-peers-none.json", []BFDPeer{}},
	})
}

func TestParseEVPNVNIs(t *testing.T) {
	checkSamples(t, parseEVPNVNIs, []sampleCase[[]ZebraVNI]{
		{"evpn-vni-l2.json", []ZebraVNI{{VNI: 110, Type: "L2", TenantVRF: "default"}}},
		// An L3VNI's numRemoteVteps is the string "n/a".
		{"evpn-vni-vrfs.json", []ZebraVNI{
			{VNI: 100, Type: "L3", TenantVRF: "red"},
			{VNI: 110, Type: "L2", TenantVRF: "red"},
			{VNI: 120, Type: "L2", TenantVRF: "red"},
			{VNI: 130, Type: "L2", TenantVRF: "blue"},
			{VNI: 200, Type: "L3", TenantVRF: "blue"},
		}},
		// zebra prints nothing when it has no VNI.
		{"evpn-vni-none.json", nil},
	})
}

func TestParseEVPNRouteCounts(t *testing.T) {
	checkSamples(t, parseEVPNRouteCounts, []sampleCase[map[string]int]{
		// Three nodes on VNI 110: per node a MAC, a MAC+IPv4 and a MAC+IPv6 route and a type-3.
		{"evpn-route-node.json", map[string]int{"2": 9, "3": 3}},
		// The session to the leaf is down: only node1's own routes are left.
		{"evpn-route-node-isolated.json", map[string]int{"2": 3, "3": 1}},
		// The L3 lab: type-5 routes of the tenant subnets and the border's external networks.
		{"evpn-route-vrfs.json", map[string]int{"2": 12, "3": 6, "5": 9}},
	})
	if got, err := parseEVPNRouteCounts([]byte(`{"numPrefix":0,"numPaths":0}`)); err != nil || len(got) != 0 {
		t.Errorf("empty table: got %v, %v", got, err)
	}
	for p, want := range map[string]string{"[2]:[0]:[48]:[02:00:00:00:6e:01]": "2", "[5]:[0]:[24]:[172.16.100.0]": "5", "rd": "", "[x]:[0]": "", "[]": ""} {
		if got, ok := evpnRouteType(p); got != want || ok != (want != "") {
			t.Errorf("evpnRouteType(%q) = %q, %v; want %q", p, got, ok, want)
		}
	}
}

func TestParseEVPNMACsSample(t *testing.T) {
	macs, err := parseEVPNMACs(sample(t, "evpn-mac-vrfs.json"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[uint32][]string{}
	for _, m := range macs {
		got[m.VNI] = append(got[m.VNI], m.Type)
	}
	want := map[uint32][]string{110: {"local", "remote"}, 120: {"remote"}, 130: {"local"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestStatsQueriesOnFRR runs every query against a real FRR: each command must exist in
// this FRR and its output must parse, also when there is nothing to report.
func TestStatsQueriesOnFRR(t *testing.T) {
	f := frrtest.Start(t, frrtest.Options{})
	r := &Reloader{Pathspace: f.Pathspace(), Vtysh: f.Install().Vtysh, ReloadScript: f.Install().ReloadScript}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Empty FRR: no BGP instance, no BFD session, no VNI.
	if p, err := r.BGPPeers(ctx); err != nil || len(p) != 0 {
		t.Errorf("BGPPeers without bgp: %+v, %v", p, err)
	}
	if v, err := r.EVPNVNIs(ctx); err != nil || len(v) != 0 {
		t.Errorf("EVPNVNIs without VNIs: %+v, %v", v, err)
	}

	// A session to a peer that does not exist, with BFD.
	if err := f.Load("router bgp 65000\n no bgp default ipv4-unicast\n neighbor 192.0.2.1 remote-as 65001\n neighbor 192.0.2.1 bfd\n address-family ipv4 unicast\n  neighbor 192.0.2.1 activate\n exit-address-family\n address-family l2vpn evpn\n  neighbor 192.0.2.1 activate\n  advertise-all-vni\n exit-address-family\nexit\n"); err != nil {
		t.Fatal(err)
	}
	peers, err := r.BGPPeers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(peers) != 1 || peers[0].VRF != "default" || peers[0].Peer != "192.0.2.1" || peers[0].Established() || peers[0].Uptime != 0 ||
		!reflect.DeepEqual(peers[0].PrefixesReceived, map[string]int{"ipv4Unicast": 0, "l2VpnEvpn": 0}) {
		t.Errorf("BGPPeers: got %+v, want 192.0.2.1 not established with nothing received in ipv4Unicast and l2VpnEvpn", peers)
	}
	bfd, err := r.BFDPeers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(bfd) != 1 || bfd[0].Peer != "192.0.2.1" || bfd[0].Up() {
		t.Errorf("BFDPeers: got %+v, want 192.0.2.1 not up", bfd)
	}
	routes, err := r.EVPNRouteCounts(ctx)
	if err != nil || len(routes) != 0 {
		t.Errorf("EVPNRouteCounts: %v, %v; want none", routes, err)
	}
	if macs, err := r.EVPNMACs(ctx); err != nil || len(macs) != 0 {
		t.Errorf("EVPNMACs: %+v, %v; want none", macs, err)
	}
}
