package plan

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The kernel layouts an agent can be asked for (weft-agent --kernel-layout).
const (
	// LayoutAuto is the single-VXLAN-device layout where the kernel can build it and FRR is
	// release 9 or later, else the per-VNI layout.
	LayoutAuto = "auto"
	// LayoutPerVNI is a bridge and a VXLAN device per VNI, whatever FRR and the kernel can do.
	LayoutPerVNI = "per-vni"
	// LayoutSingleVXLAN is the single-VXLAN-device layout, required of the kernel; with an
	// FRR older than 9 the per-VNI layout is programmed (zebra cannot use the other).
	LayoutSingleVXLAN = "single-vxlan"
)

// WantsSingleVXLAN says whether an agent asked for layout runs the single-VXLAN-device layout
// (with an FRR that can, see Node.UsesSingleVXLAN), given whether its kernel can build it.
func WantsSingleVXLAN(layout string, kernelCan bool) (bool, error) {
	switch layout {
	case LayoutAuto, "":
		return kernelCan, nil
	case LayoutPerVNI:
		return false, nil
	case LayoutSingleVXLAN:
		if !kernelCan {
			return false, fmt.Errorf("%s: this kernel cannot build the layout (it needs bridge VLAN filtering, VXLAN VNI filtering from Linux 5.18, and VLAN devices)", layout)
		}
		return true, nil
	}
	return false, fmt.Errorf("%q: want %s, %s or %s", layout, LayoutAuto, LayoutPerVNI, LayoutSingleVXLAN)
}

// singleVXLAN puts the accepted VNIs on the single-VXLAN-device layout when the node uses it
// (Node.UsesSingleVXLAN) and returns the candidates that stay in the plan. Every VNI of the
// layout shares the one VXLAN device's UDP port (4789): a VNI with another port is refused
// with Unsupported, and an L2VNI routed by a refused L3VNI fails with it. A VXLAN device of
// the per-VNI layout cannot be up beside the single one on the same port (the kernel
// refuses the second with EADDRINUSE), so the two layouts never mix on a node.
func (b *builder) singleVXLAN(accepted, l2s []*candidate) ([]*candidate, []*candidate) {
	if !b.node.UsesSingleVXLAN() {
		return accepted, l2s
	}
	b.plan.Kernel.SVD = &SVD{Bridge: SVDBridge, VXLAN: SVDVXLAN, Port: defaultVXLANPort}
	wrongPort := func(c *candidate, port uint16) bool {
		if port == defaultVXLANPort {
			return false
		}
		b.fail(c.ref, field.NewPath("spec", "vxlanPort"), ReasonUnsupported,
			"%d: node %q runs the single-VXLAN-device layout, whose one VXLAN device uses port %d for every VNI", port, b.node.Name, defaultVXLANPort)
		return true
	}
	keep := accepted[:0:0]
	refusedVRF := map[string]Ref{}
	for _, c := range accepted {
		if c.l3 != nil {
			k := &c.l3.kernel
			if wrongPort(c, k.VXLANPort) {
				refusedVRF[k.VRF] = c.ref
				continue
			}
			k.Bridge, k.VXLAN, k.SVI = SVDBridge, SVDVXLAN, SVIName(k.VNI)
		}
		keep = append(keep, c)
	}
	l2keep := l2s[:0:0]
	for _, c := range l2s {
		k := &c.l2.kernel
		if ref, ok := refusedVRF[k.VRF]; ok && k.VRF != "" {
			b.fail(c.ref, field.NewPath("spec", "routingDomain", "l3vni"), ReasonDependencyFailed, "%s could not be applied on node %q", ref, b.node.Name)
			continue
		}
		if wrongPort(c, k.VXLANPort) {
			continue
		}
		k.Bridge, k.VXLAN, k.SVI = SVDBridge, SVDVXLAN, SVIName(k.VNI)
		l2keep = append(l2keep, c)
	}
	return keep, l2keep
}
