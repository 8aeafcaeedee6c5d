package hostnet

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// TestWatchExpect checks the order nsWatch.expect keeps: an address removed and added back
// (what Reannounce does) is present in the cache at once, whether or not the kernel's late
// RTM_NEWADDR has arrived; a removal after that is still folded; and the cache stays what a
// fresh read returns.
func TestWatchExpect(t *testing.T) {
	requireRoot(t)
	ns := testNS(t, "w", true)
	h := handle(t, ns)
	nsh, err := netns.GetFromName(ns.Name)
	must(t, err)
	defer nsh.Close()
	lo := mustLink(t, h, "lo")
	must(t, h.LinkSetUp(lo))
	p := netip.MustParsePrefix("fd00:255::7/128")
	must(t, h.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(p)}))

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
	cached := func() bool {
		t.Helper()
		if !w.sync() {
			t.Fatal("events could not be folded")
		}
		return slices.Contains(w.state.byIndex[idx].addrs, p)
	}

	must(t, c.delAddr(idx, p))
	must(t, c.addAddr(idx, p))
	w.expect([]linkAddr{{idx, p}})
	if !cached() {
		t.Fatal("an address removed and added back is missing from the cache")
	}

	must(t, h.AddrDel(lo, &netlink.Addr{IPNet: ipNet(p)}))
	if cached() {
		t.Fatal("a removal after the add was not folded")
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
