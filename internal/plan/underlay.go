package plan

import (
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/frrrules"
	"github.com/weftnet/weft/internal/ipam"
)

// underlay is a validated Underlay, converted for this node.
type underlay struct {
	ref    Ref
	asn    uint32
	router frr.Router
	bfd    []frr.BFDProfile
	kernel Underlay
	// nets are the default-VRF networks the underlay uses (VTEP and router-ID CIDRs).
	nets []ownedNet
	// bfdNames are the profiles host sessions may refer to.
	bfdNames map[string]bool
	// own are the node's own addresses (VTEPs, router ID): never a neighbor.
	own []netip.Addr
}

// checkUnderlay validates an Underlay and converts it for this node.
func (b *builder) checkUnderlay(u *v1alpha1.Underlay) (*underlay, *ResourceError) {
	ref := refOf(v1alpha1.KindUnderlay, &u.ObjectMeta)
	spec := field.NewPath("spec")
	invalid := func(fld *field.Path, format string, args ...any) (*underlay, *ResourceError) {
		return nil, bad(ref, fld, ReasonInvalid, format, args...)
	}
	out := &underlay{ref: ref, bfdNames: map[string]bool{}}
	if err := checkASN(u.Spec.ASN); err != nil {
		return invalid(spec.Child("asn"), "%v", err)
	}
	out.asn = uint32(u.Spec.ASN)

	for _, l := range []struct {
		fld      string
		n, limit int
	}{{"bfdProfiles", len(u.Spec.BFDProfiles), maxBFDProfiles}, {"interfaces", len(u.Spec.Interfaces), maxInterfaces}, {"neighbors", len(u.Spec.Neighbors), maxNeighbors}} {
		if err := checkLen(ref, spec.Child(l.fld), l.n, l.limit); err != nil {
			return nil, err
		}
	}

	// BFD profiles first: neighbors refer to them.
	if err := checkBFDProfiles(ref, spec.Child("bfdProfiles"), u.Spec.BFDProfiles, out); err != nil {
		return nil, err
	}

	vtep4, vtep6, routerID, err := b.checkAddresses(ref, spec, u, out)
	if err != nil {
		return nil, err
	}

	if err := checkInterfaces(ref, spec.Child("interfaces"), u.Spec.Interfaces, out); err != nil {
		return nil, err
	}

	// Neighbors.
	out.own = []netip.Addr{routerID}
	for _, v := range []netip.Prefix{vtep4, vtep6} {
		if v.IsValid() {
			out.own = append(out.own, v.Addr())
		}
	}
	if len(u.Spec.Neighbors) == 0 {
		return invalid(spec.Child("neighbors"), "at least one neighbor is required")
	}
	seenPeer := map[string]bool{}
	for i, n := range u.Spec.Neighbors {
		fld := spec.Child("neighbors").Index(i)
		nb, err := b.checkNeighbor(ref, fld, n, out)
		if err != nil {
			return nil, err
		}
		if seenPeer[nb.ID()] {
			return invalid(fld, "neighbor %q is listed twice", nb.ID())
		}
		seenPeer[nb.ID()] = true
		nb.IPv4Unicast = vtep4.IsValid()
		nb.IPv6Unicast = vtep6.IsValid()
		nb.EVPN = true
		out.router.Neighbors = append(out.router.Neighbors, nb)
	}

	// Graceful restart.
	if gr := u.Spec.GracefulRestart; gr != nil {
		out.router.GracefulRestart = &frr.GracefulRestart{}
		var err *ResourceError
		gfld := spec.Child("gracefulRestart")
		if out.router.GracefulRestart.RestartTimeSeconds, err = rangeU32(ref, gfld.Child("restartTimeSeconds"), gr.RestartTimeSeconds, frrrules.GRTime); err != nil {
			return nil, err
		}
		if out.router.GracefulRestart.StalePathTimeSeconds, err = rangeU32(ref, gfld.Child("stalePathTimeSeconds"), gr.StalePathTimeSeconds, frrrules.GRTime); err != nil {
			return nil, err
		}
	}

	out.router.ASN = out.asn
	out.router.RouterID = routerID
	if vtep4.IsValid() {
		out.router.IPv4Networks = []netip.Prefix{vtep4}
		out.kernel.VTEPs = append(out.kernel.VTEPs, vtep4)
		out.kernel.LocalIP = vtep4.Addr()
	}
	if vtep6.IsValid() {
		out.router.IPv6Networks = []netip.Prefix{vtep6}
		out.kernel.VTEPs = append(out.kernel.VTEPs, vtep6)
		if !out.kernel.LocalIP.IsValid() {
			out.kernel.LocalIP = vtep6.Addr()
		}
	}
	out.kernel.RouterMAC = RouterMAC(out.kernel.LocalIP)
	return out, nil
}

