// Package background runs a test's long-lived goroutine (a controller manager, a refresher)
// for as long as the test needs it, and fails the test when it ends with an error. It needs
// no control plane, so packages without one (hostnet) use it too.
package background

import (
	"context"
	"sync"
	"testing"
)

// Run calls run in a goroutine with a context of its own. stop cancels that context, waits
// for run to return and reports an error it returned as "name: err"; stop runs at the end of
// the test at the latest, and only once however often it is called.
func Run(tb testing.TB, name string, run func(context.Context) error) (ctx context.Context, stop func()) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("%s: %v", name, err)
			}
		})
	}
	tb.Cleanup(stop)
	return ctx, stop
}
