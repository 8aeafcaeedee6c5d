package frr

import (
	"cmp"
	"slices"
	"strings"
)

// Orders in which bgpd prints what the view holds.

// compareNeighbors is bgpd's peer order: interface peers first, by interface name in bgpd's
// natural order, then addresses (IPv4 before IPv6, numerically).
func compareNeighbors(a, b neighborView) int {
	switch {
	case a.Interface && b.Interface:
		if c := compareIfNames(a.ID, b.ID); c != 0 {
			return c
		}
		// Names the natural order calls equal (eth2, eth02) are printed by bgpd in strcmp
		// order; it is as good a tie-break as any and keeps the sort total.
		return strings.Compare(a.ID, b.ID)
	case a.Interface:
		return -1
	case b.Interface:
		return 1
	}
	return a.addr.Compare(b.addr)
}

// compareIfNames orders interface names as FRR does: runs of non-digits compare as strings, runs
// of digits as numbers, so eth2 < eth10 and de100 < fxp0.
func compareIfNames(a, b string) int {
	for len(a) > 0 && len(b) > 0 {
		la, lb := nonDigitPrefix(a), nonDigitPrefix(b)
		if la != lb {
			return strings.Compare(a, b)
		}
		if c := strings.Compare(a[:la], b[:lb]); c != 0 {
			return c
		}
		a, b = a[la:], b[lb:]
		switch {
		case a == "" && b == "":
			return 0
		case a == "":
			return -1
		case b == "":
			return 1
		}
		da, db := digitPrefix(a), digitPrefix(b)
		if c := compareDecimal(a[:da], b[:db]); c != 0 {
			return c
		}
		a, b = a[da:], b[db:]
	}
	switch {
	case len(a) > 0:
		return 1
	case len(b) > 0:
		return -1
	}
	return 0
}

func nonDigitPrefix(s string) int {
	i := 0
	for i < len(s) && (s[i] < '0' || s[i] > '9') {
		i++
	}
	return i
}

func digitPrefix(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// compareDecimal compares two digit strings by value, whatever their length.
func compareDecimal(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

// sortedCopy returns s sorted by c, copying only when s is not sorted already (the caller
// usually sorts, and Render must not modify its input).
func sortedCopy[S ~[]E, E any](s S, c func(a, b E) int) S {
	if slices.IsSortedFunc(s, c) {
		return s
	}
	s = slices.Clone(s)
	slices.SortStableFunc(s, c)
	return s
}
