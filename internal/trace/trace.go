// Package trace answers "where is this MAC or IP?" on a node: which L2VNI knows it, whether
// it sits on a local port or behind a remote VTEP (zebra's EVPN view), and whether the
// kernel's forwarding database in the router namespace agrees (is it programmed).
package trace

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// EVPN is zebra's EVPN view (frr.Reloader implements it).
type EVPN interface {
	EVPNMACs(ctx context.Context) ([]frr.EVPNMAC, error)
	EVPNNeighbors(ctx context.Context) ([]frr.EVPNNeighbor, error)
}

// FDB reads the kernel's forwarding-database entries of a MAC (hostnet.FDB in the router
// namespace).
type FDB func(mac net.HardwareAddr) ([]hostnet.FDBEntry, error)

// Result is a trace's answer.
type Result struct {
	Query string `json:"query"`
	// Neighbors are the ARP/ND entries of an IP query (empty for a MAC query).
	Neighbors []frr.EVPNNeighbor `json:"neighbors,omitempty"`
	MACs      []MAC              `json:"macs"`
}

// MAC is what is known of one MAC address.
type MAC struct {
	MAC    string             `json:"mac"`
	EVPN   []frr.EVPNMAC      `json:"evpn"`
	Kernel []hostnet.FDBEntry `json:"kernel"`
	// Findings say, per EVPN entry, where the MAC is and whether the kernel agrees.
	Findings []Finding `json:"findings"`
}

// Finding is one conclusion; OK is false when something is missing or inconsistent.
type Finding struct {
	OK      bool   `json:"ok"`
	Message string `json:"message"`
}

// OK reports whether the query was found and every finding is consistent.
func (r Result) OK() bool {
	if len(r.MACs) == 0 {
		return false
	}
	for _, m := range r.MACs {
		for _, f := range m.Findings {
			if !f.OK {
				return false
			}
		}
	}
	return true
}

// Run traces query: a MAC address (any form net.ParseMAC takes) or an IP address, which is
// looked up in the L2VNIs' ARP/ND caches and traced through its MAC.
func Run(ctx context.Context, e EVPN, fdb FDB, query string) (Result, error) {
	res := Result{Query: query}
	var macs []string
	if ip, err := netip.ParseAddr(query); err == nil {
		neighs, err := e.EVPNNeighbors(ctx)
		if err != nil {
			return res, err
		}
		for _, n := range neighs {
			if n.IP == ip.Unmap() {
				res.Neighbors = append(res.Neighbors, n)
				if n.MAC != "" && !slices.Contains(macs, n.MAC) {
					macs = append(macs, n.MAC)
				}
			}
		}
		if len(macs) == 0 {
			return res, nil
		}
	} else if hw, err := net.ParseMAC(query); err == nil && len(hw) == 6 {
		macs = []string{hw.String()}
	} else {
		return res, fmt.Errorf("%q is neither a MAC address (aa:bb:cc:dd:ee:ff) nor an IP address", query)
	}
	all, err := e.EVPNMACs(ctx)
	if err != nil {
		return res, err
	}
	for _, mac := range macs {
		hw, err := net.ParseMAC(mac)
		if err != nil {
			return res, fmt.Errorf("zebra reported MAC %q: %w", mac, err)
		}
		m := MAC{MAC: hw.String()}
		for _, em := range all {
			if em.MAC == m.MAC {
				m.EVPN = append(m.EVPN, em)
			}
		}
		if m.Kernel, err = fdb(hw); err != nil {
			return res, err
		}
		m.Findings = judge(m)
		res.MACs = append(res.MACs, m)
	}
	return res, nil
}

// judge compares zebra's view of a MAC with the kernel's forwarding database.
func judge(m MAC) []Finding {
	if len(m.EVPN) == 0 {
		msg := "not known to EVPN in any L2VNI of this node"
		if len(m.Kernel) > 0 {
			msg += fmt.Sprintf(" (the kernel has %d forwarding entries for it)", len(m.Kernel))
		}
		return []Finding{{Message: msg}}
	}
	var out []Finding
	for _, em := range m.EVPN {
		var f Finding
		switch em.Type {
		case "remote":
			// The per-VNI layout's devices, or the single-VXLAN-device layout's when the
			// kernel has its entry there.
			vx, br := plan.VXLANName(em.VNI), plan.BridgeName(em.VNI)
			if slices.ContainsFunc(m.Kernel, func(k hostnet.FDBEntry) bool { return k.Device == plan.SVDVXLAN }) {
				vx, br = plan.SVDVXLAN, plan.SVDBridge
			}
			self := slices.ContainsFunc(m.Kernel, func(k hostnet.FDBEntry) bool {
				return k.Device == vx && k.Master == "" && k.VTEP.String() == em.RemoteVTEP
			})
			bridged := slices.ContainsFunc(m.Kernel, func(k hostnet.FDBEntry) bool { return k.Device == vx && k.Master == br })
			f.Message = fmt.Sprintf("VNI %d: remote, behind VTEP %s (sequence %d)", em.VNI, em.RemoteVTEP, em.RemoteSequence)
			switch {
			case self && bridged:
				f.OK = true
				f.Message += fmt.Sprintf("; programmed: %s → %s in %s", vx, em.RemoteVTEP, br)
			case !self:
				f.Message += fmt.Sprintf("; NOT programmed: %s has no entry towards %s", vx, em.RemoteVTEP)
			default:
				f.Message += fmt.Sprintf("; NOT programmed: %s does not point %s at %s", br, m.MAC, vx)
			}
		case "local":
			f.Message = fmt.Sprintf("VNI %d: local, on %s (sequence %d)", em.VNI, em.Interface, em.LocalSequence)
			if slices.ContainsFunc(m.Kernel, func(k hostnet.FDBEntry) bool { return k.Device == em.Interface && k.Master != "" }) {
				f.OK = true
				f.Message += "; in the kernel's forwarding database"
			} else {
				f.Message += fmt.Sprintf("; NOT in the kernel's forwarding database on %s", em.Interface)
			}
		default:
			f.Message = fmt.Sprintf("VNI %d: %s", em.VNI, em.Type)
			f.OK = true
		}
		if em.Duplicate {
			f.OK = false
			f.Message += "; FROZEN by duplicate-address detection (it moved too often)"
		}
		out = append(out, f)
	}
	return out
}

// Text writes the result for people.
func (r Result) Text() string {
	var b strings.Builder
	for _, n := range r.Neighbors {
		where := "local"
		if n.Type == "remote" {
			where = "remote, behind VTEP " + n.RemoteVTEP
		}
		fmt.Fprintf(&b, "%s: VNI %d: MAC %s (%s, %s)\n", n.IP, n.VNI, n.MAC, where, n.State)
	}
	if len(r.MACs) == 0 {
		fmt.Fprintf(&b, "%s: not in any L2VNI's ARP/ND cache on this node\n", r.Query)
	}
	for _, m := range r.MACs {
		for _, f := range m.Findings {
			fmt.Fprintf(&b, "%s: %s\n", m.MAC, f.Message)
		}
		for _, k := range m.Kernel {
			fmt.Fprintf(&b, "  kernel: %s", k.Device)
			if k.Master != "" {
				fmt.Fprintf(&b, " master %s", k.Master)
			}
			if k.VTEP.IsValid() {
				fmt.Fprintf(&b, " dst %s", k.VTEP)
			}
			if k.ExternLearned {
				b.WriteString(" extern_learn")
			}
			if k.Static {
				b.WriteString(" permanent")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}
