package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/umltest"
)

// svdLabName is the lab of TestL3SingleVXLAN.
const svdLabName = "e2esvd"

// TestL3SingleVXLAN runs the routed scenarios (testL3) with the agents' default layout, auto,
// on a kernel that can build the single VXLAN device (user-mode-linux here) and FRR 10: so
// every VNI, L2 and L3, is on one VLAN-aware bridge and one VXLAN device. First it checks
// the layout itself: no per-VNI device on any node, an SVI per VNI, zebra takes each VNI
// from the one device (show evpn vni names it, its bridge and the SVI), and a remote MAC
// is programmed on it with its VNI towards the originating VTEP. Then node1's agent moves the
// node to the per-VNI layout and back (a downgrade and an upgrade, restarts with another
// --kernel-layout) while web1 probes db2 on node2: each move is one pass, traffic comes back,
// and the two layouts interoperate across nodes in between.
func TestL3SingleVXLAN(t *testing.T) {
	if !umltest.Need(t, hostnet.HasSingleVXLAN, "vrf", "bridge", "vxlan", "veth", "8021q") {
		return
	}
	testL3(t, svdLabName, plan.LayoutAuto, checkSingleVXLAN)
}

func checkSingleVXLAN(t *testing.T, s *lab.State) {
	ctx := context.Background()
	if !s.SingleVXLAN || s.FRRInstall().Major < 10 {
		t.Fatalf("lab %s: layout auto with %s on a kernel that can: want the single VXLAN device, the lab says %v", s.Name, s.FRRInstall(), s.SingleVXLAN)
	}
	web1, db2 := workload2(t, s, "web1"), workload2(t, s, "db2")
	n1, n2 := node2(t, s, web1.Node), node2(t, s, db2.Node)
	for _, n := range []*lab.Node{n1, n2} {
		out, err := exec.Command("ip", "-n", n.RouterNetns, "-br", "link", "show").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		devs := map[string]bool{}
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.Fields(l); len(f) > 0 {
				devs[strings.SplitN(f[0], "@", 2)[0]] = true
			}
		}
		for d := range devs {
			if strings.HasPrefix(d, "vni") && d != plan.SVDVXLAN || strings.HasPrefix(d, "br-pe-") && d != plan.SVDBridge {
				t.Errorf("%s has the per-VNI device %s", n.Name, d)
			}
		}
		for _, d := range []string{plan.SVDBridge, plan.SVDVXLAN, plan.SVIName(uint32(web1.VNI)), plan.SVIName(uint32(db2.VNI))} {
			if !devs[d] {
				t.Errorf("%s lacks %s:\n%s", n.Name, d, out)
			}
		}
	}
	poll(t, 30*time.Second, "zebra on "+n1.Name+" has the VNIs on the single VXLAN device", func() error {
		out, err := lab.Vtysh(ctx, s, n1.Name, "show evpn vni detail")
		if err != nil {
			return err
		}
		want := []string{
			fmt.Sprintf("VNI: %d", db2.VNI), "VxLAN interface: " + plan.SVDVXLAN, "Bridge: " + plan.SVDBridge,
			"SVI interface: " + plan.SVIName(uint32(db2.VNI)), "Type: L3",
		}
		for _, w := range want {
			if !strings.Contains(out, w) {
				return fmt.Errorf("no %q:\n%s", w, out)
			}
		}
		if strings.Contains(out, "VxLAN interface: vni1") {
			return fmt.Errorf("a per-VNI VXLAN device:\n%s", out)
		}
		return nil
	})
	poll(t, 60*time.Second, web1.Name+" → "+db2.Name, func() error { return ping(ctx, web1, addr(db2.IP)) })
	poll(t, 30*time.Second, n1.Name+" forwards "+db2.Name+"'s MAC over the single VXLAN device to "+n2.Name+"'s VTEP", func() error {
		out, err := exec.Command("bridge", "-n", n1.RouterNetns, "fdb", "show", "dev", plan.SVDVXLAN).CombinedOutput()
		if err != nil || !strings.Contains(string(out), fmt.Sprintf("%s dst %s src_vni %d ", db2.MAC, n2.VTEP, db2.VNI)) {
			return fmt.Errorf("%v: no entry for %s at %s with VNI %d:\n%s", err, db2.MAC, n2.VTEP, db2.VNI, out)
		}
		return nil
	})

	for _, layout := range []string{plan.LayoutPerVNI, plan.LayoutAuto} {
		moveLayout(t, s, n1, layout, web1, db2)
		single := layout == plan.LayoutAuto
		out, err := exec.Command("ip", "-n", n1.RouterNetns, "-br", "link", "show").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		has := func(dev string) bool {
			return strings.Contains(string(out), dev+" ") || strings.Contains(string(out), dev+"@")
		}
		if has(plan.SVDVXLAN) != single || has(plan.VXLANName(uint32(web1.VNI))) == single || has(plan.BridgeName(uint32(web1.VNI))) == single {
			t.Errorf("%s after the move to %s: want only the devices of that layout:\n%s", n1.Name, layout, out)
		}
	}
}

// moveLayout restarts node n's agent with --kernel-layout layout while from probes to (on
// another node) every 10 ms; traffic must come back, and the outage is logged.
func moveLayout(t *testing.T, s *lab.State, n *lab.Node, layout string, from, to *lab.Workload) {
	t.Helper()
	ctx := context.Background()
	var res lab.ProbeResult
	var perr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, perr = lab.Probe(ctx, from.Netns, netip.MustParseAddr(addr(to.IP)), 10*time.Millisecond, 30*time.Second)
	}()
	err := lab.RestartAgent(ctx, s, n.Name, agentBin, "--kernel-layout", layout)
	<-done
	if err != nil {
		t.Fatalf("restart %s's agent with --kernel-layout %s: %v", n.Name, layout, err)
	}
	if perr != nil {
		t.Fatal(perr)
	}
	poll(t, 60*time.Second, fmt.Sprintf("%s → %s after %s moved to %s", from.Name, to.Name, n.Name, layout), func() error { return ping(ctx, from, addr(to.IP)) })
	t.Logf("%s moved to --kernel-layout %s: %s → %s %s", n.Name, layout, from.Name, to.Name, res)
}
