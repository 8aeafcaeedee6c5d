// Package e2e runs weft end to end in the lab: a real FRR route reflector, weft nodes with
// FRR in their router namespaces driven by weft-agent in host mode, and workloads, all in
// network namespaces of this machine. Tests share one lab and run in order.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

const labName = "e2e"

var (
	st       *lab.State
	agentBin string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if reason := missing(); reason != "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e: cannot run with CI set:", reason)
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped:", reason)
		return 0
	}
	tmp, err := os.MkdirTemp("", "weft-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	agentBin = filepath.Join(tmp, "weft-agent")
	build := exec.Command("go", "build", "-o", agentBin, "github.com/weftnet/weft/cmd/weft-agent")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build weft-agent:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A lab left by a killed earlier run would make Up refuse; it is ours to remove.
	_ = lab.Down(ctx, labName)
	t0 := time.Now()
	st, err = lab.Up(ctx, lab.Options{Name: labName, Nodes: 3, AgentBinary: agentBin})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lab up:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: lab up in %.1f s\n", time.Since(t0).Seconds())
	code := m.Run()
	if code != 0 {
		dumpLogs()
	}
	if err := lab.Down(context.Background(), labName); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lab down:", err)
		return 1
	}
	return code
}

func missing() string {
	if os.Geteuid() != 0 {
		return "needs root (network namespaces)"
	}
	for _, p := range []string{"/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "/usr/lib/frr/frr-reload.py"} {
		if _, err := os.Stat(p); err != nil {
			return "FRR is not installed (make deps): " + p
		}
	}
	return ""
}

func dumpLogs() {
	for _, n := range st.Nodes {
		data, _ := os.ReadFile(filepath.Join(lab.Dir(labName), n.Name, "agent.log"))
		lines := strings.Split(string(data), "\n")
		if len(lines) > 40 {
			lines = lines[len(lines)-40:]
		}
		fmt.Fprintf(os.Stderr, "--- agent log of %s (tail) ---\n%s\n", n.Name, strings.Join(lines, "\n"))
	}
}

func poll(t *testing.T, timeout time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
}

func ping(ctx context.Context, from *lab.Workload, to string) error {
	_, err := lab.Exec(ctx, st, from.Name, []string{"ping", "-c", "1", "-W", "1", to})
	return err
}

func addr(cidr string) string { return netip.MustParsePrefix(cidr).Addr().String() }

