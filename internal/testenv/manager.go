package testenv

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/weftnet/weft/internal/testenv/background"
)

// NewManager is a controller-runtime manager on cfg with weft's scheme and neither a metrics
// nor a health-probe listener, so tests may run several at once; opts' other fields are
// kept.
func NewManager(t testing.TB, cfg *rest.Config, opts ctrl.Options) ctrl.Manager {
	t.Helper()
	opts.Scheme = Scheme()
	opts.Metrics = metricsserver.Options{BindAddress: "0"}
	opts.HealthProbeBindAddress = "0"
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return mgr
}

// StartManager runs mgr until stop is called or the test ends, and fails the test if it
// stops with an error. ctx is the manager's: cancelled once the manager is told to stop.
func StartManager(t testing.TB, mgr ctrl.Manager) (ctx context.Context, stop func()) {
	t.Helper()
	return background.Run(t, "manager", mgr.Start)
}
