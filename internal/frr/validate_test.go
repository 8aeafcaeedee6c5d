package frr

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestValidPassword(t *testing.T) {
	tests := []struct {
		p  string
		ok bool
	}{
		{"s3cr3t", true},
		{"a$%&()*+,-./:;<=>?@[]^_{|}~z", true},
		{strings.Repeat("x", 80), true},
		{"", false},
		{strings.Repeat("x", 81), false},
		{"two words", false},
		{"tab\there", false},
		{"new\nline", false},
		{"bang!", false},
		{"hash#", false},
		{`dq"`, false},
		{"sq'", false},
		{`back\slash`, false},
		{"back`tick", false},
		{"caf\u00e9", false},
		{"del\x7f", false},
	}
	for _, tt := range tests {
		err := ValidPassword(tt.p)
		if (err == nil) != tt.ok {
			t.Errorf("ValidPassword(%q) = %v, want ok=%v", tt.p, err, tt.ok)
		}
		if err != nil && tt.p != "" && strings.Contains(err.Error(), tt.p) {
			t.Errorf("ValidPassword(%q) echoes the password: %v", tt.p, err)
		}
	}
}

// TestCompareIfNames checks the interface order against what bgpd 8.4.4 printed for the same
// names (eth, eth-1, eth1a, eth02, eth2, eth10; capitals and punctuation by byte value).
func TestCompareIfNames(t *testing.T) {
	want := []string{"Eth3", "a.b", "a_b", "eth", "eth-1", "eth1a", "eth02", "eth2", "eth10", "swp1", "swp1s0", "swp1s1", "swp2"}
	got := slices.Clone(want)
	slices.Reverse(got)
	slices.SortFunc(got, func(a, b string) int {
		return compareNeighbors(neighborView{ID: a, Interface: true}, neighborView{ID: b, Interface: true})
	})
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
}

