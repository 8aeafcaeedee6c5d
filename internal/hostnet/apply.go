package hostnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// Apply converges the kernel to kp with a zero Applier (state in DefaultStateDir).
func Apply(ctx context.Context, kp plan.KernelPlan, router, host Namespace) (Result, error) {
	a := Applier{NoCache: true}
	return a.Apply(ctx, kp, router, host)
}

// Apply converges the router and host namespaces to kp. A failing L3VNI, L2VNI or passthrough
// does not stop the others: each failure is in Result.Failures and in the joined error.
// Errors that stop everything (a namespace that cannot be opened, a dump that fails) are
// returned alone.
func (a *Applier) Apply(ctx context.Context, kp plan.KernelPlan, router, host Namespace) (Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var res Result
	if router.Path == "" && router.Name != "" {
		created, err := ensureNamed(router.Name)
		if err != nil {
			return res, fmt.Errorf("ensure router netns %s: %w", router.Name, err)
		}
		res.NamespaceCreated = created
	}
	rns, err := router.open()
	if err != nil {
		return res, err
	}
	defer rns.Close()
	hns, err := host.open()
	if err != nil {
		return res, err
	}
	defer hns.Close()
	if rns.Equal(hns) {
		return res, fmt.Errorf("router and host namespace are the same (%s)", router)
	}

	r := &run{a: a, kp: kp, res: &res, rns: rns, hns: hns, routerName: router.String()}
	if r.rc, err = dial(rns, &res.Writes); err != nil {
		return res, err
	}
	defer r.rc.close()
	if r.hc, err = dial(hns, &res.Writes); err != nil {
		return res, err
	}
	defer r.hc.close()

	if err := a.ensureSysctls(rns); err != nil {
		return res, err
	}
	r.want()
	rw, hw := a.watchFor(&a.router, rns), a.watchFor(&a.host, hns)
	// The two reads are most of a reconcile's time when they are full; they run side by side.
	var hfresh, rfresh bool
	var herr error
	hdone := make(chan struct{})
	go func() {
		defer close(hdone)
		r.hs, hfresh, herr = readNS(hw, r.hc)
	}()
	r.rs, rfresh, err = readNS(rw, r.rc)
	<-hdone
	if err != nil {
		return res, fmt.Errorf("read router netns: %w", err)
	}
	if herr != nil {
		return res, fmt.Errorf("read host netns: %w", herr)
	}
	for _, f := range []bool{rfresh, hfresh} {
		if f {
			res.Reads++
		}
	}
	r.initIndexes()

	if err := r.ensureUnderlay(ctx); err != nil {
		r.fail("Underlay", 0, err)
	}
	if err := r.cleanup(); err != nil {
		r.fail("Cleanup", 0, err)
	}
	for i := range r.kp.L3VNIs {
		if ctx.Err() != nil {
			break
		}
		v := &r.kp.L3VNIs[i]
		if err := r.ensureL3VNI(v); err != nil {
			r.fail("L3VNI", v.VNI, err)
		}
	}
	for i := range r.kp.L2VNIs {
		if ctx.Err() != nil {
			break
		}
		v := &r.kp.L2VNIs[i]
		if err := r.ensureL2VNI(v); err != nil {
			r.fail("L2VNI", v.VNI, err)
		}
	}
	if pt := r.kp.Passthrough; pt != nil && ctx.Err() == nil {
		// Passthrough traffic is routed, not encapsulated: it gets the underlay's MTU.
		if err := r.ensureVethPair(pt.Veth, "", "", r.underlayMTU); err != nil {
			r.fail("Passthrough", 0, fmt.Errorf("ensure veth %s: %w", pt.Veth.RouterName, err))
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	errs := make([]error, len(res.Failures))
	for i, f := range res.Failures {
		errs[i] = f
	}
	return res, errors.Join(errs...)
}

// readNS returns a namespace's state: the watch's cached one when it could be kept current,
// else a full read (then fresh is true).
func readNS(w *nsWatch, c *conn) (st *nsState, fresh bool, err error) {
	if w != nil && w.state != nil && time.Since(w.at) < cacheMaxAge && w.sync() {
		return w.state.clone(), false, nil
	}
	if w != nil {
		// Events queued so far are covered by the read below; later ones are folded next time.
		w.state = nil
		w.drain()
	}
	at := time.Now()
	if st, err = read(c); err != nil {
		return nil, true, err
	}
	if w != nil {
		w.state, w.at = st.clone(), at
	}
	return st, true, nil
}

// run is the state of one Apply.
type run struct {
	a          *Applier
	kp         plan.KernelPlan
	res        *Result
	rns, hns   netns.NsHandle
	rc, hc     *conn
	rs, hs     *nsState
	routerName string
	// nextIndex is the next ifindex Apply gives a new device. Choosing indexes ourselves keeps
	// the two ends of a veth on different numbers (equal numbers make the kernel hold a moved
	// end down for ~1 s, see dataplane-lab.md) and saves a lookup after each create.
	nextIndex   int
	underlayMTU int // smallest MTU of the underlay NICs, 0 when unknown
	// wantRouter and wantHost name the devices of the plan in each namespace.
	wantRouter, wantHost map[string]string // name → kind
	// vxlans are the plan's VXLAN devices by name.
	vxlans map[string]vxlanSpec
	// externalHost names host bridges the plan uses but must never create or delete.
	externalHost map[string]bool
}

func (r *run) fail(kind string, vni uint32, err error) {
	r.res.Failures = append(r.res.Failures, &ObjectError{Kind: kind, VNI: vni, Err: err})
}

func (r *run) initIndexes() {
	m := 0
	for _, st := range []*nsState{r.rs, r.hs} {
		for i := range st.byIndex {
			m = max(m, i)
		}
	}
	r.nextIndex = m + 1
}

func (r *run) allocIndex() int {
	for {
		i := r.nextIndex
		r.nextIndex++
		if r.rs.byIndex[i] == nil && r.hs.byIndex[i] == nil {
			return i
		}
	}
}

// isOwned says whether a link carries weft's marker.
func isOwned(l *link) bool { return l.group == OwnedGroup || l.group == doomedGroup }

// weftRouterName matches the names weft generates in the router namespace.
func weftRouterName(name string) bool {
	if name == plan.PassthroughRouterVeth {
		return true
	}
	for _, p := range []string{"br-pe-", "vni", "pe-"} {
		if rest, ok := strings.CutPrefix(name, p); ok && isDigits(rest) {
			return true
		}
	}
	return false
}

// weftHostVethName matches the host ends of weft's veths.
func weftHostVethName(name string) bool {
	if name == plan.PassthroughHostVeth {
		return true
	}
	rest, ok := strings.CutPrefix(name, "host-")
	return ok && isDigits(rest)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil
}

// ownedRouter is true for router-namespace links weft may change or delete.
func ownedRouter(l *link) bool {
	return isOwned(l) && (weftRouterName(l.name) || l.kind == "vrf")
}

// ownedHost is true for host-namespace links weft may change or delete.
func ownedHost(l *link) bool {
	return isOwned(l) && (weftHostVethName(l.name) || l.kind == "bridge")
}

func checkName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("invalid device name %q (1-15 characters)", name)
	}
	return nil
}

