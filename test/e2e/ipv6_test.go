package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// ipv6LabName is the lab of TestIPv6Underlay.
const ipv6LabName = "e2e6"

// TestIPv6Underlay: in the ipv6 fabric (ibgp-rr over an IPv6-only underlay) every node's one
// session is Established to its leaf's IPv6 address (weft lab status -o json), no router
// namespace has an IPv4 address on its uplink, each VTEP and VXLAN device is IPv6, the
// segment works across the racks with web1's type-2 route on node3 pointing at node1's IPv6
// VTEP, and the VXLAN packets on the wire between node1 and its leaf are IPv6.
func TestIPv6Underlay(t *testing.T) {
	ctx := context.Background()
	s := upLab(t, lab.Options{Name: ipv6LabName, Nodes: 3, Fabric: lab.FabricIPv6, AgentBinary: agentBin})
	// To the leaf's IPv6 address (fd00:0:<link>::).
	waitOneSessionPerNode(t, s, lab.FabricIPv6)
	n1, n3 := node2(t, s, "node1"), node2(t, s, "node3")
	if n1.Leaf == n3.Leaf {
		t.Fatalf("node1 and node3 must be in different racks")
	}
	for _, n := range s.Nodes {
		if out, err := exec.Command("ip", "-n", n.RouterNetns, "-4", "-br", "addr", "show", "dev", "eth1").CombinedOutput(); err != nil || strings.Contains(string(out), "/") {
			t.Errorf("node %s's uplink has an IPv4 address (%v): %s", n.Name, err, out)
		}
	}
	w1, w3 := workload2(t, s, "web1"), workload2(t, s, "web3")
	vxlan := fmt.Sprintf("vni%d", w1.VNI)
	out, err := exec.Command("ip", "-d", "-n", n1.RouterNetns, "link", "show", "dev", vxlan).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "local "+n1.VTEP+" ") {
		t.Errorf("node1's %s: want VXLAN from its IPv6 VTEP %s (%v):\n%s", vxlan, n1.VTEP, err, out)
	}
	poll(t, 30*time.Second, "web3 → web1 across the racks", func() error { return ping(ctx, w3, addr(w1.IP)) })
	if err := lab.CheckType2Routes(ctx, s, "node3", w1.VNI); err != nil {
		t.Fatal(err)
	}
	poll(t, 30*time.Second, "node3 forwards web1's MAC to node1's IPv6 VTEP", func() error {
		out, err := exec.Command("ip", "netns", "exec", n3.RouterNetns, "bridge", "fdb", "show", "dev", vxlan).CombinedOutput()
		if err != nil || !strings.Contains(string(out), w1.MAC+" dst "+n1.VTEP+" ") {
			return fmt.Errorf("%v: no entry for %s at %s:\n%s", err, w1.MAC, n1.VTEP, out)
		}
		return nil
	})
	checkVXLANOnTheWireIsIPv6(t, s, n1, w3, w1)
}

// checkVXLANOnTheWireIsIPv6 captures the first VXLAN packets (UDP 4789, IPv4 or IPv6) on
// node n's uplink, seen from its leaf's port, while workload from pings to, and checks that
// every one is IPv6 between VTEPs of the lab.
func checkVXLANOnTheWireIsIPv6(t *testing.T, s *lab.State, n *lab.Node, from, to *lab.Workload) {
	t.Helper()
	u, err := s.NodeUplink(n.Name, 1)
	if err != nil {
		t.Fatal(err)
	}
	const want = 6
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", u.Leaf, "tcpdump", "-i", u.Port, "-nn", "-l", "-c", fmt.Sprint(want), "udp port 4789")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Stop tcpdump (if still running) before waiting for it, whatever ends the test.
	defer func() { cancel(); _ = cmd.Wait() }()
	// tcpdump says "listening on" once it captures; what it says otherwise is the diagnosis.
	listening, stderrDone := make(chan struct{}), make(chan struct{})
	var said []string
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			said = append(said, sc.Text())
			if strings.Contains(sc.Text(), "listening on") {
				close(listening)
				break
			}
		}
		for sc.Scan() {
		}
	}()
	select {
	case <-listening:
	case <-stderrDone:
		t.Fatalf("tcpdump on %s in %s ended before capturing: %s", u.Port, u.Leaf, strings.Join(said, "\n"))
	case <-ctx.Done():
		t.Fatalf("tcpdump on %s in %s did not start within a minute", u.Port, u.Leaf)
	}
	// Traffic until tcpdump has its packets: five pings 0.2 s apart at a time, so a ping that
	// fails at once does not spin.
	pinging := make(chan struct{})
	go func() {
		defer close(pinging)
		for ctx.Err() == nil {
			_ = exec.CommandContext(ctx, "ip", "netns", "exec", from.Netns, "ping", "-c", "5", "-i", "0.2", "-W", "1", addr(to.IP)).Run()
		}
	}()
	// tcpdump prints each VXLAN packet on a line with its time, and the inner frame it decodes
	// on the next line, without one: only the first kind is the packet on the wire.
	var lines []string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] >= '0' && l[0] <= '9' {
			lines = append(lines, l)
		}
	}
	cancel()
	<-pinging
	if len(lines) < want {
		t.Fatalf("%d VXLAN packets on %s's uplink while %s pinged %s, want %d:\n%s", len(lines), n.Name, from.Name, to.Name, want, strings.Join(lines, "\n"))
	}
	for _, l := range lines {
		// e.g. "12:00:00.000000 IP6 fd00:255:1::3.41234 > fd00:255:1::1.4789: VXLAN, flags [I] (0x08), vni 110"
		if f := strings.Fields(l); len(f) < 5 || f[1] != "IP6" || !strings.HasPrefix(f[2], "fd00:255:") || !strings.HasPrefix(f[4], "fd00:255:") {
			t.Errorf("a VXLAN packet on %s's uplink is not IPv6 between VTEPs: %s", n.Name, l)
		}
	}
}
