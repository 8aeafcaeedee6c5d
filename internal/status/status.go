// Package status writes what users read with kubectl: the Accepted and Applied conditions of
// every Underlay, L2VNI, L3VNI and L3Passthrough, aggregated from the agents' RouterNodeStatus
// objects; and it deletes the RouterNodeStatus of Nodes that are gone.
//
// One reconcile recomputes everything from the cache (level-triggered, like the agent): any
// event enqueues the same key, so a burst of node reports costs one pass.
package status

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/kubeload"
	"github.com/weftnet/weft/internal/plan"
)

// Condition reasons.
const (
	// ReasonValid: no node reports a rule broken by the resource.
	ReasonValid = "Valid"
	// ReasonApplied: programmed on every selected node.
	ReasonApplied = "Applied"
	// ReasonFailed: some selected node could not apply it.
	ReasonFailed = "Failed"
	// ReasonPending: some selected node has not reported this generation yet.
	ReasonPending = "Pending"
	// ReasonNoNodes: the node selector selects no node.
	ReasonNoNodes = "NoNodesSelected"
)

// maxListed bounds the nodes named in a message; the rest are counted.
const maxListed = 3

// Aggregator is the reconciler.
type Aggregator struct {
	// Client reads from the manager's cache and writes status and deletions.
	Client client.Client
	// APIReader, when set, confirms with the API server that a Node is gone before its
	// report is deleted: a Node created a moment ago may not be in the cache yet while its
	// agent already reported.
	APIReader client.Reader
	// Namespace holds the weft objects and the RouterNodeStatuses.
	Namespace string
	Log       *slog.Logger
}

// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=underlays;l3vnis;l2vnis;l3passthroughs,verbs=get;list;watch
// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=underlays/status;l3vnis/status;l2vnis/status;l3passthroughs/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=routernodestatuses,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// SetupWithManager watches the four kinds (spec changes), Nodes (metadata) and the node
// reports, all funnelled into one key.
func (a *Aggregator) SetupWithManager(mgr ctrl.Manager) error {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: a.Namespace, Name: "all"}}}
	})
	inNS := predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetNamespace() == a.Namespace })
	// Status writes do not change the generation; skipping them keeps our own writes from
	// triggering another pass.
	spec := builder.WithPredicates(inNS, predicate.GenerationChangedPredicate{})
	b := ctrl.NewControllerManagedBy(mgr).Named("status")
	for _, obj := range []client.Object{&v1alpha1.Underlay{}, &v1alpha1.L3VNI{}, &v1alpha1.L2VNI{}, &v1alpha1.L3Passthrough{}} {
		b = b.Watches(obj, one, spec)
	}
	return b.
		Watches(&v1alpha1.RouterNodeStatus{}, one, builder.WithPredicates(inNS)).
		Watches(&corev1.Node{}, one, builder.OnlyMetadata).
		Complete(a)
}

