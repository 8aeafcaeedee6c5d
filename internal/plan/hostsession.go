package plan

import (
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/ipam"
)

// Host sessions: the BGP session and veth of an L3VNI that reaches the host, the
// L3Passthrough (the same in the default VRF), and the route filters of both.

// session is a validated host session.
type session struct {
	neighbors   []frr.Neighbor
	prefixLists []frr.PrefixList
	routeMaps   []frr.RouteMap
	veth        Veth
	linkNets    []netip.Prefix
}

// linkField is the field of a host session's link network p.
func (s *session) linkField(p netip.Prefix) *field.Path { return hostLinkField(p) }

type passthrough struct {
	session
}

func (b *builder) checkPassthrough(x *v1alpha1.L3Passthrough, ul *underlay) *candidate {
	ref := refOf(v1alpha1.KindL3Passthrough, &x.ObjectMeta)
	fld := field.NewPath("spec", "hostSession")
	hs := &x.Spec.HostSession
	if hs.ASN != nil && *hs.ASN != int64(ul.asn) {
		b.report(bad(ref, fld.Child("asn"), ReasonInvalid, "%d must equal the Underlay's ASN %d (the default VRF has one BGP instance) or be left out", *hs.ASN, ul.asn))
		return nil
	}
	s, err := b.checkSession(ref, fld, hs, ul, "host_default", PassthroughRouterVeth, PassthroughHostVeth)
	if err != nil {
		b.report(err)
		return nil
	}
	return &candidate{ref: ref, meta: &x.ObjectMeta, pt: &passthrough{session: *s}}
}

// checkSession validates a host session and builds its neighbors, filters and veth. prefix
// names its route-maps and prefix lists; it never holds user text other than a VRF name that
// passed its pattern.
func (b *builder) checkSession(ref Ref, fld *field.Path, hs *v1alpha1.HostSession, ul *underlay, prefix, routerVeth, hostVeth string) (*session, *ResourceError) {
	invalid := func(f *field.Path, format string, args ...any) (*session, *ResourceError) {
		return nil, bad(ref, f, ReasonInvalid, format, args...)
	}
	remote, err := remoteAS(ref, fld, hs.HostASN, hs.HostType, "hostASN", "hostType")
	if err != nil {
		return nil, err
	}
	if hs.BFDProfile != "" && !ul.bfdNames[hs.BFDProfile] {
		return nil, bad(ref, fld.Child("bfdProfile"), ReasonNotFound, "BFD profile %q is not defined in %s spec.bfdProfiles", hs.BFDProfile, ul.ref)
	}
	s := &session{veth: Veth{RouterName: routerVeth, HostName: hostVeth}}
	cfld := fld.Child("localCIDR")
	if hs.LocalCIDR.IPv4 == "" && hs.LocalCIDR.IPv6 == "" {
		return invalid(cfld, "needs ipv4, ipv6 or both")
	}
	for _, c := range []struct {
		s      string
		family int
		f      *field.Path
	}{{hs.LocalCIDR.IPv4, 4, cfld.Child("ipv4")}, {hs.LocalCIDR.IPv6, 6, cfld.Child("ipv6")}} {
		if c.s == "" {
			continue
		}
		p, err := parseNetwork(c.s, c.family)
		if err != nil {
			return invalid(c.f, "%v", err)
		}
		if err := checkUsableNetwork(p, ipv4LinkLocal); err != nil {
			return invalid(c.f, "%v", err)
		}
		r, err := ipam.RouterSide(p)
		if err != nil {
			return invalid(c.f, "%v", err)
		}
		h, err := ipam.HostSide(p, b.node.Index)
		if err != nil {
			return invalid(c.f, "%v", err)
		}
		s.veth.RouterAddrs = append(s.veth.RouterAddrs, r)
		s.veth.HostAddrs = append(s.veth.HostAddrs, h)
		s.linkNets = append(s.linkNets, p)
		nb := frr.Neighbor{
			Address:     h.Addr(),
			RemoteAS:    remote,
			IPv4Unicast: c.family == 4,
			IPv6Unicast: c.family == 6,
			RouteMapIn:  prefix + "_in",
			RouteMapOut: prefix + "_out",
		}
		if hs.BFDProfile != "" {
			nb.BFD, nb.BFDProfile = true, hs.BFDProfile
		}
		s.neighbors = append(s.neighbors, nb)
	}
	for _, dir := range []struct {
		f      *v1alpha1.RouteFilter
		suffix string
		child  string
	}{{hs.ToReceive, "_in", "toReceive"}, {hs.ToAdvertise, "_out", "toAdvertise"}} {
		pls, rm, err := buildFilter(ref, fld.Child(dir.child), dir.f, prefix+dir.suffix)
		if err != nil {
			return nil, err
		}
		s.prefixLists = append(s.prefixLists, pls...)
		s.routeMaps = append(s.routeMaps, rm)
	}
	return s, nil
}