// want records which device names the plan uses in each namespace.
func (r *run) want() {
	r.wantRouter = map[string]string{}
	r.wantHost = map[string]string{}
	r.externalHost = map[string]bool{}
	r.vxlans = map[string]vxlanSpec{}
	veth := func(v plan.Veth) {
		r.wantRouter[v.RouterName] = "veth"
		r.wantHost[v.HostName] = "veth"
	}
	for _, v := range r.kp.L3VNIs {
		r.wantRouter[v.VRF] = "vrf"
		r.wantRouter[v.Bridge] = "bridge"
		r.wantRouter[v.VXLAN] = "vxlan"
		r.vxlans[v.VXLAN] = vxlanSpec{v.VNI, v.VXLANPort}
		if v.HostVeth != nil {
			veth(*v.HostVeth)
		}
	}
	for _, v := range r.kp.L2VNIs {
		r.wantRouter[v.Bridge] = "bridge"
		r.wantRouter[v.VXLAN] = "vxlan"
		r.vxlans[v.VXLAN] = vxlanSpec{v.VNI, v.VXLANPort}
		veth(v.Veth)
		if v.HostMaster.Managed {
			r.wantHost[v.HostMaster.Name] = "bridge"
		} else {
			r.externalHost[v.HostMaster.Name] = true
		}
	}
	if pt := r.kp.Passthrough; pt != nil {
		veth(pt.Veth)
	}
}

