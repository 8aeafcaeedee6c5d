package agent

import (
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// TestKernelFailures: each kernel failure is reported on the resource that asked for the
// object; a failed cleanup (of objects no resource asks for) is no resource's failure and
// never surfaces as a resource without a name.
func TestKernelFailures(t *testing.T) {
	res := plan.Resources{L2VNIs: []v1alpha1.L2VNI{{ObjectMeta: metav1.ObjectMeta{Namespace: "weft", Name: "web"}, Spec: v1alpha1.L2VNISpec{VNI: 110}}}}
	p := plan.NodePlan{Applied: []plan.Ref{{Kind: "Underlay", Namespace: "weft", Name: "fabric"}, {Kind: "L3Passthrough", Namespace: "weft", Name: "kube"}}}
	kr := hostnet.Result{Failures: []*hostnet.ObjectError{
		{Kind: "L2VNI", VNI: 110, Err: errors.New("bridge")},
		{Kind: "Underlay", Err: errors.New("nic")},
		{Kind: "Passthrough", Err: errors.New("veth")},
		{Kind: "Cleanup", Err: errors.New("stale device")},
	}}
	got := kernelFailures(kr, res, p)
	want := []plan.Ref{{Kind: "L2VNI", Namespace: "weft", Name: "web"}, {Kind: "Underlay", Namespace: "weft", Name: "fabric"}, {Kind: "L3Passthrough", Namespace: "weft", Name: "kube"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want errors on %v", got, want)
	}
	for i, e := range got {
		if e.Ref() != want[i] || e.Reason != "KernelError" {
			t.Errorf("error %d: %v, want a KernelError on %s", i, e, want[i])
		}
	}
}
