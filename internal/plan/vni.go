package plan

import (
	"net/netip"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/frrrules"
)

// candidate is an L2VNI, L3VNI or L3Passthrough that passed its own field checks and now
// competes for its VNI, VRF, RD, host bridge, device names and host links with the others on
// the node. Exactly one of l3, l2 and pt is set.
type candidate struct {
	ref  Ref
	meta *metav1.ObjectMeta
	vni  uint32
	rd   string
	l3   *l3vni
	l2   *l2vni
	pt   *passthrough
}

type l3vni struct {
	vrf         string
	frr         frr.VRF
	kernel      L3VNI
	prefixLists []frr.PrefixList
	routeMaps   []frr.RouteMap
	// linkNets are the host session's link networks (they live in the VRF).
	linkNets []netip.Prefix
	// gatewayNets are the anycast gateway subnets of the L2VNIs routed by this VRF.
	gatewayNets []netip.Prefix
}

type l2vni struct {
	routingDomain string
	evpn          *frr.EVPNVNI
	kernel        L2VNI
}

// linkField is the field of a host session's link network p.
func (l *l3vni) linkField(p netip.Prefix) *field.Path { return hostLinkField(p) }

func hostLinkField(p netip.Prefix) *field.Path {
	f := field.NewPath("spec", "hostSession", "localCIDR")
	if p.Addr().Is4() {
		return f.Child("ipv4")
	}
	return f.Child("ipv6")
}

func (b *builder) checkL3VNI(x *v1alpha1.L3VNI, ul *underlay) *candidate {
	ref := refOf(v1alpha1.KindL3VNI, &x.ObjectMeta)
	spec := field.NewPath("spec")
	fail := func(e *ResourceError) *candidate { b.report(e); return nil }
	invalid := func(fld *field.Path, format string, args ...any) *candidate {
		return fail(bad(ref, fld, ReasonInvalid, format, args...))
	}
	if err := checkVRFName(x.Spec.VRF); err != nil {
		return invalid(spec.Child("vrf"), "%v", err)
	}
	common, err := checkVNICommon(ref, x.Spec.VNI, x.Spec.VXLANPort, x.Spec.RouteDistinguisher, x.Spec.ImportRouteTargets, x.Spec.ExportRouteTargets)
	if err != nil {
		return fail(err)
	}
	names := namesOf(common.vni)
	out := &l3vni{vrf: x.Spec.VRF}
	out.kernel = L3VNI{
		VNI: common.vni, VRF: x.Spec.VRF,
		Bridge: names.bridge, VXLAN: names.vxlan, VXLANPort: common.port,
	}
	asn := ul.asn
	if hs := x.Spec.HostSession; hs != nil {
		if hs.ASN != nil {
			if err := checkASN(*hs.ASN); err != nil {
				return invalid(spec.Child("hostSession", "asn"), "%v", err)
			}
			asn = uint32(*hs.ASN)
		}
		s, err := b.checkSession(ref, spec.Child("hostSession"), hs, ul, "host_"+x.Spec.VRF, names.routerVeth, names.hostVeth)
		if err != nil {
			return fail(err)
		}
		out.kernel.HostVeth = &s.veth
		out.prefixLists, out.routeMaps, out.linkNets = s.prefixLists, s.routeMaps, s.linkNets
		out.frr.Neighbors = s.neighbors
	}
	out.frr = frr.VRF{
		Name: x.Spec.VRF, VNI: common.vni, ASN: asn, RouterID: ul.router.RouterID,
		Neighbors: out.frr.Neighbors,
		RD:        common.rd, ImportRTs: common.importRTs, ExportRTs: common.exportRTs,
		AdvertiseIPv4: true, AdvertiseIPv6: true,
	}
	return &candidate{ref: ref, meta: &x.ObjectMeta, vni: common.vni, rd: common.rd, l3: out}
}

