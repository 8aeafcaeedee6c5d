package plan

import (
	"fmt"
	"net/netip"
	"regexp"
	"strings"

	"github.com/weftnet/weft/internal/frrrules"
)

var (
	vrfNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{0,14}$`)
	ifNamePattern    = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$`)
	bfdNamePattern   = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_-]{0,62}$`)
	defaultVXLANPort = uint16(4789)
)

// reservedVRFNames are names a VRF cannot take: FRR's default VRF, the kernel's routing
// tables main and local, FRR's "vrf all" keyword and the loopback device.
var reservedVRFNames = map[string]string{
	frrrules.DefaultVRF: "the name of FRR's default VRF",
	"main":              "the name of the kernel's main routing table",
	"local":             "the name of the kernel's local routing table",
	"all":               "FRR's keyword for every VRF (vrf all)",
	"lo":                "the loopback device",
}

// checkVRFName enforces the VRF pattern and keeps VRF names clear of reserved names and of
// the names weft generates.
func checkVRFName(s string) error {
	if !vrfNamePattern.MatchString(s) {
		return fmt.Errorf("%q must match %s", s, vrfNamePattern)
	}
	if why, ok := reservedVRFNames[strings.ToLower(s)]; ok {
		return fmt.Errorf("%q is reserved: %s", s, why)
	}
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(s, p) {
			return fmt.Errorf("%q must not start with %q, which weft uses for its own devices", s, p)
		}
	}
	return nil
}

// specialRange is a block of addresses with a special purpose (RFC 6890), which no VTEP,
// router ID, neighbor, gateway or host link may use.
type specialRange struct {
	p    netip.Prefix
	what string
	// linkLocal ranges are usable where an address only has to work on one link.
	linkLocal bool
}

var specialRanges = []specialRange{
	{netip.MustParsePrefix("0.0.0.0/8"), "\"this network\" (0.0.0.0/8)", false},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback (127.0.0.0/8)", false},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (169.254.0.0/16)", true},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast (224.0.0.0/4)", false},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved and broadcast (240.0.0.0/4)", false},
	{netip.MustParsePrefix("::/128"), "the unspecified address (::)", false},
	{netip.MustParsePrefix("::1/128"), "loopback (::1)", false},
	{netip.MustParsePrefix("::ffff:0:0/96"), "IPv4-mapped (::ffff:0:0/96)", false},
	{netip.MustParsePrefix("fe80::/10"), "link-local (fe80::/10)", false},
	{netip.MustParsePrefix("ff00::/8"), "multicast (ff00::/8)", false},
}

// Which special ranges a use allows.
const (
	noLinkLocal = iota
	// ipv4LinkLocal allows 169.254.0.0/16: a host link or a BGP session is one link, and
	// 169.254/16 is a common choice for such links. IPv6 link-local needs an interface
	// (zone), which numbered fields cannot carry.
	ipv4LinkLocal
)

// checkUsableNetwork rejects a network that overlaps a special-purpose range.
func checkUsableNetwork(p netip.Prefix, allow int) error {
	if r := specialHit(allow, p.Overlaps); r != nil {
		return fmt.Errorf("%s overlaps %s, which is not usable here", p, r.what)
	}
	return nil
}

// checkUsableAddr rejects an address in a special-purpose range.
func checkUsableAddr(a netip.Addr, allow int) error {
	if r := specialHit(allow, func(p netip.Prefix) bool { return p.Contains(a) }); r != nil {
		return fmt.Errorf("%s is %s, which is not usable here", a, r.what)
	}
	return nil
}

// specialHit returns the first special range, among those allow does not allow, for which
// hit is true.
func specialHit(allow int, hit func(netip.Prefix) bool) *specialRange {
	for i := range specialRanges {
		r := &specialRanges[i]
		if r.linkLocal && allow == ipv4LinkLocal {
			continue
		}
		if hit(r.p) {
			return r
		}
	}
	return nil
}

// checkIfName checks a Linux interface name supplied by the user. "all" and "default" match
// the pattern but the kernel refuses them (they name the sysctl directories of every and of
// new interfaces: net/ipv4/conf/all, net/ipv4/conf/default).
func checkIfName(s string) error {
	if !ifNamePattern.MatchString(s) {
		return fmt.Errorf("%q is not a valid interface name (must match %s)", s, ifNamePattern)
	}
	if s == "all" || s == "default" {
		return fmt.Errorf("%q is not a valid interface name: the kernel reserves it", s)
	}
	return nil
}

var secretKeyPattern = regexp.MustCompile(`^[-._a-zA-Z0-9]{1,253}$`)

// checkSecretRef checks a Secret's name and key the way the API server checks Secrets.
func checkSecretRef(name, key string) (string, error) {
	if !isDNS1123Subdomain(name) {
		return "name", fmt.Errorf("%q is not a valid Secret name (a lowercase RFC 1123 subdomain)", name)
	}
	if !secretKeyPattern.MatchString(key) {
		return "key", fmt.Errorf("%q is not a valid Secret key (1..253 of letters, digits, '-', '_' and '.')", key)
	}
	return "", nil
}

// checkASN checks a 4-byte ASN.
func checkASN(v int64) error { return frrrules.ASN.Check(v) }

// isDNS1123Subdomain is validation.IsDNS1123Subdomain without its regular expression (it runs
// for every resource on every Build): at most 253 characters, dot-separated labels of lower
// case letters, digits and '-', each starting and ending with a letter or digit.
func isDNS1123Subdomain(s string) bool {
	if len(s) == 0 || len(s) > 253 {
		return false
	}
	alnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || !alnum(label[0]) || !alnum(label[len(label)-1]) {
			return false
		}
		for i := 1; i < len(label)-1; i++ {
			if c := label[i]; !alnum(c) && c != '-' {
				return false
			}
		}
	}
	return true
}

// parseCIDR parses a network in canonical form (no host bits) of the wanted family (4, 6 or 0
// for either).
func parseNetwork(s string, family int) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	if err := frrrules.Family(p.Addr(), family); err != nil {
		return netip.Prefix{}, fmt.Errorf("%q: %w", s, err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set; did you mean %s?", s, p.Masked())
	}
	return p, nil
}

// parseInterfaceAddr parses an address with its prefix length (192.168.1.1/24) that must be
// usable as a host address on the link: not the network address nor the IPv4 broadcast.
func parseInterfaceAddr(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address with a prefix length such as 192.168.10.1/24", s)
	}
	if p.Addr().Zone() != "" || p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is not a plain IPv4 or IPv6 address", s)
	}
	hostBits := p.Addr().BitLen() - p.Bits()
	if hostBits >= 2 && p.Addr() == p.Masked().Addr() {
		return netip.Prefix{}, fmt.Errorf("%q is the network address of its subnet", s)
	}
	if p.Addr().Is4() && hostBits >= 2 && p.Addr() == lastAddr(p) {
		return netip.Prefix{}, fmt.Errorf("%q is the broadcast address of its subnet", s)
	}
	return p, nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 1 << (7 - uint(i%8))
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func familyOf(a netip.Addr) int {
	if a.Is4() {
		return 4
	}
	return 6
}
