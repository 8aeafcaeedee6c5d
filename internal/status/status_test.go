package status

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/testenv"
)

var cp testenv.ControlPlane

func TestMain(m *testing.M) { testenv.Main(m, &cp, testenv.Options{}) }

const ns = testenv.Namespace

func startAggregator(t *testing.T) {
	t.Helper()
	mgr := testenv.NewManager(t, cp.Config(t), ctrl.Options{})
	a := &Aggregator{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Namespace: ns, Log: slog.New(slog.DiscardHandler)}
	if err := a.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	testenv.StartManager(t, mgr)
}

// report writes a node's RouterNodeStatus the way an agent does: create, then status.
func report(t *testing.T, c client.Client, node string, st v1alpha1.RouterNodeStatusStatus) {
	t.Helper()
	ctx := context.Background()
	r := &v1alpha1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node, Namespace: ns}}
	if err := c.Get(ctx, client.ObjectKeyFromObject(r), r); apierrors.IsNotFound(err) {
		if err := c.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	r.Status = st
	if err := c.Status().Update(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// condition waits until the L2VNI's condition has the wanted status and message.
func condition(t *testing.T, c client.Client, name, typ string, status metav1.ConditionStatus, msg string) {
	t.Helper()
	testenv.Eventually(t, 30*time.Second, fmt.Sprintf("L2VNI/%s %s", name, typ), func(ctx context.Context) (bool, error) {
		x := &v1alpha1.L2VNI{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, x); err != nil {
			return false, err
		}
		got := meta.FindStatusCondition(x.Status.Conditions, typ)
		if got == nil || got.Status != status || got.Message != msg || got.ObservedGeneration != x.Generation {
			return false, fmt.Errorf("condition %+v; want %s %q at generation %d", got, status, msg, x.Generation)
		}
		return true, nil
	})
}

// TestAggregation follows one L2VNI over four nodes: pending, partly applied and failing,
// applied everywhere after a node is removed, and the removed node's report collected.
func TestAggregation(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	startAggregator(t)

	for _, n := range []string{"node-a", "node-b", "node-c", "node-d"} {
		if err := c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"weft": "yes"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-x"}}); err != nil {
		t.Fatal(err)
	}
	web := &v1alpha1.L2VNI{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: v1alpha1.L2VNISpec{
			VNI:          110,
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"weft": "yes"}},
		},
	}
	if err := c.Create(ctx, web); err != nil {
		t.Fatal(err)
	}
	condition(t, c, "web", v1alpha1.ConditionApplied, metav1.ConditionFalse, "applied on 0/4 nodes; pending on node-a, node-b, node-c and 1 more")
	condition(t, c, "web", v1alpha1.ConditionAccepted, metav1.ConditionTrue, "no node reports a problem with this resource")

	applied := v1alpha1.RouterNodeStatusStatus{
		AppliedResources: []v1alpha1.AppliedResource{{Kind: v1alpha1.KindL2VNI, Name: "web", Generation: web.Generation}},
		AppliedVNIs:      []int64{110},
	}
	report(t, c, "node-a", applied)
	report(t, c, "node-c", applied)
	report(t, c, "node-x", v1alpha1.RouterNodeStatusStatus{}) // not selected: does not count
	report(t, c, "node-b", v1alpha1.RouterNodeStatusStatus{FailedResources: []v1alpha1.FailedResource{{
		Kind: v1alpha1.KindL2VNI, Name: "web", Field: "spec.vni", Reason: "Conflict",
		Message: "VNI 110 is already used by L3VNI/red on node node-b",
	}}})
	condition(t, c, "web", v1alpha1.ConditionApplied, metav1.ConditionFalse,
		"applied on 2/4 nodes; failed on node-b: Conflict: spec.vni: VNI 110 is already used by L3VNI/red on node node-b; pending on node-d")
	condition(t, c, "web", v1alpha1.ConditionAccepted, metav1.ConditionFalse,
		"on node node-b: Conflict: spec.vni: VNI 110 is already used by L3VNI/red on node node-b")

	// node-d reports; node-b leaves the cluster and its report is collected.
	report(t, c, "node-d", applied)
	if err := c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b"}}); err != nil {
		t.Fatal(err)
	}
	condition(t, c, "web", v1alpha1.ConditionApplied, metav1.ConditionTrue, "applied on 3/3 nodes")
	condition(t, c, "web", v1alpha1.ConditionAccepted, metav1.ConditionTrue, "no node reports a problem with this resource")
	testenv.Eventually(t, 30*time.Second, "status of deleted node-b not collected", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "node-b"}, &v1alpha1.RouterNodeStatus{})
		return apierrors.IsNotFound(err), nil
	})

	// A spec change is pending until the nodes report the new generation.
	if err := c.Get(ctx, client.ObjectKeyFromObject(web), web); err != nil {
		t.Fatal(err)
	}
	web.Spec.MTU = ptr.To[int32](1450)
	if err := c.Update(ctx, web); err != nil {
		t.Fatal(err)
	}
	condition(t, c, "web", v1alpha1.ConditionApplied, metav1.ConditionFalse, "applied on 0/3 nodes; pending on node-a, node-c, node-d")

	// A selector that selects nothing says so.
	if err := c.Get(ctx, client.ObjectKeyFromObject(web), web); err != nil {
		t.Fatal(err)
	}
	web.Spec.NodeSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"weft": "nowhere"}}
	if err := c.Update(ctx, web); err != nil {
		t.Fatal(err)
	}
	condition(t, c, "web", v1alpha1.ConditionApplied, metav1.ConditionFalse, "the node selector selects no node")
}
