package agent

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/plan"
)

// Metrics are the agent's Prometheus metrics that reconcile passes record (FRRCollector
// adds those read from FRR at scrape time). A nil *Metrics records nothing. docs/metrics.md
// describes every metric.
type Metrics struct {
	reconciles      *prometheus.CounterVec
	duration        prometheus.Histogram
	resourceErrors  prometheus.Gauge
	appliedResource prometheus.Gauge
	resources       *prometheus.GaugeVec
	frrReloads      prometheus.Counter
	frrReload       prometheus.Histogram
	frrFailures     prometheus.Counter
	kernelApply     prometheus.Histogram
	kernelWrites    prometheus.Counter
	sessions        *prometheus.GaugeVec
	neighbourProbes prometheus.Counter
	// probesSeen is the refresher's count already added to neighbourProbes.
	probesSeen int64
}

// resourceKinds are the kinds weft_resources always has a series for, 0 when none.
var resourceKinds = []string{v1alpha1.KindUnderlay, v1alpha1.KindL2VNI, v1alpha1.KindL3VNI, v1alpha1.KindL3Passthrough}

// stepBuckets suit both FRR reloads (0.4 s for a no-op frr-reload.py, seconds for thousands
// of VNIs) and kernel passes (ms when nothing changed, seconds for a cold apply).
var stepBuckets = []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// NewMetrics registers the agent's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_reconcile_total", Help: "Reconcile passes by result (success or error).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "weft_reconcile_duration_seconds", Help: "Duration of reconcile passes.",
			Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		resourceErrors: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weft_resource_errors", Help: "Resources selected for this node that are not applied.",
		}),
		appliedResource: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weft_resources_applied", Help: "Resources applied on this node.",
		}),
		resources: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "weft_resources", Help: "Resources selected for this node by kind and state (applied or failed), as of the last pass.",
		}, []string{"kind", "state"}),
		frrReloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_frr_reloads_total", Help: "FRR configuration reloads (no-op passes skip the reload).",
		}),
		frrReload: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "weft_frr_reload_duration_seconds", Help: "Duration of FRR configuration applies that ran frr-reload.py (test and reload), failed ones included.",
			Buckets: stepBuckets,
		}),
		frrFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_frr_reload_failures_total", Help: "FRR configuration applies that failed (refused, rejected by frr-reload.py --test, or failed reloading).",
		}),
		kernelApply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "weft_kernel_apply_duration_seconds", Help: "Duration of the kernel step of reconcile passes (read, diff and write the router and host namespaces).",
			Buckets: stepBuckets,
		}),
		kernelWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_kernel_writes_total", Help: "Netlink requests that changed the kernel.",
		}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "weft_bgp_sessions", Help: "BGP sessions by state, as of the last pass.",
		}, []string{"state"}),
		neighbourProbes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_neighbour_probes_total", Help: "STALE neighbour entries of silent workloads on gateway bridges the refresher asked the kernel to confirm, as of the last pass.",
		}),
	}
	reg.MustRegister(m.reconciles, m.duration, m.resourceErrors, m.appliedResource, m.resources, m.frrReloads,
		m.frrReload, m.frrFailures, m.kernelApply, m.kernelWrites, m.sessions, m.neighbourProbes)
	return m
}

func (m *Metrics) observe(r agentapi.Report) {
	if m == nil {
		return
	}
	result := "success"
	if r.Error != "" {
		result = "error"
	}
	m.reconciles.WithLabelValues(result).Inc()
	m.duration.Observe(r.Duration.Seconds())
	m.resourceErrors.Set(float64(len(r.Failed)))
	m.appliedResource.Set(float64(len(r.Applied)))
	m.observeResources(r.Applied, r.Failed)
	if r.NeighbourProbes > m.probesSeen {
		m.neighbourProbes.Add(float64(r.NeighbourProbes - m.probesSeen))
		m.probesSeen = r.NeighbourProbes
	}
	if r.FRRChanged {
		m.frrReloads.Inc()
	}
	m.kernelWrites.Add(float64(r.Kernel.Writes))
	m.sessions.Reset()
	for _, s := range r.Sessions {
		m.sessions.WithLabelValues(s.State).Inc()
	}
}

// observeResources counts the pass's resources by kind and state. A resource with several
// failures (one per kernel object, say) counts once.
func (m *Metrics) observeResources(applied []plan.Ref, failed []plan.ResourceError) {
	counts := map[[2]string]int{}
	for _, k := range resourceKinds {
		counts[[2]string{k, "applied"}], counts[[2]string{k, "failed"}] = 0, 0
	}
	for _, a := range applied {
		counts[[2]string{a.Kind, "applied"}]++
	}
	seen := map[plan.Ref]bool{}
	for _, f := range failed {
		ref := f.Ref()
		if !seen[ref] {
			seen[ref] = true
			counts[[2]string{f.Kind, "failed"}]++
		}
	}
	m.resources.Reset()
	for k, n := range counts {
		m.resources.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
}

// observeFRR records one FRR step of a pass that took d: a reload when FRR changed or the
// apply failed; a skipped no-op apply is not a reload.
func (m *Metrics) observeFRR(d time.Duration, changed bool, err error) {
	if m == nil || (!changed && err == nil) {
		return
	}
	m.frrReload.Observe(d.Seconds())
	if err != nil {
		m.frrFailures.Inc()
	}
}

// observeKernel records the duration of a pass's kernel step.
func (m *Metrics) observeKernel(d time.Duration) {
	if m == nil {
		return
	}
	m.kernelApply.Observe(d.Seconds())
}
