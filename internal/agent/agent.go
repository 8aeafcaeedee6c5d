// Package agent is weft's node-local, level-triggered reconcile loop: read the desired state
// (YAML files in host mode, the API server in Kubernetes mode), build the node's plan, drive
// FRR first and then the kernel, and report status. Every pass recomputes the whole plan;
// what makes a pass cheap is that FRR and the kernel layer skip work that is already done.
package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// Source yields the desired state. Load is called once per reconcile.
type Source interface {
	Load(ctx context.Context) (Desired, error)
}

// Desired is what a Source read: the resources plus documents that could not be decoded.
type Desired struct {
	Resources plan.Resources
	Invalid   []plan.ResourceError
	// Node, when set, replaces Agent.Node for this pass: in Kubernetes mode the labels and
	// the index come from the Node object and may change.
	Node *plan.Node
}

// FRR applies a rendered configuration to the node's FRR and reads its BGP sessions.
type FRR interface {
	// Apply loads text into FRR; changed is false when it was already applied.
	Apply(ctx context.Context, text string) (changed bool, err error)
	// Sessions lists the BGP sessions and their states.
	Sessions(ctx context.Context) ([]frr.Session, error)
}

// ZebraAddrs is implemented by an FRR whose zebra can list the addresses it knows; the agent
// then checks that zebra learned the ones weft added (see syncZebra).
type ZebraAddrs interface {
	InterfaceAddrs(ctx context.Context) (map[string][]netip.Prefix, error)
}

// FRRVersion is implemented by an FRR that can say which release it runs: the agent reports
// it and checks zebra's addresses only where the release needs it
// (frr.Version.ZebraMissesAddresses).
type FRRVersion interface {
	Version(ctx context.Context) (frr.Version, error)
}

// Kernel converges the kernel to a kernel plan.
type Kernel interface {
	Apply(ctx context.Context, kp plan.KernelPlan, router, host hostnet.Namespace) (hostnet.Result, error)
	// Reannounce makes the kernel notify listeners of addresses again (replacing each with itself).
	Reannounce(ctx context.Context, router hostnet.Namespace, addrs map[string][]netip.Prefix) (hostnet.Result, error)
}

// Agent reconciles one node.
type Agent struct {
	Node   plan.Node
	Source Source
	FRR    FRR
	Kernel Kernel
	// Router and Host are the router namespace and the host namespace.
	Router, Host hostnet.Namespace
	Log          *slog.Logger
	Metrics      *Metrics
	// AfterReconcile, when set, is called with every report (Kubernetes mode writes the
	// node's RouterNodeStatus from it).
	AfterReconcile func(ctx context.Context, r agentapi.Report)
	// SegmentsFile, when set, is where the agent keeps the list of applied L2VNIs for the CNI
	// plugin (internal/segments); StatusAddr, its --status-addr, goes in it too.
	SegmentsFile, StatusAddr string
	// Refresher, when set, runs while Run runs and follows the plan's gateway bridges.
	Refresher Refresher
	// LastAppliedFile, when set, is where the agent keeps the last applied version of every
	// resource across restarts (keep last good; see lastGood).
	LastAppliedFile string

	mu   sync.Mutex
	last agentapi.Report
	// running describes the pass in progress, nil between passes.
	running *agentapi.Progress

	// sessionsMu serializes live reads of the BGP sessions; sessions is the last one.
	sessionsMu sync.Mutex
	sessions   []frr.Session
	sessionsAt time.Time
	// zebraPending holds addresses weft added that zebra had not learned at the end of the
	// last pass; the next pass checks them again.
	zebraPending map[string][]netip.Prefix
	// zebraChecked is set once a pass checked every planned address.
	zebraChecked bool
	// zebraWait replaces defaultZebraWait when set (tests).
	zebraWait time.Duration
	// frrVersion is the FRR release the last read found (unknown until one succeeds). It is
	// read again in every pass that reloaded FRR, alongside the kernel step, so a restarted
	// or upgraded FRR is seen from the next pass on.
	frrVersion frr.Version
	// slowPassEvery replaces slowPassInterval when set (tests).
	slowPassEvery time.Duration
	// warned are the kernel layer's warnings already logged: each is logged once, when it
	// first appears, and stays in /status while it holds.
	warned []string
	// failedLogged are the resource errors of the last pass, as logged.
	failedLogged []string
	// attachment follows the workload ports of the host bridges (Detached).
	attachment attachment
	// lastGood holds the last applied version of every resource (keep last good);
	// lastGoodLoaded says it was read from LastAppliedFile, lastGoodSaved what was written.
	lastGood       lastGood
	lastGoodLoaded bool
	lastGoodSaved  []byte
	// kernelOnce closes kernelDone after the first kernel step (see followPlan).
	kernelOnce sync.Once
	kernelDone chan struct{}
}

