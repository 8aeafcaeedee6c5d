package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// ebgpLabName is the lab of TestEBGPUnnumbered.
const ebgpLabName = "e2eu"

// TestEBGPUnnumbered: in the ebgp-unnumbered fabric (eBGP leaf-spine, an ASN per router and
// node, no IPv4 address on any link) every node's one session is Established over its
// uplink's IPv6 link-local address with its leaf's ASN (weft lab status -o json and FRR say
// so), the underlay carries the VTEPs' IPv4 routes over IPv6 next hops, and the segment
// works across the racks: the type-2 routes cross four eBGP hops with their next hop, the
// originating VTEP, unchanged and are imported by the automatic route target of another
// ASN.
func TestEBGPUnnumbered(t *testing.T) {
	ctx := context.Background()
	s := upLab(t, lab.Options{Name: ebgpLabName, Nodes: 3, Fabric: lab.FabricEBGPUnnumbered, AgentBinary: agentBin})
	// An unnumbered session is named by the node's uplink (eth1).
	waitOneSessionPerNode(t, s, lab.FabricEBGPUnnumbered)
	n1, n3 := node2(t, s, "node1"), node2(t, s, "node3")
	if n1.Leaf == n3.Leaf {
		t.Fatalf("node1 and node3 must be in different racks")
	}
	out, err := lab.Vtysh(ctx, s, "node1", "show bgp neighbors eth1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "external link") || !strings.Contains(out, "remote AS 65001") || !strings.Contains(out, "Foreign host: fe80::") {
		t.Errorf("node1's session over eth1: want eBGP to AS 65001 (leaf1) over IPv6 link-local:\n%s", out)
	}
	if out, err := exec.Command("ip", "-n", n1.RouterNetns, "-4", "-br", "addr", "show", "dev", "eth1").CombinedOutput(); err != nil || strings.Contains(string(out), "/") {
		t.Errorf("node1's uplink has an IPv4 address (%v): %s", err, out)
	}
	// FRR 10 installs the IPv6 next hop itself (via inet6 fe80::…); FRR 8.4 an IPv4 link-local
	// stand-in with the neighbor's MAC (169.254.0.1 onlink).
	poll(t, 30*time.Second, "node1's route to node3's VTEP over an IPv6 next hop", func() error {
		out, err := routeVia(ctx, n1, n3.VTEP)
		if err == nil && (!strings.Contains(out, "dev eth1") || !strings.Contains(out, "via inet6 fe80::") && !strings.Contains(out, "via 169.254.0.1")) {
			err = fmt.Errorf("route to %s: %q", n3.VTEP, out)
		}
		return err
	})
	w1, w3 := workload2(t, s, "web1"), workload2(t, s, "web3")
	poll(t, 30*time.Second, "web3 → web1 across the racks", func() error { return ping(ctx, w3, addr(w1.IP)) })
	if err := lab.CheckType2Routes(ctx, s, "node3", w1.VNI); err != nil {
		t.Fatal(err)
	}
	// web1's route reached node3 over leaf1, the spine and leaf2, still pointing at node1.
	path := fmt.Sprintf("%s 0 65002 65000 65001 65101 i", n1.VTEP)
	poll(t, 30*time.Second, "web1's type-2 route on node3 with its four-hop AS path and node1's VTEP", func() error {
		out, err := lab.Vtysh(ctx, s, "node3", "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		// FRR 10.7 prints the RD after the prefix ("[…]:[MAC] RD 10.255.1.1:2"), 8.4 does not.
		if !regexp.MustCompile(regexp.QuoteMeta("["+w1.MAC+"]") + `(?: RD \S+)? ` + regexp.QuoteMeta(path)).MatchString(strings.Join(strings.Fields(out), " ")) {
			return fmt.Errorf("no route for %s with %q:\n%s", w1.MAC, path, out)
		}
		return nil
	})
	poll(t, 30*time.Second, "node3 forwards web1's MAC to node1's VTEP", func() error {
		out, err := exec.Command("ip", "netns", "exec", n3.RouterNetns, "bridge", "fdb", "show", "dev", fmt.Sprintf("vni%d", w1.VNI)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), w1.MAC+" dst "+n1.VTEP+" ") {
			return fmt.Errorf("%v: no entry for %s at %s:\n%s", err, w1.MAC, n1.VTEP, out)
		}
		return nil
	})
}
