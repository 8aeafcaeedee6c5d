package hostnet

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// FDBEntry is one bridge forwarding-database entry for a MAC address.
type FDBEntry struct {
	// Device is the port (a VXLAN device or a veth) the entry is on; Master its bridge, empty
	// for an entry of the device itself (a VXLAN device's "self" entry, which holds the VTEP).
	Device string `json:"device"`
	Master string `json:"master,omitempty"`
	// VTEP is the remote tunnel endpoint of a VXLAN device's entry.
	VTEP netip.Addr `json:"vtep,omitzero"`
	// ExternLearned: put there by a control plane (zebra for EVPN), not learned from traffic.
	ExternLearned bool `json:"externLearned"`
	// Static: a permanent entry (the bridge's own addresses, for example).
	Static bool `json:"static"`
}

// FDB lists the forwarding-database entries for mac in namespace ns, sorted by device.
func FDB(ns Namespace, mac net.HardwareAddr) ([]FDBEntry, error) {
	h, err := ns.open()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	nh, err := netlink.NewHandleAt(h, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", ns, err)
	}
	defer nh.Close()
	links, err := nh.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links in %s: %w", ns, err)
	}
	names := map[int]string{}
	for _, l := range links {
		names[l.Attrs().Index] = l.Attrs().Name
	}
	neighs, err := nh.NeighList(0, unix.AF_BRIDGE)
	if err != nil {
		return nil, fmt.Errorf("list fdb in %s: %w", ns, err)
	}
	return fdbEntries(neighs, names, mac), nil
}

// fdbEntries turns the bridge neighbours (fdb entries) of mac into FDBEntries, naming
// devices by index. An entry with NTF_SELF and no master is the device's own (a VXLAN
// device's, holding the remote VTEP); the others are the bridge's.
func fdbEntries(neighs []netlink.Neigh, names map[int]string, mac net.HardwareAddr) []FDBEntry {
	var out []FDBEntry
	for _, n := range neighs {
		if !bytes.Equal(n.HardwareAddr, mac) {
			continue
		}
		e := FDBEntry{Device: names[n.LinkIndex], ExternLearned: n.Flags&unix.NTF_EXT_LEARNED != 0, Static: n.State&unix.NUD_PERMANENT != 0}
		if n.Flags&unix.NTF_SELF == 0 || n.MasterIndex != 0 {
			e.Master = names[n.MasterIndex]
		}
		if a, ok := netip.AddrFromSlice(n.IP); ok {
			e.VTEP = a.Unmap()
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b FDBEntry) int {
		if c := strings.Compare(a.Device, b.Device); c != 0 {
			return c
		}
		return strings.Compare(a.Master, b.Master)
	})
	return out
}
