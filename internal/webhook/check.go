// Package webhook is weft's validating admission: a new or changed Underlay, L2VNI, L3VNI or
// L3Passthrough is planned, with the objects already in the cluster, on every node it would
// land on, by the same plan.Build the agents run. The object is rejected when the plan rejects
// it on any node; errors of other objects do not count (the agents report those).
package webhook

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// placeholderPassword stands in for every Secret an Underlay refers to. The controller does
// not read Secrets (only agents need the passwords), and a Secret may be created after the
// Underlay; the agents report a missing or unusable password in status.
const placeholderPassword = "weft-placeholder-0"

// Check plans obj (a pointer to one of the four kinds) together with the existing resources
// on every node it selects and returns obj's first error, as "<Kind>/<name>: <field>:
// <message>". res may hold an older version of obj; it is replaced.
//
// obj is planned as the newest object, whatever its creation time: the plan gives contested
// claims (VNI, VRF, a node's Underlay) to the oldest object, so an update that takes a
// claim from a working object is rejected like a create would be, and never takes the
// working object down.
//
// Errors with reason DependencyFailed do not count: they blame another object (an Underlay
// the node lacks, an L3VNI that failed), which may be fixed or created later.
func Check(res plan.Resources, nodes []plan.Node, obj any) error {
	kind, meta, sel, err := describe(obj)
	if err != nil {
		return err
	}
	res = withObject(res, obj, newest(res))
	res.Secrets = placeholderSecrets(res.Underlays)

	selected, err := selectedNodes(nodes, sel)
	if err != nil {
		return plan.ResourceError{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, Field: "spec.nodeSelector", Reason: plan.ReasonInvalid, Message: err.Error()}
	}
	if len(selected) == 0 {
		return checkAlone(kind, meta.Name, obj)
	}
	for _, n := range representatives(res, selected) {
		_, errs := plan.Build(res, n)
		for _, e := range errs {
			if e.Kind == kind && e.Namespace == meta.Namespace && e.Name == meta.Name && e.Reason != plan.ReasonDependencyFailed {
				return e
			}
		}
	}
	return nil
}

// checkAlone checks the object's own fields when it selects no node yet: on a stand-in node,
// with a stand-in Underlay when it needs one. Only errors of its own fields count there
// (conflicts and references depend on the nodes it will select).
func checkAlone(kind, name string, obj any) error {
	var res plan.Resources
	standIn := v1alpha1.Underlay{
		ObjectMeta: metav1.ObjectMeta{Name: "weft-stand-in"},
		Spec: v1alpha1.UnderlaySpec{
			ASN:            64512,
			Neighbors:      []v1alpha1.Neighbor{{Address: "192.0.2.1", Type: v1alpha1.PeerExternal}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"198.18.0.0/15"}},
		},
	}
	switch o := obj.(type) {
	case *v1alpha1.Underlay:
		x := *o.DeepCopy()
		x.Spec.NodeSelector = nil
		res.Underlays = append(res.Underlays, x)
	case *v1alpha1.L3VNI:
		x := *o.DeepCopy()
		x.Spec.NodeSelector = nil
		res.L3VNIs = append(res.L3VNIs, x)
		res.Underlays = append(res.Underlays, standIn)
	case *v1alpha1.L2VNI:
		x := *o.DeepCopy()
		x.Spec.NodeSelector = nil
		res.L2VNIs = append(res.L2VNIs, x)
		res.Underlays = append(res.Underlays, standIn)
	case *v1alpha1.L3Passthrough:
		x := *o.DeepCopy()
		x.Spec.NodeSelector = nil
		if x.Spec.HostSession.ASN != nil {
			standIn.Spec.ASN = *x.Spec.HostSession.ASN
		}
		res.L3Passthroughs = append(res.L3Passthroughs, x)
		res.Underlays = append(res.Underlays, standIn)
	}
	res.Secrets = placeholderSecrets(res.Underlays)
	_, errs := plan.Build(res, plan.Node{Name: "any-node"})
	for _, e := range errs {
		if e.Kind == kind && e.Name == name && (e.Reason == plan.ReasonInvalid || e.Reason == plan.ReasonUnsupported) {
			return e
		}
	}
	return nil
}

func describe(obj any) (kind string, meta *metav1.ObjectMeta, sel *metav1.LabelSelector, err error) {
	switch o := obj.(type) {
	case *v1alpha1.Underlay:
		return v1alpha1.KindUnderlay, &o.ObjectMeta, o.Spec.NodeSelector, nil
	case *v1alpha1.L3VNI:
		return v1alpha1.KindL3VNI, &o.ObjectMeta, o.Spec.NodeSelector, nil
	case *v1alpha1.L2VNI:
		return v1alpha1.KindL2VNI, &o.ObjectMeta, o.Spec.NodeSelector, nil
	case *v1alpha1.L3Passthrough:
		return v1alpha1.KindL3Passthrough, &o.ObjectMeta, o.Spec.NodeSelector, nil
	}
	return "", nil, nil, fmt.Errorf("unexpected object %T", obj)
}

