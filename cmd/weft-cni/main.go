// weft-cni is weft's CNI plugin: it attaches a pod or VM to an L2VNI by name (see
// internal/cniplugin and docs/kubernetes.md).
package main

import (
	"github.com/containernetworking/cni/pkg/skel"

	"github.com/weftnet/weft/internal/cniplugin"
)

func main() {
	skel.PluginMainFuncs(cniplugin.Funcs, cniplugin.Versions, "weft-cni: attach a workload to a weft L2VNI")
}