// slowPassInterval is how often a pass that is still running says so in the log: a pass
// takes milliseconds when nothing changed and seconds for a thousand new VNIs, so one that
// runs this long is worth a line naming the step it is in.
const slowPassInterval = 10 * time.Second

// Running returns the pass in progress, nil when none runs.
func (a *Agent) Running() *agentapi.Progress {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running == nil {
		return nil
	}
	p := *a.running
	return &p
}

// enter records that the pass in progress starts step phase.
func (a *Agent) enter(phase string) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.running != nil {
		a.running.Phase, a.running.PhaseStarted = phase, now
	}
}

// watchSlowPass logs every slowPassInterval while the pass in progress runs, until done.
func (a *Agent) watchSlowPass(done <-chan struct{}) {
	t := time.NewTicker(cmp.Or(a.slowPassEvery, slowPassInterval))
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if p := a.Running(); p != nil {
				a.log().Warn("reconcile pass still running", "phase", p.Phase,
					"for", time.Since(p.Started).Round(time.Millisecond),
					"inPhase", time.Since(p.PhaseStarted).Round(time.Millisecond))
			}
		}
	}
}

// Last returns the latest report; its Generation is 0 before the first reconcile ends.
func (a *Agent) Last() agentapi.Report {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.last
}

func (a *Agent) log() *slog.Logger {
	if a.Log != nil {
		return a.Log
	}
	return slog.Default()
}

// Reconcile runs one pass: load, plan, FRR, kernel, status. A resource that is invalid or
// fails in the kernel is reported and never blocks the others; a failed FRR reload keeps the
// running configuration and skips the kernel step (kernel objects must not appear before FRR
// is configured for them).
func (a *Agent) Reconcile(ctx context.Context) agentapi.Report {
	start := time.Now()
	a.mu.Lock()
	a.running = &agentapi.Progress{Started: start, Phase: "load", PhaseStarted: start}
	a.mu.Unlock()
	done := make(chan struct{})
	go a.watchSlowPass(done)
	r := a.reconcile(ctx)
	close(done)
	r.Time = start
	r.Duration = time.Since(start)
	a.mu.Lock()
	r.Generation = a.last.Generation + 1
	a.last = r
	a.running = nil
	a.mu.Unlock()
	a.Metrics.observe(r)
	a.logNewFailures(r.Failed)
	if r.Error != "" {
		a.log().Error("reconcile failed", "error", r.Error, "duration", r.Duration)
	} else {
		a.log().Info("reconciled", "applied", len(r.Applied), "failed", len(r.Failed), "frrChanged", r.FRRChanged,
			"kernelWrites", r.Kernel.Writes, "duration", r.Duration,
			"load", r.Phases.Load, "plan", r.Phases.Plan, "frr", r.Phases.FRR, "kernel", r.Phases.Kernel,
			"zebra", r.Phases.Zebra, "sessions", r.Phases.Sessions)
	}
	if a.AfterReconcile != nil {
		a.AfterReconcile(ctx, r)
	}
	return r
}

