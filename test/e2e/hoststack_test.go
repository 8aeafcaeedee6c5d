package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/netnamespace"
)

// linkLocal is the EUI-64 link-local address the kernel gives a device with this MAC
// (addrgenmode eui64): the address a host bridge would answer on.
func linkLocal(t *testing.T, mac string) netip.Addr {
	t.Helper()
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		t.Fatalf("MAC %q: %v", mac, err)
	}
	b := [16]byte{0: 0xfe, 1: 0x80, 8: hw[0] ^ 2, 9: hw[1], 10: hw[2], 11: 0xff, 12: 0xfe, 13: hw[3], 14: hw[4], 15: hw[5]}
	return netip.AddrFrom16(b)
}

// deviceMAC reads a device's MAC in a namespace.
func deviceMAC(t *testing.T, ns, dev string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-br", "link", "show", "dev", dev).CombinedOutput()
	f := strings.Fields(string(out))
	if err != nil || len(f) < 3 {
		t.Fatalf("ip -n %s link show %s: %v: %s", ns, dev, err, out)
	}
	return f[2]
}

// hostLinkLocals are the addresses a node's host bridge answers on or would answer on: those
// it has, and the EUI-64 link-local of its MAC (a bridge takes a port's MAC after its address
// was made, so the two differ).
func hostLinkLocals(t *testing.T, ns, dev string) []netip.Addr {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns, "-6", "addr", "show", "dev", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s -6 addr show %s: %v: %s", ns, dev, err, out)
	}
	as := []netip.Addr{linkLocal(t, deviceMAC(t, ns, dev))}
	for _, m := range regexp.MustCompile(`inet6 (fe80::[0-9a-f:]+)/`).FindAllStringSubmatch(string(out), -1) {
		if a := netip.MustParseAddr(m[1]); !slices.Contains(as, a) {
			as = append(as, a)
		}
	}
	return as
}

// arpAnswers counts the answers in arping's output (its exit code says little: 1 when more
// answers came than probes went out).
func arpAnswers(out string) int {
	var n int
	if m := regexp.MustCompile(`Received (\d+) response`).FindStringSubmatch(out); m != nil {
		fmt.Sscan(m[1], &n)
	}
	return n
}

