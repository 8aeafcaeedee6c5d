package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UnderlaySpec describes a node's connection to the fabric: its BGP sessions to the
// top-of-rack, the NICs moved into the router namespace and the VTEP addressing.
// +kubebuilder:validation:XValidation:rule="self.neighbors.all(n, !has(n.bfdProfile) || (has(self.bfdProfiles) && self.bfdProfiles.exists(p, p.name == n.bfdProfile)))",message="every neighbor's bfdProfile must name one of spec.bfdProfiles",fieldPath=".neighbors"
// +kubebuilder:validation:XValidation:rule="self.neighbors.all(n, !has(n.ebgpMultihop) || !((has(n.type) && n.type == 'Internal') || (has(n.asn) && n.asn == self.asn)))",message="ebgpMultihop applies only to eBGP sessions: not with type Internal nor with the Underlay's own asn",fieldPath=".neighbors"
// +kubebuilder:validation:XValidation:rule="has(self.routerIDCIDR) || self.tunnelEndpoint.cidrs.exists(c, isCIDR(c) && cidr(c).ip().family() == 4)",message="routerIDCIDR is required when tunnelEndpoint has no IPv4 CIDR (the router ID is an IPv4 address)",fieldPath=".routerIDCIDR"
type UnderlaySpec struct {
	// NodeSelector selects the nodes this Underlay applies to. Empty selects every node.
	// A node must be selected by exactly one Underlay.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// ASN is the node's autonomous system number in the default VRF.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	ASN int64 `json:"asn"`

	// RouterIDCIDR is an IPv4 network the node's router ID is taken from (one address per node
	// index), /30 or larger, outside 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4 and
	// 240.0.0.0/4. Default: the node's IPv4 VTEP address; required without an IPv4 VTEP.
	// +kubebuilder:validation:MaxLength=18
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self).ip().family() == 4",message="must be an IPv4 CIDR"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self) == cidr(self).masked()",message="must be a network address without host bits, such as 10.255.0.0/24"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || cidr(self).prefixLength() <= 30",message="must be /30 or larger: every node takes an address after the network address"
	// +kubebuilder:validation:XValidation:rule="!isCIDR(self) || !['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4'].exists(r, cidr(r).containsCIDR(cidr(self)) || cidr(self).containsCIDR(cidr(r)))",message="must not overlap 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16 (link-local), 224.0.0.0/4 (multicast) or 240.0.0.0/4 (reserved)"
	// +optional
	RouterIDCIDR string `json:"routerIDCIDR,omitempty"`

	// Interfaces are the host NICs moved into the router namespace, each listed once.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:XValidation:rule="self.all(i, !has(i.networkDevice) || self.exists_one(j, has(j.networkDevice) && j.networkDevice.name == i.networkDevice.name))",message="every interface must be listed once"
	// +listType=atomic
	// +optional
	Interfaces []UnderlayInterface `json:"interfaces,omitempty"`

	// Neighbors are the BGP sessions to the fabric, each address or interface listed once.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(n, has(n.address) ? !isIP(n.address) || self.exists_one(m, has(m.address) && isIP(m.address) && ip(m.address) == ip(n.address)) : !has(n.interface) || self.exists_one(m, has(m.interface) && m.interface == n.interface))",message="every neighbor must be listed once (by address or interface)"
	// +listType=atomic
	Neighbors []Neighbor `json:"neighbors"`

	// BFDProfiles are the BFD settings neighbors and host sessions refer to by name.
	// +kubebuilder:validation:MaxItems=64
	// +listType=map
	// +listMapKey=name
	// +optional
	BFDProfiles []BFDProfile `json:"bfdProfiles,omitempty"`

	// TunnelEndpoint holds the networks the VTEP addresses are taken from.
	TunnelEndpoint TunnelEndpoint `json:"tunnelEndpoint"`

	// GracefulRestart enables BGP graceful restart with these timers.
	// +optional
	GracefulRestart *GracefulRestart `json:"gracefulRestart,omitempty"`
}

// InterfaceType is the discriminator of UnderlayInterface.
// +kubebuilder:validation:Enum=NetworkDevice
type InterfaceType string

// Interface types.
const (
	InterfaceNetworkDevice InterfaceType = "NetworkDevice"
)

// UnderlayInterface is a union of the ways a node reaches the fabric.
// +kubebuilder:validation:XValidation:rule="self.type == 'NetworkDevice' ? has(self.networkDevice) : !has(self.networkDevice)",message="networkDevice must be set exactly when type is NetworkDevice",fieldPath=".networkDevice"
type UnderlayInterface struct {
	// Type selects the member of the union.
	Type InterfaceType `json:"type"`

	// NetworkDevice is a host NIC moved into the router namespace.
	// +optional
	NetworkDevice *NetworkDevice `json:"networkDevice,omitempty"`
}

