package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/ipam"
)

// Duplicate-address detection thresholds rendered on every node. FRR's default (5 moves in
// 180 s) flags KubeVirt VMs that live-migrate back and forth; 10 moves in 60 s still catches a
// real duplicate (two hosts fighting over a MAC move it many times a second).
const (
	dadMaxMoves    = 10
	dadTimeSeconds = 60
)

// Build computes a node's plan from the resources. It never fails as a whole: every resource
// that cannot be applied is left out and reported, and the others still make up the plan.
// The result does not depend on the order of the input slices.
func Build(res Resources, node Node) (NodePlan, []ResourceError) {
	b := &builder{node: node, secrets: indexSecrets(res.Secrets)}
	b.build(res)
	slices.SortFunc(b.errs, func(x, y ResourceError) int {
		return cmp.Or(cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Field, y.Field), cmp.Compare(x.Message, y.Message))
	})
	b.plan.Node = node
	sortRefs(b.plan.Applied)
	return b.plan, b.errs
}

// sortRefs orders refs by kind (Underlay, L3VNI, L2VNI, L3Passthrough), namespace and name.
func sortRefs(refs []Ref) {
	slices.SortFunc(refs, func(x, y Ref) int {
		return cmp.Or(cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
}

func kindRank(kind string) int {
	switch kind {
	case v1alpha1.KindUnderlay:
		return 0
	case v1alpha1.KindL3VNI:
		return 1
	case v1alpha1.KindL2VNI:
		return 2
	case v1alpha1.KindL3Passthrough:
		return 3
	}
	return 4
}

type builder struct {
	node    Node
	secrets map[secretKey]map[string][]byte
	plan    NodePlan
	errs    []ResourceError
	// failed records resources that were reported, so a resource is reported once.
	failed map[Ref]bool
}

// report records a resource's error, once per resource: the first error found is the one
// users see.
func (b *builder) report(e *ResourceError) {
	if b.failed == nil {
		b.failed = map[Ref]bool{}
	}
	if b.failed[e.Ref()] {
		return
	}
	b.failed[e.Ref()] = true
	b.errs = append(b.errs, *e)
}

func (b *builder) fail(ref Ref, fld *field.Path, reason, format string, args ...any) {
	b.report(bad(ref, fld, reason, format, args...))
}

// olderFirst orders objects so the oldest claims a contested VNI, VRF or node first; the
// namespace and name break ties (objects created in the same second).
func olderFirst(a, b *metav1.ObjectMeta) int {
	return cmp.Or(a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// selects reports whether the selector picks the node; nil selects every node.
func (b *builder) selects(kind string, meta *metav1.ObjectMeta, sel *metav1.LabelSelector) bool {
	ref := refOf(kind, meta)
	if !isDNS1123Subdomain(meta.Name) {
		errs := validation.IsDNS1123Subdomain(meta.Name)
		if len(errs) == 0 { // cannot happen: the two checks agree (TestDNS1123Subdomain)
			errs = []string{"not a lowercase RFC 1123 subdomain"}
		}
		b.fail(ref, field.NewPath("metadata", "name"), ReasonInvalid, "%q is not a valid name: %s", meta.Name, errs[0])
		return false
	}
	if meta.Namespace != "" && len(validation.IsDNS1123Label(meta.Namespace)) > 0 {
		b.fail(ref, field.NewPath("metadata", "namespace"), ReasonInvalid, "%q is not a valid namespace: must be a lowercase RFC 1123 label", meta.Namespace)
		return false
	}
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		b.fail(ref, field.NewPath("spec", "nodeSelector"), ReasonInvalid, "%s", err.Error())
		return false
	}
	return s.Matches(labels.Set(b.node.Labels))
}

func (b *builder) build(res Resources) {
	underlays := sortedCopy(res.Underlays, func(u *v1alpha1.Underlay) *metav1.ObjectMeta { return &u.ObjectMeta })
	l3s := sortedCopy(res.L3VNIs, func(u *v1alpha1.L3VNI) *metav1.ObjectMeta { return &u.ObjectMeta })
	l2s := sortedCopy(res.L2VNIs, func(u *v1alpha1.L2VNI) *metav1.ObjectMeta { return &u.ObjectMeta })
	pts := sortedCopy(res.L3Passthroughs, func(u *v1alpha1.L3Passthrough) *metav1.ObjectMeta { return &u.ObjectMeta })

	ul := b.selectUnderlay(underlays)
	selL3 := filterSelected(b, v1alpha1.KindL3VNI, l3s, func(x *v1alpha1.L3VNI) (*metav1.ObjectMeta, *metav1.LabelSelector) {
		return &x.ObjectMeta, x.Spec.NodeSelector
	})
	selL2 := filterSelected(b, v1alpha1.KindL2VNI, l2s, func(x *v1alpha1.L2VNI) (*metav1.ObjectMeta, *metav1.LabelSelector) {
		return &x.ObjectMeta, x.Spec.NodeSelector
	})
	selPT := filterSelected(b, v1alpha1.KindL3Passthrough, pts, func(x *v1alpha1.L3Passthrough) (*metav1.ObjectMeta, *metav1.LabelSelector) {
		return &x.ObjectMeta, x.Spec.NodeSelector
	})

	if ul == nil {
		msg := fmt.Sprintf("no valid Underlay selects node %q", b.node.Name)
		for _, x := range selL3 {
			b.fail(refOf(v1alpha1.KindL3VNI, &x.ObjectMeta), nil, ReasonDependencyFailed, "%s", msg)
		}
		for _, x := range selL2 {
			b.fail(refOf(v1alpha1.KindL2VNI, &x.ObjectMeta), nil, ReasonDependencyFailed, "%s", msg)
		}
		for _, x := range selPT {
			b.fail(refOf(v1alpha1.KindL3Passthrough, &x.ObjectMeta), nil, ReasonDependencyFailed, "%s", msg)
		}
		return
	}
	b.plan.HasUnderlay = true
	b.plan.Applied = append(b.plan.Applied, ul.ref)

	// Field-level checks of each resource on its own.
	cands := make([]*candidate, 0, len(selL3)+len(selL2)+len(selPT))
	for _, x := range selL3 {
		if c := b.checkL3VNI(x, ul); c != nil {
			cands = append(cands, c)
		}
	}
	for _, x := range selL2 {
		if c := b.checkL2VNI(x, ul); c != nil {
			cands = append(cands, c)
		}
	}
	for _, x := range selPT {
		if c := b.checkPassthrough(x, ul); c != nil {
			cands = append(cands, c)
		}
	}

	accepted := b.claim(cands, ul)
	l2ok := b.route(accepted, selL3)
	accepted, l2ok = b.singleVXLAN(accepted, l2ok)
	b.assemble(ul, accepted, l2ok)
}

// selectUnderlay returns the oldest valid Underlay that selects the node; the others that
// select it are conflicts.
func (b *builder) selectUnderlay(underlays []*v1alpha1.Underlay) *underlay {
	var ul *underlay
	for _, u := range underlays {
		if !b.selects(v1alpha1.KindUnderlay, &u.ObjectMeta, u.Spec.NodeSelector) {
			continue
		}
		ref := refOf(v1alpha1.KindUnderlay, &u.ObjectMeta)
		if err := ipam.CheckNodeIndex(b.node.Index); err != nil {
			b.fail(ref, nil, ReasonInvalid, "node %q: %v", b.node.Name, err)
			continue
		}
		// Its own fields first: a broken second Underlay is reported for what is broken.
		got, err := b.checkUnderlay(u)
		if err != nil {
			b.report(err)
			continue
		}
		if ul != nil {
			b.fail(ref, field.NewPath("spec", "nodeSelector"), ReasonConflict, "node %q is already selected by %s; a node takes exactly one Underlay", b.node.Name, ul.ref)
			continue
		}
		ul = got
	}
	return ul
}

// claims are what the resources of one node compete for; the oldest resource wins each.
type claims struct {
	vni    map[uint32]Ref
	vrf    map[string]Ref
	rd     map[string]Ref
	bridge map[string]Ref
	// devices are the names of user-named devices (VRFs, host bridges, the NICs the Underlay
	// moves), in either namespace: one name, one device, one owner.
	devices map[string]Ref
	// hostLinks are the host-session link networks: their host ends share the host
	// namespace, whatever VRF their router ends are in.
	hostLinks   []ownedNet
	passthrough *Ref
}

// claim gives each contested VNI, VRF, RD, host bridge, device name and host link to the
// oldest resource that asks for it, and returns the resources that got all they asked for.
func (b *builder) claim(cands []*candidate, ul *underlay) []*candidate {
	slices.SortStableFunc(cands, func(x, y *candidate) int { return olderFirst(x.meta, y.meta) })
	cl := claims{
		vni: make(map[uint32]Ref, len(cands)), vrf: map[string]Ref{}, rd: map[string]Ref{},
		bridge: make(map[string]Ref, len(cands)), devices: map[string]Ref{"lo": ul.ref},
	}
	for _, n := range ul.kernel.Interfaces {
		cl.devices[n] = ul.ref
	}
	accepted := make([]*candidate, 0, len(cands))
	for _, c := range cands {
		if e := b.conflict(&cl, c, ul); e != nil {
			b.report(e)
			continue
		}
		switch {
		case c.l3 != nil:
			cl.vrf[c.l3.vrf] = c.ref
			cl.devices[c.l3.vrf] = c.ref
			for _, p := range c.l3.linkNets {
				cl.hostLinks = append(cl.hostLinks, ownedNet{p, c.ref})
			}
		case c.l2 != nil:
			cl.bridge[c.l2.kernel.HostMaster.Name] = c.ref
			cl.devices[c.l2.kernel.HostMaster.Name] = c.ref
		case c.pt != nil:
			cl.passthrough = &c.ref
			for _, p := range c.pt.linkNets {
				cl.hostLinks = append(cl.hostLinks, ownedNet{p, c.ref})
			}
		}
		if c.pt == nil {
			cl.vni[c.vni] = c.ref
		}
		if c.rd != "" {
			cl.rd[c.rd] = c.ref
		}
		accepted = append(accepted, c)
	}
	return accepted
}

// conflict returns the first claim of c that an older resource already holds.
func (b *builder) conflict(cl *claims, c *candidate, ul *underlay) *ResourceError {
	conflict := func(fld *field.Path, format string, args ...any) *ResourceError {
		return bad(c.ref, fld, ReasonConflict, format, args...)
	}
	if c.pt != nil {
		if cl.passthrough != nil {
			return conflict(field.NewPath("spec", "nodeSelector"), "node %q already has %s; a node takes at most one", b.node.Name, *cl.passthrough)
		}
		if o, clash := overlaps(ul.nets, c.pt.linkNets); clash {
			return conflict(c.pt.linkField(o.mine), "%s overlaps %s of %s in the default VRF", o.mine, o.theirs.p, o.theirs.owner)
		}
		// The link is in the default VRF next to the Underlay's sessions: a neighbor inside
		// it would be routed to the host (and one equal to the host side would be defined
		// twice in FRR).
		for _, n := range ul.router.Neighbors {
			for _, p := range c.pt.linkNets {
				if n.Address.IsValid() && p.Contains(n.Address) {
					return conflict(c.pt.linkField(p), "%s contains %s's neighbor %s", p, ul.ref, n.Address)
				}
			}
		}
		if o, clash := overlaps(cl.hostLinks, c.pt.linkNets); clash {
			return conflict(c.pt.linkField(o.mine), "%s overlaps the host link %s of %s: both host ends are in the host namespace", o.mine, o.theirs.p, o.theirs.owner)
		}
		return nil
	}
	if o, ok := cl.vni[c.vni]; ok {
		return conflict(field.NewPath("spec", "vni"), "VNI %d is already used by %s on node %q", c.vni, o, b.node.Name)
	}
	if c.l3 != nil {
		if o, ok := cl.vrf[c.l3.vrf]; ok {
			return conflict(field.NewPath("spec", "vrf"), "VRF %q is already used by %s on node %q", c.l3.vrf, o, b.node.Name)
		}
		if o, ok := cl.devices[c.l3.vrf]; ok {
			return conflict(field.NewPath("spec", "vrf"), "%q is already the name of a device of %s on node %q", c.l3.vrf, o, b.node.Name)
		}
	}
	if c.rd != "" {
		if o, ok := cl.rd[c.rd]; ok {
			return conflict(field.NewPath("spec", "routeDistinguisher"), "route distinguisher %q is already used by %s on node %q", c.rd, o, b.node.Name)
		}
	}
	if c.l2 != nil {
		name := c.l2.kernel.HostMaster.Name
		if o, ok := cl.bridge[name]; ok {
			return conflict(field.NewPath("spec", "hostMaster", "name"), "host bridge %q is already attached to %s; two segments on one bridge would merge them", name, o)
		}
		if o, ok := cl.devices[name]; ok {
			return conflict(field.NewPath("spec", "hostMaster", "name"), "%q is already the name of a device of %s on node %q", name, o, b.node.Name)
		}
	}
	if c.l3 != nil {
		if o, clash := overlaps(cl.hostLinks, c.l3.linkNets); clash {
			return conflict(c.l3.linkField(o.mine), "%s overlaps the host link %s of %s: both host ends are in the host namespace", o.mine, o.theirs.p, o.theirs.owner)
		}
	}
	return nil
}

// route joins each accepted L2VNI with a routing domain to its L3VNI (same namespace) and
// checks its gateways against the subnets already in that VRF. It returns the L2VNIs that
// stay in the plan.
func (b *builder) route(accepted []*candidate, selL3 []*v1alpha1.L3VNI) []*candidate {
	l3ByRef := map[Ref]*candidate{}
	vrfNets := map[string][]ownedNet{}
	for _, c := range accepted {
		if c.l3 != nil {
			l3ByRef[c.ref] = c
			for _, p := range c.l3.linkNets {
				vrfNets[c.l3.vrf] = append(vrfNets[c.l3.vrf], ownedNet{p, c.ref})
			}
		}
	}
	selectedL3 := map[Ref]bool{}
	for _, x := range selL3 {
		selectedL3[refOf(v1alpha1.KindL3VNI, &x.ObjectMeta)] = true
	}
	var l2ok []*candidate
	for _, c := range accepted {
		if c.l2 == nil {
			continue
		}
		if rd := c.l2.routingDomain; rd != "" {
			fld := field.NewPath("spec", "routingDomain", "l3vni")
			want := Ref{Kind: v1alpha1.KindL3VNI, Namespace: c.ref.Namespace, Name: rd}
			l3, ok := l3ByRef[want]
			switch {
			case !ok && selectedL3[want]:
				b.fail(c.ref, fld, ReasonDependencyFailed, "%s could not be applied on node %q", want, b.node.Name)
				continue
			case !ok:
				b.fail(c.ref, fld, ReasonNotFound, "%s does not exist in namespace %q or does not select node %q (a routing domain is an L3VNI of the L2VNI's own namespace)", want, c.ref.Namespace, b.node.Name)
				continue
			}
			c.l2.kernel.VRF = l3.l3.vrf
			if o, clash := overlaps(vrfNets[l3.l3.vrf], c.l2.kernel.GatewayIPs); clash {
				b.fail(c.ref, field.NewPath("spec", "gatewayIPs"), ReasonConflict, "%s overlaps %s of %s in VRF %q", o.mine, o.theirs.p, o.theirs.owner, l3.l3.vrf)
				continue
			}
			for _, g := range c.l2.kernel.GatewayIPs {
				vrfNets[l3.l3.vrf] = append(vrfNets[l3.l3.vrf], ownedNet{g.Masked(), c.ref})
			}
			l3.l3.gatewayNets = append(l3.l3.gatewayNets, masked(c.l2.kernel.GatewayIPs)...)
		}
		l2ok = append(l2ok, c)
	}
	return l2ok
}

// assemble writes the accepted pieces into the plan, in VNI order.
func (b *builder) assemble(ul *underlay, accepted, l2s []*candidate) {
	cfg := &b.plan.FRR
	cfg.IPForwarding = true
	cfg.IPv6Forwarding = true
	cfg.BFDProfiles = ul.bfd
	cfg.Router = ul.router
	cfg.Router.EVPN = frr.EVPN{
		AdvertiseAllVNI:  true,
		DupAddrDetection: frr.DupAddrDetection{MaxMoves: dadMaxMoves, TimeSeconds: dadTimeSeconds},
	}
	b.plan.Kernel.Underlay = ul.kernel
	b.plan.Kernel.Underlay.Owner = ul.ref

	slices.SortFunc(accepted, func(x, y *candidate) int { return cmp.Compare(x.vni, y.vni) })
	slices.SortFunc(l2s, func(x, y *candidate) int { return cmp.Compare(x.vni, y.vni) })
	// Sized once: the L2VNI entries are large and there may be thousands.
	if len(l2s) > 0 {
		b.plan.Kernel.L2VNIs = make([]L2VNI, 0, len(l2s))
	}
	b.plan.Applied = slices.Grow(b.plan.Applied, len(accepted)+len(l2s)+1)
	for _, c := range accepted {
		if c.l3 == nil {
			continue
		}
		v := c.l3.frr
		for _, n := range c.l3.gatewayNets {
			if n.Addr().Is4() {
				v.IPv4Networks = append(v.IPv4Networks, n)
			} else {
				v.IPv6Networks = append(v.IPv6Networks, n)
			}
		}
		sortPrefixes(v.IPv4Networks)
		sortPrefixes(v.IPv6Networks)
		cfg.VRFs = append(cfg.VRFs, v)
		cfg.PrefixLists = append(cfg.PrefixLists, c.l3.prefixLists...)
		cfg.RouteMaps = append(cfg.RouteMaps, c.l3.routeMaps...)
		k := c.l3.kernel
		k.Owner = c.ref
		b.plan.Kernel.L3VNIs = append(b.plan.Kernel.L3VNIs, k)
		b.plan.Applied = append(b.plan.Applied, c.ref)
	}
	for _, c := range l2s {
		if c.l2.evpn != nil {
			cfg.Router.EVPN.VNIs = append(cfg.Router.EVPN.VNIs, *c.l2.evpn)
		}
		b.plan.Kernel.L2VNIs = append(b.plan.Kernel.L2VNIs, c.l2.kernel)
		b.plan.Kernel.L2VNIs[len(b.plan.Kernel.L2VNIs)-1].Owner = c.ref
		b.plan.Applied = append(b.plan.Applied, c.ref)
	}
	for _, c := range accepted {
		if pt := c.pt; pt != nil {
			// The host's routes go on to the fabric with the host's address as next hop,
			// which only this node reaches: over iBGP (where bgpd keeps a next hop) the
			// underlay sessions send this node's own address instead. eBGP sessions do so
			// anyway.
			asn := strconv.FormatUint(uint64(ul.asn), 10)
			for i := range cfg.Router.Neighbors {
				if nb := &cfg.Router.Neighbors[i]; nb.RemoteAS == frr.RemoteASInternal || nb.RemoteAS == asn {
					nb.NextHopSelf = true
				}
			}
			cfg.Router.Neighbors = append(cfg.Router.Neighbors, pt.neighbors...)
			cfg.PrefixLists = append(cfg.PrefixLists, pt.prefixLists...)
			cfg.RouteMaps = append(cfg.RouteMaps, pt.routeMaps...)
			b.plan.Kernel.Passthrough = &Passthrough{Owner: c.ref, Veth: pt.veth}
			b.plan.Applied = append(b.plan.Applied, c.ref)
		}
	}
	sortNeighbors(cfg.Router.Neighbors)
	slices.SortFunc(cfg.PrefixLists, func(x, y frr.PrefixList) int {
		return cmp.Or(cmp.Compare(boolRank(x.IPv6), boolRank(y.IPv6)), cmp.Compare(x.Name, y.Name))
	})
	slices.SortFunc(cfg.RouteMaps, func(x, y frr.RouteMap) int { return cmp.Compare(x.Name, y.Name) })
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// sortNeighbors orders neighbors as FRR lists them: numbered peers by address, then
// unnumbered ones by interface name.
func sortNeighbors(ns []frr.Neighbor) {
	slices.SortFunc(ns, func(x, y frr.Neighbor) int {
		xi, yi := x.Interface != "", y.Interface != ""
		if xi != yi {
			return boolRank(xi) - boolRank(yi)
		}
		if xi {
			return cmp.Compare(x.Interface, y.Interface)
		}
		return x.Address.Compare(y.Address)
	})
}

func sortPrefixes(ps []netip.Prefix) {
	slices.SortFunc(ps, func(x, y netip.Prefix) int {
		return cmp.Or(x.Addr().Compare(y.Addr()), cmp.Compare(x.Bits(), y.Bits()))
	})
}

func masked(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = p.Masked()
	}
	return out
}

type ownedNet struct {
	p     netip.Prefix
	owner Ref
}

type overlap struct {
	mine   netip.Prefix
	theirs ownedNet
}

// overlaps reports the first of mine that overlaps one of theirs.
func overlaps(theirs []ownedNet, mine []netip.Prefix) (overlap, bool) {
	for _, m := range mine {
		for _, t := range theirs {
			if m.Masked().Overlaps(t.p) {
				return overlap{mine: m.Masked(), theirs: t}, true
			}
		}
	}
	return overlap{}, false
}

// sortedCopy returns pointers to the objects, oldest first; the objects are large, so they
// are not copied.
func sortedCopy[T any](in []T, meta func(*T) *metav1.ObjectMeta) []*T {
	out := make([]*T, len(in))
	for i := range in {
		out[i] = &in[i]
	}
	slices.SortStableFunc(out, func(x, y *T) int { return olderFirst(meta(x), meta(y)) })
	return out
}

func filterSelected[T any](b *builder, kind string, in []*T, get func(*T) (*metav1.ObjectMeta, *metav1.LabelSelector)) []*T {
	var out []*T
	for _, x := range in {
		meta, sel := get(x)
		if b.selects(kind, meta, sel) {
			out = append(out, x)
		}
	}
	return out
}

// secretKey finds a Secret: a reference names a Secret of the referring object's namespace.
type secretKey struct{ namespace, name string }

func indexSecrets(secrets []corev1.Secret) map[secretKey]map[string][]byte {
	out := map[secretKey]map[string][]byte{}
	for _, s := range secrets {
		data := map[string][]byte{}
		for k, v := range s.Data {
			data[k] = v
		}
		for k, v := range s.StringData {
			data[k] = []byte(v)
		}
		out[secretKey{s.Namespace, s.Name}] = data
	}
	return out
}
