package hostnet

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// A workload that moves to this node keeps its MAC and IP, but its MAC+IP route does not
// follow by itself. Before the move, zebra had installed the workload's address here as a
// remote neighbour (NOARP, extern_learn) on the segment's router bridge, for ARP suppression.
// The workload's announcement (a gratuitous ARP or unsolicited NA) moves its MAC in the
// bridge, but the kernel never lets the neighbour protocol overwrite a NOARP entry, so the
// announcement is dropped for the neighbour table; zebra then sees the MAC turn local and
// uninstalls the remote entry, and from then on nothing creates a local one: the node
// advertises the MAC only, the old node withdraws its MAC+IP, and ARP suppression and routed
// traffic lose the workload (FRR issue 14156 asks for the same thing). A silent workload
// (KubeVirt's announcement is a RARP, which carries no IP) is lost the same way.
//
// mobility closes that gap: it remembers the IPs of every MAC on the segments' router bridges,
// and when a MAC turns local (learned on a bridge port, not installed by zebra) it asks the
// kernel to resolve each of those IPs on the bridge once zebra's remote entry is gone (an
// ARP request / NS): the workload answers, the entry becomes REACHABLE and zebra originates
// the MAC+IP route at this node within the migration's outage.
type mobility struct {
	// ips are the addresses seen with each MAC on each bridge (ifindex).
	ips map[int]map[string]map[netip.Addr]bool
	// pending are the addresses to resolve when zebra's remote entry goes, per bridge, with
	// the resolutions asked so far: an address is resolved at most maxResolves times, so a
	// workload that is gone (or answers nothing) costs a few ARP requests, not a loop.
	pending map[int]map[netip.Addr]int
}

// maxResolves bounds the resolutions of one moved address.
const maxResolves = 3

// SegmentBridges lists the router bridges of every L2VNI of kp: where a moved workload's
// MAC+IP route must be re-learned.
func SegmentBridges(kp plan.KernelPlan) []string {
	out := make([]string, 0, len(kp.L2VNIs))
	for _, v := range kp.L2VNIs {
		out = append(out, l3Device(v))
	}
	return out
}

// l3Device is an L2VNI's layer-3 interface in the router namespace, where its neighbours
// live: the SVI in the single-VXLAN-device layout, the bridge in the per-VNI one.
func l3Device(v plan.L2VNI) string {
	if v.SVI != "" {
		return v.SVI
	}
	return v.Bridge
}

// neigh is a decoded RTM_NEWNEIGH / RTM_DELNEIGH.
type neigh struct {
	family uint8
	index  int
	state  uint16
	flags  uint8
	master int
	vlan   uint16 // an FDB entry's VLAN (NDA_VLAN), 0 for none
	ip     netip.Addr
	mac    net.HardwareAddr
}

func parseNeigh(b []byte) (neigh, bool) {
	if len(b) < 12 {
		return neigh{}, false
	}
	n := neigh{family: b[0], index: int(binary.NativeEndian.Uint32(b[4:8])), state: binary.NativeEndian.Uint16(b[8:10]), flags: b[10]}
	attrs(b[12:], func(t uint16, v []byte) {
		switch t {
		case unix.NDA_DST:
			n.ip, _ = netip.AddrFromSlice(v)
		case unix.NDA_LLADDR:
			n.mac = append(net.HardwareAddr(nil), v...)
		case unix.NDA_MASTER:
			if len(v) >= 4 {
				n.master = int(binary.NativeEndian.Uint32(v))
			}
		case unix.NDA_VLAN:
			if len(v) >= 2 {
				n.vlan = binary.NativeEndian.Uint16(v)
			}
		}
	})
	return n, true
}

// remote reports whether an ARP/ND entry is zebra's (a remote host's) or static.
func (n neigh) remote() bool {
	return n.flags&unix.NTF_EXT_LEARNED != 0 || n.state&(unix.NUD_NOARP|unix.NUD_PERMANENT) != 0
}

