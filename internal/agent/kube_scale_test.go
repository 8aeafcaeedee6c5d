package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/testenv"
)

// The scale benchmark runs a Kubernetes-mode agent (real cache, plan, frr.conf rendering and
// status writer; fake FRR and kernel) as a child process, so its RSS is an agent's alone, and
// grows the cluster from 10 to 5000 Nodes with 1000 VNIs. The agent must not notice the
// Nodes: it caches its own only.
//
//	go test ./internal/agent -run '^$' -bench AgentScale -benchtime 5x
const (
	scaleNamespace = "weft-scale"
	scaleNode      = "scale-0000"
	scaleVNIs      = 1000
	childEnv       = "WEFT_SCALE_CHILD_KUBECONFIG"
)

func BenchmarkAgentScale(b *testing.B) {
	c := cp.Client(b)
	ctx := context.Background()
	setupScale(b, c)
	ensureNodes(b, c, 10)
	child := startChild(b)
	defer child.stop(b)

	for _, nodes := range []int{10, 5000} {
		ensureNodes(b, c, nodes)
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			var last childResult
			for b.Loop() {
				last = child.reconcile(b)
			}
			b.ReportMetric(float64(last.rss)/(1<<20), "rss-MiB")
			b.ReportMetric(float64(last.heap)/(1<<20), "heap-MiB")
			b.ReportMetric(float64(last.duration.Microseconds())/1000, "reconcile-ms")
			b.Logf("agent with %d Nodes and %d VNIs in the API server: RSS %.1f MiB, heap in use %.1f MiB, reconcile %v (applied %d, failed %d, nodes in its cache %d)",
				nodes, scaleVNIs, float64(last.rss)/(1<<20), float64(last.heap)/(1<<20), last.duration, last.applied, last.failed, last.cachedNodes)
			if last.applied != scaleVNIs+1 || last.failed != 0 || last.cachedNodes != 1 {
				b.Errorf("applied %d, failed %d, cached nodes %d; want %d, 0, 1", last.applied, last.failed, last.cachedNodes, scaleVNIs+1)
			}
		})
	}
	st := &v1alpha1.RouterNodeStatus{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: scaleNamespace, Name: scaleNode}, st); err != nil {
		b.Fatal(err)
	}
	if len(st.Status.AppliedVNIs) != scaleVNIs {
		b.Errorf("RouterNodeStatus lists %d VNIs; want %d", len(st.Status.AppliedVNIs), scaleVNIs)
	}
}

// setupScale creates one Underlay and 1000 L2VNIs selecting every node.
func setupScale(b *testing.B, c client.Client) {
	b.Helper()
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: scaleNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		b.Fatal(err)
	}
	objs := []client.Object{&v1alpha1.Underlay{ObjectMeta: metav1.ObjectMeta{Name: "fabric", Namespace: scaleNamespace}, Spec: v1alpha1.UnderlaySpec{
		ASN:            64514,
		Neighbors:      []v1alpha1.Neighbor{{Address: "192.168.11.1", ASN: ptr.To[int64](64512)}},
		TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.64.0.0/16"}},
	}}}
	for i := range scaleVNIs {
		objs = append(objs, &v1alpha1.L2VNI{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("seg-%04d", i), Namespace: scaleNamespace},
			Spec:       v1alpha1.L2VNISpec{VNI: int64(10000 + i), ImportRouteTargets: []string{fmt.Sprintf("64514:%d", 10000+i)}},
		})
	}
	parallel(b, len(objs), func(i int) error {
		if err := c.Create(ctx, objs[i]); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	})
}

// ensureNodes grows the cluster to n Nodes, each with an index.
func ensureNodes(b *testing.B, c client.Client, n int) {
	b.Helper()
	ctx := context.Background()
	parallel(b, n, func(i int) error {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        fmt.Sprintf("scale-%04d", i),
			Labels:      map[string]string{"kubernetes.io/hostname": fmt.Sprintf("scale-%04d", i), "rack": fmt.Sprintf("r%d", i%40)},
			Annotations: map[string]string{v1alpha1.NodeIndexAnnotation: strconv.Itoa(i)},
		}}
		if err := c.Create(ctx, node); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		return nil
	})
}

func parallel(b *testing.B, n int, f func(int) error) {
	b.Helper()
	var wg sync.WaitGroup
	work := make(chan int)
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Go(func() {
			for i := range work {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
}

type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

type childResult struct {
	rss, heap       uint64
	duration        time.Duration
	applied, failed int
	cachedNodes     int
}

func startChild(b *testing.B) *child {
	b.Helper()
	kc := cp.Kubeconfig(b)
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleAgentChild$", "-test.v")
	env := []string{childEnv + "=" + kc}
	for _, e := range os.Environ() {
		// The child must not start a control plane of its own.
		if !strings.HasPrefix(e, "KUBEBUILDER_ASSETS=") && !strings.HasPrefix(e, "CI=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	ch := &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	for ch.out.Scan() {
		if ch.out.Text() == "ready" {
			return ch
		}
	}
	ch.stop(b)
	b.Fatal("scale child exited before it was ready")
	return nil
}

func (ch *child) reconcile(b *testing.B) childResult {
	b.Helper()
	if _, err := fmt.Fprintln(ch.in, "reconcile"); err != nil {
		b.Fatal(err)
	}
	for ch.out.Scan() {
		line, ok := strings.CutPrefix(ch.out.Text(), "result ")
		if !ok {
			continue
		}
		var r childResult
		var ns int64
		if _, err := fmt.Sscanf(line, "rss=%d heap=%d ns=%d applied=%d failed=%d nodes=%d", &r.rss, &r.heap, &ns, &r.applied, &r.failed, &r.cachedNodes); err != nil {
			b.Fatalf("child said %q: %v", line, err)
		}
		r.duration = time.Duration(ns)
		return r
	}
	b.Fatal("scale child exited")
	return childResult{}
}

func (ch *child) stop(b *testing.B) {
	_ = ch.in.Close() // the child returns on EOF
	if err := ch.cmd.Wait(); err != nil {
		b.Errorf("scale child: %v", err)
	}
}

// TestScaleAgentChild is the agent side of BenchmarkAgentScale; it does nothing unless the
// benchmark started it. Each "reconcile" line on stdin runs one pass and answers with the
// process's RSS, the live heap and the pass's duration.
func TestScaleAgentChild(t *testing.T) {
	kc := os.Getenv(childEnv)
	if kc == "" {
		t.Skip("started by BenchmarkAgentScale only")
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	src, err := NewKubeSource(cfg, testenv.Scheme(), scaleNode, scaleNamespace, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Start(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w := &StatusWriter{Client: c, Namespace: scaleNamespace, NodeName: scaleNode, Source: src, Log: log}
	a := &Agent{Node: plan.Node{Name: scaleNode}, Source: src, FRR: &fakeFRR{}, Kernel: fakeKernel{}, Log: log, AfterReconcile: w.Write}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		r := a.Reconcile(ctx)
		if r.Error != "" {
			t.Fatalf("reconcile: %s", r.Error)
		}
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		var nodes corev1.NodeList
		if err := src.cache.List(ctx, &nodes); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("result rss=%d heap=%d ns=%d applied=%d failed=%d nodes=%d\n", rss(t), ms.HeapInuse, r.Duration.Nanoseconds(), len(r.Applied), len(r.Failed), len(nodes.Items))
	}
}

// rss reads the process's resident set size from /proc.
func rss(t *testing.T) uint64 {
	data, err := os.ReadFile(filepath.Join("/proc", "self", "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}