// reconcile is one pass: load, plan, FRR, kernel, zebra, sessions, in that order, each
// timed into the report's phases. It is long because the steps share the report and the
// phase clock; each step it calls is a function of its own.
func (a *Agent) reconcile(ctx context.Context) agentapi.Report {
	var r agentapi.Report
	t := time.Now()
	// lap ends a step, storing its duration in d, and enters step next.
	lap := func(d *time.Duration, next string) {
		now := time.Now()
		*d, t = now.Sub(t), now
		a.enter(next)
	}
	desired, err := a.Source.Load(ctx)
	lap(&r.Phases.Load, "plan")
	if err != nil {
		r.Error = fmt.Sprintf("load desired state: %v", err)
		return r
	}
	node := a.Node
	if desired.Node != nil {
		node = *desired.Node
	}
	if fv, ok := a.FRR.(FRRVersion); ok && !a.frrVersion.Known() {
		// The plan depends on FRR's release (plan.Node.FRR): read it before the first plan.
		// If FRR does not answer yet, this pass plans without it and reads it at its end.
		if v, err := fv.Version(ctx); err == nil {
			a.log().Info("FRR version", "version", v.Text, "zebraAddressCheck", v.ZebraMissesAddresses())
			a.frrVersion = v
			if a.Node.SingleVXLAN && !(plan.Node{SingleVXLAN: true, FRR: v}).UsesSingleVXLAN() {
				a.log().Warn("single-VXLAN-device layout asked for, but FRR is older than release 9: programming the per-VNI layout", "version", v.Text)
			}
		}
	}
	node.FRR = a.frrVersion
	node.SingleVXLAN = a.Node.SingleVXLAN
	if a.LastAppliedFile != "" && !a.lastGoodLoaded {
		if err := a.lastGood.load(a.LastAppliedFile); err != nil {
			// Without it, a failing object loses its last applied state; say so, go on.
			a.log().Warn("keep last good: previous state unreadable", "error", err)
		}
		a.lastGoodLoaded = true
	}
	pl := a.lastGood.build(desired, node)
	p := pl.plan
	r.Failed = pl.failed
	// A kept object is in the plan, but the object as written is not applied.
	r.Applied = slices.DeleteFunc(slices.Clone(p.Applied), func(x plan.Ref) bool { return slices.Contains(pl.kept, x) })
	r.Kept = pl.kept

	conf := ""
	if p.HasUnderlay {
		conf, err = frr.Render(&p.FRR, plan.Passwords(pl.resources.Secrets))
		if err != nil {
			r.Error = fmt.Sprintf("render frr.conf: %v", err)
			return r
		}
	} else {
		// No Underlay: FRR runs with an empty configuration and the kernel loses every
		// weft-owned object, as the plan says.
		a.log().Warn("no valid Underlay selects this node; applying an empty plan", "node", node.Name)
	}
	lap(&r.Phases.Plan, "frr")
	changed, err := a.FRR.Apply(ctx, conf)
	lap(&r.Phases.FRR, "kernel")
	a.Metrics.observeFRR(r.Phases.FRR, changed, err)
	r.FRRChanged = changed
	if err != nil {
		r.Error = fmt.Sprintf("apply frr config (the running config is kept): %v", err)
		return r
	}
	// The sessions are read while the kernel is programmed: one vtysh run costs ~50 ms here,
	// and nothing the kernel step does changes what bgpd reports about its sessions.
	type sessions struct {
		s   []frr.Session
		err error
		d   time.Duration
		// version is FRR's release, read after the sessions when this pass reloaded FRR or
		// none is known yet.
		version    frr.Version
		versionErr error
	}
	sessCh := make(chan sessions, 1)
	knownVersion := a.frrVersion
	go func() {
		t0 := time.Now()
		s, err := a.FRR.Sessions(ctx)
		sr := sessions{s: s, err: err, d: time.Since(t0)}
		if fv, ok := a.FRR.(FRRVersion); ok && (changed || !knownVersion.Known()) {
			sr.version, sr.versionErr = fv.Version(ctx)
		}
		sessCh <- sr
	}()
	res, err := a.Kernel.Apply(ctx, p.Kernel, a.Router, a.Host)
	lap(&r.Phases.Kernel, "zebra")
	a.Metrics.observeKernel(r.Phases.Kernel)
	r.Kernel = res
	a.followPlan(p.Kernel)
	a.logNewWarnings(res.Warnings)
	if err != nil {
		r.Error = fmt.Sprintf("apply kernel plan: %v", err)
	}
	// Also after a partial failure: the objects that did converge may still miss in zebra.
	// The first pass of an agent checks every planned address (a previous agent may have
	// stopped between its Apply and its check).
	added := res.AddedRouterAddrs
	if !a.zebraChecked {
		// Both: the plan's addresses and what this pass added beyond them (the address of
		// an uplink NIC it moved in, which no plan names).
		added = p.Kernel.RouterAddrs()
		for dev, ps := range res.AddedRouterAddrs {
			for _, pr := range ps {
				if !slices.Contains(added[dev], pr) {
					added[dev] = append(added[dev], pr)
				}
			}
		}
	}
	if z, ok := a.FRR.(ZebraAddrs); ok && knownVersion.ZebraMissesAddresses() && ctx.Err() == nil && p.HasUnderlay && (len(added) > 0 || len(a.zebraPending) > 0) {
		if serr := a.syncZebra(ctx, z, added, p.Kernel); serr != nil {
			r.Error = strings.TrimPrefix(r.Error+"; "+serr.Error(), "; ")
		} else {
			a.zebraChecked = true
		}
	}
	lap(&r.Phases.Zebra, "sessions")
	r.Failed = append(r.Failed, kernelErrors(res)...)
	for bridge, bp := range res.HostBridges {
		if r.HostPorts == nil {
			r.HostPorts = map[string][]string{}
		}
		r.HostPorts[bridge] = bp.Ports
	}
	detached, gone := a.attachment.check(res, hostBridgeRefs(pl.resources, p.Kernel))
	r.Failed = append(r.Failed, detached...)
	for bridge, ports := range gone {
		a.log().Warn("host bridge removed with its L2VNI; its workload ports are attached to nothing now", "bridge", bridge, "ports", strings.Join(ports, ","))
	}
	if len(res.Failures) > 0 || len(detached) > 0 {
		r.Applied = withoutFailed(r.Applied, r.Failed)
	}
	if r.Error == "" {
		a.lastGood.record(pl, withoutFailed(p.Applied, pl.failed))
		if a.LastAppliedFile != "" {
			if err := a.lastGood.save(a.LastAppliedFile, &a.lastGoodSaved); err != nil {
				r.Error = err.Error()
			}
		}
	}
	if err := a.writeSegments(pl.resources, p, withoutFailed(p.Applied, r.Failed)); err != nil {
		r.Error = strings.TrimPrefix(r.Error+"; "+err.Error(), "; ")
	}
	if a.Refresher != nil {
		r.NeighbourProbes = a.Refresher.Probes()
	}
	sr := <-sessCh
	if sr.err == nil {
		r.Sessions = sr.s
	} else {
		a.log().Warn("read BGP sessions", "error", sr.err)
	}
	r.Phases.Sessions = sr.d
	switch {
	case sr.versionErr != nil:
		a.log().Warn("read FRR's version (zebra's addresses stay checked)", "error", sr.versionErr)
	case sr.version.Known() && sr.version != a.frrVersion:
		a.log().Info("FRR version", "version", sr.version.Text, "zebraAddressCheck", sr.version.ZebraMissesAddresses())
		a.frrVersion = sr.version
	}
	r.FRRVersion = a.frrVersion.Text
	return r
}

