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

// block is where a line stands in the configuration's nesting.
type block int

const (
	topLevel block = iota
	vrfBlock
	routerBlock
	unicastBlock // address-family ipv4|ipv6 unicast
	evpnBlock    // address-family l2vpn evpn
	vniBlock     // vni N inside l2vpn evpn
	routeMapBlock
	bfdBlock
	bfdProfileBlock
)

// shape is one kind of line: the block it may appear in, its pattern (leading spaces
// included, anchored when compiled) and the block it leaves the parser in. Every pattern
// starts with its indentation and a literal first word, which CheckShape uses to pick the few
// shapes a line can have.
type shape struct {
	in      block
	pattern string
	next    block
}

// lineShapes lists every line the templates can produce.
var lineShapes = []shape{
	{topLevel, `!`, topLevel},
	{topLevel, `ip forwarding`, topLevel},
	{topLevel, `no ip forwarding`, topLevel},
	{topLevel, `ipv6 forwarding`, topLevel},
	{topLevel, `no ipv6 forwarding`, topLevel},

	{topLevel, `vrf ` + shName, vrfBlock},
	{vrfBlock, ` vni ` + shNum, vrfBlock},
	{vrfBlock, `exit-vrf`, topLevel},

	{topLevel, `router bgp ` + shNum + `(?: vrf ` + shName + `)?`, routerBlock},
	{routerBlock, ` bgp router-id ` + shIPv4, routerBlock},
	{routerBlock, ` no bgp ebgp-requires-policy`, routerBlock},
	{routerBlock, ` no bgp default ipv4-unicast`, routerBlock},
	{routerBlock, ` bgp graceful-restart(?: (?:stalepath|restart)-time ` + shNum + `| preserve-fw-state)?`, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` (?:interface )?remote-as (?:internal|external|` + shNum + `)`, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` description [A-Za-z0-9_.,:/()@+-]+(?: [A-Za-z0-9_.,:/()@+-]+)*`, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` bfd`, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` bfd profile ` + shName, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` password ` + shPassword, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` port ` + shNum, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` ebgp-multihop ` + shNum, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` timers ` + shNum + ` ` + shNum, routerBlock},
	{routerBlock, ` neighbor ` + shPeer + ` timers connect ` + shNum, routerBlock},
	{routerBlock, ` !`, routerBlock},
	{routerBlock, ` address-family (?:ipv4|ipv6) unicast`, unicastBlock},
	{routerBlock, ` address-family l2vpn evpn`, evpnBlock},
	{routerBlock, `exit`, topLevel},

	{unicastBlock, `  network (?:` + shPfx4 + `|` + shPfx6 + `)`, unicastBlock},
	{unicastBlock, `  neighbor ` + shPeer + ` activate`, unicastBlock},
	{unicastBlock, `  neighbor ` + shPeer + ` next-hop-self`, unicastBlock},
	{unicastBlock, `  neighbor ` + shPeer + ` route-map ` + shName + ` (?:in|out)`, unicastBlock},
	{unicastBlock, ` exit-address-family`, routerBlock},

	{evpnBlock, `  neighbor ` + shPeer + ` activate`, evpnBlock},
	{evpnBlock, `  advertise-all-vni`, evpnBlock},
	{evpnBlock, `  vni ` + shNum, vniBlock},
	{vniBlock, `   rd ` + shRDRT, vniBlock},
	{vniBlock, `   route-target (?:import|export) ` + shRDRT, vniBlock},
	{vniBlock, `  exit-vni`, evpnBlock},
	{evpnBlock, `  no dup-addr-detection`, evpnBlock},
	{evpnBlock, `  dup-addr-detection max-moves ` + shNum + ` time ` + shNum, evpnBlock},
	{evpnBlock, `  advertise (?:ipv4|ipv6) unicast`, evpnBlock},
	{evpnBlock, `  rd ` + shRDRT, evpnBlock},
	{evpnBlock, `  route-target (?:import|export) ` + shRDRT, evpnBlock},
	{evpnBlock, ` exit-address-family`, routerBlock},

	{topLevel, `ip prefix-list ` + shName + ` seq ` + shNum + ` (?:permit|deny) ` + shPfx4 + `(?: ge ` + shNum + `)?(?: le ` + shNum + `)?`, topLevel},
	{topLevel, `ipv6 prefix-list ` + shName + ` seq ` + shNum + ` (?:permit|deny) ` + shPfx6 + `(?: ge ` + shNum + `)?(?: le ` + shNum + `)?`, topLevel},
	{topLevel, `route-map ` + shName + ` (?:permit|deny) ` + shNum, routeMapBlock},
	{routeMapBlock, ` match ip address prefix-list ` + shName, routeMapBlock},
	{routeMapBlock, ` match ipv6 address prefix-list ` + shName, routeMapBlock},
	{routeMapBlock, `exit`, topLevel},

	{topLevel, `bfd`, bfdBlock},
	{bfdBlock, ` profile ` + shName, bfdProfileBlock},
	{bfdProfileBlock, `  detect-multiplier ` + shNum, bfdProfileBlock},
	{bfdProfileBlock, `  transmit-interval ` + shNum, bfdProfileBlock},
	{bfdProfileBlock, `  receive-interval ` + shNum, bfdProfileBlock},
	{bfdProfileBlock, `  passive-mode`, bfdProfileBlock},
	{bfdProfileBlock, `  echo-mode`, bfdProfileBlock},
	{bfdProfileBlock, `  minimum-ttl ` + shNum, bfdProfileBlock},
	{bfdProfileBlock, ` exit`, bfdBlock},
	{bfdBlock, ` !`, bfdBlock},
	{bfdBlock, `exit`, topLevel},
}

