// Package nodeindex gives every Node a small, stable index, stored as the annotation
// network.weft.dev/node-index. A node's VTEP address, router ID, router MAC and host veth
// addresses derive from its index (internal/ipam), so the index must never change while the
// node exists, and two nodes must never share one. Freed indexes are reused, smallest first,
// so addresses stay inside small CIDRs.
package nodeindex

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
)

// nodeMeta is the Node as the allocator caches it: metadata only, so 5000 Nodes cost little.
func nodeMeta() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
	return m
}

// Allocator reconciles Nodes: it keeps the index annotation of every Node and frees the index
// of a deleted Node. It must run as a single instance (leader election): the in-memory table
// is what makes concurrent allocations unique, because the cache may not show an annotation
// written a moment ago yet.
type Allocator struct {
	// Client reads Nodes from the manager's cache and patches their annotations.
	Client client.Client
	Log    *slog.Logger

	mu      sync.Mutex
	loaded  bool
	byName  map[string]int
	byIndex map[int]string
}

// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch;patch

// SetupWithManager registers the allocator with mgr, watching Node metadata only.
func (a *Allocator) SetupWithManager(mgr ctrl.Manager) error {
	if a.Log == nil {
		a.Log = slog.Default()
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("nodeindex").
		For(&corev1.Node{}, builder.OnlyMetadata).
		Complete(a)
}

// Reconcile gives the node an index, keeps the one it has, or frees it when the node is gone.
func (a *Allocator) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.load(ctx); err != nil {
		return ctrl.Result{}, err
	}
	node := nodeMeta()
	err := a.Client.Get(ctx, req.NamespacedName, node)
	if apierrors.IsNotFound(err) {
		if idx, ok := a.byName[req.Name]; ok {
			delete(a.byName, req.Name)
			delete(a.byIndex, idx)
			a.Log.Info("freed node index", "node", req.Name, "index", idx)
		}
		return ctrl.Result{}, nil
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("get node %s: %w", req.Name, err)
	}

	idx, known := a.byName[node.Name]
	if !known {
		if cur, ok := v1alpha1.NodeIndex(node.Annotations); ok {
			if owner, taken := a.byIndex[cur]; !taken || owner == node.Name {
				a.claim(node.Name, cur)
				return ctrl.Result{}, nil
			}
			// Two nodes carry the same index (copied by hand, or written by an old
			// controller): the one seen first keeps it, this one gets a free one.
			a.Log.Warn("node index already taken; allocating another", "node", node.Name, "index", cur, "owner", a.byIndex[cur])
		}
		idx = a.smallestFree()
		if idx > v1alpha1.MaxNodeIndex {
			return ctrl.Result{}, fmt.Errorf("no free node index for %s", node.Name)
		}
		a.claim(node.Name, idx)
		a.Log.Info("allocated node index", "node", node.Name, "index", idx)
	}
	if cur, ok := v1alpha1.NodeIndex(node.Annotations); ok && cur == idx {
		return ctrl.Result{}, nil
	}
	patch := client.MergeFrom(node.DeepCopy())
	if node.Annotations == nil {
		node.Annotations = map[string]string{}
	}
	node.Annotations[v1alpha1.NodeIndexAnnotation] = strconv.Itoa(idx)
	if err := a.Client.Patch(ctx, node, patch); err != nil {
		if apierrors.IsNotFound(err) {
			delete(a.byName, node.Name)
			delete(a.byIndex, idx)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("annotate node %s with index %d: %w", node.Name, idx, err)
	}
	return ctrl.Result{}, nil
}

// load fills the table from the annotations of every Node, once, before the first
// allocation: this is how indexes survive a controller restart. Older nodes win duplicates.
func (a *Allocator) load(ctx context.Context) error {
	if a.loaded {
		return nil
	}
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	if err := a.Client.List(ctx, list); err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	a.byName, a.byIndex = map[string]int{}, map[int]string{}
	items := list.Items
	slices.SortFunc(items, func(x, y metav1.PartialObjectMetadata) int {
		return cmp.Or(x.CreationTimestamp.Time.Compare(y.CreationTimestamp.Time), cmp.Compare(x.Name, y.Name))
	})
	for _, n := range items {
		if idx, ok := v1alpha1.NodeIndex(n.Annotations); ok {
			if _, taken := a.byIndex[idx]; !taken {
				a.claim(n.Name, idx)
			}
		}
	}
	a.loaded = true
	a.Log.Info("node index table loaded", "nodes", len(items), "indexed", len(a.byName))
	return nil
}

func (a *Allocator) claim(name string, idx int) {
	a.byName[name] = idx
	a.byIndex[idx] = name
}

func (a *Allocator) smallestFree() int {
	for i := 0; ; i++ {
		if _, taken := a.byIndex[i]; !taken {
			return i
		}
	}
}
