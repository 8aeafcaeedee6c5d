package agent

import (
	"fmt"
	"slices"
	"strings"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// ReasonDetached: the host bridge of an L2VNI lost workload ports that still exist (the
// bridge was deleted and recreated, by hand or by a bug): the segment is programmed, yet its
// workloads are cut off. It is reported until they are attached again or gone.
const ReasonDetached = "Detached"

// attachment remembers the workload ports of each host bridge from one pass to the next.
type attachment struct {
	ports    map[string]hostnet.BridgePorts
	detached map[string][]string
}

// check compares this pass's host bridges with the last pass's and returns a Detached error
// for every L2VNI whose bridge lost ports that still exist in the host namespace. bridgeRef
// names the L2VNI of each planned host bridge. gone says, for each host bridge no longer
// planned (its L2VNI was deleted), which of its workload ports it left attached to nothing:
// deleting an L2VNI cuts its workloads off, and the log must say which.
func (t *attachment) check(res hostnet.Result, bridgeRef map[string]plan.Ref) (errs []plan.ResourceError, gone map[string][]string) {
	if res.HostBridges == nil {
		return nil, nil // no view of the host namespace this pass: nothing to compare
	}
	if t.ports == nil {
		t.ports, t.detached = map[string]hostnet.BridgePorts{}, map[string][]string{}
	}
	var out []plan.ResourceError
	gone = map[string][]string{}
	for bridge, ref := range bridgeRef {
		cur, ok := res.HostBridges[bridge]
		if !ok {
			continue
		}
		var lost []string
		for _, p := range append(slices.Clone(t.ports[bridge].Ports), t.detached[bridge]...) {
			if master, exists := res.HostMasters[p]; exists && master != cur.Index && !slices.Contains(lost, p) {
				lost = append(lost, p)
			}
		}
		slices.Sort(lost)
		t.detached[bridge] = lost
		t.ports[bridge] = cur
		if len(lost) > 0 {
			out = append(out, plan.ResourceError{
				Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, Reason: ReasonDetached,
				Message: fmt.Sprintf("host bridge %s lost its workload port(s) %s: they still exist but are no longer attached, so their workloads are cut off; attach them again (restart the pods, or their CNI plugin)", bridge, strings.Join(lost, ", ")),
			})
		}
	}
	for bridge, prev := range t.ports {
		if _, ok := bridgeRef[bridge]; ok {
			continue
		}
		for _, p := range prev.Ports {
			if master, exists := res.HostMasters[p]; exists && master != prev.Index {
				gone[bridge] = append(gone[bridge], p)
			}
		}
		delete(t.ports, bridge)
		delete(t.detached, bridge)
	}
	return out, gone
}

// hostBridgeRefs maps each planned host bridge to the L2VNI it serves.
func hostBridgeRefs(resources plan.Resources, kp plan.KernelPlan) map[string]plan.Ref {
	byVNI := map[uint32]plan.Ref{}
	for _, x := range resources.L2VNIs {
		byVNI[uint32(x.Spec.VNI)] = plan.Ref{Kind: "L2VNI", Namespace: x.Namespace, Name: x.Name}
	}
	out := make(map[string]plan.Ref, len(kp.L2VNIs))
	for _, v := range kp.L2VNIs {
		if ref, ok := byVNI[v.VNI]; ok {
			out[v.HostMaster.Name] = ref
		}
	}
	return out
}
