package lab

import (
	"context"
	"fmt"
	"time"

	"github.com/weftnet/weft/internal/frrproc"
	"github.com/weftnet/weft/internal/umltest"
)

// Waiting for the lab: polling with a deadline that stretches inside a user-mode-linux guest.

// guestSlowdown scales the lab's deadlines inside a user-mode-linux guest, where every
// process runs far slower: an agent's first pass takes 17.5 s there against 1.3 s natively
// (frr-reload.py alone 12.8 s against 1.2 s), and more when the host is busy.
const guestSlowdown = 4

// poll calls f until it succeeds or the timeout passes (guestSlowdown times longer inside a
// user-mode-linux guest); it returns f's last error.
func poll(ctx context.Context, timeout time.Duration, f func() error) error {
	if umltest.InGuest() {
		timeout *= guestSlowdown
	}
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pollWhileRunning is poll for something process pid provides: it gives up at once when the
// process has exited (its log in the lab directory says why).
func pollWhileRunning(ctx context.Context, timeout time.Duration, name string, pid int, f func() error) error {
	var exited error
	err := poll(ctx, timeout, func() error {
		if !frrproc.Alive(pid) {
			exited = fmt.Errorf("%s (pid %d) exited", name, pid)
			return nil
		}
		return f()
	})
	if exited != nil {
		return exited
	}
	return err
}
