package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// KeptNote ends the message of a resource that fails while its last applied version stays
// in force.
const KeptNote = "; the last applied version stays in force until this is fixed or the object is deleted"

// lastGood remembers the version of every resource that was last applied on the node, so
// that an object that was applied and then fails (an invalid edit, a conflict, a missing
// Secret, a dependency failing, a document that no longer decodes) keeps its kernel and FRR
// state until it is fixed or deleted: the frr-k8s rule, applied to the kernel too. Only
// deletion removes. The zero value is ready to use; the agent's pass loop is its only user.
type lastGood struct {
	underlays map[plan.Ref]v1alpha1.Underlay
	l3vnis    map[plan.Ref]v1alpha1.L3VNI
	l2vnis    map[plan.Ref]v1alpha1.L2VNI
	pts       map[plan.Ref]v1alpha1.L3Passthrough
	// secrets are the Secrets the last applied Underlay read its passwords from.
	secrets map[plan.Ref]corev1.Secret
}

// planned is a plan built with last good versions standing in for failing objects.
type planned struct {
	plan plan.NodePlan
	// resources are what the plan was built from: the desired objects, with kept versions
	// in place of the failing ones.
	resources plan.Resources
	// failed are the errors of the objects as the user wrote them; a kept object's message
	// ends with KeptNote.
	failed []plan.ResourceError
	// kept lists the objects whose last applied version stands in.
	kept []plan.Ref
}

// maxKeepRounds bounds the rebuilds: a kept object can make a dependent whole again (an
// L2VNI whose L3VNI is kept), which can need one more round.
const maxKeepRounds = 4

// build plans the desired state; a failing object that was applied before is planned with
// its last applied version instead, and the errors say so. Objects that fail only because
// another failed (DependencyFailed) are not replaced: once their dependency's kept version
// is in the plan, they apply as written.
func (g *lastGood) build(desired Desired, node plan.Node) planned {
	res := desired.Resources
	p, errs := plan.Build(res, node)
	// why holds the user's error of each kept object: the reason it is not applied as written.
	why := map[plan.Ref]plan.ResourceError{}
	var order []plan.Ref
	for range maxKeepRounds {
		var sub []plan.Ref
		for _, e := range append(slices.Clone(desired.Invalid), errs...) {
			ref := e.Ref()
			if _, done := why[ref]; done || e.Reason == plan.ReasonDependencyFailed || !g.has(ref) {
				continue
			}
			why[ref] = e
			order = append(order, ref)
			sub = append(sub, ref)
		}
		if len(sub) == 0 {
			break
		}
		res = g.substitute(res, sub)
		p, errs = plan.Build(res, node)
	}
	out := planned{plan: p, resources: res}
	for _, ref := range order {
		if slices.Contains(p.Applied, ref) {
			out.kept = append(out.kept, ref)
			e := why[ref]
			e.Message += KeptNote
			out.failed = append(out.failed, e)
		}
	}
	// The rest: documents that could not be read and were not kept, and the errors of the
	// final plan (a kept version that does not fit any more fails there, as it is).
	for _, e := range append(slices.Clone(desired.Invalid), errs...) {
		if !slices.Contains(out.kept, e.Ref()) {
			out.failed = append(out.failed, e)
		}
	}
	return out
}

func (g *lastGood) has(ref plan.Ref) bool {
	var ok bool
	switch ref.Kind {
	case v1alpha1.KindUnderlay:
		_, ok = g.underlays[ref]
	case v1alpha1.KindL3VNI:
		_, ok = g.l3vnis[ref]
	case v1alpha1.KindL2VNI:
		_, ok = g.l2vnis[ref]
	case v1alpha1.KindL3Passthrough:
		_, ok = g.pts[ref]
	}
	return ok
}

