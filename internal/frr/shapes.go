package frr

import (
	"fmt"
	"regexp"
	"strings"
)

// Building blocks of the line shapes. They are deliberately narrow: a value that needs a
// character outside these classes cannot come out of the templates, so it must not reach FRR.
const (
	shName = `[A-Za-z0-9_.-]{1,63}`
	shNum  = `(?:0|[1-9][0-9]{0,9})`
	shOct  = `(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])`
	shIPv4 = shOct + `(?:\.` + shOct + `){3}`
	// IPv6 as netip prints it: lower-case hex groups and "::", no zone, no embedded IPv4.
	shIPv6 = `[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}`
	shPfx4 = shIPv4 + `/(?:3[0-2]|[12]?[0-9])`
	shPfx6 = shIPv6 + `/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])`
	// shPeer is a neighbor: an address or an interface name.
	shPeer = `(?:` + shIPv4 + `|` + shIPv6 + `|[A-Za-z0-9_.-]{1,15})`
	// shRDRT is a route distinguisher or route target: ASN:NN or IPv4:NN.
	shRDRT = `(?:` + shNum + `|` + shIPv4 + `):` + shNum
	// shPassword is ValidPassword's alphabet: printable ASCII without space ! # " ' \ `.
	shPassword = `[A-Za-z0-9$%&()*+,./:;<=>?@\[\]^_{|}~-]{1,80}`
)

// lineShapes lists every line the templates can produce. Leading spaces are part of a shape,
// so a line is also tied to its indentation level.
var lineShapes = []string{
	// top level
	`!`,
	`(?:no )?ip forwarding`,
	`(?:no )?ipv6 forwarding`,
	`exit`,
	// vrf blocks
	`vrf ` + shName,
	` vni ` + shNum,
	`exit-vrf`,
	// bgp instances
	`router bgp ` + shNum + `(?: vrf ` + shName + `)?`,
	` bgp router-id ` + shIPv4,
	` no bgp ebgp-requires-policy`,
	` no bgp default ipv4-unicast`,
	` bgp graceful-restart(?: (?:stalepath|restart)-time ` + shNum + `)?`,
	` neighbor ` + shPeer + ` (?:interface )?remote-as (?:internal|external|` + shNum + `)`,
	` neighbor ` + shPeer + ` bfd`,
	` neighbor ` + shPeer + ` bfd profile ` + shName,
	` neighbor ` + shPeer + ` password ` + shPassword,
	` neighbor ` + shPeer + ` port ` + shNum,
	` neighbor ` + shPeer + ` ebgp-multihop ` + shNum,
	` neighbor ` + shPeer + ` timers ` + shNum + ` ` + shNum,
	` neighbor ` + shPeer + ` timers connect ` + shNum,
	` !`,
	` address-family (?:ipv4 unicast|ipv6 unicast|l2vpn evpn)`,
	` exit-address-family`,
	// address families
	`  network (?:` + shPfx4 + `|` + shPfx6 + `)`,
	`  neighbor ` + shPeer + ` activate`,
	`  neighbor ` + shPeer + ` route-map ` + shName + ` (?:in|out)`,
	`  advertise-all-vni`,
	`  vni ` + shNum,
	`   rd ` + shRDRT,
	`   route-target (?:import|export) ` + shRDRT,
	`  exit-vni`,
	`  no dup-addr-detection`,
	`  dup-addr-detection max-moves ` + shNum + ` time ` + shNum,
	`  advertise (?:ipv4|ipv6) unicast`,
	`  rd ` + shRDRT,
	`  route-target (?:import|export) ` + shRDRT,
	// filters
	`ip prefix-list ` + shName + ` seq ` + shNum + ` (?:permit|deny) ` + shPfx4 + `(?: ge ` + shNum + `)?(?: le ` + shNum + `)?`,
	`ipv6 prefix-list ` + shName + ` seq ` + shNum + ` (?:permit|deny) ` + shPfx6 + `(?: ge ` + shNum + `)?(?: le ` + shNum + `)?`,
	`route-map ` + shName + ` (?:permit|deny) ` + shNum,
	` match ip address prefix-list ` + shName,
	` match ipv6 address prefix-list ` + shName,
	// bfd
	`bfd`,
	` profile ` + shName,
	`  (?:detect-multiplier|transmit-interval|receive-interval|minimum-ttl) ` + shNum,
	`  (?:passive-mode|echo-mode)`,
	` exit`,
}

// shapeRE matches exactly one whole line of any shape. One alternation is matched in a single
// pass, which keeps CheckShape linear in the size of the configuration.
var shapeRE = regexp.MustCompile(`^(?:` + strings.Join(lineShapes, `|`) + `)$`)

// CheckShape reports the first line of conf that is not a line the templates can produce. It
// is the last defence against configuration injection: whatever slipped past validation, FRR
// is never handed a line of an unknown shape.
func CheckShape(conf string) error {
	if conf == "" {
		return fmt.Errorf("empty configuration")
	}
	if !strings.HasSuffix(conf, "\n") {
		return fmt.Errorf("configuration does not end with a newline")
	}
	body := conf[:len(conf)-1]
	for n := 1; ; n++ {
		line, rest, more := strings.Cut(body, "\n")
		if !shapeRE.MatchString(line) {
			return fmt.Errorf("line %d %q has no known shape", n, line)
		}
		if !more {
			return nil
		}
		body = rest
	}
}