// listen opens a TCP listener on [::] (both families) inside ns and accepts until the test
// ends; it returns the port.
func listen(t *testing.T, ns string) int {
	t.Helper()
	var ln net.Listener
	if err := netnamespace.Do(ns, func() error {
		var err error
		ln, err = net.Listen("tcp", "[::]:0")
		return err
	}); err != nil {
		t.Fatalf("listen in %s: %v", ns, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// connect opens a TCP connection from workload w to addr on its eth0 (link-local) and port.
func connect(ctx context.Context, w *lab.Workload, addr netip.Addr, port int) error {
	target := fmt.Sprintf("/dev/tcp/%s%%eth0/%d", addr, port)
	_, err := lab.Exec(ctx, st, w.Name, []string{"timeout", "3", "bash", "-c", "exec 3<>" + target})
	return err
}

// TestTenantSegmentCannotReachHostStack: a workload on an L2VNI reaches the other workloads of
// its segment, and never the node's own network stack, on its own node or across VXLAN:
// no ICMPv6 answer from a host bridge's link-local or to all-nodes, no TCP connection to a
// listener on [::] of the host namespace, no ARP answer for an address of the host. The host
// bridges have no address, and the segment's type-2 routes hold workload MACs only.
// Long: one probe per way into the host's stack.
func TestTenantSegmentCannotReachHostStack(t *testing.T) {
	ctx := context.Background()
	// w1 probes; w2 is a workload of the same segment on another node (migrations in the
	// tests before may have moved them).
	w1 := workload(t, "web1")
	var w2 *lab.Workload
	for i := range st.Workloads {
		if w := &st.Workloads[i]; w.VNI == w1.VNI && w.Node != w1.Node {
			w2 = w
		}
	}
	if w2 == nil {
		t.Fatalf("no workload of VNI %d on another node than web1's (%s)", w1.VNI, w1.Node)
	}
	bridge := fmt.Sprintf("br-hs-%d", w1.VNI)
	var workloadLLs, workloadMACs []string
	for _, w := range st.Workloads {
		workloadMACs = append(workloadMACs, w.MAC)
		if w.VNI == w1.VNI {
			workloadLLs = append(workloadLLs, linkLocal(t, w.MAC).String())
		}
	}
	for _, n := range st.Nodes {
		out, err := exec.Command("ip", "-n", n.Netns, "addr", "show", "dev", bridge).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: ip addr show %s: %v: %s", n.Name, bridge, err, out)
		}
		if strings.Contains(string(out), "inet") {
			t.Errorf("%s: %s has addresses:\n%s", n.Name, bridge, out)
		}
	}

	// Positive controls: web1 reaches w2 (another node, across VXLAN) on the segment, by
	// link-local ICMPv6, TCP and ARP.
	w2LL := linkLocal(t, w2.MAC)
	w2Port := listen(t, w2.Netns)
	poll(t, 20*time.Second, "web1 pings "+w2.Name+"'s link-local", func() error {
		_, err := lab.Exec(ctx, st, w1.Name, []string{"ping", "-6", "-c", "1", "-W", "1", w2LL.String() + "%eth0"})
		return err
	})
	poll(t, 20*time.Second, "web1 connects to a TCP listener of "+w2.Name, func() error { return connect(ctx, w1, w2LL, w2Port) })
	if out, _ := lab.Exec(ctx, st, w1.Name, []string{"arping", "-c", "2", "-w", "3", "-I", "eth0", addr(w2.IP)}); arpAnswers(out) == 0 {
		t.Fatalf("positive control: web1 gets no ARP answer from %s:\n%s", w2.Name, out)
	}

	// The host stack of every node: web1's own and the others across VXLAN. Each host namespace gets an IPv4
	// address (on lo: the node's own, not the segment's) that web1 then claims is on-link.
	const hostIP = "10.254.254.1"
	if _, err := lab.Exec(ctx, st, w1.Name, []string{"ip", "route", "add", hostIP + "/32", "dev", "eth0"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = lab.Exec(ctx, st, w1.Name, []string{"ip", "route", "del", hostIP + "/32", "dev", "eth0"})
	})
	for _, n := range st.Nodes {
		if out, err := exec.Command("ip", "-n", n.Netns, "addr", "add", hostIP+"/32", "dev", "lo").CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", n.Name, err, out)
		}
		t.Cleanup(func() { _ = exec.Command("ip", "-n", n.Netns, "addr", "del", hostIP+"/32", "dev", "lo").Run() })
		port := listen(t, n.Netns)
		for _, ll := range hostLinkLocals(t, n.Netns, bridge) {
			if _, err := lab.Exec(ctx, st, w1.Name, []string{"ping", "-6", "-c", "2", "-W", "1", ll.String() + "%eth0"}); err == nil {
				t.Errorf("web1 pings %s's host bridge at %s", n.Name, ll)
			}
			if err := connect(ctx, w1, ll, port); err == nil {
				t.Errorf("web1 connects to a TCP listener on [::]:%d of %s's host namespace at %s", port, n.Name, ll)
			}
		}
	}
	if out, _ := lab.Exec(ctx, st, w1.Name, []string{"arping", "-c", "2", "-w", "3", "-I", "eth0", hostIP}); arpAnswers(out) != 0 {
		t.Errorf("a node's host answers ARP for its own address %s on the segment:\n%s", hostIP, out)
	}

	// All-nodes multicast: only workloads answer.
	out, _ := lab.Exec(ctx, st, w1.Name, []string{"ping", "-6", "-c", "3", "-i", "0.3", "-w", "3", "ff02::1%eth0"})
	var answered []string
	for _, m := range regexp.MustCompile(`from (fe80::[0-9a-f:]+)`).FindAllStringSubmatch(out, -1) {
		if !slices.Contains(answered, m[1]) {
			answered = append(answered, m[1])
		}
	}
	if !slices.Contains(answered, w2LL.String()) {
		t.Errorf("positive control: %s (%s) did not answer ff02::1:\n%s", w2.Name, w2LL, out)
	}
	for _, a := range answered {
		if !slices.Contains(workloadLLs, a) {
			t.Errorf("%s, not a workload, answered ff02::1 on the segment:\n%s", a, out)
		}
	}

	// Type-2 routes: workload MACs only, on every node.
	mac := regexp.MustCompile(`\[48\]:\[([0-9a-f]{2}(?::[0-9a-f]{2}){5})\]`)
	for _, n := range st.Nodes {
		out, err := lab.Vtysh(ctx, st, n.Name, "show bgp l2vpn evpn route type macip")
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		var errs []error
		for _, m := range mac.FindAllStringSubmatch(out, -1) {
			if !slices.Contains(workloadMACs, m[1]) {
				errs = append(errs, fmt.Errorf("type-2 route for %s", m[1]))
			}
		}
		if err := errors.Join(errs...); err != nil {
			t.Errorf("%s has routes for MACs that are no workload's (%v):\n%s", n.Name, err, out)
		}
	}
}

// TestOpenHostBridgeIsClosedWithoutLoss: a node whose host bridge is open to the host's stack
// (as an older weft left it: addresses, IPv6 on, snooping on) is closed by the next agent's
// first pass, an upgrade's restart, while bridged traffic through it loses nothing.
func TestOpenHostBridgeIsClosedWithoutLoss(t *testing.T) {
	ctx := context.Background()
	w1, w3 := workload(t, "web1"), workload(t, "web3")
	n := node(t, w1.Node)
	bridge := fmt.Sprintf("br-hs-%d", w1.VNI)
	for _, c := range [][]string{
		{"ip", "netns", "exec", n.Netns, "sysctl", "-q", "-w", "net.ipv6.conf." + bridge + ".disable_ipv6=0"},
		{"ip", "netns", "exec", n.Netns, "sysctl", "-q", "-w", "net.ipv4.conf." + bridge + ".arp_ignore=0"},
		{"ip", "netns", "exec", n.Netns, "sysctl", "-q", "-w", "net.ipv4.conf." + bridge + ".rp_filter=0"},
		{"ip", "-n", n.Netns, "link", "set", "dev", bridge, "addrgenmode", "eui64"},
		{"ip", "-n", n.Netns, "link", "set", "dev", bridge, "type", "bridge", "mcast_snooping", "1"},
		{"ip", "-n", n.Netns, "addr", "add", "fe80::1:2:3:4/64", "dev", bridge},
	} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	closed := func() error {
		addrs, err := exec.Command("ip", "-n", n.Netns, "addr", "show", "dev", bridge).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, addrs)
		}
		link, err := exec.Command("ip", "-n", n.Netns, "-d", "link", "show", "dev", bridge).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, link)
		}
		if strings.Contains(string(addrs), "inet") || !strings.Contains(string(link), "mcast_snooping 0") || !strings.Contains(string(link), "addrgenmode none") {
			return fmt.Errorf("%s is open:\n%s%s", bridge, addrs, link)
		}
		v6, err := exec.Command("ip", "netns", "exec", n.Netns, "cat", "/proc/sys/net/ipv6/conf/"+bridge+"/disable_ipv6").Output()
		if err != nil || strings.TrimSpace(string(v6)) != "1" {
			return fmt.Errorf("%s: IPv6 is on (%q, %v)", bridge, v6, err)
		}
		return nil
	}
	if closed() == nil {
		t.Fatalf("control: %s is still closed after it was opened", bridge)
	}
	const window = 8 * time.Second
	start := time.Now()
	var took time.Duration
	r := probeDuring(t, w3, w1, window, func() error {
		if err := lab.RestartAgent(ctx, st, n.Name, agentBin); err != nil {
			return err
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			err := closed()
			if err == nil {
				took = time.Since(start)
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("the restarted agent did not close the bridge: %w", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Logf("%s on %s closed %.1f s after the agent's restart; probes %s → %s: %s", bridge, n.Name, took.Seconds(), w3.Name, w1.Name, r)
	if took >= window {
		t.Fatalf("the bridge was closed after the probes ended (%v): the test proves nothing", took)
	}
	if r.Lost != 0 {
		t.Errorf("closing the bridge lost %d probes: %s", r.Lost, r)
	}
}