// Reconcile recomputes every resource's conditions and collects stale node reports.
func (a *Aggregator) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	nodes := &metav1.PartialObjectMetadataList{}
	nodes.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	if err := a.Client.List(ctx, nodes); err != nil {
		return ctrl.Result{}, fmt.Errorf("list nodes: %w", err)
	}
	var reports v1alpha1.RouterNodeStatusList
	if err := a.Client.List(ctx, &reports, client.InNamespace(a.Namespace)); err != nil {
		return ctrl.Result{}, fmt.Errorf("list node statuses: %w", err)
	}
	exists := map[string]bool{}
	for _, n := range nodes.Items {
		exists[n.Name] = true
	}
	idx := indexReports(reports.Items)
	for i := range reports.Items {
		r := &reports.Items[i]
		if exists[r.Name] {
			continue
		}
		if a.APIReader != nil {
			node := &metav1.PartialObjectMetadata{}
			node.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
			err := a.APIReader.Get(ctx, client.ObjectKey{Name: r.Name}, node)
			if err == nil {
				continue
			}
			if !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("confirm node %s is gone: %w", r.Name, err)
			}
		}
		if err := a.Client.Delete(ctx, r, client.Preconditions{UID: &r.UID}); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("delete status of deleted node %s: %w", r.Name, err)
		}
		a.Log.Info("deleted the status of a deleted node", "node", r.Name)
	}

	var errs []error
	each := func(kind string, obj client.Object, conds *[]metav1.Condition, sel *metav1.LabelSelector) {
		want := conditions(kind, obj.GetName(), obj.GetGeneration(), sel, nodes.Items, idx)
		if err := a.write(ctx, obj, conds, want); err != nil {
			errs = append(errs, err)
		}
	}
	res, err := kubeload.Resources(ctx, a.Client, a.Namespace)
	if err != nil {
		return ctrl.Result{}, err
	}
	forEach(res.Underlays, func(x *v1alpha1.Underlay) { each(v1alpha1.KindUnderlay, x, &x.Status.Conditions, x.Spec.NodeSelector) })
	forEach(res.L3VNIs, func(x *v1alpha1.L3VNI) { each(v1alpha1.KindL3VNI, x, &x.Status.Conditions, x.Spec.NodeSelector) })
	forEach(res.L2VNIs, func(x *v1alpha1.L2VNI) { each(v1alpha1.KindL2VNI, x, &x.Status.Conditions, x.Spec.NodeSelector) })
	forEach(res.L3Passthroughs, func(x *v1alpha1.L3Passthrough) {
		each(v1alpha1.KindL3Passthrough, x, &x.Status.Conditions, x.Spec.NodeSelector)
	})
	if len(errs) > 0 {
		return ctrl.Result{}, fmt.Errorf("write status of %d resources, first: %w", len(errs), errs[0])
	}
	return ctrl.Result{}, nil
}

// forEach calls f with a pointer to each item, so f may change it in place.
func forEach[T any](items []T, f func(*T)) {
	for i := range items {
		f(&items[i])
	}
}

