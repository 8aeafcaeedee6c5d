package deploy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/testenv"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitIndexed waits until the controller has given node its index, failing with msg.
func waitIndexed(t *testing.T, c client.Client, node string, timeout time.Duration, msg string) {
	t.Helper()
	testenv.Eventually(t, timeout, msg, func(ctx context.Context) (bool, error) {
		n := &corev1.Node{}
		if err := c.Get(ctx, client.ObjectKey{Name: node}, n); err != nil {
			return false, err
		}
		_, ok := v1alpha1.NodeIndex(n.Annotations)
		return ok, nil
	})
}

// TestControllerBinary runs the weft-controller binary as built, against the real API server:
// the wiring in main (flags, caches, leader election, certificates, webhook server, probes).
func TestControllerBinary(t *testing.T) {
	c := cp.Client(t)
	ctx := context.Background()
	kc := cp.Kubeconfig(t)
	bin := filepath.Join(t.TempDir(), "weft-controller")
	run(t, "go", "build", "-o", bin, "./cmd/weft-controller")

	cfgName := "weft-binary-test-webhooks"
	if err := c.Create(ctx, testenv.InertWebhookConfiguration(cfgName)); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "binary-node"}}); err != nil {
		t.Fatal(err)
	}

	probes := freePort(t)
	cmd := exec.Command(bin,
		"--kubeconfig="+kc,
		"--namespace="+ns,
		"--leader-elect=true",
		"--metrics-bind-address=0",
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probes),
		fmt.Sprintf("--webhook-port=%d", freePort(t)),
		"--cert-dir="+t.TempDir(),
		"--webhook-config="+cfgName,
		"--webhook-secret=weft-binary-test-cert",
	)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// The controller dies with the test binary, like the control plane.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})

	testenv.Eventually(t, 60*time.Second, "controller not ready", func(ctx context.Context) (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/readyz", probes), nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, fmt.Errorf("readyz: %s", resp.Status)
		}
		return true, nil
	})
	waitIndexed(t, c, "binary-node", 60*time.Second, "node not indexed by the binary")
	cfg := &admissionv1.ValidatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: cfgName}, cfg); err != nil {
		t.Fatal(err)
	}
	if len(cfg.Webhooks[0].ClientConfig.CABundle) == 0 {
		t.Error("caBundle not patched by the binary")
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "weft-binary-test-cert"}, &corev1.Secret{}); err != nil {
		t.Errorf("certificate Secret: %v", err)
	}
}