// substitute returns res with the kept version of each ref in place of the desired one (or
// added, when the desired one could not even be decoded).
func (g *lastGood) substitute(res plan.Resources, refs []plan.Ref) plan.Resources {
	out := res
	for _, ref := range refs {
		switch ref.Kind {
		case v1alpha1.KindUnderlay:
			out.Underlays = replace(out.Underlays, g.underlays[ref], v1alpha1.KindUnderlay)
			for _, s := range g.secretsOf(g.underlays[ref]) {
				out.Secrets = replaceSecret(out.Secrets, s)
			}
		case v1alpha1.KindL3VNI:
			out.L3VNIs = replace(out.L3VNIs, g.l3vnis[ref], v1alpha1.KindL3VNI)
		case v1alpha1.KindL2VNI:
			out.L2VNIs = replace(out.L2VNIs, g.l2vnis[ref], v1alpha1.KindL2VNI)
		case v1alpha1.KindL3Passthrough:
			out.L3Passthroughs = replace(out.L3Passthroughs, g.pts[ref], v1alpha1.KindL3Passthrough)
		}
	}
	return out
}

// object is one of the four kinds.
type object interface {
	v1alpha1.Underlay | v1alpha1.L3VNI | v1alpha1.L2VNI | v1alpha1.L3Passthrough
}

func refOf[T object](kind string, x *T) plan.Ref {
	m := metaOf(x)
	return plan.Ref{Kind: kind, Namespace: m.Namespace, Name: m.Name}
}

// replace returns xs (a copy) with x in place of the object of the same identity, or added.
func replace[T object](xs []T, x T, kind string) []T {
	want := refOf(kind, &x)
	out := slices.DeleteFunc(slices.Clone(xs), func(y T) bool { return refOf(kind, &y) == want })
	return append(out, x)
}

func replaceSecret(xs []corev1.Secret, s corev1.Secret) []corev1.Secret {
	out := slices.DeleteFunc(slices.Clone(xs), func(y corev1.Secret) bool {
		return y.Namespace == s.Namespace && y.Name == s.Name
	})
	return append(out, s)
}

func (g *lastGood) secretsOf(u v1alpha1.Underlay) []corev1.Secret {
	var out []corev1.Secret
	for _, n := range u.Spec.Neighbors {
		if n.PasswordSecret == nil {
			continue
		}
		if s, ok := g.secrets[plan.Ref{Kind: "Secret", Namespace: u.Namespace, Name: n.PasswordSecret.Name}]; ok {
			out = append(out, s)
		}
	}
	return out
}

// record remembers the applied versions of what pl applied; a kept object keeps its old
// version, and objects no longer desired at all are forgotten (deletion removes).
func (g *lastGood) record(pl planned, applied []plan.Ref) {
	in := map[plan.Ref]bool{}
	for _, r := range applied {
		if !slices.Contains(pl.kept, r) {
			in[r] = true
		}
	}
	keep := func(r plan.Ref) bool { return slices.Contains(pl.kept, r) }
	next := lastGood{
		underlays: map[plan.Ref]v1alpha1.Underlay{}, l3vnis: map[plan.Ref]v1alpha1.L3VNI{},
		l2vnis: map[plan.Ref]v1alpha1.L2VNI{}, pts: map[plan.Ref]v1alpha1.L3Passthrough{},
		secrets: map[plan.Ref]corev1.Secret{},
	}
	res := pl.resources
	for i := range res.Underlays {
		if r := refOf(v1alpha1.KindUnderlay, &res.Underlays[i]); in[r] || keep(r) {
			next.underlays[r] = *res.Underlays[i].DeepCopy()
		}
	}
	for i := range res.L3VNIs {
		if r := refOf(v1alpha1.KindL3VNI, &res.L3VNIs[i]); in[r] || keep(r) {
			next.l3vnis[r] = *res.L3VNIs[i].DeepCopy()
		}
	}
	for i := range res.L2VNIs {
		if r := refOf(v1alpha1.KindL2VNI, &res.L2VNIs[i]); in[r] || keep(r) {
			next.l2vnis[r] = *res.L2VNIs[i].DeepCopy()
		}
	}
	for i := range res.L3Passthroughs {
		if r := refOf(v1alpha1.KindL3Passthrough, &res.L3Passthroughs[i]); in[r] || keep(r) {
			next.pts[r] = *res.L3Passthroughs[i].DeepCopy()
		}
	}
	for _, u := range next.underlays {
		for _, n := range u.Spec.Neighbors {
			if n.PasswordSecret == nil {
				continue
			}
			for _, s := range res.Secrets {
				if s.Namespace == u.Namespace && s.Name == n.PasswordSecret.Name {
					next.secrets[plan.Ref{Kind: "Secret", Namespace: s.Namespace, Name: s.Name}] = *s.DeepCopy()
				}
			}
		}
	}
	*g = next
}