// checkBFDProfiles validates the BFD profiles into out.bfd and out.bfdNames.
func checkBFDProfiles(ref Ref, path *field.Path, profiles []v1alpha1.BFDProfile, out *underlay) *ResourceError {
	for i, p := range profiles {
		fld := path.Index(i)
		if !bfdNamePattern.MatchString(p.Name) {
			return bad(ref, fld.Child("name"), ReasonInvalid, "%q must match %s", p.Name, bfdNamePattern)
		}
		if out.bfdNames[p.Name] {
			return bad(ref, fld.Child("name"), ReasonInvalid, "profile %q is defined twice", p.Name)
		}
		out.bfdNames[p.Name] = true
		fp := frr.BFDProfile{Name: p.Name, EchoMode: p.EchoMode, PassiveMode: p.PassiveMode}
		var err *ResourceError
		if fp.ReceiveIntervalMs, err = rangeU32(ref, fld.Child("receiveIntervalMs"), p.ReceiveIntervalMs, frrrules.BFDInterval); err != nil {
			return err
		}
		if fp.TransmitIntervalMs, err = rangeU32(ref, fld.Child("transmitIntervalMs"), p.TransmitIntervalMs, frrrules.BFDInterval); err != nil {
			return err
		}
		if fp.DetectMultiplier, err = rangeU32(ref, fld.Child("detectMultiplier"), p.DetectMultiplier, frrrules.BFDMultiplier); err != nil {
			return err
		}
		if fp.MinimumTTL, err = rangeU32(ref, fld.Child("minimumTTL"), p.MinimumTTL, frrrules.BFDMinimumTTL); err != nil {
			return err
		}
		out.bfd = append(out.bfd, fp)
	}
	sortBFD(out.bfd)
	return nil
}

