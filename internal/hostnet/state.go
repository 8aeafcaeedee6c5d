package hostnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// link is what weft needs to know about one kernel link, parsed straight from the dump
// (the generic parser decodes statistics and much more, which costs time on thousands of
// links and still misses the attributes below).
type link struct {
	index   int
	name    string
	kind    string
	up      bool
	mtu     int
	mac     net.HardwareAddr
	master  int
	group   uint32
	peer    int  // IFLA_LINK: a veth's peer index
	peerNS  bool // IFLA_LINK_NETNSID present: the peer lives in another namespace
	genMode int  // IPv6 addrgenmode, -1 when not reported
	// The per-device IP settings that keep a tenant segment out of the host's stack (see
	// isolate): -1 when not reported.
	disableIPv6, rpFilter, arpIgnore int
	mcastSnooping                    int // a bridge's: -1 unknown, 0 off, 1 on
	vlanFiltering                    int // a bridge's: -1 unknown, 0 off, 1 on
	vlanDefaultPVID                  int // a bridge's: -1 unknown

	slaveKind     string
	learning      int // bridge port learning: -1 unknown, 0 off, 1 on
	neighSuppress int
	vlanTunnel    int // bridge port vlan_tunnel: -1 unknown, 0 off, 1 on
	vxlanID       uint32
	// vxlanExternal (collect metadata) and vxlanVNIFilter mark the single VXLAN device.
	vxlanExternal, vxlanVNIFilter bool
	vxlanLocal                    netip.Addr
	vxlanPort                     uint16
	vxlanLearning                 bool
	vrfTable                      uint32
	vlanID                        uint16 // a VLAN device's; its lower device is in peer (IFLA_LINK)
	physical                      bool   // no IFLA_LINKINFO kind: a NIC (or loopback)
	addrs                         []netip.Prefix
	deleted                       bool
}

// unknownLink marks the attributes of l that a create request did not set as unknown, so
// converge sets them: l is a device Apply has just created.
func unknownLink(l *link) *link {
	l.genMode, l.disableIPv6, l.rpFilter, l.arpIgnore, l.mcastSnooping = -1, -1, -1, -1, -1
	l.vlanFiltering, l.vlanDefaultPVID = -1, -1
	l.learning, l.neighSuppress, l.vlanTunnel = -1, -1, -1
	return l
}

// nsState is one namespace's links and addresses, read once per Apply and kept current in
// memory as Apply writes, so no later step has to ask the kernel again.
type nsState struct {
	byName  map[string]*link
	byIndex map[int]*link
}

func (s *nsState) add(l *link) {
	s.byName[l.name] = l
	s.byIndex[l.index] = l
}

func (s *nsState) remove(l *link) {
	if s.byName[l.name] == l {
		delete(s.byName, l.name)
	}
	delete(s.byIndex, l.index)
	l.deleted = true
}

// read dumps links and addresses of the namespace behind c.
func read(c *conn) (*nsState, error) {
	var st *nsState
	var err error
	for range 10 {
		st, err = readOnce(c)
		if !errors.Is(err, errRetryDump) {
			break
		}
	}
	return st, err
}

