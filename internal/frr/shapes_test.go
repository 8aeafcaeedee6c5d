package frr

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestCheckShapeAcceptsTemplateLines(t *testing.T) {
	conf, err := Render(bigConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckShape(conf); err != nil {
		t.Fatal(err)
	}
}

// TestCheckShapeRejects feeds lines a template cannot produce: injected commands, smuggled
// newlines and tokens with characters outside the shapes' classes.
func TestCheckShapeRejects(t *testing.T) {
	const ok = "no ip forwarding\nno ipv6 forwarding\n!\n"
	tests := []struct {
		name, conf, wantLine string
	}{
		{name: "empty", conf: "", wantLine: "empty"},
		{name: "no final newline", conf: "no ip forwarding", wantLine: "newline"},
		{name: "blank line", conf: ok + "\n", wantLine: `line 4 ""`},
		{name: "unknown command", conf: ok + "line vty\n", wantLine: `"line vty"`},
		{name: "hostname", conf: "hostname evil\n" + ok, wantLine: `line 1 "hostname evil"`},
		{name: "log file", conf: ok + "log file /etc/shadow\n", wantLine: "log file"},
		{name: "command after a name", conf: ok + "vrf red\n vni 5\nexit-vrf\nrouter bgp 1 vrf red\n neighbor 10.0.0.1 remote-as 5\n neighbor 10.0.0.1 route-map x in\n", wantLine: `line 9 " neighbor 10.0.0.1 route-map x in"`},
		{name: "newline in a vrf name", conf: ok + "vrf red\nrouter bgp 1\n vni 5\nexit-vrf\n", wantLine: `line 5 "router bgp 1"`},
		{name: "space in a name", conf: ok + "route-map a b permit 10\n", wantLine: "route-map a b permit 10"},
		{name: "semicolon in a name", conf: ok + "route-map a;b permit 10\n", wantLine: "route-map a;b"},
		{name: "extra words after a neighbor", conf: ok + "router bgp 1\n neighbor 10.0.0.1 remote-as 5 extra\n", wantLine: "remote-as 5 extra"},
		{name: "second command on a neighbor line", conf: ok + "router bgp 1\n neighbor 10.0.0.1 remote-as 5\r neighbor 10.0.0.2 remote-as 6\n", wantLine: `\r`},
		{name: "nul byte", conf: ok + "router bgp 1\x00\n", wantLine: `\x00`},
		{name: "description that starts a comment", conf: ok + "router bgp 1\n neighbor 10.0.0.1 remote-as 5\n neighbor 10.0.0.1 description tor ! shutdown\n", wantLine: "description tor ! shutdown"},
		{name: "wrong indentation", conf: ok + "neighbor 10.0.0.1 activate\n", wantLine: "neighbor 10.0.0.1 activate"},
		{name: "address-family at top level", conf: ok + "address-family ipv4 unicast\n", wantLine: "address-family"},
		{name: "bad address", conf: ok + "router bgp 1\n bgp router-id 10.0.0.256\n", wantLine: "10.0.0.256"},
		{name: "zoned neighbor", conf: ok + "router bgp 1\n neighbor fe80::1%eth0 remote-as 5\n", wantLine: "fe80::1%eth0"},
		{name: "password with a space", conf: ok + "router bgp 1\n neighbor 10.0.0.1 password a b\n", wantLine: "password a b"},
		{name: "password with a comment marker", conf: ok + "router bgp 1\n neighbor 10.0.0.1 password a!b\n", wantLine: "password a!b"},
		{name: "password too long", conf: ok + "router bgp 1\n neighbor 10.0.0.1 password " + strings.Repeat("x", 81) + "\n", wantLine: "password xxx"},
		{name: "rd with a word", conf: ok + "router bgp 1 vrf red\n address-family l2vpn evpn\n  rd red:1\n", wantLine: "rd red:1"},
		{name: "prefix without length", conf: ok + "ip prefix-list a seq 5 permit 10.0.0.0\n", wantLine: "10.0.0.0\""},
		{name: "ipv6 prefix in an ip prefix-list", conf: ok + "ip prefix-list a seq 5 permit fd00::/8\n", wantLine: "fd00::/8"},
		{name: "too-long prefix length", conf: ok + "ip prefix-list a seq 5 permit 10.0.0.0/33\n", wantLine: "/33"},
		{name: "match on something else", conf: ok + "route-map a permit 10\n match tag 5\n", wantLine: "match tag 5"},
		{name: "unknown bfd option", conf: ok + "bfd\n profile p\n  shutdown\n", wantLine: "shutdown"},
		{name: "trailing space", conf: ok + "exit \n", wantLine: `"exit "`},
		{name: "tab", conf: ok + "router bgp 1\n\tno bgp default ipv4-unicast\n", wantLine: `\tno bgp`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckShape(tt.conf)
			if err == nil {
				t.Fatalf("accepted:\n%s", tt.conf)
			}
			if !strings.Contains(err.Error(), tt.wantLine) {
				t.Errorf("error %q does not name %q", err, tt.wantLine)
			}
		})
	}
}

