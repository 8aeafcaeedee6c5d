package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/plan"
)

// floodList is the kernel's head-end replication list of VNI vni on node n: the remote VTEPs
// its VXLAN device floods to (the all-zero MAC's FDB entries), sorted.
func floodList(ctx context.Context, n *lab.Node, vni uint32) ([]string, error) {
	out, err := exec.CommandContext(ctx, "bridge", "-n", n.RouterNetns, "fdb", "show", "dev", plan.VXLANName(vni)).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("bridge fdb show dev %s on %s: %w: %s", plan.VXLANName(vni), n.Name, err, out)
	}
	var vteps []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == "00:00:00:00:00:00" && f[1] == "dst" {
			vteps = append(vteps, f[2])
		}
	}
	slices.Sort(vteps)
	return vteps, nil
}

// TestL2VNIRouteTargetsDecideTheStretch: an L2VNI with a custom route-target pair is
// stretched only to the nodes that import it. node1 and node2 get VNI 150 with RT
// 65000:1500, node3 the same VNI with RT 65000:1599 (their own config directories, as two
// clusters would have). node1 and node2 flood to each other (the positive control); node3
// receives their type-3 routes (the route reflector passes every route on) but imports none,
// and neither of them imports node3's: no flood entry crosses the RT boundary.
func TestL2VNIRouteTargetsDecideTheStretch(t *testing.T) {
	ctx := context.Background()
	const vni = 150
	const file = "l2vni-rt.yaml"
	dir := t.TempDir()
	write := func(sub, rt string) string {
		t.Helper()
		p := filepath.Join(dir, sub, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		doc := fmt.Sprintf("apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata:\n  name: rt\n  namespace: weft-system\nspec:\n  vni: %d\n  importRouteTargets: [\"%s\"]\n  exportRouteTargets: [\"%s\"]\n", vni, rt, rt)
		if err := os.WriteFile(p, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Cleanup(func() {
		if err := lab.WriteConfig(st, file, ""); err != nil {
			t.Errorf("remove %s: %v", file, err)
		}
		if err := lab.CheckVNIRemoved(context.Background(), st, vni); err != nil {
			t.Errorf("VNI %d after the test: %v", vni, err)
		}
	})
	if _, err := lab.Apply(ctx, st, []string{write("a", "65000:1500")}, []string{"node1", "node2"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := lab.Apply(ctx, st, []string{write("b", "65000:1599")}, []string{"node3"}, nil); err != nil {
		t.Fatal(err)
	}
	n1, n2, n3 := node(t, "node1"), node(t, "node2"), node(t, "node3")
	poll(t, 30*time.Second, "node1 and node2 flood VNI 150 to each other", func() error {
		for _, p := range [][2]*lab.Node{{n1, n2}, {n2, n1}} {
			got, err := floodList(ctx, p[0], vni)
			if err != nil {
				return err
			}
			if !slices.Contains(got, p[1].VTEP) {
				return fmt.Errorf("%s floods VNI %d to %v, want %s among them", p[0].Name, vni, got, p[1].VTEP)
			}
		}
		return nil
	})
	// node3 has the others' type-3 routes in BGP and its own is out there too: only the RTs
	// keep them apart.
	poll(t, 30*time.Second, "node3 receives node1's type-3 route for VNI 150", func() error {
		out, err := lab.Vtysh(ctx, st, "node3", "show bgp l2vpn evpn route type multicast")
		if err != nil {
			return err
		}
		if !strings.Contains(out, fmt.Sprintf("[3]:[0]:[32]:[%s]", n1.VTEP)) || !strings.Contains(out, "RT:65000:1500") {
			return fmt.Errorf("node3 has no type-3 route of node1 with RT 65000:1500:\n%s", out)
		}
		return nil
	})
	for _, c := range []struct {
		n    *lab.Node
		want []string
	}{{n1, []string{n2.VTEP}}, {n2, []string{n1.VTEP}}, {n3, nil}} {
		got, err := floodList(ctx, c.n, vni)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s floods VNI %d to %v, want %v: a route target decides who is in", c.n.Name, vni, got, c.want)
		}
	}
}
