// Package testenv runs one real control plane (kube-apiserver + etcd from KUBEBUILDER_ASSETS,
// see hack/envtest-assets.sh) per test package, with weft's CRDs installed. A control plane
// costs about 3 s and 300 MB, so a package shares one through TestMain:
//
//	var cp testenv.ControlPlane
//	func TestMain(m *testing.M) { testenv.Main(m, &cp, testenv.Options{}) }
//	func TestX(t *testing.T) { c := cp.Client(t); ... }
//
// A test runs its controllers in a manager from NewManager, started with StartManager.
//
// Without KUBEBUILDER_ASSETS the tests that need the control plane skip, unless CI is set:
// then the package fails, so CI can never pass by skipping.
package testenv

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/weftnet/weft/api/v1alpha1"
)

// Namespace is the namespace weft's objects live in, in tests as in the Helm chart.
const Namespace = "weft-system"

// Options tune the control plane of a test package.
type Options struct {
	// WebhookPaths are files or directories of webhook configurations (config/webhook) to
	// install, pointed at a local webhook server the package starts on Webhook().
	WebhookPaths []string
}

// ControlPlane is a package's shared control plane; the zero value is "not started".
type ControlPlane struct {
	env    *envtest.Environment
	cfg    *rest.Config
	client client.Client
	reason string
	// wrapDir holds the wrapper scripts of the binaries.
	wrapDir string
	// stopOnce: a signal and TestMain's return may both stop the control plane.
	stopOnce sync.Once
}

// Scheme knows the built-in kinds and weft's.
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}

// RepoRoot is the repository's root directory, found from this file's location so tests work
// from any package directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Main starts the control plane, runs the package's tests and stops it again, also when the
// tests fail or the run is interrupted, then exits.
func Main(m *testing.M, cp *ControlPlane, opts Options) {
	os.Exit(run(m, cp, opts))
}

func run(m *testing.M, cp *ControlPlane, opts Options) int {
	// controller-runtime's logs go to stderr with WEFT_TEST_LOG=1, and nowhere otherwise.
	if os.Getenv("WEFT_TEST_LOG") != "" {
		ctrllog.SetLogger(logr.FromSlogHandler(slog.NewTextHandler(os.Stderr, nil)))
	} else {
		ctrllog.SetLogger(logr.Discard())
	}
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "testenv: KUBEBUILDER_ASSETS is not set and CI is: run hack/envtest-assets.sh (make test does)")
			return 1
		}
		cp.reason = "KUBEBUILDER_ASSETS not set (hack/envtest-assets.sh prints it)"
		return m.Run()
	}
	if err := cp.start(assets, opts); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		cp.stop()
		return 1
	}
	// A Ctrl-C or a SIGTERM from `go test`'s caller would otherwise leave kube-apiserver and
	// etcd running; the wrappers' death signal covers the harder exits (panics, timeouts).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		cp.stop()
		os.Exit(2)
	}()
	defer cp.stop()
	return m.Run()
}

func (cp *ControlPlane) start(assets string, opts Options) error {
	wrapped, err := wrapAssets(assets)
	if err != nil {
		return err
	}
	cp.wrapDir = wrapped
	// envtest prefers TEST_ASSET_<NAME> over KUBEBUILDER_ASSETS.
	for name, env := range map[string]string{"kube-apiserver": "TEST_ASSET_KUBE_APISERVER", "etcd": "TEST_ASSET_ETCD", "kubectl": "TEST_ASSET_KUBECTL"} {
		if err := os.Setenv(env, filepath.Join(wrapped, name)); err != nil {
			return err
		}
	}
	cp.env = &envtest.Environment{
		CRDInstallOptions: envtest.CRDInstallOptions{
			Paths:              []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
			ErrorIfPathMissing: true,
		},
		WebhookInstallOptions:   envtest.WebhookInstallOptions{Paths: opts.WebhookPaths},
		ControlPlaneStopTimeout: 30 * time.Second,
	}
	if os.Getenv("WEFT_TEST_LOG") != "" {
		api := cp.env.ControlPlane.GetAPIServer()
		api.Out, api.Err = os.Stderr, os.Stderr
	}
	cfg, err := cp.env.Start()
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	// Tests create objects in bursts (5000 Nodes for the scale benchmark).
	cfg.QPS, cfg.Burst = 1000, 2000
	cp.cfg = cfg
	cp.client, err = client.New(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace}}
	if err := cp.client.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", Namespace, err)
	}
	return nil
}

