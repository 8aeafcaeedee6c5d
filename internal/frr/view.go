package frr

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/weftnet/weft/internal/frrrules"
)

// This file turns a Config into the view the templates print: it validates every value the way
// FRR would, leaves out FRR's defaults and puts everything in the order bgpd, zebra and bfdd
// print it.

// FRR 8.4.4 defaults ("frr defaults traditional"). FRR does not print a setting that equals its
// default, so rendering one would make frr-reload.py re-apply it on every reload.
const (
	defaultBGPPort         = 179
	defaultEBGPMultihop    = 1
	defaultGRRestartTime   = 120
	defaultGRStalePathTime = 360
	defaultDADMaxMoves     = 5
	defaultDADTime         = 180
	defaultBFDMultiplier   = 3
	defaultBFDInterval     = 300
	defaultBFDMinimumTTL   = 254
)

// Name rules, the same as CheckShape's: Render refuses what the shape check would refuse.
const (
	nameRule   = "1..63 characters of A-Z a-z 0-9 _ . -"
	ifNameRule = "1..15 characters of A-Z a-z 0-9 _ . -"
)

// validName reports whether s is 1..max characters of [A-Za-z0-9_.-] (a loop: a regexp costs a
// third of Render's validation time at the reference scale).
func validName(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// newView validates cfg and builds the view of it.
func newView(cfg *Config, secrets Secrets) (*view, error) {
	if cfg == nil {
		return nil, errors.New("nil config")
	}
	v := &view{IPForwarding: cfg.IPForwarding, IPv6Forwarding: cfg.IPv6Forwarding}
	lines := 4

	// VRFs print sorted by name in both the "vrf" blocks (FRR keeps them in a tree) and, for a
	// freshly loaded file, the BGP instances (FRR keeps those in creation order).
	vrfs := sortedCopy(cfg.VRFs, func(a, b VRF) int { return strings.Compare(a.Name, b.Name) })
	if len(vrfs) > 0 && cfg.Router.ASN == 0 {
		return nil, errors.New("vrfs need the default bgp instance (router asn is 0)")
	}
	// seenVNI maps a VNI to the VRF that uses it, or to "" for an L2VNI's vni block.
	seenVNI := make(map[uint32]string, len(vrfs)+len(cfg.Router.EVPN.VNIs))
	for i, vrf := range vrfs {
		if i > 0 && vrfs[i-1].Name == vrf.Name {
			return nil, fmt.Errorf("vrf %s is defined twice", vrf.Name)
		}
		if err := checkVRF(&vrf); err != nil {
			return nil, fmt.Errorf("vrf %s: %w", vrf.Name, err)
		}
		if other, dup := seenVNI[vrf.VNI]; dup {
			return nil, fmt.Errorf("vrf %s: vni %d is already used by vrf %s", vrf.Name, vrf.VNI, other)
		}
		seenVNI[vrf.VNI] = vrf.Name
		v.VRFs = append(v.VRFs, vrfView{Name: vrf.Name, VNI: u32(vrf.VNI)})
		lines += 4
	}

	if cfg.Router.ASN != 0 {
		r, n, err := defaultRouter(&cfg.Router, secrets, seenVNI)
		if err != nil {
			return nil, fmt.Errorf("router bgp %d: %w", cfg.Router.ASN, err)
		}
		v.Routers = append(v.Routers, r)
		lines += n
	} else if r := &cfg.Router; len(r.Neighbors) > 0 || len(r.IPv4Networks) > 0 || len(r.IPv6Networks) > 0 ||
		r.EVPN.AdvertiseAllVNI || len(r.EVPN.VNIs) > 0 || r.GracefulRestart != nil {
		return nil, errors.New("router: neighbors, networks, evpn and graceful-restart need an asn")
	}
	for i := range vrfs {
		r, n, err := vrfRouter(&vrfs[i], secrets)
		if err != nil {
			return nil, fmt.Errorf("router bgp %d vrf %s: %w", vrfs[i].ASN, vrfs[i].Name, err)
		}
		v.Routers = append(v.Routers, r)
		lines += n
	}

	var err error
	if v.PrefixLists4, v.PrefixLists6, err = prefixLists(cfg.PrefixLists); err != nil {
		return nil, err
	}
	if v.RouteMaps, err = routeMaps(cfg.RouteMaps); err != nil {
		return nil, err
	}
	if v.BFDProfiles, err = bfdProfiles(cfg.BFDProfiles); err != nil {
		return nil, err
	}
	lines += len(v.PrefixLists4) + len(v.PrefixLists6) + 3*len(v.RouteMaps) + 8*len(v.BFDProfiles)
	v.sizeHint = lines * 40
	return v, nil
}

func checkVRF(vrf *VRF) error {
	switch {
	case !validName(vrf.Name, 15):
		return fmt.Errorf("name %q must be %s", vrf.Name, ifNameRule)
	case vrf.Name == frrrules.DefaultVRF:
		// "router bgp N vrf default" is the default instance in FRR.
		return errors.New(`name "default" is FRR's default vrf`)
	case frrrules.VNI.Check(int64(vrf.VNI)) != nil:
		return fmt.Errorf("vni %w", frrrules.VNI.Check(int64(vrf.VNI)))
	case vrf.ASN == 0:
		return errors.New("asn is 0")
	}
	return nil
}

// defaultRouter builds the default-VRF instance. It returns the view and a line estimate.
func defaultRouter(r *Router, secrets Secrets, seenVNI map[uint32]string) (routerView, int, error) {
	rv := routerView{ASN: u32(r.ASN)}
	var err error
	if rv.RouterID, err = routerID(r.RouterID); err != nil {
		return rv, 0, err
	}
	if gr := r.GracefulRestart; gr != nil {
		rv.GR = &grView{}
		if t := gr.StalePathTimeSeconds; t != nil {
			if *t < 1 || *t > 4095 {
				return rv, 0, fmt.Errorf("graceful-restart stalepath-time %d is outside 1..4095", *t)
			}
			if *t != defaultGRStalePathTime {
				rv.GR.StalePathTime = u32(*t)
			}
		}
		if t := gr.RestartTimeSeconds; t != nil {
			if *t > 4095 {
				return rv, 0, fmt.Errorf("graceful-restart restart-time %d is outside 0..4095", *t)
			}
			if *t != defaultGRRestartTime {
				rv.GR.RestartTime = u32(*t)
			}
		}
	}
	if rv.Neighbors, err = neighbors(r.ASN, r.Neighbors, secrets); err != nil {
		return rv, 0, err
	}
	if rv.IPv4, err = unicast(rv.Neighbors, r.IPv4Networks, 4); err != nil {
		return rv, 0, err
	}
	if rv.IPv6, err = unicast(rv.Neighbors, r.IPv6Networks, 6); err != nil {
		return rv, 0, err
	}
	ev := &evpnView{AdvertiseAllVNI: r.EVPN.AdvertiseAllVNI}
	for _, n := range rv.Neighbors {
		if n.evpn {
			ev.Neighbors = append(ev.Neighbors, n.ID)
		}
	}
	if ev.DADOff, ev.DADMaxMoves, ev.DADTime, err = dupAddr(r.EVPN.DupAddrDetection); err != nil {
		return rv, 0, err
	}
	vnis := sortedCopy(r.EVPN.VNIs, func(a, b EVPNVNI) int { return cmp.Compare(a.VNI, b.VNI) })
	lines := 8 + 3*len(rv.Neighbors)
	ev.VNIs = make([]vniView, 0, len(vnis))
	for _, x := range vnis {
		if x.VNI < 1 || x.VNI > 16777215 {
			return rv, 0, fmt.Errorf("evpn vni %d is outside 1..16777215", x.VNI)
		}
		if other, dup := seenVNI[x.VNI]; dup {
			if other == "" {
				return rv, 0, fmt.Errorf("evpn vni %d is defined twice", x.VNI)
			}
			return rv, 0, fmt.Errorf("evpn vni %d is already used by vrf %s", x.VNI, other)
		}
		seenVNI[x.VNI] = ""
		vv := vniView{VNI: u32(x.VNI)}
		if vv.RD, err = rd(x.RD); err != nil {
			return rv, 0, fmt.Errorf("evpn vni %d: %w", x.VNI, err)
		}
		if vv.ImportRTs, err = routeTargets(x.ImportRTs); err != nil {
			return rv, 0, fmt.Errorf("evpn vni %d: import %w", x.VNI, err)
		}
		if vv.ExportRTs, err = routeTargets(x.ExportRTs); err != nil {
			return rv, 0, fmt.Errorf("evpn vni %d: export %w", x.VNI, err)
		}
		ev.VNIs = append(ev.VNIs, vv)
		lines += 3 + len(vv.ImportRTs) + len(vv.ExportRTs)
	}
	// bgpd refuses both outside the instance that has advertise-all-vni ("only supported under
	// the EVPN VRF").
	if !ev.AdvertiseAllVNI && (len(ev.VNIs) > 0 || ev.DADOff || ev.DADMaxMoves != "") {
		return rv, 0, errors.New("evpn vni blocks and dup-addr-detection need advertise-all-vni")
	}
	if len(ev.Neighbors) > 0 || ev.AdvertiseAllVNI {
		rv.EVPN = ev
	}
	return rv, lines, nil
}

// vrfRouter builds a tenant VRF's BGP instance.
func vrfRouter(vrf *VRF, secrets Secrets) (routerView, int, error) {
	rv := routerView{ASN: u32(vrf.ASN), VRF: vrf.Name}
	var err error
	if rv.RouterID, err = routerID(vrf.RouterID); err != nil {
		return rv, 0, err
	}
	if rv.Neighbors, err = neighbors(vrf.ASN, vrf.Neighbors, secrets); err != nil {
		return rv, 0, err
	}
	if rv.IPv4, err = unicast(rv.Neighbors, vrf.IPv4Networks, 4); err != nil {
		return rv, 0, err
	}
	if rv.IPv6, err = unicast(rv.Neighbors, vrf.IPv6Networks, 6); err != nil {
		return rv, 0, err
	}
	ev := &evpnView{AdvertiseIPv4: vrf.AdvertiseIPv4, AdvertiseIPv6: vrf.AdvertiseIPv6}
	for _, n := range rv.Neighbors {
		if n.evpn {
			ev.Neighbors = append(ev.Neighbors, n.ID)
		}
	}
	if ev.RD, err = rd(vrf.RD); err != nil {
		return rv, 0, err
	}
	if ev.ImportRTs, err = routeTargets(vrf.ImportRTs); err != nil {
		return rv, 0, fmt.Errorf("import %w", err)
	}
	if ev.ExportRTs, err = routeTargets(vrf.ExportRTs); err != nil {
		return rv, 0, fmt.Errorf("export %w", err)
	}
	if len(ev.Neighbors) > 0 || ev.AdvertiseIPv4 || ev.AdvertiseIPv6 || ev.RD != "" || len(ev.ImportRTs) > 0 || len(ev.ExportRTs) > 0 {
		rv.EVPN = ev
	}
	return rv, 16 + 4*len(rv.Neighbors), nil
}

func routerID(a netip.Addr) (string, error) {
	if !a.IsValid() {
		return "", nil
	}
	if !a.Is4() {
		return "", fmt.Errorf("router-id %s is not an IPv4 address", a)
	}
	return a.String(), nil
}

// neighbors validates and formats an instance's neighbors in the order bgpd prints them:
// unnumbered sessions by interface name, then IPv4, then IPv6 addresses, numerically.
func neighbors(asn uint32, in []Neighbor, secrets Secrets) ([]neighborView, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make([]neighborView, 0, len(in))
	localAS := u32(asn)
	for i := range in {
		n := &in[i]
		nv, err := neighbor(n, localAS, secrets)
		if err != nil {
			return nil, fmt.Errorf("neighbor %s: %w", n.ID(), err)
		}
		out = append(out, nv)
	}
	slices.SortFunc(out, compareNeighbors)
	for i := 1; i < len(out); i++ {
		if out[i].ID == out[i-1].ID {
			return nil, fmt.Errorf("neighbor %s is defined twice", out[i].ID)
		}
	}
	return out, nil
}

func neighbor(n *Neighbor, localAS string, secrets Secrets) (neighborView, error) {
	nv := neighborView{
		Model: n,
		ipv4:  n.IPv4Unicast, ipv6: n.IPv6Unicast, evpn: n.EVPN,
		routeMapIn: n.RouteMapIn, routeMapOut: n.RouteMapOut,
	}
	if err := peer(n, &nv); err != nil {
		return nv, err
	}

	ibgp := false
	switch n.RemoteAS {
	case RemoteASInternal:
		ibgp = true
	case RemoteASExternal:
	default:
		if _, err := parseASN(n.RemoteAS); err != nil {
			return nv, fmt.Errorf("remote-as: %w", err)
		}
		ibgp = n.RemoteAS == localAS
	}
	nv.RemoteAS = n.RemoteAS

	if n.BFDProfile != "" {
		if !n.BFD {
			return nv, errors.New("bfd profile is set but bfd is off")
		}
		if !validName(n.BFDProfile, 63) {
			return nv, fmt.Errorf("bfd profile name must be %s", nameRule)
		}
	}
	nv.BFD, nv.BFDProfile = n.BFD, n.BFDProfile

	if n.Password != nil {
		if secrets == nil {
			return nv, errors.New("password secret given but no secrets to look it up")
		}
		p, ok := secrets.Password(*n.Password)
		if !ok {
			return nv, fmt.Errorf("password secret %s key %s not found", secretName(*n.Password), n.Password.Key)
		}
		if err := ValidPassword(p); err != nil {
			// The error never contains the value.
			return nv, fmt.Errorf("password in secret %s key %s: %w", secretName(*n.Password), n.Password.Key, err)
		}
		nv.Password = p
	}
	if n.Port != nil && *n.Port != defaultBGPPort {
		nv.Port = strconv.Itoa(int(*n.Port))
	}
	if h := n.EBGPMultihop; h != nil {
		switch {
		case frrrules.EBGPMultihop.Check(int64(*h)) != nil:
			return nv, fmt.Errorf("ebgp-multihop %w", frrrules.EBGPMultihop.Check(int64(*h)))
		case nv.Interface:
			// bgpd refuses it: "Operation not allowed on a directly connected neighbor".
			return nv, errors.New("ebgp-multihop is not allowed on an unnumbered session")
		case ibgp:
			// bgpd accepts the command on iBGP sessions but ignores it and never prints it, so
			// rendering it would make every reload re-add it. Plan rejects it; be FRR here.
		case *h != defaultEBGPMultihop:
			nv.EBGPMultihop = u32(*h)
		}
	}
	if (n.HoldTimeSeconds == nil) != (n.KeepaliveTimeSeconds == nil) {
		return nv, errors.New("hold and keepalive times must be set together")
	}
	if n.HoldTimeSeconds != nil {
		h, k := *n.HoldTimeSeconds, *n.KeepaliveTimeSeconds
		if err := frrrules.HoldTime(int64(h)); err != nil {
			return nv, fmt.Errorf("hold time %w", err)
		}
		if err := frrrules.Keepalive.Check(int64(k)); err != nil {
			return nv, fmt.Errorf("keepalive time %w", err)
		}
		// Printed even when equal to the defaults: bgpd remembers that they were configured.
		nv.Keepalive, nv.Hold = u32(k), u32(h)
	}
	if c := n.ConnectTimeSeconds; c != nil {
		if err := frrrules.ConnectTime.Check(int64(*c)); err != nil {
			return nv, fmt.Errorf("connect time %w", err)
		}
		nv.ConnectTime = u32(*c)
	}
	for _, rm := range []string{n.RouteMapIn, n.RouteMapOut} {
		if rm != "" && !validName(rm, 63) {
			return nv, fmt.Errorf("route-map name %q must be %s", rm, nameRule)
		}
	}
	if (n.RouteMapIn != "" || n.RouteMapOut != "") && !n.IPv4Unicast && !n.IPv6Unicast {
		return nv, errors.New("route-maps need an activated unicast family")
	}
	return nv, nil
}

// peer sets the neighbor's ID: its address, or its interface for an unnumbered session.
func peer(n *Neighbor, nv *neighborView) error {
	switch {
	case n.Interface != "" && n.Address.IsValid():
		return errors.New("address and interface are both set")
	case n.Interface != "":
		if !validName(n.Interface, 15) {
			return fmt.Errorf("interface name must be %s", ifNameRule)
		}
		// bgpd would read an interface named like an address as a numbered neighbor.
		if _, err := netip.ParseAddr(n.Interface); err == nil {
			return errors.New("interface name looks like an ip address")
		}
		nv.ID, nv.Interface = n.Interface, true
	case n.Address.IsValid():
		a := n.Address
		if a.Zone() != "" || a.Is4In6() {
			return errors.New("address must be plain ipv4 or ipv6 (no zone, not ipv4-mapped)")
		}
		nv.ID, nv.addr = a.String(), a
	default:
		return errors.New("neither address nor interface is set")
	}
	return nil
}

func secretName(r SecretRef) string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// unicast builds one unicast address family; nil when there is nothing to print in it.
func unicast(nbs []neighborView, nets []netip.Prefix, family int) (*unicastView, error) {
	u := &unicastView{}
	if len(nets) > 0 {
		ps := make([]netip.Prefix, 0, len(nets))
		for _, p := range nets {
			if err := checkPrefix(p, family); err != nil {
				return nil, fmt.Errorf("network %s: %w", p, err)
			}
			// bgpd masks host bits itself; print what it prints.
			ps = append(ps, p.Masked())
		}
		slices.SortFunc(ps, comparePrefixes)
		ps = slices.Compact(ps)
		u.Networks = make([]string, len(ps))
		for i, p := range ps {
			u.Networks[i] = p.String()
		}
	}
	for _, n := range nbs {
		if (family == 4 && n.ipv4) || (family == 6 && n.ipv6) {
			u.Neighbors = append(u.Neighbors, afNeighborView{ID: n.ID, RouteMapIn: n.routeMapIn, RouteMapOut: n.routeMapOut, NextHopSelf: n.Model.NextHopSelf})
		}
	}
	if len(u.Networks) == 0 && len(u.Neighbors) == 0 {
		return nil, nil
	}
	return u, nil
}

func checkPrefix(p netip.Prefix, family int) error {
	a := p.Addr()
	switch {
	case !p.IsValid():
		return errors.New("invalid prefix")
	}
	if err := frrrules.Family(a, family); err != nil {
		return fmt.Errorf("prefix %s: %w", p, err)
	}
	return nil
}

// comparePrefixes is the order of FRR's route tables (a prefix before its more specifics):
// address first, then length. netip.Prefix.Compare sorts by length first, which is not it.
func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

func dupAddr(d DupAddrDetection) (off bool, maxMoves, secs string, err error) {
	if d.Disabled {
		return true, "", "", nil
	}
	m, t := d.MaxMoves, d.TimeSeconds
	if m == 0 {
		m = defaultDADMaxMoves
	}
	if t == 0 {
		t = defaultDADTime
	}
	if m < 2 || m > 1000 {
		return false, "", "", fmt.Errorf("dup-addr-detection max-moves %d is outside 2..1000", m)
	}
	if t < 2 || t > 1800 {
		return false, "", "", fmt.Errorf("dup-addr-detection time %d is outside 2..1800", t)
	}
	// bgpd prints nothing for its default thresholds, so leaving the line out is how they are
	// stated explicitly: a reload then removes any other setting.
	if m == defaultDADMaxMoves && t == defaultDADTime {
		return false, "", "", nil
	}
	return false, u32(m), u32(t), nil
}
