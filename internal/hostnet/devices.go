package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// ensureL3VNI converges the VRF, bridge, VXLAN and optional host veth of one L3VNI.
func (r *run) ensureL3VNI(v *plan.L3VNI) error {
	if err := r.ensureVRF(v.VRF, v.VNI); err != nil {
		return fmt.Errorf("ensure vrf %s: %w", v.VRF, err)
	}
	mac, err := parseMAC(r.kp.Underlay.RouterMAC)
	if err != nil {
		return fmt.Errorf("router mac: %w", err)
	}
	mtu := r.derivedMTU(0)
	if err := r.ensureBridge(v.Bridge, v.VRF, mac, mtu, nil); err != nil {
		return fmt.Errorf("ensure bridge %s: %w", v.Bridge, err)
	}
	if err := r.ensureVXLAN(v.VXLAN, v.VNI, v.VXLANPort, v.Bridge, mtu); err != nil {
		return fmt.Errorf("ensure vxlan vni%d: %w", v.VNI, err)
	}
	if v.HostVeth != nil {
		if err := r.ensureVethPair(*v.HostVeth, v.VRF, "", mtu, false); err != nil {
			return fmt.Errorf("ensure veth %s: %w", v.HostVeth.RouterName, err)
		}
	}
	return nil
}

// ensureL2VNI converges the bridge, VXLAN, host bridge and veth of one L2VNI.
func (r *run) ensureL2VNI(v *plan.L2VNI) error {
	var mac net.HardwareAddr
	var gw []netip.Prefix
	if v.VRF != "" {
		if l := r.rs.byName[v.VRF]; l == nil || l.kind != "vrf" {
			return fmt.Errorf("vrf %s is not available", v.VRF)
		}
		gw = v.GatewayIPs
		if v.GatewayMAC != "" {
			var err error
			if mac, err = parseMAC(v.GatewayMAC); err != nil {
				return fmt.Errorf("gateway mac: %w", err)
			}
		}
	}
	mtu := r.derivedMTU(v.MTU)
	if err := r.ensureBridge(v.Bridge, v.VRF, mac, mtu, gw); err != nil {
		return fmt.Errorf("ensure bridge %s: %w", v.Bridge, err)
	}
	if err := r.ensureVXLAN(v.VXLAN, v.VNI, v.VXLANPort, v.Bridge, mtu); err != nil {
		return fmt.Errorf("ensure vxlan vni%d: %w", v.VNI, err)
	}
	hm, err := r.ensureHostMaster(v)
	if err != nil {
		return err
	}
	if err := r.ensureVethPair(v.Veth, v.Bridge, hm, mtu, true); err != nil {
		return fmt.Errorf("ensure veth %s: %w", v.Veth.RouterName, err)
	}
	return nil
}

// ensureHostMaster converges the host bridge of an L2VNI (Managed) or checks it (External),
// and returns its name.
func (r *run) ensureHostMaster(v *plan.L2VNI) (string, error) {
	hm := v.HostMaster.Name
	if v.HostMaster.Managed {
		if err := r.ensureHostBridge(hm, v.Owner); err != nil {
			return "", fmt.Errorf("ensure host bridge %s: %w", hm, err)
		}
	} else if l := r.hs.byName[hm]; l == nil || l.kind != "bridge" {
		return "", fmt.Errorf("external host bridge %s does not exist (or is not a bridge)", hm)
	} else {
		r.checkExternalBridge(l, v.VNI)
	}
	return hm, nil
}

// derivedMTU is the MTU weft sets on overlay devices: the plan's, else underlay − 50 (the
// VXLAN overhead), else 0 (leave the kernel's).
func (r *run) derivedMTU(planned int) int {
	if planned > 0 {
		return planned
	}
	if r.underlayMTU > 50 {
		return r.underlayMTU - 50
	}
	return 0
}

func parseMAC(s string) (net.HardwareAddr, error) {
	if s == "" {
		return nil, nil
	}
	return net.ParseMAC(s)
}

// foreign returns an error when a device that weft would create exists without its marker.
func foreign(l *link, ns string) error {
	return fmt.Errorf("%s device %s exists and is not owned by weft (no group %#x); leaving it alone", ns, l.name, OwnedGroup)
}

// routerLink checks a router-namespace device name and returns the device of that name, nil
// when there is none; a device that is not weft's is an error (it is left alone).
func (r *run) routerLink(name string) (*link, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	l := r.rs.byName[name]
	if l != nil && !ownedRouter(l) {
		return nil, foreign(l, "router")
	}
	return l, nil
}