func (cp *ControlPlane) stop() {
	cp.stopOnce.Do(cp.doStop)
}

func (cp *ControlPlane) doStop() {
	if cp.env != nil {
		if err := cp.env.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stop control plane:", err)
		}
		cp.env = nil
	}
	if cp.wrapDir != "" && cp.wrapDir != os.Getenv("KUBEBUILDER_ASSETS") {
		_ = os.RemoveAll(cp.wrapDir)
		cp.wrapDir = ""
	}
}

// wrapAssets puts small scripts in front of the binaries that start them with a parent-death
// signal: if the test binary dies without running TestMain's cleanup (a panic, a -timeout),
// the kernel kills kube-apiserver and etcd instead of leaving them behind.
func wrapAssets(assets string) (string, error) {
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		// Without util-linux's setpriv the binaries run unwrapped: only the signal handler
		// and TestMain's cleanup stop them.
		return assets, nil
	}
	dir, err := os.MkdirTemp("", "weft-envtest-bin-")
	if err != nil {
		return "", err
	}
	for _, name := range []string{"kube-apiserver", "etcd", "kubectl"} {
		real := filepath.Join(assets, name)
		if _, err := os.Stat(real); err != nil {
			return "", fmt.Errorf("KUBEBUILDER_ASSETS=%s: %w", assets, err)
		}
		script := fmt.Sprintf("#!/bin/sh\nexec %q --pdeathsig KILL -- %q \"$@\"\n", setpriv, real)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(script), 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// need skips the test when the package runs without a control plane.
func (cp *ControlPlane) need(t testing.TB) {
	t.Helper()
	if cp.cfg == nil {
		reason := cp.reason
		if reason == "" {
			reason = "control plane not started (call testenv.Main from TestMain)"
		}
		t.Skip(reason)
	}
}

// Config is the admin rest.Config of the control plane.
func (cp *ControlPlane) Config(t testing.TB) *rest.Config {
	t.Helper()
	cp.need(t)
	return rest.CopyConfig(cp.cfg)
}

// Client is an uncached admin client of the control plane.
func (cp *ControlPlane) Client(t testing.TB) client.Client {
	t.Helper()
	cp.need(t)
	return cp.client
}

// WebhookServing says where the package's webhook server must listen and with which
// certificates, for the configurations installed from Options.WebhookPaths.
func (cp *ControlPlane) WebhookServing(t testing.TB) (host string, port int, certDir string) {
	t.Helper()
	cp.need(t)
	o := cp.env.WebhookInstallOptions
	return o.LocalServingHost, o.LocalServingPort, o.LocalServingCertDir
}

// Kubeconfig writes an admin kubeconfig for kubectl and returns its path.
func (cp *ControlPlane) Kubeconfig(t testing.TB) string {
	t.Helper()
	cp.need(t)
	user, err := cp.env.ControlPlane.AddUser(envtest.User{Name: "weft-test-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Kubectl is the kubectl binary of KUBEBUILDER_ASSETS (the API server's version).
func (cp *ControlPlane) Kubectl(t testing.TB) string {
	t.Helper()
	cp.need(t)
	return filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
}

// Eventually polls cond every 50 ms until it returns true or the deadline passes, then fails
// the test with the last error or msg. It is the tests' only way to wait.
func Eventually(t testing.TB, timeout time.Duration, msg string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if err != nil {
			last = err
			return false, nil
		}
		return ok, nil
	})
	if err != nil {
		if last != nil {
			t.Fatalf("%s: %v (last error: %v)", msg, err, last)
		}
		t.Fatalf("%s: %v", msg, err)
	}
}
