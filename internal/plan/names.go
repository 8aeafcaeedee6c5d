package plan

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Device names weft owns. All fit the kernel's 15-character limit for any VNI (≤ 8 digits).
const (
	// PassthroughRouterVeth and PassthroughHostVeth are the L3Passthrough veth ends.
	PassthroughRouterVeth = "pe-pt"
	PassthroughHostVeth   = "host-pt"
	// SVDBridge and SVDVXLAN are the VLAN-aware bridge and the VXLAN device of the
	// single-VXLAN-device layout (KernelPlan.SVD). Their prefixes are reserved, so no VRF
	// can take these names.
	SVDBridge = "br-pe-svd"
	SVDVXLAN  = "vni-svd"
)

// The prefixes of the per-VNI device names: the prefix, then the VNI in decimal. This table
// is the one place they are written; the kernel layer decides from it which devices are
// weft's (IsRouterDeviceName, IsHostVethName).
const (
	bridgePrefix     = "br-pe-" // router-namespace bridge
	vxlanPrefix      = "vni"    // VXLAN device (router namespace)
	routerVethPrefix = "pe-"    // router end of a VNI's veth
	hostVethPrefix   = "host-"  // host end of a VNI's veth
	hostBridgePrefix = "br-hs-" // default name of a Managed host bridge
	sviPrefix        = "svi-"   // a VNI's VLAN device on the single-VXLAN-device bridge
)

// BridgeName is the router-namespace bridge of a VNI.
func BridgeName(vni uint32) string { return bridgePrefix + strconv.FormatUint(uint64(vni), 10) }

// SVIName is the VLAN device of a VNI on the bridge of the single-VXLAN-device layout: the
// VNI's layer-3 interface there, as the bridge br-pe-<vni> is in the per-VNI layout.
func SVIName(vni uint32) string { return sviPrefix + strconv.FormatUint(uint64(vni), 10) }

// SegmentVNI returns the VNI of a VNI's layer-3 interface in the router namespace, its bridge
// (BridgeName) or its SVI (SVIName); false for any other name.
func SegmentVNI(name string) (uint32, bool) {
	for _, p := range [...]string{bridgePrefix, sviPrefix} {
		if rest, ok := strings.CutPrefix(name, p); ok && isVNI(rest) {
			v, _ := strconv.ParseUint(rest, 10, 32)
			return uint32(v), true
		}
	}
	return 0, false
}

// VXLANName is the VXLAN device of a VNI.
func VXLANName(vni uint32) string { return vxlanPrefix + strconv.FormatUint(uint64(vni), 10) }

// RouterVethName is the router-namespace end of a VNI's veth.
func RouterVethName(vni uint32) string {
	return routerVethPrefix + strconv.FormatUint(uint64(vni), 10)
}

// HostVethName is the host end of a VNI's veth.
func HostVethName(vni uint32) string { return hostVethPrefix + strconv.FormatUint(uint64(vni), 10) }

// ManagedHostBridgeName is the default name of a Managed host bridge.
func ManagedHostBridgeName(vni uint32) string {
	return hostBridgePrefix + strconv.FormatUint(uint64(vni), 10)
}

// IsRouterDeviceName says whether name is one weft generates in the router namespace: a
// VNI's bridge, VXLAN device or router veth end, or the passthrough router veth. (VRFs are
// named by users; the kernel layer owns them by their kind and weft's group.)
func IsRouterDeviceName(name string) bool {
	if name == PassthroughRouterVeth || name == SVDBridge || name == SVDVXLAN {
		return true
	}
	for _, p := range [...]string{bridgePrefix, vxlanPrefix, routerVethPrefix, sviPrefix} {
		if rest, ok := strings.CutPrefix(name, p); ok && isVNI(rest) {
			return true
		}
	}
	return false
}

// IsHostVethName says whether name is the host end of one of weft's veths.
func IsHostVethName(name string) bool {
	if name == PassthroughHostVeth {
		return true
	}
	rest, ok := strings.CutPrefix(name, hostVethPrefix)
	return ok && isVNI(rest)
}

// isVNI says whether s is a VNI as the names above print it: decimal digits that fit 32 bits.
func isVNI(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

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
	prefixes := [...]string{bridgePrefix, vxlanPrefix, routerVethPrefix, hostVethPrefix, hostBridgePrefix}
	var b strings.Builder
	b.Grow(len(bridgePrefix+vxlanPrefix+routerVethPrefix+hostVethPrefix+hostBridgePrefix) + len(prefixes)*len(d))
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
var reservedPrefixes = []string{bridgePrefix, hostBridgePrefix, vxlanPrefix, routerVethPrefix, hostVethPrefix, sviPrefix}

// RouterMAC is the node's EVPN router MAC, derived from its VTEP address, the one thing that
// is unique across the whole fabric: locally administered (06: and 0a:, apart from the
// anycast gateway MACs' 02:77:67:), stable across restarts. An IPv4 VTEP is spelt out in it
// (06:<a>:<b>:<c>:<d>:00), so no two IPv4 VTEPs share a router MAC; an IPv6 one gives 40 bits
// of its SHA-256 (0a:…). It is not derived from the node index: two clusters on one fabric
// number their nodes from 0 alike, and two VTEPs advertising one router MAC make every other
// VTEP's entry for that MAC flap between them, which blackholes routed traffic (symmetric IRB)
// to one of the two.
func RouterMAC(vtep netip.Addr) string {
	if vtep.Is4() {
		a := vtep.As4()
		return fmt.Sprintf("06:%02x:%02x:%02x:%02x:00", a[0], a[1], a[2], a[3])
	}
	h := sha256.Sum256(vtep.AsSlice())
	return fmt.Sprintf("0a:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4])
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
		if l.SVI != "" {
			out = append(out, l.SVI)
		}
		if l.HostVeth != nil {
			out = append(out, l.HostVeth.RouterName, l.HostVeth.HostName)
		}
	}
	for _, l := range k.L2VNIs {
		out = append(out, l.Bridge, l.VXLAN, l.Veth.RouterName, l.Veth.HostName, l.HostMaster.Name)
		if l.SVI != "" {
			out = append(out, l.SVI)
		}
	}
	if k.Passthrough != nil {
		out = append(out, k.Passthrough.Veth.RouterName, k.Passthrough.Veth.HostName)
	}
	return out
}

func hasReservedPrefix(s string) bool {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
