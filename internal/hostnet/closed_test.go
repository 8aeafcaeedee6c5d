package hostnet

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/weftnet/weft/internal/plan"
)

// sysctlIn reads a sysctl in ns with the sysctl(8) tool: an independent reader from the
// kernel layer's parse of the link dump.
func sysctlIn(t *testing.T, ns Namespace, key string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.Name, "cat", "/proc/sys/"+key).CombinedOutput()
	if err != nil {
		t.Fatalf("read %s in %s: %v: %s", key, ns.Name, err, out)
	}
	return strings.TrimSpace(string(out))
}

// details is `ip -d link show` of dev.
func details(t *testing.T, ns Namespace, dev string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-d", "link", "show", "dev", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -d link show %s: %v: %s", dev, err, out)
	}
	return string(out)
}

// checkClosed asserts the host side of L2VNI vni is out of the host's stack: no address on
// the Managed host bridge or either veth end, addrgenmode none on all three, and on the bridge
// multicast snooping off, IPv6 off, rp_filter on and arp_ignore 8.
func checkClosed(t *testing.T, e *env, vni uint32) {
	t.Helper()
	hbr, hv, rv := plan.ManagedHostBridgeName(vni), plan.HostVethName(vni), plan.RouterVethName(vni)
	for _, d := range []struct {
		ns   Namespace
		h    *netlink.Handle
		name string
	}{{e.host, e.hh, hbr}, {e.host, e.hh, hv}, {e.router, e.rh, rv}} {
		l := mustLink(t, d.h, d.name)
		if addrs := redump(t, "addresses of "+d.name, func() ([]netlink.Addr, error) { return d.h.AddrList(l, netlink.FAMILY_ALL) }); len(addrs) != 0 {
			t.Errorf("%s has addresses %v; want none", d.name, addrs)
		}
		if !strings.Contains(details(t, d.ns, d.name), "addrgenmode none") {
			t.Errorf("%s: addrgenmode is not none", d.name)
		}
	}
	if !strings.Contains(details(t, e.host, hbr), "mcast_snooping 0") {
		t.Errorf("%s: multicast snooping is on (the bridge would send IGMP/MLD reports)", hbr)
	}
	for key, want := range map[string]string{
		"net/ipv6/conf/" + hbr + "/disable_ipv6": "1",
		"net/ipv4/conf/" + hbr + "/rp_filter":    "1",
		"net/ipv4/conf/" + hbr + "/arp_ignore":   "8",
	} {
		if got := sysctlIn(t, e.host, key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
}

// TestSegmentHostSideClosed: the host side of an L2VNI never lets the tenant segment reach the
// node's own stack. A node set up by an older weft (a Managed host bridge with addresses)
// is closed on the next pass, drift is undone, and a pass with nothing to do writes nothing.
func TestSegmentHostSideClosed(t *testing.T) {
	e := newEnv(t)
	hbr := plan.ManagedHostBridgeName(110)
	old := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: hbr, Group: OwnedGroup}}
	must(t, e.hh.LinkAdd(old))
	must(t, e.hh.LinkSetUp(old))
	for _, a := range []string{"fe80::1/64", "10.9.9.9/24"} {
		p := netip.MustParsePrefix(a)
		must(t, e.hh.AddrAdd(old, &netlink.Addr{IPNet: ipNet(p)}))
	}

	kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{l2vni(110), l2vni(111)}}
	e.apply(t, kp)
	checkClosed(t, e, 110)
	checkClosed(t, e, 111)

	// Drift: someone turns IPv6 and address generation back on, relaxes the IPv4 settings
	// and adds an address. The next full pass (a restarted agent, or the cache's minute)
	// closes the bridge again.
	for _, c := range [][]string{
		{"ip", "-n", e.host.Name, "link", "set", "dev", hbr, "addrgenmode", "eui64"},
		{"ip", "-n", e.host.Name, "link", "set", "dev", hbr, "type", "bridge", "mcast_snooping", "1"},
		{"ip", "netns", "exec", e.host.Name, "sysctl", "-q", "-w", "net.ipv6.conf." + hbr + ".disable_ipv6=0"},
		{"ip", "netns", "exec", e.host.Name, "sysctl", "-q", "-w", "net.ipv4.conf." + hbr + ".arp_ignore=0"},
		{"ip", "netns", "exec", e.host.Name, "sysctl", "-q", "-w", "net.ipv4.conf." + hbr + ".rp_filter=0"},
		{"ip", "-n", e.host.Name, "addr", "add", "fe80::2/64", "dev", hbr},
		{"ip", "-n", e.host.Name, "link", "set", "dev", plan.HostVethName(111), "addrgenmode", "eui64"},
		{"ip", "-n", e.host.Name, "addr", "add", "fe80::3/64", "dev", plan.HostVethName(111)},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	restarted := &Applier{StateDir: e.a.StateDir, NoCache: true}
	if _, err := restarted.Apply(t.Context(), kp, e.router, e.host); err != nil {
		t.Fatal(err)
	}
	checkClosed(t, e, 110)
	checkClosed(t, e, 111)

	// Nothing left to do: no write, without the cache and with it. (Not e's applier: its cache
	// saw the other applier's links change but not its sysctl writes, which make no event;
	// one applier per node is what weft runs.)
	cached := &Applier{StateDir: e.a.StateDir}
	defer cached.Close()
	for _, pass := range []struct {
		name string
		a    *Applier
	}{{"full-read", restarted}, {"first (full-read)", cached}, {"cached", cached}} {
		res, err := pass.a.Apply(t.Context(), kp, e.router, e.host)
		if err != nil || res.Writes != 0 || res.Updated+res.Created+res.Deleted != 0 {
			t.Errorf("%s no-op pass wrote: %+v (%v)", pass.name, res, err)
		}
		if pass.name == "cached" && res.Reads != 0 {
			t.Errorf("the cached pass read in full (%d reads)", res.Reads)
		}
	}
}

// TestExternalBridgeWithAddressesWarns: weft leaves a user's bridge alone but says when the
// host's own stack sits on the tenant segment through it.
func TestExternalBridgeWithAddressesWarns(t *testing.T) {
	e := newEnv(t)
	addExternalBridge(t, e.hh, "ext-br0")
	v := l2vni(120)
	v.HostMaster = plan.HostMaster{Name: "ext-br0"}
	kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{v}}
	if res := e.apply(t, kp); len(res.Warnings) != 0 {
		t.Errorf("warnings for a bridge without addresses: %v", res.Warnings)
	}
	br := mustLink(t, e.hh, "ext-br0")
	must(t, e.hh.AddrAdd(br, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("10.7.7.1/24"))}))
	res := e.apply(t, kp)
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "ext-br0") || !strings.Contains(res.Warnings[0], "10.7.7.1/24") {
		t.Errorf("warnings %q; want one naming ext-br0 and 10.7.7.1/24", res.Warnings)
	}
	if !hasAddr(t, e.hh, br, netip.MustParsePrefix("10.7.7.1/24")) {
		t.Error("weft removed an address from an External bridge")
	}
}