func (b *builder) checkL2VNI(x *v1alpha1.L2VNI, ul *underlay) *candidate {
	ref := refOf(v1alpha1.KindL2VNI, &x.ObjectMeta)
	// Paths are built only for an error: this runs for every L2VNI on every Build.
	spec := func(elems ...string) *field.Path { return field.NewPath("spec", elems...) }
	fail := func(e *ResourceError) *candidate { b.report(e); return nil }
	invalid := func(fld *field.Path, format string, args ...any) *candidate {
		return fail(bad(ref, fld, ReasonInvalid, format, args...))
	}
	common, err := checkVNICommon(ref, x.Spec.VNI, x.Spec.VXLANPort, x.Spec.RouteDistinguisher, x.Spec.ImportRouteTargets, x.Spec.ExportRouteTargets)
	if err != nil {
		return fail(err)
	}
	vni := common.vni
	names := namesOf(vni)
	out := &l2vni{}
	out.kernel = L2VNI{
		VNI: vni, Bridge: names.bridge, VXLAN: names.vxlan, VXLANPort: common.port,
		Veth: Veth{RouterName: names.routerVeth, HostName: names.hostVeth},
	}
	if rd := x.Spec.RoutingDomain; rd != nil {
		if rd.L3VNI == "" {
			return invalid(spec("routingDomain", "l3vni"), "is required")
		}
		if !isDNS1123Subdomain(rd.L3VNI) {
			return invalid(spec("routingDomain", "l3vni"), "%q is not an L3VNI name (a lowercase RFC 1123 subdomain)", rd.L3VNI)
		}
		out.routingDomain = rd.L3VNI
	}
	if len(x.Spec.GatewayIPs) > 0 {
		if x.Spec.RoutingDomain == nil {
			return invalid(spec("gatewayIPs"), "require spec.routingDomain: a gateway routes into an L3VNI's VRF")
		}
		if len(x.Spec.GatewayIPs) > 2 {
			return invalid(spec("gatewayIPs"), "at most one gateway IP per address family")
		}
		seen := map[int]bool{}
		for i, g := range x.Spec.GatewayIPs {
			p, err := parseInterfaceAddr(g)
			if err != nil {
				return invalid(spec("gatewayIPs").Index(i), "%v", err)
			}
			if err := checkUsableAddr(p.Addr(), noLinkLocal); err != nil {
				return invalid(spec("gatewayIPs").Index(i), "%v", err)
			}
			f := familyOf(p.Addr())
			if seen[f] {
				return invalid(spec("gatewayIPs").Index(i), "at most one gateway IP per address family")
			}
			seen[f] = true
			out.kernel.GatewayIPs = append(out.kernel.GatewayIPs, p)
		}
		sortPrefixes(out.kernel.GatewayIPs)
		out.kernel.GatewayMAC = GatewayMAC(vni)
	}
	hm := v1alpha1.HostMaster{}
	if x.Spec.HostMaster != nil {
		hm = *x.Spec.HostMaster
	}
	switch hm.Type {
	case "", v1alpha1.HostMasterLinuxBridge:
	case v1alpha1.HostMasterOVSBridge:
		return fail(bad(ref, spec("hostMaster", "type"), ReasonUnsupported, "OVSBridge host masters are not implemented yet; use LinuxBridge"))
	default:
		return invalid(spec("hostMaster", "type"), "%q must be LinuxBridge or OVSBridge", hm.Type)
	}
	switch hm.Lifecycle {
	case "", v1alpha1.LifecycleManaged:
		out.kernel.HostMaster.Managed = true
		out.kernel.HostMaster.Name = names.hostBridge
	case v1alpha1.LifecycleExternal:
		if hm.Name == "" {
			return invalid(spec("hostMaster", "name"), "is required for an External host master")
		}
	default:
		return invalid(spec("hostMaster", "lifecycle"), "%q must be Managed or External", hm.Lifecycle)
	}
	if hm.Name != "" {
		if err := checkIfName(hm.Name); err != nil {
			return invalid(spec("hostMaster", "name"), "%v", err)
		}
		if hm.Name != names.hostBridge && (hasReservedPrefix(hm.Name) || hm.Name == "lo") {
			return invalid(spec("hostMaster", "name"), "%q is reserved for weft's own devices", hm.Name)
		}
		out.kernel.HostMaster.Name = hm.Name
	}
	if x.Spec.MTU != nil {
		if *x.Spec.MTU < 576 || *x.Spec.MTU > 9216 {
			return invalid(spec("mtu"), "%d is outside 576..9216", *x.Spec.MTU)
		}
		out.kernel.MTU = int(*x.Spec.MTU)
	}
	if common.rd != "" || len(common.importRTs) > 0 || len(common.exportRTs) > 0 {
		out.evpn = &frr.EVPNVNI{VNI: vni, RD: common.rd, ImportRTs: common.importRTs, ExportRTs: common.exportRTs}
	}
	return &candidate{ref: ref, meta: &x.ObjectMeta, vni: vni, rd: common.rd, l2: out}
}

// vniCommon holds the fields L2VNIs and L3VNIs share, validated.
type vniCommon struct {
	vni                  uint32
	port                 uint16
	rd                   string
	importRTs, exportRTs []string
}

func checkVNICommon(ref Ref, vni int64, port int32, rd string, imp, exp []string) (vniCommon, *ResourceError) {
	// Paths are built only for an error: this runs for every VNI on every Build.
	spec := func(f string) *field.Path { return field.NewPath("spec", f) }
	var c vniCommon
	if err := frrrules.VNI.Check(vni); err != nil {
		return c, bad(ref, spec("vni"), ReasonInvalid, "%v", err)
	}
	c.vni = uint32(vni)
	switch {
	case port == 0:
		c.port = defaultVXLANPort
	case frrrules.Port.Check(int64(port)) != nil:
		return c, bad(ref, spec("vxlanPort"), ReasonInvalid, "%v", frrrules.Port.Check(int64(port)))
	default:
		c.port = uint16(port)
	}
	if rd != "" {
		if err := frrrules.RouteDistinguisher(rd); err != nil {
			return c, bad(ref, spec("routeDistinguisher"), ReasonInvalid, "%v", err)
		}
		c.rd = rd
	}
	var err *ResourceError
	if c.importRTs, err = checkRTs(ref, "importRouteTargets", imp); err != nil {
		return c, err
	}
	if c.exportRTs, err = checkRTs(ref, "exportRouteTargets", exp); err != nil {
		return c, err
	}
	return c, nil
}

// checkRTs checks the route targets of spec field f.
func checkRTs(ref Ref, f string, rts []string) ([]string, *ResourceError) {
	if len(rts) == 0 {
		return nil, nil
	}
	if err := checkLen(ref, field.NewPath("spec", f), len(rts), maxRouteTargets); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, rt := range rts {
		if err := frrrules.RouteTarget(rt); err != nil {
			return nil, bad(ref, field.NewPath("spec", f).Index(i), ReasonInvalid, "%v", err)
		}
		if seen[rt] {
			return nil, bad(ref, field.NewPath("spec", f).Index(i), ReasonInvalid, "%q is listed twice", rt)
		}
		seen[rt] = true
	}
	out := slices.Clone(rts)
	slices.Sort(out)
	return out, nil
}
