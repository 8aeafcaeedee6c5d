package frr

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// The queries below feed the agent's metrics (internal/agent's FRR collector). Each is one
// vtysh run; the shapes they parse were printed by FRR 8.4.4 and are kept under
// testdata/vtysh/.

// BGPPeer is one BGP session as "show bgp vrf all summary json" reports it, over all the
// address families it is active in.
type BGPPeer struct {
	// VRF is "default" or a tenant VRF's name.
	VRF string
	// Peer is the neighbor's address, or the interface of an unnumbered session.
	Peer string
	// State is bgpd's state: Established, Active, Connect, "Idle (Admin)", ...
	State string
	// Uptime is how long the session has been established; 0 when it is not. (FRR's
	// peerUptime of a session that is down counts the time since it went down.)
	Uptime time.Duration
	// PrefixesReceived is the number of prefixes accepted from the peer per address family,
	// keyed as FRR names them: ipv4Unicast, ipv6Unicast, l2VpnEvpn.
	PrefixesReceived map[string]int
}

// Established says whether the session is up.
func (p BGPPeer) Established() bool { return p.State == "Established" }

// BGPPeers lists the BGP sessions of every VRF, sorted by VRF and peer.
func (r *Reloader) BGPPeers(ctx context.Context) ([]BGPPeer, error) {
	data, err := r.vtyshJSON(ctx, "show bgp vrf all summary json")
	if err != nil {
		return nil, err
	}
	return parseBGPSummary(data)
}

// parseBGPSummary reads "show bgp vrf all summary json": per VRF, one object per address
// family (a VRF without any is {}), each with its "peers".
func parseBGPSummary(data []byte) ([]BGPPeer, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil // bgpd without any "router bgp"
	}
	var vrfs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &vrfs); err != nil {
		return nil, fmt.Errorf("parse bgp summary json: %w: %s", err, tail(data, 200))
	}
	type key struct{ vrf, peer string }
	peers := map[key]*BGPPeer{}
	for vrf, afis := range vrfs {
		for afi, raw := range afis {
			if len(raw) == 0 || raw[0] != '{' {
				continue
			}
			var f struct {
				Peers map[string]struct {
					State          string `json:"state"`
					PeerUptimeMsec int64  `json:"peerUptimeMsec"`
					PfxRcd         int    `json:"pfxRcd"`
				} `json:"peers"`
			}
			if err := json.Unmarshal(raw, &f); err != nil {
				return nil, fmt.Errorf("parse bgp summary json: vrf %s %s: %w", vrf, afi, err)
			}
			for addr, s := range f.Peers {
				k := key{vrf, addr}
				p := peers[k]
				if p == nil {
					p = &BGPPeer{VRF: vrf, Peer: addr, State: s.State, PrefixesReceived: map[string]int{}}
					if p.Established() {
						p.Uptime = time.Duration(s.PeerUptimeMsec) * time.Millisecond
					}
					peers[k] = p
				}
				p.PrefixesReceived[afi] = s.PfxRcd
			}
		}
	}
	out := make([]BGPPeer, 0, len(peers))
	for _, p := range peers {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b BGPPeer) int { return cmp.Or(cmp.Compare(a.VRF, b.VRF), cmp.Compare(a.Peer, b.Peer)) })
	return out, nil
}

// BFDPeer is one BFD session as bfdd reports it.
type BFDPeer struct {
	Peer      string
	Local     string
	VRF       string
	Interface string
	Multihop  bool
	// Status is bfdd's: up, down, init or shutdown.
	Status string
}

// Up says whether the session is up.
func (p BFDPeer) Up() bool { return p.Status == "up" }

// BFDPeers lists bfdd's sessions, sorted by VRF, peer and interface.
func (r *Reloader) BFDPeers(ctx context.Context) ([]BFDPeer, error) {
	data, err := r.vtyshJSON(ctx, "show bfd peers json")
	if err != nil {
		return nil, err
	}
	return parseBFDPeers(data)
}

// parseBFDPeers reads "show bfd peers json": an array of sessions.
func parseBFDPeers(data []byte) ([]BFDPeer, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var peers []struct {
		Peer      string `json:"peer"`
		Local     string `json:"local"`
		VRF       string `json:"vrf"`
		Interface string `json:"interface"`
		Multihop  bool   `json:"multihop"`
		Status    string `json:"status"`
	}
	if err := json.Unmarshal(data, &peers); err != nil {
		return nil, fmt.Errorf("parse bfd peers json: %w: %s", err, tail(data, 200))
	}
	out := make([]BFDPeer, 0, len(peers))
	for _, p := range peers {
		out = append(out, BFDPeer{Peer: p.Peer, Local: p.Local, VRF: p.VRF, Interface: p.Interface, Multihop: p.Multihop, Status: p.Status})
	}
	slices.SortFunc(out, func(a, b BFDPeer) int {
		return cmp.Or(cmp.Compare(a.VRF, b.VRF), cmp.Compare(a.Peer, b.Peer), cmp.Compare(a.Interface, b.Interface))
	})
	return out, nil
}

