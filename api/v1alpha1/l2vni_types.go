package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L2VNISpec describes a layer-2 segment stretched over the fabric (EVPN type-2/3) and handed to
// the host as a bridge.
// +kubebuilder:validation:XValidation:rule="!has(self.gatewayIPs) || size(self.gatewayIPs) == 0 || has(self.routingDomain)",message="gatewayIPs require routingDomain",fieldPath=".gatewayIPs"
// +kubebuilder:validation:XValidation:rule="!has(self.hostMaster) || !has(self.hostMaster.name) || (self.hostMaster.name.matches('^br-hs-[1-9][0-9]{0,7}$') && int(self.hostMaster.name.substring(6)) == self.vni) || (self.hostMaster.name != 'lo' && !['br-pe-', 'br-hs-', 'vni', 'pe-', 'host-'].exists(p, self.hostMaster.name.startsWith(p)))",message="must not be lo nor start with br-pe-, br-hs-, vni, pe- or host- (weft's own device names), unless it is this segment's own br-hs-<vni>",fieldPath=".hostMaster.name"
type L2VNISpec struct {
	// NodeSelector selects the nodes this L2VNI applies to. Empty selects every node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// VNI is the VXLAN network identifier, unique across L2VNIs and L3VNIs.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=16777215
	VNI int64 `json:"vni"`

	// VXLANPort is the UDP port of the VXLAN device.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +kubebuilder:default=4789
	// +optional
	VXLANPort int32 `json:"vxlanPort,omitempty"`

	// RouteDistinguisher such as 65000:100 or 10.0.0.1:100: ASN:NN or IPv4:NN, NN at most
	// 65535 after a 4-byte ASN or an IPv4 address. Default: derived by FRR.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9.]+:[0-9]+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9.]+:[0-9]+$') || (self.substring(0, self.indexOf(':')).matches('^(0|[1-9][0-9]{0,9})$') ? int(self.substring(0, self.indexOf(':'))) <= 4294967295 && self.substring(self.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,9})$') && int(self.substring(self.indexOf(':') + 1)) <= 4294967295 && (int(self.substring(0, self.indexOf(':'))) <= 65535 || int(self.substring(self.indexOf(':') + 1)) <= 65535) : isIP(self.substring(0, self.indexOf(':'))) && ip(self.substring(0, self.indexOf(':'))).family() == 4 && self.substring(self.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,4})$') && int(self.substring(self.indexOf(':') + 1)) <= 65535)",message="must be ASN:NN or IPv4:NN in plain decimal (no leading zeros), each number at most 4294967295, and NN at most 65535 after an ASN above 65535 or an IPv4 address"
	// +optional
	RouteDistinguisher string `json:"routeDistinguisher,omitempty"`

	// ImportRouteTargets such as 65000:100, each listed once, of the same form as the route
	// distinguisher. Default: derived by FRR.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[0-9.]+:[0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self.all(t, !t.matches('^[0-9.]+:[0-9]+$') || (t.substring(0, t.indexOf(':')).matches('^(0|[1-9][0-9]{0,9})$') ? int(t.substring(0, t.indexOf(':'))) <= 4294967295 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,9})$') && int(t.substring(t.indexOf(':') + 1)) <= 4294967295 && (int(t.substring(0, t.indexOf(':'))) <= 65535 || int(t.substring(t.indexOf(':') + 1)) <= 65535) : isIP(t.substring(0, t.indexOf(':'))) && ip(t.substring(0, t.indexOf(':'))).family() == 4 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,4})$') && int(t.substring(t.indexOf(':') + 1)) <= 65535))",message="every route target must be ASN:NN or IPv4:NN in plain decimal (no leading zeros), each number at most 4294967295, and NN at most 65535 after an ASN above 65535 or an IPv4 address"
	// +kubebuilder:validation:XValidation:rule="self.all(t, self.exists_one(u, u == t))",message="every route target must be listed once"
	// +listType=atomic
	// +optional
	ImportRouteTargets []string `json:"importRouteTargets,omitempty"`

	// ExportRouteTargets such as 65000:100, each listed once, of the same form as the route
	// distinguisher. Default: derived by FRR.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[0-9.]+:[0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self.all(t, !t.matches('^[0-9.]+:[0-9]+$') || (t.substring(0, t.indexOf(':')).matches('^(0|[1-9][0-9]{0,9})$') ? int(t.substring(0, t.indexOf(':'))) <= 4294967295 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,9})$') && int(t.substring(t.indexOf(':') + 1)) <= 4294967295 && (int(t.substring(0, t.indexOf(':'))) <= 65535 || int(t.substring(t.indexOf(':') + 1)) <= 65535) : isIP(t.substring(0, t.indexOf(':'))) && ip(t.substring(0, t.indexOf(':'))).family() == 4 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,4})$') && int(t.substring(t.indexOf(':') + 1)) <= 65535))",message="every route target must be ASN:NN or IPv4:NN in plain decimal (no leading zeros), each number at most 4294967295, and NN at most 65535 after an ASN above 65535 or an IPv4 address"
	// +kubebuilder:validation:XValidation:rule="self.all(t, self.exists_one(u, u == t))",message="every route target must be listed once"
	// +listType=atomic
	// +optional
	ExportRouteTargets []string `json:"exportRouteTargets,omitempty"`

	// RoutingDomain places the segment in an L3VNI's VRF (symmetric IRB).
	// +optional
	RoutingDomain *RoutingDomain `json:"routingDomain,omitempty"`

	// GatewayIPs are the distributed anycast gateway addresses (CIDR form, at most one per
	// family), the same IP and MAC on every node. Only with routingDomain. An address is not
	// its subnet's network or IPv4 broadcast address, nor in 0.0.0.0/8, 127.0.0.0/8,
	// 169.254.0.0/16, 224.0.0.0/4, 240.0.0.0/4, ::, ::1, fe80::/10 or ff00::/8.
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:MaxLength=49
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="every entry must be a CIDR such as 192.168.10.1/24"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !isCIDR(c) || cidr(c).prefixLength() >= (cidr(c).ip().family() == 4 ? 31 : 127) || !(cidr(c) == cidr(c).masked()))",message="a gateway must not be the network address of its subnet"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !isCIDR(c) || cidr(c).ip().family() != 4 || cidr(c).prefixLength() > 30 || [c.split('/')[0].split('.').map(o, int(o))].all(o, [[4294967296, 2147483648, 1073741824, 536870912, 268435456, 134217728, 67108864, 33554432, 16777216, 8388608, 4194304, 2097152, 1048576, 524288, 262144, 131072, 65536, 32768, 16384, 8192, 4096, 2048, 1024, 512, 256, 128, 64, 32, 16, 8, 4][cidr(c).prefixLength()]].all(m, (o[0] * 16777216 + o[1] * 65536 + o[2] * 256 + o[3]) % m != m - 1)))",message="a gateway must not be the broadcast address of its subnet"
	// +kubebuilder:validation:XValidation:rule="self.all(c, !isCIDR(c) || !['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4', '::/128', '::1/128', 'fe80::/10', 'ff00::/8'].exists(r, cidr(r).containsIP(cidr(c).ip())))",message="a gateway must not be in 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 240.0.0.0/4, ::, ::1, fe80::/10 or ff00::/8"
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c)) ? size(self) < 2 || cidr(self[0]).ip().family() != cidr(self[1]).ip().family() : true",message="at most one gateway IP per address family"
	// +listType=atomic
	// +optional
	GatewayIPs []string `json:"gatewayIPs,omitempty"`

	// HostMaster is the host bridge the segment is attached to. Default: a Managed Linux
	// bridge named br-hs-<vni>.
	// +optional
	HostMaster *HostMaster `json:"hostMaster,omitempty"`

	// MTU of the segment's devices. Default: the kernel's (underlay MTU − 50 where known).
	// +kubebuilder:validation:Minimum=576
	// +kubebuilder:validation:Maximum=9216
	// +optional
	MTU *int32 `json:"mtu,omitempty"`
}

