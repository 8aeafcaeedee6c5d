// Package plan turns weft's API objects and a node's facts into that node's NodePlan: the FRR
// model to render and the kernel objects to program, plus one error value per resource that
// could not be applied. It is pure (no I/O): the agent, host mode, the admission webhook and the
// offline `weft render` share it, so one set of rules decides what is valid everywhere.
package plan

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
)

// Node holds the facts about a node that a plan depends on.
type Node struct {
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	// Index is the node's stable index (allocated by the controller, or given by hand in host
	// mode). Addresses derive from it.
	Index int `json:"index"`
	// FRR is the release of the node's FRR when the agent knows it: an IPv6-only VTEP is
	// refused where FRR cannot carry EVPN over IPv6 (frr.Version.LacksIPv6VTEPs). Unknown
	// (the controller's webhooks, offline rendering) refuses nothing.
	FRR frr.Version `json:"-"`
	// SingleVXLAN asks for the single-VXLAN-device layout (KernelPlan.SVD): the agent sets it
	// when it is configured so and the node's kernel has VLAN filtering and VNI filtering.
	// Build uses that layout only with an FRR of release 9 or later (UsesSingleVXLAN).
	SingleVXLAN bool `json:"-"`
}

// UsesSingleVXLAN says whether plans for n use the single-VXLAN-device layout: asked for, and
// an FRR known to support it (zebra handles a VLAN-aware bridge with one VXLAN device from
// release 9 on; 8.4 does not).
func (n Node) UsesSingleVXLAN() bool {
	return n.SingleVXLAN && n.FRR.Known() && n.FRR.Major >= 9
}

// Resources are the API objects a plan is built from, in any order.
type Resources struct {
	Underlays      []v1alpha1.Underlay
	L3VNIs         []v1alpha1.L3VNI
	L2VNIs         []v1alpha1.L2VNI
	L3Passthroughs []v1alpha1.L3Passthrough
	// Secrets hold neighbor passwords. Build only checks that referenced keys exist and hold
	// a valid password; the values reach FRR at render time.
	Secrets []corev1.Secret
}

// Ref names one resource: kind, namespace and name (an object's identity, as in Kubernetes).
// Namespace is empty for objects that have none (tests, stand-ins).
type Ref struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// String prints "<Kind>/<namespace>/<name>" ("<Kind>/<name>" without a namespace); a name
// that is not a plain DNS name is quoted, so no user text can forge a second line.
func (r Ref) String() string {
	if r.Namespace == "" {
		return quoteUnlessPlain(r.Kind) + "/" + quoteUnlessPlain(r.Name)
	}
	return quoteUnlessPlain(r.Kind) + "/" + quoteUnlessPlain(r.Namespace) + "/" + quoteUnlessPlain(r.Name)
}

// refOf is the Ref of an object of the given kind.
func refOf(kind string, meta *metav1.ObjectMeta) Ref {
	return Ref{Kind: kind, Namespace: meta.Namespace, Name: meta.Name}
}

// quoteUnlessPlain returns s as it is when it holds only letters, digits, '.', '-' and '_'
// (every valid name and kind), and quoted (%q) otherwise.
func quoteUnlessPlain(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return strconv.Quote(s)
		}
	}
	if s == "" {
		return `""`
	}
	return s
}

// Reasons of resource errors (CamelCase, as in Kubernetes conditions).
const (
	// ReasonInvalid: a field's value breaks a rule of its own.
	ReasonInvalid = "Invalid"
	// ReasonConflict: the resource clashes with an older resource on the same node.
	ReasonConflict = "Conflict"
	// ReasonNotFound: a referenced object (L3VNI, Secret, BFD profile) does not exist.
	ReasonNotFound = "NotFound"
	// ReasonDependencyFailed: a resource this one depends on could not be applied.
	ReasonDependencyFailed = "DependencyFailed"
	// ReasonUnsupported: valid in the API, not implemented by this version of weft.
	ReasonUnsupported = "Unsupported"
)

