package agent

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/frrproc"
)

// Invalidator forgets the last applied FRR configuration, so the next Apply reloads even if
// the text did not change (FRR restarted and lost it).
type Invalidator interface {
	Invalidate()
}

// WatchFRR polls the pid files of the FRR instance and sends on the returned channel when a
// daemon died or restarted (its process is gone, or a new pid), after invalidating the
// applied configuration: a restarted bgpd starts from its startup file, not from what the
// agent last pushed. A daemon killed with SIGKILL leaves its pid file behind, so the
// process itself is checked where the agent can see it (same pid namespace); elsewhere only
// a new pid shows a restart.
func WatchFRR(ctx context.Context, pathspace string, inv Invalidator, log *slog.Logger) <-chan struct{} {
	ch := make(chan struct{}, 1)
	read := func() string {
		var b strings.Builder
		for _, d := range []string{"zebra", "bgpd", "bfdd"} {
			data, _ := os.ReadFile(frrproc.PIDFile(pathspace, d))
			pid := strings.TrimSpace(string(data))
			if n, err := strconv.Atoi(pid); err != nil || n <= 0 {
				pid = ""
			}
			comm, _ := os.ReadFile("/proc/" + pid + "/comm")
			if pid != "" && strings.TrimSpace(string(comm)) != d {
				pid += "(not running here)"
			}
			b.WriteString(d + "=" + pid + ";")
		}
		return b.String()
	}
	go func() {
		last := read()
		// Six small reads five times a second: cheap, and a restarted FRR gets its configuration
		// back within a fifth of a second of its pid file.
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cur := read()
			if cur == last {
				continue
			}
			log.Info("FRR daemons changed; re-applying the configuration", "before", last, "now", cur)
			last = cur
			inv.Invalidate()
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}()
	return ch
}

// Merge forwards every signal of the inputs to one channel until ctx ends.
func Merge(ctx context.Context, ins ...<-chan struct{}) <-chan struct{} {
	out := make(chan struct{}, 1)
	for _, in := range ins {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case _, ok := <-in:
					if !ok {
						return
					}
					select {
					case out <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	return out
}
