package deploy

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/agent"
	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/certs"
	"github.com/weftnet/weft/internal/nodeindex"
	"github.com/weftnet/weft/internal/status"
	"github.com/weftnet/weft/internal/testenv"
	"github.com/weftnet/weft/internal/testenv/background"
	"github.com/weftnet/weft/internal/webhook"
)

const ns = testenv.Namespace

// as returns the control plane's config acting as one of the chart's ServiceAccounts.
func as(t *testing.T, sa string) *rest.Config {
	cfg := cp.Config(t)
	cfg.Impersonate = rest.ImpersonationConfig{
		UserName: fmt.Sprintf("system:serviceaccount:%s:%s", ns, sa),
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
	}
	return cfg
}

// TestLeastPrivilege installs the chart's roles for real and runs the controller's and the
// agent's code as their ServiceAccounts: the roles generated from the markers must be enough,
// and must not be more than they need.
// Long: one install, then each component's calls in turn.
func TestLeastPrivilege(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	rbac := run(t, helm(t), "template", "weft", "charts/weft", "--namespace", ns, "--kube-version", "1.34.4", "--show-only", "templates/rbac.yaml")
	path := filepath.Join(t.TempDir(), "rbac.yaml")
	if err := os.WriteFile(path, rbac, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, cp.Kubectl(t), "--kubeconfig", cp.Kubeconfig(t), "apply", "-f", path)

	// Objects an admin creates.
	for _, obj := range []client.Object{
		testenv.InertWebhookConfiguration("weft-validating-webhook-configuration"),
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "rbac-node", Labels: map[string]string{"kubernetes.io/hostname": "rbac-node"}}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "tor-password", Namespace: ns}, StringData: map[string]string{"password": "rbac-Pass-123"}},
		&v1alpha1.Underlay{ObjectMeta: metav1.ObjectMeta{Name: "fabric", Namespace: ns}, Spec: v1alpha1.UnderlaySpec{
			ASN:            64514,
			Neighbors:      []v1alpha1.Neighbor{{Address: "192.168.11.1", ASN: ptr.To[int64](64512), PasswordSecret: &v1alpha1.SecretKeyRef{Name: "tor-password"}}},
			TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}},
		}},
		&v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}, Spec: v1alpha1.L2VNISpec{VNI: 110}},
		// A report of a node that does not exist: the controller must be allowed to collect it.
		&v1alpha1.RouterNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "gone-node", Namespace: ns}},
	} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatalf("create %s: %v", obj.GetName(), err)
		}
	}

	// The controller, as weft-controller.
	ctrlCfg := as(t, "weft-controller")
	mgr := testenv.NewManager(t, ctrlCfg, ctrl.Options{
		Cache: cache.Options{DefaultNamespaces: map[string]cache.Config{ns: {}}},
	})
	quiet := slog.New(slog.DiscardHandler)
	if err := (&nodeindex.Allocator{Client: mgr.GetClient(), Log: quiet}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	if err := (&status.Aggregator{Client: mgr.GetClient(), Namespace: ns, Log: quiet}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	_, stopMgr := background.Run(t, "controller manager", mgr.Start)
	defer stopMgr()

	direct, err := client.New(ctrlCfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	cm := &certs.Manager{Client: direct, Namespace: ns, SecretName: "weft-webhook-cert",
		DNSNames: []string{"weft-webhook.weft-system.svc"}, CertDir: t.TempDir(),
		WebhookConfig: "weft-validating-webhook-configuration", Log: quiet}
	if err := cm.Ensure(ctx); err != nil {
		t.Errorf("certificates as weft-controller: %v", err)
	}

	waitIndexed(t, c, "rbac-node", 30*time.Second, "node index as weft-controller")
	testenv.Eventually(t, 30*time.Second, "status as weft-controller", func(ctx context.Context) (bool, error) {
		x := &v1alpha1.L2VNI{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, x); err != nil {
			return false, err
		}
		return meta.FindStatusCondition(x.Status.Conditions, v1alpha1.ConditionApplied) != nil, nil
	})
	testenv.Eventually(t, 30*time.Second, "report of a gone node collected as weft-controller", func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "gone-node"}, &v1alpha1.RouterNodeStatus{})
		return apierrors.IsNotFound(err), nil
	})
	v := &webhook.Validator{Reader: mgr.GetCache(), Namespace: ns}
	dup := &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "dup", Namespace: ns}, Spec: v1alpha1.L2VNISpec{VNI: 110}}
	if _, err := v.ValidateCreate(ctx, dup); err == nil || !strings.Contains(err.Error(), "spec.vni") {
		t.Errorf("validation as weft-controller: %v; want a spec.vni conflict", err)
	}

	// The agent, as weft-agent.
	agentCfg := as(t, "weft-agent")
	src, err := agent.NewKubeSource(agentCfg, testenv.Scheme(), "rbac-node", ns, quiet)
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	if err := src.Start(actx); err != nil {
		t.Fatalf("agent cache as weft-agent: %v", err)
	}
	var desired agent.Desired
	testenv.Eventually(t, 30*time.Second, "agent load as weft-agent", func(ctx context.Context) (bool, error) {
		d, err := src.Load(ctx)
		desired = d
		return err == nil, err
	})
	if len(desired.Resources.Secrets) != 1 {
		t.Errorf("agent read %d Secrets; want the referenced one", len(desired.Resources.Secrets))
	}
	agentClient, err := client.New(agentCfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	w := &agent.StatusWriter{Client: agentClient, Namespace: ns, NodeName: "rbac-node", Source: src, Log: quiet}
	w.Write(ctx, agentapi.Report{Time: time.Now(), Applied: nil})
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "rbac-node"}, &v1alpha1.RouterNodeStatus{}); err != nil {
		t.Errorf("status written as weft-agent: %v", err)
	}

	// And no more than that.
	for _, tc := range []struct {
		who string
		c   client.Client
		do  func(client.Client) error
	}{
		{"agent patches a Node", agentClient, func(c client.Client) error {
			n := &corev1.Node{}
			if err := c.Get(ctx, client.ObjectKey{Name: "rbac-node"}, n); err != nil {
				return err
			}
			n.Labels["x"] = "y"
			return c.Update(ctx, n)
		}},
		{"agent deletes an L2VNI", agentClient, func(c client.Client) error {
			return c.Delete(ctx, &v1alpha1.L2VNI{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns}})
		}},
		{"agent reads Secrets of another namespace", agentClient, func(c client.Client) error {
			return c.List(ctx, &corev1.SecretList{}, client.InNamespace("default"))
		}},
		{"controller reads the password Secret", direct, func(c client.Client) error {
			return c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tor-password"}, &corev1.Secret{})
		}},
		{"controller changes an L2VNI's spec", direct, func(c client.Client) error {
			x := &v1alpha1.L2VNI{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, x); err != nil {
				return err
			}
			x.Spec.VNI = 111
			return c.Update(ctx, x)
		}},
	} {
		if err := tc.do(tc.c); !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v; want Forbidden", tc.who, err)
		}
	}
}