// everyShape is a hand-written configuration with at least one line of every shape, each in its
// block, including the edge values of every token class.
const everyShape = `!
ip forwarding
no ip forwarding
ipv6 forwarding
no ipv6 forwarding
!
vrf red-1
 vni 16777215
exit-vrf
!
router bgp 4294967295
 bgp router-id 10.255.0.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp graceful-restart restart-time 0
 bgp graceful-restart stalepath-time 4095
 bgp graceful-restart
 neighbor eth0.100 interface remote-as internal
 neighbor 10.0.0.1 remote-as 65000
 neighbor 10.0.0.1 description tor-a port 48 (rack 1)
 neighbor 10.0.0.1 bfd
 neighbor 10.0.0.1 bfd profile fast
 neighbor 10.0.0.1 password a$%&()*+,-./:;<=>?@[]^_{|}~z
 neighbor 10.0.0.1 port 0
 neighbor 10.0.0.1 ebgp-multihop 255
 neighbor 10.0.0.1 timers 0 0
 neighbor 10.0.0.1 timers connect 1
 neighbor fd00::1 remote-as external
 neighbor ::ffff:0:1 remote-as 1
 !
 address-family ipv4 unicast
  network 0.0.0.0/0
  neighbor 10.0.0.1 activate
  neighbor 10.0.0.1 next-hop-self
  neighbor 10.0.0.1 route-map host_red_in in
 exit-address-family
 !
 address-family ipv6 unicast
  network ::/0
  network fd00:255::1/128
  neighbor swp1 activate
  neighbor fd00::1 route-map x out
 exit-address-family
 !
 address-family l2vpn evpn
  neighbor 10.0.0.1 activate
  advertise-all-vni
  vni 100
   rd 10.255.0.1:100
   route-target import 4200000000:100
   route-target export 65000:4294967295
  exit-vni
  vni 101
  exit-vni
  no dup-addr-detection
  dup-addr-detection max-moves 10 time 60
 exit-address-family
exit
!
router bgp 65001 vrf t_1.x
 !
 address-family l2vpn evpn
  advertise ipv4 unicast
  advertise ipv6 unicast
  rd 65000:1
  route-target import 10.0.0.1:5
  route-target export 65000:200
 exit-address-family
exit
!
ip prefix-list a seq 5 permit 10.0.0.0/8
ip prefix-list a seq 4294967295 deny 10.0.0.0/8 ge 9 le 32
!
ipv6 prefix-list b seq 5 permit ::/0 le 128
ipv6 prefix-list b seq 5 deny 2001:db8::/32 ge 48
!
route-map host_red_in permit 10
 match ip address prefix-list a
 match ipv6 address prefix-list b
exit
!
route-map x deny 65535
exit
!
bfd
 profile fast
  detect-multiplier 3
  transmit-interval 10
  receive-interval 60000
  passive-mode
  echo-mode
  minimum-ttl 1
 exit
 !
exit
!
`

func TestCheckShapeAcceptsEveryShape(t *testing.T) {
	if err := CheckShape(everyShape); err != nil {
		t.Fatal(err)
	}
	// Every shape must have an example above, so a shape edit that breaks a valid line fails
	// here and not only in the golden files.
	lines := strings.Split(everyShape, "\n")
	for _, s := range lineShapes {
		re := regexp.MustCompile(`^(?:` + s.pattern + `)$`)
		if !slices.ContainsFunc(lines, re.MatchString) {
			t.Errorf("no example of shape %s", s.pattern)
		}
	}
}

// TestCheckShapeBlocks feeds well-formed lines in the wrong block.
func TestCheckShapeBlocks(t *testing.T) {
	tests := []struct {
		name, conf, want string
	}{
		{name: "neighbor in a vrf block", conf: "vrf red\n neighbor 10.0.0.1 remote-as 5\nexit-vrf\n", want: "line 2"},
		{name: "vni of a vrf in a router", conf: "router bgp 1\n vni 5\nexit\n", want: "line 2"},
		{name: "network outside an address family", conf: "router bgp 1\n  network 10.0.0.0/8\nexit\n", want: "line 2"},
		{name: "vni block in a unicast family", conf: "router bgp 1\n address-family ipv4 unicast\n  vni 5\n  exit-vni\n exit-address-family\nexit\n", want: "line 3"},
		{name: "route-target in a unicast family", conf: "router bgp 1\n address-family ipv4 unicast\n  route-target import 1:1\n exit-address-family\nexit\n", want: "line 3"},
		{name: "match outside a route-map", conf: " match ip address prefix-list a\n", want: "line 1"},
		{name: "bfd option outside a profile", conf: "bfd\n  echo-mode\nexit\n", want: "line 2"},
		{name: "unclosed router", conf: "router bgp 1\n", want: "ends inside a block"},
		{name: "unclosed vni block", conf: "router bgp 1\n address-family l2vpn evpn\n  vni 5\n", want: "ends inside a block"},
		{name: "exit-vrf closing a router", conf: "router bgp 1\nexit-vrf\n", want: "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckShape(tt.conf)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("CheckShape error %v, want one containing %q", err, tt.want)
			}
		})
	}
}
