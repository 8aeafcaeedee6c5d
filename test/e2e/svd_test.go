package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/umltest"
)

// svdLabName is the lab of TestSingleVXLANLab.
const svdLabName = "e2esvd"

// TestSingleVXLANLab: with agents in the single-VXLAN-device layout (--single-vxlan) on FRR 10,
// each node's router namespace has one VLAN-aware bridge and one VXLAN device and no per-VNI
// device; zebra takes the VNIs from it (show evpn vni names that device), the segment works
// across the racks, and the remote MAC is programmed on the one device, on the VNI's VLAN,
// towards the originating VTEP. This machine's kernel has no bridge VLAN filtering: the test
// runs inside user-mode-linux.
func TestSingleVXLANLab(t *testing.T) {
	if !umltest.Need(t, hostnet.HasSingleVXLAN, "bridge", "vxlan", "veth") {
		return
	}
	ctx := context.Background()
	s := upLab(t, lab.Options{Name: svdLabName, Nodes: 3, SingleVXLAN: true, AgentBinary: agentBin})
	n1, n3 := node2(t, s, "node1"), node2(t, s, "node3")
	if n1.Leaf == n3.Leaf {
		t.Fatalf("node1 and node3 must be in different racks")
	}
	w1, w3 := workload2(t, s, "web1"), workload2(t, s, "web3")
	poll(t, 60*time.Second, "web3 → web1 across the racks", func() error { return ping(ctx, w3, addr(w1.IP)) })
	for _, n := range []*lab.Node{n1, n3} {
		out, err := exec.Command("ip", "-n", n.RouterNetns, "-br", "link", "show").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		for _, dev := range []string{plan.BridgeName(uint32(w1.VNI)), plan.VXLANName(uint32(w1.VNI))} {
			if strings.Contains(string(out), dev+" ") || strings.Contains(string(out), dev+"@") {
				t.Errorf("%s has the per-VNI device %s:\n%s", n.Name, dev, out)
			}
		}
		if !strings.Contains(string(out), plan.SVDVXLAN) || !strings.Contains(string(out), plan.SVDBridge) {
			t.Errorf("%s lacks %s or %s:\n%s", n.Name, plan.SVDBridge, plan.SVDVXLAN, out)
		}
	}
	poll(t, 30*time.Second, "zebra on node3 has web1's VNI on the single VXLAN device", func() error {
		out, err := lab.Vtysh(ctx, s, "node3", fmt.Sprintf("show evpn vni %d", w1.VNI))
		if err == nil && (!strings.Contains(out, "VxLAN interface: "+plan.SVDVXLAN) || !strings.Contains(out, "Bridge: "+plan.SVDBridge)) {
			err = fmt.Errorf("VNI %d not on %s:\n%s", w1.VNI, plan.SVDVXLAN, out)
		}
		return err
	})
	poll(t, 30*time.Second, "node3 forwards web1's MAC over the single VXLAN device to node1's VTEP", func() error {
		out, err := exec.Command("bridge", "-n", n3.RouterNetns, "fdb", "show", "dev", plan.SVDVXLAN).CombinedOutput()
		s := string(out)
		if err != nil || !strings.Contains(s, fmt.Sprintf("%s dst %s src_vni %d ", w1.MAC, n1.VTEP, w1.VNI)) {
			return fmt.Errorf("%v: no entry for %s at %s with VNI %d:\n%s", err, w1.MAC, n1.VTEP, w1.VNI, s)
		}
		return nil
	})
}