func TestNeighborOrder(t *testing.T) {
	var nbs []Neighbor
	for _, id := range []string{"fd00::10", "10.0.0.10", "eth10", "fd00::2", "10.0.0.9", "eth2", "1.0.0.1"} {
		n := Neighbor{RemoteAS: RemoteASExternal, IPv4Unicast: true}
		if a, err := netip.ParseAddr(id); err == nil {
			n.Address = a
		} else {
			n.Interface = id
		}
		nbs = append(nbs, n)
	}
	views, err := neighbors(65000, nbs, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range views {
		got = append(got, v.ID)
	}
	want := []string{"eth2", "eth10", "1.0.0.1", "10.0.0.9", "10.0.0.10", "fd00::2", "fd00::10"}
	if !slices.Equal(got, want) {
		t.Errorf("order %v, want %v", got, want)
	}
	if nbs[0].Address.String() != "fd00::10" {
		t.Error("neighbors sorted the caller's slice")
	}
}

// TestRenderRejects covers model values FRR would refuse or print differently; Render must
// fail on them rather than hand FRR a file it does not take.
func TestRenderRejects(t *testing.T) {
	nb := func(mod func(*Neighbor)) func(*Config) {
		return func(c *Config) { mod(&c.Router.Neighbors[0]) }
	}
	tests := []struct {
		name    string
		mod     func(*Config)
		secrets Secrets
		wantErr string
	}{
		{name: "missing secret", mod: nb(func(n *Neighbor) { n.Password = &SecretRef{Name: "pw", Key: "password"} }), secrets: SecretMap{}, wantErr: "neighbor 192.168.1.0: password secret pw key password not found"},
		{name: "no secrets at all", mod: nb(func(n *Neighbor) { n.Password = &SecretRef{Name: "pw", Key: "password"} }), wantErr: "no secrets"},
		{name: "invalid password", mod: nb(func(n *Neighbor) { n.Password = &SecretRef{Name: "pw", Key: "k"} }), secrets: SecretMap{{Name: "pw", Key: "k"}: "has space"}, wantErr: "neighbor 192.168.1.0: password in secret pw key k"},
		{name: "address and interface", mod: nb(func(n *Neighbor) { n.Interface = "eth0" }), wantErr: "both set"},
		{name: "neither address nor interface", mod: nb(func(n *Neighbor) { n.Address = netip.Addr{} }), wantErr: "neither"},
		{name: "interface named like an address", mod: nb(func(n *Neighbor) { n.Address, n.Interface = netip.Addr{}, "10.0.0.1" }), wantErr: "looks like an ip address"},
		{name: "interface name too long", mod: nb(func(n *Neighbor) { n.Address, n.Interface = netip.Addr{}, "a234567890123456" }), wantErr: "interface name"},
		{name: "zoned address", mod: nb(func(n *Neighbor) { n.Address = netip.MustParseAddr("fe80::1%eth0") }), wantErr: "no zone"},
		{name: "ipv4-mapped address", mod: nb(func(n *Neighbor) { n.Address = netip.MustParseAddr("::ffff:10.0.0.1") }), wantErr: "ipv4-mapped"},
		{name: "bad remote-as", mod: nb(func(n *Neighbor) { n.RemoteAS = "65000 extra" }), wantErr: "remote-as"},
		{name: "remote-as 0", mod: nb(func(n *Neighbor) { n.RemoteAS = "0" }), wantErr: "asn 0"},
		{name: "remote-as with leading zero", mod: nb(func(n *Neighbor) { n.RemoteAS = "065000" }), wantErr: "remote-as"},
		{name: "hold without keepalive", mod: nb(func(n *Neighbor) { n.HoldTimeSeconds = u32p(9) }), wantErr: "together"},
		{name: "hold 2", mod: nb(func(n *Neighbor) { n.HoldTimeSeconds, n.KeepaliveTimeSeconds = u32p(2), u32p(1) }), wantErr: "0 or 3..65535"},
		{name: "connect 0", mod: nb(func(n *Neighbor) { n.ConnectTimeSeconds = u32p(0) }), wantErr: "connect time"},
		{name: "multihop 256", mod: nb(func(n *Neighbor) { n.EBGPMultihop = u32p(256) }), wantErr: "1..255"},
		{name: "multihop on unnumbered", mod: nb(func(n *Neighbor) { n.Address, n.Interface, n.EBGPMultihop = netip.Addr{}, "eth0", u32p(2) }), wantErr: "unnumbered"},
		{name: "bfd profile without bfd", mod: nb(func(n *Neighbor) { n.BFD, n.BFDProfile = false, "fast" }), wantErr: "bfd is off"},
		{name: "route-map without unicast", mod: nb(func(n *Neighbor) { n.IPv4Unicast, n.RouteMapIn = false, "x" }), wantErr: "unicast"},
		{name: "route-map name with space", mod: nb(func(n *Neighbor) { n.RouteMapIn = "a b" }), wantErr: "route-map name"},
		{name: "duplicate neighbor", mod: func(c *Config) { c.Router.Neighbors = append(c.Router.Neighbors, c.Router.Neighbors[0]) }, wantErr: "defined twice"},
		{name: "ipv6 router-id", mod: func(c *Config) { c.Router.RouterID = netip.MustParseAddr("fd00::1") }, wantErr: "router-id"},
		{name: "ipv6 network in ipv4 list", mod: func(c *Config) { c.Router.IPv4Networks = []netip.Prefix{netip.MustParsePrefix("fd00::/64")} }, wantErr: "not an IPv4 address"},
		{name: "stalepath 0", mod: func(c *Config) { c.Router.GracefulRestart = &GracefulRestart{StalePathTimeSeconds: u32p(0)} }, wantErr: "stalepath-time"},
		{name: "restart-time 4096", mod: func(c *Config) { c.Router.GracefulRestart = &GracefulRestart{RestartTimeSeconds: u32p(4096)} }, wantErr: "restart-time"},
		{name: "dad max-moves 1", mod: func(c *Config) { c.Router.EVPN.DupAddrDetection.MaxMoves = 1 }, wantErr: "max-moves"},
		{name: "vni blocks without advertise-all-vni", mod: func(c *Config) { c.Router.EVPN.AdvertiseAllVNI = false }, wantErr: "advertise-all-vni"},
		{name: "vni 0", mod: func(c *Config) { c.Router.EVPN.VNIs[0].VNI = 0 }, wantErr: "outside 1..16777215"},
		{name: "vni used twice", mod: func(c *Config) { c.Router.EVPN.VNIs = append(c.Router.EVPN.VNIs, c.Router.EVPN.VNIs[0]) }, wantErr: "defined twice"},
		{name: "vni of a vrf", mod: func(c *Config) { c.Router.EVPN.VNIs[0].VNI = 200 }, wantErr: "already used by vrf red"},
		{name: "rd with leading zero", mod: func(c *Config) { c.Router.EVPN.VNIs[0].RD = "65000:0100" }, wantErr: "canonical"},
		{name: "rd with ipv6", mod: func(c *Config) { c.Router.EVPN.VNIs[0].RD = "fd00::1:5" }, wantErr: "rd"},
		{name: "4-byte asn rt with big number", mod: func(c *Config) { c.VRFs[0].ImportRTs = []string{"4200000000:70000"} }, wantErr: "4-byte ASN"},
		{name: "ip rt with big number", mod: func(c *Config) { c.VRFs[0].ExportRTs = []string{"10.0.0.1:70000"} }, wantErr: "65535"},
		{name: "rt without colon", mod: func(c *Config) { c.VRFs[0].ExportRTs = []string{"65000"} }, wantErr: "route-target"},
		{name: "vrf named default", mod: func(c *Config) { c.VRFs[0].Name = "default" }, wantErr: "default vrf"},
		{name: "vrf name with newline", mod: func(c *Config) { c.VRFs[0].Name = "red\nrouter" }, wantErr: "name"},
		{name: "vrf without asn", mod: func(c *Config) { c.VRFs[0].ASN = 0 }, wantErr: "asn is 0"},
		{name: "vrfs without the default instance", mod: func(c *Config) { c.Router = Router{} }, wantErr: "default bgp instance"},
		{name: "vrf twice", mod: func(c *Config) { c.VRFs = append(c.VRFs, c.VRFs[0]) }, wantErr: "defined twice"},
		{name: "prefix-list ge below length", mod: func(c *Config) { c.PrefixLists[0].Entries[0].GE = 7 }, wantErr: "ge 7"},
		{name: "prefix-list le above 32", mod: func(c *Config) { c.PrefixLists[0].Entries[0].LE = 33 }, wantErr: "le 33"},
		{name: "prefix-list ge above le", mod: func(c *Config) { c.PrefixLists[0].Entries[0].GE, c.PrefixLists[0].Entries[0].LE = 24, 16 }, wantErr: "greater than le"},
		{name: "prefix-list seq 0", mod: func(c *Config) { c.PrefixLists[0].Entries[0].Seq = 0 }, wantErr: "seq"},
		{name: "prefix-list family", mod: func(c *Config) { c.PrefixLists[0].IPv6 = true }, wantErr: "not an IPv6 address"},
		{name: "prefix-list action", mod: func(c *Config) { c.PrefixLists[0].Entries[0].Action = "allow" }, wantErr: "action"},
		{name: "route-map seq 65536", mod: func(c *Config) { c.RouteMaps[0].Entries[0].Seq = 65536 }, wantErr: "1..65535"},
		{name: "route-map twice", mod: func(c *Config) { c.RouteMaps = append(c.RouteMaps, c.RouteMaps[0]) }, wantErr: "defined twice"},
		{name: "bfd multiplier 1", mod: func(c *Config) { c.BFDProfiles[0].DetectMultiplier = u32p(1) }, wantErr: "detect-multiplier"},
		{name: "bfd name with space", mod: func(c *Config) { c.BFDProfiles[0].Name = "a b" }, wantErr: "bfd profile name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := reloadConfig(0)
			cfg.PrefixLists = []PrefixList{{Name: "pl", Entries: []PrefixListEntry{{Seq: 5, Action: Permit, Prefix: netip.MustParsePrefix("10.0.0.0/8")}}}}
			tt.mod(cfg)
			_, err := Render(cfg, tt.secrets)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Render error %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "has space") {
				t.Errorf("the error echoes the password: %v", err)
			}
		})
	}
}

