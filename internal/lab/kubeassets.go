package lab

import (
	"os"
	"path/filepath"
	"sort"

	"github.com/weftnet/weft/internal/toolcache"
)

// FindKubeAssets returns a directory with kube-apiserver, etcd and kubectl: $KUBEBUILDER_ASSETS,
// else the newest that hack/envtest-assets.sh left in its cache
// ($XDG_CACHE_HOME/weft/envtest/*, ~/.cache by default); "" when there is none.
func FindKubeAssets() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob(filepath.Join(toolcache.Dir(), "envtest", "k8s-*"))
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		ok := true
		for _, bin := range []string{"kube-apiserver", "etcd", "kubectl"} {
			if st, err := os.Stat(filepath.Join(d, bin)); err != nil || st.Mode()&0o111 == 0 {
				ok = false
			}
		}
		if ok {
			return d
		}
	}
	return ""
}
