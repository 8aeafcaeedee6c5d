package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// idleAgeing is the lab's shortened bridge ageing for the idle-workload test (300 s in
// production): three periods take a minute and a half.
const idleAgeing = 30 * time.Second

// testIdleWorkloadStaysReachable: a workload that says nothing keeps its MAC+IP route, and
// so stays reachable from the external host through the L3VNI, for three ageing periods and
// more, because the agent's neighbour refresher has the kernel confirm its neighbour entry
// (the workload's answer refreshes the bridge). The same node without the refresher (the
// agent's --neighbour-refresh=false) loses the route within about one ageing period: the
// contrast shows the refresher is what keeps it.
func testIdleWorkloadStaysReachable(t *testing.T, l3 *lab.State, w *lab.Workload) {
	ctx := context.Background()
	if err := lab.SetAgeing(ctx, l3, idleAgeing); err != nil {
		t.Fatal(err)
	}
	ip := addr(w.IP)
	onBorder := func() bool {
		t.Helper()
		ok, err := lab.MACIPRoute(ctx, l3, l3.Spine, w.MAC, ip)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// The workload speaks once (it answers the external host), then is silent.
	if err := lab.CheckPing(ctx, l3, "ext-red", ip); err != nil {
		t.Fatal(err)
	}
	// The workload's neighbour entry is on the interface whose timers SetAgeing shortened
	// (br-pe-<vni>, or svi-<vni> on the single VXLAN device): else it stays REACHABLE for
	// up to 45 s and the bridge, ageing after 30 s, may forget the workload before the
	// refresher is asked to confirm it.
	dev, reach, err := lab.ReachableTime(ctx, l3, w.Node, netip.MustParseAddr(ip))
	if err != nil {
		t.Fatal(err)
	}
	if reach != idleAgeing/6 {
		t.Fatalf("%s's neighbour entry is on %s, whose base reachable time is %v, not %v", w.Name, dev, reach, idleAgeing/6)
	}
	poll(t, 30*time.Second, "the MAC+IP route of "+w.Name+" on the border", func() error {
		if !onBorder() {
			return fmt.Errorf("not there")
		}
		return nil
	})

	// With the refresher: the route never leaves the border for three ageing periods.
	start := time.Now()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for time.Since(start) < 3*idleAgeing+5*time.Second {
		<-tick.C
		if !onBorder() {
			t.Fatalf("with the neighbour refresher, the MAC+IP route of silent %s left the border after %.0f s (bridge ageing %v)", w.Name, time.Since(start).Seconds(), idleAgeing)
		}
	}
	if err := lab.CheckPing(ctx, l3, "ext-red", ip); err != nil {
		t.Fatalf("silent for %.0f s, %s is not reachable from the external host: %v", time.Since(start).Seconds(), w.Name, err)
	}
	t.Logf("with the neighbour refresher: silent %s kept its MAC+IP route on the border for %.0f s (%d ageing periods of %v) and answers the external host",
		w.Name, time.Since(start).Seconds(), int(time.Since(start)/idleAgeing), idleAgeing)

	// Without it (the same node's agent, --neighbour-refresh=false): the route is withdrawn
	// once the bridge forgets the silent workload.
	t.Cleanup(func() {
		if err := lab.RestartAgent(context.Background(), l3, w.Node, agentBin); err != nil {
			t.Errorf("restart the agent of %s with its refresher: %v", w.Node, err)
		}
		_ = lab.Announce(l3, w.Name)
	})
	if err := lab.RestartAgent(ctx, l3, w.Node, agentBin, "--neighbour-refresh=false"); err != nil {
		t.Fatal(err)
	}
	if err := lab.CheckPing(ctx, l3, "ext-red", ip); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	poll(t, 3*idleAgeing, "the withdrawal of the MAC+IP route of "+w.Name+" without the refresher", func() error {
		if onBorder() {
			return fmt.Errorf("still on the border after %.0f s", time.Since(start).Seconds())
		}
		return nil
	})
	t.Logf("without the neighbour refresher: silent %s lost its MAC+IP route on the border after %.0f s (bridge ageing %v)", w.Name, time.Since(start).Seconds(), idleAgeing)
}