// NetworkDevice names a host NIC.
type NetworkDevice struct {
	// Name is the Linux interface name on the host; not lo, not all or default (the kernel
	// reserves them), and not one of weft's own device names (br-pe-, br-hs-, vni, pe-, host-).
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$`
	// +kubebuilder:validation:XValidation:rule="self != 'all' && self != 'default'",message="must not be all or default: the kernel reserves these names"
	// +kubebuilder:validation:XValidation:rule="self != 'lo' && !['br-pe-', 'br-hs-', 'vni', 'pe-', 'host-'].exists(p, self.startsWith(p))",message="must not be lo nor start with br-pe-, br-hs-, vni, pe- or host- (weft's own device names)"
	Name string `json:"name"`
}

// Neighbor is a BGP session to the fabric.
// +kubebuilder:validation:XValidation:rule="has(self.address) != has(self.interface)",message="exactly one of address and interface must be set"
// +kubebuilder:validation:XValidation:rule="has(self.asn) != has(self.type)",message="exactly one of asn and type must be set"
// +kubebuilder:validation:XValidation:rule="has(self.holdTimeSeconds) == has(self.keepaliveTimeSeconds)",message="holdTimeSeconds and keepaliveTimeSeconds must be set together",fieldPath=".keepaliveTimeSeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.holdTimeSeconds) || self.holdTimeSeconds == 0 || self.holdTimeSeconds >= 3",message="must be 0 or 3..65535",fieldPath=".holdTimeSeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.holdTimeSeconds) || !has(self.keepaliveTimeSeconds) || self.holdTimeSeconds == 0 || self.keepaliveTimeSeconds < self.holdTimeSeconds",message="must be smaller than holdTimeSeconds",fieldPath=".keepaliveTimeSeconds"
// +kubebuilder:validation:XValidation:rule="!has(self.ebgpMultihop) || !has(self.interface)",message="ebgpMultihop cannot be used with an unnumbered (interface) session",fieldPath=".ebgpMultihop"
type Neighbor struct {
	// Address is the neighbor's IP address: not in 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4,
	// 240.0.0.0/4, ::, ::1, fe80::/10 (an unnumbered session uses interface) or ff00::/8, and
	// not the node's own VTEP or router ID.
	// +kubebuilder:validation:MaxLength=45
	// +kubebuilder:validation:XValidation:rule="isIP(self)",message="must be an IP address"
	// +kubebuilder:validation:XValidation:rule="!isIP(self) || !['0.0.0.0/8', '127.0.0.0/8', '224.0.0.0/4', '240.0.0.0/4', '::/128', '::1/128', 'fe80::/10', 'ff00::/8'].exists(r, cidr(r).containsIP(ip(self)))",message="must not be in 0.0.0.0/8, 127.0.0.0/8, 224.0.0.0/4, 240.0.0.0/4, ::, ::1, fe80::/10 (use interface for an unnumbered session) or ff00::/8"
	// +optional
	Address string `json:"address,omitempty"`

	// Interface peers unnumbered over this interface of the router namespace: an uplink's
	// name, not an IP address (a numbered session sets address), not all or default (the
	// kernel reserves them), not lo and not one of weft's own device names (br-pe-, br-hs-,
	// vni, pe-, host-).
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$`
	// +kubebuilder:validation:XValidation:rule="!isIP(self)",message="must be an interface name, not an IP address: a numbered session sets address"
	// +kubebuilder:validation:XValidation:rule="self != 'all' && self != 'default'",message="must not be all or default: the kernel reserves these names"
	// +kubebuilder:validation:XValidation:rule="self != 'lo' && !['br-pe-', 'br-hs-', 'vni', 'pe-', 'host-'].exists(p, self.startsWith(p))",message="must not be lo nor start with br-pe-, br-hs-, vni, pe- or host-: an unnumbered session needs the interface to the fabric"
	// +optional
	Interface string `json:"interface,omitempty"`

	// ASN is the neighbor's autonomous system number.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	// +optional
	ASN *int64 `json:"asn,omitempty"`

	// Type peers as iBGP (Internal) or eBGP (External) without naming the neighbor's ASN.
	// +optional
	Type PeerType `json:"type,omitempty"`

	// Port is the neighbor's BGP TCP port. Default 179.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port *int32 `json:"port,omitempty"`

	// PasswordSecret names the Secret key holding the TCP MD5 password.
	// +optional
	PasswordSecret *SecretKeyRef `json:"passwordSecret,omitempty"`

	// HoldTimeSeconds is the BGP hold time; 0 or 3..65535.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	HoldTimeSeconds *int32 `json:"holdTimeSeconds,omitempty"`

	// KeepaliveTimeSeconds is the BGP keepalive interval; must be set with holdTimeSeconds.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	KeepaliveTimeSeconds *int32 `json:"keepaliveTimeSeconds,omitempty"`

	// ConnectTimeSeconds is the connect retry interval.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	ConnectTimeSeconds *int32 `json:"connectTimeSeconds,omitempty"`

	// EBGPMultihop is the TTL of an eBGP session to a neighbor that is not directly connected;
	// not with type Internal, the Underlay's own asn, or interface.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=255
	// +optional
	EBGPMultihop *int32 `json:"ebgpMultihop,omitempty"`

	// BFDProfile names one of bfdProfiles; when set, BFD runs on the session.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][a-zA-Z0-9_-]{0,62}$`
	// +optional
	BFDProfile string `json:"bfdProfile,omitempty"`

	// Description is a note for people about the session (which switch, which port), shown by
	// FRR (neighbor … description): words of letters, digits and _ . , : / ( ) @ + -, separated
	// by single spaces, at most 80 characters.
	// +kubebuilder:validation:MaxLength=80
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_.,:/()@+-]+( [A-Za-z0-9_.,:/()@+-]+)*$`
	// +optional
	Description string `json:"description,omitempty"`
}

// SecretKeyRef names a key of a Secret in the resource's namespace.
type SecretKeyRef struct {
	// Name of the Secret (a lowercase RFC 1123 subdomain).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`

	// Key inside the Secret's data: letters, digits, '-', '_' and '.'. Default "password".
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[-._a-zA-Z0-9]+$`
	// +optional
	Key string `json:"key,omitempty"`
}

// BFDProfile is a named set of BFD timers and modes.
type BFDProfile struct {
	// Name refers to this profile from neighbors and host sessions.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z][a-zA-Z0-9_-]{0,62}$`
	Name string `json:"name"`

	// ReceiveIntervalMs is the minimum interval between received control packets.
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +optional
	ReceiveIntervalMs *int32 `json:"receiveIntervalMs,omitempty"`

	// TransmitIntervalMs is the minimum interval between sent control packets.
	// +kubebuilder:validation:Minimum=10
	// +kubebuilder:validation:Maximum=60000
	// +optional
	TransmitIntervalMs *int32 `json:"transmitIntervalMs,omitempty"`

	// DetectMultiplier is the number of missed packets that brings the session down.
	// +kubebuilder:validation:Minimum=2
	// +kubebuilder:validation:Maximum=255
	// +optional
	DetectMultiplier *int32 `json:"detectMultiplier,omitempty"`

	// EchoMode enables echo packets.
	// +optional
	EchoMode bool `json:"echoMode,omitempty"`

	// PassiveMode waits for the peer to start the session.
	// +optional
	PassiveMode bool `json:"passiveMode,omitempty"`

	// MinimumTTL is the lowest TTL accepted on multihop sessions.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=254
	// +optional
	MinimumTTL *int32 `json:"minimumTTL,omitempty"`
}