// cleanup deletes the weft devices the plan does not list, or lists in a form the kernel
// cannot change in place (another kind, another VNI or port, a broken veth pair).
func (r *run) cleanup() error {
	var routerDoomed, hostDoomed []*link
	for _, l := range r.rs.byIndex {
		if !ownedRouter(l) {
			continue
		}
		kind, ok := r.wantRouter[l.name]
		switch {
		case !ok, kind != l.kind, l.group == doomedGroup:
		case kind == "vxlan" && !r.vxlanMatches(l):
		case kind == "veth" && r.hostPeer(l) == nil:
		default:
			continue
		}
		routerDoomed = append(routerDoomed, l)
	}
	for _, l := range r.hs.byIndex {
		if !ownedHost(l) || r.externalHost[l.name] {
			continue
		}
		kind, ok := r.wantHost[l.name]
		switch {
		case !ok, kind != l.kind, l.group == doomedGroup:
		case kind == "veth" && r.routerPeer(l) == nil:
		default:
			continue
		}
		if l.kind == "veth" && l.peerNS {
			if p := r.rs.byIndex[l.peer]; p != nil && slices.Contains(routerDoomed, p) {
				continue // goes with its router end
			}
		}
		hostDoomed = append(hostDoomed, l)
	}
	var errs []error
	if err := r.deleteLinks(r.rc, r.rs, routerDoomed); err != nil {
		errs = append(errs, fmt.Errorf("delete router devices: %w", err))
	}
	if err := r.deleteLinks(r.hc, r.hs, hostDoomed); err != nil {
		errs = append(errs, fmt.Errorf("delete host devices: %w", err))
	}
	return errors.Join(errs...)
}

// vxlanMatches reports whether an existing VXLAN device has the VNI, local address and port
// the plan wants; the kernel does not change these in place, so a mismatch means recreate.
func (r *run) vxlanMatches(l *link) bool {
	vni, port, ok := r.vxlanWant(l.name)
	return ok && l.vxlanID == vni && l.vxlanPort == port && l.vxlanLocal == r.kp.Underlay.LocalIP && !l.vxlanLearning
}

type vxlanSpec struct {
	vni  uint32
	port uint16
}

func (r *run) vxlanWant(name string) (uint32, uint16, bool) {
	v, ok := r.vxlans[name]
	return v.vni, v.port, ok
}

// hostPeer returns the host end of a router-side veth when the pair is intact and weft's.
func (r *run) hostPeer(l *link) *link {
	if l.kind != "veth" || !l.peerNS {
		return nil
	}
	p := r.hs.byIndex[l.peer]
	if p == nil || p.kind != "veth" || !ownedHost(p) || p.peer != l.index || !p.peerNS {
		return nil
	}
	return p
}

// routerPeer is hostPeer seen from the host end.
func (r *run) routerPeer(l *link) *link {
	if l.kind != "veth" || !l.peerNS {
		return nil
	}
	p := r.rs.byIndex[l.peer]
	if p == nil || p.kind != "veth" || !ownedRouter(p) || p.peer != l.index || !p.peerNS {
		return nil
	}
	return p
}

// deleteLinks removes links from one namespace: one request for a single link, otherwise
// move them to the doomed group and delete the group in one request (or delete the owned
// group itself when every member goes).
func (r *run) deleteLinks(c *conn, st *nsState, doomed []*link) error {
	if len(doomed) == 0 {
		return nil
	}
	var err error
	switch {
	case len(doomed) == 1:
		err = c.deleteLink(doomed[0].index)
		if errors.Is(err, unix.ENODEV) {
			err = nil
		}
	case r.allOfGroup(st, doomed, OwnedGroup):
		err = c.deleteGroup(OwnedGroup)
	default:
		for _, l := range doomed {
			if l.group == doomedGroup {
				continue
			}
			req, _ := c.linkMsg(l.index, false)
			req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(doomedGroup)))
			if err := c.write(req); err != nil {
				return fmt.Errorf("mark %s for deletion: %w", l.name, err)
			}
		}
		err = c.deleteGroup(doomedGroup)
	}
	if errors.Is(err, unix.ENODEV) {
		err = nil // the group was empty: its members went with their veth peers
	}
	if err != nil {
		return err
	}
	gone := map[int]bool{}
	for _, l := range doomed {
		gone[l.index] = true
		st.remove(l)
		r.res.Deleted++
		// A veth takes its peer with it.
		if l.kind == "veth" && l.peerNS {
			other := r.hs
			if st == r.hs {
				other = r.rs
			}
			if p := other.byIndex[l.peer]; p != nil && p.peer == l.index {
				other.remove(p)
			}
		}
	}
	// Ports of a deleted master are free now.
	for _, s := range []*nsState{r.rs, r.hs} {
		for _, l := range s.byIndex {
			if l.master != 0 && s == st && gone[l.master] {
				l.master = 0
			}
		}
	}
	return nil
}

