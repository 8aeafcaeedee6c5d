// Package frrrules is the one table of the values FRR accepts for the settings weft renders:
// numeric ranges, route distinguishers and targets, ASNs, the name of the default VRF. plan
// checks users' input against it and reports the field; frr checks its model against the same
// rules before it prints anything, as an invariant (a model that breaks one is a programming
// error, never text for bgpd to choke on). A rule changes here and nowhere else.
package frrrules

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Range is an inclusive range of a numeric setting.
type Range struct{ Min, Max int64 }

// Check reports a value outside the range.
func (r Range) Check(v int64) error {
	if v < r.Min || v > r.Max {
		return fmt.Errorf("%d is outside %d..%d", v, r.Min, r.Max)
	}
	return nil
}

// The ranges bgpd and bfdd accept.
var (
	ASN           = Range{1, 4294967295}
	VNI           = Range{1, 16777215} // 24 bits
	Port          = Range{1, 65535}
	EBGPMultihop  = Range{1, 255}
	ConnectTime   = Range{1, 65535}
	Keepalive     = Range{0, 65535}
	GRTime        = Range{1, 4095} // graceful-restart restart-time and stalepath-time
	BFDInterval   = Range{10, 60000}
	BFDMultiplier = Range{2, 255}
	BFDMinimumTTL = Range{1, 254}
)

// HoldTime checks a BGP hold time: 0 (no keepalives) or 3..65535 seconds.
func HoldTime(h int64) error {
	if h != 0 && (h < 3 || h > 65535) {
		return fmt.Errorf("%d must be 0 or 3..65535", h)
	}
	return nil
}

// Family checks that a is a plain address (no zone, not IPv4-mapped) of family 4 or 6 (any
// family when 0): bgpd reads an IPv4-mapped address or a zone as something else.
func Family(a netip.Addr, family int) error {
	switch {
	case a.Zone() != "" || a.Is4In6():
		return fmt.Errorf("not a plain IPv4 or IPv6 address")
	case family == 4 && !a.Is4():
		return fmt.Errorf("not an IPv4 address")
	case family == 6 && !a.Is6():
		return fmt.Errorf("not an IPv6 address")
	}
	return nil
}

// DefaultVRF is the name of FRR's default VRF: no tenant VRF may take it.
const DefaultVRF = "default"

// RouteDistinguisher checks a route distinguisher: ASN2:NN4, ASN4:NN2 or IPv4:NN2, in
// canonical decimal (as bgpd prints it, so a reload compares equal).
func RouteDistinguisher(s string) error { return twoParts(s, "route distinguisher") }

// RouteTarget checks a route target: the same shapes as a route distinguisher.
func RouteTarget(s string) error { return twoParts(s, "route target") }

func twoParts(s, what string) error {
	admin, local, ok := strings.Cut(s, ":")
	if !ok || !onlyOf(admin, "0123456789.") || !onlyOf(local, "0123456789") {
		return fmt.Errorf("%q is not a %s of the form ASN:NN or IPv4:NN", s, what)
	}
	lv, err := strconv.ParseUint(local, 10, 32)
	if err != nil || strconv.FormatUint(lv, 10) != local {
		return fmt.Errorf("%q: %q is not a canonical number in 0..4294967295", s, local)
	}
	if strings.Contains(admin, ".") {
		ip, err := netip.ParseAddr(admin)
		if err != nil || !ip.Is4() {
			return fmt.Errorf("%q: %q is not an IPv4 address", s, admin)
		}
		if lv > 65535 {
			return fmt.Errorf("%q: the number after an IPv4 address must be ≤ 65535", s)
		}
		return nil
	}
	av, err := strconv.ParseUint(admin, 10, 32)
	if err != nil || strconv.FormatUint(av, 10) != admin {
		return fmt.Errorf("%q: %q is not a canonical ASN in 0..4294967295", s, admin)
	}
	if av > 65535 && lv > 65535 {
		return fmt.Errorf("%q: with a 4-byte ASN the number must be ≤ 65535", s)
	}
	return nil
}

// onlyOf reports whether s is non-empty and made of the bytes in set only.
func onlyOf(s, set string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(set, s[i]) < 0 {
			return false
		}
	}
	return true
}
