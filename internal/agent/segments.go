package agent

import (
	"fmt"
	"slices"

	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/segments"
)

// writeSegments records the L2VNIs applied on this node, with their host bridges, for the CNI
// plugin. Only what this pass applied is listed: an L2VNI that failed is not attachable.
func (a *Agent) writeSegments(resources plan.Resources, p plan.NodePlan, applied []plan.Ref) error {
	if a.SegmentsFile == "" {
		return nil
	}
	f := segments.File{Node: p.Node.Name, AgentAddr: a.StatusAddr, Segments: []segments.Segment{}}
	for _, x := range resources.L2VNIs {
		if !slices.Contains(applied, plan.Ref{Kind: "L2VNI", Namespace: x.Namespace, Name: x.Name}) {
			continue
		}
		for _, k := range p.Kernel.L2VNIs {
			if k.VNI == uint32(x.Spec.VNI) {
				f.Segments = append(f.Segments, segments.Segment{
					Namespace: x.Namespace, Name: x.Name, VNI: k.VNI,
					Bridge: k.HostMaster.Name, HostVeth: k.Veth.HostName, MTU: k.MTU,
				})
			}
		}
	}
	wrote, err := segments.Write(a.SegmentsFile, f)
	if err != nil {
		return fmt.Errorf("segments file for the CNI plugin: %w", err)
	}
	if wrote {
		a.log().Info("segments file written", "path", a.SegmentsFile, "l2vnis", len(f.Segments))
	}
	return nil
}