func (r *run) allOfGroup(st *nsState, doomed []*link, group uint32) bool {
	n := 0
	for _, l := range st.byIndex {
		if l.group == group {
			n++
		}
	}
	m := 0
	for _, l := range doomed {
		if l.group == group {
			m++
		}
	}
	return n == m && m == len(doomed)
}

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
		if err := r.ensureVethPair(*v.HostVeth, v.VRF, "", mtu); err != nil {
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
	hm := v.HostMaster.Name
	if v.HostMaster.Managed {
		if err := r.ensureHostBridge(hm); err != nil {
			return fmt.Errorf("ensure host bridge %s: %w", hm, err)
		}
	} else if l := r.hs.byName[hm]; l == nil || l.kind != "bridge" {
		return fmt.Errorf("external host bridge %s does not exist (or is not a bridge)", hm)
	}
	if err := r.ensureVethPair(v.Veth, v.Bridge, hm, mtu); err != nil {
		return fmt.Errorf("ensure veth %s: %w", v.Veth.RouterName, err)
	}
	return nil
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

// ensureVRF creates the VRF device with a free routing table or converges the existing one.
// The table of an existing VRF is kept, so it is stable across restarts of weft.
func (r *run) ensureVRF(name string, vni uint32) error {
	if err := checkName(name); err != nil {
		return err
	}
	l := r.rs.byName[name]
	if l != nil && !ownedRouter(l) {
		return foreign(l, "router")
	}
	if l == nil {
		table := r.freeTable(vni)
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, msg := r.rc.linkMsg(idx, true)
			setUp(msg, true)
			req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
			req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(OwnedGroup)))
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
		r.rs.add(&link{index: idx, name: name, kind: "vrf", up: true, group: OwnedGroup, vrfTable: table, genMode: -1, learning: -1, neighSuppress: -1})
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
	if err := checkName(name); err != nil {
		return err
	}
	masterIdx, err := r.masterIndex(r.rs, master)
	if err != nil {
		return err
	}
	l := r.rs.byName[name]
	if l != nil && !ownedRouter(l) {
		return foreign(l, "router")
	}
	if l == nil {
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.linkMsg(idx, true) // down until addrgenmode is none (converge)
			req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
			req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(OwnedGroup)))
			if mtu > 0 {
				req.AddData(nl.NewRtAttr(unix.IFLA_MTU, u32(uint32(mtu))))
			}
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
		l = &link{index: idx, name: name, kind: "bridge", group: OwnedGroup, mtu: mtu, mac: mac, master: masterIdx, genMode: -1, learning: -1, neighSuppress: -1}
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
	if err := checkName(name); err != nil {
		return err
	}
	if !r.kp.Underlay.LocalIP.IsValid() {
		return fmt.Errorf("underlay has no local VTEP address")
	}
	masterIdx, err := r.masterIndex(r.rs, bridge)
	if err != nil {
		return err
	}
	l := r.rs.byName[name]
	if l != nil && !ownedRouter(l) {
		return foreign(l, "router")
	}
	if l == nil {
		local := r.kp.Underlay.LocalIP
		idx, err := r.create(r.rc, func(idx int) *nl.NetlinkRequest {
			req, _ := r.rc.linkMsg(idx, true) // down until addrgenmode is none
			req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
			req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(OwnedGroup)))
			if mtu > 0 {
				req.AddData(nl.NewRtAttr(unix.IFLA_MTU, u32(uint32(mtu))))
			}
			req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(masterIdx))))
			li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vxlan"))
			data := li.AddRtAttr(nl.IFLA_INFO_DATA, nil)
			data.AddRtAttr(nl.IFLA_VXLAN_ID, u32(vni))
			if local.Is4() {
				data.AddRtAttr(nl.IFLA_VXLAN_LOCAL, local.AsSlice())
			} else {
				data.AddRtAttr(nl.IFLA_VXLAN_LOCAL6, local.AsSlice())
			}
			data.AddRtAttr(nl.IFLA_VXLAN_PORT, nl.Uint16Attr(htons(port)))
			data.AddRtAttr(nl.IFLA_VXLAN_LEARNING, []byte{0})
			req.AddData(li)
			return req
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		l = &link{index: idx, name: name, kind: "vxlan", group: OwnedGroup, mtu: mtu, master: masterIdx, genMode: -1, learning: -1, neighSuppress: -1,
			vxlanID: vni, vxlanPort: port, vxlanLocal: local, slaveKind: "bridge"}
		r.rs.add(l)
	}
	return r.converge(r.rc, r.rs, l, linkWant{up: true, mtu: mtu, master: masterIdx, genModeNone: true, bridgePort: true})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// ensureHostBridge converges a Managed host bridge: weft's, up.
