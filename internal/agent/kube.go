package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/kubeload"
	"github.com/weftnet/weft/internal/plan"
)

// The agent reads its own Node, the weft kinds and the Secrets its Underlay refers to, and
// writes its own RouterNodeStatus. RBAC cannot narrow "nodes" to one name or "secrets" to the
// referenced ones; the cache does (field selectors), so memory does not grow with the cluster.
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=underlays;l3vnis;l2vnis;l3passthroughs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",namespace=weft-system,resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=routernodestatuses,verbs=get;create
// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=routernodestatuses/status,verbs=get;update;patch

// KubeSource reads the desired state from the API server (Kubernetes mode) through a cache
// scoped to this node: the Node object by field selector metadata.name=<node>, the weft kinds
// of one namespace (the plan filters them by node selector), and only the Secrets referenced by
// the Underlays that select this node, each watched by name. Every change sends on Triggers.
type KubeSource struct {
	nodeName, namespace string
	log                 *slog.Logger

	cache     cache.Cache
	clientset kubernetes.Interface
	trigger   chan struct{}

	// ctx is the Start context; secret watches live as long as it does.
	ctx context.Context

	mu      sync.Mutex
	secrets map[string]*secretWatch
	// last describes the objects of the latest Load, for the status of that pass.
	last Snapshot
}

// Snapshot describes the objects one Load returned: their generations and VNIs, and the
// password values to keep out of logs and status.
type Snapshot struct {
	Generations map[plan.Ref]int64
	VNIs        map[plan.Ref]int64
	passwords   []string
}

type secretWatch struct {
	informer toolscache.SharedIndexInformer
	stop     context.CancelFunc
}

// NewKubeSource builds the source; Start runs it.
func NewKubeSource(cfg *rest.Config, scheme *k8sruntime.Scheme, nodeName, namespace string, log *slog.Logger) (*KubeSource, error) {
	if log == nil {
		log = slog.Default()
	}
	c, err := cache.New(cfg, cache.Options{
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{namespace: {}},
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Node{}: {Field: fields.OneTermEqualSelector("metadata.name", nodeName)},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("cache: %w", err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &KubeSource{
		nodeName: nodeName, namespace: namespace, log: log,
		cache: c, clientset: cs, trigger: make(chan struct{}, 1),
		secrets: map[string]*secretWatch{},
	}, nil
}

// Triggers sends when a watched object changed.
func (s *KubeSource) Triggers() <-chan struct{} { return s.trigger }

func (s *KubeSource) poke() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Start starts the watches and waits until the cache holds the current state. The watches
// run until ctx ends.
func (s *KubeSource) Start(ctx context.Context) error {
	s.ctx = ctx
	handler := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.poke() },
		UpdateFunc: func(any, any) { s.poke() },
		DeleteFunc: func(any) { s.poke() },
	}
	for _, obj := range []client.Object{&corev1.Node{}, &v1alpha1.Underlay{}, &v1alpha1.L3VNI{}, &v1alpha1.L2VNI{}, &v1alpha1.L3Passthrough{}} {
		inf, err := s.cache.GetInformer(ctx, obj)
		if err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(handler); err != nil {
			return err
		}
	}
	errc := make(chan error, 1)
	go func() { errc <- s.cache.Start(ctx) }()
	if !s.cache.WaitForCacheSync(ctx) {
		select {
		case err := <-errc:
			return fmt.Errorf("start cache: %w", err)
		default:
			return errors.New("cache did not sync")
		}
	}
	return nil
}

// Load reads the node's facts and the resources from the cache.
func (s *KubeSource) Load(ctx context.Context) (Desired, error) {
	node := &corev1.Node{}
	if err := s.cache.Get(ctx, client.ObjectKey{Name: s.nodeName}, node); err != nil {
		if apierrors.IsNotFound(err) {
			return Desired{}, fmt.Errorf("node %s not found", s.nodeName)
		}
		return Desired{}, fmt.Errorf("get node %s: %w", s.nodeName, err)
	}
	idx, ok := v1alpha1.NodeIndex(node.Annotations)
	if !ok {
		return Desired{}, fmt.Errorf("node %s has no %s annotation yet (weft-controller allocates it)", s.nodeName, v1alpha1.NodeIndexAnnotation)
	}
	pn := plan.Node{Name: node.Name, Labels: node.Labels, Index: idx}

	res, err := kubeload.Resources(ctx, s.cache, s.namespace)
	if err != nil {
		return Desired{}, fmt.Errorf("list: %w", err)
	}

	secrets, err := s.watchSecrets(ctx, referencedSecrets(res.Underlays, pn.Labels))
	if err != nil {
		return Desired{}, err
	}
	res.Secrets = secrets

	snap := Snapshot{Generations: map[plan.Ref]int64{}, VNIs: map[plan.Ref]int64{}}
	for _, x := range res.Underlays {
		snap.Generations[plan.Ref{Kind: v1alpha1.KindUnderlay, Namespace: x.Namespace, Name: x.Name}] = x.Generation
	}
	for _, x := range res.L3VNIs {
		ref := plan.Ref{Kind: v1alpha1.KindL3VNI, Namespace: x.Namespace, Name: x.Name}
		snap.Generations[ref], snap.VNIs[ref] = x.Generation, x.Spec.VNI
	}
	for _, x := range res.L2VNIs {
		ref := plan.Ref{Kind: v1alpha1.KindL2VNI, Namespace: x.Namespace, Name: x.Name}
		snap.Generations[ref], snap.VNIs[ref] = x.Generation, x.Spec.VNI
	}
	for _, x := range res.L3Passthroughs {
		snap.Generations[plan.Ref{Kind: v1alpha1.KindL3Passthrough, Namespace: x.Namespace, Name: x.Name}] = x.Generation
	}
	for _, sec := range secrets {
		for _, v := range plan.Passwords([]corev1.Secret{sec}) {
			snap.passwords = append(snap.passwords, v)
		}
	}
	s.mu.Lock()
	s.last = snap
	s.mu.Unlock()
	return Desired{Resources: res, Node: &pn}, nil
}

// Last describes the objects of the latest Load.
func (s *KubeSource) Last() Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last
}

