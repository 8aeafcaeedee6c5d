package frr

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/weftnet/weft/internal/frrrules"
)

// Checks and conversions of the view's values: route targets, RDs, ASNs, filters, BFD.

// routeTargets validates route targets and returns them as bgpd prints them: sorted by their
// text, without duplicates. The input is returned as is when it is in that order already.
func routeTargets(in []string) ([]string, error) {
	for _, s := range in {
		if err := frrrules.RouteTarget(s); err != nil {
			return nil, fmt.Errorf("route-target %w", err)
		}
	}
	if isStrictlySorted(in) {
		return in, nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out), nil
}

func isStrictlySorted(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] >= s[i] {
			return false
		}
	}
	return true
}

// rd checks a route distinguisher and returns it unchanged; "" (automatic) stays "".
func rd(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if err := frrrules.RouteDistinguisher(s); err != nil {
		return "", fmt.Errorf("rd %w", err)
	}
	return s, nil
}

// parseCanonicalUint parses a uint32 written the way FRR prints it (no sign, no leading zero).
func parseCanonicalUint(s string) (uint64, error) {
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil || s[0] == '0' && len(s) > 1 {
		return 0, fmt.Errorf("%q is not a canonical number in 0..4294967295", s)
	}
	return v, nil
}

// parseASN parses a remote-as number.
func parseASN(s string) (uint64, error) {
	v, err := parseCanonicalUint(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not internal, external or an asn", s)
	}
	if err := frrrules.ASN.Check(int64(v)); err != nil {
		return 0, fmt.Errorf("asn %w", err)
	}
	return v, nil
}

// prefixLists flattens the lists into lines: IPv4 lists then IPv6 lists (FRR prints them in
// two groups), each in the model's order (FRR's creation order), entries by sequence.
func prefixLists(in []PrefixList) (v4, v6 []prefixLine, err error) {
	seen := make(map[string]bool, len(in))
	for _, pl := range in {
		if !validName(pl.Name, 63) {
			return nil, nil, fmt.Errorf("prefix-list name %q must be %s", pl.Name, nameRule)
		}
		family, key := 4, "ip "+pl.Name
		if pl.IPv6 {
			family, key = 6, "ipv6 "+pl.Name
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("%s prefix-list %s is defined twice", key[:strings.IndexByte(key, ' ')], pl.Name)
		}
		seen[key] = true
		entries := sortedCopy(pl.Entries, func(a, b PrefixListEntry) int { return cmp.Compare(a.Seq, b.Seq) })
		for i, e := range entries {
			if i > 0 && entries[i-1].Seq == e.Seq {
				return nil, nil, fmt.Errorf("prefix-list %s: seq %d is used twice", pl.Name, e.Seq)
			}
			line, err := prefixEntry(pl.Name, e, family)
			if err != nil {
				return nil, nil, fmt.Errorf("prefix-list %s seq %d: %w", pl.Name, e.Seq, err)
			}
			if family == 4 {
				v4 = append(v4, line)
			} else {
				v6 = append(v6, line)
			}
		}
	}
	return v4, v6, nil
}

func prefixEntry(name string, e PrefixListEntry, family int) (prefixLine, error) {
	if e.Seq == 0 {
		return prefixLine{}, errors.New("seq must be at least 1")
	}
	if err := checkAction(e.Action); err != nil {
		return prefixLine{}, err
	}
	if err := checkPrefix(e.Prefix, family); err != nil {
		return prefixLine{}, err
	}
	p := e.Prefix.Masked()
	bits, maxBits := uint8(p.Bits()), uint8(p.Addr().BitLen())
	// zebra's own rule: prefix length <= ge <= le <= maximum.
	if e.GE != 0 && (e.GE < bits || e.GE > maxBits) {
		return prefixLine{}, fmt.Errorf("ge %d must be within %d..%d", e.GE, bits, maxBits)
	}
	if e.LE != 0 && (e.LE < bits || e.LE > maxBits) {
		return prefixLine{}, fmt.Errorf("le %d must be within %d..%d", e.LE, bits, maxBits)
	}
	if e.GE != 0 && e.LE != 0 && e.GE > e.LE {
		return prefixLine{}, fmt.Errorf("ge %d is greater than le %d", e.GE, e.LE)
	}
	line := prefixLine{Name: name, Seq: u32(e.Seq), Action: e.Action, Prefix: p.String()}
	if e.GE != 0 {
		line.GE = strconv.Itoa(int(e.GE))
	}
	if e.LE != 0 {
		line.LE = strconv.Itoa(int(e.LE))
	}
	return line, nil
}

