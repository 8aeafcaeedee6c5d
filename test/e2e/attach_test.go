package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/agent"
	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/lab"
)

// TestDetachedWorkloadsAreNotConverged: when a node's host bridge is deleted behind weft's
// back, the agent recreates it, but the workload ports it had are left attached to nothing.
// Status must say so (not converged, the ports named, weft status exits 2) until the
// workloads are attached again.
func TestDetachedWorkloadsAreNotConverged(t *testing.T) {
	ctx := context.Background()
	w := workload(t, "web1")
	n := node(t, w.Node)
	detached := func(want bool) func() error {
		return func() error {
			var s agentapi.Status
			raw, err := agentStatus(ctx, st, n.Name, &s)
			if err != nil {
				return err
			}
			var msg string
			for _, f := range s.Failed {
				if f.Reason == agent.ReasonDetached && f.Name == "web" {
					msg = f.Message
				}
			}
			switch {
			case want && !strings.Contains(msg, w.Port):
				return fmt.Errorf("web is not reported Detached naming %s: %s", w.Port, raw)
			case !want && msg != "":
				return fmt.Errorf("web is still Detached: %s", msg)
			}
			return nil
		}
	}
	// The agent compares a bridge with the ports its last pass saw: have it pass once with
	// the workload attached (a pass runs on any change of the config directory).
	if err := lab.WriteConfig(st, "zz-trigger.yaml", "# makes the agents pass once\n"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.WriteConfig(st, "zz-trigger.yaml", "") })
	poll(t, 30*time.Second, "a pass that sees "+w.Port+" on br-hs-110", func() error {
		var s agentapi.Status
		if _, err := agentStatus(ctx, st, n.Name, &s); err != nil {
			return err
		}
		if !slices.Contains(s.HostPorts["br-hs-110"], w.Port) {
			return fmt.Errorf("hostPorts %v", s.HostPorts)
		}
		return nil
	})
	if out, err := exec.Command("ip", "-n", n.Netns, "link", "del", "br-hs-110").CombinedOutput(); err != nil {
		t.Fatalf("delete br-hs-110 on %s: %v: %s", n.Name, err, out)
	}
	t.Cleanup(func() { _ = lab.Reattach(context.Background(), st, w.Name) })
	// The agent puts the bridge back at its next pass (the lab's resync is 30 s).
	poll(t, 90*time.Second, "web reported Detached on "+n.Name, detached(true))
	out, err := exec.Command(weftBin, "status", "--lab", st.Name, "--node", n.Name).CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "Detached") {
		t.Errorf("weft status with a detached workload: exit %d, want 2 and Detached:\n%s", code, out)
	}
	if err := lab.Reattach(ctx, st, w.Name); err != nil {
		t.Fatal(err)
	}
	poll(t, 90*time.Second, "web no longer Detached", detached(false))
	if err := ping(ctx, workload(t, "web2"), addr(w.IP)); err != nil {
		t.Errorf("web2 → web1 after re-attaching: %v", err)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
