package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/weftnet/weft/internal/agent"
	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/netnamespace"
)

// webPorts lists the ports of web's host bridge on a node, with their ifindexes.
func webPorts(t *testing.T, n *lab.Node) map[string]int {
	t.Helper()
	out := map[string]int{}
	err := netnamespace.Do(n.Netns, func() error {
		br, err := netlink.LinkByName("br-hs-110")
		if err != nil {
			return err
		}
		links, err := netlink.LinkList()
		for try := 0; errors.Is(err, netlink.ErrDumpInterrupted) && try < 100; try++ {
			links, err = netlink.LinkList() // the dump raced with a change: read again
		}
		if err != nil {
			return err
		}
		out["br-hs-110"] = br.Attrs().Index
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				out[l.Attrs().Name] = l.Attrs().Index
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", n.Name, err)
	}
	return out
}

// webState polls node1's agent until L2VNI web is failed (kept) or applied.
func webState(ctx context.Context, wantKept bool, wantText string) func() error {
	return func() error {
		var s agentapi.Report
		if _, err := agentStatus(ctx, st, "node1", &s); err != nil {
			return err
		}
		applied := false
		for _, a := range s.Applied {
			applied = applied || a.Kind == "L2VNI" && a.Name == "web"
		}
		var failed string
		for _, f := range s.Failed {
			if f.Kind == "L2VNI" && f.Name == "web" {
				failed = f.Error()
			}
		}
		switch {
		case wantKept && (applied || !strings.Contains(failed, wantText) || !strings.HasSuffix(failed, agent.KeptNote)):
			return fmt.Errorf("web: applied=%t failed=%q; want failed with %q and the kept note", applied, failed, wantText)
		case !wantKept && (!applied || failed != ""):
			return fmt.Errorf("web: applied=%t failed=%q; want applied", applied, failed)
		}
		return nil
	}
}

// TestFailingEditKeepsTheLastGoodState: an applied L2VNI that an edit makes invalid, or that
// an edit puts in conflict, keeps its kernel and FRR state (its workloads ping throughout,
// 10 ms probes, 0 lost) while status says it failed and why; once fixed it is applied again
// with the same bridge and ports.
func TestFailingEditKeepsTheLastGoodState(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(st.Nodes[0].ConfigDir, "l2vni-web.yaml")
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.WriteConfig(st, "l2vni-web.yaml", string(orig)) })
	// Two web workloads on different nodes.
	var from, to *lab.Workload
	for i := range st.Workloads {
		for j := range st.Workloads {
			a, b := &st.Workloads[i], &st.Workloads[j]
			if from == nil && a.VNI == 110 && b.VNI == 110 && a.Node != b.Node {
				from, to = a, b
			}
		}
	}
	if from == nil {
		t.Fatal("no two web workloads on different nodes")
	}
	before := map[string]map[string]int{}
	for i := range st.Nodes {
		before[st.Nodes[i].Name] = webPorts(t, &st.Nodes[i])
	}
	// An invalid edit of web: web fails, its last good version stays in force.
	if !strings.Contains(string(orig), "vni: 110") {
		t.Fatalf("l2vni-web.yaml has no vni: 110:\n%s", orig)
	}
	invalid := strings.Replace(string(orig), "vni: 110", "vni: 110\n  mtu: 100", 1)
	r := probeDuring(t, from, to, 4*time.Second, func() error {
		if err := lab.WriteConfig(st, "l2vni-web.yaml", invalid); err != nil {
			return err
		}
		poll(t, 15*time.Second, "invalid edit: web failed, last good kept", webState(ctx, true, "spec.mtu"))
		return nil
	})
	t.Logf("invalid edit: %s → %s: %s", from.Name, to.Name, r)
	if r.Lost > 0 {
		t.Errorf("invalid edit: %d probes lost while web failed; want 0 (the last good state is kept)", r.Lost)
	}
	if err := lab.WriteConfig(st, "l2vni-web.yaml", string(orig)); err != nil {
		t.Fatal(err)
	}
	poll(t, 15*time.Second, "invalid edit fixed: web applied again", webState(ctx, false, ""))

	// A newcomer claiming web's VNI (named to sort first, which once made it win): the older
	// web keeps the VNI, the newcomer fails.
	newcomer := strings.Replace(strings.Replace(string(orig), "name: web", "name: aaa-newcomer", 1), "vni: 110", "vni: 110", 1)
	t.Cleanup(func() { _ = lab.WriteConfig(st, "l2vni-aaa-newcomer.yaml", "") })
	r = probeDuring(t, from, to, 4*time.Second, func() error {
		if err := lab.WriteConfig(st, "l2vni-aaa-newcomer.yaml", newcomer); err != nil {
			return err
		}
		poll(t, 15*time.Second, "newcomer in conflict", func() error {
			raw, err := lab.AgentStatus(ctx, st, "node1")
			if err != nil {
				return err
			}
			if !strings.Contains(string(raw), "aaa-newcomer") || !strings.Contains(string(raw), "Conflict") {
				return fmt.Errorf("the newcomer is not reported in conflict: %s", raw)
			}
			return webState(ctx, false, "")()
		})
		return nil
	})
	t.Logf("newcomer claiming VNI 110: %s → %s: %s", from.Name, to.Name, r)
	if r.Lost > 0 {
		t.Errorf("newcomer: %d probes lost; want 0 (the older web keeps its VNI)", r.Lost)
	}
	if err := lab.WriteConfig(st, "l2vni-aaa-newcomer.yaml", ""); err != nil {
		t.Fatal(err)
	}
	for i := range st.Nodes {
		n := &st.Nodes[i]
		if got := webPorts(t, n); fmt.Sprint(got) != fmt.Sprint(before[n.Name]) {
			t.Errorf("%s: web's bridge and ports changed: before %v, after %v", n.Name, before[n.Name], got)
		}
	}
	if err := ping(ctx, from, addr(to.IP)); err != nil {
		t.Errorf("%s → %s after the fix: %v", from.Name, to.Name, err)
	}
}