// TestRenderNormalizes covers values FRR accepts but prints in its own form, so the rendered
// line must be that form.
func TestRenderNormalizes(t *testing.T) {
	cfg := reloadConfig(0)
	cfg.VRFs[0].IPv4Networks = []netip.Prefix{netip.MustParsePrefix("192.168.100.1/24"), netip.MustParsePrefix("192.168.100.0/24"), netip.MustParsePrefix("10.0.0.0/8")}
	cfg.VRFs[0].ImportRTs = []string{"65000:9", "65000:10", "65000:9"}
	cfg.PrefixLists = []PrefixList{{Name: "pl", Entries: []PrefixListEntry{
		{Seq: 10, Action: Deny, Prefix: netip.MustParsePrefix("10.1.2.3/8")},
		{Seq: 5, Action: Permit, Prefix: netip.MustParsePrefix("192.168.0.0/16"), GE: 16},
	}}}
	conf, err := Render(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"  network 10.0.0.0/8\n  network 192.168.100.0/24\n  neighbor",
		"  route-target import 65000:10\n  route-target import 65000:9\n  route-target export",
		"ip prefix-list pl seq 5 permit 192.168.0.0/16 ge 16\nip prefix-list pl seq 10 deny 10.0.0.0/8\n",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, conf)
		}
	}
	if len(cfg.PrefixLists[0].Entries) != 2 || cfg.PrefixLists[0].Entries[0].Seq != 10 {
		t.Error("Render reordered the caller's prefix-list entries")
	}
}

