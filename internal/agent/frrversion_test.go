package agent

import (
	"context"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/plan"
)

// releasedFRR is a fake FRR that knows its release.
type releasedFRR struct {
	*fakeFRR
	release string
}

func (f releasedFRR) Version(context.Context) (frr.Version, error) {
	return frr.ParseVersion("FRRouting " + f.release + " (test) on Linux(6.1).")
}

// TestFirstPlanKnowsFRRRelease: the agent reads FRR's release before its first plan, so an
// Underlay that the release cannot carry (an IPv6-only VTEP on FRR 10.3, before EVPN over
// IPv6) fails on its first pass, named by field, and FRR gets no configuration from it;
// on FRR 10.6 the same Underlay applies.
func TestFirstPlanKnowsFRRRelease(t *testing.T) {
	const v6Underlay = `apiVersion: network.weft.dev/v1alpha1
kind: Underlay
metadata:
  name: node1
spec:
  asn: 65000
  neighbors:
    - address: fd00:1::1
      type: Internal
  tunnelEndpoint:
    cidrs: [fd00:255::/64]
  routerIDCIDR: 10.254.0.0/24
`
	for _, tt := range []struct {
		release string
		refused bool
	}{{"10.3", true}, {"10.6", false}} {
		f := &fakeFRR{}
		a := &Agent{Node: plan.Node{Name: "node1", Index: 0}, Source: manifestSource(t, v6Underlay), FRR: releasedFRR{f, tt.release}, Kernel: fakeKernel{}}
		r := a.Reconcile(context.Background())
		refused := len(r.Failed) == 1 && r.Failed[0].Field == "spec.tunnelEndpoint.cidrs[0]" && strings.Contains(r.Failed[0].Message, "FRR 10.6 or later")
		if refused != tt.refused {
			t.Errorf("FRR %s: first pass failed %v, want the Underlay refused: %v", tt.release, r.Failed, tt.refused)
		}
		if configured := strings.Contains(f.config(), "router bgp 65000"); configured == tt.refused {
			t.Errorf("FRR %s: FRR configured with the Underlay: %v, want %v:\n%s", tt.release, configured, !tt.refused, f.config())
		}
	}
}
