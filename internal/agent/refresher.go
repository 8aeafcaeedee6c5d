package agent

import (
	"context"
	"time"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// Refresher keeps the neighbour entries of silent workloads alive on the plan's gateway
// bridges, so their MAC+IP routes stay in EVPN while they say nothing (hostnet.Refresher).
type Refresher interface {
	SetBridges(names ...string)
	SetSegments(names ...string)
	Probes() int64
	Run(ctx context.Context) error
}

// refresherRetryMax bounds the wait before a failed refresher is started again.
const refresherRetryMax = time.Minute

// followPlan gives the refresher the plan's gateway bridges after a kernel step, and lets it
// start: the router namespace it watches exists from the first kernel step on.
func (a *Agent) followPlan(kp plan.KernelPlan) {
	if a.Refresher == nil {
		return
	}
	// Every segment: an idle workload's MAC+IP route lives as long as its neighbour entry,
	// on a routed segment (gateway bridge) and a layer-2 one alike.
	a.Refresher.SetBridges(hostnet.SegmentBridges(kp)...)
	a.Refresher.SetSegments(hostnet.SegmentBridges(kp)...)
	a.kernelOnce.Do(func() { close(a.kernelStepped()) })
}

// kernelStepped is closed once a pass has run the kernel step.
func (a *Agent) kernelStepped() chan struct{} {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kernelDone == nil {
		a.kernelDone = make(chan struct{})
	}
	return a.kernelDone
}

// runRefresher runs the refresher from the first kernel step until ctx ends, starting it
// again (with backoff) when it fails: the router namespace may be recreated.
func (a *Agent) runRefresher(ctx context.Context) {
	select {
	case <-a.kernelStepped():
	case <-ctx.Done():
		return
	}
	wait := time.Second
	for {
		err := a.Refresher.Run(ctx)
		if ctx.Err() != nil {
			return
		}
		a.log().Warn("neighbour refresher stopped; starting it again", "error", err, "in", wait)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return
		}
		wait = min(2*wait, refresherRetryMax)
	}
}
