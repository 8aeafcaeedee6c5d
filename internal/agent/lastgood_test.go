package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

func lgMeta(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: "weft", Name: name} }

func lgResources() plan.Resources {
	return plan.Resources{
		Underlays: []v1alpha1.Underlay{{ObjectMeta: lgMeta("fabric"), Spec: v1alpha1.UnderlaySpec{
			ASN:            64514,
			Neighbors:      []v1alpha1.Neighbor{{Address: "192.168.11.1", Type: v1alpha1.PeerExternal, PasswordSecret: &v1alpha1.SecretKeyRef{Name: "tor"}}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}},
		}}},
		L3VNIs: []v1alpha1.L3VNI{{ObjectMeta: lgMeta("red"), Spec: v1alpha1.L3VNISpec{VRF: "red", VNI: 100}}},
		L2VNIs: []v1alpha1.L2VNI{
			{ObjectMeta: lgMeta("web"), Spec: v1alpha1.L2VNISpec{VNI: 110, RoutingDomain: &v1alpha1.RoutingDomain{L3VNI: "red"}, GatewayIPs: []string{"192.170.1.1/24"}}},
			{ObjectMeta: lgMeta("db"), Spec: v1alpha1.L2VNISpec{VNI: 120}},
		},
		Secrets: []corev1.Secret{{ObjectMeta: lgMeta("tor"), Data: map[string][]byte{"password": []byte("s3cret")}}},
	}
}

var lgNode = plan.Node{Name: "n1", Index: 1}

func hasVNI(p plan.NodePlan, vni uint32) bool {
	return slices.ContainsFunc(p.Kernel.L2VNIs, func(l plan.L2VNI) bool { return l.VNI == vni })
}

// pass builds and records as the agent's pass does.
func (g *lastGood) pass(t *testing.T, d Desired) planned {
	t.Helper()
	pl := g.build(d, lgNode)
	g.record(pl, pl.plan.Applied)
	return pl
}

func failedWith(pl planned, ref plan.Ref) (plan.ResourceError, bool) {
	for _, e := range pl.failed {
		if e.Ref() == ref {
			return e, true
		}
	}
	return plan.ResourceError{}, false
}

// TestKeepLastGood: an object that was applied and then fails keeps its last applied
// version in the plan (kernel and FRR state unchanged) and is reported as failed with the
// reason and a note; a fix applies the fix; only deletion removes.
func TestKeepLastGood(t *testing.T) {
	web := plan.Ref{Kind: "L2VNI", Namespace: "weft", Name: "web"}
	red := plan.Ref{Kind: "L3VNI", Namespace: "weft", Name: "red"}
	fabric := plan.Ref{Kind: "Underlay", Namespace: "weft", Name: "fabric"}
	steps := []struct {
		name   string
		mutate func(d *Desired)
		// vni110 says whether web's segment (VNI 110) is in the plan.
		vni110, vni130 bool
		kept           []plan.Ref
		failed         []plan.Ref
	}{
		{"applied", func(d *Desired) {}, true, false, nil, nil},
		{"invalid edit", func(d *Desired) { d.Resources.L2VNIs[0].Spec.MTU = ptrTo(int32(100)) }, true, false, []plan.Ref{web}, []plan.Ref{web}},
		{"conflicting edit", func(d *Desired) { d.Resources.L2VNIs[0].Spec.VNI = 120 }, true, false, []plan.Ref{web}, []plan.Ref{web}},
		{"no longer decodes", func(d *Desired) {
			d.Resources.L2VNIs = d.Resources.L2VNIs[1:]
			d.Invalid = []plan.ResourceError{{Kind: "L2VNI", Namespace: "weft", Name: "web", Source: "web.yaml: document 1", Reason: plan.ReasonInvalid, Message: "cannot decode"}}
		}, true, false, []plan.Ref{web}, []plan.Ref{web}},
		{"its L3VNI fails", func(d *Desired) { d.Resources.L3VNIs[0].Spec.VRF = "default" }, true, false, []plan.Ref{red}, []plan.Ref{red}},
		{"the Underlay's Secret is gone", func(d *Desired) { d.Resources.Secrets = nil }, true, false, []plan.Ref{fabric}, []plan.Ref{fabric}},
		{"fixed by a valid edit", func(d *Desired) { d.Resources.L2VNIs[0].Spec.VNI = 130 }, false, true, nil, nil},
		{"bad again: the fixed version is kept", func(d *Desired) { d.Resources.L2VNIs[0].Spec.VNI = 0 }, false, true, []plan.Ref{web}, []plan.Ref{web}},
		{"deleted", func(d *Desired) { d.Resources.L2VNIs = d.Resources.L2VNIs[1:] }, false, false, nil, nil},
		{"recreated invalid: nothing to keep", func(d *Desired) { d.Resources.L2VNIs[0].Spec.VNI = 0 }, false, false, nil, []plan.Ref{web}},
	}
	var g lastGood
	for _, s := range steps {
		d := Desired{Resources: lgResources()}
		s.mutate(&d)
		pl := g.pass(t, d)
		if got := hasVNI(pl.plan, 110); got != s.vni110 {
			t.Errorf("%s: VNI 110 in the plan = %t, want %t", s.name, got, s.vni110)
		}
		if got := hasVNI(pl.plan, 130); got != s.vni130 {
			t.Errorf("%s: VNI 130 in the plan = %t, want %t", s.name, got, s.vni130)
		}
		if !slices.Equal(pl.kept, s.kept) {
			t.Errorf("%s: kept %v, want %v", s.name, pl.kept, s.kept)
		}
		for _, ref := range s.failed {
			e, ok := failedWith(pl, ref)
			if !ok {
				t.Errorf("%s: %s not reported as failed: %v", s.name, ref, pl.failed)
				continue
			}
			if slices.Contains(s.kept, ref) != strings.HasSuffix(e.Message, KeptNote) {
				t.Errorf("%s: %s message %q: kept note wrong", s.name, ref, e.Message)
			}
		}
		if len(pl.failed) != len(s.failed) {
			t.Errorf("%s: failed %v, want only %v", s.name, pl.failed, s.failed)
		}
		// The other L2VNI (db, VNI 120) is never touched, except by the conflicting edit,
		// which it wins because web's kept version keeps 110.
		if !hasVNI(pl.plan, 120) {
			t.Errorf("%s: VNI 120 (db) left the plan", s.name)
		}
	}
}

func ptrTo[T any](v T) *T { return &v }

// TestKeepLastGoodAcrossRestarts: the last applied versions survive an agent restart, in a
// file only root can read (it holds the passwords).
func TestKeepLastGoodAcrossRestarts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "last-applied.json")
	var g lastGood
	var saved []byte
	g.pass(t, Desired{Resources: lgResources()})
	if err := g.save(path, &saved); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	var restarted lastGood
	if err := restarted.load(path); err != nil {
		t.Fatal(err)
	}
	d := Desired{Resources: lgResources()}
	d.Resources.L2VNIs[0].Spec.VNI = 0
	d.Resources.Secrets = nil
	pl := restarted.build(d, lgNode)
	if !hasVNI(pl.plan, 110) || !pl.plan.HasUnderlay {
		t.Errorf("after a restart, the failing web and fabric lost their last applied state: %v", pl.failed)
	}
	if len(pl.kept) != 2 {
		t.Errorf("kept %v, want fabric and web", pl.kept)
	}
	var none lastGood
	if err := none.load(filepath.Join(t.TempDir(), "missing.json")); err != nil {
		t.Errorf("a missing file is an empty state, got %v", err)
	}
}