func metaOf[T object](x *T) *metav1.ObjectMeta {
	switch o := any(x).(type) {
	case *v1alpha1.Underlay:
		return &o.ObjectMeta
	case *v1alpha1.L3VNI:
		return &o.ObjectMeta
	case *v1alpha1.L2VNI:
		return &o.ObjectMeta
	case *v1alpha1.L3Passthrough:
		return &o.ObjectMeta
	}
	panic("unreachable")
}

// lastGoodFile is lastGood on disk: an agent that restarts (an upgrade, a crash) must not
// take down what a failing object's last applied version still holds. It holds Secrets, so
// it is written 0600, like frr.conf, which holds the same passwords.
type lastGoodFile struct {
	Underlays      []v1alpha1.Underlay      `json:"underlays,omitempty"`
	L3VNIs         []v1alpha1.L3VNI         `json:"l3vnis,omitempty"`
	L2VNIs         []v1alpha1.L2VNI         `json:"l2vnis,omitempty"`
	L3Passthroughs []v1alpha1.L3Passthrough `json:"l3passthroughs,omitempty"`
	Secrets        []corev1.Secret          `json:"secrets,omitempty"`
}

func sortedValues[T any](m map[plan.Ref]T) []T {
	keys := make([]plan.Ref, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b plan.Ref) int { return strings.Compare(a.String(), b.String()) })
	out := make([]T, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

// marshal is the file's content (deterministic: sorted by identity).
func (g *lastGood) marshal() ([]byte, error) {
	return json.Marshal(lastGoodFile{
		Underlays: sortedValues(g.underlays), L3VNIs: sortedValues(g.l3vnis), L2VNIs: sortedValues(g.l2vnis),
		L3Passthroughs: sortedValues(g.pts), Secrets: sortedValues(g.secrets),
	})
}

// load reads the file written by save; a missing file is an empty state.
func (g *lastGood) load(path string) error {
	var f lastGoodFile
	if found, err := readStateFile(path, "last applied state", &f); err != nil || !found {
		return err
	}
	*g = lastGood{
		underlays: map[plan.Ref]v1alpha1.Underlay{}, l3vnis: map[plan.Ref]v1alpha1.L3VNI{},
		l2vnis: map[plan.Ref]v1alpha1.L2VNI{}, pts: map[plan.Ref]v1alpha1.L3Passthrough{},
		secrets: map[plan.Ref]corev1.Secret{},
	}
	for i := range f.Underlays {
		g.underlays[refOf(v1alpha1.KindUnderlay, &f.Underlays[i])] = f.Underlays[i]
	}
	for i := range f.L3VNIs {
		g.l3vnis[refOf(v1alpha1.KindL3VNI, &f.L3VNIs[i])] = f.L3VNIs[i]
	}
	for i := range f.L2VNIs {
		g.l2vnis[refOf(v1alpha1.KindL2VNI, &f.L2VNIs[i])] = f.L2VNIs[i]
	}
	for i := range f.L3Passthroughs {
		g.pts[refOf(v1alpha1.KindL3Passthrough, &f.L3Passthroughs[i])] = f.L3Passthroughs[i]
	}
	for _, s := range f.Secrets {
		g.secrets[plan.Ref{Kind: "Secret", Namespace: s.Namespace, Name: s.Name}] = s
	}
	return nil
}

// save writes the state when it differs from what was last written (most passes change
// nothing); the file is replaced atomically.
func (g *lastGood) save(path string, last *[]byte) error {
	data, err := g.marshal()
	if err != nil {
		return fmt.Errorf("last applied state: %w", err)
	}
	if bytes.Equal(data, *last) {
		return nil
	}
	if err := writeStateFile(path, data, 0o600); err != nil {
		return fmt.Errorf("last applied state: %w", err)
	}
	*last = data
	return nil
}
