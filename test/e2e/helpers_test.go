package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// poll calls f until it succeeds, every 50 ms, and fails the test or benchmark with f's last
// error after timeout.
func poll(tb testing.TB, timeout time.Duration, what string, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s: still failing after %v: %v", what, timeout, err)
}

func ping(ctx context.Context, from *lab.Workload, to string) error {
	// In from's own namespace: it may be a workload of another lab than st (the fabric shapes',
	// the clusters'), whose names st has too.
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", from.Netns, "ping", "-c", "1", "-W", "1", to).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s (%s): %w: %s", to, from.Name, from.Netns, err, strings.TrimSpace(string(out)))
	}
	return nil
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

// node is the lab node of that name.
func node(tb testing.TB, name string) *lab.Node {
	tb.Helper()
	n, err := st.Node(name)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// agentStatus reads the /status of the node's agent in lab s into v (a struct of the fields
// the caller needs), and returns it as read for messages.
func agentStatus(ctx context.Context, s *lab.State, node string, v any) (json.RawMessage, error) {
	raw, err := lab.AgentStatus(ctx, s, node)
	if err != nil {
		return raw, err
	}
	return raw, json.Unmarshal(raw, v)
}

// probeDuring probes target from a workload every 10 ms while action runs.
func probeDuring(t testing.TB, from, to *lab.Workload, total time.Duration, action func() error) lab.ProbeResult {
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

// waitAgentReconciled polls node's agent until it reports a finished, successful pass.
func waitAgentReconciled(ctx context.Context, node string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var s struct {
			Generation int64
			Error      string
		}
		_, err := agentStatus(ctx, st, node, &s)
		if err == nil {
			if s.Generation >= 1 && s.Error == "" {
				return nil
			}
			err = fmt.Errorf("generation %d, error %q", s.Generation, s.Error)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent of %s did not finish a successful pass: %v", node, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// kernelSnapshot is what a node's data plane consists of: the router namespace's links with
// their attributes, its forwarding database and its routes.
func kernelSnapshot(t *testing.T, n *lab.Node) string {
	t.Helper()
	var b strings.Builder
	for _, args := range [][]string{
		{"-n", n.RouterNetns, "-d", "-br", "link"},
		{"-n", n.RouterNetns, "route", "show", "table", "all"},
	} {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("ip %v: %v: %s", args, err, out)
		}
		b.Write(out)
	}
	out, err := exec.Command("bridge", "-n", n.RouterNetns, "fdb", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("bridge fdb: %v: %s", err, out)
	}
	// Entries zebra installed (remote MACs, flood lists) and static ones; dynamically learned
	// local entries come and go with traffic.
	for _, l := range strings.Split(string(out), "\n") {
		if strings.Contains(l, "extern_learn") || strings.Contains(l, "permanent") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// waitAgentError polls node's agent until its last reconcile reports an error.
func waitAgentError(ctx context.Context, node string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		var s struct{ Error string }
		raw, err := agentStatus(ctx, st, node, &s)
		if err == nil && s.Error != "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("agent of %s never reported the missing FRR (last: %v %s)", node, err, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// upLab brings up lab o and takes it down when the test ends, with the logs' tails when
// it failed and a check that nothing is left behind.
func upLab(t *testing.T, o lab.Options) *lab.State {
	t.Helper()
	_ = lab.Down(context.Background(), o.Name)
	var s *lab.State
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(lab.LogTails(o.Name, 30))
		}
		if err := lab.Down(context.Background(), o.Name); err != nil {
			t.Errorf("lab down: %v", err)
		}
		if left := kubeLeftovers(o.Name, s); left != "" {
			t.Errorf("left behind by lab down: %s", left)
		}
	})
	t0 := time.Now()
	s, err := lab.Up(context.Background(), o)
	if err != nil {
		t.Fatalf("lab up %s: %v", o.Name, err)
	}
	t.Logf("lab up %s in %.1f s: %d nodes in %d clusters, fabric %s, kubernetes %v, l3 %v", o.Name, time.Since(t0).Seconds(), len(s.Nodes), len(s.Clusters), s.Fabric, o.Kubernetes, o.L3)
	return s
}

// node2 is lab s's node called name.
func node2(t *testing.T, s *lab.State, name string) *lab.Node {
	t.Helper()
	n, err := s.Node(name)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