// TunnelEndpoint holds the VTEP networks: at most one per family.
type TunnelEndpoint struct {
	// CIDRs are the networks VTEP addresses are taken from, one address per node index: IPv4
	// /30 or larger, IPv6 /127 or larger, outside 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16,
	// 224.0.0.0/4, 240.0.0.0/4, ::/128, ::1/128, ::ffff:0:0/96, fe80::/10 and ff00::/8.
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:MaxLength=49
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="every entry must be a CIDR"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !isCIDR(c) || cidr(c) == cidr(c).masked())",message="every entry must be a network address without host bits, such as 100.65.0.0/24"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !isCIDR(c) || cidr(c).prefixLength() <= (cidr(c).ip().family() == 4 ? 30 : 127))",message="an IPv4 CIDR must be /30 or larger and an IPv6 CIDR /127 or larger: every node takes an address after the network address"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !isCIDR(c) || (!['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4', '::/128', '::1/128', 'fe80::/10', 'ff00::/8'].exists(r, cidr(r).containsCIDR(cidr(c)) || cidr(c).containsCIDR(cidr(r))) && !cidr(c).containsCIDR(cidr('::fffe:0:0/95'))))",message="must not overlap 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 240.0.0.0/4, ::/128, ::1/128, ::ffff:0:0/96, fe80::/10 or ff00::/8"
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c)) ? size(self) < 2 || cidr(self[0]).ip().family() != cidr(self[1]).ip().family() : true",message="at most one CIDR per address family"
	// +listType=atomic
	CIDRs []string `json:"cidrs"`
}

// GracefulRestart enables BGP graceful restart.
type GracefulRestart struct {
	// RestartTimeSeconds is the time peers keep our routes while we restart.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4095
	// +optional
	RestartTimeSeconds *int32 `json:"restartTimeSeconds,omitempty"`

	// StalePathTimeSeconds is the time we keep a restarting peer's routes.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4095
	// +optional
	StalePathTimeSeconds *int32 `json:"stalePathTimeSeconds,omitempty"`
}

// Underlay is a node's connection to the EVPN fabric.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="ASN",type=integer,JSONPath=`.spec.asn`
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Applied")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Underlay struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   UnderlaySpec   `json:"spec,omitempty"`
	Status ResourceStatus `json:"status,omitempty"`
}

// UnderlayList is a list of Underlays.
// +kubebuilder:object:root=true
type UnderlayList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Underlay `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Underlay{}, &UnderlayList{})
}
