package frr

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// EVPNMAC is zebra's view of one MAC address in an L2VNI.
type EVPNMAC struct {
	VNI uint32 `json:"vni"`
	MAC string `json:"mac"`
	// Type is "local" (learned on a port of this node) or "remote" (from a type-2 route).
	Type string `json:"type"`
	// Interface is the port of a local MAC; RemoteVTEP the VTEP behind which a remote one is.
	Interface      string `json:"interface,omitempty"`
	RemoteVTEP     string `json:"remoteVtep,omitempty"`
	LocalSequence  int    `json:"localSequence"`
	RemoteSequence int    `json:"remoteSequence"`
	// Duplicate: duplicate-address detection froze the MAC (it moved too often).
	Duplicate bool `json:"duplicate"`
}

// EVPNNeighbor is zebra's view of one IP address in an L2VNI's ARP/ND cache.
type EVPNNeighbor struct {
	VNI        uint32     `json:"vni"`
	IP         netip.Addr `json:"ip"`
	MAC        string     `json:"mac"`
	Type       string     `json:"type"`
	State      string     `json:"state"`
	RemoteVTEP string     `json:"remoteVtep,omitempty"`
	Duplicate  bool       `json:"duplicate"`
}

// EVPNMACs lists the MACs zebra knows in every L2VNI, sorted by VNI and MAC.
func (r *Reloader) EVPNMACs(ctx context.Context) ([]EVPNMAC, error) {
	data, err := r.vtyshJSON(ctx, "show evpn mac vni all json")
	if err != nil {
		return nil, err
	}
	return parseEVPNMACs(data)
}

// EVPNNeighbors lists the IP addresses in every L2VNI's ARP/ND cache, sorted by VNI and IP.
func (r *Reloader) EVPNNeighbors(ctx context.Context) ([]EVPNNeighbor, error) {
	data, err := r.vtyshJSON(ctx, "show evpn arp-cache vni all json")
	if err != nil {
		return nil, err
	}
	return parseEVPNNeighbors(data)
}

// parseEVPNMACs reads "show evpn mac vni all json": per VNI, numMacs and an object "macs".
func parseEVPNMACs(data []byte) ([]EVPNMAC, error) {
	var vnis map[string]struct {
		MACs map[string]struct {
			Type           string `json:"type"`
			Intf           string `json:"intf"`
			RemoteVTEP     string `json:"remoteVtep"`
			LocalSequence  int    `json:"localSequence"`
			RemoteSequence int    `json:"remoteSequence"`
			IsDuplicate    bool   `json:"isDuplicate"`
		} `json:"macs"`
	}
	if err := json.Unmarshal(data, &vnis); err != nil {
		return nil, fmt.Errorf("parse evpn mac json: %w: %s", err, tail(data, 200))
	}
	var out []EVPNMAC
	for key, v := range vnis {
		vni, err := parseVNIKey("evpn mac", key)
		if err != nil {
			return nil, err
		}
		for mac, m := range v.MACs {
			out = append(out, EVPNMAC{VNI: vni, MAC: strings.ToLower(mac), Type: m.Type, Interface: m.Intf, RemoteVTEP: m.RemoteVTEP,
				LocalSequence: m.LocalSequence, RemoteSequence: m.RemoteSequence, Duplicate: m.IsDuplicate})
		}
	}
	slices.SortFunc(out, func(a, b EVPNMAC) int { return cmp.Or(cmp.Compare(a.VNI, b.VNI), cmp.Compare(a.MAC, b.MAC)) })
	return out, nil
}

// parseEVPNNeighbors reads "show evpn arp-cache vni all json": per VNI, numArpNd and one
// object per IP address.
func parseEVPNNeighbors(data []byte) ([]EVPNNeighbor, error) {
	var vnis map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &vnis); err != nil {
		return nil, fmt.Errorf("parse evpn arp-cache json: %w: %s", err, tail(data, 200))
	}
	var out []EVPNNeighbor
	for key, members := range vnis {
		vni, err := parseVNIKey("evpn arp-cache", key)
		if err != nil {
			return nil, err
		}
		for k, raw := range members {
			ip, err := netip.ParseAddr(k)
			if err != nil || len(raw) == 0 || raw[0] != '{' {
				continue // numArpNd
			}
			var n struct {
				Type        string `json:"type"`
				State       string `json:"state"`
				MAC         string `json:"mac"`
				RemoteVTEP  string `json:"remoteVtep"`
				IsDuplicate bool   `json:"isDuplicate"`
			}
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, fmt.Errorf("parse evpn arp-cache json: %s in VNI %d: %w", k, vni, err)
			}
			out = append(out, EVPNNeighbor{VNI: vni, IP: ip, MAC: strings.ToLower(n.MAC), Type: n.Type, State: n.State, RemoteVTEP: n.RemoteVTEP, Duplicate: n.IsDuplicate})
		}
	}
	slices.SortFunc(out, func(a, b EVPNNeighbor) int { return cmp.Or(cmp.Compare(a.VNI, b.VNI), a.IP.Compare(b.IP)) })
	return out, nil
}

// parseVNIKey reads the VNI that keys zebra's per-VNI JSON objects.
func parseVNIKey(what, key string) (uint32, error) {
	vni, err := strconv.ParseUint(key, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("parse %s json: VNI %q: %w", what, key, err)
	}
	return uint32(vni), nil
}
