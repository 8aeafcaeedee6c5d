package plan

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
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
		return cmp.Or(cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)), cmp.Compare(x.Name, y.Name), cmp.Compare(x.Field, y.Field), cmp.Compare(x.Message, y.Message))
	})
	b.plan.Node = node
	slices.SortFunc(b.plan.Applied, func(x, y Ref) int {
		return cmp.Or(cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)), cmp.Compare(x.Name, y.Name))
	})
	return b.plan, b.errs
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
	secrets map[string]map[string][]byte
	plan    NodePlan
	errs    []ResourceError
	// failed records resources that were reported, so a resource is reported once.
	failed map[Ref]bool
}

func (b *builder) fail(kind, name string, fld *field.Path, reason, format string, args ...any) {
	if b.failed == nil {
		b.failed = map[Ref]bool{}
	}
	ref := Ref{Kind: kind, Name: name}
	if b.failed[ref] {
		return
	}
	b.failed[ref] = true
	e := ResourceError{Kind: kind, Name: name, Reason: reason, Message: fmt.Sprintf(format, args...)}
	if fld != nil {
		e.Field = fld.String()
	}
	b.errs = append(b.errs, e)
}

// olderFirst orders objects so the oldest claims a contested VNI, VRF or node first; the name
// breaks ties (host mode has no timestamps).
func olderFirst(a, b *metav1.ObjectMeta) int {
	return cmp.Or(a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}

// selects reports whether the selector picks the node; nil selects every node.
func (b *builder) selects(kind string, meta *metav1.ObjectMeta, sel *metav1.LabelSelector) bool {
	if !isDNS1123Subdomain(meta.Name) {
		errs := validation.IsDNS1123Subdomain(meta.Name)
		if len(errs) == 0 { // cannot happen: the two checks agree (TestDNS1123Subdomain)
			errs = []string{"not a lowercase RFC 1123 subdomain"}
		}
		b.fail(kind, meta.Name, field.NewPath("metadata", "name"), ReasonInvalid, "%q is not a valid name: %s", meta.Name, errs[0])
		return false
	}
	if sel == nil {
		return true
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		b.fail(kind, meta.Name, field.NewPath("spec", "nodeSelector"), ReasonInvalid, "%v", err)
		return false
	}
	return s.Matches(labels.Set(b.node.Labels))
}

func (b *builder) build(res Resources) {
	underlays := sortedCopy(res.Underlays, func(u *v1alpha1.Underlay) *metav1.ObjectMeta { return &u.ObjectMeta })
	l3s := sortedCopy(res.L3VNIs, func(u *v1alpha1.L3VNI) *metav1.ObjectMeta { return &u.ObjectMeta })
	l2s := sortedCopy(res.L2VNIs, func(u *v1alpha1.L2VNI) *metav1.ObjectMeta { return &u.ObjectMeta })
	pts := sortedCopy(res.L3Passthroughs, func(u *v1alpha1.L3Passthrough) *metav1.ObjectMeta { return &u.ObjectMeta })

	// Underlay: the oldest valid one selecting the node wins.
	var ul *underlay
	for _, u := range underlays {
		if !b.selects(v1alpha1.KindUnderlay, &u.ObjectMeta, u.Spec.NodeSelector) {
			continue
		}
		if ul != nil {
			b.fail(v1alpha1.KindUnderlay, u.Name, nil, ReasonConflict, "node %s is already selected by Underlay/%s; a node takes exactly one Underlay", b.node.Name, ul.name)
			continue
		}
		got, err := b.checkUnderlay(u)
		if err != nil {
			b.errs = append(b.errs, *err)
			continue
		}
		ul = got
	}

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
		msg := fmt.Sprintf("no valid Underlay selects node %s", b.node.Name)
		for _, x := range selL3 {
			b.fail(v1alpha1.KindL3VNI, x.Name, nil, ReasonDependencyFailed, "%s", msg)
		}
		for _, x := range selL2 {
			b.fail(v1alpha1.KindL2VNI, x.Name, nil, ReasonDependencyFailed, "%s", msg)
		}
		for _, x := range selPT {
			b.fail(v1alpha1.KindL3Passthrough, x.Name, nil, ReasonDependencyFailed, "%s", msg)
		}
		return
	}
	b.plan.HasUnderlay = true
	b.plan.Applied = append(b.plan.Applied, Ref{Kind: v1alpha1.KindUnderlay, Name: ul.name})

	// Field-level checks of each resource on its own.
	vnis := make([]*vniCandidate, 0, len(selL3)+len(selL2))
	for _, x := range selL3 {
		if c := b.checkL3VNI(x, ul); c != nil {
			vnis = append(vnis, c)
		}
	}
	for _, x := range selL2 {
		if c := b.checkL2VNI(x, ul); c != nil {
			vnis = append(vnis, c)
		}
	}

	// Cross-object claims, oldest first: VNI, VRF, RD and host bridge must be unique.
	slices.SortStableFunc(vnis, func(x, y *vniCandidate) int { return olderFirst(x.meta, y.meta) })
	claimedVNI := make(map[uint32]Ref, len(vnis))
	claimedVRF := make(map[string]Ref, len(selL3))
	claimedRD := map[string]Ref{}
	claimedBridge := make(map[string]Ref, len(selL2))
	accepted := make([]*vniCandidate, 0, len(vnis))
	for _, c := range vnis {
		ref := Ref{Kind: c.kind, Name: c.meta.Name}
		if o, ok := claimedVNI[c.vni]; ok {
			b.fail(c.kind, c.meta.Name, field.NewPath("spec", "vni"), ReasonConflict, "VNI %d is already used by %s on node %s", c.vni, o, b.node.Name)
			continue
		}
		if c.l3 != nil {
			if o, ok := claimedVRF[c.l3.vrf]; ok {
				b.fail(c.kind, c.meta.Name, field.NewPath("spec", "vrf"), ReasonConflict, "VRF %q is already used by %s on node %s", c.l3.vrf, o, b.node.Name)
				continue
			}
		}
		if c.rd != "" {
			if o, ok := claimedRD[c.rd]; ok {
				b.fail(c.kind, c.meta.Name, field.NewPath("spec", "routeDistinguisher"), ReasonConflict, "route distinguisher %s is already used by %s on node %s", c.rd, o, b.node.Name)
				continue
			}
		}
		if c.l2 != nil {
			if o, ok := claimedBridge[c.l2.kernel.HostMaster.Name]; ok {
				b.fail(c.kind, c.meta.Name, field.NewPath("spec", "hostMaster", "name"), ReasonConflict, "host bridge %s is already attached to %s; two segments on one bridge would merge them", c.l2.kernel.HostMaster.Name, o)
				continue
			}
		}
		claimedVNI[c.vni] = ref
		if c.l3 != nil {
			claimedVRF[c.l3.vrf] = ref
		}
		if c.rd != "" {
			claimedRD[c.rd] = ref
		}
		if c.l2 != nil {
			claimedBridge[c.l2.kernel.HostMaster.Name] = ref
		}
		accepted = append(accepted, c)
	}

	// L3VNIs that survived, by name, for the L2VNIs' routing domains.
	l3ByName := map[string]*vniCandidate{}
	for _, c := range accepted {
		if c.l3 != nil {
			l3ByName[c.meta.Name] = c
		}
	}
	selectedL3 := map[string]bool{}
	for _, x := range selL3 {
		selectedL3[x.Name] = true
	}
	// Subnets used inside each VRF, to reject overlaps; the host session's link comes first.
	vrfNets := map[string][]ownedNet{}
	for _, c := range accepted {
		if c.l3 != nil {
			for _, p := range c.l3.linkNets {
				vrfNets[c.l3.vrf] = append(vrfNets[c.l3.vrf], ownedNet{p, Ref{Kind: c.kind, Name: c.meta.Name}})
			}
		}
	}
	var l2ok []*vniCandidate
	for _, c := range accepted {
		if c.l2 == nil {
			continue
		}
		if rd := c.l2.routingDomain; rd != "" {
			fld := field.NewPath("spec", "routingDomain", "l3vni")
			l3, ok := l3ByName[rd]
			switch {
			case !ok && selectedL3[rd]:
				b.fail(c.kind, c.meta.Name, fld, ReasonDependencyFailed, "L3VNI %s could not be applied on node %s", rd, b.node.Name)
				continue
			case !ok:
				b.fail(c.kind, c.meta.Name, fld, ReasonNotFound, "L3VNI %s does not exist or does not select node %s", rd, b.node.Name)
				continue
			}
			c.l2.kernel.VRF = l3.l3.vrf
			if o, clash := overlaps(vrfNets[l3.l3.vrf], c.l2.kernel.GatewayIPs); clash {
				b.fail(c.kind, c.meta.Name, field.NewPath("spec", "gatewayIPs"), ReasonConflict, "%s overlaps %s of %s in VRF %s", o.mine, o.theirs.p, o.theirs.owner, l3.l3.vrf)
				continue
			}
			for _, g := range c.l2.kernel.GatewayIPs {
				vrfNets[l3.l3.vrf] = append(vrfNets[l3.l3.vrf], ownedNet{g.Masked(), Ref{Kind: c.kind, Name: c.meta.Name}})
			}
			l3.l3.gatewayNets = append(l3.l3.gatewayNets, masked(c.l2.kernel.GatewayIPs)...)
		}
		l2ok = append(l2ok, c)
	}

	// Passthrough: the oldest valid one wins; its link must not overlap the underlay's nets.
	var pt *passthrough
	for _, x := range selPT {
		if pt != nil {
			b.fail(v1alpha1.KindL3Passthrough, x.Name, nil, ReasonConflict, "node %s already has L3Passthrough/%s; a node takes at most one", b.node.Name, pt.name)
			continue
		}
		got := b.checkPassthrough(x, ul)
		if got == nil {
			continue
		}
		if o, clash := overlaps(ul.nets, got.linkNets); clash {
			b.fail(v1alpha1.KindL3Passthrough, x.Name, field.NewPath("spec", "hostSession", "localCIDR"), ReasonConflict, "%s overlaps %s of %s in the default VRF", o.mine, o.theirs.p, o.theirs.owner)
			continue
		}
		pt = got
	}

	b.assemble(ul, accepted, l2ok, pt)
}

