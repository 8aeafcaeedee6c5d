package plan

import (
	"fmt"
	"strconv"
	"strings"
)

// Device names weft owns. All fit the kernel's 15-character limit for any VNI (≤ 8 digits).
const (
	// PassthroughRouterVeth and PassthroughHostVeth are the L3Passthrough veth ends.
	PassthroughRouterVeth = "pe-pt"
	PassthroughHostVeth   = "host-pt"
)

// BridgeName is the router-namespace bridge of a VNI.
func BridgeName(vni uint32) string { return "br-pe-" + strconv.FormatUint(uint64(vni), 10) }

// VXLANName is the VXLAN device of a VNI.
func VXLANName(vni uint32) string { return "vni" + strconv.FormatUint(uint64(vni), 10) }

// RouterVethName is the router-namespace end of a VNI's veth.
func RouterVethName(vni uint32) string { return "pe-" + strconv.FormatUint(uint64(vni), 10) }

// HostVethName is the host end of a VNI's veth.
func HostVethName(vni uint32) string { return "host-" + strconv.FormatUint(uint64(vni), 10) }

// ManagedHostBridgeName is the default name of a Managed host bridge.
func ManagedHostBridgeName(vni uint32) string { return "br-hs-" + strconv.FormatUint(uint64(vni), 10) }

// vniNames are the device names of one VNI: BridgeName, VXLANName, RouterVethName,
// HostVethName and ManagedHostBridgeName.
type vniNames struct {
	bridge, vxlan, routerVeth, hostVeth, hostBridge string
}

// namesOf returns the device names of a VNI cut from one string: Build names every VNI on
// every reconcile, and one allocation instead of ten was a third of its allocations at 1000
// L2VNIs.
func namesOf(vni uint32) vniNames {
	var digits [10]byte
	d := strconv.AppendUint(digits[:0], uint64(vni), 10)
	prefixes := [...]string{"br-pe-", "vni", "pe-", "host-", "br-hs-"}
	var b strings.Builder
	b.Grow(len("br-pe-vnipe-host-br-hs-") + len(prefixes)*len(d))
	var ends [len(prefixes)]int
	for i, p := range prefixes {
		b.WriteString(p)
		b.Write(d)
		ends[i] = b.Len()
	}
	all := b.String()
	return vniNames{
		bridge: all[:ends[0]], vxlan: all[ends[0]:ends[1]], routerVeth: all[ends[1]:ends[2]],
		hostVeth: all[ends[2]:ends[3]], hostBridge: all[ends[3]:ends[4]],
	}
}

// reservedPrefixes are the beginnings of names weft generates; VRF names must not start with
// them, so a user's VRF can never collide with a generated device.
var reservedPrefixes = []string{"br-pe-", "br-hs-", "vni", "pe-", "host-"}

// RouterMAC is the node's EVPN router MAC, derived from its index: locally administered,
// stable across restarts, distinct per node.
func RouterMAC(index int) string {
	return fmt.Sprintf("02:77:72:%02x:%02x:%02x", byte(index>>16), byte(index>>8), byte(index))
}

// GatewayMAC is the anycast gateway MAC of an L2VNI: the same on every node, so a VM keeps
// its gateway's ARP entry when it migrates.
func GatewayMAC(vni uint32) string {
	return fmt.Sprintf("02:77:67:%02x:%02x:%02x", byte(vni>>16), byte(vni>>8), byte(vni))
}

// names lists every device name the kernel plan uses.
func (k KernelPlan) names() []string {
	var out []string
	for _, l := range k.L3VNIs {
		out = append(out, l.VRF, l.Bridge, l.VXLAN)
		if l.HostVeth != nil {
			out = append(out, l.HostVeth.RouterName, l.HostVeth.HostName)
		}
	}
	for _, l := range k.L2VNIs {
		out = append(out, l.Bridge, l.VXLAN, l.Veth.RouterName, l.Veth.HostName, l.HostMaster.Name)
	}
	if k.Passthrough != nil {
		out = append(out, k.Passthrough.Veth.RouterName, k.Passthrough.Veth.HostName)
	}
	return out
}
