package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// dualLabName is the lab of TestDualToR and BenchmarkDualToRFailover.
const dualLabName = "e2ed"

// labStatus is what `weft lab status -o json` says of each node now.
type labStatus struct {
	Fabric string                    `json:"fabric"`
	Health map[string]lab.NodeHealth `json:"health"`
}

// readLabStatus runs weft lab status -o json on lab s and checks that it reports fabric.
func readLabStatus(s *lab.State, fabric string) (labStatus, error) {
	var st labStatus
	out, err := exec.Command(weftBin, "lab", "status", "--name", s.Name, "-o", "json").Output()
	if err != nil {
		return st, fmt.Errorf("weft lab status: %w", err)
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, err
	}
	if st.Fabric != fabric {
		return st, fmt.Errorf("status says fabric %q, want %q", st.Fabric, fabric)
	}
	return st, nil
}

// dualHomed checks, from weft lab status -o json, that every node of lab s has both its
// sessions Established and both its BFD peers up (of the nodes in noBFD: no BFD peer).
func dualHomed(s *lab.State, noBFD ...string) error {
	st, err := readLabStatus(s, lab.FabricDualToR)
	if err != nil {
		return err
	}
	for _, n := range s.Nodes {
		h := st.Health[n.Name]
		est, up := 0, 0
		for _, x := range h.Sessions {
			if x.State == "Established" {
				est++
			}
		}
		for _, p := range h.BFDPeers {
			if p.Status == "up" {
				up++
			}
		}
		wantBFD := 2
		if slices.Contains(noBFD, n.Name) {
			wantBFD = 0
		}
		if len(h.Sessions) != 2 || est != 2 || len(h.BFDPeers) != wantBFD || up != wantBFD {
			return fmt.Errorf("node %s: sessions %+v, BFD peers %+v; want 2 Established and %d up", n.Name, h.Sessions, h.BFDPeers, wantBFD)
		}
	}
	return nil
}

// waitOneSessionPerNode waits until weft lab status -o json of lab s (of shape fabric)
// reports exactly one session on every node, Established, to the peer of its uplink.
func waitOneSessionPerNode(t *testing.T, s *lab.State, fabric string) {
	t.Helper()
	poll(t, 30*time.Second, "one session Established on every node", func() error {
		st, err := readLabStatus(s, fabric)
		if err != nil {
			return err
		}
		for _, n := range s.Nodes {
			u, err := s.NodeUplink(n.Name, 1)
			if err != nil {
				return err
			}
			h := st.Health[n.Name]
			if len(h.Sessions) != 1 || h.Sessions[0].Neighbor != u.Peer || h.Sessions[0].State != "Established" {
				return fmt.Errorf("node %s: sessions %+v, want one Established to %s", n.Name, h.Sessions, u.Peer)
			}
		}
		return nil
	})
}

// routeVia lists the devices of node's kernel route to addr in its router namespace.
func routeVia(ctx context.Context, n *lab.Node, addr string) (string, error) {
	out, err := exec.CommandContext(ctx, "ip", "-n", n.RouterNetns, "route", "show", addr).CombinedOutput()
	return string(out), err
}

