package agent

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
)

// The package's test doubles, shared by the tests of every mode.

// fakeFRR records the configuration the agent pushes and reports one established session.
type fakeFRR struct {
	mu   sync.Mutex
	text string
}

func (f *fakeFRR) Apply(_ context.Context, text string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := text != f.text
	f.text = text
	return changed, nil
}

func (f *fakeFRR) Sessions(context.Context) ([]frr.Session, error) {
	return []frr.Session{{VRF: "default", Neighbor: "192.168.11.1", State: "Established"}}, nil
}

func (f *fakeFRR) config() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.text
}

// fakeKernel accepts every plan; the kernel layer has its own tests.
type fakeKernel struct{}

func (fakeKernel) Apply(context.Context, plan.KernelPlan, hostnet.Namespace, hostnet.Namespace) (hostnet.Result, error) {
	return hostnet.Result{}, nil
}

func (fakeKernel) Reannounce(context.Context, hostnet.Namespace, map[string][]netip.Prefix) (hostnet.Result, error) {
	return hostnet.Result{}, nil
}

// staticSource yields the same resources every pass; the zero value yields none.
type staticSource struct{ r plan.Resources }

func (s staticSource) Load(context.Context) (Desired, error) { return Desired{Resources: s.r}, nil }

// manifestSource yields the resources of the YAML documents in docs, which must all be valid.
func manifestSource(t *testing.T, docs string) staticSource {
	t.Helper()
	res, err := manifest.Parse("test.yaml", []byte(docs))
	if err != nil || len(res.Invalid) > 0 {
		t.Fatalf("parse: %v %v", err, res.Invalid)
	}
	return staticSource{res.Resources}
}

// syncLog is a log destination that the agent's goroutines write while the test reads it.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
