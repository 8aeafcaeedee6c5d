// Package frr holds weft's typed model of an FRR configuration, renders it to frr.conf with
// embedded templates, and drives a running FRR (reload, vtysh queries).
//
// The model is deliberately close to the configuration text: plan.Build fills it with values
// that are already validated, and Render turns it into text deterministically. Nothing here
// decides policy.
package frr

import "net/netip"

// Config is the whole FRR configuration of one node's router namespace.
type Config struct {
	// IPForwarding and IPv6Forwarding are always rendered, as "ip forwarding" or
	// "no ip forwarding": frr-reload.py otherwise "removes" the line FRR prints and flips the
	// namespace's sysctl.
	IPForwarding   bool `json:"ipForwarding"`
	IPv6Forwarding bool `json:"ipv6Forwarding"`

	// BFDProfiles are rendered in the bfd block; neighbors refer to them by name.
	BFDProfiles []BFDProfile `json:"bfdProfiles,omitempty"`

	// Router is the default-VRF BGP instance: the underlay sessions, the VTEP network, EVPN.
	Router Router `json:"router"`

	// VRFs are the tenant VRFs (L3VNIs), each with its VNI and its own BGP instance.
	VRFs []VRF `json:"vrfs,omitempty"`

	// PrefixLists and RouteMaps implement host-session import/export filters.
	PrefixLists []PrefixList `json:"prefixLists,omitempty"`
	RouteMaps   []RouteMap   `json:"routeMaps,omitempty"`
}

// BFDProfile is a named set of BFD parameters. Nil fields keep FRR's defaults and are not
// rendered.
type BFDProfile struct {
	Name               string  `json:"name"`
	ReceiveIntervalMs  *uint32 `json:"receiveIntervalMs,omitempty"`
	TransmitIntervalMs *uint32 `json:"transmitIntervalMs,omitempty"`
	DetectMultiplier   *uint32 `json:"detectMultiplier,omitempty"`
	EchoMode           bool    `json:"echoMode,omitempty"`
	PassiveMode        bool    `json:"passiveMode,omitempty"`
	MinimumTTL         *uint32 `json:"minimumTTL,omitempty"`
}

// Router is the default-VRF BGP instance.
type Router struct {
	ASN      uint32     `json:"asn"`
	RouterID netip.Addr `json:"routerID"`

	// GracefulRestart, when set, renders "bgp graceful-restart", its non-default timers and
	// "bgp graceful-restart preserve-fw-state": the F bit, which tells the peers that the
	// node's forwarding state outlives bgpd, so they keep its routes (EVPN's too, on an FRR
	// with EVPN graceful restart: 10.7.1 here, FRR PR #19778) while it restarts. That is true because weft's FRR entry points start zebra with
	// -K (frrinstall.ZebraKeepSeconds), which keeps the kernel's routes across a restart.
	GracefulRestart *GracefulRestart `json:"gracefulRestart,omitempty"`

	Neighbors []Neighbor `json:"neighbors,omitempty"`

	// IPv4Networks and IPv6Networks are announced with "network" statements (the VTEP).
	IPv4Networks []netip.Prefix `json:"ipv4Networks,omitempty"`
	IPv6Networks []netip.Prefix `json:"ipv6Networks,omitempty"`

	// EVPN configures the l2vpn evpn address family of the default instance.
	EVPN EVPN `json:"evpn"`
}

// GracefulRestart holds graceful-restart timers; nil keeps FRR's default.
type GracefulRestart struct {
	RestartTimeSeconds   *uint32 `json:"restartTimeSeconds,omitempty"`
	StalePathTimeSeconds *uint32 `json:"stalePathTimeSeconds,omitempty"`
}

// RemoteAS values that are not numbers.
const (
	RemoteASInternal = "internal"
	RemoteASExternal = "external"
)

// Neighbor is one BGP session. Exactly one of Address and Interface is set.
type Neighbor struct {
	Address   netip.Addr `json:"address,omitempty"`
	Interface string     `json:"interface,omitempty"`

	// RemoteAS is a decimal ASN, RemoteASInternal or RemoteASExternal.
	RemoteAS string `json:"remoteAS"`

	Port *uint16 `json:"port,omitempty"`

	// Password names the secret holding the TCP MD5 password. The value itself is looked up
	// only at render time, so it never appears in a printed plan.
	Password *SecretRef `json:"password,omitempty"`

	// HoldTimeSeconds and KeepaliveTimeSeconds are set together or not at all.
	HoldTimeSeconds      *uint32 `json:"holdTimeSeconds,omitempty"`
	KeepaliveTimeSeconds *uint32 `json:"keepaliveTimeSeconds,omitempty"`
	ConnectTimeSeconds   *uint32 `json:"connectTimeSeconds,omitempty"`
	EBGPMultihop         *uint32 `json:"ebgpMultihop,omitempty"`

	// BFD enables BFD; BFDProfile, when set, names a profile of Config.BFDProfiles.
	BFD        bool   `json:"bfd,omitempty"`
	BFDProfile string `json:"bfdProfile,omitempty"`

	// Address families the session is activated in.
	IPv4Unicast bool `json:"ipv4Unicast,omitempty"`
	IPv6Unicast bool `json:"ipv6Unicast,omitempty"`
	EVPN        bool `json:"evpn,omitempty"`

	// RouteMapIn and RouteMapOut apply to every unicast family the session is activated in.
	RouteMapIn  string `json:"routeMapIn,omitempty"`
	RouteMapOut string `json:"routeMapOut,omitempty"`
	// NextHopSelf makes bgpd send its own address as the next hop of every route it sends
	// this (iBGP) neighbor in the unicast families: a route learned from a host session keeps
	// the host's address otherwise, which the fabric cannot reach.
	NextHopSelf bool `json:"nextHopSelf,omitempty"`

	// Description is printed as it is (plan checked it: one line of safe words).
	Description string `json:"description,omitempty"`
}