// assemble writes the accepted pieces into the plan, in VNI order.
func (b *builder) assemble(ul *underlay, accepted, l2s []*vniCandidate, pt *passthrough) {
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

	slices.SortFunc(accepted, func(x, y *vniCandidate) int { return cmp.Compare(x.vni, y.vni) })
	slices.SortFunc(l2s, func(x, y *vniCandidate) int { return cmp.Compare(x.vni, y.vni) })
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
		b.plan.Kernel.L3VNIs = append(b.plan.Kernel.L3VNIs, c.l3.kernel)
		b.plan.Applied = append(b.plan.Applied, Ref{Kind: c.kind, Name: c.meta.Name})
	}
	for _, c := range l2s {
		if c.l2.evpn != nil {
			cfg.Router.EVPN.VNIs = append(cfg.Router.EVPN.VNIs, *c.l2.evpn)
		}
		b.plan.Kernel.L2VNIs = append(b.plan.Kernel.L2VNIs, c.l2.kernel)
		b.plan.Applied = append(b.plan.Applied, Ref{Kind: c.kind, Name: c.meta.Name})
	}
	if pt != nil {
		cfg.Router.Neighbors = append(cfg.Router.Neighbors, pt.neighbors...)
		cfg.PrefixLists = append(cfg.PrefixLists, pt.prefixLists...)
		cfg.RouteMaps = append(cfg.RouteMaps, pt.routeMaps...)
		b.plan.Kernel.Passthrough = &Passthrough{Veth: pt.veth}
		b.plan.Applied = append(b.plan.Applied, Ref{Kind: v1alpha1.KindL3Passthrough, Name: pt.name})
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

func indexSecrets(secrets []corev1.Secret) map[string]map[string][]byte {
	out := map[string]map[string][]byte{}
	for _, s := range secrets {
		data := map[string][]byte{}
		for k, v := range s.Data {
			data[k] = v
		}
		for k, v := range s.StringData {
			data[k] = []byte(v)
		}
		out[s.Name] = data
	}
	return out
}
