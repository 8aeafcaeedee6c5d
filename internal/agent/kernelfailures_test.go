package agent

import (
	"errors"
	"testing"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// TestKernelFailures: each kernel failure is reported on the resource that owns the object;
// a node-level failure (removing objects no resource asks for) is no resource's failure and
// never surfaces as a resource without a name.
func TestKernelFailures(t *testing.T) {
	want := []plan.Ref{{Kind: "L2VNI", Namespace: "weft", Name: "web"}, {Kind: "Underlay", Namespace: "weft", Name: "fabric"}, {Kind: "L3Passthrough", Namespace: "weft", Name: "kube"}}
	kr := hostnet.Result{Failures: []*hostnet.ObjectError{
		{Owner: want[0], Err: errors.New("bridge")},
		{Owner: want[1], Err: errors.New("nic")},
		{Err: errors.New("stale device")},
		{Owner: want[2], Err: errors.New("veth")},
	}}
	got := kernelErrors(kr)
	if len(got) != len(want) {
		t.Fatalf("got %v, want errors on %v", got, want)
	}
	for i, e := range got {
		if e.Ref() != want[i] || e.Reason != "KernelError" {
			t.Errorf("error %d: %v, want a KernelError on %s", i, e, want[i])
		}
	}
}