// ensureVRF creates the VRF device with a free routing table or converges the existing one.
// The table of an existing VRF is kept, so it is stable across restarts of weft.
func (r *run) ensureVRF(name string, vni uint32) error {
	l, err := r.routerLink(name)
	if err != nil {
		return err
	}
	if l == nil {
		table := r.freeTable(vni)
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, msg := r.rc.newLinkMsg(idx, name, 0)
			setUp(msg, true)
			li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vrf"))
			li.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(nl.IFLA_VRF_TABLE, u32(table))
			req.AddData(li)
			return req
		})
		if err != nil {
			return fmt.Errorf("create (table %d): %w", table, err)
		}
		r.res.Created++
		r.rs.add(unknownLink(&link{index: idx, name: name, kind: "vrf", up: true, group: OwnedGroup, vrfTable: table}))
		return nil
	}
	return r.converge(r.rc, r.rs, l, linkWant{up: true})
}

// freeTable prefers the VNI as table id (easy to read in `ip route show table`), else the
// first id no other VRF uses above the range of VNIs.
func (r *run) freeTable(vni uint32) uint32 {
	used := map[uint32]bool{0: true, unix.RT_TABLE_COMPAT: true, unix.RT_TABLE_DEFAULT: true, unix.RT_TABLE_MAIN: true, unix.RT_TABLE_LOCAL: true}
	for _, l := range r.rs.byIndex {
		if l.kind == "vrf" {
			used[l.vrfTable] = true
		}
	}
	if !used[vni] {
		return vni
	}
	t := uint32(1 << 24)
	for used[t] {
		t++
	}
	return t
}

// ensureBridge converges a router-namespace bridge: master (VRF or none), MAC, MTU,
// addrgenmode none, up, and its addresses (anycast gateway).
func (r *run) ensureBridge(name, master string, mac net.HardwareAddr, mtu int, addrs []netip.Prefix) error {
	l, err := r.routerLink(name)
	if err != nil {
		return err
	}
	masterIdx, err := r.masterIndex(r.rs, master)
	if err != nil {
		return err
	}
	if l == nil {
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.newLinkMsg(idx, name, mtu) // down until addrgenmode is none (converge)
			if mac != nil {
				req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, mac))
			}
			if masterIdx != 0 {
				req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(masterIdx))))
			}
			li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
			req.AddData(li)
			return req
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		l = unknownLink(&link{index: idx, name: name, kind: "bridge", group: OwnedGroup, mtu: mtu, mac: mac, master: masterIdx})
		r.rs.add(l)
	}
	if err := r.converge(r.rc, r.rs, l, linkWant{up: true, mtu: mtu, mac: mac, master: masterIdx, genModeNone: true}); err != nil {
		return err
	}
	return r.convergeAddrs(r.rc, l, addrs, true)
}

// ensureVXLAN converges a VXLAN device enslaved to its bridge, with learning off on both the
// device and the bridge port and neighbour suppression on (EVPN fills the FDB and answers
// ARP/ND).
func (r *run) ensureVXLAN(name string, vni uint32, port uint16, bridge string, mtu int) error {
	l, err := r.routerLink(name)
	if err != nil {
		return err
	}
	if !r.kp.Underlay.LocalIP.IsValid() {
		return fmt.Errorf("underlay has no local VTEP address")
	}
	masterIdx, err := r.masterIndex(r.rs, bridge)
	if err != nil {
		return err
	}
	if l == nil {
		local := r.kp.Underlay.LocalIP
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.newLinkMsg(idx, name, mtu) // down until addrgenmode is none
			req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(masterIdx))))
			req.AddData(vxlanAttr(vxlanSpec{vni: vni, port: port}, local))
			return req
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		l = unknownLink(&link{index: idx, name: name, kind: "vxlan", group: OwnedGroup, mtu: mtu, master: masterIdx,
			vxlanID: vni, vxlanPort: port, vxlanLocal: local, slaveKind: "bridge"})
		r.rs.add(l)
	}
	return r.converge(r.rc, r.rs, l, linkWant{up: true, mtu: mtu, master: masterIdx, genModeNone: true, bridgePort: true})
}

