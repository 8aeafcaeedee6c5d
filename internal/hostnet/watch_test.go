package hostnet

import (
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
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

	w, c := watchWithState(t, nsh)
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

// watchWithState opens a watch of ns whose state is a fresh read, and the connection that
// read it; both are closed when the test ends.
func watchWithState(t *testing.T, ns netns.NsHandle) (*nsWatch, *conn) {
	t.Helper()
	w, err := newWatch(ns)
	must(t, err)
	t.Cleanup(w.close)
	var writes int
	c, err := dial(ns, &writes)
	must(t, err)
	t.Cleanup(c.close)
	if w.state, err = read(c); err != nil {
		t.Fatal(err)
	}
	return w, c
}

func sorted(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ps
}

// TestWatchFoldsBridgePorts checks that the cache follows bridge ports without a full read:
// a port joining, its flags changed by a bridge notification alone (`bridge link set`, which
// the kernel reports as AF_BRIDGE only) or by its slave data, a port leaving and a port
// deleted. After each, the events fold and the cache is what a fresh read returns.
func TestWatchFoldsBridgePorts(t *testing.T) {
	ns, h := rootNS(t, "w")
	nsh := nsHandle(t, ns)
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br0"}}
	must(t, h.LinkAdd(br))
	for _, p := range []string{"a0", "a1"} {
		must(t, h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: p}, PeerName: "p" + p}))
	}
	must(t, h.LinkSetMaster(mustLink(t, h, "a0"), br))

	w, c := watchWithState(t, nsh)
	port := func(l *link) string {
		return fmt.Sprintf("%s master=%d slave=%q learning=%d neigh_suppress=%d", l.name, l.master, l.slaveKind, l.learning, l.neighSuppress)
	}
	check := func(step string) {
		t.Helper()
		if !w.sync() {
			t.Fatalf("%s: the events could not be folded (the next pass would read in full)", step)
		}
		fresh, err := read(c)
		must(t, err)
		for idx, f := range fresh.byIndex {
			cl := w.state.byIndex[idx]
			if cl == nil {
				t.Fatalf("%s: %s is missing from the cache", step, f.name)
			}
			if got, want := port(cl), port(f); got != want {
				t.Fatalf("%s: cache has %s, a fresh read %s", step, got, want)
			}
		}
		if len(fresh.byIndex) != len(w.state.byIndex) {
			t.Fatalf("%s: cache has %d links, a fresh read %d", step, len(w.state.byIndex), len(fresh.byIndex))
		}
	}
	bridge := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("bridge", append([]string{"-n", ns.Name}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("bridge %v: %v: %s", args, err, out)
		}
	}

	must(t, h.LinkSetMaster(mustLink(t, h, "a1"), br))
	check("a port joins")
	bridge("link", "set", "dev", "a1", "learning", "off")
	check("bridge link set learning off")
	bridge("link", "set", "dev", "a1", "neigh_suppress", "on")
	check("bridge link set neigh_suppress on")
	must(t, h.LinkSetLearning(mustLink(t, h, "a1"), true))
	check("learning on again")
	must(t, h.LinkSetNoMaster(mustLink(t, h, "a1")))
	check("a port leaves")
	must(t, h.LinkDel(mustLink(t, h, "a0")))
	check("a port is deleted")
}
