package lab

import (
	"bytes"
	"context"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// AgentMetrics scrapes a node agent's /metrics and returns the metric families by name.
func AgentMetrics(ctx context.Context, s *State, node string) (map[string]*dto.MetricFamily, error) {
	body, err := agentGet(ctx, s, node, "/metrics")
	if err != nil {
		return nil, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s: parse /metrics: %w", node, err)
	}
	return families, nil
}
