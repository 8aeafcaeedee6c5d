package nodeindex

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/testenv"
)

var cp testenv.ControlPlane

func TestMain(m *testing.M) { testenv.Main(m, &cp, testenv.Options{}) }

// startAllocator runs an allocator in its own manager until the returned stop is called.
func startAllocator(t *testing.T) (stop func()) {
	t.Helper()
	mgr := testenv.NewManager(t, cp.Config(t), ctrl.Options{
		// Each restart in a test registers the controller again in the same process.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err := (&Allocator{Client: mgr.GetClient(), Log: slog.New(slog.DiscardHandler)}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	_, stop = testenv.StartManager(t, mgr)
	return stop
}

func createNode(ctx context.Context, c client.Client, name string, annotations map[string]string) error {
	return c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: annotations}})
}

// indexes waits until every named node has an index and returns them.
func indexes(t *testing.T, c client.Client, names ...string) map[string]int {
	t.Helper()
	out := map[string]int{}
	testenv.Eventually(t, 30*time.Second, "nodes got no index", func(ctx context.Context) (bool, error) {
		for _, n := range names {
			node := &corev1.Node{}
			if err := c.Get(ctx, client.ObjectKey{Name: n}, node); err != nil {
				return false, err
			}
			idx, ok := v1alpha1.NodeIndex(node.Annotations)
			if !ok {
				return false, fmt.Errorf("node %s has no index yet", n)
			}
			out[n] = idx
		}
		return true, nil
	})
	return out
}

func deleteNode(t *testing.T, c client.Client, name string) {
	t.Helper()
	ctx := context.Background()
	if err := c.Delete(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "node not deleted", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Name: name}, &corev1.Node{})
		return apierrors.IsNotFound(err), nil
	})
}

// TestAllocation walks one cluster through the life of its nodes: concurrent creation,
// deletion and reuse, a controller restart, a lost and a duplicated annotation.
func TestAllocation(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	stop := startAllocator(t)

	// Concurrent creation: 20 nodes at once get the unique indexes 0..19.
	var names []string
	for i := range 20 {
		names = append(names, fmt.Sprintf("node-%02d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(names))
	for _, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- createNode(ctx, c, n, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got := indexes(t, c, names...)
	var all []int
	for _, i := range got {
		all = append(all, i)
	}
	slices.Sort(all)
	for i, v := range all {
		if v != i {
			t.Fatalf("indexes %v; want 0..19, each once", all)
		}
	}

	// Deleting two nodes frees their indexes; new nodes reuse them, smallest first.
	var freed []int
	for _, n := range []string{"node-05", "node-11"} {
		freed = append(freed, got[n])
		deleteNode(t, c, n)
	}
	slices.Sort(freed)
	for _, n := range []string{"node-20", "node-21"} {
		if err := createNode(ctx, c, n, nil); err != nil {
			t.Fatal(err)
		}
		// One at a time, so "smallest first" has one right answer per node.
		if idx := indexes(t, c, n)[n]; idx != freed[0] {
			t.Fatalf("%s got index %d; want the smallest freed index %d", n, idx, freed[0])
		}
		freed = freed[1:]
	}
	survivors := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "node-05" || n == "node-11" })
	survivors = append(survivors, "node-20", "node-21")
	before := indexes(t, c, survivors...)

	// Restart: a new controller keeps every index and allocates only free ones.
	stop()
	startAllocator(t)
	if err := createNode(ctx, c, "node-22", nil); err != nil {
		t.Fatal(err)
	}
	if idx := indexes(t, c, "node-22")["node-22"]; idx != 20 {
		t.Errorf("node-22 got %d after a restart; want 20 (0..19 are taken)", idx)
	}
	after := indexes(t, c, survivors...)
	for n, i := range before {
		if after[n] != i {
			t.Errorf("%s changed index across a restart: %d -> %d", n, i, after[n])
		}
	}

	// A lost annotation comes back with the same index: it is stable for the node's life.
	node := &corev1.Node{}
	if err := c.Get(ctx, client.ObjectKey{Name: "node-03"}, node); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(node.DeepCopy())
	delete(node.Annotations, v1alpha1.NodeIndexAnnotation)
	if err := c.Patch(ctx, node, patch); err != nil {
		t.Fatal(err)
	}
	if idx := indexes(t, c, "node-03")["node-03"]; idx != before["node-03"] {
		t.Errorf("node-03 came back with %d; want its index %d", idx, before["node-03"])
	}

	// A copied annotation does not make two nodes share an index.
	if err := createNode(ctx, c, "node-23", map[string]string{v1alpha1.NodeIndexAnnotation: "0"}); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "node-23 kept a duplicate index", func(ctx context.Context) (bool, error) {
		if idx := indexes(t, c, "node-23")["node-23"]; idx != 21 {
			return false, fmt.Errorf("node-23 has index %d; want 21", idx)
		}
		return true, nil
	})
}
