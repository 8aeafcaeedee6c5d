package webhook

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/kubeload"
	"github.com/weftnet/weft/internal/testenv"
)

var cp testenv.ControlPlane

func TestMain(m *testing.M) {
	testenv.Main(m, &cp, testenv.Options{
		WebhookPaths: []string{filepath.Join(testenv.RepoRoot(), "config", "webhook", "manifests.yaml")},
	})
}

const ns = testenv.Namespace

// startWebhook serves the validator on the address the installed webhook configuration
// points at, and returns the cache it reads.
func startWebhook(t *testing.T) client.Reader {
	t.Helper()
	host, port, certDir := cp.WebhookServing(t)
	mgr := testenv.NewManager(t, cp.Config(t), ctrl.Options{
		WebhookServer: webhook.NewServer(webhook.Options{Host: host, Port: port, CertDir: certDir}),
	})
	v := &Validator{Reader: mgr.GetCache(), Namespace: ns}
	if err := v.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, _ := testenv.StartManager(t, mgr)
	// Informers start with the first List: start them now and wait for the server.
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		t.Fatal("cache did not start")
	}
	if _, err := LoadNodes(ctx, mgr.GetCache()); err != nil {
		t.Fatal(err)
	}
	if _, err := kubeload.Resources(ctx, mgr.GetCache(), ns); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "webhook server not serving", func(context.Context) (bool, error) {
		return mgr.GetWebhookServer().StartedChecker()(nil) == nil, nil
	})
	return mgr.GetCache()
}

// seen waits until the webhook's cache holds obj as the API server last returned it, so the
// next admission sees it (the webhook, like any controller, reads from its cache).
func seen(t *testing.T, cache client.Reader, obj client.Object) {
	t.Helper()
	got := obj.DeepCopyObject().(client.Object)
	testenv.Eventually(t, 20*time.Second, "cache never saw "+obj.GetName(), func(ctx context.Context) (bool, error) {
		if err := cache.Get(ctx, client.ObjectKeyFromObject(obj), got); err != nil {
			return false, err
		}
		return got.GetResourceVersion() == obj.GetResourceVersion(), nil
	})
}

func underlay(name string, sel *metav1.LabelSelector) *v1alpha1.Underlay {
	return &v1alpha1.Underlay{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.UnderlaySpec{
			NodeSelector: sel,
			ASN:          64514,
			Neighbors: []v1alpha1.Neighbor{{
				Address: "192.168.11.1", ASN: ptr.To[int64](64512),
				// The Secret does not exist: the webhook does not judge passwords.
				PasswordSecret: &v1alpha1.SecretKeyRef{Name: "tor-password"},
			}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}},
		},
	}
}

func l3vni(name, vrf string, vni int64) *v1alpha1.L3VNI {
	return &v1alpha1.L3VNI{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1alpha1.L3VNISpec{VRF: vrf, VNI: vni, HostSession: &v1alpha1.HostSession{
			HostASN: ptr.To[int64](64515), LocalCIDR: v1alpha1.LocalCIDR{IPv4: "192.169.10.0/24"},
		}},
	}
}

func l2vni(name string, vni int64, mutate func(*v1alpha1.L2VNISpec)) *v1alpha1.L2VNI {
	x := &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: v1alpha1.L2VNISpec{VNI: vni}}
	if mutate != nil {
		mutate(&x.Spec)
	}
	return x
}

func rack(r string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"rack": r}}
}

