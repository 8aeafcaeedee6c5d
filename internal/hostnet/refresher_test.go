package hostnet

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/testenv/background"
)

// TestRefresherProbesStaleNeighbours: a STALE neighbour on a watched bridge is probed and,
// since the workload answers, becomes REACHABLE; one on another bridge is left alone.
func TestRefresherProbesStaleNeighbours(t *testing.T) {
	router, rh := rootNS(t, "r")

	type workload struct {
		bridge string
		gw     netip.Prefix
		ip     netip.Addr
		mac    net.HardwareAddr
	}
	loads := []workload{
		{"br-other", netip.MustParsePrefix("192.168.61.1/24"), netip.MustParseAddr("192.168.61.10"), nil},
		{"br-pe-60", netip.MustParsePrefix("192.168.60.1/24"), netip.MustParseAddr("192.168.60.10"), nil},
	}
	for i := range loads {
		w := &loads[i]
		must(t, rh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: w.bridge}}))
		br := mustLink(t, rh, w.bridge)
		must(t, rh.AddrAdd(br, &netlink.Addr{IPNet: ipNet(w.gw)}))
		setNeighSysctl(t, router, w.bridge)
		must(t, rh.LinkSetUp(br))
		_, w.mac = attachWorkload(t, rh, br, "p-"+w.bridge[len(w.bridge)-2:], w.ip)
	}

	ref := NewRefresher(router, nil)
	ref.SetBridges("br-pe-60")
	background.Run(t, "refresher", ref.Run)
	waitReady(t, ref)

	// Install both neighbours as STALE, as the kernel leaves an idle workload's entry.
	for _, w := range loads {
		br := mustLink(t, rh, w.bridge)
		must(t, rh.NeighSet(&netlink.Neigh{LinkIndex: br.Attrs().Index, Family: unix.AF_INET, State: unix.NUD_STALE, IP: w.ip.AsSlice(), HardwareAddr: w.mac}))
	}
	deadline := time.Now().Add(20 * time.Second)
	for neighState(t, rh, loads[1].bridge, loads[1].ip)&unix.NUD_REACHABLE == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("watched neighbour never became reachable (state %#x, probes %d)", neighState(t, rh, loads[1].bridge, loads[1].ip), ref.Probes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := neighState(t, rh, loads[0].bridge, loads[0].ip); s != unix.NUD_STALE {
		t.Errorf("unwatched neighbour state %#x, want STALE", s)
	}
	// One probe per STALE report; the initial scan may see the entry too, so 1 or 2.
	if p := ref.Probes(); p < 1 || p > 2 {
		t.Errorf("probes %d, want 1 or 2", p)
	}
}

// attachWorkload creates a workload namespace whose eth0, up with ip/24 and no IPv6, is the
// peer of the veth port on the bridge br in the router namespace; it returns the namespace
// and eth0's MAC.
func attachWorkload(t *testing.T, rh *netlink.Handle, br netlink.Link, port string, ip netip.Addr) (Namespace, net.HardwareAddr) {
	t.Helper()
	wl := testNS(t, "w", true)
	// IPv4 only: an IPv6 stack would announce the workload (DAD, MLD) as soon as eth0 is up,
	// and the tests decide when the bridge first sees its MAC.
	if out, err := exec.Command("ip", "netns", "exec", wl.Name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1").CombinedOutput(); err != nil {
		t.Fatalf("disable IPv6 in %s: %v: %s", wl.Name, err, out)
	}
	must(t, rh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port, MasterIndex: br.Attrs().Index}, PeerName: "eth0", PeerNamespace: netlink.NsFd(nsHandle(t, wl))}))
	must(t, rh.LinkSetUp(mustLink(t, rh, port)))
	wh := handle(t, wl)
	eth := mustLink(t, wh, "eth0")
	must(t, wh.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(ip, 24))}))
	must(t, wh.LinkSetUp(eth))
	return wl, eth.Attrs().HardwareAddr
}

// waitReady waits until the refresher watches its namespace, as the agent's has long before
// a workload moves.
func waitReady(t *testing.T, ref *Refresher) {
	t.Helper()
	select {
	case <-ref.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the refresher is not watching after 10 s")
	}
}

