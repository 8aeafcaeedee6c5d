package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// The parity test runs one table of objects through the API server (the CRD's schema and CEL
// rules, then this package's webhook) and through plan.Build, and fails where they disagree.
// The CRD rules are a hand-written second copy of the plan's in-object rules; this table is
// what keeps the two copies equal. A new rule in the plan or a new marker needs a row here.
//
// Every row (unless it sets its own) selects only nodes labelled parityLabel, which no Node of
// the control plane has: the webhook then judges the object alone (checkAlone), whatever other
// tests of the package created. The plan side builds it on parityNode, which has the label,
// next to the context objects below, so only the object's own rules can reject it.

const parityLabel = "weft.dev/parity"

var parityNode = plan.Node{Name: "parity-node", Index: 0, Labels: map[string]string{parityLabel: "node"}}

// The base spec of each kind, valid; a row's spec is a JSON merge patch (RFC 7386) on it: its
// keys replace the base's, maps merge, null deletes a key.
var parityBase = map[string]string{
	v1alpha1.KindUnderlay:      `{asn: 64512, neighbors: [{address: 192.0.2.1, asn: 65000}], tunnelEndpoint: {cidrs: [100.65.0.0/24]}}`,
	v1alpha1.KindL3VNI:         `{vrf: blue, vni: 200, hostSession: {hostASN: 65001, localCIDR: {ipv4: 192.169.20.0/24}}}`,
	v1alpha1.KindL2VNI:         `{vni: 300}`,
	v1alpha1.KindL3Passthrough: `{hostSession: {hostType: External, localCIDR: {ipv4: 192.168.9.0/24}}}`,
}

// parityContext are the objects the plan side plans a row with (never an Underlay row): the
// node's Underlay, with BFD profile "fast", and L3VNI red (VRF red, VNI 100), which L2VNI rows
// route into. Rows keep clear of their VNI, VRF and networks.
func parityContext() plan.Resources {
	old := metav1.NewTime(time.Unix(1000, 0))
	return plan.Resources{
		Underlays: []v1alpha1.Underlay{{
			ObjectMeta: metav1.ObjectMeta{Name: "parity-fabric", Namespace: ns, CreationTimestamp: old},
			Spec: v1alpha1.UnderlaySpec{
				ASN:            64512,
				Neighbors:      []v1alpha1.Neighbor{{Address: "192.0.2.1", ASN: ptr.To[int64](65000)}},
				BFDProfiles:    []v1alpha1.BFDProfile{{Name: "fast"}},
				TunnelEndpoint: v1alpha1.TunnelEndpoint{CIDRs: []string{"100.65.0.0/24"}},
			},
		}},
		L3VNIs: []v1alpha1.L3VNI{{
			ObjectMeta: metav1.ObjectMeta{Name: "red", Namespace: ns, CreationTimestamp: old},
			Spec:       v1alpha1.L3VNISpec{VRF: "red", VNI: 100},
		}},
	}
}

// parityRow is one object, valid or not, and what both sides must answer.
type parityRow struct {
	kind, what string
	// spec is a merge patch on the kind's base spec (YAML).
	spec  string
	valid bool
	// name is metadata.name; default p<row number>.
	name string
	// webhook says why the CRD cannot express the rule that rejects this row: the API server
	// rejects it through the webhook only. Rows without it must be rejected by the CRD alone
	// whenever the plan rejects them.
	webhook string
	// skip says why the API server and the plan legitimately differ on this row (a rule about
	// other objects): both answers are logged, not compared.
	skip string
}

const (
	kU  = v1alpha1.KindUnderlay
	kL3 = v1alpha1.KindL3VNI
	kL2 = v1alpha1.KindL2VNI
	kPT = v1alpha1.KindL3Passthrough
)

// good and bad start a row the table says is valid or invalid.
func good(kind, what, spec string) parityRow {
	return parityRow{kind: kind, what: what, spec: spec, valid: true}
}

func bad(kind, what, spec string) parityRow {
	return parityRow{kind: kind, what: what, spec: spec}
}

func (r parityRow) named(n string) parityRow         { r.name = n; return r }
func (r parityRow) webhookOnly(why string) parityRow { r.webhook = why; return r }
func (r parityRow) skipped(why string) parityRow     { r.skip = why; return r }