// checkAddresses validates the tunnel endpoint CIDRs (at most one per family, one address
// per node index) and the router ID, recording the networks in out.nets.
func (b *builder) checkAddresses(ref Ref, spec *field.Path, u *v1alpha1.Underlay, out *underlay) (vtep4, vtep6 netip.Prefix, routerID netip.Addr, rerr *ResourceError) {
	fail := func(fld *field.Path, format string, args ...any) (netip.Prefix, netip.Prefix, netip.Addr, *ResourceError) {
		return netip.Prefix{}, netip.Prefix{}, netip.Addr{}, bad(ref, fld, ReasonInvalid, format, args...)
	}
	// Tunnel endpoints: at most one CIDR per family, one address per node index.
	cidrs := u.Spec.TunnelEndpoint.CIDRs
	tfld := spec.Child("tunnelEndpoint", "cidrs")
	if len(cidrs) == 0 || len(cidrs) > 2 {
		return fail(tfld, "must list one or two CIDRs (at most one per address family), got %d", len(cidrs))
	}
	v6At := 0
	for i, c := range cidrs {
		p, err := parseNetwork(c, 0)
		if err != nil {
			return fail(tfld.Index(i), "%v", err)
		}
		if err := checkUsableNetwork(p, noLinkLocal); err != nil {
			return fail(tfld.Index(i), "%v", err)
		}
		a, err := ipam.NodeAddress(p, b.node.Index)
		if err != nil {
			return fail(tfld.Index(i), "%v", err)
		}
		if p.Addr().Is4() {
			if vtep4.IsValid() {
				return fail(tfld.Index(i), "only one IPv4 CIDR is allowed")
			}
			vtep4 = a
		} else {
			if vtep6.IsValid() {
				return fail(tfld.Index(i), "only one IPv6 CIDR is allowed")
			}
			vtep6, v6At = a, i
		}
		out.nets = append(out.nets, ownedNet{p, ref})
	}
	if vtep6.IsValid() && !vtep4.IsValid() && b.node.FRR.LacksIPv6VTEPs() {
		// The VXLAN device would take the IPv6 address as its source and FRR would originate
		// no usable EVPN route: the segments would be silently dead. Say so instead.
		return fail(tfld.Index(v6At), "an IPv6-only VTEP needs FRR 10.6 or later (EVPN over an IPv6 underlay); this node runs FRR %s: add an IPv4 CIDR, which the VXLAN devices then use", b.node.FRR)
	}

	// Router ID.
	if u.Spec.RouterIDCIDR != "" {
		p, err := parseNetwork(u.Spec.RouterIDCIDR, 4)
		if err != nil {
			return fail(spec.Child("routerIDCIDR"), "%v", err)
		}
		if err := checkUsableNetwork(p, noLinkLocal); err != nil {
			return fail(spec.Child("routerIDCIDR"), "%v", err)
		}
		a, err := ipam.NodeAddress(p, b.node.Index)
		if err != nil {
			return fail(spec.Child("routerIDCIDR"), "%v", err)
		}
		routerID = a.Addr()
		out.nets = append(out.nets, ownedNet{p, ref})
	} else if vtep4.IsValid() {
		routerID = vtep4.Addr()
	} else {
		return fail(spec.Child("routerIDCIDR"), "is required when tunnelEndpoint has no IPv4 CIDR (the router ID is an IPv4 address)")
	}
	return vtep4, vtep6, routerID, nil
}

// checkInterfaces validates the NICs to move into the router namespace into out.kernel.
func checkInterfaces(ref Ref, path *field.Path, ifs []v1alpha1.UnderlayInterface, out *underlay) *ResourceError {
	seenIf := map[string]bool{}
	for i, itf := range ifs {
		fld := path.Index(i)
		if itf.Type != v1alpha1.InterfaceNetworkDevice {
			return bad(ref, fld.Child("type"), ReasonInvalid, "%q is not a supported interface type (NetworkDevice)", itf.Type)
		}
		if itf.NetworkDevice == nil {
			return bad(ref, fld.Child("networkDevice"), ReasonInvalid, "is required when type is NetworkDevice")
		}
		n := itf.NetworkDevice.Name
		if err := checkIfName(n); err != nil {
			return bad(ref, fld.Child("networkDevice", "name"), ReasonInvalid, "%v", err)
		}
		if n == "lo" || hasReservedPrefix(n) {
			return bad(ref, fld.Child("networkDevice", "name"), ReasonInvalid, "%q cannot be moved into the router namespace", n)
		}
		if seenIf[n] {
			return bad(ref, fld.Child("networkDevice", "name"), ReasonInvalid, "%q is listed twice", n)
		}
		seenIf[n] = true
		out.kernel.Interfaces = append(out.kernel.Interfaces, n)
	}
	return nil
}

// descriptionPattern is what a neighbor's description may hold: FRR prints it as the rest of
// its line, so no character may start a comment, a second command or a second line, and
// words are separated by one space (FRR would join them so, and a reload would see a change).
var descriptionPattern = regexp.MustCompile(`^[A-Za-z0-9_.,:/()@+-]+( [A-Za-z0-9_.,:/()@+-]+)*$`)

