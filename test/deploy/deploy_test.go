// Package deploy checks that both install paths, the Helm chart and `kubectl apply -k
// config/default`, produce manifests the real API server accepts, and that the chart's
// copies of the generated CRDs, roles and webhooks are fresh.
package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/internal/testenv"
)

var cp testenv.ControlPlane

func TestMain(m *testing.M) { testenv.Main(m, &cp, testenv.Options{}) }

// helm builds helm from its Go module when missing (hack/install-helm.sh is idempotent).
func helm(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(testenv.RepoRoot(), "hack", "install-helm.sh")).Output()
	if err != nil {
		t.Fatalf("hack/install-helm.sh: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(l, "HELM="); ok {
			return p
		}
	}
	t.Fatalf("hack/install-helm.sh printed no HELM=: %s", out)
	return ""
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = testenv.RepoRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// applyDryRun sends the manifests through the API server's full admission and validation
// without persisting them, and returns kubectl's summary.
func applyDryRun(t *testing.T, manifests []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manifests.yaml")
	if err := os.WriteFile(path, manifests, 0o600); err != nil {
		t.Fatal(err)
	}
	return string(run(t, cp.Kubectl(t), "--kubeconfig", cp.Kubeconfig(t), "apply", "--dry-run=server", "-f", path))
}

func kinds(manifests []byte) map[string]int {
	out := map[string]int{}
	for _, doc := range bytes.Split(manifests, []byte("\n---")) {
		var m struct{ Kind string }
		if yaml.Unmarshal(doc, &m) == nil && m.Kind != "" {
			out[m.Kind]++
		}
	}
	return out
}

var wantKinds = map[string]int{
	"CustomResourceDefinition": 5, "ServiceAccount": 2, "ClusterRole": 2, "ClusterRoleBinding": 2,
	"Role": 2, "RoleBinding": 2, "Deployment": 1, "DaemonSet": 1, "ValidatingWebhookConfiguration": 1,
}

func TestHelmChart(t *testing.T) {
	h := helm(t)
	run(t, h, "lint", "--strict", "charts/weft", "--kube-version", "1.34.4")
	manifests := run(t, h, "template", "weft", "charts/weft", "--namespace", testenv.Namespace,
		"--include-crds", "--kube-version", "1.34.4")
	got := kinds(manifests)
	for k, n := range wantKinds {
		if got[k] != n {
			t.Errorf("chart renders %d %s; want %d", got[k], k, n)
		}
	}
	if got["Service"] != 3 {
		t.Errorf("chart renders %d Services; want 3 (webhook, agent and controller metrics)", got["Service"])
	}
	out := applyDryRun(t, manifests)
	t.Logf("kubectl apply --dry-run=server:\n%s", out)
	for _, want := range []string{"daemonset.apps/weft-agent", "deployment.apps/weft-controller", "validatingwebhookconfiguration.admissionregistration.k8s.io/weft-validating-webhook-configuration"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %s", want)
		}
	}
}

func TestKustomize(t *testing.T) {
	manifests := run(t, cp.Kubectl(t), "kustomize", "config/default")
	got := kinds(manifests)
	for k, n := range wantKinds {
		if got[k] != n {
			t.Errorf("config/default renders %d %s; want %d", got[k], k, n)
		}
	}
	// Every generated webhook must be pointed at the controller's Service.
	if n, want := bytes.Count(manifests, []byte("name: weft-webhook\n")), 4+1; n != want {
		t.Errorf("%d references to the weft-webhook Service; want %d (a new webhook needs a line in config/webhook/service_patch.yaml)", n, want)
	}
	applyDryRun(t, manifests)
}

// TestChartCopiesFresh fails when `make generate` was not run after a marker or API change:
// the chart can only read files inside itself, so it carries copies.
func TestChartCopiesFresh(t *testing.T) {
	root := testenv.RepoRoot()
	pairs := map[string]string{
		"config/rbac/controller/role.yaml": "charts/weft/files/rbac/controller.yaml",
		"config/rbac/agent/role.yaml":      "charts/weft/files/rbac/agent.yaml",
		"config/webhook/manifests.yaml":    "charts/weft/files/webhook.yaml",
	}
	crds, err := filepath.Glob(filepath.Join(root, "config/crd/bases/*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs: %v", err)
	}
	for _, c := range crds {
		pairs[filepath.Join("config/crd/bases", filepath.Base(c))] = filepath.Join("charts/weft/crds", filepath.Base(c))
	}
	for src, dst := range pairs {
		a, err := os.ReadFile(filepath.Join(root, src))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(root, dst))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s is not a copy of %s: run make generate", dst, src)
		}
	}
}

// TestExamplesAccepted sends the user-facing examples through the CRDs' schema and CEL rules.
func TestExamplesAccepted(t *testing.T) {
	for dir, wants := range map[string][]string{
		"examples/":        {"underlay.network.weft.dev/node1", "underlay.network.weft.dev/node3", "l2vni.network.weft.dev/web"},
		"examples/fabric/": {"underlay.network.weft.dev/fabric", "l3vni.network.weft.dev/red", "l2vni.network.weft.dev/web", "l2vni.network.weft.dev/legacy"},
	} {
		out := string(run(t, cp.Kubectl(t), "--kubeconfig", cp.Kubeconfig(t), "apply", "--dry-run=server", "-f", dir))
		for _, want := range wants {
			if !strings.Contains(out, want) {
				t.Errorf("dry-run of %s lacks %s:\n%s", dir, want, out)
			}
		}
	}
}