// RoutingDomain names the L3VNI whose VRF routes this segment.
type RoutingDomain struct {
	// L3VNI is the name of an L3VNI in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	L3VNI string `json:"l3vni"`
}

// HostMasterType is the kind of host bridge.
// +kubebuilder:validation:Enum=LinuxBridge;OVSBridge
type HostMasterType string

// Host master types.
const (
	HostMasterLinuxBridge HostMasterType = "LinuxBridge"
	HostMasterOVSBridge   HostMasterType = "OVSBridge"
)

// Lifecycle says who owns a host bridge.
// +kubebuilder:validation:Enum=Managed;External
type Lifecycle string

// Lifecycles.
const (
	// LifecycleManaged bridges are created and deleted by weft.
	LifecycleManaged Lifecycle = "Managed"
	// LifecycleExternal bridges belong to the user; weft only attaches its veth.
	LifecycleExternal Lifecycle = "External"
)

// HostMaster is the host bridge pods and VMs attach to.
// +kubebuilder:validation:XValidation:rule="self.lifecycle != 'External' || has(self.name)",message="name is required for an External host master",fieldPath=".name"
type HostMaster struct {
	// Type of the bridge.
	// +kubebuilder:default=LinuxBridge
	// +optional
	Type HostMasterType `json:"type,omitempty"`

	// Lifecycle says whether weft creates the bridge (Managed) or the user does (External).
	// +kubebuilder:default=Managed
	// +optional
	Lifecycle Lifecycle `json:"lifecycle,omitempty"`

	// Name of the bridge on the host. Default for Managed: br-hs-<vni>. Not lo, not all or
	// default (the kernel reserves them), nor another of weft's own device names (br-pe-,
	// br-hs-, vni, pe-, host-).
	// +kubebuilder:validation:MaxLength=15
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$`
	// +kubebuilder:validation:XValidation:rule="self != 'all' && self != 'default'",message="must not be all or default: the kernel reserves these names"
	// +optional
	Name string `json:"name,omitempty"`
}

// L2VNI is a stretched layer-2 segment exposed as a host bridge.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="VNI",type=integer,JSONPath=`.spec.vni`
// +kubebuilder:printcolumn:name="L3VNI",type=string,JSONPath=`.spec.routingDomain.l3vni`
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Applied")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L2VNI struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   L2VNISpec      `json:"spec,omitempty"`
	Status ResourceStatus `json:"status,omitempty"`
}

// L2VNIList is a list of L2VNIs.
// +kubebuilder:object:root=true
type L2VNIList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2VNI `json:"items"`
}

func init() {
	SchemeBuilder.Register(&L2VNI{}, &L2VNIList{})
}
