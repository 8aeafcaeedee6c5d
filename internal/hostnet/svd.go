package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// The single-VXLAN-device layout (plan.KernelPlan.SVD): one VLAN-aware bridge and one VXLAN
// device in external mode with VNI filtering carry every L2VNI and L3VNI of the node. Each
// VNI has a VLAN on that bridge: the VXLAN port maps the VLAN to the VNI (vlan_tunnel), the
// VXLAN device's filter lists the VNI, the bridge itself is a member of the VLAN, and a VLAN
// device on the bridge (the VNI's SVI) is its layer-3 interface: in the VRF with the router
// MAC for an L3VNI, with the anycast gateway for a routed L2VNI, and where zebra learns
// MAC+IP pairs for every L2VNI. An L2VNI's router veth is an untagged access port of its
// VLAN. The host side is the same as in the per-VNI layout.
//
// VLANs are the kernel layer's to allocate and are sticky: the mapping the VXLAN port holds
// is the record, so a VNI keeps its VLAN across passes and restarts, and a new VNI takes the
// lowest free VLAN. A bridge has 4094 VLANs (1–4094); an L2VNI past them fails on its own
// with an error that says so, and the others keep theirs.

// maxVLAN is the highest VLAN ID of a bridge (802.1Q: 4095 is reserved).
const maxVLAN = 4094

// svdRun is the single-VXLAN-device part of one Apply.
type svdRun struct {
	bridge, vxlan *link
	// ports holds the VLANs (VLAN → flags) of every bridge port of the router namespace, as
	// read at the start of the pass; tunnel the VXLAN port's VLAN → VNI mapping.
	ports  map[int]map[uint16]uint16
	tunnel map[uint16]uint32
	// vid is the VLAN of each planned VNI; refused holds the VNIs that got none.
	vid     map[uint32]uint16
	refused map[uint32]error
	// mac is the bridge's MAC, the router MAC: the kernel gives the bridge a local FDB entry
	// for it on each of its VLANs, so frames to an SVI with that MAC (an L3VNI's, a layer-2
	// segment's) are delivered, not flooded. gateways are the SVIs with another MAC (anycast
	// gateways): each needs a local entry of its own on its VLAN (convergeGatewayMACs).
	mac      net.HardwareAddr
	gateways map[macVLAN]bool
}

// macVLAN is a MAC on a VLAN of the bridge.
type macVLAN struct {
	mac string
	vid uint16
}

// ensureSVD converges the bridge and the VXLAN device of the layout and the VLAN ↔ VNI map
// of the plan's L2VNIs.
func (r *run) ensureSVD() error {
	svd := r.kp.SVD
	if !r.kp.Underlay.LocalIP.IsValid() {
		return fmt.Errorf("underlay has no local VTEP address")
	}
	s := &svdRun{vid: map[uint32]uint16{}, refused: map[uint32]error{}, gateways: map[macVLAN]bool{}}
	r.svd = s
	var err error
	if s.mac, err = parseMAC(r.kp.Underlay.RouterMAC); err != nil {
		return fmt.Errorf("router mac: %w", err)
	}
	if s.bridge, err = r.ensureVLANBridge(svd.Bridge, s.mac); err != nil {
		return fmt.Errorf("ensure bridge %s: %w", svd.Bridge, err)
	}
	if s.vxlan, err = r.ensureSingleVXLAN(svd.VXLAN, svd.Port, s.bridge.index, r.derivedMTU(0)); err != nil {
		return fmt.Errorf("ensure vxlan %s: %w", svd.VXLAN, err)
	}
	if s.ports, s.tunnel, err = readBridgeVLANs(r.rc); err != nil {
		return err
	}
	filter, err := readVNIFilter(r.rc, s.vxlan.index)
	if err != nil {
		return err
	}
	return r.convergeVNIMap(s, filter)
}