type compiledShape struct {
	re   *regexp.Regexp
	next block
}

type shapeKey struct {
	in    block
	start string // indentation and first word
}

// shapeIndex groups the compiled shapes by block, indentation and first word.
var shapeIndex = func() map[shapeKey][]compiledShape {
	out := map[shapeKey][]compiledShape{}
	for _, s := range lineShapes {
		start := lineStart(s.pattern)
		if strings.ContainsAny(start, `\()[]{}?*+|^$.`) {
			panic("frr: line shape " + s.pattern + " does not start with a literal word")
		}
		k := shapeKey{s.in, start}
		out[k] = append(out[k], compiledShape{regexp.MustCompile(`^(?:` + s.pattern + `)$`), s.next})
	}
	return out
}()

// lineStart is a line's indentation and first word.
func lineStart(line string) string {
	i := 0
	for i < len(line) && line[i] == ' ' {
		i++
	}
	if j := strings.IndexByte(line[i:], ' '); j >= 0 {
		return line[:i+j]
	}
	return line
}

// CheckShape reports the first line of conf that is not a line the templates can produce at
// that place: each line must have a known shape and stand in the block that shape belongs to
// (a well-formed neighbor line inside a vrf block is refused), and every block must be closed.
// It is the last defence against configuration injection: whatever slipped past validation,
// FRR is never handed a line of an unknown shape.
func CheckShape(conf string) error {
	if conf == "" {
		return fmt.Errorf("empty configuration")
	}
	if !strings.HasSuffix(conf, "\n") {
		return fmt.Errorf("configuration does not end with a newline")
	}
	in := topLevel
	body := conf[:len(conf)-1]
	for n := 1; ; n++ {
		line, rest, more := strings.Cut(body, "\n")
		next, ok := matchLine(in, line)
		if !ok {
			return fmt.Errorf("line %d %q has no known shape here", n, line)
		}
		in = next
		if !more {
			break
		}
		body = rest
	}
	if in != topLevel {
		return fmt.Errorf("configuration ends inside a block")
	}
	return nil
}

func matchLine(in block, line string) (block, bool) {
	for _, s := range shapeIndex[shapeKey{in, lineStart(line)}] {
		if s.re.MatchString(line) {
			return s.next, true
		}
	}
	return in, false
}
