package webhook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// scaleCluster is 5000 Nodes with unique hostnames in 40 racks, one Underlay and n L2VNIs
// spread over the racks.
func scaleCluster(n int) (plan.Resources, []plan.Node) {
	res := plan.Resources{Underlays: []v1alpha1.Underlay{{
		ObjectMeta: metav1.ObjectMeta{Name: "fabric", CreationTimestamp: metav1.NewTime(time.Unix(1000, 0))},
		Spec: v1alpha1.UnderlaySpec{
			ASN:            64514,
			Neighbors:      []v1alpha1.Neighbor{{Address: "192.168.11.1", ASN: ptr.To[int64](64512)}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.64.0.0/16"}},
		},
	}}}
	for i := range n {
		res.L2VNIs = append(res.L2VNIs, v1alpha1.L2VNI{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("seg-%04d", i), CreationTimestamp: metav1.NewTime(time.Unix(2000+int64(i), 0))},
			Spec: v1alpha1.L2VNISpec{VNI: int64(10000 + i),
				NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"rack": fmt.Sprintf("r%d", i%40)}}},
		})
	}
	var nodes []plan.Node
	for i := range 5000 {
		nodes = append(nodes, plan.Node{Name: fmt.Sprintf("node-%04d", i), Index: i,
			Labels: map[string]string{"kubernetes.io/hostname": fmt.Sprintf("node-%04d", i), "rack": fmt.Sprintf("r%d", i%40)}})
	}
	return res, nodes
}

func TestCheckGroupsNodes(t *testing.T) {
	res, nodes := scaleCluster(1000)
	// Every rack is one group: the hostname label is not looked at by any selector.
	if got := len(representatives(res, nodes)); got != 40 {
		t.Errorf("%d node groups; want 40 (one per rack)", got)
	}
	dup := &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "dup"}, Spec: v1alpha1.L2VNISpec{VNI: 10007}}
	err := Check(res, nodes, dup)
	if err == nil || !strings.Contains(err.Error(), "L2VNI/dup: spec.vni: VNI 10007 is already used by L2VNI/seg-0007 on node \"node-") {
		t.Errorf("Check = %v; want a spec.vni conflict", err)
	}
	// The largest index decides whether addresses fit: a /22 holds indexes up to 1021.
	small := res
	small.Underlays = []v1alpha1.Underlay{*res.Underlays[0].DeepCopy()}
	small.Underlays[0].Spec.TunnelEndpoint.CIDRs = []string{"100.64.0.0/22"}
	ok := &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}, Spec: v1alpha1.L2VNISpec{VNI: 99}}
	if err := Check(small, nodes, small.Underlays[0].DeepCopy()); err == nil || !strings.Contains(err.Error(), "spec.tunnelEndpoint.cidrs[0]") {
		t.Errorf("Check of an Underlay too small for 5000 nodes = %v; want a tunnelEndpoint error", err)
	}
	if err := Check(res, nodes, ok); err != nil {
		t.Errorf("Check of a fresh VNI = %v", err)
	}
}

// BenchmarkCheck is one admission on a cluster of 5000 Nodes and 1000 L2VNIs.
func BenchmarkCheck(b *testing.B) {
	res, nodes := scaleCluster(1000)
	obj := &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "fresh"}, Spec: v1alpha1.L2VNISpec{VNI: 99}}
	for b.Loop() {
		if err := Check(res, nodes, obj); err != nil {
			b.Fatal(err)
		}
	}
}