// ensureVLANBridge converges the layout's bridge: VLAN filtering on, no default PVID (a port
// carries only the VLAN weft gives it), multicast snooping off, its MAC, addrgenmode none, up.
func (r *run) ensureVLANBridge(name string, mac net.HardwareAddr) (*link, error) {
	l, err := r.routerLink(name)
	if err != nil {
		return nil, err
	}
	if l == nil {
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.newLinkMsg(idx, name, 0)
			if mac != nil {
				req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, mac))
			}
			req.AddData(vlanBridgeAttr())
			return req
		})
		if err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		l = unknownLink(&link{index: idx, name: name, kind: "bridge", group: OwnedGroup, mac: mac})
		l.vlanFiltering, l.vlanDefaultPVID, l.mcastSnooping = 1, 0, 0
		r.rs.add(l)
	}
	if l.vlanFiltering != 1 || l.vlanDefaultPVID != 0 || l.mcastSnooping != 0 {
		req, _ := r.rc.linkMsg(l.index, false)
		req.AddData(vlanBridgeAttr())
		if err := r.rc.write(req); err != nil {
			return nil, fmt.Errorf("set vlan filtering: %w", err)
		}
		r.res.Updated++
		l.vlanFiltering, l.vlanDefaultPVID, l.mcastSnooping = 1, 0, 0
	}
	return l, r.converge(r.rc, r.rs, l, linkWant{up: true, mac: mac, genModeNone: true})
}

// vlanBridgeAttr is IFLA_LINKINFO { bridge { vlan_filtering 1, vlan_default_pvid 0,
// mcast_snooping 0 } }.
func vlanBridgeAttr() *nl.RtAttr {
	li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	data := li.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	data.AddRtAttr(unix.IFLA_BR_VLAN_DEFAULT_PVID, nl.Uint16Attr(0))
	data.AddRtAttr(unix.IFLA_BR_VLAN_FILTERING, []byte{1})
	data.AddRtAttr(unix.IFLA_BR_MCAST_SNOOPING, []byte{0})
	return li
}

// ensureSingleVXLAN converges the layout's VXLAN device: external with VNI filtering, the
// VTEP as source, learning off, a port of the bridge with learning off, neighbour suppression
// and vlan_tunnel on.
func (r *run) ensureSingleVXLAN(name string, port uint16, bridge, mtu int) (*link, error) {
	l, err := r.routerLink(name)
	if err != nil {
		return nil, err
	}
	if l == nil {
		local := r.kp.Underlay.LocalIP
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.newLinkMsg(idx, name, mtu) // down until addrgenmode is none
			req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(bridge))))
			req.AddData(vxlanAttr(vxlanSpec{port: port, external: true}, local))
			return req
		})
		if err != nil {
			return nil, fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		l = unknownLink(&link{index: idx, name: name, kind: "vxlan", group: OwnedGroup, mtu: mtu, master: bridge,
			vxlanPort: port, vxlanLocal: local, vxlanExternal: true, vxlanVNIFilter: true, slaveKind: "bridge"})
		r.rs.add(l)
	}
	if err := r.converge(r.rc, r.rs, l, linkWant{up: true, mtu: mtu, master: bridge, genModeNone: true, bridgePort: true}); err != nil {
		return nil, err
	}
	if l.vlanTunnel != 1 {
		req, _ := r.rc.linkMsg(l.index, false)
		li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		li.AddRtAttr(nl.IFLA_INFO_SLAVE_KIND, nl.NonZeroTerminated("bridge"))
		li.AddRtAttr(nl.IFLA_INFO_SLAVE_DATA, nil).AddRtAttr(unix.IFLA_BRPORT_VLAN_TUNNEL, []byte{1})
		req.AddData(li)
		if err := r.rc.write(req); err != nil {
			return nil, fmt.Errorf("set vlan_tunnel: %w", err)
		}
		r.res.Updated++
		l.vlanTunnel = 1
	}
	return l, nil
}

