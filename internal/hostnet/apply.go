package hostnet

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// Apply converges the router and host namespaces to kp. A failing L3VNI, L2VNI or passthrough
// does not stop the others: each failure is in Result.Failures and in the joined error.
// Errors that stop everything (a namespace that cannot be opened, a dump that fails) are
// returned alone. It is long because the order of its steps is the contract (read, underlay,
// cleanup, L3VNIs before the L2VNIs they route, passthrough), kept visible in one place.
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
		r.hs, hfresh, herr = readNS(hw, hns, r.hc)
	}()
	r.rs, rfresh, err = readNS(rw, rns, r.rc)
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
	r.rw, r.hw = rw, hw

	if err := r.ensureUnderlay(ctx); err != nil {
		r.fail(r.kp.Underlay.Owner, err)
	}
	carried, err := r.neighboursToCarry()
	if err != nil {
		r.res.Warnings = append(r.res.Warnings, err.Error())
	}
	if err := r.cleanup(); err != nil {
		// Removing what no resource asks for any more fails no resource: a node-level error.
		r.fail(plan.Ref{}, fmt.Errorf("remove stale devices: %w", err))
	}
	var svdErr error
	if r.kp.SVD != nil && ctx.Err() == nil {
		// The layout's devices and VLAN map serve every VNI: when they fail, each fails.
		svdErr = r.ensureSVD()
	}
	for i := range r.kp.L3VNIs {
		if ctx.Err() != nil {
			break
		}
		v := &r.kp.L3VNIs[i]
		var err error
		switch {
		case svdErr != nil:
			err = svdErr
		case r.kp.SVD != nil:
			err = r.ensureL3VNIOnSVD(v)
		default:
			err = r.ensureL3VNI(v)
		}
		if err != nil {
			r.fail(v.Owner, err)
		}
	}
	for i := range r.kp.L2VNIs {
		if ctx.Err() != nil {
			break
		}
		v := &r.kp.L2VNIs[i]
		var err error
		switch {
		case svdErr != nil:
			err = svdErr
		case r.kp.SVD != nil:
			err = r.ensureL2VNIOnSVD(v)
		default:
			err = r.ensureL2VNI(v)
		}
		if err != nil {
			r.fail(v.Owner, err)
		}
	}
	r.carryNeighbours(carried)
	r.disableIPv6()
	r.reportHostBridges()
	if pt := r.kp.Passthrough; pt != nil && ctx.Err() == nil {
		// Passthrough traffic is routed, not encapsulated: it gets the underlay's MTU.
		if err := r.ensureVethPair(pt.Veth, "", "", r.underlayMTU, false); err != nil {
			r.fail(pt.Owner, fmt.Errorf("ensure veth %s: %w", pt.Veth.RouterName, err))
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
func readNS(w *nsWatch, ns netns.NsHandle, c *conn) (st *nsState, fresh bool, err error) {
	if w != nil && w.state != nil && time.Since(w.at) < cacheMaxAge && w.sync() {
		return w.state.clone(), false, nil
	}
	if w != nil {
		// Events queued so far are covered by the read below; later ones are folded next time.
		w.reset(ns)
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

// watchOf returns the watch of the namespace c talks to.
func (r *run) watchOf(c *conn) *nsWatch {
	if c == r.rc {
		return r.rw
	}
	return r.hw
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
	// rw and hw are the watches of the router and host namespaces (nil without a cache).
	rw, hw *nsWatch
	// vxlans are the plan's VXLAN devices by name.
	vxlans map[string]vxlanSpec
	// externalHost names host bridges the plan uses but must never create or delete.
	externalHost map[string]bool
	// ipv6Off are the closed devices whose IPv6 is still on (see disableIPv6).
	ipv6Off []ipv6Off
	// svd is the single-VXLAN-device layout's state in this pass (KernelPlan.SVD).
	svd *svdRun
}

// fail records a failure of the objects owner asked for; a zero owner is a node-level
// failure (one no resource asked for).
func (r *run) fail(owner plan.Ref, err error) {
	r.res.Failures = append(r.res.Failures, &ObjectError{Owner: owner, Err: err})
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

// ownedRouter is true for router-namespace links weft may change or delete.
func ownedRouter(l *link) bool {
	return isOwned(l) && (plan.IsRouterDeviceName(l.name) || l.kind == "vrf")
}

// ownedHost is true for host-namespace links weft may change or delete.
func ownedHost(l *link) bool {
	return isOwned(l) && (plan.IsHostVethName(l.name) || l.kind == "bridge")
}

func checkName(name string) error {
	if name == "" || len(name) > 15 {
		return fmt.Errorf("invalid device name %q (1-15 characters)", name)
	}
	return nil
}

// want records which device names the plan uses in each namespace.
func (r *run) want() {
	n := len(r.kp.L2VNIs) + len(r.kp.L3VNIs)
	r.wantRouter = make(map[string]string, 3*n)
	r.wantHost = make(map[string]string, 2*n)
	r.externalHost = map[string]bool{}
	r.vxlans = make(map[string]vxlanSpec, n)
	veth := func(v plan.Veth) {
		r.wantRouter[v.RouterName] = "veth"
		r.wantHost[v.HostName] = "veth"
	}
	for _, v := range r.kp.L3VNIs {
		r.wantRouter[v.VRF] = "vrf"
		if r.kp.SVD != nil {
			r.wantRouter[v.SVI] = "vlan"
		} else {
			r.wantRouter[v.Bridge] = "bridge"
			r.wantRouter[v.VXLAN] = "vxlan"
			r.vxlans[v.VXLAN] = vxlanSpec{vni: v.VNI, port: v.VXLANPort}
		}
		if v.HostVeth != nil {
			veth(*v.HostVeth)
		}
	}
	if svd := r.kp.SVD; svd != nil {
		r.wantRouter[svd.Bridge] = "bridge"
		r.wantRouter[svd.VXLAN] = "vxlan"
		r.vxlans[svd.VXLAN] = vxlanSpec{port: svd.Port, external: true}
	}
	for _, v := range r.kp.L2VNIs {
		if r.kp.SVD == nil {
			r.wantRouter[v.Bridge] = "bridge"
			r.wantRouter[v.VXLAN] = "vxlan"
			r.vxlans[v.VXLAN] = vxlanSpec{vni: v.VNI, port: v.VXLANPort}
		} else {
			r.wantRouter[v.SVI] = "vlan"
		}
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

// vxlanMatches reports whether an existing VXLAN device has the VNI (or the external, VNI
// filtering mode of the single VXLAN device), local address and port the plan wants; the
// kernel does not change these in place, so a mismatch means recreate.
func (r *run) vxlanMatches(l *link) bool {
	v, ok := r.vxlans[l.name]
	return ok && l.vxlanID == v.vni && l.vxlanPort == v.port && l.vxlanLocal == r.kp.Underlay.LocalIP && !l.vxlanLearning &&
		l.vxlanExternal == v.external && l.vxlanVNIFilter == v.external
}

// vxlanSpec is what a VXLAN device is created with: a VNI, or external (the single VXLAN
// device, VNI 0, with VNI filtering), and the UDP port.
type vxlanSpec struct {
	vni      uint32
	port     uint16
	external bool
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

// reportHostBridges fills Result.HostBridges and HostMasters from the host namespace's state.
func (r *run) reportHostBridges() {
	if r.hs == nil {
		return
	}
	r.res.HostMasters = make(map[string]int, len(r.hs.byName))
	ports := map[int][]string{} // master → its ports, so the pass stays linear in links
	for name, l := range r.hs.byName {
		r.res.HostMasters[name] = l.master
		if l.master != 0 {
			ports[l.master] = append(ports[l.master], name)
		}
	}
	r.res.HostBridges = make(map[string]BridgePorts, len(r.kp.L2VNIs))
	for i := range r.kp.L2VNIs {
		v := &r.kp.L2VNIs[i]
		br := r.hs.byName[v.HostMaster.Name]
		if br == nil {
			continue
		}
		bp := BridgePorts{Index: br.index}
		for _, name := range ports[br.index] {
			if name != v.Veth.HostName {
				bp.Ports = append(bp.Ports, name)
			}
		}
		slices.Sort(bp.Ports)
		r.res.HostBridges[v.HostMaster.Name] = bp
	}
}
