package plan

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// singleVXLAN puts the accepted L2VNIs on the single-VXLAN-device layout when the node uses
// it (Node.UsesSingleVXLAN) and returns the candidates that stay in the plan. That layout
// carries layer-2 segments only so far: an L3VNI (and so an L2VNI routed by one) is refused
// with Unsupported rather than half-built, and every VNI must use the device's one UDP port.
// A VXLAN device of the per-VNI layout cannot be up beside the single one on the same port
// (the kernel refuses the second with EADDRINUSE), so the two layouts never mix on a node.
func (b *builder) singleVXLAN(accepted, l2s []*candidate) ([]*candidate, []*candidate) {
	if !b.node.UsesSingleVXLAN() {
		return accepted, l2s
	}
	b.plan.Kernel.SVD = &SVD{Bridge: SVDBridge, VXLAN: SVDVXLAN, Port: defaultVXLANPort}
	keep := accepted[:0:0]
	for _, c := range accepted {
		if c.l3 != nil {
			b.fail(c.ref, field.NewPath("spec"), ReasonUnsupported,
				"node %q runs the single-VXLAN-device layout, which does not carry L3VNIs yet; run its agent without --single-vxlan to route", b.node.Name)
			continue
		}
		keep = append(keep, c)
	}
	l2keep := l2s[:0:0]
	for _, c := range l2s {
		k := &c.l2.kernel
		switch {
		case k.VRF != "":
			// Its L3VNI was refused above; route() had joined them.
			b.fail(c.ref, field.NewPath("spec", "routingDomain"), ReasonUnsupported,
				"node %q runs the single-VXLAN-device layout, which does not route L2VNIs yet", b.node.Name)
			continue
		case k.VXLANPort != defaultVXLANPort:
			b.fail(c.ref, field.NewPath("spec", "vxlanPort"), ReasonUnsupported,
				"%d: node %q runs the single-VXLAN-device layout, whose one VXLAN device uses port %d for every VNI", k.VXLANPort, b.node.Name, defaultVXLANPort)
			continue
		}
		k.Bridge, k.VXLAN = SVDBridge, SVDVXLAN
		l2keep = append(l2keep, c)
	}
	return keep, l2keep
}