// newest is a creation time after every object's, so the checked object loses every contest.
func newest(res plan.Resources) metav1.Time {
	t := time.Time{}
	later := func(m metav1.ObjectMeta) {
		if m.CreationTimestamp.After(t) {
			t = m.CreationTimestamp.Time
		}
	}
	for _, x := range res.Underlays {
		later(x.ObjectMeta)
	}
	for _, x := range res.L3VNIs {
		later(x.ObjectMeta)
	}
	for _, x := range res.L2VNIs {
		later(x.ObjectMeta)
	}
	for _, x := range res.L3Passthroughs {
		later(x.ObjectMeta)
	}
	return metav1.NewTime(t.Add(time.Hour))
}

// withObject returns res with obj added, replacing an object of the same kind and name.
func withObject(res plan.Resources, obj any, created metav1.Time) plan.Resources {
	out := res
	switch o := obj.(type) {
	case *v1alpha1.Underlay:
		out.Underlays = put(res.Underlays, o, created)
	case *v1alpha1.L3VNI:
		out.L3VNIs = put(res.L3VNIs, o, created)
	case *v1alpha1.L2VNI:
		out.L2VNIs = put(res.L2VNIs, o, created)
	case *v1alpha1.L3Passthrough:
		out.L3Passthroughs = put(res.L3Passthroughs, o, created)
	}
	return out
}

// put returns a copy of list in which a copy of o, created at created, replaces the object
// of the same namespace and name (or is added).
func put[T any, P interface {
	*T
	client.Object
}](list []T, o P, created metav1.Time) []T {
	x := *o.DeepCopyObject().(P)
	P(&x).SetCreationTimestamp(created)
	out := slices.DeleteFunc(slices.Clone(list), func(y T) bool {
		return P(&y).GetNamespace() == o.GetNamespace() && P(&y).GetName() == o.GetName()
	})
	return append(out, x)
}

func placeholderSecrets(underlays []v1alpha1.Underlay) []corev1.Secret {
	byName := map[[2]string]*corev1.Secret{}
	for _, u := range underlays {
		for _, n := range u.Spec.Neighbors {
			ref := n.PasswordSecret
			if ref == nil || ref.Name == "" {
				continue
			}
			k := [2]string{u.Namespace, ref.Name}
			s, ok := byName[k]
			if !ok {
				s = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: u.Namespace, Name: ref.Name}, Data: map[string][]byte{}}
				byName[k] = s
			}
			key := cmp.Or(ref.Key, "password")
			s.Data[key] = []byte(placeholderPassword)
		}
	}
	out := make([]corev1.Secret, 0, len(byName))
	for _, s := range byName {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(x, y corev1.Secret) int {
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	return out
}

func selectedNodes(nodes []plan.Node, sel *metav1.LabelSelector) ([]plan.Node, error) {
	if sel == nil {
		return nodes, nil
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, err
	}
	var out []plan.Node
	for _, n := range nodes {
		if s.Matches(labels.Set(n.Labels)) {
			out = append(out, n)
		}
	}
	return out, nil
}

// representatives picks the nodes worth planning: nodes that agree on every label some
// selector looks at get the same resources, so their plans differ only by node index, and
// the index only decides whether addresses fit in their CIDRs, which the largest index
// decides for all. One Build per group keeps admission fast on clusters of thousands of nodes.
func representatives(res plan.Resources, nodes []plan.Node) []plan.Node {
	keys := selectorKeys(res)
	best := map[string]plan.Node{}
	for _, n := range nodes {
		var b strings.Builder
		for _, k := range keys {
			v, ok := n.Labels[k]
			fmt.Fprintf(&b, "%q=%t:%q;", k, ok, v)
		}
		g := b.String()
		if cur, ok := best[g]; !ok || n.Index > cur.Index || (n.Index == cur.Index && n.Name < cur.Name) {
			best[g] = n
		}
	}
	out := make([]plan.Node, 0, len(best))
	for _, n := range best {
		out = append(out, n)
	}
	slices.SortFunc(out, func(x, y plan.Node) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// selectorKeys lists the label keys any node selector of res looks at, sorted.
func selectorKeys(res plan.Resources) []string {
	set := map[string]bool{}
	add := func(s *metav1.LabelSelector) {
		if s == nil {
			return
		}
		for k := range s.MatchLabels {
			set[k] = true
		}
		for _, e := range s.MatchExpressions {
			set[e.Key] = true
		}
	}
	for _, x := range res.Underlays {
		add(x.Spec.NodeSelector)
	}
	for _, x := range res.L3VNIs {
		add(x.Spec.NodeSelector)
	}
	for _, x := range res.L2VNIs {
		add(x.Spec.NodeSelector)
	}
	for _, x := range res.L3Passthroughs {
		add(x.Spec.NodeSelector)
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