// write merges want into the object's conditions and patches the status subresource when
// something other than a transition time changed.
func (a *Aggregator) write(ctx context.Context, obj client.Object, conds *[]metav1.Condition, want []metav1.Condition) error {
	before := obj.DeepCopyObject().(client.Object)
	changed := false
	for _, c := range want {
		if meta.SetStatusCondition(conds, c) {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := a.Client.Status().Patch(ctx, obj, client.MergeFrom(before)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch status of %s: %w", obj.GetName(), err)
	}
	return nil
}

// nodeReport is what one node said about one resource.
type nodeReport struct {
	applied int64 // generation applied; 0 when not applied
	failed  bool
	reason  string
	message string
}

// reports indexes the node reports by resource, then by node.
type reports map[plan.Ref]map[string]nodeReport

func indexReports(items []v1alpha1.RouterNodeStatus) reports {
	out := reports{}
	at := func(ref plan.Ref) map[string]nodeReport {
		m, ok := out[ref]
		if !ok {
			m = map[string]nodeReport{}
			out[ref] = m
		}
		return m
	}
	for _, r := range items {
		for _, a := range r.Status.AppliedResources {
			at(plan.Ref{Kind: a.Kind, Name: a.Name})[r.Name] = nodeReport{applied: a.Generation}
		}
		for _, f := range r.Status.FailedResources {
			at(plan.Ref{Kind: f.Kind, Name: f.Name})[r.Name] = nodeReport{failed: true, reason: f.Reason, message: failureText(f)}
		}
	}
	return out
}

func failureText(f v1alpha1.FailedResource) string {
	if f.Field != "" {
		return fmt.Sprintf("%s: %s: %s", f.Reason, f.Field, f.Message)
	}
	return fmt.Sprintf("%s: %s", f.Reason, f.Message)
}

// ruleReasons are the plan's reasons that blame the resource itself (not a node's kernel or
// another resource): they make Accepted false.
var ruleReasons = map[string]bool{
	plan.ReasonInvalid: true, plan.ReasonConflict: true, plan.ReasonNotFound: true, plan.ReasonUnsupported: true,
}

// conditions computes a resource's Accepted and Applied conditions from the node reports.
func conditions(kind, name string, generation int64, sel *metav1.LabelSelector, nodes []metav1.PartialObjectMetadata, idx reports) []metav1.Condition {
	accepted := metav1.Condition{Type: v1alpha1.ConditionAccepted, Status: metav1.ConditionTrue, Reason: ReasonValid,
		Message: "no node reports a problem with this resource", ObservedGeneration: generation}
	applied := metav1.Condition{Type: v1alpha1.ConditionApplied, ObservedGeneration: generation}

	var selector labels.Selector = labels.Everything()
	if sel != nil {
		s, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			accepted.Status, accepted.Reason, accepted.Message = metav1.ConditionFalse, plan.ReasonInvalid, "spec.nodeSelector: "+err.Error()
			applied.Status, applied.Reason, applied.Message = metav1.ConditionFalse, plan.ReasonInvalid, "the node selector is invalid"
			return []metav1.Condition{accepted, applied}
		}
		selector = s
	}
	var selected, ok, pending []string
	type failure struct{ node, text, reason string }
	var failed []failure
	byNode := idx[plan.Ref{Kind: kind, Name: name}]
	for _, n := range nodes {
		if !selector.Matches(labels.Set(n.Labels)) {
			continue
		}
		selected = append(selected, n.Name)
		r, found := byNode[n.Name]
		switch {
		case found && r.failed:
			failed = append(failed, failure{n.Name, r.message, r.reason})
		case found && r.applied == generation:
			ok = append(ok, n.Name)
		default:
			pending = append(pending, n.Name)
		}
	}
	slices.SortFunc(failed, func(x, y failure) int { return cmp.Compare(x.node, y.node) })
	slices.Sort(pending)

	for _, f := range failed {
		if ruleReasons[f.reason] {
			accepted.Status, accepted.Reason = metav1.ConditionFalse, f.reason
			accepted.Message = fmt.Sprintf("on node %s: %s", f.node, f.text)
			break
		}
	}

	switch {
	case len(selected) == 0:
		applied.Status, applied.Reason, applied.Message = metav1.ConditionFalse, ReasonNoNodes, "the node selector selects no node"
		return []metav1.Condition{accepted, applied}
	case len(ok) == len(selected):
		applied.Status, applied.Reason = metav1.ConditionTrue, ReasonApplied
	case len(failed) > 0:
		applied.Status, applied.Reason = metav1.ConditionFalse, ReasonFailed
	default:
		applied.Status, applied.Reason = metav1.ConditionFalse, ReasonPending
	}
	var b strings.Builder
	fmt.Fprintf(&b, "applied on %d/%d nodes", len(ok), len(selected))
	// Nodes that fail the same way are one entry: a conflict on every node of a cluster is
	// one line in kubectl get -o wide, not one per node.
	type group struct {
		text  string
		nodes []string
	}
	var groups []*group
	for _, f := range failed {
		i := slices.IndexFunc(groups, func(g *group) bool { return g.text == f.text })
		if i < 0 {
			groups = append(groups, &group{text: f.text})
			i = len(groups) - 1
		}
		groups[i].nodes = append(groups[i].nodes, f.node)
	}
	for i, g := range groups {
		if i == maxListed {
			n := 0
			for _, rest := range groups[i:] {
				n += len(rest.nodes)
			}
			fmt.Fprintf(&b, "; failed otherwise on %d more nodes", n)
			break
		}
		fmt.Fprintf(&b, "; failed on %s: %s", listed(g.nodes), g.text)
	}
	if len(pending) > 0 {
		fmt.Fprintf(&b, "; pending on %s", listed(pending))
	}
	applied.Message = b.String()
	return []metav1.Condition{accepted, applied}
}

func listed(names []string) string {
	if len(names) <= maxListed {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
}