func (b *builder) checkNeighbor(ref Ref, fld *field.Path, n v1alpha1.Neighbor, ul *underlay) (frr.Neighbor, *ResourceError) {
	var nb frr.Neighbor
	invalid := func(f *field.Path, format string, args ...any) (frr.Neighbor, *ResourceError) {
		return nb, bad(ref, f, ReasonInvalid, format, args...)
	}
	if d := n.Description; d != "" {
		if len(d) > 80 || !descriptionPattern.MatchString(d) {
			return invalid(fld.Child("description"), "%q must be at most 80 characters: words of letters, digits and _ . , : / ( ) @ + - separated by single spaces", d)
		}
		nb.Description = d
	}
	switch {
	case n.Address != "" && n.Interface != "":
		return invalid(fld, "address and interface are mutually exclusive")
	case n.Address != "":
		a, err := netip.ParseAddr(n.Address)
		if err != nil || a.Zone() != "" || a.Is4In6() {
			return invalid(fld.Child("address"), "%q is not an IP address", n.Address)
		}
		if err := checkUsableAddr(a, ipv4LinkLocal); err != nil {
			return invalid(fld.Child("address"), "%s cannot be a BGP neighbor: %v", a, err)
		}
		for _, own := range ul.own {
			if a == own {
				return invalid(fld.Child("address"), "%s is this node's own VTEP or router ID, not a neighbor", a)
			}
		}
		nb.Address = a
	case n.Interface != "":
		if err := checkIfName(n.Interface); err != nil {
			return invalid(fld.Child("interface"), "%v", err)
		}
		if _, err := netip.ParseAddr(n.Interface); err == nil {
			return invalid(fld.Child("interface"), "%q is an address: a numbered session sets address, an unnumbered one the interface's name", n.Interface)
		}
		if n.Interface == "lo" || hasReservedPrefix(n.Interface) {
			return invalid(fld.Child("interface"), "%q is not an uplink: an unnumbered session needs the interface to the fabric", n.Interface)
		}
		nb.Interface = n.Interface
	default:
		return invalid(fld, "one of address and interface is required")
	}
	remote, err := remoteAS(ref, fld, n.ASN, n.Type, "asn", "type")
	if err != nil {
		return nb, err
	}
	nb.RemoteAS = remote
	if n.Port != nil {
		if err := frrrules.Port.Check(int64(*n.Port)); err != nil {
			return invalid(fld.Child("port"), "%v", err)
		}
		p := uint16(*n.Port)
		nb.Port = &p
	}
	if ps := n.PasswordSecret; ps != nil {
		ref, err := b.checkPassword(ref, fld.Child("passwordSecret"), ps)
		if err != nil {
			return nb, err
		}
		nb.Password = ref
	}
	if (n.HoldTimeSeconds == nil) != (n.KeepaliveTimeSeconds == nil) {
		return invalid(fld.Child("keepaliveTimeSeconds"), "holdTimeSeconds and keepaliveTimeSeconds must be set together")
	}
	if n.HoldTimeSeconds != nil {
		h, k := *n.HoldTimeSeconds, *n.KeepaliveTimeSeconds
		if err := frrrules.HoldTime(int64(h)); err != nil {
			return invalid(fld.Child("holdTimeSeconds"), "%v", err)
		}
		if err := frrrules.Keepalive.Check(int64(k)); err != nil {
			return invalid(fld.Child("keepaliveTimeSeconds"), "%v", err)
		}
		if h != 0 && k >= h {
			return invalid(fld.Child("keepaliveTimeSeconds"), "%d must be smaller than holdTimeSeconds %d", k, h)
		}
		hu, ku := uint32(h), uint32(k)
		nb.HoldTimeSeconds, nb.KeepaliveTimeSeconds = &hu, &ku
	}
	var rerr *ResourceError
	if nb.ConnectTimeSeconds, rerr = rangeU32(ref, fld.Child("connectTimeSeconds"), n.ConnectTimeSeconds, frrrules.ConnectTime); rerr != nil {
		return nb, rerr
	}
	if nb.EBGPMultihop, rerr = rangeU32(ref, fld.Child("ebgpMultihop"), n.EBGPMultihop, frrrules.EBGPMultihop); rerr != nil {
		return nb, rerr
	}
	if nb.EBGPMultihop != nil && (nb.RemoteAS == frr.RemoteASInternal || nb.RemoteAS == strconv.FormatUint(uint64(ul.asn), 10)) {
		return invalid(fld.Child("ebgpMultihop"), "applies only to eBGP sessions")
	}
	if nb.EBGPMultihop != nil && nb.Interface != "" {
		return invalid(fld.Child("ebgpMultihop"), "cannot be used with an unnumbered (interface) session")
	}
	if n.BFDProfile != "" {
		if !ul.bfdNames[n.BFDProfile] {
			return nb, bad(ref, fld.Child("bfdProfile"), ReasonNotFound, "BFD profile %q is not defined in spec.bfdProfiles", n.BFDProfile)
		}
		nb.BFD = true
		nb.BFDProfile = n.BFDProfile
	}
	return nb, nil
}

