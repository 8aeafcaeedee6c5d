package plan

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
)

// TestInvalid mutates one field of the valid fixture per case and checks that exactly that
// resource is rejected, with the expected kind, name, field and reason, while every other
// resource is still applied (unless it depends on the rejected one).
// Long: a table of cases.
func TestInvalid(t *testing.T) {
	cases := []invalidCase{
		// Underlay.
		{"underlay asn zero", func(r *Resources) { ul(r).ASN = 0 }, []want{inv(U, "fabric", "spec.asn")}},
		{"underlay asn too big", func(r *Resources) { ul(r).ASN = 4294967296 }, []want{inv(U, "fabric", "spec.asn")}},
		{"routerIDCIDR not a CIDR", func(r *Resources) { ul(r).RouterIDCIDR = "10.0.0.1" }, []want{inv(U, "fabric", "spec.routerIDCIDR")}},
		{"routerIDCIDR IPv6", func(r *Resources) { ul(r).RouterIDCIDR = "fd00::/64" }, []want{inv(U, "fabric", "spec.routerIDCIDR")}},
		{"routerIDCIDR host bits", func(r *Resources) { ul(r).RouterIDCIDR = "10.0.0.1/24" }, []want{inv(U, "fabric", "spec.routerIDCIDR")}},
		{"routerIDCIDR too small for index", func(r *Resources) { ul(r).RouterIDCIDR = "10.0.0.0/30" }, []want{inv(U, "fabric", "spec.routerIDCIDR")}},
		{"no router ID without IPv4 VTEP", func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{"fd00:65::/64"} }, []want{inv(U, "fabric", "spec.routerIDCIDR")}},
		{"tunnel endpoint empty", func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = nil }, []want{inv(U, "fabric", "spec.tunnelEndpoint.cidrs")}},
		{"tunnel endpoint two IPv4", func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/24", "100.66.0.0/24"} }, []want{inv(U, "fabric", "spec.tunnelEndpoint.cidrs[1]")}},
		{"tunnel endpoint garbage", func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/24\nrouter bgp 1"} }, []want{inv(U, "fabric", "spec.tunnelEndpoint.cidrs[0]")}},
		{"tunnel endpoint too small", func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/30"} }, []want{inv(U, "fabric", "spec.tunnelEndpoint.cidrs[0]")}},
		{"tunnel endpoint three", func(r *Resources) { ul(r).TunnelEndpoint.CIDRs = []string{"100.65.0.0/24", "fd00::/64", "fd01::/64"} }, []want{inv(U, "fabric", "spec.tunnelEndpoint.cidrs")}},
		{"interface wrong type", func(r *Resources) { ul(r).Interfaces[0].Type = "SRIOV" }, []want{inv(U, "fabric", "spec.interfaces[0].type")}},
		{"interface missing device", func(r *Resources) { ul(r).Interfaces[0].NetworkDevice = nil }, []want{inv(U, "fabric", "spec.interfaces[0].networkDevice")}},
		{"interface name too long", func(r *Resources) { ul(r).Interfaces[0].NetworkDevice.Name = "enp0s31f6-uplink0" }, []want{inv(U, "fabric", "spec.interfaces[0].networkDevice.name")}},
		{"interface name with slash", func(r *Resources) { ul(r).Interfaces[0].NetworkDevice.Name = "../eth0" }, []want{inv(U, "fabric", "spec.interfaces[0].networkDevice.name")}},
		{"interface lo", func(r *Resources) { ul(r).Interfaces[0].NetworkDevice.Name = "lo" }, []want{inv(U, "fabric", "spec.interfaces[0].networkDevice.name")}},
		{"interface twice", func(r *Resources) { ul(r).Interfaces = append(ul(r).Interfaces, ul(r).Interfaces[0]) }, []want{inv(U, "fabric", "spec.interfaces[1].networkDevice.name")}},
		{"no neighbors", func(r *Resources) { ul(r).Neighbors = nil }, []want{inv(U, "fabric", "spec.neighbors")}},
		{"neighbor address and interface", func(r *Resources) { ul(r).Neighbors[0].Interface = "eth1" }, []want{inv(U, "fabric", "spec.neighbors[0]")}},
		{"neighbor neither address nor interface", func(r *Resources) { ul(r).Neighbors[0].Address = "" }, []want{inv(U, "fabric", "spec.neighbors[0]")}},
		{"neighbor bad address", func(r *Resources) { ul(r).Neighbors[0].Address = "192.168.11.300" }, []want{inv(U, "fabric", "spec.neighbors[0].address")}},
		{"neighbor address injection", func(r *Resources) { ul(r).Neighbors[0].Address = "192.168.11.2 remote-as 1" }, []want{inv(U, "fabric", "spec.neighbors[0].address")}},
		{"neighbor multicast", func(r *Resources) { ul(r).Neighbors[0].Address = "224.0.0.5" }, []want{inv(U, "fabric", "spec.neighbors[0].address")}},
		{"neighbor bad interface", func(r *Resources) {
			ul(r).Neighbors[0] = v1alpha1.Neighbor{Interface: "eth 1", Type: v1alpha1.PeerExternal}
		}, []want{inv(U, "fabric", "spec.neighbors[0].interface")}},
		{"neighbor asn and type", func(r *Resources) { ul(r).Neighbors[0].Type = v1alpha1.PeerInternal }, []want{inv(U, "fabric", "spec.neighbors[0].type")}},
		{"neighbor neither asn nor type", func(r *Resources) { ul(r).Neighbors[0].ASN = nil }, []want{inv(U, "fabric", "spec.neighbors[0]")}},
		{"neighbor bad type", func(r *Resources) { ul(r).Neighbors[1].Type = "Confederation" }, []want{inv(U, "fabric", "spec.neighbors[1].type")}},
		{"neighbor asn zero", func(r *Resources) { ul(r).Neighbors[0].ASN = ptr(int64(0)) }, []want{inv(U, "fabric", "spec.neighbors[0].asn")}},
		{"neighbor port zero", func(r *Resources) { ul(r).Neighbors[0].Port = ptr(int32(0)) }, []want{inv(U, "fabric", "spec.neighbors[0].port")}},
		{"neighbor port too big", func(r *Resources) { ul(r).Neighbors[0].Port = ptr(int32(70000)) }, []want{inv(U, "fabric", "spec.neighbors[0].port")}},
		{"neighbor hold without keepalive", func(r *Resources) { ul(r).Neighbors[0].KeepaliveTimeSeconds = nil }, []want{inv(U, "fabric", "spec.neighbors[0].keepaliveTimeSeconds")}},
		{"neighbor hold 2", func(r *Resources) { ul(r).Neighbors[0].HoldTimeSeconds = ptr(int32(2)) }, []want{inv(U, "fabric", "spec.neighbors[0].holdTimeSeconds")}},
		{"neighbor keepalive >= hold", func(r *Resources) { ul(r).Neighbors[0].KeepaliveTimeSeconds = ptr(int32(9)) }, []want{inv(U, "fabric", "spec.neighbors[0].keepaliveTimeSeconds")}},
		{"neighbor connect zero", func(r *Resources) { ul(r).Neighbors[0].ConnectTimeSeconds = ptr(int32(0)) }, []want{inv(U, "fabric", "spec.neighbors[0].connectTimeSeconds")}},
		{"neighbor multihop 300", func(r *Resources) { ul(r).Neighbors[0].EBGPMultihop = ptr(int32(300)) }, []want{inv(U, "fabric", "spec.neighbors[0].ebgpMultihop")}},
		{"neighbor multihop on iBGP", func(r *Resources) {
			ul(r).Neighbors[0].ASN = ptr(int64(64514))
			ul(r).Neighbors[0].EBGPMultihop = ptr(int32(2))
		}, []want{inv(U, "fabric", "spec.neighbors[0].ebgpMultihop")}},
		{"neighbor unknown bfd profile", func(r *Resources) { ul(r).Neighbors[0].BFDProfile = "slow" }, []want{{U, "fabric", "spec.neighbors[0].bfdProfile", ReasonNotFound}}},
		{"neighbor twice", func(r *Resources) { ul(r).Neighbors[1].Address = "192.168.11.2" }, []want{inv(U, "fabric", "spec.neighbors[1]")}},
		{"password secret missing", func(r *Resources) { r.Secrets = nil }, []want{{U, "fabric", "spec.neighbors[1].passwordSecret.name", ReasonNotFound}}},
		{"password key missing", func(r *Resources) { ul(r).Neighbors[1].PasswordSecret.Key = "md5" }, []want{{U, "fabric", "spec.neighbors[1].passwordSecret.key", ReasonNotFound}}},
		{"password with newline", func(r *Resources) { r.Secrets[0].Data["password"] = []byte("x\nrouter bgp 1") }, []want{inv(U, "fabric", "spec.neighbors[1].passwordSecret")}},
		{"password empty", func(r *Resources) { r.Secrets[0].Data["password"] = nil }, []want{inv(U, "fabric", "spec.neighbors[1].passwordSecret")}},
		{"bfd profile bad name", func(r *Resources) { ul(r).BFDProfiles[0].Name = "fast profile" }, []want{inv(U, "fabric", "spec.bfdProfiles[0].name")}},
		{"bfd profile twice", func(r *Resources) { ul(r).BFDProfiles = append(ul(r).BFDProfiles, ul(r).BFDProfiles[0]) }, []want{inv(U, "fabric", "spec.bfdProfiles[1].name")}},
		{"bfd receive interval 5", func(r *Resources) { ul(r).BFDProfiles[0].ReceiveIntervalMs = ptr(int32(5)) }, []want{inv(U, "fabric", "spec.bfdProfiles[0].receiveIntervalMs")}},
		{"bfd transmit interval huge", func(r *Resources) { ul(r).BFDProfiles[0].TransmitIntervalMs = ptr(int32(70000)) }, []want{inv(U, "fabric", "spec.bfdProfiles[0].transmitIntervalMs")}},
		{"bfd multiplier 1", func(r *Resources) { ul(r).BFDProfiles[0].DetectMultiplier = ptr(int32(1)) }, []want{inv(U, "fabric", "spec.bfdProfiles[0].detectMultiplier")}},
		{"bfd minimum ttl 255", func(r *Resources) { ul(r).BFDProfiles[0].MinimumTTL = ptr(int32(255)) }, []want{inv(U, "fabric", "spec.bfdProfiles[0].minimumTTL")}},
		{"graceful restart time zero", func(r *Resources) { ul(r).GracefulRestart.RestartTimeSeconds = ptr(int32(0)) }, []want{inv(U, "fabric", "spec.gracefulRestart.restartTimeSeconds")}},
		{"graceful stale path huge", func(r *Resources) { ul(r).GracefulRestart.StalePathTimeSeconds = ptr(int32(5000)) }, []want{inv(U, "fabric", "spec.gracefulRestart.stalePathTimeSeconds")}},
		{"underlay bad name", func(r *Resources) { r.Underlays[0].Name = "Fabric_1" }, []want{inv(U, "Fabric_1", "metadata.name")}},
		{"underlay bad selector", func(r *Resources) {
			ul(r).NodeSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "rack", Operator: "Near"}}}
		}, []want{inv(U, "fabric", "spec.nodeSelector")}},
		{"second underlay", func(r *Resources) {
			r.Underlays = append(r.Underlays, v1alpha1.Underlay{ObjectMeta: meta("other"), Spec: r.Underlays[0].Spec})
		}, []want{{U, "other", "spec.nodeSelector", ReasonConflict}}},

		// L3VNI.
		{"vrf uppercase", func(r *Resources) { red(r).VRF = "Red" }, []want{inv(L3, "red", "spec.vrf"), {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},
		{"vrf too long", func(r *Resources) { red(r).VRF = "red-tenant-00001" }, []want{inv(L3, "red", "spec.vrf"), {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},
		{"vrf injection", func(r *Resources) { red(r).VRF = "red\n router" }, []want{inv(L3, "red", "spec.vrf"), {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},
		{"vrf default", func(r *Resources) { blue(r).VRF = "default" }, []want{inv(L3, "blue", "spec.vrf")}},
		{"vrf reserved prefix", func(r *Resources) { blue(r).VRF = "vni200" }, []want{inv(L3, "blue", "spec.vrf")}},
		{"l3 vni zero", func(r *Resources) { blue(r).VNI = 0 }, []want{inv(L3, "blue", "spec.vni")}},
		{"l3 vni too big", func(r *Resources) { blue(r).VNI = 16777216 }, []want{inv(L3, "blue", "spec.vni")}},
		{"l3 vxlan port", func(r *Resources) { blue(r).VXLANPort = 70000 }, []want{inv(L3, "blue", "spec.vxlanPort")}},
		{"l3 rd garbage", func(r *Resources) { blue(r).RouteDistinguisher = "auto" }, []want{inv(L3, "blue", "spec.routeDistinguisher")}},
		{"l3 rd 4-byte both", func(r *Resources) { blue(r).RouteDistinguisher = "4200000000:70000" }, []want{inv(L3, "blue", "spec.routeDistinguisher")}},
		{"l3 rd ip with big number", func(r *Resources) { blue(r).RouteDistinguisher = "10.0.0.1:70000" }, []want{inv(L3, "blue", "spec.routeDistinguisher")}},
		{"l3 rd leading zero", func(r *Resources) { blue(r).RouteDistinguisher = "064514:1" }, []want{inv(L3, "blue", "spec.routeDistinguisher")}},
		{"l3 import rt bad", func(r *Resources) { red(r).ImportRouteTargets = []string{"64514:100", "64514"} }, []want{inv(L3, "red", "spec.importRouteTargets[1]"), {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},
		{"l3 export rt twice", func(r *Resources) { blue(r).ExportRouteTargets = []string{"1:1", "1:1"} }, []want{inv(L3, "blue", "spec.exportRouteTargets[1]")}},
		{"l3 export rt injection", func(r *Resources) { blue(r).ExportRouteTargets = []string{"1:1\nexit"} }, []want{inv(L3, "blue", "spec.exportRouteTargets[0]")}},
		{"host session asn zero", func(r *Resources) { blue(r).HostSession.ASN = ptr(int64(0)) }, []want{inv(L3, "blue", "spec.hostSession.asn")}},
		{"host session hostASN and hostType", func(r *Resources) { blue(r).HostSession.HostASN = ptr(int64(65000)) }, []want{inv(L3, "blue", "spec.hostSession.hostType")}},
		{"host session neither", func(r *Resources) { blue(r).HostSession.HostType = "" }, []want{inv(L3, "blue", "spec.hostSession")}},
		{"host session hostASN too big", func(r *Resources) {
			blue(r).HostSession.HostType = ""
			blue(r).HostSession.HostASN = ptr(int64(5000000000))
		}, []want{inv(L3, "blue", "spec.hostSession.hostASN")}},
		{"host session no CIDR", func(r *Resources) { blue(r).HostSession.LocalCIDR = v1alpha1.LocalCIDR{} }, []want{inv(L3, "blue", "spec.hostSession.localCIDR")}},
		{"host session ipv4 is v6", func(r *Resources) { blue(r).HostSession.LocalCIDR.IPv4 = "fd00::/64" }, []want{inv(L3, "blue", "spec.hostSession.localCIDR.ipv4")}},
		{"host session ipv6 is v4", func(r *Resources) { blue(r).HostSession.LocalCIDR.IPv6 = "10.0.0.0/24" }, []want{inv(L3, "blue", "spec.hostSession.localCIDR.ipv6")}},
		{"host session CIDR too small", func(r *Resources) { blue(r).HostSession.LocalCIDR.IPv4 = "192.169.11.0/30" }, []want{inv(L3, "blue", "spec.hostSession.localCIDR.ipv4")}},
		{"host session unknown bfd", func(r *Resources) { blue(r).HostSession.BFDProfile = "nope" }, []want{{L3, "blue", "spec.hostSession.bfdProfile", ReasonNotFound}}},
		{"filter bad mode", func(r *Resources) { blue(r).HostSession.ToAdvertise = &v1alpha1.RouteFilter{Mode: "Some"} }, []want{inv(L3, "blue", "spec.hostSession.toAdvertise.mode")}},
		{"filter prefixes with All", func(r *Resources) {
			blue(r).HostSession.ToAdvertise = &v1alpha1.RouteFilter{Mode: v1alpha1.FilterAll, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.0/8"}}}
		}, []want{inv(L3, "blue", "spec.hostSession.toAdvertise.prefixes")}},
		{"filter prefix host bits", func(r *Resources) {
			blue(r).HostSession.ToReceive = &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.1/8"}}}
		}, []want{inv(L3, "blue", "spec.hostSession.toReceive.prefixes[0].prefix")}},
		{"filter ge not above length", func(r *Resources) {
			blue(r).HostSession.ToReceive = &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.0/8", GE: ptr(int32(8))}}}
		}, []want{inv(L3, "blue", "spec.hostSession.toReceive.prefixes[0].ge")}},
		{"filter le above 32", func(r *Resources) {
			blue(r).HostSession.ToReceive = &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.0/8", LE: ptr(int32(33))}}}
		}, []want{inv(L3, "blue", "spec.hostSession.toReceive.prefixes[0].le")}},
		{"filter ge above le", func(r *Resources) {
			blue(r).HostSession.ToReceive = &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.0/8", GE: ptr(int32(24)), LE: ptr(int32(16))}}}
		}, []want{inv(L3, "blue", "spec.hostSession.toReceive.prefixes[0].le")}},
		{"filter prefix twice", func(r *Resources) {
			blue(r).HostSession.ToReceive = &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.0/8"}, {Prefix: "10.0.0.0/8"}}}
		}, []want{inv(L3, "blue", "spec.hostSession.toReceive.prefixes[1]")}},
		{"l3 duplicate VNI", func(r *Resources) { blue(r).VNI = 100 }, []want{{L3, "red", "spec.vni", ReasonConflict}, {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},
		{"l3 duplicate VRF", func(r *Resources) { blue(r).VRF = "red" }, []want{{L3, "red", "spec.vrf", ReasonConflict}, {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},
		{"l3 duplicate RD", func(r *Resources) { blue(r).RouteDistinguisher = "64514:100" }, []want{{L3, "red", "spec.routeDistinguisher", ReasonConflict}, {L2, "web", "spec.routingDomain.l3vni", ReasonDependencyFailed}}},

		// L2VNI.
		{"l2 vni zero", func(r *Resources) { legacy(r).VNI = 0 }, []want{inv(L2, "legacy", "spec.vni")}},
		{"l2 vni negative", func(r *Resources) { legacy(r).VNI = -5 }, []want{inv(L2, "legacy", "spec.vni")}},
		{"l2 vxlan port negative", func(r *Resources) { legacy(r).VXLANPort = -1 }, []want{inv(L2, "legacy", "spec.vxlanPort")}},
		{"l2 rd bad ip", func(r *Resources) { legacy(r).RouteDistinguisher = "100.65.0.400:120" }, []want{inv(L2, "legacy", "spec.routeDistinguisher")}},
		{"l2 rt ipv6", func(r *Resources) { legacy(r).ImportRouteTargets = []string{"fd00::1:5"} }, []want{inv(L2, "legacy", "spec.importRouteTargets[0]")}},
		{"l2 duplicate VNI with L3", func(r *Resources) { legacy(r).VNI = 200 }, []want{{L2, "legacy", "spec.vni", ReasonConflict}}},
		{"l2 duplicate RD", func(r *Resources) { vms(r).RouteDistinguisher = "100.65.0.4:120" }, []want{{L2, "vms", "spec.routeDistinguisher", ReasonConflict}}},
		{"l2 missing routing domain", func(r *Resources) { web(r).RoutingDomain.L3VNI = "green" }, []want{{L2, "web", "spec.routingDomain.l3vni", ReasonNotFound}}},
		{"l2 empty routing domain", func(r *Resources) { web(r).RoutingDomain.L3VNI = "" }, []want{inv(L2, "web", "spec.routingDomain.l3vni")}},
		{"l2 gateway without routing domain", func(r *Resources) { legacy(r).GatewayIPs = []string{"10.9.0.1/24"} }, []want{inv(L2, "legacy", "spec.gatewayIPs")}},
		{"l2 gateway without length", func(r *Resources) { web(r).GatewayIPs = []string{"192.170.1.1"} }, []want{inv(L2, "web", "spec.gatewayIPs[0]")}},
		{"l2 gateway network address", func(r *Resources) { web(r).GatewayIPs = []string{"192.170.1.0/24"} }, []want{inv(L2, "web", "spec.gatewayIPs[0]")}},
		{"l2 gateway broadcast", func(r *Resources) { web(r).GatewayIPs = []string{"192.170.1.255/24"} }, []want{inv(L2, "web", "spec.gatewayIPs[0]")}},
		{"l2 two IPv4 gateways", func(r *Resources) { web(r).GatewayIPs = []string{"192.170.1.1/24", "192.171.1.1/24"} }, []want{inv(L2, "web", "spec.gatewayIPs[1]")}},
		{"l2 gateway overlaps host session link", func(r *Resources) { web(r).GatewayIPs = []string{"192.169.10.200/25"} }, []want{{L2, "web", "spec.gatewayIPs", ReasonConflict}}},
		{"l2 gateways overlap in a VRF", func(r *Resources) {
			r.L2VNIs = append(r.L2VNIs, v1alpha1.L2VNI{ObjectMeta: meta("zz-web2"), Spec: v1alpha1.L2VNISpec{VNI: 140, RoutingDomain: &v1alpha1.RoutingDomain{L3VNI: "red"}, GatewayIPs: []string{"192.170.1.129/25"}}})
		}, []want{{L2, "zz-web2", "spec.gatewayIPs", ReasonConflict}}},
		{"l2 host master OVS", func(r *Resources) { vms(r).HostMaster.Type = v1alpha1.HostMasterOVSBridge }, []want{{L2, "vms", "spec.hostMaster.type", ReasonUnsupported}}},
		{"l2 host master bad type", func(r *Resources) { vms(r).HostMaster.Type = "Macvlan" }, []want{inv(L2, "vms", "spec.hostMaster.type")}},
		{"l2 host master bad lifecycle", func(r *Resources) { vms(r).HostMaster.Lifecycle = "Borrowed" }, []want{inv(L2, "vms", "spec.hostMaster.lifecycle")}},
		{"l2 external without name", func(r *Resources) { vms(r).HostMaster.Name = "" }, []want{inv(L2, "vms", "spec.hostMaster.name")}},
		{"l2 host master bad name", func(r *Resources) { vms(r).HostMaster.Name = "br vms;rm" }, []want{inv(L2, "vms", "spec.hostMaster.name")}},
		{"l2 host master reserved name", func(r *Resources) { vms(r).HostMaster.Name = "host-110" }, []want{inv(L2, "vms", "spec.hostMaster.name")}},
		{"l2 shared host master", func(r *Resources) {
			legacy(r).HostMaster = &v1alpha1.HostMaster{Lifecycle: v1alpha1.LifecycleExternal, Name: "br-vms"}
		}, []want{{L2, "vms", "spec.hostMaster.name", ReasonConflict}}},
		{"l2 mtu too small", func(r *Resources) { legacy(r).MTU = ptr(int32(100)) }, []want{inv(L2, "legacy", "spec.mtu")}},
		{"l2 mtu too big", func(r *Resources) { legacy(r).MTU = ptr(int32(65000)) }, []want{inv(L2, "legacy", "spec.mtu")}},
		{"l2 bad name", func(r *Resources) {
			r.L2VNIs = append(r.L2VNIs, v1alpha1.L2VNI{ObjectMeta: meta("legacy net"), Spec: v1alpha1.L2VNISpec{VNI: 150}})
		}, []want{inv(L2, "legacy net", "metadata.name")}},

		// L3Passthrough.
		{"passthrough asn differs", func(r *Resources) { pt(r).ASN = ptr(int64(65000)) }, []want{inv(PT, "kube", "spec.hostSession.asn")}},
		{"passthrough overlaps VTEP", func(r *Resources) { pt(r).LocalCIDR.IPv4 = "100.65.0.0/16" }, []want{{PT, "kube", "spec.hostSession.localCIDR.ipv4", ReasonConflict}}},
		{"passthrough no host peer", func(r *Resources) { pt(r).HostASN = nil }, []want{inv(PT, "kube", "spec.hostSession")}},
		{"passthrough bad CIDR", func(r *Resources) { pt(r).LocalCIDR.IPv4 = "192.169.20.0/33" }, []want{inv(PT, "kube", "spec.hostSession.localCIDR.ipv4")}},
		{"second passthrough", func(r *Resources) {
			r.L3Passthroughs = append(r.L3Passthroughs, v1alpha1.L3Passthrough{ObjectMeta: meta("kube2"), Spec: r.L3Passthroughs[0].Spec})
		}, []want{{PT, "kube2", "spec.nodeSelector", ReasonConflict}}},
	}
	if len(cases) < 60 {
		t.Fatalf("only %d cases", len(cases))
	}
	runInvalid(t, cases)
}

// Kinds, shortened for the case tables.
const (
	U  = v1alpha1.KindUnderlay
	L3 = v1alpha1.KindL3VNI
	L2 = v1alpha1.KindL2VNI
	PT = v1alpha1.KindL3Passthrough
)

// want is one expected error: the resource, its field and the reason.
type want struct{ kind, name, field, reason string }

func inv(kind, name, field string) want { return want{kind, name, field, ReasonInvalid} }

// Accessors of the fixture's objects, for the mutations.
func ul(r *Resources) *v1alpha1.UnderlaySpec  { return &r.Underlays[0].Spec }
func red(r *Resources) *v1alpha1.L3VNISpec    { return &r.L3VNIs[0].Spec }
func blue(r *Resources) *v1alpha1.L3VNISpec   { return &r.L3VNIs[1].Spec }
func web(r *Resources) *v1alpha1.L2VNISpec    { return &r.L2VNIs[0].Spec }
func legacy(r *Resources) *v1alpha1.L2VNISpec { return &r.L2VNIs[1].Spec }
func vms(r *Resources) *v1alpha1.L2VNISpec    { return &r.L2VNIs[2].Spec }
func pt(r *Resources) *v1alpha1.HostSession   { return &r.L3Passthroughs[0].Spec.HostSession }

// invalidCase mutates the valid fixture and names the errors it must cause.
type invalidCase struct {
	name   string
	mutate func(r *Resources)
	want   []want
}

// runInvalid checks, per case, that exactly the wanted errors are reported, and that the
// plan is exactly the plan of the same resources without the rejected ones: a bad object
// changes nothing else.
func runInvalid(t *testing.T, cases []invalidCase) {
	t.Helper()
	allValid, _ := Build(validResources(), testNode)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := deepCopy(validResources())
			tc.mutate(&r)
			p, errs := Build(r, testNode)
			// Without its Underlay a node applies nothing: every other resource then fails
			// with DependencyFailed.
			underlayLost := false
			for _, w := range tc.want {
				underlayLost = underlayLost || (w.kind == U && w.reason != ReasonConflict && !strings.HasPrefix(w.name, "zz-"))
			}
			if underlayLost {
				for _, a := range allValid.Applied {
					if a.Kind != U {
						tc.want = append(tc.want, want{a.Kind, a.Name, "", ReasonDependencyFailed})
					}
				}
			}
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(tc.want), errs)
			}
			rejected := map[Ref]bool{}
			for _, w := range tc.want {
				found := false
				for _, e := range errs {
					if e.Kind == w.kind && e.Name == w.name && e.Field == w.field && e.Reason == w.reason {
						found = true
						if e.Message == "" {
							t.Errorf("%s/%s: empty message", e.Kind, e.Name)
						}
					}
				}
				if !found {
					t.Errorf("missing error %+v; got %v", w, errs)
				}
				rejected[Ref{w.kind, "weft", w.name}] = true
			}
			// Nothing else changes: the plan is the plan without the rejected resources.
			if without := withoutRefs(r, rejected); true {
				q, qerrs := Build(without, testNode)
				if len(qerrs) > 0 && !underlayLost {
					t.Errorf("the resources without the rejected ones still fail: %v", qerrs)
				}
				if !reflect.DeepEqual(p, q) {
					t.Errorf("the plan differs from the plan without the rejected resources:\n got %+v\nwant %+v", p.Applied, q.Applied)
				}
			}
			// Nothing else is lost: every other originally applied resource is still applied.
			applied := map[Ref]bool{}
			for _, a := range p.Applied {
				applied[a] = true
			}
			for _, a := range allValid.Applied {
				if !rejected[a] && !applied[a] && a.Kind != v1alpha1.KindUnderlay {
					t.Errorf("%s was dropped although it is valid", a)
				}
				if rejected[a] && applied[a] {
					t.Errorf("%s is both rejected and applied", a)
				}
			}
		})
	}
}

// withoutRefs returns r without the resources in refs.
func withoutRefs(r Resources, refs map[Ref]bool) Resources {
	out := deepCopy(r)
	out.Underlays = slices.DeleteFunc(out.Underlays, func(x v1alpha1.Underlay) bool { return refs[refOf(U, &x.ObjectMeta)] })
	out.L3VNIs = slices.DeleteFunc(out.L3VNIs, func(x v1alpha1.L3VNI) bool { return refs[refOf(L3, &x.ObjectMeta)] })
	out.L2VNIs = slices.DeleteFunc(out.L2VNIs, func(x v1alpha1.L2VNI) bool { return refs[refOf(L2, &x.ObjectMeta)] })
	out.L3Passthroughs = slices.DeleteFunc(out.L3Passthroughs, func(x v1alpha1.L3Passthrough) bool { return refs[refOf(PT, &x.ObjectMeta)] })
	return out
}

func deepCopy(r Resources) Resources {
	out := Resources{}
	for _, x := range r.Underlays {
		out.Underlays = append(out.Underlays, *x.DeepCopy())
	}
	for _, x := range r.L3VNIs {
		out.L3VNIs = append(out.L3VNIs, *x.DeepCopy())
	}
	for _, x := range r.L2VNIs {
		out.L2VNIs = append(out.L2VNIs, *x.DeepCopy())
	}
	for _, x := range r.L3Passthroughs {
		out.L3Passthroughs = append(out.L3Passthroughs, *x.DeepCopy())
	}
	for _, x := range r.Secrets {
		out.Secrets = append(out.Secrets, *x.DeepCopy())
	}
	return out
}
