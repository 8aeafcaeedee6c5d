package hostnet

// The netlink messages of VLAN-aware bridges and VXLAN VNI filtering, which the
// single-VXLAN-device layout (svd.go) uses: port VLANs and their VNI mappings, a VXLAN
// device's VNI filter, a bridge's local FDB entries, and the dumps that read them.

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// vlanBatch bounds the entries of one VLAN or VNI filter request (a request must fit in the
// socket's send buffer; 512 entries are ~20 KiB).
const vlanBatch = 512

// Flags of struct bridge_vlan_info (linux/if_bridge.h).
const (
	vlanPVID       = nl.BRIDGE_VLAN_INFO_PVID
	vlanUntagged   = nl.BRIDGE_VLAN_INFO_UNTAGGED
	vlanRangeBegin = nl.BRIDGE_VLAN_INFO_RANGE_BEGIN
	vlanRangeEnd   = nl.BRIDGE_VLAN_INFO_RANGE_END
)

// VNI filter attributes (linux/if_link.h): VXLAN_VNIFILTER_ENTRY and its members.
const (
	vniFilterEntry      = 1
	vniFilterEntryStart = 1
	vniFilterEntryEnd   = 2
)

// bridgeFlagsSelf is BRIDGE_FLAGS_SELF (linux/if_bridge.h): a VLAN request for the bridge
// device itself, not for a port.
const bridgeFlagsSelf = 2

type vlanTunnel struct {
	vid uint16
	vni uint32
}

// addTunnels adds VLANs to the VXLAN port with their VNI mapping: in each request the VLANs
// first, then their mappings (a mapping needs its VLAN).
func (r *run) addTunnels(l *link, add []vlanTunnel) error {
	slices.SortFunc(add, func(x, y vlanTunnel) int { return cmp.Compare(x.vid, y.vid) })
	for chunk := range slices.Chunk(add, vlanBatch) {
		req, spec := bridgeVLANMsg(r.rc, unix.RTM_SETLINK, l.index)
		for _, t := range chunk {
			spec.AddChild(vlanInfoAttr(t.vid, 0))
		}
		for _, t := range chunk {
			spec.AddChild(tunnelInfoAttr(t.vid, t.vni))
		}
		req.AddData(spec)
		if err := r.rc.write(req); err != nil {
			return err
		}
		r.res.Created += len(chunk)
	}
	return nil
}

// delPortVLANs removes VLANs from a bridge port, with their VNI mappings (tunnel) first.
func (r *run) delPortVLANs(l *link, vids []uint16, tunnel map[uint16]uint32) error {
	for chunk := range slices.Chunk(vids, vlanBatch) {
		req, spec := bridgeVLANMsg(r.rc, unix.RTM_DELLINK, l.index)
		for _, vid := range chunk {
			if vni, ok := tunnel[vid]; ok && tunnel != nil {
				spec.AddChild(tunnelInfoAttr(vid, vni))
			}
		}
		for _, vid := range chunk {
			spec.AddChild(vlanInfoAttr(vid, 0))
		}
		req.AddData(spec)
		if err := r.rc.write(req); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		r.res.Deleted += len(chunk)
	}
	return nil
}

// bridgeVLANMsg is an AF_BRIDGE link request for a port's VLANs (RTM_SETLINK adds them,
// RTM_DELLINK removes them) and its IFLA_AF_SPEC, for the caller to fill and add.
func bridgeVLANMsg(c *conn, typ uint16, index int) (*nl.NetlinkRequest, *nl.RtAttr) {
	req := c.request(typ, 0)
	msg := nl.NewIfInfomsg(unix.AF_BRIDGE)
	msg.Index = int32(index)
	req.AddData(msg)
	return req, nl.NewRtAttr(unix.IFLA_AF_SPEC, nil)
}

func vlanInfoAttr(vid, flags uint16) *nl.RtAttr {
	b := make([]byte, 4)
	binary.NativeEndian.PutUint16(b[0:2], flags)
	binary.NativeEndian.PutUint16(b[2:4], vid)
	return nl.NewRtAttr(nl.IFLA_BRIDGE_VLAN_INFO, b)
}

func tunnelInfoAttr(vid uint16, vni uint32) *nl.RtAttr {
	a := nl.NewRtAttr(nl.IFLA_BRIDGE_VLAN_TUNNEL_INFO, nil)
	a.AddRtAttr(nl.IFLA_BRIDGE_VLAN_TUNNEL_ID, u32(vni))
	a.AddRtAttr(nl.IFLA_BRIDGE_VLAN_TUNNEL_VID, nl.Uint16Attr(vid))
	return a
}

// vniFilter adds (RTM_NEWTUNNEL) or removes (RTM_DELTUNNEL) VNIs of a VXLAN device's filter.
func (r *run) vniFilter(typ uint16, index int, vnis []uint32) error {
	slices.Sort(vnis)
	for chunk := range slices.Chunk(vnis, vlanBatch) {
		req := r.rc.request(typ, 0)
		req.AddData(tunnelMsg(index))
		for _, vni := range chunk {
			e := nl.NewRtAttr(vniFilterEntry|unix.NLA_F_NESTED, nil)
			e.AddRtAttr(vniFilterEntryStart, u32(vni))
			req.AddData(e)
		}
		if err := r.rc.write(req); err != nil {
			return err
		}
		if typ == unix.RTM_NEWTUNNEL {
			r.res.Created += len(chunk)
		} else {
			r.res.Deleted += len(chunk)
		}
	}
	return nil
}