// event handles one neighbour or FDB message for the watched bridges; watched(ifindex) says
// whether a bridge is one. It returns the addresses to resolve now, on which bridge.
func (m *mobility) event(typ uint16, n neigh, watched func(int) bool) (int, []netip.Addr) {
	if m.ips == nil {
		m.ips, m.pending = map[int]map[string]map[netip.Addr]bool{}, map[int]map[netip.Addr]int{}
	}
	switch {
	case n.family == unix.AF_BRIDGE && typ == unix.RTM_NEWNEIGH:
		// A MAC learned on a port of the bridge (not zebra's, not static): local now.
		if !watched(n.master) || n.flags&(unix.NTF_EXT_LEARNED|unix.NTF_SELF) != 0 ||
			n.state&(unix.NUD_NOARP|unix.NUD_PERMANENT) != 0 || len(n.mac) != 6 {
			return 0, nil
		}
		var now []netip.Addr
		for ip := range m.ips[n.master][string(n.mac)] {
			if m.pending[n.master] == nil {
				m.pending[n.master] = map[netip.Addr]int{}
			}
			if _, ok := m.pending[n.master][ip]; !ok {
				m.pending[n.master][ip] = 0
			}
		}
		// Remembered IPs whose remote entry is already gone are resolved at once; the
		// others when zebra removes or rewrites theirs (below).
		for ip := range m.pending[n.master] {
			if !m.hasRemote(n.master, ip) && m.take(n.master, ip) {
				now = append(now, ip)
			}
		}
		return n.master, now
	case n.family == unix.AF_INET || n.family == unix.AF_INET6:
		if !watched(n.index) || !n.ip.IsValid() || n.ip.IsLinkLocalUnicast() {
			return 0, nil
		}
		if typ == unix.RTM_DELNEIGH {
			m.forget(n.index, n.ip)
			if m.take(n.index, n.ip) {
				return n.index, []netip.Addr{n.ip}
			}
			return 0, nil
		}
		if len(n.mac) == 6 {
			m.forget(n.index, n.ip)
			if m.ips[n.index] == nil {
				m.ips[n.index] = map[string]map[netip.Addr]bool{}
			}
			byMAC := m.ips[n.index][string(n.mac)]
			if byMAC == nil {
				byMAC = map[netip.Addr]bool{}
				m.ips[n.index][string(n.mac)] = byMAC
			}
			byMAC[n.ip] = n.remote()
		}
		if !n.remote() && len(n.mac) == 6 {
			switch {
			case n.state&unix.NUD_REACHABLE != 0:
				delete(m.pending[n.index], n.ip) // confirmed here: done
			case n.state&unix.NUD_STALE != 0 && m.take(n.index, n.ip):
				// zebra may turn its remote entry into a STALE local one instead of
				// removing it; STALE is never advertised: have the kernel confirm it.
				return n.index, []netip.Addr{n.ip}
			}
		}
	}
	return 0, nil
}

// take counts one more resolution of a pending address; false when it is not pending or
// was resolved maxResolves times already (then it is dropped).
func (m *mobility) take(bridge int, ip netip.Addr) bool {
	n, ok := m.pending[bridge][ip]
	if !ok {
		return false
	}
	if n >= maxResolves {
		delete(m.pending[bridge], ip)
		return false
	}
	m.pending[bridge][ip] = n + 1
	return true
}

// hasRemote reports whether ip is known on the bridge as a remote (zebra) entry.
func (m *mobility) hasRemote(bridge int, ip netip.Addr) bool {
	for _, byMAC := range m.ips[bridge] {
		if remote, ok := byMAC[ip]; ok {
			return remote
		}
	}
	return false
}

// forget drops ip from every MAC of the bridge (an address has one MAC at a time).
func (m *mobility) forget(bridge int, ip netip.Addr) {
	for mac, byMAC := range m.ips[bridge] {
		delete(byMAC, ip)
		if len(byMAC) == 0 {
			delete(m.ips[bridge], mac)
		}
	}
}

// resolve asks the kernel to resolve ip on the bridge: it creates the entry if needed and
// sends an ARP request / neighbour solicitation.
func (c *conn) resolve(index int, ip netip.Addr) error {
	err := c.neighUse(index, ip, true)
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}