// ResourceError says why one resource is not part of a node's plan.
type ResourceError struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Source is set for a document that could not be read into an object at all:
	// "<file>: document <N>"; Kind and Name are then set only when they could be read.
	Source  string `json:"source,omitempty"`
	Field   string `json:"field,omitempty"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Ref is the resource the error is about.
func (e ResourceError) Ref() Ref { return Ref{Kind: e.Kind, Namespace: e.Namespace, Name: e.Name} }

// Error prints "<Kind>/<namespace>/<name>: <field>: <message>", the form users see
// everywhere, or "<file>: document <N> (<Kind>/<namespace>/<name>): <field>: <message>" for a document
// that could not be read. It is always one line: control characters of the message are
// escaped (user values in messages are quoted where they are written; this is the net).
func (e ResourceError) Error() string {
	var b strings.Builder
	switch {
	case e.Source != "" && e.Kind != "":
		fmt.Fprintf(&b, "%s (%s)", oneLine(e.Source), e.Ref())
	case e.Source != "":
		b.WriteString(oneLine(e.Source))
	default:
		b.WriteString(e.Ref().String())
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Field))
	}
	b.WriteString(": ")
	b.WriteString(oneLine(e.Message))
	return b.String()
}

// oneLine escapes control characters (newlines, NUL, escape sequences) so s prints as one
// line that no user text can extend or forge.
func oneLine(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// NodePlan is everything one node must run.
type NodePlan struct {
	Node Node `json:"node"`
	// HasUnderlay is false when no valid Underlay selects the node; the plan is then empty.
	HasUnderlay bool       `json:"hasUnderlay"`
	FRR         frr.Config `json:"frr"`
	Kernel      KernelPlan `json:"kernel"`
	// Applied lists the resources the plan contains, sorted by kind and name.
	Applied []Ref `json:"applied,omitempty"`
}

// KernelPlan lists every kernel object weft owns on the node. Device names derive from VNIs
// and fixed prefixes only, never from user strings (VRF names and External bridge names are
// user strings that passed strict patterns).
type KernelPlan struct {
	Underlay Underlay `json:"underlay"`
	// SVD is set for the single-VXLAN-device layout: one VLAN-aware bridge and one VXLAN
	// device (external, VNI filtering) carry every L2VNI, each on a VLAN of its own that the
	// kernel layer allocates; the L2VNIs' Bridge and VXLAN name these two devices. Without
	// it, each VNI has a bridge and a VXLAN device of its own.
	SVD         *SVD         `json:"svd,omitempty"`
	L3VNIs      []L3VNI      `json:"l3vnis,omitempty"`
	L2VNIs      []L2VNI      `json:"l2vnis,omitempty"`
	Passthrough *Passthrough `json:"passthrough,omitempty"`
}

// SVD names the two router-namespace devices of the single-VXLAN-device layout.
type SVD struct {
	Bridge string `json:"bridge"`
	VXLAN  string `json:"vxlan"`
	// Port is the VXLAN device's UDP port; every VNI of the layout uses it.
	Port uint16 `json:"port"`
}

// Underlay is the router namespace's link to the fabric.
type Underlay struct {
	// Owner is the Underlay resource; the kernel layer reports this object's failures by it.
	Owner Ref `json:"owner"`
	// Interfaces are host NICs to move into the router namespace.
	Interfaces []string `json:"interfaces,omitempty"`
	// VTEPs are the VTEP addresses (/32, /128) to put on the router namespace's lo.
	VTEPs []netip.Prefix `json:"vteps,omitempty"`
	// LocalIP is the source address of every VXLAN device (IPv4 VTEP when there is one).
	LocalIP netip.Addr `json:"localIP"`
	// RouterMAC is the MAC of every L3VNI bridge on the node (the EVPN router MAC).
	RouterMAC string `json:"routerMAC"`
}

// L3VNI is a VRF device with its VXLAN bridge and, optionally, a veth to the host.
type L3VNI struct {
	// Owner is the L3VNI resource; the kernel layer reports this object's failures by it.
	Owner     Ref    `json:"owner"`
	VNI       uint32 `json:"vni"`
	VRF       string `json:"vrf"`
	Bridge    string `json:"bridge"`
	VXLAN     string `json:"vxlan"`
	VXLANPort uint16 `json:"vxlanPort"`
	// SVI is the VNI's VLAN device on the bridge in the single-VXLAN-device layout (SVIName),
	// in the VRF with the router MAC; empty in the per-VNI layout, where Bridge is in the VRF.
	SVI string `json:"svi,omitempty"`
	// HostVeth is set when the L3VNI has a host session.
	HostVeth *Veth `json:"hostVeth,omitempty"`
}

// L2VNI is a bridge + VXLAN in the router namespace, a veth to the host and the host bridge.
type L2VNI struct {
	// Owner is the L2VNI resource; the kernel layer reports this object's failures by it.
	Owner     Ref    `json:"owner"`
	VNI       uint32 `json:"vni"`
	Bridge    string `json:"bridge"`
	VXLAN     string `json:"vxlan"`
	VXLANPort uint16 `json:"vxlanPort"`
	// SVI is the VNI's VLAN device on the bridge in the single-VXLAN-device layout (SVIName):
	// its layer-3 interface, where zebra learns MAC+IP pairs and, with a VRF, the anycast
	// gateway; empty in the per-VNI layout, where Bridge is that interface.
	SVI string `json:"svi,omitempty"`
	// MTU of the bridge, VXLAN and veth; 0 keeps the kernel default (underlay MTU − 50).
	MTU int `json:"mtu,omitempty"`
	// VRF is the L3VNI VRF the bridge is enslaved to; empty for a pure layer-2 segment.
	VRF string `json:"vrf,omitempty"`
	// GatewayIPs are the anycast gateway addresses on the bridge (only with VRF).
	GatewayIPs []netip.Prefix `json:"gatewayIPs,omitempty"`
	// GatewayMAC is the bridge's MAC when it is a gateway: the same on every node.
	GatewayMAC string     `json:"gatewayMAC,omitempty"`
	Veth       Veth       `json:"veth"`
	HostMaster HostMaster `json:"hostMaster"`
}

// HostMaster is the host bridge an L2VNI's host veth is enslaved to.
type HostMaster struct {
	Name string `json:"name"`
	// Managed bridges are created and deleted by weft; the others must exist.
	Managed bool `json:"managed"`
}

// Veth is a pair between the router namespace and the host namespace.
type Veth struct {
	RouterName  string         `json:"routerName"`
	HostName    string         `json:"hostName"`
	RouterAddrs []netip.Prefix `json:"routerAddrs,omitempty"`
	HostAddrs   []netip.Prefix `json:"hostAddrs,omitempty"`
}

// Passthrough is the default-VRF veth to the host.
type Passthrough struct {
	// Owner is the L3Passthrough resource; the kernel layer reports this object's failures by it.
	Owner Ref  `json:"owner"`
	Veth  Veth `json:"veth"`
}

// RouterAddrs lists, per device, the addresses weft puts in the router namespace: VTEPs on
// lo, anycast gateways on L2VNI bridges and the router ends of host veths. FRR's zebra must
// know each of them (connected routes, type-5 routes of gateway subnets).
func (kp KernelPlan) RouterAddrs() map[string][]netip.Prefix {
	out := map[string][]netip.Prefix{}
	add := func(dev string, ps []netip.Prefix) {
		if len(ps) > 0 {
			out[dev] = append(out[dev], ps...)
		}
	}
	add("lo", kp.Underlay.VTEPs)
	for _, v := range kp.L3VNIs {
		if v.HostVeth != nil {
			add(v.HostVeth.RouterName, v.HostVeth.RouterAddrs)
		}
	}
	for _, v := range kp.L2VNIs {
		if v.VRF != "" {
			add(v.Bridge, v.GatewayIPs)
		}
	}
	if kp.Passthrough != nil {
		add(kp.Passthrough.Veth.RouterName, kp.Passthrough.Veth.RouterAddrs)
	}
	return out
}

// ParseLabels parses node labels written as k=v,k=v (the --node-labels flags); an empty
// string is no labels.
func ParseLabels(s string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%q is not key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}