func workload(t *testing.T, name string) *lab.Workload {
	t.Helper()
	w, err := st.Workload(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestL2VNIConnectivity(t *testing.T) {
	ctx := context.Background()
	w1, w2 := workload(t, "web1"), workload(t, "web2")
	if w1.Node == w2.Node {
		t.Fatalf("web1 and web2 must be on different nodes")
	}
	if err := ping(ctx, w1, addr(w2.IP)); err != nil {
		t.Fatalf("%s → %s: %v", w1.Name, w2.Name, err)
	}
	poll(t, 10*time.Second, "type-2 routes", func() error {
		out, err := lab.Vtysh(ctx, st, w1.Node, "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		for _, w := range st.Workloads {
			if !strings.Contains(out, w.MAC) {
				return fmt.Errorf("no type-2 route for %s (%s) on %s:\n%s", w.Name, w.MAC, w1.Node, out)
			}
		}
		return nil
	})
}

func TestBadResourceIsReportedOthersApply(t *testing.T) {
	ctx := context.Background()
	bad := `apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata:
  name: broken
spec:
  vni: 110
  mtu: 100
`
	if err := lab.WriteConfig(st, "l2vni-broken.yaml", bad); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.WriteConfig(st, "l2vni-broken.yaml", "") })
	poll(t, 15*time.Second, "status names the bad resource", func() error {
		raw, err := lab.AgentStatus(ctx, st, "node1")
		if err != nil {
			return err
		}
		var s struct {
			Applied []struct{ Kind, Name string }
			Failed  []struct{ Kind, Name, Field, Reason, Message string }
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		found := false
		for _, f := range s.Failed {
			if f.Kind == "L2VNI" && f.Name == "broken" && f.Field == "spec.mtu" {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("L2VNI/broken spec.mtu not in failed: %s", raw)
		}
		for _, a := range s.Applied {
			if a.Kind == "L2VNI" && a.Name == "web" {
				return nil
			}
		}
		return fmt.Errorf("L2VNI/web is no longer applied: %s", raw)
	})
	if err := ping(ctx, workload(t, "web1"), addr(workload(t, "web2").IP)); err != nil {
		t.Fatalf("web1 → web2 with a bad resource present: %v", err)
	}
}

func TestRemoveAndReAddVNI(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile(filepath.Join(st.Nodes[0].ConfigDir, "l2vni-web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.WriteConfig(st, "l2vni-web.yaml", ""); err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		poll(t, 20*time.Second, "devices of VNI 110 removed on "+n.Name, func() error {
			out, _ := exec.Command("ip", "-n", n.RouterNetns, "-br", "link").CombinedOutput()
			if strings.Contains(string(out), "vni110") || strings.Contains(string(out), "br-pe-110") {
				return fmt.Errorf("still present in %s:\n%s", n.RouterNetns, out)
			}
			out, _ = exec.Command("ip", "-n", n.Netns, "-br", "link").CombinedOutput()
			if strings.Contains(string(out), "br-hs-110") {
				return fmt.Errorf("host bridge still present in %s:\n%s", n.Netns, out)
			}
			return nil
		})
	}
	poll(t, 15*time.Second, "type-2 routes withdrawn", func() error {
		out, err := lab.Vtysh(ctx, st, "node1", "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		if strings.Contains(out, workload(t, "web2").MAC) {
			return fmt.Errorf("route for web2 still present:\n%s", out)
		}
		return nil
	})
	if err := ping(ctx, workload(t, "web1"), addr(workload(t, "web2").IP)); err == nil {
		t.Fatal("web1 still reaches web2 after the L2VNI was removed")
	}

	if err := lab.WriteConfig(st, "l2vni-web.yaml", string(body)); err != nil {
		t.Fatal(err)
	}
	for _, w := range st.Workloads {
		poll(t, 20*time.Second, "host bridge back for "+w.Name, func() error { return lab.Reattach(ctx, st, w.Name) })
	}
	poll(t, 30*time.Second, "web1 → web2 after re-adding the L2VNI", func() error {
		return ping(ctx, workload(t, "web1"), addr(workload(t, "web2").IP))
	})
}

// probeDuring probes target from a workload every 10 ms while action runs.
func probeDuring(t *testing.T, from, to *lab.Workload, total time.Duration, action func() error) lab.ProbeResult {
	t.Helper()
	ctx := context.Background()
	type out struct {
		r   lab.ProbeResult
		err error
	}
	ch := make(chan out, 1)
	go func() {
		r, err := lab.Probe(ctx, from.Netns, netip.MustParsePrefix(to.IP).Addr(), 10*time.Millisecond, total)
		ch <- out{r, err}
	}()
	actionErr := action()
	o := <-ch
	if actionErr != nil {
		t.Fatal(actionErr)
	}
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.r
}

func TestAgentRestartLosesNothing(t *testing.T) {
	w1, w3 := workload(t, "web1"), workload(t, "web3")
	r := probeDuring(t, w3, w1, 4*time.Second, func() error {
		return lab.RestartAgent(context.Background(), st, w1.Node, agentBin)
	})
	t.Logf("agent restart on %s, probing %s from %s: %s", w1.Node, w1.Name, w3.Name, r)
	if r.Lost != 0 {
		t.Errorf("agent restart lost %d probes: %s", r.Lost, r)
	}
	poll(t, 15*time.Second, "restarted agent reconciles", func() error {
		_, err := lab.AgentStatus(context.Background(), st, w1.Node)
		return err
	})
}

func TestFRRCrashKeepsForwardingAndIsRestored(t *testing.T) {
	ctx := context.Background()
	w1, w3 := workload(t, "web1"), workload(t, "web3")
	r := probeDuring(t, w3, w1, 3*time.Second, func() error { return lab.KillFRR(st, w1.Node) })
	t.Logf("FRR kill -9 on %s, probing %s from %s: %s", w1.Node, w1.Name, w3.Name, r)
	if r.Received == 0 {
		t.Fatalf("no probe answered while FRR was down: %s", r)
	}
	if r.Lost != 0 {
		t.Errorf("the data plane lost %d probes while FRR was down: %s", r.Lost, r)
	}
	if err := lab.StartFRR(ctx, st, w1.Node); err != nil {
		t.Fatal(err)
	}
	poll(t, 60*time.Second, "agent restores FRR's configuration and the session", func() error {
		out, err := lab.Vtysh(ctx, st, w1.Node, "show bgp summary")
		if err != nil {
			return err
		}
		if !strings.Contains(out, "10.0.") || strings.Contains(out, "Active") || strings.Contains(out, "Connect") || strings.Contains(out, "Idle") {
			return fmt.Errorf("not established:\n%s", out)
		}
		return nil
	})
	poll(t, 30*time.Second, "web3 → web1 after FRR restart", func() error { return ping(ctx, w3, addr(w1.IP)) })
}

func TestMigration(t *testing.T) {
	ctx := context.Background()
	w1 := workload(t, "web1")
	var to string
	for _, n := range st.Nodes {
		if n.Name != w1.Node && n.Name != workload(t, "web3").Node {
			to = n.Name
		}
	}
	r, err := lab.Migrate(ctx, st, "web1", to, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("migration of web1 %s → %s, probed from %s: %s", r.From, r.To, r.Pinger, r.Probe)
	poll(t, 10*time.Second, "web1 reachable after migration", func() error {
		return ping(ctx, workload(t, "web3"), addr(w1.IP))
	})
}