func (r *run) ensureHostBridge(name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	l := r.hs.byName[name]
	if l != nil && !ownedHost(l) {
		return foreign(l, "host")
	}
	if l == nil {
		idx, err := r.create(r.hc, func(idx int) *nl.NetlinkRequest {
			req, msg := r.hc.linkMsg(idx, true)
			setUp(msg, true)
			req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
			req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(OwnedGroup)))
			li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
			req.AddData(li)
			return req
		})
		if err != nil {
			return fmt.Errorf("create: %w", err)
		}
		r.res.Created++
		r.hs.add(&link{index: idx, name: name, kind: "bridge", up: true, group: OwnedGroup, genMode: -1, learning: -1, neighSuppress: -1})
		return nil
	}
	return r.converge(r.hc, r.hs, l, linkWant{up: true})
}

// ensureVethPair converges a veth whose router end is enslaved to routerMaster (a VRF, a
// bridge or nothing) and whose host end is enslaved to hostMaster (or nothing), with the
// plan's addresses on both ends.
func (r *run) ensureVethPair(v plan.Veth, routerMaster, hostMaster string, mtu int) error {
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
	if err := r.converge(r.rc, r.rs, rl, linkWant{up: true, mtu: mtu, master: rMaster}); err != nil {
		return err
	}
	if err := r.converge(r.hc, r.hs, hl, linkWant{up: true, mtu: mtu, master: hMaster}); err != nil {
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
	return nil
}

// createVeth creates both ends directly in their namespaces, up, with distinct ifindexes.
func (r *run) createVeth(v plan.Veth, master, mtu int) (*link, *link, error) {
	var err error
	for range 3 {
		ri, hi := r.allocIndex(), r.allocIndex()
		req, msg := r.rc.linkMsg(ri, true)
		setUp(msg, true)
		req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(v.RouterName)))
		req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(OwnedGroup)))
		if mtu > 0 {
			req.AddData(nl.NewRtAttr(unix.IFLA_MTU, u32(uint32(mtu))))
		}
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
		rl := &link{index: ri, name: v.RouterName, kind: "veth", up: true, mtu: mtu, master: master, group: OwnedGroup, peer: hi, peerNS: true, genMode: -1, learning: -1, neighSuppress: -1}
		hl := &link{index: hi, name: v.HostName, kind: "veth", mtu: mtu, group: OwnedGroup, peer: ri, peerNS: true, genMode: -1, learning: -1, neighSuppress: -1}
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

// linkWant is the desired state of the attributes converge compares.
type linkWant struct {
	up          bool
	mtu         int              // 0: leave as is
	mac         net.HardwareAddr // nil: leave as is
	master      int              // 0: no master
	genModeNone bool
	bridgePort  bool // learning off, neigh_suppress on
}