// convergeVNIMap gives every planned VNI a VLAN on the VXLAN port (keeping the ones it has),
// removes the mappings and filter entries of VNIs the plan no longer lists, and adds the
// missing ones, in batches.
func (r *run) convergeVNIMap(s *svdRun, filter map[uint32]bool) error {
	want := make(map[uint32]bool, len(r.kp.L2VNIs)+len(r.kp.L3VNIs))
	for _, v := range r.kp.L2VNIs {
		want[v.VNI] = true
	}
	for _, v := range r.kp.L3VNIs {
		want[v.VNI] = true
	}
	portVLANs := s.ports[s.vxlan.index]
	// Keep a VLAN whose mapping is planned and single; drop every other VLAN of the port.
	var drop []uint16
	for vid := range portVLANs {
		vni, mapped := s.tunnel[vid]
		if !mapped || !want[vni] || s.vid[vni] != 0 {
			drop = append(drop, vid)
			continue
		}
		s.vid[vni] = vid
	}
	slices.Sort(drop)
	if err := r.delPortVLANs(s.vxlan, drop, s.tunnel); err != nil {
		return fmt.Errorf("remove VLANs of %s: %w", s.vxlan.name, err)
	}
	var stale []uint32
	for vni := range filter {
		if !want[vni] {
			stale = append(stale, vni)
		}
	}
	if err := r.vniFilter(unix.RTM_DELTUNNEL, s.vxlan.index, stale); err != nil {
		return fmt.Errorf("remove VNIs of %s: %w", s.vxlan.name, err)
	}
	// New VNIs, lowest first, take the lowest free VLANs.
	used := make([]bool, maxVLAN+1)
	for _, vid := range s.vid {
		used[vid] = true
	}
	var fresh []uint32
	for vni := range want {
		if s.vid[vni] == 0 {
			fresh = append(fresh, vni)
		}
	}
	slices.Sort(fresh)
	limit := uint16(maxVLAN)
	if r.a.maxVLANs > 0 {
		limit = uint16(min(r.a.maxVLANs, maxVLAN))
	}
	next := uint16(1)
	var add []vlanTunnel
	for _, vni := range fresh {
		for next <= limit && used[next] {
			next++
		}
		if next > limit {
			s.refused[vni] = fmt.Errorf("no free VLAN on bridge %s: the single-VXLAN-device layout carries at most %d VNIs per node (one VLAN each), and all are taken", s.bridge.name, limit)
			continue
		}
		used[next] = true
		s.vid[vni] = next
		add = append(add, vlanTunnel{vid: next, vni: vni})
	}
	if err := r.addTunnels(s.vxlan, add); err != nil {
		return fmt.Errorf("map VLANs to VNIs on %s: %w", s.vxlan.name, err)
	}
	var missing []uint32
	for vni := range s.vid {
		if !filter[vni] {
			missing = append(missing, vni)
		}
	}
	if err := r.vniFilter(unix.RTM_NEWTUNNEL, s.vxlan.index, missing); err != nil {
		return fmt.Errorf("add VNIs to %s: %w", s.vxlan.name, err)
	}
	// A local FDB entry needs its VLAN on the bridge: the stale ones go before their VLAN,
	// the new ones come after it.
	for _, v := range r.kp.L2VNIs {
		if vid := s.vid[v.VNI]; vid != 0 && v.VRF != "" && v.GatewayMAC != "" {
			if mac, err := net.ParseMAC(v.GatewayMAC); err == nil && !macEqual(mac, s.mac) {
				s.gateways[macVLAN{string(mac), vid}] = true
			}
		}
	}
	have, err := r.removeGatewayMACs(s)
	if err != nil {
		return err
	}
	if err := r.convergeSelfVLANs(s); err != nil {
		return err
	}
	return r.addGatewayMACs(s, have)
}

// convergeSelfVLANs makes the bridge itself a member of exactly the VNIs' VLANs (tagged): an
// SVI receives its VLAN's frames only then.
func (r *run) convergeSelfVLANs(s *svdRun) error {
	have := s.ports[s.bridge.index]
	wantVID := make(map[uint16]bool, len(s.vid))
	for _, vid := range s.vid {
		wantVID[vid] = true
	}
	var drop, add []uint16
	for vid := range have {
		if !wantVID[vid] {
			drop = append(drop, vid)
		}
	}
	for vid := range wantVID {
		if f, ok := have[vid]; !ok || f&(vlanPVID|vlanUntagged) != 0 {
			add = append(add, vid)
		}
	}
	slices.Sort(drop)
	slices.Sort(add)
	for _, op := range []struct {
		typ  uint16
		vids []uint16
	}{{unix.RTM_DELLINK, drop}, {unix.RTM_SETLINK, add}} {
		for chunk := range slices.Chunk(op.vids, vlanBatch) {
			req, spec := bridgeVLANMsg(r.rc, op.typ, s.bridge.index)
			spec.AddRtAttr(nl.IFLA_BRIDGE_FLAGS, nl.Uint16Attr(bridgeFlagsSelf))
			for _, vid := range chunk {
				spec.AddChild(vlanInfoAttr(vid, 0))
			}
			req.AddData(spec)
			if err := r.rc.write(req); err != nil && !(op.typ == unix.RTM_DELLINK && errors.Is(err, unix.ENOENT)) {
				return fmt.Errorf("set the VLANs of bridge %s: %w", s.bridge.name, err)
			}
			r.res.Updated += len(chunk)
		}
	}
	return nil
}

