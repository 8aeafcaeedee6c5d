package status

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/internal/plan"
)

// TestFailuresAggregate: nodes that fail the same way are one entry of the Applied message
// (kubectl get -o wide), however many they are; different failures stay apart.
func TestFailuresAggregate(t *testing.T) {
	var nodes []metav1.PartialObjectMetadata
	byNode := map[string]nodeReport{}
	for i := range 40 {
		name := fmt.Sprintf("node-%02d", i)
		nodes = append(nodes, metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}})
		byNode[name] = nodeReport{failed: true, reason: "Conflict", message: "Conflict: spec.vni: VNI 110 is already used by L2VNI/weft-system/db"}
	}
	byNode["node-07"] = nodeReport{failed: true, reason: "KernelError", message: "KernelError: bridge br-hs-110: no such device"}
	idx := reports{plan.Ref{Kind: "L2VNI", Name: "web"}: byNode}
	conds := conditions("L2VNI", "web", 1, nil, nodes, idx)
	want := "applied on 0/40 nodes; failed on node-00, node-01, node-02 and 36 more: Conflict: spec.vni: VNI 110 is already used by L2VNI/weft-system/db; failed on node-07: KernelError: bridge br-hs-110: no such device"
	if got := conds[1].Message; got != want {
		t.Errorf("Applied message:\n got %q\nwant %q", got, want)
	}
}
