package hostnet

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
	"github.com/weftnet/weft/internal/plan"
)

// TestRefresherProbesStaleNeighbours: a STALE neighbour on a watched bridge is probed and,
// since the workload answers, becomes REACHABLE; one on another bridge is left alone.
func TestRefresherProbesStaleNeighbours(t *testing.T) {
	requireRoot(t)
	router := testNS(t, "r", true)
	rh := handle(t, router)

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
		wl := testNS(t, "w", true)
		wns, err := netns.GetFromName(wl.Name)
		if err != nil {
			t.Fatal(err)
		}
		defer wns.Close()
		port := "p-" + w.bridge[len(w.bridge)-2:]
		must(t, rh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port, MasterIndex: br.Attrs().Index}, PeerName: "eth0", PeerNamespace: netlink.NsFd(wns)}))
		must(t, rh.LinkSetUp(mustLink(t, rh, port)))
		wh := handle(t, wl)
		eth := mustLink(t, wh, "eth0")
		must(t, wh.AddrAdd(eth, &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(w.ip, 24))}))
		must(t, wh.LinkSetUp(eth))
		w.mac = eth.Attrs().HardwareAddr
	}

	ref := NewRefresher(router, nil)
	ref.SetBridges("br-pe-60")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ref.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("refresher: %v", err)
		}
	})

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
	ns, err := h.NeighList(mustLink(t, h, bridge).Attrs().Index, unix.AF_INET)
	if err != nil {
		t.Fatal(err)
	}
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