// vni returns the VLAN of a planned VNI, or why it has none.
func (s *svdRun) vlanOf(vni uint32) (uint16, error) {
	if err := s.refused[vni]; err != nil {
		return 0, err
	}
	if vid := s.vid[vni]; vid != 0 {
		return vid, nil
	}
	return 0, fmt.Errorf("VNI %d has no VLAN on %s", vni, s.bridge.name)
}

// ensureSVI converges the VLAN device of one VNI on the layout's bridge: its VLAN, master
// (a VRF or none), MAC (nil: the bridge's), MTU, addrgenmode none, addresses, up. A device of
// that name on another VLAN or lower device is replaced (the kernel cannot change either).
func (r *run) ensureSVI(name string, vid uint16, vrf string, mac net.HardwareAddr, mtu int, addrs []netip.Prefix) error {
	l, err := r.routerLink(name)
	if err != nil {
		return err
	}
	br := r.svd.bridge
	if mac == nil {
		mac = r.svd.mac
	}
	if l != nil && (l.kind != "vlan" || l.vlanID != vid || l.peer != br.index) {
		if err := r.deleteLinks(r.rc, r.rs, []*link{l}); err != nil {
			return fmt.Errorf("replace (VLAN %d on %d, want %d on %s): %w", l.vlanID, l.peer, vid, br.name, err)
		}
		l = nil
	}
	masterIdx, err := r.masterIndex(r.rs, vrf)
	if err != nil {
		return err
	}
	if l == nil {
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.newLinkMsg(idx, name, mtu) // down until addrgenmode is none
			req.AddData(nl.NewRtAttr(unix.IFLA_LINK, u32(uint32(br.index))))
			if mac != nil {
				req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, mac))
			}
			if masterIdx != 0 {
				req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(masterIdx))))
			}
			li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vlan"))
			li.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(nl.IFLA_VLAN_ID, nl.Uint16Attr(vid))
			req.AddData(li)
			return req
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		l = unknownLink(&link{index: idx, name: name, kind: "vlan", group: OwnedGroup, mtu: mtu, mac: mac, master: masterIdx, peer: br.index, vlanID: vid})
		r.rs.add(l)
	}
	if err := r.converge(r.rc, r.rs, l, linkWant{up: true, mtu: mtu, mac: mac, master: masterIdx, genModeNone: true}); err != nil {
		return err
	}
	return r.convergeAddrs(r.rc, l, addrs, true)
}

// ensureL3VNIOnSVD converges the VRF, SVI and optional host veth of one L3VNI of the
// single-VXLAN-device layout.
func (r *run) ensureL3VNIOnSVD(v *plan.L3VNI) error {
	vid, err := r.svd.vlanOf(v.VNI)
	if err != nil {
		return err
	}
	if err := r.ensureVRF(v.VRF, v.VNI); err != nil {
		return fmt.Errorf("ensure vrf %s: %w", v.VRF, err)
	}
	mac, err := parseMAC(r.kp.Underlay.RouterMAC)
	if err != nil {
		return fmt.Errorf("router mac: %w", err)
	}
	mtu := r.derivedMTU(0)
	if err := r.ensureSVI(v.SVI, vid, v.VRF, mac, mtu, nil); err != nil {
		return fmt.Errorf("ensure svi %s: %w", v.SVI, err)
	}
	if v.HostVeth != nil {
		if err := r.ensureVethPair(*v.HostVeth, v.VRF, "", mtu, false); err != nil {
			return fmt.Errorf("ensure veth %s: %w", v.HostVeth.RouterName, err)
		}
	}
	return nil
}

// ensureAccessPort makes the router end of an L2VNI's veth an untagged port of exactly its
// VNI's VLAN. fresh says the port joined the bridge in this pass (its VLANs as read are gone).
func (r *run) ensureAccessPort(l *link, vid uint16, fresh bool) error {
	have := r.svd.ports[l.index]
	if fresh {
		have = nil
	}
	var drop []uint16
	for v := range have {
		if v != vid {
			drop = append(drop, v)
		}
	}
	slices.Sort(drop)
	if err := r.delPortVLANs(l, drop, nil); err != nil {
		return fmt.Errorf("remove VLANs of %s: %w", l.name, err)
	}
	if f, ok := have[vid]; ok && f&(vlanPVID|vlanUntagged) == vlanPVID|vlanUntagged {
		return nil
	}
	req, spec := bridgeVLANMsg(r.rc, unix.RTM_SETLINK, l.index)
	spec.AddChild(vlanInfoAttr(vid, vlanPVID|vlanUntagged))
	req.AddData(spec)
	if err := r.rc.write(req); err != nil {
		return fmt.Errorf("set VLAN %d on %s: %w", vid, l.name, err)
	}
	r.res.Updated++
	r.svd.ports[l.index] = map[uint16]uint16{vid: vlanPVID | vlanUntagged}
	return nil
}

