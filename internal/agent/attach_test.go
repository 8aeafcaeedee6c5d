package agent

import (
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// TestDetachedPorts: a host bridge that comes back (a new ifindex) without the workload
// ports it had, while those ports still exist, is reported Detached until they are attached
// again; ports that are deleted (a pod removed) are not.
func TestDetachedPorts(t *testing.T) {
	web := plan.Ref{Kind: "L2VNI", Namespace: "weft", Name: "web"}
	refs := map[string]plan.Ref{"br-hs-110": web}
	var a attachment
	pass := func(index int, ports []string, masters map[string]int) []plan.ResourceError {
		errs, _ := a.check(hostnet.Result{HostBridges: map[string]hostnet.BridgePorts{"br-hs-110": {Index: index, Ports: ports}}, HostMasters: masters}, refs)
		return errs
	}
	if errs := pass(10, []string{"vm1", "vm2"}, map[string]int{"vm1": 10, "vm2": 10}); len(errs) != 0 {
		t.Fatalf("first pass: %v", errs)
	}
	// The bridge is recreated (index 20); vm1 and vm2 still exist, attached to nothing.
	errs := pass(20, nil, map[string]int{"vm1": 0, "vm2": 0})
	if len(errs) != 1 || errs[0].Ref() != web || errs[0].Reason != ReasonDetached || !strings.Contains(errs[0].Message, "vm1, vm2") {
		t.Fatalf("after the bridge was recreated: %v; want web Detached naming vm1, vm2", errs)
	}
	// Still detached on the next pass (nothing changed).
	if errs := pass(20, nil, map[string]int{"vm1": 0, "vm2": 0}); len(errs) != 1 {
		t.Fatalf("second pass: %v; want still Detached", errs)
	}
	// vm1 is attached again, vm2's pod was deleted: nothing to report.
	if errs := pass(20, []string{"vm1"}, map[string]int{"vm1": 20}); len(errs) != 0 {
		t.Fatalf("after re-attaching: %v", errs)
	}
	// Ports removed with their pods are not detached.
	if errs := pass(20, []string{"vm3"}, map[string]int{"vm3": 20}); len(errs) != 0 {
		t.Fatalf("after the pods went: %v", errs)
	}
	// The L2VNI is deleted: its bridge goes, and vm3 is named as left attached to nothing.
	errs, gone := a.check(hostnet.Result{HostBridges: map[string]hostnet.BridgePorts{}, HostMasters: map[string]int{"vm3": 0}}, map[string]plan.Ref{})
	if len(errs) != 0 || len(gone["br-hs-110"]) != 1 || gone["br-hs-110"][0] != "vm3" {
		t.Errorf("after deleting the L2VNI: errors %v, detached %v; want vm3 named", errs, gone)
	}
}
