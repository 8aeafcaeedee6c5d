package deploy

import (
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/testenv"
)

// TestHelmChartInstallsCNI: with cni.install the agent pod copies weft-cni onto every node as
// "weft" (the network configuration's type) before the agent starts; without it, it does not.
// Either way the agent writes its segments file to the host, where the plugin reads it.
func TestHelmChartInstallsCNI(t *testing.T) {
	h := helm(t)
	off := string(run(t, h, "template", "weft", "charts/weft", "--namespace", testenv.Namespace, "--kube-version", "1.34.4"))
	if strings.Contains(off, "install-cni") {
		t.Error("the chart installs weft-cni without cni.install")
	}
	manifests := run(t, h, "template", "weft", "charts/weft", "--namespace", testenv.Namespace, "--kube-version", "1.34.4",
		"--set", "cni.install=true", "--set", "cni.binDir=/usr/libexec/cni")
	text := string(manifests)
	for _, want := range []string{
		"name: install-cni",
		"cp /usr/local/bin/weft-cni /host/cni/.weft.tmp && mv /host/cni/.weft.tmp /host/cni/weft",
		"hostPath: {path: /usr/libexec/cni, type: DirectoryOrCreate}",
		"--segments-file=/run/weft/segments.json",
		"hostPath: {path: /run/weft, type: DirectoryOrCreate}",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("chart with cni.install lacks %q", want)
		}
	}
	applyDryRun(t, manifests)
}