// converge compares one link with w and writes only what differs: one request for everything
// that can go together, and "up" separately when addrgenmode changes in the same pass (the
// kernel brings a device up before it applies addrgenmode, and would give it a link-local
// address in between).
func (r *run) converge(c *conn, st *nsState, l *link, w linkWant) error {
	req, msg := c.linkMsg(l.index, false)
	changed := false
	if w.mtu > 0 && l.mtu != w.mtu {
		req.AddData(nl.NewRtAttr(unix.IFLA_MTU, u32(uint32(w.mtu))))
		changed = true
	}
	if w.mac != nil && !macEqual(l.mac, w.mac) {
		req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, w.mac))
		changed = true
	}
	masterChanged := l.master != w.master
	if masterChanged {
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(w.master))))
		changed = true
	}
	if w.bridgePort && (l.learning != 0 || l.neighSuppress != 1 || masterChanged) {
		li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		li.AddRtAttr(nl.IFLA_INFO_SLAVE_KIND, nl.NonZeroTerminated("bridge"))
		sd := li.AddRtAttr(nl.IFLA_INFO_SLAVE_DATA, nil)
		sd.AddRtAttr(nl.IFLA_BRPORT_LEARNING, []byte{0})
		sd.AddRtAttr(nl.IFLA_BRPORT_NEIGH_SUPPRESS, []byte{1})
		if masterChanged {
			// Port flags apply to the bridge the device is in now, before the master change
			// in this request; set them in a second request below instead.
		} else {
			req.AddData(li)
			changed = true
		}
	}
	genChange := w.genModeNone && l.genMode != 1
	if genChange {
		req.AddData(addrGenModeAttr(1))
		changed = true
	}
	upChange := l.up != w.up
	if upChange && !genChange {
		setUp(msg, w.up)
		changed = true
		upChange = false
	}
	if changed {
		if err := c.write(req); err != nil {
			return fmt.Errorf("update %s: %w", l.name, err)
		}
		r.res.Updated++
		if w.mtu > 0 {
			l.mtu = w.mtu
		}
		if w.mac != nil {
			l.mac = w.mac
		}
		if masterChanged && l.up {
			// Joining or leaving a VRF cycles the device, which flushes IPv6 addresses.
			l.addrs = slices.DeleteFunc(l.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
		}
		l.master = w.master
		if genChange {
			l.genMode = 1
		} else {
			l.up = w.up
		}
	}
	if w.bridgePort && masterChanged && w.master != 0 {
		req, _ := c.linkMsg(l.index, false)
		li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		li.AddRtAttr(nl.IFLA_INFO_SLAVE_KIND, nl.NonZeroTerminated("bridge"))
		sd := li.AddRtAttr(nl.IFLA_INFO_SLAVE_DATA, nil)
		sd.AddRtAttr(nl.IFLA_BRPORT_LEARNING, []byte{0})
		sd.AddRtAttr(nl.IFLA_BRPORT_NEIGH_SUPPRESS, []byte{1})
		req.AddData(li)
		if err := c.write(req); err != nil {
			return fmt.Errorf("update %s bridge port: %w", l.name, err)
		}
	}
	if w.bridgePort {
		l.learning, l.neighSuppress = 0, 1
	}
	if upChange {
		req, msg := c.linkMsg(l.index, false)
		setUp(msg, w.up)
		if err := c.write(req); err != nil {
			return fmt.Errorf("set %s up: %w", l.name, err)
		}
		l.up = w.up
	}
	return nil
}

// convergeAddrs adds the missing addresses and, with removeExtra, removes the others.
// IPv6 link-local addresses are the kernel's business and never touched.
func (r *run) convergeAddrs(c *conn, l *link, want []netip.Prefix, removeExtra bool) error {
	for _, p := range want {
		if slices.Contains(l.addrs, p) {
			continue
		}
		if err := c.addAddr(l.index, p); err != nil {
			return fmt.Errorf("add address %s to %s: %w", p, l.name, err)
		}
		r.res.Created++
		l.addrs = append(l.addrs, p)
	}
	if !removeExtra {
		return nil
	}
	for _, p := range slices.Clone(l.addrs) {
		if slices.Contains(want, p) || kernelAddr(l, p) {
			continue
		}
		if err := c.delAddr(l.index, p); err != nil {
			return fmt.Errorf("remove address %s from %s: %w", p, l.name, err)
		}
		r.res.Deleted++
		l.addrs = slices.DeleteFunc(l.addrs, func(q netip.Prefix) bool { return q == p })
	}
	return nil
}

// kernelAddr is true for addresses the kernel manages itself.
func kernelAddr(l *link, p netip.Prefix) bool {
	a := p.Addr()
	return a.IsLinkLocalUnicast() || (l.name == "lo" && a.IsLoopback())
}
