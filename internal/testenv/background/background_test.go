package background

import (
	"context"
	"testing"
)

// TestStopCancelsAndWaits: stop cancels run's context and returns only after run has, and a
// second stop (as the test's cleanup makes) does not wait again.
func TestStopCancelsAndWaits(t *testing.T) {
	returned := false
	ctx, stop := Run(t, "loop", func(ctx context.Context) error {
		<-ctx.Done()
		returned = true
		return nil
	})
	if ctx.Err() != nil {
		t.Fatal("context cancelled before stop")
	}
	stop()
	if ctx.Err() == nil || !returned {
		t.Fatalf("after stop: context error %v, run returned %v", ctx.Err(), returned)
	}
	stop()
}