// buildFilter turns a route filter into a route-map (and its prefix lists). Mode All is one
// permit clause; Filtered permits the listed prefixes per family and denies the rest (the
// route-map's implicit deny). Filtered with no prefixes is an explicit deny-all clause.
func buildFilter(ref Ref, fld *field.Path, f *v1alpha1.RouteFilter, mapName string) ([]frr.PrefixList, frr.RouteMap, *ResourceError) {
	rm := frr.RouteMap{Name: mapName}
	mode := v1alpha1.FilterAll
	if f != nil && f.Mode != "" {
		mode = f.Mode
	}
	switch mode {
	case v1alpha1.FilterAll:
		if f != nil && len(f.Prefixes) > 0 {
			return nil, rm, bad(ref, fld.Child("prefixes"), ReasonInvalid, "prefixes are only allowed with mode Filtered")
		}
		rm.Entries = []frr.RouteMapEntry{{Seq: 10, Action: frr.Permit}}
		return nil, rm, nil
	case v1alpha1.FilterFiltered:
	default:
		return nil, rm, bad(ref, fld.Child("mode"), ReasonInvalid, "%q must be All or Filtered", mode)
	}
	if err := checkLen(ref, fld.Child("prefixes"), len(f.Prefixes), maxPrefixes); err != nil {
		return nil, rm, err
	}
	v4 := frr.PrefixList{Name: mapName + "_v4"}
	v6 := frr.PrefixList{Name: mapName + "_v6", IPv6: true}
	seen := map[string]bool{}
	for i, pm := range f.Prefixes {
		pf := fld.Child("prefixes").Index(i)
		p, err := parseNetwork(pm.Prefix, 0)
		if err != nil {
			return nil, rm, bad(ref, pf.Child("prefix"), ReasonInvalid, "%v", err)
		}
		maxBits := int32(p.Addr().BitLen())
		e := frr.PrefixListEntry{Action: frr.Permit, Prefix: p}
		if pm.GE != nil {
			if *pm.GE <= int32(p.Bits()) || *pm.GE > maxBits {
				return nil, rm, bad(ref, pf.Child("ge"), ReasonInvalid, "%d must be greater than the prefix length %d and at most %d", *pm.GE, p.Bits(), maxBits)
			}
			e.GE = uint8(*pm.GE)
		}
		if pm.LE != nil {
			if *pm.LE < int32(p.Bits()) || *pm.LE > maxBits {
				return nil, rm, bad(ref, pf.Child("le"), ReasonInvalid, "%d must be between the prefix length %d and %d", *pm.LE, p.Bits(), maxBits)
			}
			if pm.GE != nil && *pm.GE > *pm.LE {
				return nil, rm, bad(ref, pf.Child("le"), ReasonInvalid, "%d must not be smaller than ge %d", *pm.LE, *pm.GE)
			}
			e.LE = uint8(*pm.LE)
			// FRR drops "le <max>" when ge is set (it means the same); render what FRR prints.
			if e.GE != 0 && int32(e.LE) == maxBits {
				e.LE = 0
			}
		}
		key := fmt.Sprintf("%s/%d/%d", p, e.GE, e.LE)
		if seen[key] {
			return nil, rm, bad(ref, pf, ReasonInvalid, "%q is listed twice", pm.Prefix)
		}
		seen[key] = true
		if p.Addr().Is4() {
			e.Seq = uint32(len(v4.Entries)+1) * 5
			v4.Entries = append(v4.Entries, e)
		} else {
			e.Seq = uint32(len(v6.Entries)+1) * 5
			v6.Entries = append(v6.Entries, e)
		}
	}
	var pls []frr.PrefixList
	if len(v4.Entries) > 0 {
		pls = append(pls, v4)
		rm.Entries = append(rm.Entries, frr.RouteMapEntry{Seq: 10, Action: frr.Permit, MatchIPv4PrefixList: v4.Name})
	}
	if len(v6.Entries) > 0 {
		pls = append(pls, v6)
		rm.Entries = append(rm.Entries, frr.RouteMapEntry{Seq: 20, Action: frr.Permit, MatchIPv6PrefixList: v6.Name})
	}
	if len(rm.Entries) == 0 {
		rm.Entries = []frr.RouteMapEntry{{Seq: 10, Action: frr.Deny}}
	}
	return pls, rm, nil
}