// tunnelMsg is struct tunnel_msg (linux/rtnetlink.h) for AF_BRIDGE and one device.
type tunnelMsg int

func (m tunnelMsg) Len() int { return 8 }

func (m tunnelMsg) Serialize() []byte {
	b := make([]byte, 8)
	b[0] = unix.AF_BRIDGE
	binary.NativeEndian.PutUint32(b[4:8], uint32(m))
	return b
}

// readBridgeVLANs dumps the VLANs of every bridge port of the namespace (VLAN → flags per
// port ifindex) and the VLAN → VNI mappings of the ports that have them (a VXLAN port with
// vlan_tunnel on; the single one of the layout).
func readBridgeVLANs(c *conn) (map[int]map[uint16]uint16, map[uint16]uint32, error) {
	ports := map[int]map[uint16]uint16{}
	tunnel := map[uint16]uint32{}
	req := c.request(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	req.AddData(nl.NewRtAttr(unix.IFLA_EXT_MASK, u32(nl.RTEXT_FILTER_BRVLAN)))
	err := c.dump(req, unix.RTM_NEWLINK, func(b []byte) error {
		if len(b) < unix.SizeofIfInfomsg {
			return nil
		}
		idx := int(int32(binary.NativeEndian.Uint32(b[4:8])))
		attrs(b[unix.SizeofIfInfomsg:], func(t uint16, v []byte) {
			if t != unix.IFLA_AF_SPEC {
				return
			}
			var begin *vlanTunnel
			attrs(v, func(t uint16, v []byte) {
				switch t {
				case nl.IFLA_BRIDGE_VLAN_INFO:
					if len(v) < 4 {
						return
					}
					flags, vid := nativeU16(v[0:2]), nativeU16(v[2:4])
					if ports[idx] == nil {
						ports[idx] = map[uint16]uint16{}
					}
					ports[idx][vid] = flags
				case nl.IFLA_BRIDGE_VLAN_TUNNEL_INFO:
					var vt vlanTunnel
					var flags uint16
					attrs(v, func(t uint16, v []byte) {
						switch {
						case t == nl.IFLA_BRIDGE_VLAN_TUNNEL_ID && len(v) >= 4:
							vt.vni = nativeU32(v)
						case t == nl.IFLA_BRIDGE_VLAN_TUNNEL_VID && len(v) >= 2:
							vt.vid = nativeU16(v)
						case t == nl.IFLA_BRIDGE_VLAN_TUNNEL_FLAGS && len(v) >= 2:
							flags = nativeU16(v)
						}
					})
					switch {
					case flags&vlanRangeBegin != 0:
						begin = &vt
					case flags&vlanRangeEnd != 0 && begin != nil:
						for vid := begin.vid; vid <= vt.vid && vid != 0; vid++ {
							tunnel[vid] = begin.vni + uint32(vid-begin.vid)
						}
						begin = nil
					default:
						tunnel[vt.vid] = vt.vni
					}
				}
			})
		})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list bridge VLANs: %w", err)
	}
	return ports, tunnel, nil
}

// readVNIFilter dumps the VNI filter of a VXLAN device.
func readVNIFilter(c *conn, index int) (map[uint32]bool, error) {
	out := map[uint32]bool{}
	req := c.request(unix.RTM_GETTUNNEL, unix.NLM_F_DUMP)
	req.AddData(tunnelMsg(index))
	err := c.dump(req, unix.RTM_NEWTUNNEL, func(b []byte) error {
		if len(b) < 8 {
			return nil
		}
		attrs(b[8:], func(t uint16, v []byte) {
			if t != vniFilterEntry {
				return
			}
			var start, end uint32
			attrs(v, func(t uint16, v []byte) {
				switch t {
				case vniFilterEntryStart:
					start = nu32(v)
				case vniFilterEntryEnd:
					end = nu32(v)
				}
			})
			end = max(end, start)
			for vni := start; vni <= end && vni != 0; vni++ {
				out[vni] = true
			}
		})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list VNIs of the VXLAN device: %w", err)
	}
	return out, nil
}

// fdbSelfLocal is `bridge fdb add|del <mac> dev <bridge> vlan <vid> self local`.
func fdbSelfLocal(c *conn, typ uint16, bridge int, k macVLAN) *nl.NetlinkRequest {
	flags := 0
	if typ == unix.RTM_NEWNEIGH {
		flags = unix.NLM_F_CREATE | unix.NLM_F_REPLACE
	}
	req := c.request(typ, flags)
	req.AddRawData(ndmsg(unix.AF_BRIDGE, bridge, unix.NUD_PERMANENT, unix.NTF_SELF))
	req.AddRawData(nl.NewRtAttr(unix.NDA_LLADDR, []byte(k.mac)).Serialize())
	req.AddRawData(nl.NewRtAttr(unix.NDA_VLAN, nl.Uint16Attr(k.vid)).Serialize())
	return req
}

// ndmsg is struct ndmsg: family, pad, ifindex, state, flags, type.
func ndmsg(family uint8, index int, state uint16, flags uint8) []byte {
	nd := make([]byte, 12)
	nd[0] = family
	binary.NativeEndian.PutUint32(nd[4:8], uint32(index))
	binary.NativeEndian.PutUint16(nd[8:10], state)
	nd[10] = flags
	return nd
}