// ZebraVNI is one VNI as zebra knows it (EVPNVNI is the configuration of one).
type ZebraVNI struct {
	VNI uint32
	// Type is "L2" or "L3".
	Type string
	// TenantVRF is the VRF an L3VNI routes, or the one an L2VNI's gateway is in ("default"
	// for a plain segment).
	TenantVRF string
}

// EVPNVNIs lists the VNIs zebra knows, sorted by VNI.
func (r *Reloader) EVPNVNIs(ctx context.Context) ([]ZebraVNI, error) {
	data, err := r.vtyshJSON(ctx, "show evpn vni json")
	if err != nil {
		return nil, err
	}
	return parseEVPNVNIs(data)
}

// parseEVPNVNIs reads "show evpn vni json": one object per VNI, keyed by the VNI. zebra
// 8.4 prints nothing at all when it has no VNI, and an L3VNI's numRemoteVteps is "n/a".
func parseEVPNVNIs(data []byte) ([]ZebraVNI, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	var vnis map[string]struct {
		Type      string `json:"type"`
		TenantVRF string `json:"tenantVrf"`
	}
	if err := json.Unmarshal(data, &vnis); err != nil {
		return nil, fmt.Errorf("parse evpn vni json: %w: %s", err, tail(data, 200))
	}
	out := make([]ZebraVNI, 0, len(vnis))
	for key, v := range vnis {
		vni, err := parseVNIKey("evpn vni", key)
		if err != nil {
			return nil, err
		}
		out = append(out, ZebraVNI{VNI: vni, Type: v.Type, TenantVRF: v.TenantVRF})
	}
	slices.SortFunc(out, func(a, b ZebraVNI) int { return cmp.Compare(a.VNI, b.VNI) })
	return out, nil
}

// EVPNRouteCounts counts the routes (prefixes, not paths) in bgpd's EVPN table, local and
// received, by route type: "2" (MAC/IP), "3" (inclusive multicast), "5" (IP prefix), and
// "1" or "4" should a fabric send them. It reads the whole table, which grows with the
// fabric's VNIs and MACs: of the metrics' queries this is the one that costs.
func (r *Reloader) EVPNRouteCounts(ctx context.Context) (map[string]int, error) {
	data, err := r.vtyshJSON(ctx, "show bgp l2vpn evpn route json")
	if err != nil {
		return nil, err
	}
	return parseEVPNRouteCounts(data)
}

// emptyEVPNTableRE matches the opening of FRR 10.3's JSON for an empty EVPN table.
var emptyEVPNTableRE = regexp.MustCompile(`^\s*\{\s*,`)

// parseEVPNRouteCounts reads "show bgp l2vpn evpn route json": one object per route
// distinguisher whose members are "rd" and one object per prefix, keyed "[<type>]:[...]...",
// next to the totals numPrefix and numPaths.
func parseEVPNRouteCounts(data []byte) (map[string]int, error) {
	out := map[string]int{}
	if len(bytes.TrimSpace(data)) == 0 {
		return out, nil
	}
	// FRR 10.3 prints "{\n,\"numPrefix\":0,..." when there is no route at all: a comma
	// right after the brace, which is not JSON. Drop it (FRR 8.4 prints valid JSON).
	data = emptyEVPNTableRE.ReplaceAll(data, []byte("{"))
	var rds map[string]json.RawMessage
	if err := json.Unmarshal(data, &rds); err != nil {
		return nil, fmt.Errorf("parse evpn route json: %w: %s", err, tail(data, 200))
	}
	for rd, raw := range rds {
		if len(raw) == 0 || raw[0] != '{' {
			continue // numPrefix, numPaths
		}
		var prefixes map[string]json.RawMessage
		if err := json.Unmarshal(raw, &prefixes); err != nil {
			return nil, fmt.Errorf("parse evpn route json: rd %s: %w", rd, err)
		}
		for p := range prefixes {
			if typ, ok := evpnRouteType(p); ok {
				out[typ]++
			}
		}
	}
	return out, nil
}

// evpnRouteType reads the type of an EVPN prefix as bgpd prints it: "[2]:[0]:[48]:[mac]".
func evpnRouteType(prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(prefix, "[")
	if !ok {
		return "", false
	}
	typ, _, ok := strings.Cut(rest, "]")
	if !ok || typ == "" || strings.Trim(typ, "0123456789") != "" {
		return "", false
	}
	return typ, true
}
