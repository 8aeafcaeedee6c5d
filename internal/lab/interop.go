package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/plan"
)

// What GoBGP learns from weft and what weft learns from GoBGP: the interop checks. GoBGP's
// RIB is read with `gobgp -j global rib -a evpn` and compared field by field with what each
// node's FRR says it originates (its RD and route targets per VNI) and with what the lab
// configured (the VNIs, the tenants' route targets, the router MAC weft derives from a VTEP).

// EVPNRoute is one EVPN route in GoBGP's RIB, reduced to the fields a VTEP acts on.
type EVPNRoute struct {
	// Type is the EVPN route type: 2 (MAC/IP), 3 (inclusive multicast), 5 (IP prefix).
	Type int
	RD   string
	// MAC and IP (type 2; IP empty for a MAC-only route), Originator (type 3), Prefix (type 5).
	MAC, IP, Originator, Prefix string
	// Labels are the VNIs: the L2VNI and, on a routed MAC/IP route, the L3VNI; a type-5
	// route's one label is its L3VNI.
	Labels  []uint32
	NextHop string
	RTs     []string
	// RouterMAC is the router MAC extended community (symmetric IRB); VXLAN says the route
	// carries the VXLAN encapsulation community; PMSILabel and PMSITunnel are a type-3
	// route's ingress-replication VNI and VTEP.
	RouterMAC  string
	VXLAN      bool
	PMSILabel  uint32
	PMSITunnel string
}

// String names the route as a person reads it.
func (r EVPNRoute) String() string {
	switch r.Type {
	case 2:
		return fmt.Sprintf("type-2 [%s] %s %s", r.RD, r.MAC, r.IP)
	case 3:
		return fmt.Sprintf("type-3 [%s] %s", r.RD, r.Originator)
	default:
		return fmt.Sprintf("type-%d [%s] %s", r.Type, r.RD, r.Prefix)
	}
}

// gobgpPath is one path of `gobgp -j global rib -a evpn`.
type gobgpPath struct {
	NLRI struct {
		Type  int `json:"type"`
		Value struct {
			RD struct {
				Admin    json.RawMessage `json:"admin"`
				Assigned uint32          `json:"assigned"`
			} `json:"rd"`
			MAC    string   `json:"mac"`
			IP     string   `json:"ip"`
			Labels []uint32 `json:"labels"`
			Prefix string   `json:"prefix"`
			Label  uint32   `json:"label"`
		} `json:"value"`
	} `json:"nlri"`
	Attrs []struct {
		Type     int             `json:"type"`
		NextHop  string          `json:"nexthop"`
		Value    json.RawMessage `json:"value"`
		Label    uint32          `json:"label"`
		TunnelID string          `json:"tunnel-id"`
	} `json:"attrs"`
}

// extCommunity is one extended community of a GoBGP path.
type extCommunity struct {
	Type       int    `json:"type"`
	Subtype    int    `json:"subtype"`
	Value      string `json:"value"`
	MAC        string `json:"mac"`
	TunnelType int    `json:"tunnel_type"`
}

// BGP path attributes and extended communities GoBGP prints by number.
const (
	attrMPReach      = 14
	attrExtCommunity = 16
	attrPMSI         = 22
	ecSubtypeRT      = 2
	ecTypeEVPN       = 6
	ecSubtypeRMAC    = 3
	ecTypeOpaque     = 3
	ecSubtypeEncap   = 12
	encapVXLAN       = 8
)