// passTimeout bounds one reconcile pass (cold-applying 1000 VNIs takes under 10 s here).
const passTimeout = 5 * time.Minute

// defaultZebraWait bounds how long syncZebra waits for zebra to catch up with netlink events.
const defaultZebraWait = 3 * time.Second

// The Reloader is what drives a real FRR; the zebra check must not be lost to a rename.
var _ ZebraAddrs = (*frr.Reloader)(nil)

// syncZebra checks that zebra learned the addresses a pass added in the router namespace
// (and those still pending from earlier passes, as long as the plan has them): the planned
// ones and those of the underlay NICs, which weft puts back after moving a NIC in. A missed
// uplink address leaves zebra without the connected route to the ToR, and bgpd then waits
// for it ("Waiting for NHT") and refuses the ToR's connections too. zebra
// processes netlink events asynchronously, so it waits a little; what is still missing then
// was dropped (FRR 8.4 reads address and link events on separate sockets and drops an address
// whose device it has not learned yet), and the kernel announces it again.
func (a *Agent) syncZebra(ctx context.Context, z ZebraAddrs, added map[string][]netip.Prefix, kp plan.KernelPlan) error {
	planned := kp.RouterAddrs()
	want := map[string][]netip.Prefix{}
	for _, m := range []map[string][]netip.Prefix{added, a.zebraPending} {
		for dev, ps := range m {
			for _, p := range ps {
				if (slices.Contains(planned[dev], p) || slices.Contains(kp.Underlay.Interfaces, dev)) && !slices.Contains(want[dev], p) {
					want[dev] = append(want[dev], p)
				}
			}
		}
	}
	a.zebraPending = nil
	if len(want) == 0 {
		return nil
	}
	missing, err := a.waitZebra(ctx, z, want)
	if err != nil {
		a.zebraPending = want
		return fmt.Errorf("read zebra's interfaces: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	a.log().Warn("zebra missed addresses; announcing them again", "missing", fmt.Sprint(missing))
	res, err := a.Kernel.Reannounce(ctx, a.Router, missing)
	// What the kernel no longer has (a NIC taken out of the router namespace, an address
	// removed by hand) zebra cannot learn: it stops being pending. If the kernel step adds
	// it again, it is checked again as added.
	missing = withoutPrefixes(missing, res.Absent)
	if err != nil {
		a.zebraPending = missing
		return fmt.Errorf("announce addresses to zebra again: %w", err)
	}
	if len(missing) == 0 {
		return nil
	}
	still, err := a.waitZebra(ctx, z, missing)
	if err != nil {
		a.zebraPending = missing
		return fmt.Errorf("read zebra's interfaces: %w", err)
	}
	if len(still) > 0 {
		a.zebraPending = still
		return fmt.Errorf("zebra still lacks addresses %v; retrying", still)
	}
	return nil
}

// withoutPrefixes returns m without the prefixes in drop, leaving out emptied devices.
func withoutPrefixes(m, drop map[string][]netip.Prefix) map[string][]netip.Prefix {
	out := map[string][]netip.Prefix{}
	for dev, ps := range m {
		for _, p := range ps {
			if !slices.Contains(drop[dev], p) {
				out[dev] = append(out[dev], p)
			}
		}
	}
	return out
}

// waitZebra polls zebra's addresses until none of want is missing or zebraWait passed, and
// returns what is still missing.
func (a *Agent) waitZebra(ctx context.Context, z ZebraAddrs, want map[string][]netip.Prefix) (map[string][]netip.Prefix, error) {
	deadline := time.Now().Add(cmp.Or(a.zebraWait, defaultZebraWait))
	for {
		have, err := z.InterfaceAddrs(ctx)
		if err != nil {
			return nil, err
		}
		missing := map[string][]netip.Prefix{}
		for dev, ps := range want {
			for _, p := range ps {
				if !slices.Contains(have[dev], p) {
					missing[dev] = append(missing[dev], p)
				}
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			return missing, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// kernelErrors are the kernel layer's failures as errors of the resources that own the
// failed objects. Node-level failures (removing devices no resource asks for) fail no
// resource: they are in the pass's error, which joins every failure.
func kernelErrors(res hostnet.Result) []plan.ResourceError {
	var out []plan.ResourceError
	for _, f := range res.Failures {
		if f.NodeLevel() {
			continue
		}
		out = append(out, plan.ResourceError{Kind: f.Owner.Kind, Namespace: f.Owner.Namespace, Name: f.Owner.Name, Reason: "KernelError", Message: f.Err.Error()})
	}
	return out
}

func withoutFailed(applied []plan.Ref, failed []plan.ResourceError) []plan.Ref {
	bad := map[plan.Ref]bool{}
	for _, f := range failed {
		bad[f.Ref()] = true
	}
	var out []plan.Ref
	for _, a := range applied {
		if !bad[a] {
			out = append(out, a)
		}
	}
	return out
}

// Run reconciles at start, on every trigger, and every resync period; after a failed pass it
// retries with exponential backoff (up to the resync period). It returns when ctx ends,
// leaving FRR and the kernel as they are: the data plane keeps forwarding without the agent.
func (a *Agent) Run(ctx context.Context, triggers <-chan struct{}, resync time.Duration) error {
	if a.Refresher != nil {
		go a.runRefresher(ctx)
	}
	const minBackoff = 500 * time.Millisecond
	backoff := minBackoff
	for {
		// A pass is not interrupted by shutdown (a frr-reload.py killed mid-reload would
		// leave FRR half-configured); shutdown waits for it, within passTimeout.
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), passTimeout)
		r := a.Reconcile(pctx)
		cancel()
		wait := resync
		if r.Error != "" {
			wait = min(backoff, resync)
			backoff = min(backoff*2, resync)
		} else {
			backoff = minBackoff
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return ctx.Err()
		case <-triggers:
			t.Stop()
			// Coalesce a burst of triggers (an editor writing several files) into one pass.
			drain(triggers)
		case <-t.C:
		}
	}
}

func drain(ch <-chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}
