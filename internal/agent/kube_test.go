package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/testenv"
)

var cp testenv.ControlPlane

func TestMain(m *testing.M) { testenv.Main(m, &cp, testenv.Options{}) }

const ns = testenv.Namespace

// startAgent runs a Kubernetes-mode agent for node with the real plan and fake FRR/kernel.
func startAgent(t *testing.T, node string, logs *syncLog) (*KubeSource, *fakeFRR) {
	t.Helper()
	cfg := cp.Config(t)
	src, err := NewKubeSource(cfg, testenv.Scheme(), node, ns, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := src.Start(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	log := slog.New(RedactHandler{Handler: slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}), Source: src})
	f := &fakeFRR{}
	w := &StatusWriter{Client: cp.Client(t), Namespace: ns, NodeName: node, Source: src, Log: log, Refresh: time.Nanosecond}
	a := &Agent{Node: plan.Node{Name: node}, Source: src, FRR: f, Kernel: fakeKernel{}, Log: log, AfterReconcile: w.Write}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, src.Triggers(), time.Minute) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
	})
	return src, f
}

// nodeStatus waits until the node's RouterNodeStatus satisfies ok.
func nodeStatus(t *testing.T, c client.Client, node, what string, ok func(*v1alpha1.RouterNodeStatus) error) *v1alpha1.RouterNodeStatus {
	t.Helper()
	got := &v1alpha1.RouterNodeStatus{}
	testenv.Eventually(t, 30*time.Second, what, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: node}, got); err != nil {
			return false, err
		}
		if err := ok(got); err != nil {
			return false, err
		}
		return true, nil
	})
	return got
}

func cond(st *v1alpha1.RouterNodeStatus, typ string, want metav1.ConditionStatus) error {
	c := meta.FindStatusCondition(st.Status.Conditions, typ)
	if c == nil || c.Status != want {
		return fmt.Errorf("%s is %+v; want %s", typ, c, want)
	}
	return nil
}

func create(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %s: %v", o.GetName(), err)
		}
	}
}

