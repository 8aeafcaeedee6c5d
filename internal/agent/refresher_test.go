package agent

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// fakeRefresher records what the agent asks of a refresher.
type fakeRefresher struct {
	mu       sync.Mutex
	bridges  [][]string
	segments [][]string
	started  chan struct{}
	once     sync.Once
}

func (f *fakeRefresher) SetBridges(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bridges = append(f.bridges, slices.Clone(names))
}

func (f *fakeRefresher) SetSegments(names ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.segments = append(f.segments, slices.Clone(names))
}

func (f *fakeRefresher) Probes() int64 { return 7 }

func (f *fakeRefresher) Run(ctx context.Context) error {
	f.once.Do(func() { close(f.started) })
	<-ctx.Done()
	return nil
}

func (f *fakeRefresher) calls() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.bridges)
}

// TestRefresherFollowsThePlan: the agent starts the refresher once a pass has run the kernel
// step, gives it the plan's gateway bridges (a routed L2VNI's, not a plain one's) after every
// kernel step, and reports its probes in the pass's report.
func TestRefresherFollowsThePlan(t *testing.T) {
	ns := metav1.ObjectMeta{Namespace: "weft-system"}
	meta := func(name string) metav1.ObjectMeta { m := ns; m.Name = name; return m }
	res := plan.Resources{
		Underlays: []v1alpha1.Underlay{{ObjectMeta: meta("fabric"), Spec: v1alpha1.UnderlaySpec{
			ASN: 64514, Neighbors: []v1alpha1.Neighbor{{Address: "192.168.11.1", Type: "External"}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}}}}},
		L3VNIs: []v1alpha1.L3VNI{{ObjectMeta: meta("red"), Spec: v1alpha1.L3VNISpec{VRF: "red", VNI: 100}}},
		L2VNIs: []v1alpha1.L2VNI{
			{ObjectMeta: meta("web"), Spec: v1alpha1.L2VNISpec{VNI: 110, RoutingDomain: &v1alpha1.RoutingDomain{L3VNI: "red"}, GatewayIPs: []string{"192.170.1.1/24"}}},
			{ObjectMeta: meta("plain"), Spec: v1alpha1.L2VNISpec{VNI: 120}},
		},
	}
	f := &fakeRefresher{started: make(chan struct{})}
	a := &Agent{Node: plan.Node{Name: "n1", Index: 0}, Source: staticSource{res}, FRR: &fakeFRR{}, Kernel: fakeKernel{}, Refresher: f}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, make(chan struct{}), time.Hour) }()
	select {
	case <-f.started:
	case <-time.After(30 * time.Second):
		t.Fatalf("the refresher was not started after the first pass (last report: %+v)", a.Last())
	}
	deadline := time.Now().Add(30 * time.Second)
	for a.Last().Generation == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	r := a.Last()
	if r.Error != "" || len(r.Failed) > 0 {
		t.Fatalf("pass: error %q, failed %+v", r.Error, r.Failed)
	}
	calls := f.calls()
	if len(calls) == 0 || !slices.Equal(calls[len(calls)-1], []string{"br-pe-110", "br-pe-120"}) {
		t.Errorf("bridges given to the refresher: %v; want [br-pe-110 br-pe-120] (every L2VNI's, routed or not)", calls)
	}
	f.mu.Lock()
	segs := slices.Clone(f.segments)
	f.mu.Unlock()
	if len(segs) == 0 || !slices.Equal(segs[len(segs)-1], []string{"br-pe-110", "br-pe-120"}) {
		t.Errorf("segments given to the refresher: %v; want [br-pe-110 br-pe-120] (every L2VNI's)", segs)
	}
	if r.NeighbourProbes != 7 {
		t.Errorf("report's neighbourProbes %d, want the refresher's 7", r.NeighbourProbes)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
}