// parseGoBGPRIB reads `gobgp -j global rib -a evpn`: an object of destinations, each a list
// of paths.
func parseGoBGPRIB(data []byte) ([]EVPNRoute, error) {
	var rib map[string][]gobgpPath
	if err := json.Unmarshal(data, &rib); err != nil {
		return nil, fmt.Errorf("read GoBGP's EVPN RIB: %w", err)
	}
	var out []EVPNRoute
	for _, paths := range rib {
		for _, p := range paths {
			v := p.NLRI.Value
			r := EVPNRoute{Type: p.NLRI.Type, RD: fmt.Sprintf("%s:%d", strings.Trim(string(v.RD.Admin), `"`), v.RD.Assigned), MAC: v.MAC, Labels: v.Labels}
			switch r.Type {
			case 2:
				if v.IP != "<nil>" {
					r.IP = v.IP
				}
			case 3:
				r.Originator = v.IP
			case 5:
				r.Prefix, r.Labels = v.Prefix, []uint32{v.Label}
			}
			for _, a := range p.Attrs {
				switch a.Type {
				case attrMPReach:
					r.NextHop = a.NextHop
				case attrPMSI:
					r.PMSILabel, r.PMSITunnel = a.Label, a.TunnelID
				case attrExtCommunity:
					var ecs []extCommunity
					if err := json.Unmarshal(a.Value, &ecs); err != nil {
						return nil, fmt.Errorf("read GoBGP's extended communities of %s: %w", r, err)
					}
					for _, ec := range ecs {
						switch {
						case ec.Subtype == ecSubtypeRT && ec.Type <= 2:
							r.RTs = append(r.RTs, ec.Value)
						case ec.Type == ecTypeEVPN && ec.Subtype == ecSubtypeRMAC:
							r.RouterMAC = ec.MAC
						case ec.Type == ecTypeOpaque && ec.Subtype == ecSubtypeEncap:
							r.VXLAN = ec.TunnelType == encapVXLAN
						}
					}
				}
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// GoBGPRoutes are the EVPN routes in GoBGP's RIB.
func GoBGPRoutes(ctx context.Context, s *State) ([]EVPNRoute, error) {
	out, err := s.GoBGPCLI(ctx, "-j", "global", "rib", "-a", "evpn")
	if err != nil {
		return nil, err
	}
	return parseGoBGPRIB([]byte(out))
}

// frrVNI is a node's FRR's view of one of its VNIs (show bgp l2vpn evpn vni json).
type frrVNI struct {
	VNI        uint32   `json:"vni"`
	Type       string   `json:"type"`
	RD         string   `json:"rd"`
	Originator string   `json:"originatorIp"`
	ExportRTs  []string `json:"exportRTs"`
}

// nodeVNIs are node n's VNIs as its FRR has them.
func (s *State) nodeVNIs(ctx context.Context, n *Node) (map[uint32]frrVNI, error) {
	out, err := Vtysh(ctx, s, n.Name, "show bgp l2vpn evpn vni json")
	if err != nil {
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		return nil, fmt.Errorf("%s: show bgp l2vpn evpn vni: %w", n.Name, err)
	}
	vnis := map[uint32]frrVNI{}
	for _, v := range raw {
		var x frrVNI
		if json.Unmarshal(v, &x) == nil && x.VNI != 0 {
			vnis[x.VNI] = x
		}
	}
	return vnis, nil
}

// wantedRoutes are the routes every node of the lab originates for GoBGP to receive: for each
// node, a type-3 route per L2VNI, a MAC-only type-2 route per workload on it (and, on a routed
// segment, the MAC/IP route with the L3VNI and router MAC) and, per tenant, a type-5 route per
// routed segment's subnet. RDs come from the node's FRR; everything else from the lab's
// configuration, and the node's FRR must agree with it.
func (s *State) wantedRoutes(ctx context.Context) ([]EVPNRoute, error) {
	var want []EVPNRoute
	for i := range s.Nodes {
		n := &s.Nodes[i]
		vnis, err := s.nodeVNIs(ctx, n)
		if err != nil {
			return nil, err
		}
		vtep := netip.MustParseAddr(n.VTEP)
		rmac := plan.RouterMAC(vtep)
		vni := func(id int, rt string) (frrVNI, error) {
			v, ok := vnis[uint32(id)]
			switch {
			case !ok:
				return v, fmt.Errorf("%s's FRR has no VNI %d", n.Name, id)
			case v.Originator != "" && v.Originator != n.VTEP:
				return v, fmt.Errorf("%s's FRR originates VNI %d from %s, not its VTEP %s", n.Name, id, v.Originator, n.VTEP)
			case !slices.Contains(v.ExportRTs, rt):
				return v, fmt.Errorf("%s's FRR exports VNI %d with %v, not %s", n.Name, id, v.ExportRTs, rt)
			}
			return v, nil
		}
		for _, seg := range segments(s.L3) {
			l2, err := vni(seg.vni, fmt.Sprintf("%d:%d", fabricASN, seg.vni))
			if err != nil {
				return nil, err
			}
			rts := []string{fmt.Sprintf("%d:%d", fabricASN, seg.vni)}
			want = append(want, EVPNRoute{Type: 3, RD: l2.RD, Originator: n.VTEP, NextHop: n.VTEP, RTs: rts, VXLAN: true,
				PMSILabel: uint32(seg.vni), PMSITunnel: n.VTEP})
			t, routed := tenantOf(seg)
			for _, w := range s.Workloads {
				if w.Node != n.Name || w.VNI != seg.vni {
					continue
				}
				want = append(want, EVPNRoute{Type: 2, RD: l2.RD, MAC: w.MAC, Labels: []uint32{uint32(seg.vni)}, NextHop: n.VTEP, RTs: rts, VXLAN: true})
				if routed {
					want = append(want, EVPNRoute{Type: 2, RD: l2.RD, MAC: w.MAC, IP: strings.Split(w.IP, "/")[0],
						Labels: []uint32{uint32(seg.vni), uint32(t.vni)}, NextHop: n.VTEP, RTs: append(slices.Clone(rts), t.rt), RouterMAC: rmac, VXLAN: true})
				}
			}
			if routed {
				l3, err := vni(t.vni, t.rt)
				if err != nil {
					return nil, err
				}
				want = append(want, EVPNRoute{Type: 5, RD: l3.RD, Prefix: fmt.Sprintf("192.168.%d.0/24", seg.vni), Labels: []uint32{uint32(t.vni)},
					NextHop: n.VTEP, RTs: []string{t.rt}, RouterMAC: rmac, VXLAN: true})
			}
		}
	}
	return want, nil
}

// tenantOf is the tenant that routes segment seg, if any.
func tenantOf(seg segment) (tenant, bool) {
	for _, t := range tenants {
		if t.vrf == seg.vrf {
			return t, true
		}
	}
	return tenant{}, false
}

// routeKey identifies a route by its NLRI.
func routeKey(r EVPNRoute) string {
	return fmt.Sprintf("%d|%s|%s|%s|%s|%s", r.Type, r.RD, r.MAC, r.IP, r.Originator, r.Prefix)
}

// diffRoute says how got differs from want, field by field; the route targets of got may be
// more than want's (a routed MAC/IP route also carries the L3VNI's).
func diffRoute(want, got EVPNRoute) []string {
	var d []string
	if !slices.Equal(want.Labels, got.Labels) {
		d = append(d, fmt.Sprintf("labels %v, want %v", got.Labels, want.Labels))
	}
	if want.NextHop != got.NextHop {
		d = append(d, fmt.Sprintf("next hop %s, want %s", got.NextHop, want.NextHop))
	}
	for _, rt := range want.RTs {
		if !slices.Contains(got.RTs, rt) {
			d = append(d, fmt.Sprintf("route targets %v, want %s among them", got.RTs, rt))
		}
	}
	if want.RouterMAC != got.RouterMAC {
		d = append(d, fmt.Sprintf("router MAC %q, want %q", got.RouterMAC, want.RouterMAC))
	}
	if want.VXLAN != got.VXLAN {
		d = append(d, fmt.Sprintf("VXLAN encapsulation %v, want %v", got.VXLAN, want.VXLAN))
	}
	if want.PMSILabel != got.PMSILabel || want.PMSITunnel != got.PMSITunnel {
		d = append(d, fmt.Sprintf("PMSI %d→%s, want %d→%s", got.PMSILabel, got.PMSITunnel, want.PMSILabel, want.PMSITunnel))
	}
	return d
}

// CheckGoBGPReceives checks, until it holds or 30 s pass, that GoBGP has every route the
// nodes originate (wantedRoutes) with the right RD, route targets, VNI labels, router MAC,
// encapsulation and next hop.
func CheckGoBGPReceives(ctx context.Context, s *State) error {
	return poll(ctx, 30*time.Second, func() error {
		want, err := s.wantedRoutes(ctx)
		if err != nil {
			return err
		}
		got, err := GoBGPRoutes(ctx, s)
		if err != nil {
			return err
		}
		byKey := map[string]EVPNRoute{}
		for _, r := range got {
			byKey[routeKey(r)] = r
		}
		var errs []error
		for _, w := range want {
			g, ok := byKey[routeKey(w)]
			if !ok {
				errs = append(errs, fmt.Errorf("GoBGP has no %s", w))
				continue
			}
			if d := diffRoute(w, g); len(d) > 0 {
				errs = append(errs, fmt.Errorf("GoBGP's %s: %s", w, strings.Join(d, "; ")))
			}
		}
		if len(errs) > 0 {
			errs = append(errs, fmt.Errorf("(GoBGP has %d EVPN routes, the nodes originate %d checked here)", len(got), len(want)))
		}
		return errors.Join(errs...)
	})
}

// GoBGPAnnounceMAC has GoBGP originate, in L2VNI vni (with the route target the lab's nodes
// derive for it), a MAC/IP route for mac and ip behind its VTEP and its inclusive-multicast
// route, so that weft's nodes program the MAC at GoBGP's VTEP and flood to it. withdraw takes
// both back.
func GoBGPAnnounceMAC(ctx context.Context, s *State, vni int, mac, ip string, withdraw bool) error {
	op := "add"
	if withdraw {
		op = "del"
	}
	rd := fmt.Sprintf("%s:%d", GoBGPVTEP, vni)
	rt := fmt.Sprintf("%d:%d", fabricASN, vni)
	for _, args := range [][]string{
		{"global", "rib", "-a", "evpn", op, "macadv", mac, ip, "etag", "0", "label", fmt.Sprint(vni), "rd", rd, "rt", rt, "encap", "vxlan", "nexthop", GoBGPVTEP},
		{"global", "rib", "-a", "evpn", op, "multicast", GoBGPVTEP, "etag", "0", "rd", rd, "rt", rt, "encap", "vxlan", "pmsi", "ingress-repl", fmt.Sprint(vni), GoBGPVTEP, "nexthop", GoBGPVTEP},
	} {
		if _, err := s.GoBGPCLI(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}