// ID is how FRR names the neighbor: its address, or its interface for unnumbered sessions.
func (n Neighbor) ID() string {
	if n.Interface != "" {
		return n.Interface
	}
	return n.Address.String()
}

// SecretRef names a key of a Secret.
type SecretRef struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// EVPN is the l2vpn evpn address family of the default instance.
type EVPN struct {
	AdvertiseAllVNI bool `json:"advertiseAllVNI"`

	// DupAddrDetection is always rendered: KubeVirt live migration moves MACs often, and the
	// defaults (5 moves in 180 s) flag VMs that migrate back and forth.
	DupAddrDetection DupAddrDetection `json:"dupAddrDetection"`

	// VNIs lists the L2VNIs that need a "vni N" block (an RD or RTs set by the user).
	VNIs []EVPNVNI `json:"vnis,omitempty"`
}

// DupAddrDetection sets EVPN duplicate-address detection. Disabled renders
// "no dup-addr-detection"; otherwise the thresholds are rendered.
type DupAddrDetection struct {
	Disabled    bool   `json:"disabled,omitempty"`
	MaxMoves    uint32 `json:"maxMoves,omitempty"`
	TimeSeconds uint32 `json:"timeSeconds,omitempty"`
}

// EVPNVNI is a "vni N" block with an explicit RD and route targets.
type EVPNVNI struct {
	VNI       uint32   `json:"vni"`
	RD        string   `json:"rd,omitempty"`
	ImportRTs []string `json:"importRTs,omitempty"`
	ExportRTs []string `json:"exportRTs,omitempty"`
}

// VRF is a tenant VRF: "vrf NAME / vni N" plus "router bgp ASN vrf NAME".
type VRF struct {
	Name     string     `json:"name"`
	VNI      uint32     `json:"vni"`
	ASN      uint32     `json:"asn"`
	RouterID netip.Addr `json:"routerID"`

	// Neighbors are the host sessions in this VRF.
	Neighbors []Neighbor `json:"neighbors,omitempty"`

	// IPv4Networks and IPv6Networks are announced with "network" statements (anycast gateway
	// subnets of the L2VNIs routed by this VRF) and exported as type-5 routes.
	IPv4Networks []netip.Prefix `json:"ipv4Networks,omitempty"`
	IPv6Networks []netip.Prefix `json:"ipv6Networks,omitempty"`

	RD        string   `json:"rd,omitempty"`
	ImportRTs []string `json:"importRTs,omitempty"`
	ExportRTs []string `json:"exportRTs,omitempty"`

	// AdvertiseIPv4 and AdvertiseIPv6 export the VRF's unicast routes as type-5 routes.
	AdvertiseIPv4 bool `json:"advertiseIPv4,omitempty"`
	AdvertiseIPv6 bool `json:"advertiseIPv6,omitempty"`
}

// PrefixList is an "ip prefix-list" (or "ipv6 prefix-list" when IPv6 is set).
type PrefixList struct {
	Name    string            `json:"name"`
	IPv6    bool              `json:"ipv6,omitempty"`
	Entries []PrefixListEntry `json:"entries"`
}

// Actions of prefix-list and route-map entries.
const (
	Permit = "permit"
	Deny   = "deny"
)

// PrefixListEntry is one numbered line of a prefix list. GE and LE are 0 when unset.
type PrefixListEntry struct {
	Seq    uint32       `json:"seq"`
	Action string       `json:"action"`
	Prefix netip.Prefix `json:"prefix"`
	GE     uint8        `json:"ge,omitempty"`
	LE     uint8        `json:"le,omitempty"`
}

// RouteMap is a named, numbered route-map.
type RouteMap struct {
	Name    string          `json:"name"`
	Entries []RouteMapEntry `json:"entries"`
}

// RouteMapEntry is one numbered route-map clause; it may match one prefix list.
type RouteMapEntry struct {
	Seq    uint32 `json:"seq"`
	Action string `json:"action"`
	// MatchIPv4PrefixList / MatchIPv6PrefixList name a prefix list to match; empty matches all.
	MatchIPv4PrefixList string `json:"matchIPv4PrefixList,omitempty"`
	MatchIPv6PrefixList string `json:"matchIPv6PrefixList,omitempty"`
}
