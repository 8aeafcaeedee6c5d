package lab

import (
	"os"
	"path/filepath"
	"testing"
)

// TestFindKubeAssets: weft lab up --kubernetes finds the binaries hack/envtest-assets.sh
// cached, without KUBEBUILDER_ASSETS; a directory missing one of them does not count.
func TestFindKubeAssets(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	t.Setenv("KUBEBUILDER_ASSETS", "")
	if got := FindKubeAssets(); got != "" {
		t.Errorf("empty cache: %q", got)
	}
	mk := func(dir string, bins ...string) string {
		d := filepath.Join(cache, "weft", "envtest", dir)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, b := range bins {
			if err := os.WriteFile(filepath.Join(d, b), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return d
	}
	good := mk("k8s-1.34.4_etcd-3.6.16", "kube-apiserver", "etcd", "kubectl")
	mk("k8s-1.35.0_etcd-3.6.16", "kube-apiserver", "etcd") // no kubectl
	if got := FindKubeAssets(); got != good {
		t.Errorf("FindKubeAssets() = %q, want %q", got, good)
	}
	t.Setenv("KUBEBUILDER_ASSETS", "/somewhere")
	if got := FindKubeAssets(); got != "/somewhere" {
		t.Errorf("with KUBEBUILDER_ASSETS: %q", got)
	}
}