func checkAction(a string) error {
	if a != Permit && a != Deny {
		return fmt.Errorf("action %q must be %s or %s", a, Permit, Deny)
	}
	return nil
}

// routeMaps flattens route-maps into entries: maps in the model's order (FRR's creation order),
// entries by sequence; FRR prints every entry as its own block.
func routeMaps(in []RouteMap) ([]routeMapView, error) {
	var out []routeMapView
	seen := make(map[string]bool, len(in))
	for _, rm := range in {
		if !validName(rm.Name, 63) {
			return nil, fmt.Errorf("route-map name %q must be %s", rm.Name, nameRule)
		}
		if seen[rm.Name] {
			return nil, fmt.Errorf("route-map %s is defined twice", rm.Name)
		}
		seen[rm.Name] = true
		entries := sortedCopy(rm.Entries, func(a, b RouteMapEntry) int { return cmp.Compare(a.Seq, b.Seq) })
		for i, e := range entries {
			if e.Seq < 1 || e.Seq > 65535 {
				return nil, fmt.Errorf("route-map %s: seq %d is outside 1..65535", rm.Name, e.Seq)
			}
			if i > 0 && entries[i-1].Seq == e.Seq {
				return nil, fmt.Errorf("route-map %s: seq %d is used twice", rm.Name, e.Seq)
			}
			if err := checkAction(e.Action); err != nil {
				return nil, fmt.Errorf("route-map %s seq %d: %w", rm.Name, e.Seq, err)
			}
			for _, pl := range []string{e.MatchIPv4PrefixList, e.MatchIPv6PrefixList} {
				if pl != "" && !validName(pl, 63) {
					return nil, fmt.Errorf("route-map %s seq %d: prefix-list name %q must be %s", rm.Name, e.Seq, pl, nameRule)
				}
			}
			out = append(out, routeMapView{
				Name: rm.Name, Action: e.Action, Seq: u32(e.Seq),
				MatchIPv4: e.MatchIPv4PrefixList, MatchIPv6: e.MatchIPv6PrefixList,
			})
		}
	}
	return out, nil
}

// bfdProfiles formats the profiles in the model's order (bfdd prints them in creation order),
// leaving out values equal to bfdd's defaults.
func bfdProfiles(in []BFDProfile) ([]bfdView, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]bfdView, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, p := range in {
		if !validName(p.Name, 63) {
			return nil, fmt.Errorf("bfd profile name %q must be %s", p.Name, nameRule)
		}
		if seen[p.Name] {
			return nil, fmt.Errorf("bfd profile %s is defined twice", p.Name)
		}
		seen[p.Name] = true
		bv := bfdView{Name: p.Name, PassiveMode: p.PassiveMode, EchoMode: p.EchoMode}
		var err error
		if bv.DetectMultiplier, err = bfdValue(p.DetectMultiplier, frrrules.BFDMultiplier, defaultBFDMultiplier); err != nil {
			return nil, fmt.Errorf("bfd profile %s: detect-multiplier %w", p.Name, err)
		}
		if bv.TransmitInterval, err = bfdValue(p.TransmitIntervalMs, frrrules.BFDInterval, defaultBFDInterval); err != nil {
			return nil, fmt.Errorf("bfd profile %s: transmit-interval %w", p.Name, err)
		}
		if bv.ReceiveInterval, err = bfdValue(p.ReceiveIntervalMs, frrrules.BFDInterval, defaultBFDInterval); err != nil {
			return nil, fmt.Errorf("bfd profile %s: receive-interval %w", p.Name, err)
		}
		if bv.TTL, err = bfdValue(p.MinimumTTL, frrrules.BFDMinimumTTL, defaultBFDMinimumTTL); err != nil {
			return nil, fmt.Errorf("bfd profile %s: minimum-ttl %w", p.Name, err)
		}
		out = append(out, bv)
	}
	return out, nil
}

func bfdValue(v *uint32, r frrrules.Range, def uint32) (string, error) {
	switch {
	case v == nil || *v == def:
		return "", nil
	case r.Check(int64(*v)) != nil:
		return "", r.Check(int64(*v))
	}
	return u32(*v), nil
}

func u32(v uint32) string { return strconv.FormatUint(uint64(v), 10) }