func readOnce(c *conn) (*nsState, error) {
	st := &nsState{byName: map[string]*link{}, byIndex: map[int]*link{}}
	req := c.request(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	// Statistics are a fifth of the dump and weft never looks at them.
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, u32(rtextFilterSkipStats)))
	err := c.dump(req, unix.RTM_NEWLINK, func(b []byte) error {
		l, err := parseLink(b)
		if err != nil {
			return err
		}
		st.add(l)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	req = c.request(unix.RTM_GETADDR, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfAddrmsg(unix.AF_UNSPEC))
	err = c.dump(req, unix.RTM_NEWADDR, func(b []byte) error {
		idx, p, ok := parseAddr(b)
		if l := st.byIndex[idx]; ok && l != nil {
			l.addrs = append(l.addrs, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list addresses: %w", err)
	}
	return st, nil
}

// rtextFilterSkipStats is RTEXT_FILTER_SKIP_STATS (linux/rtnetlink.h); older kernels
// ignore it.
const rtextFilterSkipStats = 1 << 3

// attrs iterates over netlink attributes in b.
func attrs(b []byte, fn func(typ uint16, val []byte)) {
	for len(b) >= unix.SizeofRtAttr {
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		t := binary.NativeEndian.Uint16(b[2:4]) & nl.NLA_TYPE_MASK
		if l < unix.SizeofRtAttr || l > len(b) {
			return
		}
		fn(t, b[unix.SizeofRtAttr:l])
		al := (l + unix.NLA_ALIGNTO - 1) &^ (unix.NLA_ALIGNTO - 1)
		if al > len(b) {
			return
		}
		b = b[al:]
	}
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

func nativeU32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }

func nativeU16(b []byte) uint16 { return binary.NativeEndian.Uint16(b) }

func nu32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(b)
}

func parseLink(b []byte) (*link, error) {
	if len(b) < unix.SizeofIfInfomsg {
		return nil, fmt.Errorf("short ifinfomsg")
	}
	l := &link{
		index:           int(int32(binary.NativeEndian.Uint32(b[4:8]))),
		up:              binary.NativeEndian.Uint32(b[8:12])&unix.IFF_UP != 0,
		genMode:         -1,
		disableIPv6:     -1,
		rpFilter:        -1,
		arpIgnore:       -1,
		mcastSnooping:   -1,
		vlanFiltering:   -1,
		vlanDefaultPVID: -1,
		learning:        -1,
		vlanTunnel:      -1,
		neighSuppress:   -1,
		vxlanLearning:   true,
		physical:        true,
	}
	attrs(b[unix.SizeofIfInfomsg:], func(t uint16, v []byte) {
		switch t {
		case unix.IFLA_IFNAME:
			l.name = cstr(v)
		case unix.IFLA_MTU:
			l.mtu = int(nu32(v))
		case unix.IFLA_ADDRESS:
			l.mac = net.HardwareAddr(append([]byte(nil), v...))
		case unix.IFLA_MASTER:
			l.master = int(nu32(v))
		case unix.IFLA_GROUP:
			l.group = nu32(v)
		case unix.IFLA_LINK:
			l.peer = int(nu32(v))
		case unix.IFLA_LINK_NETNSID:
			l.peerNS = true
		case unix.IFLA_AF_SPEC:
			parseAFSpec(l, v)
		case unix.IFLA_LINKINFO:
			parseLinkInfo(l, v)
		}
	})
	return l, nil
}

// parseAFSpec reads the per-family settings of a link: IPv6 addrgenmode and disable_ipv6,
// IPv4 rp_filter and arp_ignore.
func parseAFSpec(l *link, b []byte) {
	attrs(b, func(fam uint16, v []byte) {
		switch fam {
		case unix.AF_INET6:
			attrs(v, func(t uint16, v []byte) {
				switch {
				case t == unix.IFLA_INET6_ADDR_GEN_MODE && len(v) > 0:
					l.genMode = int(v[0])
				case t == unix.IFLA_INET6_CONF:
					l.disableIPv6 = confAt(v, devconfDisableIPv6)
				}
			})
		case unix.AF_INET:
			attrs(v, func(t uint16, v []byte) {
				if t == unix.IFLA_INET_CONF {
					// The array starts at IPV4_DEVCONF_FORWARDING (1).
					l.rpFilter = confAt(v, ipv4DevconfRPFilter-1)
					l.arpIgnore = confAt(v, ipv4DevconfARPIgnore-1)
				}
			})
		}
	})
}

// confAt is element i of a devconf array of 32-bit values, -1 when the array is shorter.
func confAt(b []byte, i int) int {
	if len(b) < 4*(i+1) {
		return -1
	}
	return int(int32(binary.NativeEndian.Uint32(b[4*i:])))
}

// Devconf indexes (linux/ipv6.h, linux/ip.h); x/sys/unix does not define them.
const (
	devconfDisableIPv6   = 26 // DEVCONF_DISABLE_IPV6, an index into IFLA_INET6_CONF
	ipv4DevconfRPFilter  = 8  // IPV4_DEVCONF_RP_FILTER
	ipv4DevconfARPIgnore = 19 // IPV4_DEVCONF_ARP_IGNORE
)

func parseLinkInfo(l *link, b []byte) {
	var data, slaveData []byte
	attrs(b, func(t uint16, v []byte) {
		switch t {
		case nl.IFLA_INFO_KIND:
			l.kind = cstr(v)
			l.physical = false
		case nl.IFLA_INFO_DATA:
			data = v
		case nl.IFLA_INFO_SLAVE_KIND:
			l.slaveKind = cstr(v)
		case nl.IFLA_INFO_SLAVE_DATA:
			slaveData = v
		}
	})
	switch l.kind {
	case "vxlan":
		attrs(data, func(t uint16, v []byte) {
			switch t {
			case nl.IFLA_VXLAN_ID:
				l.vxlanID = nu32(v)
			case nl.IFLA_VXLAN_LOCAL, nl.IFLA_VXLAN_LOCAL6:
				if a, ok := netip.AddrFromSlice(v); ok {
					l.vxlanLocal = a.Unmap()
				}
			case nl.IFLA_VXLAN_PORT:
				if len(v) >= 2 {
					l.vxlanPort = binary.BigEndian.Uint16(v)
				}
			case nl.IFLA_VXLAN_LEARNING:
				l.vxlanLearning = len(v) > 0 && v[0] != 0
			case unix.IFLA_VXLAN_COLLECT_METADATA:
				l.vxlanExternal = len(v) > 0 && v[0] != 0
			case unix.IFLA_VXLAN_VNIFILTER:
				l.vxlanVNIFilter = len(v) > 0 && v[0] != 0
			}
		})
	case "bridge":
		attrs(data, func(t uint16, v []byte) {
			switch {
			case t == unix.IFLA_BR_MCAST_SNOOPING && len(v) > 0:
				l.mcastSnooping = int(v[0])
			case t == unix.IFLA_BR_VLAN_FILTERING && len(v) > 0:
				l.vlanFiltering = int(v[0])
			case t == unix.IFLA_BR_VLAN_DEFAULT_PVID && len(v) >= 2:
				l.vlanDefaultPVID = int(nativeU16(v))
			}
		})
	case "vlan":
		attrs(data, func(t uint16, v []byte) {
			if t == nl.IFLA_VLAN_ID && len(v) >= 2 {
				l.vlanID = nativeU16(v)
			}
		})
	case "vrf":
		attrs(data, func(t uint16, v []byte) {
			if t == nl.IFLA_VRF_TABLE {
				l.vrfTable = nu32(v)
			}
		})
	}
	if l.slaveKind == "bridge" {
		parseBridgePort(l, slaveData)
	}
}

// parseBridgePort reads the bridge-port flags weft sets from IFLA_BRPORT_* attributes: a
// link's slave data, or the IFLA_PROTINFO of a bridge notification.
func parseBridgePort(l *link, b []byte) {
	attrs(b, func(t uint16, v []byte) {
		if len(v) == 0 {
			return
		}
		switch t {
		case nl.IFLA_BRPORT_LEARNING:
			l.learning = int(v[0])
		case nl.IFLA_BRPORT_NEIGH_SUPPRESS:
			l.neighSuppress = int(v[0])
		case unix.IFLA_BRPORT_VLAN_TUNNEL:
			l.vlanTunnel = int(v[0])
		}
	})
}

func parseAddr(b []byte) (int, netip.Prefix, bool) {
	if len(b) < unix.SizeofIfAddrmsg {
		return 0, netip.Prefix{}, false
	}
	plen := int(b[1])
	idx := int(binary.NativeEndian.Uint32(b[4:8]))
	var local, address netip.Addr
	attrs(b[unix.SizeofIfAddrmsg:], func(t uint16, v []byte) {
		a, ok := netip.AddrFromSlice(v)
		if !ok {
			return
		}
		switch t {
		case unix.IFA_LOCAL:
			local = a
		case unix.IFA_ADDRESS:
			address = a
		}
	})
	if local.IsValid() {
		address = local
	}
	if !address.IsValid() {
		return 0, netip.Prefix{}, false
	}
	return idx, netip.PrefixFrom(address, plen), true
}
