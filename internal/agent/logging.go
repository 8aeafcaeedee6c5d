package agent

import (
	"slices"

	"github.com/weftnet/weft/internal/plan"
)

// logNewFailures logs each failed resource with its reason when its error is new (not in
// the previous pass): a resync every minute would otherwise repeat them all. The error line
// is one line, with user values quoted (plan.ResourceError.Error).
func (a *Agent) logNewFailures(failed []plan.ResourceError) {
	var now []string
	for _, f := range failed {
		line := f.Error()
		now = append(now, line)
		if !slices.Contains(a.failedLogged, line) {
			a.log().Warn("resource not applied", "resource", f.Ref().String(), "reason", f.Reason, "error", line)
		}
	}
	a.failedLogged = now
}

// logNewWarnings logs the kernel layer's warnings that the last pass did not have.
func (a *Agent) logNewWarnings(ws []string) {
	for _, w := range ws {
		if !slices.Contains(a.warned, w) {
			a.log().Warn("kernel", "warning", w)
		}
	}
	a.warned = slices.Clone(ws)
}