// waitOperUp waits until the kernel reports link name operationally up: its carrier change
// has gone through linkwatch, so no late carrier-down flushes its neighbours.
func waitOperUp(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for mustLink(t, h, name).Attrs().OperState != netlink.OperUp {
		if time.Now().After(deadline) {
			t.Fatalf("%s is not operationally up after 10 s", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// setNeighSysctl makes the kernel probe a neighbour at once after it is used, instead of
// after the default 5 s, so the test is quick.
func setNeighSysctl(t *testing.T, ns Namespace, dev string) {
	t.Helper()
	h, err := ns.open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = netnamespace.DoHandle(h, func() error {
		return os.WriteFile(filepath.Join("/proc/sys/net/ipv4/neigh", dev, "delay_first_probe_time"), []byte("0"), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func neighState(t *testing.T, h *netlink.Handle, bridge string, ip netip.Addr) int {
	t.Helper()
	idx := mustLink(t, h, bridge).Attrs().Index
	ns := redump(t, "neighbours of "+bridge, func() ([]netlink.Neigh, error) { return h.NeighList(idx, unix.AF_INET) })
	for _, n := range ns {
		if a, _ := netip.AddrFromSlice(n.IP); a.Unmap() == ip {
			return n.State
		}
	}
	return 0
}

func TestGatewayBridges(t *testing.T) {
	kp := fullPlan("nic0")
	got := GatewayBridges(kp)
	if len(got) != 1 || got[0] != plan.BridgeName(50) {
		t.Fatalf("GatewayBridges = %v, want [%s]", got, plan.BridgeName(50))
	}
}

// TestMovedWorkloadIsResolved: a workload that was remote (zebra's NOARP entry on the
// segment's router bridge, which its gratuitous ARP cannot overwrite) announces itself here;
// once zebra removes the remote entry, the Refresher resolves the address on the bridge and
// the workload's answer makes a local REACHABLE entry: the one zebra turns into the MAC+IP
// route at this node. The bridge has no address (a layer-2 segment).
func TestMovedWorkloadIsResolved(t *testing.T) {
	// zebra either removes its remote entry or rewrites it as a STALE local one.
	t.Run("remote entry removed", func(t *testing.T) { movedWorkload(t, false) })
	t.Run("remote entry rewritten STALE", func(t *testing.T) { movedWorkload(t, true) })
}

func movedWorkload(t *testing.T, rewrite bool) {
	router, rh := rootNS(t, "r")
	// A VTEP-like address elsewhere in the namespace: the source of the ARP request.
	must(t, rh.AddrAdd(mustLink(t, rh, "lo"), &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("100.65.0.9/32"))}))
	must(t, rh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "br-pe-70"}}))
	br := mustLink(t, rh, "br-pe-70")
	setNeighSysctl(t, router, "br-pe-70")
	must(t, rh.LinkSetUp(br))
	ip := netip.MustParseAddr("192.168.70.10")
	wl, mac := attachWorkload(t, rh, br, "pe-70", ip)
	// The bridge came up with no port, carrier off; the kernel tells the neighbour table
	// so later (linkwatch, up to a second under load), and that flushes the bridge's
	// entries, zebra's too. Wait until its carrier is on and seen, as zebra's entries come
	// on a bridge that is up.
	waitOperUp(t, rh, "br-pe-70")

	ref := NewRefresher(router, nil)
	ref.SetSegments("br-pe-70")
	background.Run(t, "refresher", ref.Run)
	waitReady(t, ref)

	// zebra's remote entry for the workload, as on the node it is about to move to.
	remote := &netlink.Neigh{LinkIndex: br.Attrs().Index, Family: unix.AF_INET, State: unix.NUD_NOARP, Flags: unix.NTF_EXT_LEARNED, IP: ip.AsSlice(), HardwareAddr: mac}
	must(t, rh.NeighSet(remote))
	// The workload arrives and announces itself: its MAC is learned on the bridge port, the
	// gratuitous ARP cannot touch the NOARP entry.
	if out, err := exec.Command("ip", "netns", "exec", wl.Name, "arping", "-c", "1", "-U", "-I", "eth0", ip.String()).CombinedOutput(); err != nil {
		t.Fatalf("arping: %v: %s", err, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !fdbLocal(t, rh, "pe-70", mac) {
		if time.Now().After(deadline) {
			t.Fatal("the bridge never learned the workload's MAC")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if s := neighState(t, rh, "br-pe-70", ip); s != unix.NUD_NOARP {
		t.Fatalf("the remote entry is %#x before zebra removes it; want NOARP", s)
	}
	// zebra sees the MAC turn local and removes its remote entry, or rewrites it as a local
	// STALE one (never advertised until confirmed).
	if rewrite {
		must(t, rh.NeighSet(&netlink.Neigh{LinkIndex: br.Attrs().Index, Family: unix.AF_INET, State: unix.NUD_STALE, IP: ip.AsSlice(), HardwareAddr: mac}))
	} else {
		must(t, rh.NeighDel(remote))
	}
	deadline = time.Now().Add(20 * time.Second)
	for neighState(t, rh, "br-pe-70", ip)&unix.NUD_REACHABLE == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no local entry for the moved workload (state %#x, resolves %d)", neighState(t, rh, "br-pe-70", ip), ref.Probes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ref.Probes() < 1 {
		t.Errorf("resolves counted: %d", ref.Probes())
	}
}

// fdbLocal reports whether the bridge learned mac on port (a dynamic entry, not zebra's).
func fdbLocal(t *testing.T, h *netlink.Handle, port string, mac net.HardwareAddr) bool {
	t.Helper()
	idx := mustLink(t, h, port).Attrs().Index
	es := redump(t, "fdb of "+port, func() ([]netlink.Neigh, error) { return h.NeighList(idx, unix.AF_BRIDGE) })
	for _, e := range es {
		if e.HardwareAddr.String() == mac.String() && e.Flags&unix.NTF_EXT_LEARNED == 0 && e.State&(unix.NUD_NOARP|unix.NUD_PERMANENT) == 0 {
			return true
		}
	}
	return false
}