// remoteAS turns an "asn XOR type" pair into FRR's remote-as argument.
func remoteAS(ref Ref, fld *field.Path, asn *int64, typ v1alpha1.PeerType, asnField, typeField string) (string, *ResourceError) {
	switch {
	case asn != nil && typ != "":
		return "", bad(ref, fld.Child(typeField), ReasonInvalid, "%s and %s are mutually exclusive", asnField, typeField)
	case asn != nil:
		if err := checkASN(*asn); err != nil {
			return "", bad(ref, fld.Child(asnField), ReasonInvalid, "%v", err)
		}
		return strconv.FormatInt(*asn, 10), nil
	case typ == v1alpha1.PeerInternal:
		return frr.RemoteASInternal, nil
	case typ == v1alpha1.PeerExternal:
		return frr.RemoteASExternal, nil
	case typ != "":
		return "", bad(ref, fld.Child(typeField), ReasonInvalid, "%q must be Internal or External", typ)
	default:
		return "", bad(ref, fld, ReasonInvalid, "one of %s and %s is required", asnField, typeField)
	}
}

func (b *builder) checkPassword(ref Ref, fld *field.Path, ps *v1alpha1.SecretKeyRef) (*frr.SecretRef, *ResourceError) {
	key := ps.Key
	if key == "" {
		key = "password"
	}
	if ps.Name == "" {
		return nil, bad(ref, fld.Child("name"), ReasonInvalid, "is required")
	}
	if f, err := checkSecretRef(ps.Name, key); err != nil {
		return nil, bad(ref, fld.Child(f), ReasonInvalid, "%v", err)
	}
	data, ok := b.secrets[secretKey{ref.Namespace, ps.Name}]
	if !ok {
		return nil, bad(ref, fld.Child("name"), ReasonNotFound, "Secret %q not found in namespace %q", ps.Name, ref.Namespace)
	}
	v, ok := data[key]
	if !ok {
		return nil, bad(ref, fld.Child("key"), ReasonNotFound, "Secret %q has no key %q", ps.Name, key)
	}
	if err := frr.ValidPassword(string(v)); err != nil {
		// Never echo the value: it is a secret.
		return nil, bad(ref, fld, ReasonInvalid, "the password in Secret %q key %q is unusable: it must be 1..80 printable ASCII characters without whitespace, !, #, quotes, backslash or backtick", ps.Name, key)
	}
	return &frr.SecretRef{Name: ps.Name, Key: key}, nil
}

func sortBFD(ps []frr.BFDProfile) {
	slices.SortFunc(ps, func(x, y frr.BFDProfile) int { return strings.Compare(x.Name, y.Name) })
}