// TestKubernetesMode runs the agent's Kubernetes source and status writer against the real
// API server with the real plan: node facts from the Node, resources filtered by selector,
// the password from a Secret (and never in status or logs), status updates on every change.
// Long: one scenario against one API server, each step building on the last.
func TestKubernetesMode(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	const password = "s3cret-Pass-77"

	create(t, c,
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a", Labels: map[string]string{"rack": "r1"}, Annotations: map[string]string{v1alpha1.NodeIndexAnnotation: "3"}}},
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-b", Labels: map[string]string{"rack": "r2"}, Annotations: map[string]string{v1alpha1.NodeIndexAnnotation: "4"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tor-password", Namespace: ns}, StringData: map[string]string{"password": password}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: ns}, StringData: map[string]string{"password": "not-for-this-node"}},
		&v1alpha1.Underlay{ObjectMeta: metav1.ObjectMeta{Name: "fabric", Namespace: ns}, Spec: v1alpha1.UnderlaySpec{
			ASN: 64514,
			Neighbors: []v1alpha1.Neighbor{{Address: "192.168.11.1", ASN: ptr.To[int64](64512),
				PasswordSecret: &v1alpha1.SecretKeyRef{Name: "tor-password"}}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}},
		}},
		&v1alpha1.L3VNI{ObjectMeta: metav1.ObjectMeta{Name: "red", Namespace: ns}, Spec: v1alpha1.L3VNISpec{VRF: "red", VNI: 100}},
		&v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: v1alpha1.L2VNISpec{VNI: 110,
			RoutingDomain: &v1alpha1.RoutingDomain{L3VNI: "red"}, GatewayIPs: []string{"192.170.1.1/24"}}},
		&v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "rack2-only", Namespace: ns}, Spec: v1alpha1.L2VNISpec{VNI: 120,
			NodeSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"rack": "r2"}}}},
	)
	// Created directly (no webhook here): the plan rejects it on this node (it sorts after web
	// when both were created in the same second).
	create(t, c, &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "web-dup", Namespace: ns}, Spec: v1alpha1.L2VNISpec{VNI: 110}})

	var logs syncLog
	src, f := startAgent(t, "node-a", &logs)

	st := nodeStatus(t, c, "node-a", "first status", func(st *v1alpha1.RouterNodeStatus) error {
		if err := cond(st, v1alpha1.ConditionDegraded, metav1.ConditionTrue); err != nil {
			return err
		}
		return cond(st, v1alpha1.ConditionReady, metav1.ConditionFalse)
	})
	if got := st.Status.FailedResources; len(got) != 1 || got[0].Name != "web-dup" || got[0].Reason != plan.ReasonConflict || got[0].Field != "spec.vni" {
		t.Errorf("failed resources %+v; want web-dup with a Conflict on spec.vni", got)
	}
	var applied []string
	for _, a := range st.Status.AppliedResources {
		applied = append(applied, fmt.Sprintf("%s/%s@%d", a.Kind, a.Name, a.Generation))
	}
	if want := []string{"Underlay/fabric@1", "L3VNI/red@1", "L2VNI/web@1"}; !slices.Equal(applied, want) {
		t.Errorf("applied %v; want %v (rack2-only selects another node)", applied, want)
	}
	if !slices.Equal(st.Status.AppliedVNIs, []int64{100, 110}) {
		t.Errorf("applied VNIs %v; want [100 110]", st.Status.AppliedVNIs)
	}
	if len(st.Status.Sessions) != 1 || st.Status.Sessions[0].State != "Established" {
		t.Errorf("sessions %+v", st.Status.Sessions)
	}
	// The node index from the annotation reaches the plan: VTEP = network + 1 + index.
	if conf := f.config(); !strings.Contains(conf, "100.65.0.4/32") || !strings.Contains(conf, "password "+password) {
		t.Errorf("frr.conf lacks the VTEP of index 3 or the Secret's password:\n%s", conf)
	}

	// The conflict goes away with the object; the node becomes Ready.
	if err := c.Delete(ctx, &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "web-dup", Namespace: ns}}); err != nil {
		t.Fatal(err)
	}
	nodeStatus(t, c, "node-a", "ready after the conflict is gone", func(st *v1alpha1.RouterNodeStatus) error {
		if len(st.Status.FailedResources) > 0 {
			return fmt.Errorf("still failing: %+v", st.Status.FailedResources)
		}
		return cond(st, v1alpha1.ConditionReady, metav1.ConditionTrue)
	})

	// Relabelling the node moves it under rack2-only's selector.
	node := &corev1.Node{}
	if err := c.Get(ctx, client.ObjectKey{Name: "node-a"}, node); err != nil {
		t.Fatal(err)
	}
	node.Labels["rack"] = "r2"
	if err := c.Update(ctx, node); err != nil {
		t.Fatal(err)
	}
	nodeStatus(t, c, "node-a", "rack2-only applied after relabelling", func(st *v1alpha1.RouterNodeStatus) error {
		if !slices.Equal(st.Status.AppliedVNIs, []int64{100, 110, 120}) {
			return fmt.Errorf("applied VNIs %v", st.Status.AppliedVNIs)
		}
		return nil
	})

	// A password rotation in the Secret reaches FRR without any other change.
	const rotated = "r0tated-Pass-88"
	sec := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tor-password"}, sec); err != nil {
		t.Fatal(err)
	}
	sec.Data["password"] = []byte(rotated)
	if err := c.Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "rotated password not applied", func(context.Context) (bool, error) {
		return strings.Contains(f.config(), "password "+rotated), nil
	})

	// A deleted Secret fails the Underlay, and so everything on the node, with a message that
	// names the Secret but not the password.
	if err := c.Delete(ctx, sec); err != nil {
		t.Fatal(err)
	}
	st = nodeStatus(t, c, "node-a", "underlay fails without its Secret", func(st *v1alpha1.RouterNodeStatus) error {
		for _, f := range st.Status.FailedResources {
			if f.Kind == v1alpha1.KindUnderlay && f.Reason == plan.ReasonNotFound {
				return nil
			}
		}
		return fmt.Errorf("failed resources %+v", st.Status.FailedResources)
	})

	// A deleted RouterNodeStatus comes back with the next pass (here: a label change).
	if err := c.Delete(ctx, st); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "node-a"}, node); err != nil {
		t.Fatal(err)
	}
	node.Labels["touched"] = "yes"
	if err := c.Update(ctx, node); err != nil {
		t.Fatal(err)
	}
	st = nodeStatus(t, c, "node-a", "status rewritten after deletion", func(st *v1alpha1.RouterNodeStatus) error {
		return cond(st, v1alpha1.ConditionDegraded, metav1.ConditionTrue)
	})

	// Passwords never reach status or logs.
	raw, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{password, rotated, "not-for-this-node"} {
		if strings.Contains(string(raw), p) {
			t.Errorf("status contains a password: %s", raw)
		}
		if strings.Contains(logs.String(), p) {
			t.Errorf("logs contain a password:\n%s", logs.String())
		}
	}

	// The cache holds this node only, and only the referenced Secret was ever watched.
	var nodes corev1.NodeList
	if err := src.cache.List(ctx, &nodes); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 1 || nodes.Items[0].Name != "node-a" {
		t.Errorf("agent cache holds %d nodes; want node-a only", len(nodes.Items))
	}
	src.mu.Lock()
	watched := len(src.secrets)
	_, unrelated := src.secrets["unrelated"]
	src.mu.Unlock()
	if watched != 1 || unrelated {
		t.Errorf("agent watches %d secrets (unrelated: %v); want tor-password only", watched, unrelated)
	}
}