// TestDualToR: in the dual-tor fabric every node has two uplinks, one to each leaf, each with
// an iBGP session that runs BFD (100 ms × 3), the second with an MD5 password from a Secret.
// Both sessions and both BFD peers are up (weft lab status -o json says so), the underlay has
// two equal paths to every other VTEP, and the segment works. A cut uplink (every frame
// dropped, both ends stay up) is taken down by BFD, not by the hold timer, traffic goes on
// over the other leaf, and the session comes back once the link does.
func TestDualToR(t *testing.T) {
	ctx := context.Background()
	s := upLab(t, lab.Options{Name: dualLabName, Nodes: 3, Fabric: lab.FabricDualToR, AgentBinary: agentBin})
	poll(t, 30*time.Second, "both sessions Established and both BFD peers up on every node", func() error { return dualHomed(s) })

	n1, n2 := node2(t, s, "node1"), node2(t, s, "node2")
	u1, err := s.NodeUplink("node1", 1)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := s.NodeUplink("node1", 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		peer string
		auth bool
	}{{u1.Peer, false}, {u2.Peer, true}} {
		out, err := lab.Vtysh(ctx, s, "node1", "show bgp neighbors "+c.peer)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(out, "Peer Authentication Enabled"); got != c.auth {
			t.Errorf("node1's session to %s: MD5 authentication %v, want %v", c.peer, got, c.auth)
		}
	}
	poll(t, 30*time.Second, "two equal paths from node1 to node2's VTEP", func() error {
		out, err := routeVia(ctx, n1, n2.VTEP)
		if err == nil && (!strings.Contains(out, "dev "+u1.Device) || !strings.Contains(out, "dev "+u2.Device)) {
			err = fmt.Errorf("route to %s: %s", n2.VTEP, out)
		}
		return err
	})
	w1, w2 := workload2(t, s, "web1"), workload2(t, s, "web2")
	poll(t, 30*time.Second, "web2 → web1", func() error { return ping(ctx, w2, addr(w1.IP)) })
	if err := lab.CheckType2Routes(ctx, s, "node2", w1.VNI); err != nil {
		t.Fatal(err)
	}

	t.Cleanup(func() { _ = lab.RestoreUplink(context.Background(), s, "node1", 1) })
	r := probeDuring(t, w2, w1, 5*time.Second, func() error {
		time.Sleep(time.Second) // a second of probes before the cut: the baseline
		return lab.CutUplink(ctx, s, "node1", 1)
	})
	t.Logf("node1's uplink to %s cut, web2 → web1: %s", n1.Leaf, r)
	poll(t, 30*time.Second, "BFD takes the cut uplink's session down", func() error {
		peers, err := lab.BFDPeers(ctx, s, "node1")
		if err != nil {
			return err
		}
		for _, p := range peers {
			if p.Peer == u1.Peer && p.Status == "up" {
				return fmt.Errorf("BFD peer %s still up", p.Peer)
			}
		}
		out, err := lab.Vtysh(ctx, s, "node1", "show bgp neighbors "+u1.Peer)
		if err != nil {
			return err
		}
		if strings.Contains(out, "BGP state = Established") {
			return fmt.Errorf("session to %s still Established", u1.Peer)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.Contains(l, "Last reset") && !strings.Contains(l, "BFD") {
				return fmt.Errorf("session to %s went down, but not by BFD: %s", u1.Peer, strings.TrimSpace(l))
			}
		}
		return nil
	})
	poll(t, 30*time.Second, "node1 reaches node2's VTEP over the other leaf only", func() error {
		out, err := routeVia(ctx, n1, n2.VTEP)
		if err == nil && (strings.Contains(out, "dev "+u1.Device) || !strings.Contains(out, "dev "+u2.Device)) {
			err = fmt.Errorf("route to %s: %s", n2.VTEP, out)
		}
		return err
	})
	if err := ping(ctx, w2, addr(w1.IP)); err != nil {
		t.Errorf("web2 → web1 with node1's first uplink cut: %v", err)
	}
	if err := lab.RestoreUplink(ctx, s, "node1", 1); err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, "both sessions and BFD peers back after the link came back", func() error { return dualHomed(s) })
	if err := ping(ctx, w2, addr(w1.IP)); err != nil {
		t.Errorf("web2 → web1 after the link came back: %v", err)
	}
}

// BenchmarkDualToRFailover measures, in the dual-tor fabric, the outage web2 sees probing web1
// every 10 ms when one of node1's uplinks is cut (every frame dropped, no carrier change) and
// when it comes back. Between two VTEPs the underlay hashes on addresses only, so one
// direction of the flow uses one of node1's uplinks: each is cut in turn. First with BFD
// (100 ms × 3: detection in 300 ms), then, for contrast, in the same fabric without BFD,
// where the hold timer (9 s) decides.
func BenchmarkDualToRFailover(b *testing.B) {
	ctx := context.Background()
	_ = lab.Down(ctx, dualLabName)
	s, err := lab.Up(ctx, lab.Options{Name: dualLabName, Nodes: 3, Fabric: lab.FabricDualToR, AgentBinary: agentBin})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := lab.Down(context.Background(), dualLabName); err != nil {
			b.Error(err)
		}
	})
	w1, _ := s.Workload("web1")
	w2, _ := s.Workload("web2")
	measure := func(what string, uplink int, window time.Duration, noBFD ...string) {
		var cut, back []float64
		for i := range benchRuns {
			poll(b, 60*time.Second, "node1 dual-homed", func() error { return dualHomed(s, noBFD...) })
			r := probeDuring(b, w2, w1, window, func() error {
				time.Sleep(500 * time.Millisecond) // probes before the cut: the baseline
				return lab.CutUplink(ctx, s, "node1", uplink)
			})
			cut = append(cut, float64(r.Outage.Microseconds())/1000)
			r2 := probeDuring(b, w2, w1, 5*time.Second, func() error {
				time.Sleep(500 * time.Millisecond)
				return lab.RestoreUplink(ctx, s, "node1", uplink)
			})
			back = append(back, float64(r2.Outage.Microseconds())/1000)
			b.Logf("%s, uplink %d, run %d: cut: %s; restored: %s", what, uplink, i+1, r, r2)
		}
		b.Logf("%s, uplink %d cut: outage %s", what, uplink, spread(cut))
		b.Logf("%s, uplink %d restored: outage %s", what, uplink, spread(back))
		reportSpread(b, fmt.Sprintf("%s-uplink%d-cut-ms", what, uplink), cut)
		reportSpread(b, fmt.Sprintf("%s-uplink%d-restore-ms", what, uplink), back)
	}
	measure("bfd", 1, 3*time.Second)
	measure("bfd", 2, 3*time.Second)

	// The same fabric without BFD, leaves and nodes alike: the hold timer (9 s) decides.
	if err := lab.Down(ctx, dualLabName); err != nil {
		b.Fatal(err)
	}
	s, err = lab.Up(ctx, lab.Options{Name: dualLabName, Nodes: 3, Fabric: lab.FabricDualToR, WithoutBFD: true, AgentBinary: agentBin})
	if err != nil {
		b.Fatal(err)
	}
	w1, _ = s.Workload("web1")
	w2, _ = s.Workload("web2")
	var all []string
	for _, n := range s.Nodes {
		all = append(all, n.Name)
	}
	measure("holdtimer", 1, 15*time.Second, all...)
}
