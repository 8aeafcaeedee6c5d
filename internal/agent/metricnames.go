package agent

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/plan"
)

// MetricNames lists the name of every series the agent's own metrics (NewMetrics and
// FRRCollector) export, sorted; for a histogram that is its _bucket, _sum and _count. The
// Helm chart's alerts and dashboard may use only these names (test/deploy checks that). It
// gathers a registry with one sample of everything, so the list cannot drift from the code.
func MetricNames() []string {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	m.observe(agentapi.Report{
		Applied:  []plan.Ref{{Kind: "L2VNI", Name: "example"}},
		Sessions: []frr.Session{{VRF: "default", Neighbor: "192.0.2.1", State: "Established"}},
	})
	m.observeFRR(time.Second, true, errors.New("example"))
	m.observeKernel(time.Millisecond)
	reg.MustRegister(NewFRRCollector(exampleFRR{}, nil))
	families, err := reg.Gather()
	if err != nil {
		panic(err) // the registry above is fixed: a bug, not a condition
	}
	var names []string
	for _, f := range families {
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			names = append(names, f.GetName()+"_bucket", f.GetName()+"_sum", f.GetName()+"_count")
		case dto.MetricType_SUMMARY:
			names = append(names, f.GetName(), f.GetName()+"_sum", f.GetName()+"_count")
		default:
			names = append(names, f.GetName())
		}
	}
	slices.Sort(names)
	return names
}

// exampleFRR has one of everything FRR reports, for MetricNames.
type exampleFRR struct{}

func (exampleFRR) BGPPeers(context.Context) ([]frr.BGPPeer, error) {
	return []frr.BGPPeer{{VRF: "default", Peer: "192.0.2.1", State: "Established", PrefixesReceived: map[string]int{"ipv4Unicast": 1}}}, nil
}

func (exampleFRR) BFDPeers(context.Context) ([]frr.BFDPeer, error) {
	return []frr.BFDPeer{{Peer: "192.0.2.1", VRF: "default", Status: "up"}}, nil
}

func (exampleFRR) EVPNVNIs(context.Context) ([]frr.ZebraVNI, error) {
	return []frr.ZebraVNI{{VNI: 100, Type: "L2"}}, nil
}

func (exampleFRR) EVPNMACs(context.Context) ([]frr.EVPNMAC, error) {
	return []frr.EVPNMAC{{VNI: 100, MAC: "02:00:00:00:00:01", Type: "local"}}, nil
}

func (exampleFRR) EVPNRouteCounts(context.Context) (map[string]int, error) {
	return map[string]int{"2": 1}, nil
}
