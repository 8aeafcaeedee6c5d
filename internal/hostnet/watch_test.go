package hostnet

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestWatchExpect checks nsWatch.expect, which Apply calls after each address it adds: an
// IPv6 address added with IFA_F_NODAD is in the cache at once, whether or not the kernel's
// late RTM_NEWADDR has arrived; an address removed again before expect ran stays out of it;
// a removal after expect is folded; and the cache stays what a fresh read returns.
func TestWatchExpect(t *testing.T) {
	ns, h := rootNS(t, "w")
	nsh := nsHandle(t, ns)
	lo := mustLink(t, h, "lo")
	must(t, h.LinkSetUp(lo))

	w, err := newWatch(nsh)
	must(t, err)
	defer w.close()
	var writes int
	c, err := dial(nsh, &writes)
	must(t, err)
	defer c.close()
	if w.state, err = read(c); err != nil {
		t.Fatal(err)
	}
	idx := lo.Attrs().Index
	cached := func(p netip.Prefix) bool {
		t.Helper()
		if !w.sync() {
			t.Fatal("events could not be folded")
		}
		return slices.Contains(w.state.byIndex[idx].addrs, p)
	}

	p := netip.MustParsePrefix("fd00:255::7/128")
	w.settle()
	must(t, c.addAddr(idx, p))
	w.expect(linkAddr{idx, p})
	if !cached(p) {
		t.Fatal("an address just added is missing from the cache")
	}
	must(t, h.AddrDel(lo, &netlink.Addr{IPNet: ipNet(p)}))
	if cached(p) {
		t.Fatal("a removal after the add was not folded")
	}

	// Added, then removed by someone else before expect ran: the cache must not claim it.
	q := netip.MustParsePrefix("fd00:255::8/128")
	w.settle()
	must(t, c.addAddr(idx, q))
	must(t, h.AddrDel(lo, &netlink.Addr{IPNet: ipNet(q)}))
	w.expect(linkAddr{idx, q})
	if cached(q) {
		t.Fatal("expect put back an address that was removed after the add")
	}

	fresh, err := read(c)
	must(t, err)
	if got, want := fresh.byIndex[idx].addrs, w.state.byIndex[idx].addrs; !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("cache %v, fresh read %v", want, got)
	}
}

func sorted(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ps
}
