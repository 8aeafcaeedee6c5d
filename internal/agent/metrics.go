package agent

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the agent's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	reconciles      *prometheus.CounterVec
	duration        prometheus.Histogram
	resourceErrors  prometheus.Gauge
	appliedResource prometheus.Gauge
	frrReloads      prometheus.Counter
	kernelWrites    prometheus.Counter
	sessions        *prometheus.GaugeVec
}

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
		frrReloads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_frr_reloads_total", Help: "FRR configuration reloads (no-op passes skip the reload).",
		}),
		kernelWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_kernel_writes_total", Help: "Netlink requests that changed the kernel.",
		}),
		sessions: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "weft_bgp_sessions", Help: "BGP sessions by state.",
		}, []string{"state"}),
	}
	reg.MustRegister(m.reconciles, m.duration, m.resourceErrors, m.appliedResource, m.frrReloads, m.kernelWrites, m.sessions)
	return m
}

func (m *Metrics) observe(r Report) {
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
	if r.FRRChanged {
		m.frrReloads.Inc()
	}
	m.kernelWrites.Add(float64(r.Kernel.Writes))
	m.sessions.Reset()
	for _, s := range r.Sessions {
		m.sessions.WithLabelValues(s.State).Inc()
	}
}
