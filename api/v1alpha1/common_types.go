package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// PeerType selects the BGP peering type without naming the peer's ASN.
// +kubebuilder:validation:Enum=Internal;External
type PeerType string

// Peer types.
const (
	PeerInternal PeerType = "Internal"
	PeerExternal PeerType = "External"
)

// HostSession is a BGP session between the router namespace and the host, over a veth.
// The router side of the veth has the same address on every node (the first usable address of
// localCIDR), so one peer definition on the host side works cluster-wide; the host side address
// is derived from the node index.
// +kubebuilder:validation:XValidation:rule="has(self.hostASN) != has(self.hostType)",message="exactly one of hostASN and hostType must be set"
// +kubebuilder:validation:XValidation:rule="has(self.localCIDR.ipv4) || has(self.localCIDR.ipv6)",message="localCIDR needs ipv4, ipv6 or both",fieldPath=".localCIDR"
type HostSession struct {
	// ASN is the router's autonomous system number in this session's VRF. Defaults to the
	// Underlay's ASN.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	ASN *int64 `json:"asn,omitempty"`

	// HostASN is the ASN the host side speaks. Exactly one of hostASN and hostType is set.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	HostASN *int64 `json:"hostASN,omitempty"`

	// HostType peers with the host as iBGP (Internal) or eBGP (External) without naming its ASN.
	// +optional
	HostType PeerType `json:"hostType,omitempty"`

	// LocalCIDR holds the veth link networks, one per family.
	LocalCIDR LocalCIDR `json:"localCIDR"`

	// BFDProfile names a profile of the node's Underlay; when set, BFD runs on the session.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][a-zA-Z0-9_-]{0,62}$`
	// +optional
	BFDProfile string `json:"bfdProfile,omitempty"`

	// ToReceive decides which routes the router accepts from the host. Default: all.
	// +optional
	ToReceive *RouteFilter `json:"toReceive,omitempty"`

	// ToAdvertise decides which routes the router sends to the host. Default: all.
	// +optional
	ToAdvertise *RouteFilter `json:"toAdvertise,omitempty"`
}

// LocalCIDR holds the link networks of a host veth. The router side takes the first usable
// address on every node; the host side takes the next addresses, one per node index.
type LocalCIDR struct {
	// IPv4 is an IPv4 network such as 192.169.10.0/24, /30 or larger (the router side and
	// a host side per node), outside 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 and 240.0.0.0/4.
	// 169.254.0.0/16 is allowed: the link is one veth.
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="must be an IPv4 CIDR"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="must be a network address without host bits, such as 192.169.10.0/24"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip().family() != 4 || cidr(self).prefixLength() <= 30",message="must be /30 or larger: the router side and every node's host side take an address"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || !['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4'].exists(r, cidr(r).containsCIDR(cidr(self)) || cidr(self).containsCIDR(cidr(r)))",message="must not overlap 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4 (multicast) or 240.0.0.0/4 (reserved)"
	// +optional
	IPv4 string `json:"ipv4,omitempty"`

	// CEL cannot name ::ffff:0:0/96 (cidr() and ip() refuse IPv4-mapped addresses, so the
	// CIDRs inside it already fail isCIDR); a network that holds it holds its parent
	// ::fffe:0:0/95, which CEL can name. The same test guards every IPv6 network field.

	// IPv6 is an IPv6 network such as fd00:10::/64, /126 or larger, outside ::/128, ::1/128,
	// ::ffff:0:0/96, fe80::/10 and ff00::/8.
	// +kubebuilder:validation:MaxLength=49
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 6",message="must be an IPv6 CIDR"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="must be a network address without host bits, such as fd00:10::/64"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).ip().family() != 6 || cidr(self).prefixLength() <= 126",message="must be /126 or larger: the router side and every node's host side take an address"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || (!['::/128', '::1/128', 'fe80::/10', 'ff00::/8'].exists(r, cidr(r).containsCIDR(cidr(self)) || cidr(self).containsCIDR(cidr(r))) && !cidr(self).containsCIDR(cidr('::fffe:0:0/95')))",message="must not overlap ::/128, ::1/128, ::ffff:0:0/96 (IPv4-mapped), fe80::/10 (link-local) or ff00::/8 (multicast)"
	// +optional
	IPv6 string `json:"ipv6,omitempty"`
}

// FilterMode says whether a route filter passes everything or only listed prefixes.
// +kubebuilder:validation:Enum=All;Filtered
type FilterMode string

// Filter modes.
const (
	FilterAll      FilterMode = "All"
	FilterFiltered FilterMode = "Filtered"
)

// RouteFilter selects routes by prefix.
// +kubebuilder:validation:XValidation:rule="self.mode == 'Filtered' || !has(self.prefixes) || size(self.prefixes) == 0",message="prefixes are only allowed with mode Filtered",fieldPath=".prefixes"
type RouteFilter struct {
	// Mode is All (every route) or Filtered (only routes matching prefixes).
	// +kubebuilder:default=All
	// +optional
	Mode FilterMode `json:"mode,omitempty"`

	// Prefixes lists the routes that pass in mode Filtered.
	// +kubebuilder:validation:MaxItems=1000
	// +listType=atomic
	// +optional
	Prefixes []PrefixMatch `json:"prefixes,omitempty"`
}

// PrefixMatch matches a prefix and, with ge/le, the more specific prefixes inside it.
// +kubebuilder:validation:XValidation:rule="!has(self.ge) || !isCIDR(self.prefix) || (self.ge > cidr(self.prefix).prefixLength() && self.ge <= (cidr(self.prefix).ip().family() == 4 ? 32 : 128))",message="ge must be longer than the prefix length and fit the address family",fieldPath=".ge"
// +kubebuilder:validation:XValidation:rule="!has(self.le) || !isCIDR(self.prefix) || (self.le >= cidr(self.prefix).prefixLength() && self.le <= (cidr(self.prefix).ip().family() == 4 ? 32 : 128))",message="le must be at least the prefix length and fit the address family",fieldPath=".le"
// +kubebuilder:validation:XValidation:rule="!has(self.ge) || !has(self.le) || self.ge <= self.le",message="ge must not be greater than le",fieldPath=".le"
type PrefixMatch struct {
	// Prefix is a CIDR such as 10.10.0.0/16, without host bits.
	// +kubebuilder:validation:MaxLength=49
	// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="must be a CIDR"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="must be a network address without host bits, such as 10.10.0.0/16"
	Prefix string `json:"prefix"`

	// GE matches prefixes at least this long.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	// +optional
	GE *int32 `json:"ge,omitempty"`

	// LE matches prefixes at most this long.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	// +optional
	LE *int32 `json:"le,omitempty"`
}

// ResourceStatus is the status of every applied kind: where it is accepted and applied.
type ResourceStatus struct {
	// Conditions are Accepted (the resource is valid) and Applied (on how many of the selected
	// nodes it is programmed, and where it failed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Condition types and reasons used across kinds.
const (
	ConditionAccepted = "Accepted"
	ConditionApplied  = "Applied"
	ConditionReady    = "Ready"
	ConditionDegraded = "Degraded"
)
