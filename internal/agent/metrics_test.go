package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// series gathers reg and returns every sample as `name{label="value",...}` → value, labels
// sorted by name; a histogram gives its _count and _sum.
func series(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := f.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				out[strings.Replace(key, "{", "_count{", 1)] = float64(m.GetHistogram().GetSampleCount())
				out[strings.Replace(key, "{", "_sum{", 1)] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// fakeState is an FRR whose state and failures the test sets; it counts the reads of BGP.
type fakeState struct {
	mu      sync.Mutex
	bgp     []frr.BGPPeer
	bfd     []frr.BFDPeer
	vnis    []frr.ZebraVNI
	macs    []frr.EVPNMAC
	routes  map[string]int
	fail    map[string]bool
	reads   int
	blocked chan struct{} // when set, BGPPeers waits for it to be closed
}

func (f *fakeState) err(q string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[q] {
		return errors.New(q + " is not running")
	}
	return nil
}

func (f *fakeState) BGPPeers(ctx context.Context) ([]frr.BGPPeer, error) {
	f.mu.Lock()
	f.reads++
	b := f.blocked
	f.mu.Unlock()
	if b != nil {
		select {
		case <-b:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return f.bgp, f.err(queryBGP)
}
func (f *fakeState) BFDPeers(context.Context) ([]frr.BFDPeer, error) { return f.bfd, f.err(queryBFD) }
func (f *fakeState) EVPNVNIs(context.Context) ([]frr.ZebraVNI, error) {
	return f.vnis, f.err(queryEVPNVNIs)
}
func (f *fakeState) EVPNMACs(context.Context) ([]frr.EVPNMAC, error) {
	return f.macs, f.err(queryEVPNMACs)
}
func (f *fakeState) EVPNRouteCounts(context.Context) (map[string]int, error) {
	return f.routes, f.err(queryEVPNRoutes)
}

func exampleState() *fakeState {
	return &fakeState{
		bgp: []frr.BGPPeer{
			{VRF: "default", Peer: "10.0.1.0", State: "Established", Uptime: 90 * time.Second, PrefixesReceived: map[string]int{"ipv4Unicast": 5, "l2VpnEvpn": 8}},
			{VRF: "red", Peer: "192.169.10.2", State: "Active", PrefixesReceived: map[string]int{"ipv4Unicast": 0}},
		},
		bfd: []frr.BFDPeer{
			{Peer: "10.0.1.0", VRF: "default", Status: "up"},
			// The same address in two VRFs: one label, up only when both are.
			{Peer: "192.169.10.2", VRF: "blue", Status: "up"},
			{Peer: "192.169.10.2", VRF: "red", Status: "down"},
		},
		vnis: []frr.ZebraVNI{{VNI: 100, Type: "L3"}, {VNI: 110, Type: "L2"}, {VNI: 120, Type: "L2"}},
		macs: []frr.EVPNMAC{
			{VNI: 110, MAC: "02:00:00:00:6e:01", Type: "local"},
			{VNI: 110, MAC: "02:00:00:00:6e:02", Type: "remote"},
			{VNI: 110, MAC: "02:00:00:00:6e:03", Type: "remote"},
		},
		routes: map[string]int{"2": 9, "3": 3},
		fail:   map[string]bool{},
	}
}

func TestFRRCollector(t *testing.T) {
	src := exampleState()
	reg := prometheus.NewRegistry()
	c := NewFRRCollector(src, nil)
	reg.MustRegister(c)
	got := series(t, reg)
	want := map[string]float64{
		`weft_bgp_session_up{peer="10.0.1.0",vrf="default"}`:                          1,
		`weft_bgp_session_up{peer="192.169.10.2",vrf="red"}`:                          0,
		`weft_bgp_session_uptime_seconds{peer="10.0.1.0",vrf="default"}`:              90,
		`weft_bgp_session_uptime_seconds{peer="192.169.10.2",vrf="red"}`:              0,
		`weft_bgp_prefixes_received{afi="ipv4Unicast",peer="10.0.1.0",vrf="default"}`: 5,
		`weft_bgp_prefixes_received{afi="l2VpnEvpn",peer="10.0.1.0",vrf="default"}`:   8,
		`weft_bgp_prefixes_received{afi="ipv4Unicast",peer="192.169.10.2",vrf="red"}`: 0,
		`weft_bfd_peer_up{peer="10.0.1.0"}`:                                           1,
		`weft_bfd_peer_up{peer="192.169.10.2"}`:                                       0,
		`weft_evpn_vnis{type="l2"}`:                                                   2,
		`weft_evpn_vnis{type="l3"}`:                                                   1,
		`weft_evpn_macs{origin="local",vni="110"}`:                                    1,
		`weft_evpn_macs{origin="remote",vni="110"}`:                                   2,
		`weft_evpn_macs{origin="local",vni="120"}`:                                    0,
		`weft_evpn_macs{origin="remote",vni="120"}`:                                   0,
		`weft_evpn_routes{type="2"}`:                                                  9,
		`weft_evpn_routes{type="3"}`:                                                  3,
		`weft_evpn_routes{type="5"}`:                                                  0,
		`weft_frr_scrape_errors_total{query="bgp"}`:                                   0,
		`weft_frr_scrape_errors_total{query="bfd"}`:                                   0,
		`weft_frr_scrape_errors_total{query="evpn_vnis"}`:                             0,
		`weft_frr_scrape_errors_total{query="evpn_macs"}`:                             0,
		`weft_frr_scrape_errors_total{query="evpn_routes"}`:                           0,
	}
	if !maps.Equal(got, want) {
		t.Errorf("got:\n%s\nwant:\n%s", dump(got), dump(want))
	}

	// A second scrape within frrStatsMaxAge reuses the read.
	series(t, reg)
	if src.reads != 1 {
		t.Errorf("two scrapes read FRR %d times, want once", src.reads)
	}

	// A failing query leaves its metrics out and is counted; the rest is exported and the
	// scrape succeeds.
	src.mu.Lock()
	src.fail[queryBFD] = true
	src.mu.Unlock()
	c.mu.Lock()
	c.at = time.Now().Add(-frrStatsMaxAge)
	c.mu.Unlock()
	got = series(t, reg)
	if src.reads != 2 {
		t.Errorf("a scrape after frrStatsMaxAge did not read FRR again (%d reads)", src.reads)
	}
	for k := range want {
		_, ok := got[k]
		if strings.HasPrefix(k, "weft_bfd_peer_up") == ok {
			t.Errorf("with bfd failing: %s present=%v", k, ok)
		}
	}
	if got[`weft_frr_scrape_errors_total{query="bfd"}`] != 1 || got[`weft_frr_scrape_errors_total{query="bgp"}`] != 0 {
		t.Errorf("errors: %s", dump(got))
	}
	// The failure counts once per read, not once per scrape.
	series(t, reg)
	if got := series(t, reg); got[`weft_frr_scrape_errors_total{query="bfd"}`] != 1 {
		t.Errorf("scrapes served from the cache counted the error again: %v", got[`weft_frr_scrape_errors_total{query="bfd"}`])
	}
}

// TestScrapeDoesNotDelayPass: a scrape stuck reading FRR delays no reconcile pass.
func TestScrapeDoesNotDelayPass(t *testing.T) {
	src := exampleState()
	src.blocked = make(chan struct{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewFRRCollector(src, nil))
	a := &Agent{Source: staticSource{}, FRR: &fakeFRR{}, Kernel: fakeKernel{}, Metrics: NewMetrics(reg), Log: slog.New(slog.DiscardHandler)}
	scraped := make(chan error, 1)
	go func() {
		_, err := reg.Gather()
		scraped <- err
	}()
	for {
		src.mu.Lock()
		n := src.reads
		src.mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	passed := make(chan agentapi.Report, 1)
	go func() { passed <- a.Reconcile(context.Background()) }()
	select {
	case r := <-passed:
		if r.Error != "" {
			t.Errorf("pass: %s", r.Error)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the pass waited for the scrape")
	}
	close(src.blocked)
	if err := <-scraped; err != nil {
		t.Fatal(err)
	}
}

// failingFRR's Apply fails after reloading, as a rejected reload does.
type failingFRR struct{ fakeFRR }

func (*failingFRR) Apply(context.Context, string) (bool, error) {
	return false, errors.New("frr-reload.py --reload failed; rolled back")
}

// countingKernel reports one failed object for VNI 110 when fail is set.
type countingKernel struct {
	fakeKernel
	fail bool
}

func (k countingKernel) Apply(_ context.Context, kp plan.KernelPlan, _, _ hostnet.Namespace) (hostnet.Result, error) {
	if !k.fail {
		return hostnet.Result{}, nil
	}
	f := &hostnet.ObjectError{Owner: kp.L2VNIs[0].Owner, Err: errors.New("bridge: file exists")}
	return hostnet.Result{Failures: []*hostnet.ObjectError{f, f}}, nil
}

func TestPassMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	// An Underlay and an L2VNI for node1.
	src := manifestSource(t, uplinkUnderlay+"---\n"+fsL2("web", 110))
	a := &Agent{Node: plan.Node{Name: "node1", Index: 0}, Source: src, FRR: &fakeFRR{}, Kernel: countingKernel{}, Metrics: NewMetrics(reg),
		Log: slog.New(slog.DiscardHandler)}

	if r := a.Reconcile(context.Background()); r.Error != "" {
		t.Fatal(r.Error)
	}
	got := series(t, reg)
	for k, v := range map[string]float64{
		`weft_frr_reload_duration_seconds_count{}`:            1,
		`weft_frr_reload_failures_total{}`:                    0,
		`weft_kernel_apply_duration_seconds_count{}`:          1,
		`weft_resources{kind="Underlay",state="applied"}`:     1,
		`weft_resources{kind="L2VNI",state="applied"}`:        1,
		`weft_resources{kind="L2VNI",state="failed"}`:         0,
		`weft_resources{kind="L3VNI",state="applied"}`:        0,
		`weft_resources{kind="L3Passthrough",state="failed"}`: 0,
		`weft_bgp_sessions{state="Established"}`:              1,
	} {
		if got[k] != v {
			t.Errorf("after the first pass: %s = %v, want %v\n%s", k, got[k], v, dump(got))
		}
	}

	// Nothing changed: FRR's apply is skipped and is no reload.
	a.Reconcile(context.Background())
	if got := series(t, reg); got[`weft_frr_reload_duration_seconds_count{}`] != 1 || got[`weft_kernel_apply_duration_seconds_count{}`] != 2 {
		t.Errorf("a no-op pass: reloads %v, kernel passes %v; want 1 and 2", got[`weft_frr_reload_duration_seconds_count{}`], got[`weft_kernel_apply_duration_seconds_count{}`])
	}

	// The kernel fails for the L2VNI (twice): it counts once, as failed.
	a.Kernel = countingKernel{fail: true}
	a.Reconcile(context.Background())
	got = series(t, reg)
	if got[`weft_resources{kind="L2VNI",state="failed"}`] != 1 || got[`weft_resources{kind="L2VNI",state="applied"}`] != 0 {
		t.Errorf("kernel failure: %s", dump(got))
	}

	// A failed reload is timed and counted, and the kernel step does not run.
	a.FRR = &failingFRR{}
	if r := a.Reconcile(context.Background()); r.Error == "" {
		t.Fatal("want the pass to fail")
	}
	got = series(t, reg)
	if got[`weft_frr_reload_failures_total{}`] != 1 || got[`weft_frr_reload_duration_seconds_count{}`] != 2 || got[`weft_kernel_apply_duration_seconds_count{}`] != 3 {
		t.Errorf("failed reload: %s", dump(got))
	}
}

func TestMetricNames(t *testing.T) {
	names := MetricNames()
	// The metrics docs/metrics.md promises, and those that existed before it.
	for _, want := range []string{
		"weft_bgp_session_up", "weft_bgp_session_uptime_seconds", "weft_bgp_prefixes_received",
		"weft_bfd_peer_up", "weft_evpn_vnis", "weft_evpn_routes", "weft_evpn_macs",
		"weft_frr_reload_duration_seconds_bucket", "weft_frr_reload_duration_seconds_sum", "weft_frr_reload_duration_seconds_count",
		"weft_frr_reload_failures_total", "weft_kernel_apply_duration_seconds_bucket", "weft_resources",
		"weft_frr_scrape_errors_total", "weft_reconcile_total", "weft_reconcile_duration_seconds_count",
		"weft_resource_errors", "weft_resources_applied", "weft_frr_reloads_total", "weft_kernel_writes_total", "weft_bgp_sessions",
	} {
		if !slices.Contains(names, want) {
			t.Errorf("MetricNames lacks %s: %v", want, names)
		}
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "weft_") {
			t.Errorf("MetricNames has %s, which is not weft's", n)
		}
	}
}

func dump(m map[string]float64) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(m)) {
		fmt.Fprintf(&b, "  %s %v\n", k, m[k])
	}
	return b.String()
}
