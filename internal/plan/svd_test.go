package plan

import (
	"testing"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
)

// TestSingleVXLANLayout: a node that asks for the single-VXLAN-device layout gets it with FRR
// 9 or later (every VNI on the one bridge and VXLAN device, each with its SVI), the per-VNI
// layout with FRR 8.4 or an unknown release; a VNI on another UDP port is refused there, and
// the L2VNIs it routes fail with it.
func TestSingleVXLANLayout(t *testing.T) {
	node := testNode
	node.SingleVXLAN = true
	for _, v := range []frr.Version{{}, {Major: 8, Minor: 4, Text: "8.4.4"}} {
		node.FRR = v
		if p, errs := Build(validResources(), node); len(errs) > 0 || p.Kernel.SVD != nil {
			t.Errorf("FRR %q: SVD %+v, errors %v; want the per-VNI layout", v.Text, p.Kernel.SVD, errs)
		}
	}
	node.FRR = frr.Version{Major: 10, Minor: 7, Text: "10.7.1"}
	p, errs := Build(validResources(), node)
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if p.Kernel.SVD == nil || p.Kernel.SVD.Bridge != SVDBridge || p.Kernel.SVD.VXLAN != SVDVXLAN || p.Kernel.SVD.Port != 4789 {
		t.Fatalf("SVD %+v", p.Kernel.SVD)
	}
	for _, v := range p.Kernel.L3VNIs {
		if v.Bridge != SVDBridge || v.VXLAN != SVDVXLAN || v.SVI != SVIName(v.VNI) {
			t.Errorf("L3VNI %d: %+v", v.VNI, v)
		}
	}
	for _, v := range p.Kernel.L2VNIs {
		if v.Bridge != SVDBridge || v.VXLAN != SVDVXLAN || v.SVI != SVIName(v.VNI) || v.Veth.RouterName != RouterVethName(v.VNI) {
			t.Errorf("L2VNI %d: %+v", v.VNI, v)
		}
	}
	if len(p.Kernel.L3VNIs) != 2 || len(p.Kernel.L2VNIs) != 3 {
		t.Errorf("%d L3VNIs and %d L2VNIs, want 2 and 3", len(p.Kernel.L3VNIs), len(p.Kernel.L2VNIs))
	}

	r := validResources()
	r.L3VNIs[0].Spec.VXLANPort = 4790 // red, which routes web
	p, errs = Build(r, node)
	want := map[string]string{"red": "spec.vxlanPort", "web": "spec.routingDomain.l3vni"}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want one on each of %v", errs, want)
	}
	for _, e := range errs {
		if want[e.Name] != e.Field {
			t.Errorf("error %v, want one on %v", e, want)
		}
		if e.Name == "red" && e.Reason != ReasonUnsupported {
			t.Errorf("red: reason %s", e.Reason)
		}
	}
	if len(p.Kernel.L3VNIs) != 1 || len(p.Kernel.L2VNIs) != 2 {
		t.Errorf("%d L3VNIs and %d L2VNIs in the plan, want 1 and 2", len(p.Kernel.L3VNIs), len(p.Kernel.L2VNIs))
	}
	if got := v1alpha1.KindL3VNI; errs[0].Kind != got && errs[1].Kind != got {
		t.Errorf("no L3VNI error: %v", errs)
	}
}