// yamlList is a YAML flow list of n items made by item(i).
func yamlList(n int, item func(i int) string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = item(i)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// parityNeighbors, parityRouteTargets and parityPrefixes are lists of n distinct entries.
func parityNeighbors(n int) string {
	return yamlList(n, func(i int) string { return fmt.Sprintf("{address: 192.0.2.%d, asn: 65000}", i+1) })
}

func parityRouteTargets(n int) string {
	return yamlList(n, func(i int) string { return fmt.Sprintf("'64512:%d'", i+1) })
}

func parityPrefixes(n int) string {
	return yamlList(n, func(i int) string { return fmt.Sprintf("{prefix: 10.%d.%d.0/24}", i/256, i%256) })
}

// hostFilter is a hostSession patch with one route filter direction.
func hostFilter(dir, f string) string { return fmt.Sprintf(`{hostSession: {%s: %s}}`, dir, f) }

// filteredPrefixes is a toReceive filter in mode Filtered with the given prefix entries.
func filteredPrefixes(entries string) string {
	return hostFilter("toReceive", fmt.Sprintf("{mode: Filtered, prefixes: [%s]}", entries))
}

// hostLink is a hostSession patch whose localCIDR has exactly the given networks ("" for
// none).
func hostLink(v4, v6 string) string {
	val := func(s string) string {
		if s == "" {
			return "null"
		}
		return quoteYAML(s)
	}
	return fmt.Sprintf(`{hostSession: {localCIDR: {ipv4: %s, ipv6: %s}}}`, val(v4), val(v6))
}

// quoteYAML quotes s for a YAML flow (a JSON string is one).
func quoteYAML(s string) string { b, _ := json.Marshal(s); return string(b) }

const (
	whySelector = "a label selector's syntax (operators, keys, values) is validated by the plan; the CRD only has metav1.LabelSelector's structure, and CEL over its unbounded maps exceeds the cost budget"
	whyOwnAddr  = "the node's own VTEP and router ID derive from its index: only a plan for a node can compare them"
	whyDupPfx   = "finding duplicates among up to 1000 prefixes is quadratic: over the CEL cost budget"
	whyOVS      = "OVSBridge is part of the API but not implemented yet: the schema keeps it so enabling it is no schema change"
	whyZero     = "an explicit 0 or \"\" in an omitempty field: the API server sees the value, the Go type cannot tell it from unset (the default)"
)

// parityRows are the cases the CRD schema and the plan must judge alike. Long: a table.
func parityRows() []parityRow {
	return []parityRow{
		// ---- Underlay ----
		good(kU, "base", `{}`),
		bad(kU, "name with capitals", `{}`).named("Fabric_1"),
		bad(kU, "name too long", `{}`).named(strings.Repeat("a", 254)),
		good(kU, "node selector with expressions", `{nodeSelector: {matchLabels: {weft.dev/parity: node}, matchExpressions: [{key: rack, operator: DoesNotExist}]}}`),
		bad(kU, "node selector operator", `{nodeSelector: {matchExpressions: [{key: rack, operator: Near}]}}`).webhookOnly(whySelector),
		bad(kU, "node selector label key", `{nodeSelector: {matchLabels: {"a/b/c": x}}}`).webhookOnly(whySelector),
		bad(kU, "asn 0", `{asn: 0}`),
		good(kU, "asn 1", `{asn: 1}`),
		good(kU, "asn 4294967295", `{asn: 4294967295}`),
		bad(kU, "asn 4294967296", `{asn: 4294967296}`),
		bad(kU, "asn not a number", `{asn: "64512"}`),

		good(kU, "routerIDCIDR", `{routerIDCIDR: 10.255.0.0/24}`),
		good(kU, "routerIDCIDR /30", `{routerIDCIDR: 10.255.0.0/30}`),
		bad(kU, "routerIDCIDR /31 holds no node", `{routerIDCIDR: 10.255.0.0/31}`),
		bad(kU, "routerIDCIDR /32", `{routerIDCIDR: 10.255.0.0/32}`),
		bad(kU, "routerIDCIDR not a CIDR", `{routerIDCIDR: 10.255.0.1}`),
		bad(kU, "routerIDCIDR IPv6", `{routerIDCIDR: "fd00::/64"}`),
		bad(kU, "routerIDCIDR host bits", `{routerIDCIDR: 10.255.0.1/24}`),
		bad(kU, "routerIDCIDR leading zero", `{routerIDCIDR: 10.255.0.00/24}`),
		bad(kU, "routerIDCIDR 0.0.0.0/8", `{routerIDCIDR: 0.1.0.0/24}`),
		bad(kU, "routerIDCIDR 0.0.0.0/0", `{routerIDCIDR: 0.0.0.0/0}`),
		bad(kU, "routerIDCIDR loopback", `{routerIDCIDR: 127.0.0.0/24}`),
		bad(kU, "routerIDCIDR link-local", `{routerIDCIDR: 169.254.0.0/24}`),
		bad(kU, "routerIDCIDR multicast", `{routerIDCIDR: 224.0.1.0/24}`),
		bad(kU, "routerIDCIDR reserved", `{routerIDCIDR: 240.0.0.0/24}`),
		bad(kU, "routerIDCIDR covers 127/8", `{routerIDCIDR: 64.0.0.0/2}`),
		good(kU, "routerIDCIDR next to 127/8", `{routerIDCIDR: 128.0.0.0/24}`),
		bad(kU, "no router ID without an IPv4 VTEP", `{tunnelEndpoint: {cidrs: ["fd00:65::/64"]}}`),
		good(kU, "IPv6 VTEP with routerIDCIDR", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["fd00:65::/64"]}}`),

		good(kU, "interface", `{interfaces: [{type: NetworkDevice, networkDevice: {name: eth1}}]}`),
		good(kU, "16 interfaces", `{interfaces: `+yamlList(16, func(i int) string { return fmt.Sprintf("{type: NetworkDevice, networkDevice: {name: eth%d}}", i) })+`}`),
		bad(kU, "17 interfaces", `{interfaces: `+yamlList(17, func(i int) string { return fmt.Sprintf("{type: NetworkDevice, networkDevice: {name: eth%d}}", i) })+`}`),
		bad(kU, "interface type", `{interfaces: [{type: SRIOV, networkDevice: {name: eth1}}]}`),
		bad(kU, "interface without device", `{interfaces: [{type: NetworkDevice}]}`),
		bad(kU, "interface name too long", `{interfaces: [{type: NetworkDevice, networkDevice: {name: enp0s31f6-uplink0}}]}`),
		bad(kU, "interface name with slash", `{interfaces: [{type: NetworkDevice, networkDevice: {name: ../eth0}}]}`),
		bad(kU, "interface lo", `{interfaces: [{type: NetworkDevice, networkDevice: {name: lo}}]}`),
		bad(kU, "interface with weft's prefix vni", `{interfaces: [{type: NetworkDevice, networkDevice: {name: vni100}}]}`),
		bad(kU, "interface with weft's prefix br-hs-", `{interfaces: [{type: NetworkDevice, networkDevice: {name: br-hs-1}}]}`),
		good(kU, "interface named like a prefix without its dash", `{interfaces: [{type: NetworkDevice, networkDevice: {name: hostnic}}]}`),
		bad(kU, "interface all (the kernel reserves it)", `{interfaces: [{type: NetworkDevice, networkDevice: {name: all}}]}`),
		bad(kU, "interface default (the kernel reserves it)", `{interfaces: [{type: NetworkDevice, networkDevice: {name: default}}]}`),
		good(kU, "interface named like a reserved name with more", `{interfaces: [{type: NetworkDevice, networkDevice: {name: default0}}]}`),
		bad(kU, "interface twice", `{interfaces: [{type: NetworkDevice, networkDevice: {name: eth1}}, {type: NetworkDevice, networkDevice: {name: eth1}}]}`),

		bad(kU, "no neighbors", `{neighbors: []}`),
		bad(kU, "neighbors missing", `{neighbors: null}`),
		good(kU, "64 neighbors", `{neighbors: `+parityNeighbors(64)+`}`),
		bad(kU, "65 neighbors", `{neighbors: `+parityNeighbors(65)+`}`),
		bad(kU, "neighbor address and interface", `{neighbors: [{address: 192.0.2.1, interface: eth1, asn: 65000}]}`),
		bad(kU, "neighbor without address or interface", `{neighbors: [{asn: 65000}]}`),
		bad(kU, "neighbor address 300", `{neighbors: [{address: 192.0.2.300, asn: 65000}]}`),
		bad(kU, "neighbor address injection", `{neighbors: [{address: "192.0.2.2 remote-as 1", asn: 65000}]}`),
		good(kU, "neighbor IPv6", `{neighbors: [{address: "fd00::1", asn: 65000}]}`),
		good(kU, "neighbor IPv6 with a dotted tail (45 characters)", `{neighbors: [{address: "1111:2222:3333:4444:5555:6666:123.123.123.123", asn: 65000}]}`),
		good(kU, "neighbor IPv4 link-local", `{neighbors: [{address: 169.254.0.1, asn: 65000}]}`),
		bad(kU, "neighbor IPv6 link-local", `{neighbors: [{address: "fe80::1", asn: 65000}]}`),
		bad(kU, "neighbor with zone", `{neighbors: [{address: "fe80::1%eth0", asn: 65000}]}`),
		bad(kU, "neighbor IPv4-mapped", `{neighbors: [{address: "::ffff:192.0.2.1", asn: 65000}]}`),
		bad(kU, "neighbor multicast", `{neighbors: [{address: 224.0.0.5, asn: 65000}]}`),
		bad(kU, "neighbor IPv6 multicast", `{neighbors: [{address: "ff02::5", asn: 65000}]}`),
		bad(kU, "neighbor loopback", `{neighbors: [{address: 127.0.0.1, asn: 65000}]}`),
		bad(kU, "neighbor IPv6 loopback", `{neighbors: [{address: "::1", asn: 65000}]}`),
		bad(kU, "neighbor unspecified", `{neighbors: [{address: 0.0.0.0, asn: 65000}]}`),
		bad(kU, "neighbor IPv6 unspecified", `{neighbors: [{address: "::", asn: 65000}]}`),
		bad(kU, "neighbor in 0.0.0.0/8", `{neighbors: [{address: 0.1.2.3, asn: 65000}]}`),
		bad(kU, "neighbor reserved", `{neighbors: [{address: 240.0.0.1, asn: 65000}]}`),
		bad(kU, "neighbor broadcast", `{neighbors: [{address: 255.255.255.255, asn: 65000}]}`),
		bad(kU, "neighbor is the node's own VTEP", `{neighbors: [{address: 100.65.0.1, asn: 65000}]}`).webhookOnly(whyOwnAddr),
		good(kU, "neighbor in the VTEP network", `{neighbors: [{address: 100.65.0.200, asn: 65000}]}`),
		good(kU, "unnumbered neighbor", `{neighbors: [{interface: eth1, type: External}]}`),
		bad(kU, "unnumbered neighbor interface name", `{neighbors: [{interface: "eth 1", type: External}]}`),
		good(kU, "unnumbered neighbor on a VLAN device", `{neighbors: [{interface: eth1.100, type: External}]}`),
		good(kU, "unnumbered neighbor named like three octets (not an address)", `{neighbors: [{interface: "10.0.0", type: External}]}`),
		bad(kU, "unnumbered neighbor named like an IPv4 address", `{neighbors: [{interface: "10.0.0.1", type: External}]}`),
		bad(kU, "unnumbered neighbor named like an IPv6 address", `{neighbors: [{interface: "fd00::1", type: External}]}`),
		bad(kU, "unnumbered neighbor all", `{neighbors: [{interface: all, type: External}]}`),
		bad(kU, "unnumbered neighbor default", `{neighbors: [{interface: default, type: External}]}`),
		bad(kU, "unnumbered neighbor lo", `{neighbors: [{interface: lo, type: External}]}`),
		bad(kU, "unnumbered neighbor with weft's prefix pe-", `{neighbors: [{interface: pe-100, type: External}]}`),
		bad(kU, "neighbor twice", `{neighbors: [{address: 192.0.2.1, asn: 65000}, {address: 192.0.2.1, asn: 65001}]}`),
		bad(kU, "neighbor twice in two spellings", `{neighbors: [{address: "fd00::1", asn: 65000}, {address: "fd00:0::1", asn: 65001}]}`),
		bad(kU, "unnumbered neighbor twice", `{neighbors: [{interface: eth1, type: External}, {interface: eth1, type: Internal}]}`),
		good(kU, "two neighbors", `{neighbors: [{address: 192.0.2.1, asn: 65000}, {interface: eth1, type: External}]}`),
		bad(kU, "neighbor asn and type", `{neighbors: [{address: 192.0.2.1, asn: 65000, type: External}]}`),
		bad(kU, "neighbor without asn or type", `{neighbors: [{address: 192.0.2.1}]}`),
		good(kU, "neighbor type Internal", `{neighbors: [{address: 192.0.2.1, type: Internal}]}`),
		bad(kU, "neighbor type", `{neighbors: [{address: 192.0.2.1, type: Confederation}]}`),
		bad(kU, "neighbor asn 0", `{neighbors: [{address: 192.0.2.1, asn: 0}]}`),
		bad(kU, "neighbor asn 4294967296", `{neighbors: [{address: 192.0.2.1, asn: 4294967296}]}`),
		good(kU, "neighbor port", `{neighbors: [{address: 192.0.2.1, asn: 65000, port: 1790}]}`),
		bad(kU, "neighbor port 0", `{neighbors: [{address: 192.0.2.1, asn: 65000, port: 0}]}`),
		bad(kU, "neighbor port 65536", `{neighbors: [{address: 192.0.2.1, asn: 65000, port: 65536}]}`),
		good(kU, "password secret", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: tor-password}}]}`),
		good(kU, "password secret with key", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: tor.password, key: md5_key-1.txt}}]}`),
		bad(kU, "password secret without name", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {key: md5}}]}`),
		bad(kU, "password secret empty name", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: ""}}]}`),
		bad(kU, "password secret name with capitals", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: Tor_Password}}]}`),
		bad(kU, "password secret name too long", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: `+strings.Repeat("a", 254)+`}}]}`),
		bad(kU, "password secret key with a space", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: tor, key: "md5 key"}}]}`),
		bad(kU, "password secret key with a slash", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: tor, key: a/b}}]}`),
		bad(kU, "password secret key too long", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: tor, key: `+strings.Repeat("k", 254)+`}}]}`),
		bad(kU, "password secret empty key", `{neighbors: [{address: 192.0.2.1, asn: 65000, passwordSecret: {name: tor, key: ""}}]}`).skipped(whyZero),
		good(kU, "timers", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 9, keepaliveTimeSeconds: 3}]}`),
		good(kU, "timers 3/1", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 3, keepaliveTimeSeconds: 1}]}`),
		good(kU, "hold time 0", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 0, keepaliveTimeSeconds: 0}]}`),
		good(kU, "hold time 0 with a keepalive", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 0, keepaliveTimeSeconds: 30}]}`),
		bad(kU, "hold time without keepalive", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 9}]}`),
		bad(kU, "keepalive without hold time", `{neighbors: [{address: 192.0.2.1, asn: 65000, keepaliveTimeSeconds: 3}]}`),
		bad(kU, "hold time 2", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 2, keepaliveTimeSeconds: 1}]}`),
		bad(kU, "hold time 65536", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 65536, keepaliveTimeSeconds: 3}]}`),
		bad(kU, "keepalive equal to hold time", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 9, keepaliveTimeSeconds: 9}]}`),
		bad(kU, "keepalive negative", `{neighbors: [{address: 192.0.2.1, asn: 65000, holdTimeSeconds: 0, keepaliveTimeSeconds: -1}]}`),
		good(kU, "connect time", `{neighbors: [{address: 192.0.2.1, asn: 65000, connectTimeSeconds: 65535}]}`),
		bad(kU, "connect time 0", `{neighbors: [{address: 192.0.2.1, asn: 65000, connectTimeSeconds: 0}]}`),
		bad(kU, "connect time 65536", `{neighbors: [{address: 192.0.2.1, asn: 65000, connectTimeSeconds: 65536}]}`),
		bad(kU, "connect time beyond int32", `{neighbors: [{address: 192.0.2.1, asn: 65000, connectTimeSeconds: 5000000000}]}`),
		good(kU, "ebgp multihop", `{neighbors: [{address: 192.0.2.1, asn: 65000, ebgpMultihop: 2}]}`),
		good(kU, "ebgp multihop with type External", `{neighbors: [{address: 192.0.2.1, type: External, ebgpMultihop: 255}]}`),
		bad(kU, "ebgp multihop 0", `{neighbors: [{address: 192.0.2.1, asn: 65000, ebgpMultihop: 0}]}`),
		bad(kU, "ebgp multihop 256", `{neighbors: [{address: 192.0.2.1, asn: 65000, ebgpMultihop: 256}]}`),
		bad(kU, "ebgp multihop with type Internal", `{neighbors: [{address: 192.0.2.1, type: Internal, ebgpMultihop: 2}]}`),
		bad(kU, "ebgp multihop to our own ASN", `{neighbors: [{address: 192.0.2.1, asn: 64512, ebgpMultihop: 2}]}`),
		bad(kU, "ebgp multihop unnumbered", `{neighbors: [{interface: eth1, type: External, ebgpMultihop: 2}]}`),
		good(kU, "neighbor BFD", `{bfdProfiles: [{name: fast}], neighbors: [{address: 192.0.2.1, asn: 65000, bfdProfile: fast}]}`),
		bad(kU, "neighbor BFD profile undefined", `{bfdProfiles: [{name: fast}], neighbors: [{address: 192.0.2.1, asn: 65000, bfdProfile: slow}]}`),
		bad(kU, "neighbor BFD profile name", `{neighbors: [{address: 192.0.2.1, asn: 65000, bfdProfile: "fast profile"}]}`),

		good(kU, "BFD profile", `{bfdProfiles: [{name: fast, receiveIntervalMs: 10, transmitIntervalMs: 60000, detectMultiplier: 255, minimumTTL: 254, echoMode: true, passiveMode: true}]}`),
		good(kU, "BFD profile minimum values", `{bfdProfiles: [{name: F_1-x, receiveIntervalMs: 10, transmitIntervalMs: 10, detectMultiplier: 2, minimumTTL: 1}]}`),
		good(kU, "64 BFD profiles", `{bfdProfiles: `+yamlList(64, func(i int) string { return fmt.Sprintf("{name: p%d}", i) })+`}`),
		bad(kU, "65 BFD profiles", `{bfdProfiles: `+yamlList(65, func(i int) string { return fmt.Sprintf("{name: p%d}", i) })+`}`),
		bad(kU, "BFD profile name with a space", `{bfdProfiles: [{name: "fast profile"}]}`),
		bad(kU, "BFD profile name starts with a digit", `{bfdProfiles: [{name: 1fast}]}`),
		bad(kU, "BFD profile name 64 characters", `{bfdProfiles: [{name: `+strings.Repeat("f", 64)+`}]}`),
		bad(kU, "BFD profile without name", `{bfdProfiles: [{detectMultiplier: 3}]}`),
		bad(kU, "BFD profile twice", `{bfdProfiles: [{name: fast}, {name: fast}]}`),
		bad(kU, "BFD receive interval 9", `{bfdProfiles: [{name: fast, receiveIntervalMs: 9}]}`),
		bad(kU, "BFD transmit interval 60001", `{bfdProfiles: [{name: fast, transmitIntervalMs: 60001}]}`),
		bad(kU, "BFD detect multiplier 1", `{bfdProfiles: [{name: fast, detectMultiplier: 1}]}`),
		bad(kU, "BFD detect multiplier 256", `{bfdProfiles: [{name: fast, detectMultiplier: 256}]}`),
		bad(kU, "BFD minimum TTL 0", `{bfdProfiles: [{name: fast, minimumTTL: 0}]}`),
		bad(kU, "BFD minimum TTL 255", `{bfdProfiles: [{name: fast, minimumTTL: 255}]}`),
		bad(kU, "BFD echo mode not a bool", `{bfdProfiles: [{name: fast, echoMode: "yes"}]}`),

		bad(kU, "tunnel endpoint missing", `{tunnelEndpoint: null}`),
		bad(kU, "tunnel endpoint without CIDRs", `{tunnelEndpoint: {cidrs: []}}`),
		good(kU, "tunnel endpoint dual stack", `{tunnelEndpoint: {cidrs: [100.65.0.0/24, "fd00:65::/64"]}}`),
		bad(kU, "tunnel endpoint three CIDRs", `{tunnelEndpoint: {cidrs: [100.65.0.0/24, "fd00:65::/64", "fd00:66::/64"]}}`),
		bad(kU, "tunnel endpoint two IPv4", `{tunnelEndpoint: {cidrs: [100.65.0.0/24, 100.66.0.0/24]}}`),
		bad(kU, "tunnel endpoint two IPv6", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["fd00:65::/64", "fd00:66::/64"]}}`),
		bad(kU, "tunnel endpoint injection", `{tunnelEndpoint: {cidrs: ["100.65.0.0/24\nrouter bgp 1"]}}`),
		bad(kU, "tunnel endpoint not a CIDR", `{tunnelEndpoint: {cidrs: [100.65.0.1]}}`),
		bad(kU, "tunnel endpoint host bits", `{tunnelEndpoint: {cidrs: [100.65.0.1/24]}}`),
		bad(kU, "tunnel endpoint IPv6 host bits", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["fd00:65::1/64"]}}`),
		good(kU, "tunnel endpoint /30", `{tunnelEndpoint: {cidrs: [100.65.0.0/30]}}`),
		bad(kU, "tunnel endpoint /31", `{tunnelEndpoint: {cidrs: [100.65.0.0/31]}}`),
		bad(kU, "tunnel endpoint /32", `{tunnelEndpoint: {cidrs: [100.65.0.1/32]}}`),
		good(kU, "tunnel endpoint IPv6 /127", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["fd00:65::/127"]}}`),
		bad(kU, "tunnel endpoint IPv6 /128", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["fd00:65::/128"]}}`),
		bad(kU, "tunnel endpoint 0.0.0.0/8", `{tunnelEndpoint: {cidrs: [0.0.0.0/8]}}`),
		bad(kU, "tunnel endpoint loopback", `{tunnelEndpoint: {cidrs: [127.0.0.0/8]}}`),
		bad(kU, "tunnel endpoint link-local", `{tunnelEndpoint: {cidrs: [169.254.0.0/16]}}`),
		bad(kU, "tunnel endpoint inside link-local", `{tunnelEndpoint: {cidrs: [169.254.10.0/24]}}`),
		bad(kU, "tunnel endpoint multicast", `{tunnelEndpoint: {cidrs: [224.0.0.0/24]}}`),
		bad(kU, "tunnel endpoint reserved", `{tunnelEndpoint: {cidrs: [255.255.255.0/24]}}`),
		bad(kU, "tunnel endpoint covering 169.254/16", `{tunnelEndpoint: {cidrs: [160.0.0.0/4]}}`),
		bad(kU, "tunnel endpoint IPv6 link-local", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["fe80::/64"]}}`),
		bad(kU, "tunnel endpoint IPv6 multicast", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["ff00::/16"]}}`),
		bad(kU, "tunnel endpoint IPv6 covering ::1", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["::/127"]}}`),
		bad(kU, "tunnel endpoint IPv6 ::/64", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["::/64"]}}`),
		bad(kU, "tunnel endpoint covering IPv4-mapped", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["::fffe:0:0/95"]}}`),
		good(kU, "tunnel endpoint next to IPv4-mapped", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["::fffe:0:0/96"]}}`),
		bad(kU, "tunnel endpoint inside IPv4-mapped", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["::ffff:100.65.0.0/120"]}}`),
		good(kU, "tunnel endpoint IPv6 with a dotted tail (48 characters)", `{routerIDCIDR: 10.255.0.0/24, tunnelEndpoint: {cidrs: ["1111:2222:3333:4444:5555:6666:123.123.123.0/120"]}}`),

		good(kU, "graceful restart", `{gracefulRestart: {restartTimeSeconds: 4095, stalePathTimeSeconds: 1}}`),
		good(kU, "graceful restart defaults", `{gracefulRestart: {}}`),
		bad(kU, "graceful restart time 0", `{gracefulRestart: {restartTimeSeconds: 0}}`),
		bad(kU, "graceful stale path time 4096", `{gracefulRestart: {stalePathTimeSeconds: 4096}}`),

		// ---- L3VNI ----
		good(kL3, "base", `{}`),
		good(kL3, "without host session", `{hostSession: null}`),
		bad(kL3, "name with capitals", `{}`).named("Blue"),
		good(kL3, "node selector", `{nodeSelector: {matchLabels: {weft.dev/parity: node}}}`),
		bad(kL3, "node selector label value", `{nodeSelector: {matchLabels: {weft.dev/parity: "no de"}}}`).webhookOnly(whySelector),
		good(kL3, "vrf of one letter", `{vrf: b}`),
		good(kL3, "vrf of 15 characters", `{vrf: b234567890123-5}`),
		bad(kL3, "vrf of 16 characters", `{vrf: b234567890123456}`),
		bad(kL3, "vrf with capitals", `{vrf: Blue}`),
		bad(kL3, "vrf starts with a digit", `{vrf: 9blue}`),
		bad(kL3, "vrf with an underscore", `{vrf: blue_1}`),
		bad(kL3, "vrf injection", `{vrf: "blue\n router"}`),
		bad(kL3, "vrf missing", `{vrf: null}`),
		bad(kL3, "vrf default", `{vrf: default}`),
		bad(kL3, "vrf main", `{vrf: main}`),
		bad(kL3, "vrf local", `{vrf: local}`),
		bad(kL3, "vrf all", `{vrf: all}`),
		bad(kL3, "vrf lo", `{vrf: lo}`),
		good(kL3, "vrf that starts with a reserved name", `{vrf: mainland}`),
		bad(kL3, "vrf with weft's prefix vni", `{vrf: vni200}`),
		bad(kL3, "vrf with weft's prefix br-pe-", `{vrf: br-pe-x}`),
		bad(kL3, "vrf with weft's prefix br-hs-", `{vrf: br-hs-x}`),
		bad(kL3, "vrf with weft's prefix pe-", `{vrf: pe-x}`),
		bad(kL3, "vrf with weft's prefix host-", `{vrf: host-x}`),
		good(kL3, "vrf like a prefix without its dash", `{vrf: hosts}`),
		bad(kL3, "vni 0", `{vni: 0}`),
		bad(kL3, "vni negative", `{vni: -1}`),
		good(kL3, "vni 16777215", `{vni: 16777215}`),
		bad(kL3, "vni 16777216", `{vni: 16777216}`),
		bad(kL3, "vni missing", `{vni: null}`),
		good(kL3, "vxlan port", `{vxlanPort: 4790}`),
		bad(kL3, "vxlan port 65536", `{vxlanPort: 65536}`),
		bad(kL3, "vxlan port 0", `{vxlanPort: 0}`).skipped(whyZero),
		good(kL3, "rd ASN:NN", `{routeDistinguisher: "64512:200"}`),
		good(kL3, "rd 0:0", `{routeDistinguisher: "0:0"}`),
		good(kL3, "rd 2-byte ASN with a 4-byte number", `{routeDistinguisher: "65535:4294967295"}`),
		good(kL3, "rd 4-byte ASN", `{routeDistinguisher: "4200000000:65535"}`),
		good(kL3, "rd IPv4", `{routeDistinguisher: "10.0.0.1:65535"}`),
		bad(kL3, "rd word", `{routeDistinguisher: auto}`),
		bad(kL3, "rd 4-byte ASN with a 4-byte number", `{routeDistinguisher: "4200000000:70000"}`),
		bad(kL3, "rd IPv4 with a 4-byte number", `{routeDistinguisher: "10.0.0.1:70000"}`),
		bad(kL3, "rd ASN beyond 4 bytes", `{routeDistinguisher: "4294967296:1"}`),
		bad(kL3, "rd number beyond 4 bytes", `{routeDistinguisher: "1:4294967296"}`),
		bad(kL3, "rd leading zero in the ASN", `{routeDistinguisher: "064514:1"}`),
		bad(kL3, "rd leading zero in the number", `{routeDistinguisher: "64514:01"}`),
		bad(kL3, "rd three-part IPv4", `{routeDistinguisher: "10.0.1:1"}`),
		bad(kL3, "rd IPv4 octet 256", `{routeDistinguisher: "10.0.0.256:1"}`),
		bad(kL3, "rd without number", `{routeDistinguisher: "64512:"}`),
		bad(kL3, "rd without ASN", `{routeDistinguisher: ":1"}`),
		bad(kL3, "rd 33 characters", `{routeDistinguisher: "1:`+strings.Repeat("0", 31)+`"}`),
		good(kL3, "import route targets", `{importRouteTargets: ["64512:200", "10.0.0.1:200"]}`),
		bad(kL3, "import route target without number", `{importRouteTargets: ["64512:200", "64514"]}`),
		bad(kL3, "import route target 4-byte both", `{importRouteTargets: ["4200000000:70000"]}`),
		bad(kL3, "import route target IPv6", `{importRouteTargets: ["fd00::1:5"]}`),
		good(kL3, "16 export route targets", `{exportRouteTargets: `+parityRouteTargets(16)+`}`),
		bad(kL3, "17 export route targets", `{exportRouteTargets: `+parityRouteTargets(17)+`}`),
		bad(kL3, "export route target twice", `{exportRouteTargets: ["1:1", "1:1"]}`),
		bad(kL3, "export route target injection", `{exportRouteTargets: ["1:1\nexit"]}`),
		bad(kL3, "export route target leading zero", `{exportRouteTargets: ["1:01"]}`),

		good(kL3, "host session asn", `{hostSession: {asn: 65010}}`),
		bad(kL3, "host session asn 0", `{hostSession: {asn: 0}}`),
		bad(kL3, "host session asn 4294967296", `{hostSession: {asn: 4294967296}}`),
		good(kL3, "host session type Internal", `{hostSession: {hostASN: null, hostType: Internal}}`),
		bad(kL3, "host session hostASN and hostType", `{hostSession: {hostType: External}}`),
		bad(kL3, "host session without hostASN or hostType", `{hostSession: {hostASN: null}}`),
		bad(kL3, "host session hostASN 0", `{hostSession: {hostASN: 0}}`),
		bad(kL3, "host session hostASN 5000000000", `{hostSession: {hostASN: 5000000000}}`),
		bad(kL3, "host session type", `{hostSession: {hostASN: null, hostType: Both}}`),
		bad(kL3, "host session without localCIDR", `{hostSession: {localCIDR: null}}`),
		bad(kL3, "host session empty localCIDR", hostLink("", "")),
		good(kL3, "localCIDR dual stack", hostLink("192.169.20.0/24", "fd00:20::/64")),
		good(kL3, "localCIDR IPv6 only", hostLink("", "fd00:20::/64")),
		good(kL3, "localCIDR /30", hostLink("192.169.20.0/30", "")),
		bad(kL3, "localCIDR /31", hostLink("192.169.20.0/31", "")),
		good(kL3, "localCIDR IPv6 /126", hostLink("", "fd00:20::/126")),
		bad(kL3, "localCIDR IPv6 /127", hostLink("", "fd00:20::/127")),
		bad(kL3, "localCIDR ipv4 holds IPv6", hostLink("fd00::/64", "")),
		bad(kL3, "localCIDR ipv6 holds IPv4", hostLink("", "10.0.0.0/24")),
		bad(kL3, "localCIDR host bits", hostLink("192.169.20.1/24", "")),
		bad(kL3, "localCIDR IPv6 host bits", hostLink("", "fd00:20::1/64")),
		bad(kL3, "localCIDR not a CIDR", hostLink("192.169.20.0", "")),
		good(kL3, "localCIDR link-local", hostLink("169.254.20.0/24", "")),
		bad(kL3, "localCIDR loopback", hostLink("127.0.0.0/24", "")),
		bad(kL3, "localCIDR 0.0.0.0/0", hostLink("0.0.0.0/0", "")),
		bad(kL3, "localCIDR multicast", hostLink("224.0.0.0/24", "")),
		bad(kL3, "localCIDR reserved", hostLink("240.0.0.0/24", "")),
		bad(kL3, "localCIDR IPv6 link-local", hostLink("", "fe80::/64")),
		bad(kL3, "localCIDR IPv6 multicast", hostLink("", "ff02::/64")),
		bad(kL3, "localCIDR IPv6 ::/96", hostLink("", "::/96")),
		good(kL3, "localCIDR IPv6 with a dotted tail", hostLink("", "1111:2222:3333:4444:5555:6666:123.123.123.0/120")),
		good(kL3, "host session BFD", `{hostSession: {bfdProfile: fast}}`),
		bad(kL3, "host session BFD profile name", `{hostSession: {bfdProfile: "fast profile"}}`),
		bad(kL3, "host session BFD profile the Underlay lacks", `{hostSession: {bfdProfile: slow}}`).
			skipped("the profile is looked up in the node's Underlay: another object"),
		good(kL3, "filter All", hostFilter("toReceive", `{mode: All}`)),
		good(kL3, "filter without mode", hostFilter("toAdvertise", `{}`)),
		bad(kL3, "filter mode", hostFilter("toAdvertise", `{mode: Some}`)),
		bad(kL3, "filter All with prefixes", hostFilter("toReceive", `{mode: All, prefixes: [{prefix: 10.0.0.0/8}]}`)),
		bad(kL3, "filter without mode with prefixes", hostFilter("toReceive", `{prefixes: [{prefix: 10.0.0.0/8}]}`)),
		good(kL3, "filter Filtered without prefixes", hostFilter("toReceive", `{mode: Filtered}`)),
		good(kL3, "filter prefix", filteredPrefixes(`{prefix: 10.0.0.0/8}`)),
		good(kL3, "filter IPv6 prefix", filteredPrefixes(`{prefix: "fd00::/48", ge: 64, le: 128}`)),
		bad(kL3, "filter prefix not a CIDR", filteredPrefixes(`{prefix: nope}`)),
		bad(kL3, "filter prefix without length", filteredPrefixes(`{prefix: 10.0.0.0}`)),
		bad(kL3, "filter prefix host bits", filteredPrefixes(`{prefix: 10.0.0.1/8}`)),
		bad(kL3, "filter prefix missing", filteredPrefixes(`{ge: 24}`)),
		good(kL3, "filter ge", filteredPrefixes(`{prefix: 10.0.0.0/8, ge: 9}`)),
		bad(kL3, "filter ge equal to the length", filteredPrefixes(`{prefix: 10.0.0.0/8, ge: 8}`)),
		bad(kL3, "filter ge 33", filteredPrefixes(`{prefix: 10.0.0.0/8, ge: 33}`)),
		bad(kL3, "filter ge negative", filteredPrefixes(`{prefix: 10.0.0.0/8, ge: -1}`)),
		good(kL3, "filter le equal to the length", filteredPrefixes(`{prefix: 10.0.0.0/8, le: 8}`)),
		bad(kL3, "filter le below the length", filteredPrefixes(`{prefix: 10.0.0.0/8, le: 7}`)),
		bad(kL3, "filter le 33", filteredPrefixes(`{prefix: 10.0.0.0/8, le: 33}`)),
		bad(kL3, "filter IPv6 le 129", filteredPrefixes(`{prefix: "fd00::/48", le: 129}`)),
		good(kL3, "filter ge and le", filteredPrefixes(`{prefix: 10.0.0.0/8, ge: 24, le: 32}`)),
		bad(kL3, "filter ge above le", filteredPrefixes(`{prefix: 10.0.0.0/8, ge: 24, le: 16}`)),
		bad(kL3, "filter prefix twice", filteredPrefixes(`{prefix: 10.0.0.0/8}, {prefix: 10.0.0.0/8}`)).webhookOnly(whyDupPfx),
		good(kL3, "filter the same prefix with other lengths", filteredPrefixes(`{prefix: 10.0.0.0/8}, {prefix: 10.0.0.0/8, le: 24}`)),
		good(kL3, "1000 prefixes", hostFilter("toAdvertise", `{mode: Filtered, prefixes: `+parityPrefixes(1000)+`}`)),
		bad(kL3, "1001 prefixes", hostFilter("toAdvertise", `{mode: Filtered, prefixes: `+parityPrefixes(1001)+`}`)),

		// ---- L2VNI ----
		good(kL2, "base", `{}`),
		bad(kL2, "name with a dot at the end", `{}`).named("web."),
		bad(kL2, "node selector In without values", `{nodeSelector: {matchExpressions: [{key: weft.dev/parity, operator: In}]}}`).webhookOnly(whySelector),
		good(kL2, "node selector In", `{nodeSelector: {matchExpressions: [{key: weft.dev/parity, operator: In, values: [node]}]}}`),
		bad(kL2, "vni 0", `{vni: 0}`),
		bad(kL2, "vni negative", `{vni: -5}`),
		good(kL2, "vni 1", `{vni: 1}`),
		bad(kL2, "vni 16777216", `{vni: 16777216}`),
		bad(kL2, "vni not a number", `{vni: 1.5}`),
		good(kL2, "vxlan port 65535", `{vxlanPort: 65535}`),
		bad(kL2, "vxlan port negative", `{vxlanPort: -1}`),
		good(kL2, "rd IPv4", `{routeDistinguisher: "100.65.0.4:300"}`),
		bad(kL2, "rd IPv4 octet 400", `{routeDistinguisher: "100.65.0.400:120"}`),
		bad(kL2, "rd IPv4 leading zero", `{routeDistinguisher: "010.65.0.4:120"}`),
		bad(kL2, "rd five octets", `{routeDistinguisher: "1.2.3.4.5:1"}`),
		bad(kL2, "rd IPv6", `{routeDistinguisher: "fd00::1:5"}`),
		good(kL2, "route targets", `{importRouteTargets: ["64512:300"], exportRouteTargets: ["64512:300", "64512:301"]}`),
		bad(kL2, "import route target twice", `{importRouteTargets: ["64512:300", "64512:300"]}`),
		bad(kL2, "export route target IPv4 with a 4-byte number", `{exportRouteTargets: ["10.0.0.1:65536"]}`),
		bad(kL2, "17 import route targets", `{importRouteTargets: `+parityRouteTargets(17)+`}`),
		good(kL2, "routing domain", `{routingDomain: {l3vni: red}}`),
		bad(kL2, "routing domain empty", `{routingDomain: {l3vni: ""}}`),
		bad(kL2, "routing domain without l3vni", `{routingDomain: {}}`),
		bad(kL2, "routing domain with capitals", `{routingDomain: {l3vni: Red}}`),
		bad(kL2, "routing domain with an empty label", `{routingDomain: {l3vni: "red..x"}}`),
		bad(kL2, "routing domain too long", `{routingDomain: {l3vni: `+strings.Repeat("r", 254)+`}}`),
		bad(kL2, "routing domain that does not exist", `{routingDomain: {l3vni: green}}`).
			skipped("whether the L3VNI exists on the node is a question about another object"),
		good(kL2, "gateway", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1/24]}`),
		good(kL2, "gateways dual stack", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1/24, "fd00:1::1/64"]}`),
		bad(kL2, "gateway without routing domain", `{gatewayIPs: [192.170.1.1/24]}`),
		bad(kL2, "gateway without length", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1]}`),
		bad(kL2, "gateway network address", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.0/24]}`),
		bad(kL2, "gateway broadcast address", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.255/24]}`),
		bad(kL2, "gateway broadcast address of a /30", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.7/30]}`),
		bad(kL2, "gateway broadcast address of a /9", `{routingDomain: {l3vni: red}, gatewayIPs: [10.127.255.255/9]}`),
		good(kL2, "gateway last host of a /9", `{routingDomain: {l3vni: red}, gatewayIPs: [10.127.255.254/9]}`),
		good(kL2, "gateway /31", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.0/31]}`),
		good(kL2, "gateway /31 upper", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1/31]}`),
		good(kL2, "gateway /32", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.0/32]}`),
		bad(kL2, "gateway IPv6 network address", `{routingDomain: {l3vni: red}, gatewayIPs: ["fd00:1::/64"]}`),
		good(kL2, "gateway IPv6 all ones", `{routingDomain: {l3vni: red}, gatewayIPs: ["fd00:1::ffff:ffff:ffff:ffff/64"]}`),
		good(kL2, "gateway IPv6 /127", `{routingDomain: {l3vni: red}, gatewayIPs: ["fd00:1::/127"]}`),
		bad(kL2, "two IPv4 gateways", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1/24, 192.171.1.1/24]}`),
		bad(kL2, "three gateways", `{routingDomain: {l3vni: red}, gatewayIPs: [192.170.1.1/24, "fd00:1::1/64", "fd00:2::1/64"]}`),
		bad(kL2, "gateway link-local", `{routingDomain: {l3vni: red}, gatewayIPs: [169.254.1.1/24]}`),
		bad(kL2, "gateway IPv6 link-local", `{routingDomain: {l3vni: red}, gatewayIPs: ["fe80::1/64"]}`),
		bad(kL2, "gateway loopback", `{routingDomain: {l3vni: red}, gatewayIPs: [127.0.0.1/8]}`),
		bad(kL2, "gateway IPv6 loopback", `{routingDomain: {l3vni: red}, gatewayIPs: ["::1/64"]}`),
		bad(kL2, "gateway multicast", `{routingDomain: {l3vni: red}, gatewayIPs: [224.0.0.1/24]}`),
		bad(kL2, "gateway IPv6 multicast", `{routingDomain: {l3vni: red}, gatewayIPs: ["ff02::1/64"]}`),
		bad(kL2, "gateway in 0.0.0.0/8", `{routingDomain: {l3vni: red}, gatewayIPs: [0.0.0.1/8]}`),
		bad(kL2, "gateway reserved", `{routingDomain: {l3vni: red}, gatewayIPs: [240.0.0.1/24]}`),
		good(kL2, "gateway whose subnet covers 169.254/16", `{routingDomain: {l3vni: red}, gatewayIPs: [160.0.0.1/4]}`),
		bad(kL2, "gateway IPv4-mapped", `{routingDomain: {l3vni: red}, gatewayIPs: ["::ffff:10.0.0.1/120"]}`),
		bad(kL2, "gateway with a trailing space", `{routingDomain: {l3vni: red}, gatewayIPs: ["192.170.1.1/24 "]}`),
		good(kL2, "host master defaults", `{hostMaster: {}}`),
		good(kL2, "host master external", `{hostMaster: {lifecycle: External, name: br-legacy}}`),
		bad(kL2, "host master external without name", `{hostMaster: {lifecycle: External}}`),
		bad(kL2, "host master lifecycle", `{hostMaster: {lifecycle: Borrowed}}`),
		bad(kL2, "host master type", `{hostMaster: {type: Tap}}`),
		bad(kL2, "host master OVS", `{hostMaster: {type: OVSBridge}}`).webhookOnly(whyOVS),
		good(kL2, "host master named", `{hostMaster: {name: br0}}`),
		good(kL2, "host master with its default name", `{hostMaster: {name: br-hs-300}}`),
		bad(kL2, "host master with another VNI's name", `{hostMaster: {name: br-hs-301}}`),
		bad(kL2, "host master external with weft's prefix", `{hostMaster: {lifecycle: External, name: pe-300}}`),
		bad(kL2, "host master lo", `{hostMaster: {name: lo}}`),
		bad(kL2, "host master all (the kernel reserves it)", `{hostMaster: {lifecycle: External, name: all}}`),
		bad(kL2, "host master default (the kernel reserves it)", `{hostMaster: {name: default}}`),
		bad(kL2, "host master name too long", `{hostMaster: {name: a-very-long-bridge-name}}`),
		bad(kL2, "host master name with a space", `{hostMaster: {name: "br 0"}}`),
		bad(kL2, "mtu 575", `{mtu: 575}`),
		good(kL2, "mtu 576", `{mtu: 576}`),
		good(kL2, "mtu 9216", `{mtu: 9216}`),
		bad(kL2, "mtu 9217", `{mtu: 9217}`),

		// ---- L3Passthrough ----
		good(kPT, "base", `{}`),
		bad(kPT, "name with an underscore", `{}`).named("pt_1"),
		bad(kPT, "node selector Exists with values", `{nodeSelector: {matchExpressions: [{key: weft.dev/parity, operator: Exists, values: [node]}]}}`).webhookOnly(whySelector),
		good(kPT, "node selector", `{nodeSelector: {matchLabels: {weft.dev/parity: node}}}`),
		bad(kPT, "without host session", `{hostSession: null}`),
		good(kPT, "asn equal to the Underlay's", `{hostSession: {asn: 64512}}`),
		bad(kPT, "asn other than the Underlay's", `{hostSession: {asn: 65000}}`).
			skipped("the ASN is compared with the node's Underlay: another object"),
		bad(kPT, "asn 0", `{hostSession: {asn: 0}}`),
		good(kPT, "hostASN", `{hostSession: {hostType: null, hostASN: 65000}}`),
		bad(kPT, "hostASN and hostType", `{hostSession: {hostASN: 65000}}`),
		bad(kPT, "without hostASN or hostType", `{hostSession: {hostType: null}}`),
		bad(kPT, "hostType", `{hostSession: {hostType: Both}}`),
		bad(kPT, "hostASN 4294967296", `{hostSession: {hostType: null, hostASN: 4294967296}}`),
		good(kPT, "localCIDR IPv6 only", hostLink("", "fd00:9::/64")),
		bad(kPT, "localCIDR empty", hostLink("", "")),
		bad(kPT, "localCIDR host bits", hostLink("192.168.9.1/24", "")),
		bad(kPT, "localCIDR /31", hostLink("192.168.9.0/31", "")),
		bad(kPT, "localCIDR IPv6 /128", hostLink("", "fd00:9::/128")),
		good(kPT, "localCIDR link-local", hostLink("169.254.9.0/24", "")),
		bad(kPT, "localCIDR loopback", hostLink("127.0.9.0/24", "")),
		bad(kPT, "localCIDR in 0.0.0.0/8", hostLink("0.0.9.0/24", "")),
		bad(kPT, "localCIDR IPv6 ::/0", hostLink("", "::/0")),
		bad(kPT, "localCIDR IPv6 link-local", hostLink("", "fe80::/64")),
		bad(kPT, "localCIDR IPv6 multicast", hostLink("", "ff00::/64")),
		good(kPT, "BFD", `{hostSession: {bfdProfile: fast}}`),
		bad(kPT, "BFD profile name", `{hostSession: {bfdProfile: "-fast"}}`),
		good(kPT, "filters", `{hostSession: {toReceive: {mode: All}, toAdvertise: {mode: Filtered, prefixes: [{prefix: 10.0.0.0/16, ge: 24, le: 32}]}}}`),
		bad(kPT, "filter prefix host bits", `{hostSession: {toAdvertise: {mode: Filtered, prefixes: [{prefix: 10.0.0.1/16}]}}}`),
		bad(kPT, "filter ge above le", `{hostSession: {toAdvertise: {mode: Filtered, prefixes: [{prefix: 10.0.0.0/16, ge: 28, le: 24}]}}}`),
		bad(kPT, "filter All with prefixes", `{hostSession: {toReceive: {mode: All, prefixes: [{prefix: 10.0.0.0/16}]}}}`),
		bad(kPT, "filter le 129", `{hostSession: {toReceive: {mode: Filtered, prefixes: [{prefix: "fd00::/16", le: 129}]}}}`),
	}
}

// verdict is one side's answer for a row.
type verdict struct {
	rejected bool
	// bySchema: the API server's rejection came from the CRD (schema or CEL), not the webhook.
	bySchema bool
	msg      string
}

func (v verdict) String() string {
	switch {
	case !v.rejected:
		return "accepted"
	case v.bySchema:
		return "rejected by the CRD: " + v.msg
	default:
		return "rejected: " + v.msg
	}
}

// TestParity runs the table through the API server (with the webhook) and plan.Build and
// fails on every row where they disagree, where the CRD leaves to the webhook what it could
// say itself, or where both agree against what the table says.
func TestParity(t *testing.T) {
	c := cp.Client(t)
	startWebhook(t)
	start := time.Now()
	rows := parityRows()
	counts := map[string]int{}
	var problems []string
	for i, r := range rows {
		counts[r.kind]++
		name := r.name
		if name == "" {
			name = fmt.Sprintf("p%03d", i)
		}
		obj, err := parityObject(r, name)
		if err != nil {
			t.Fatalf("row %d %s %q: %v", i, r.kind, r.what, err)
		}
		api := apiVerdict(t, c, obj)
		pl := planVerdict(t, r.kind, name, obj)
		report := func(problem string) {
			spec, _ := json.Marshal(obj["spec"])
			problems = append(problems, fmt.Sprintf("row %d %s %q: %s\n    spec:       %.300s\n    API server: %.300s\n    plan:       %.300s",
				i, r.kind, r.what, problem, spec, api, pl))
		}
		switch {
		case r.skip != "":
			t.Logf("row %d %s %q not compared (%s): API server %s; plan %s", i, r.kind, r.what, r.skip, api, pl)
			continue
		case api.rejected && !pl.rejected:
			report("the API server rejects what the plan accepts")
		case !api.rejected && pl.rejected:
			report("the plan rejects what the API server accepts")
		case api.rejected != !r.valid:
			report(fmt.Sprintf("both sides agree, but the table says valid=%t", r.valid))
		case api.rejected && !api.bySchema && r.webhook == "":
			report("only the webhook rejects it: the CRD should (or the row needs a webhook reason)")
		case api.bySchema && r.webhook != "":
			report("the CRD rejects it although the row says only the webhook can: drop the reason")
		}
	}
	t.Logf("%d rows (Underlay %d, L3VNI %d, L2VNI %d, L3Passthrough %d) in %v",
		len(rows), counts[kU], counts[kL3], counts[kL2], counts[kPT], time.Since(start).Round(time.Millisecond))
	if len(problems) > 0 {
		t.Errorf("%d of %d rows fail:\n%s", len(problems), len(rows), strings.Join(problems, "\n"))
	}
}

// parityObject is the row's object as the JSON the API server receives.
func parityObject(r parityRow, name string) (map[string]any, error) {
	var base, patch map[string]any
	if err := yaml.Unmarshal([]byte(parityBase[r.kind]), &base); err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	if err := yaml.Unmarshal([]byte(r.spec), &patch); err != nil {
		return nil, fmt.Errorf("spec: %w", err)
	}
	spec := mergePatch(base, patch)
	if _, ok := spec["nodeSelector"]; !ok {
		spec["nodeSelector"] = map[string]any{"matchLabels": map[string]any{parityLabel: "node"}}
	}
	return map[string]any{
		"apiVersion": v1alpha1.GroupVersion.String(),
		"kind":       r.kind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
	}, nil
}

// mergePatch applies a JSON merge patch (RFC 7386) to base without changing either.
func mergePatch(base, patch map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range patch {
		switch pv := v.(type) {
		case nil:
			delete(out, k)
		case map[string]any:
			bv, _ := out[k].(map[string]any)
			out[k] = mergePatch(bv, pv)
		default:
			out[k] = v
		}
	}
	return out
}

// apiVerdict creates obj on the API server as a dry run: schema, CEL and the webhook judge
// it, nothing is stored.
func apiVerdict(t *testing.T, c client.Client, obj map[string]any) verdict {
	t.Helper()
	u := &unstructured.Unstructured{Object: deepCopyJSON(obj)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.Create(ctx, u, client.DryRunAll)
	switch {
	case err == nil:
		return verdict{}
	case strings.Contains(err.Error(), "denied the request"):
		return verdict{rejected: true, msg: err.Error()}
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err):
		return verdict{rejected: true, bySchema: true, msg: err.Error()}
	}
	t.Fatalf("create %s: %v", u.GetName(), err)
	return verdict{}
}

// deepCopyJSON copies a decoded JSON value; the client writes the server's answer into it.
func deepCopyJSON(m map[string]any) map[string]any {
	raw, err := json.Marshal(m)
	if err != nil {
		panic(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}

// planVerdict decodes obj into its Go type, as the agents and the webhook do, and plans it on
// parityNode with the context objects. A value the Go type cannot hold is a rejection, and so
// is every error of the object but DependencyFailed (which blames another object).
func planVerdict(t *testing.T, kind, name string, obj map[string]any) verdict {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	res := parityContext()
	newer := metav1.NewTime(time.Unix(2000, 0))
	var decodeErr error
	switch kind {
	case kU:
		var x v1alpha1.Underlay
		decodeErr = json.Unmarshal(raw, &x)
		x.CreationTimestamp = newer
		res.Underlays = []v1alpha1.Underlay{x}
		res.L3VNIs = nil
	case kL3:
		var x v1alpha1.L3VNI
		decodeErr = json.Unmarshal(raw, &x)
		x.CreationTimestamp = newer
		res.L3VNIs = []v1alpha1.L3VNI{x}
	case kL2:
		var x v1alpha1.L2VNI
		decodeErr = json.Unmarshal(raw, &x)
		x.CreationTimestamp = newer
		res.L2VNIs = append(res.L2VNIs, x)
	case kPT:
		var x v1alpha1.L3Passthrough
		decodeErr = json.Unmarshal(raw, &x)
		x.CreationTimestamp = newer
		res.L3Passthroughs = append(res.L3Passthroughs, x)
		res.L3VNIs = nil
	}
	if decodeErr != nil {
		return verdict{rejected: true, msg: "decode: " + decodeErr.Error()}
	}
	// Passwords are the agents' business: every referenced Secret exists with a valid one.
	res.Secrets = paritySecrets(res.Underlays)
	_, errs := plan.Build(res, parityNode)
	var mine []string
	for _, e := range errs {
		if e.Reason == plan.ReasonDependencyFailed {
			continue
		}
		if e.Kind != kind || e.Name != name {
			t.Errorf("context object failed next to %s/%s: %v", kind, name, e)
			continue
		}
		mine = append(mine, e.Error())
	}
	if len(mine) > 0 {
		return verdict{rejected: true, msg: strings.Join(mine, "; ")}
	}
	return verdict{}
}

func paritySecrets(underlays []v1alpha1.Underlay) []corev1.Secret {
	var out []corev1.Secret
	for _, u := range underlays {
		for _, n := range u.Spec.Neighbors {
			if ref := n.PasswordSecret; ref != nil {
				key := ref.Key
				if key == "" {
					key = "password"
				}
				out = append(out, corev1.Secret{
					ObjectMeta: metav1.ObjectMeta{Namespace: u.Namespace, Name: ref.Name},
					Data:       map[string][]byte{key: []byte(placeholderPassword)},
				})
			}
		}
	}
	return out
}