func TestRenderDefaultsAreNotRendered(t *testing.T) {
	p := func(v uint16) *uint16 { return &v }
	cfg := reloadConfig(0)
	cfg.Router.Neighbors[0].Port = p(179)
	cfg.Router.Neighbors[0].EBGPMultihop = u32p(1)
	cfg.Router.GracefulRestart = &GracefulRestart{RestartTimeSeconds: u32p(120), StalePathTimeSeconds: u32p(360)}
	cfg.Router.EVPN.DupAddrDetection = DupAddrDetection{MaxMoves: 5, TimeSeconds: 180}
	cfg.BFDProfiles = []BFDProfile{{Name: "fast", DetectMultiplier: u32p(3), ReceiveIntervalMs: u32p(300), TransmitIntervalMs: u32p(300), MinimumTTL: u32p(254)}}
	// iBGP: bgpd ignores ebgp-multihop and never prints it.
	cfg.VRFs[0].Neighbors[0].RemoteAS = "65001"
	cfg.VRFs[0].Neighbors[0].EBGPMultihop = u32p(4)
	conf, err := Render(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, unwanted := range []string{" port ", "ebgp-multihop", "restart-time", "stalepath-time", "dup-addr-detection", "detect-multiplier", "-interval", "minimum-ttl"} {
		if strings.Contains(conf, unwanted) {
			t.Errorf("rendered a default (%q):\n%s", unwanted, conf)
		}
	}
	if !strings.Contains(conf, " bgp graceful-restart\n") || !strings.Contains(conf, " profile fast\n exit\n") {
		t.Errorf("dropped more than the defaults:\n%s", conf)
	}
}
