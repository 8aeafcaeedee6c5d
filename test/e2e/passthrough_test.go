package e2e

import (
	"context"
	"testing"

	"github.com/weftnet/weft/internal/lab"
)

// TestPassthroughCarriesHostRoutes: an L3Passthrough on node1 (a host session in the router's
// default VRF) carries the host's prefix into the fabric, where an external host behind the
// spine reaches it, and the fabric's route to that host back to the host; the prefix the
// host announces outside toReceive reaches neither node1's router nor the spine.
func TestPassthroughCarriesHostRoutes(t *testing.T) {
	ctx := context.Background()
	t.Cleanup(func() {
		if err := lab.StopPassthrough(context.Background(), st, "node1"); err != nil {
			t.Errorf("remove the passthrough: %v", err)
		}
	})
	if err := lab.StartPassthrough(ctx, st, "node1"); err != nil {
		t.Fatal(err)
	}
	if err := lab.CheckPassthrough(ctx, st, "node1"); err != nil {
		t.Fatal(err)
	}
}