// vxlanAttr is the IFLA_LINKINFO of a VXLAN device created from local with v's VNI, or
// external with VNI filtering (the single VXLAN device), and learning off.
func vxlanAttr(v vxlanSpec, local netip.Addr) *nl.RtAttr {
	li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vxlan"))
	data := li.AddRtAttr(nl.IFLA_INFO_DATA, nil)
	if v.external {
		data.AddRtAttr(unix.IFLA_VXLAN_COLLECT_METADATA, []byte{1})
		data.AddRtAttr(unix.IFLA_VXLAN_VNIFILTER, []byte{1})
	} else {
		data.AddRtAttr(nl.IFLA_VXLAN_ID, u32(v.vni))
	}
	if local.Is4() {
		data.AddRtAttr(nl.IFLA_VXLAN_LOCAL, local.AsSlice())
	} else if local.IsValid() {
		data.AddRtAttr(nl.IFLA_VXLAN_LOCAL6, local.AsSlice())
	}
	data.AddRtAttr(nl.IFLA_VXLAN_PORT, nl.Uint16Attr(htons(v.port)))
	data.AddRtAttr(nl.IFLA_VXLAN_LEARNING, []byte{0})
	return li
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ensureHostBridge converges a Managed host bridge: weft's, up, and closed to the host's
// own stack (no address, IPv6 off, no IPv4 delivered; see linkWant.closed): the segment
// behind it belongs to tenants. It is created down, so no link-local address ever appears.
func (r *run) ensureHostBridge(name string, owner plan.Ref) error {
	if err := checkName(name); err != nil {
		return err
	}
	l := r.hs.byName[name]
	if l != nil && !ownedHost(l) {
		return foreign(l, "host")
	}
	if l == nil {
		idx, err := r.create(r.hc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.hc.newLinkMsg(idx, name, 0) // down until it is closed (converge)
			req.AddData(bridgeSnoopingOff())        // from birth: it never joins a group
			return req
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		// A new device starts with the namespace's default IPv6 setting: on, until the
		// batch turns it off.
		l = unknownLink(&link{index: idx, name: name, kind: "bridge", group: OwnedGroup})
		l.disableIPv6, l.mcastSnooping = 0, 0
		r.hs.add(l)
	}
	if err := r.converge(r.hc, r.hs, l, linkWant{up: true, closed: true}); err != nil {
		return err
	}
	if l.disableIPv6 == 0 && !slices.ContainsFunc(r.ipv6Off, func(d ipv6Off) bool { return d.l == l }) {
		r.ipv6Off = append(r.ipv6Off, ipv6Off{l: l, owner: owner})
	}
	if err := r.convergeAddrs(r.hc, l, nil, true); err != nil {
		return err
	}
	return r.removeLinkLocals(r.hc, l, nil)
}

// checkExternalBridge warns when an External host bridge has addresses: the host's own stack
// is then a member of the tenant segment. The bridge is the user's, so weft only says so.
func (r *run) checkExternalBridge(l *link, vni uint32) {
	if len(l.addrs) == 0 {
		return
	}
	addrs := make([]string, len(l.addrs))
	for i, p := range l.addrs {
		addrs[i] = p.String()
	}
	r.res.Warnings = append(r.res.Warnings, fmt.Sprintf(
		"L2VNI %d: External host bridge %s has addresses (%s): the node's own network stack is reachable from the tenant segment; remove them or use a Managed bridge",
		vni, l.name, strings.Join(addrs, ", ")))
}

// ensureVethPair converges a veth whose router end is enslaved to routerMaster (a VRF, a
// bridge or nothing) and whose host end is enslaved to hostMaster (or nothing), with the
// plan's addresses on both ends. A segment port (an L2VNI's veth, a port of two bridges)
// has no address beyond the plan's (none, from plan.Build), not even a link-local one, so it
// never speaks on the tenant segment: its MAC stays out of EVPN. Its ends get addrgenmode none before they have a
// carrier (the router end comes up without one, the host end comes up after it).
func (r *run) ensureVethPair(v plan.Veth, routerMaster, hostMaster string, mtu int, segmentPort bool) error {
	if err := checkName(v.RouterName); err != nil {
		return err
	}
	if err := checkName(v.HostName); err != nil {
		return err
	}
	mtu = max(mtu, 0)
	rMaster, err := r.masterIndex(r.rs, routerMaster)
	if err != nil {
		return err
	}
	hMaster, err := r.masterIndex(r.hs, hostMaster)
	if err != nil {
		return err
	}
	rl, hl := r.rs.byName[v.RouterName], r.hs.byName[v.HostName]
	if rl != nil && !ownedRouter(rl) {
		return foreign(rl, "router")
	}
	if hl != nil && !ownedHost(hl) {
		return foreign(hl, "host")
	}
	if rl == nil {
		if hl != nil {
			return fmt.Errorf("host device %s exists without its router end", v.HostName)
		}
		if rl, hl, err = r.createVeth(v, rMaster, mtu); err != nil {
			return fmt.Errorf("create: %w", err)
		}
	}
	if err := r.converge(r.rc, r.rs, rl, linkWant{up: true, mtu: mtu, master: rMaster, genModeNone: segmentPort}); err != nil {
		return err
	}
	if err := r.converge(r.hc, r.hs, hl, linkWant{up: true, mtu: mtu, master: hMaster, genModeNone: segmentPort}); err != nil {
		return fmt.Errorf("host end %s: %w", v.HostName, err)
	}
	// Addresses go on after enslavement: enslaving to a VRF cycles the device, which drops
	// IPv6 addresses.
	if err := r.convergeAddrs(r.rc, rl, v.RouterAddrs, true); err != nil {
		return err
	}
	if err := r.convergeAddrs(r.hc, hl, v.HostAddrs, true); err != nil {
		return fmt.Errorf("host end %s: %w", v.HostName, err)
	}
	if segmentPort {
		if err := r.removeLinkLocals(r.rc, rl, v.RouterAddrs); err != nil {
			return err
		}
		if err := r.removeLinkLocals(r.hc, hl, v.HostAddrs); err != nil {
			return fmt.Errorf("host end %s: %w", v.HostName, err)
		}
	}
	return nil
}

// createVeth creates both ends directly in their namespaces, up, with distinct ifindexes.
func (r *run) createVeth(v plan.Veth, master, mtu int) (*link, *link, error) {
	var err error
	for range 3 {
		ri, hi := r.allocIndex(), r.allocIndex()
		req, msg := r.rc.newLinkMsg(ri, v.RouterName, mtu)
		setUp(msg, true)
		if master != 0 {
			req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(master))))
		}
		li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("veth"))
		peer := li.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(nl.VETH_INFO_PEER, nil)
		pm := nl.NewIfInfomsgChild(peer, unix.AF_UNSPEC)
		pm.Index = int32(hi)
		// The peer cannot be created up (veth_open fails with ENOTCONN until the pair is
		// linked); converge brings it up together with its master.
		peer.AddRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(v.HostName))
		peer.AddRtAttr(unix.IFLA_GROUP, u32(OwnedGroup))
		peer.AddRtAttr(unix.IFLA_NET_NS_FD, u32(uint32(r.hns)))
		if mtu > 0 {
			peer.AddRtAttr(unix.IFLA_MTU, u32(uint32(mtu)))
		}
		req.AddData(li)
		err = r.rc.write(req)
		if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) {
			// Someone else took one of the indexes (names were checked); skip ahead.
			r.nextIndex += 64
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		r.res.Created += 2
		rl := unknownLink(&link{index: ri, name: v.RouterName, kind: "veth", up: true, mtu: mtu, master: master, group: OwnedGroup, peer: hi, peerNS: true})
		hl := unknownLink(&link{index: hi, name: v.HostName, kind: "veth", mtu: mtu, group: OwnedGroup, peer: ri, peerNS: true})
		r.rs.add(rl)
		r.hs.add(hl)
		return rl, hl, nil
	}
	return nil, nil, err
}

// create sends a create request built for a fresh ifindex, retrying with another index when
// someone else took it meanwhile (the request carries NLM_F_EXCL, so an existing device is
// never modified by mistake).
func (r *run) create(c *conn, build func(idx int) *nl.NetlinkRequest) (int, error) {
	var err error
	for range 3 {
		idx := r.allocIndex()
		err = c.write(build(idx))
		if errors.Is(err, unix.EBUSY) || errors.Is(err, unix.EEXIST) {
			r.nextIndex += 64
			continue
		}
		return idx, err
	}
	return 0, err
}

func (r *run) masterIndex(st *nsState, name string) (int, error) {
	if name == "" {
		return 0, nil
	}
	l := st.byName[name]
	if l == nil {
		return 0, fmt.Errorf("master %s does not exist", name)
	}
	return l.index, nil
}