// referencedSecrets lists the Secret names the Underlays that select the node refer to.
func referencedSecrets(underlays []v1alpha1.Underlay, nodeLabels map[string]string) []string {
	var out []string
	for _, u := range underlays {
		if u.Spec.NodeSelector != nil {
			sel, err := metav1.LabelSelectorAsSelector(u.Spec.NodeSelector)
			if err != nil || !sel.Matches(labels.Set(nodeLabels)) {
				continue // an invalid selector is reported by the plan
			}
		}
		for _, n := range u.Spec.Neighbors {
			if n.PasswordSecret != nil && n.PasswordSecret.Name != "" {
				out = append(out, n.PasswordSecret.Name)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// watchSecrets keeps one watch per referenced Secret name (field selector metadata.name), stops
// the watches of Secrets no longer referenced, and returns the referenced Secrets that exist.
func (s *KubeSource) watchSecrets(ctx context.Context, names []string) ([]corev1.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, w := range s.secrets {
		if !slices.Contains(names, name) {
			w.stop()
			delete(s.secrets, name)
		}
	}
	var out []corev1.Secret
	for _, name := range names {
		w, ok := s.secrets[name]
		if !ok {
			w = s.startSecretWatch(name)
			s.secrets[name] = w
		}
		syncCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
		synced := toolscache.WaitForCacheSync(syncCtx.Done(), w.informer.HasSynced)
		cancel()
		if !synced {
			return nil, fmt.Errorf("watch secret %s/%s: not synced", s.namespace, name)
		}
		for _, obj := range w.informer.GetStore().List() {
			if sec, ok := obj.(*corev1.Secret); ok {
				out = append(out, *sec)
			}
		}
	}
	return out, nil
}

func (s *KubeSource) startSecretWatch(name string) *secretWatch {
	sel := fields.OneTermEqualSelector("metadata.name", name).String()
	secrets := s.clientset.CoreV1().Secrets(s.namespace)
	lw := &toolscache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (k8sruntime.Object, error) {
			o.FieldSelector = sel
			return secrets.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return secrets.Watch(ctx, o)
		},
	}
	inf := toolscache.NewSharedIndexInformer(lw, &corev1.Secret{}, 0, toolscache.Indexers{})
	_, _ = inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.poke() },
		UpdateFunc: func(any, any) { s.poke() },
		DeleteFunc: func(any) { s.poke() },
	})
	parent := s.ctx
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	go inf.RunWithContext(ctx)
	return &secretWatch{informer: inf, stop: cancel}
}
