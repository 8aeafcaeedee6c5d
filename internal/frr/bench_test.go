package frr

import (
	"fmt"
	"net/netip"
	"testing"
)

// bigConfig is the reference scale of TARGETS.md: one underlay with two neighbors, 100 VRFs
// with a dual-stack host session and import/export filters each, and 1000 L2VNI vni blocks.
func bigConfig() *Config {
	cfg := &Config{
		IPForwarding: true, IPv6Forwarding: true,
		BFDProfiles: []BFDProfile{{Name: "fabric", ReceiveIntervalMs: u32p(100), TransmitIntervalMs: u32p(100)}},
		Router: Router{
			ASN: 64514, RouterID: netip.MustParseAddr("10.255.0.1"),
			GracefulRestart: &GracefulRestart{RestartTimeSeconds: u32p(60)},
			IPv4Networks:    []netip.Prefix{netip.MustParsePrefix("10.255.0.1/32")},
			EVPN:            EVPN{AdvertiseAllVNI: true, DupAddrDetection: DupAddrDetection{MaxMoves: 10, TimeSeconds: 60}},
		},
	}
	for i := 1; i <= 2; i++ {
		cfg.Router.Neighbors = append(cfg.Router.Neighbors, Neighbor{
			Address: netip.AddrFrom4([4]byte{192, 168, byte(i), 0}), RemoteAS: "64512",
			BFD: true, BFDProfile: "fabric", IPv4Unicast: true, EVPN: true,
		})
	}
	for i := 0; i < 1000; i++ {
		vni := uint32(20000 + i)
		cfg.Router.EVPN.VNIs = append(cfg.Router.EVPN.VNIs, EVPNVNI{
			VNI: vni, RD: fmt.Sprintf("10.255.0.1:%d", i+1),
			ImportRTs: []string{fmt.Sprintf("64514:%d", vni)}, ExportRTs: []string{fmt.Sprintf("64514:%d", vni)},
		})
	}
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("t%d", i)
		rt := fmt.Sprintf("64514:%d", 10000+i)
		in, out := "host_"+name+"_in", "host_"+name+"_out"
		cfg.VRFs = append(cfg.VRFs, VRF{
			Name: name, VNI: uint32(10000 + i), ASN: 64514, RouterID: netip.MustParseAddr("10.255.0.1"),
			Neighbors: []Neighbor{
				{Address: netip.AddrFrom4([4]byte{10, 100, byte(i), 2}), RemoteAS: "64515", IPv4Unicast: true, RouteMapIn: in, RouteMapOut: out},
				{Address: netip.MustParseAddr(fmt.Sprintf("fd00:%x::2", i)), RemoteAS: "64515", IPv6Unicast: true, RouteMapIn: in, RouteMapOut: out},
			},
			IPv4Networks:  []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{172, 16, byte(i), 0}), 24)},
			AdvertiseIPv4: true, AdvertiseIPv6: true,
			ImportRTs: []string{rt}, ExportRTs: []string{rt},
		})
		cfg.PrefixLists = append(cfg.PrefixLists,
			PrefixList{Name: in + "_v4", Entries: []PrefixListEntry{{Seq: 5, Action: Permit, Prefix: netip.MustParsePrefix("10.0.0.0/8"), LE: 32}}},
			PrefixList{Name: in + "_v6", IPv6: true, Entries: []PrefixListEntry{{Seq: 5, Action: Permit, Prefix: netip.MustParsePrefix("fd00::/8"), LE: 64}}},
		)
		cfg.RouteMaps = append(cfg.RouteMaps,
			RouteMap{Name: in, Entries: []RouteMapEntry{{Seq: 10, Action: Permit, MatchIPv4PrefixList: in + "_v4"}, {Seq: 20, Action: Permit, MatchIPv6PrefixList: in + "_v6"}}},
			RouteMap{Name: out, Entries: []RouteMapEntry{{Seq: 10, Action: Permit}}},
		)
	}
	return cfg
}

// BenchmarkRender renders the reference node (target: ≤ 1 ms).
func BenchmarkRender(b *testing.B) {
	cfg := bigConfig()
	conf, err := Render(cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(conf)), "bytes/conf")
	b.ResetTimer()
	for b.Loop() {
		if _, err := Render(cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckShape is the agent's pre-reload guard on the same configuration.
func BenchmarkCheckShape(b *testing.B) {
	conf, err := Render(bigConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := CheckShape(conf); err != nil {
			b.Fatal(err)
		}
	}
}