// TestAdmission drives the webhook through the real API server: the rejections users see for
// conflicts between objects, and the objects that must pass.
// Long: a table of cases and the objects they need.
func TestAdmission(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	cache := startWebhook(t)

	for i, r := range []string{"r1", "r2"} {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
			Name:        "node-" + r,
			Labels:      map[string]string{"rack": r},
			Annotations: map[string]string{v1alpha1.NodeIndexAnnotation: []string{"0", "1"}[i]},
		}}
		if err := c.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		seen(t, cache, n)
	}

	// The base: one Underlay for both nodes, a VRF and a routed segment.
	for _, obj := range []client.Object{
		underlay("fabric", nil),
		l3vni("red", "red", 100),
		l2vni("web", 110, func(s *v1alpha1.L2VNISpec) {
			s.RoutingDomain = &v1alpha1.RoutingDomain{L3VNI: "red"}
			s.GatewayIPs = []string{"192.170.1.1/24"}
		}),
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("create %s: %v", obj.GetName(), err)
		}
		seen(t, cache, obj)
	}

	rejected := []struct {
		name string
		obj  client.Object
		want string
	}{
		{"two underlays on a node", underlay("second", rack("r1")),
			`Underlay/weft-system/second: spec.nodeSelector: node "node-r1" is already selected by Underlay/weft-system/fabric; a node takes exactly one Underlay`},
		{"duplicate VNI", l2vni("dup", 100, nil),
			`L2VNI/weft-system/dup: spec.vni: VNI 100 is already used by L3VNI/weft-system/red on node "node-r`},
		{"duplicate VRF", l3vni("red-again", "red", 101),
			`L3VNI/weft-system/red-again: spec.vrf: VRF "red" is already used by L3VNI/weft-system/red on node "node-r`},
		{"missing routing domain", l2vni("orphan", 120, func(s *v1alpha1.L2VNISpec) { s.RoutingDomain = &v1alpha1.RoutingDomain{L3VNI: "blue"} }),
			`L2VNI/weft-system/orphan: spec.routingDomain.l3vni: L3VNI/weft-system/blue does not exist in namespace "weft-system" or does not select node "node-r`},
		{"gateway overlaps the VRF's host link", l2vni("overlap", 121, func(s *v1alpha1.L2VNISpec) {
			s.RoutingDomain = &v1alpha1.RoutingDomain{L3VNI: "red"}
			s.GatewayIPs = []string{"192.169.10.129/25"}
		}), `L2VNI/weft-system/overlap: spec.gatewayIPs: 192.169.10.128/25 overlaps 192.169.10.0/24 of L3VNI/weft-system/red in VRF "red"`},
		{"gateways of two segments overlap", l2vni("overlap2", 122, func(s *v1alpha1.L2VNISpec) {
			s.RoutingDomain = &v1alpha1.RoutingDomain{L3VNI: "red"}
			s.GatewayIPs = []string{"192.170.1.254/16"}
		}), `L2VNI/weft-system/overlap2: spec.gatewayIPs: 192.170.0.0/16 overlaps 192.170.1.0/24 of L2VNI/weft-system/web in VRF "red"`},
		{"passthrough link overlaps the VTEP network", &v1alpha1.L3Passthrough{
			ObjectMeta: metav1.ObjectMeta{Name: "pt", Namespace: ns},
			Spec: v1alpha1.L3PassthroughSpec{HostSession: v1alpha1.HostSession{
				HostType: v1alpha1.PeerExternal, LocalCIDR: v1alpha1.LocalCIDR{IPv4: "100.65.0.0/16"},
			}},
		}, "L3Passthrough/weft-system/pt: spec.hostSession.localCIDR.ipv4: 100.65.0.0/16 overlaps 100.65.0.0/24 of Underlay/weft-system/fabric in the default VRF"},
		// The CRD admits OVSBridge (the type is part of the API) but the plan does not
		// implement it: only the webhook can say so, even before the object selects a node.
		{"rule only the plan knows, on no node", l2vni("ovs", 130, func(s *v1alpha1.L2VNISpec) {
			s.NodeSelector = rack("r9")
			s.HostMaster = &v1alpha1.HostMaster{Type: v1alpha1.HostMasterOVSBridge}
		}), "L2VNI/weft-system/ovs: spec.hostMaster.type: OVSBridge host masters are not implemented yet"},
		{"other namespace", &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere", Namespace: "default"}, Spec: v1alpha1.L2VNISpec{VNI: 140}},
			`L2VNI/default/elsewhere: metadata.namespace: weft reads only namespace "weft-system"`},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			err := c.Create(ctx, tc.obj)
			if err == nil {
				_ = c.Delete(ctx, tc.obj)
				t.Fatalf("admitted; want %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("rejection\n  %v\nlacks\n  %s", err, tc.want)
			}
		})
	}

	t.Run("update that takes a claim", func(t *testing.T) {
		web := &v1alpha1.L2VNI{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web); err != nil {
			t.Fatal(err)
		}
		web.Spec.VNI = 100
		err := c.Update(ctx, web)
		if err == nil || !strings.Contains(err.Error(), "L2VNI/weft-system/web: spec.vni: VNI 100 is already used by L3VNI/weft-system/red") {
			t.Fatalf("update to a used VNI: %v", err)
		}
	})

	t.Run("metadata-only update", func(t *testing.T) {
		web := &v1alpha1.L2VNI{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, web); err != nil {
			t.Fatal(err)
		}
		web.Labels = map[string]string{"team": "web"}
		if err := c.Update(ctx, web); err != nil {
			t.Fatal(err)
		}
	})

	// Conflicts are per node: the same VNI on disjoint nodes is fine.
	admitted := []client.Object{
		underlay("rack9", rack("r9")),
		l2vni("same-vni-elsewhere", 100, func(s *v1alpha1.L2VNISpec) { s.NodeSelector = rack("r9") }),
		l2vni("legacy", 150, func(s *v1alpha1.L2VNISpec) {
			s.HostMaster = &v1alpha1.HostMaster{Lifecycle: v1alpha1.LifecycleExternal, Name: "br-legacy"}
		}),
	}
	for _, obj := range admitted {
		if err := c.Create(ctx, obj); err != nil {
			t.Errorf("create %s: %v", obj.GetName(), err)
		}
	}
}