// ensureL2VNIOnSVD converges the host bridge and the veth of one L2VNI of the
// single-VXLAN-device layout: the router end is an access port of the VNI's VLAN.
func (r *run) ensureL2VNIOnSVD(v *plan.L2VNI) error {
	s := r.svd
	vid, err := s.vlanOf(v.VNI)
	if err != nil {
		return err
	}
	var mac net.HardwareAddr
	var gw []netip.Prefix
	if v.VRF != "" {
		if l := r.rs.byName[v.VRF]; l == nil || l.kind != "vrf" {
			return fmt.Errorf("vrf %s is not available", v.VRF)
		}
		gw = v.GatewayIPs
		if mac, err = parseMAC(v.GatewayMAC); err != nil {
			return fmt.Errorf("gateway mac: %w", err)
		}
	}
	mtu := r.derivedMTU(v.MTU)
	if err := r.ensureSVI(v.SVI, vid, v.VRF, mac, mtu, gw); err != nil {
		return fmt.Errorf("ensure svi %s: %w", v.SVI, err)
	}
	hm, err := r.ensureHostMaster(v)
	if err != nil {
		return err
	}
	before := r.rs.byName[v.Veth.RouterName]
	fresh := before == nil || before.master != s.bridge.index
	if err := r.ensureVethPair(v.Veth, s.bridge.name, hm, mtu, true); err != nil {
		return fmt.Errorf("ensure veth %s: %w", v.Veth.RouterName, err)
	}
	return r.ensureAccessPort(r.rs.byName[v.Veth.RouterName], vid, fresh)
}

// removeGatewayMACs removes the bridge's local FDB entries (other than its own MAC's) that no
// gateway SVI of the plan has, and returns the ones it keeps. Each SVI whose MAC is not the
// bridge's (an anycast gateway) needs one on its VLAN (addGatewayMACs): without it, a frame to
// the gateway is unknown unicast, which the bridge floods to the VXLAN device too, and every
// other node's gateway routes a copy.
func (r *run) removeGatewayMACs(s *svdRun) (map[macVLAN]bool, error) {
	have := map[macVLAN]bool{}
	req := r.rc.request(unix.RTM_GETNEIGH, unix.NLM_F_DUMP)
	// Only the bridge's own entries, not every port's local and remote MACs. Without strict
	// checking the kernel reads a filtered FDB dump as an ifinfomsg naming the port, here
	// the bridge itself, with IFLA_MASTER naming the bridge (what iproute2 sends too).
	ifm := nl.NewIfInfomsg(unix.AF_BRIDGE)
	ifm.Index = int32(s.bridge.index)
	req.AddData(ifm)
	req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(s.bridge.index))))
	err := r.rc.dump(req, unix.RTM_NEWNEIGH, func(b []byte) error {
		n, ok := parseNeigh(b)
		if ok && n.index == s.bridge.index && n.vlan != 0 && n.state&unix.NUD_PERMANENT != 0 &&
			len(n.mac) == 6 && !macEqual(n.mac, s.mac) {
			have[macVLAN{string(n.mac), n.vlan}] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list the FDB of %s: %w", s.bridge.name, err)
	}
	for k := range have {
		if s.gateways[k] {
			continue
		}
		if err := r.rc.write(fdbSelfLocal(r.rc, unix.RTM_DELNEIGH, s.bridge.index, k)); err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("remove %s vlan %d from %s: %w", net.HardwareAddr(k.mac), k.vid, s.bridge.name, err)
		}
		r.res.Deleted++
		delete(have, k)
	}
	return have, nil
}

// addGatewayMACs adds the gateway SVIs' local FDB entries that the bridge lacks.
func (r *run) addGatewayMACs(s *svdRun, have map[macVLAN]bool) error {
	for k := range s.gateways {
		if have[k] {
			continue
		}
		if err := r.rc.write(fdbSelfLocal(r.rc, unix.RTM_NEWNEIGH, s.bridge.index, k)); err != nil {
			return fmt.Errorf("add %s vlan %d to %s: %w", net.HardwareAddr(k.mac), k.vid, s.bridge.name, err)
		}
		r.res.Created++
	}
	return nil
}
