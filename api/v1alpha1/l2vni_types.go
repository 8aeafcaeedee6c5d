package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L2VNISpec describes a layer-2 segment stretched over the fabric (EVPN type-2/3) and handed to
// the host as a bridge.
// +kubebuilder:validation:XValidation:rule="!has(self.gatewayIPs) || size(self.gatewayIPs) == 0 || has(self.routingDomain)",message="gatewayIPs require routingDomain",fieldPath=".gatewayIPs"
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

	// RouteDistinguisher such as 65000:100. Default: derived by FRR.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9.]+:[0-9]+$`
	// +optional
	RouteDistinguisher string `json:"routeDistinguisher,omitempty"`

	// ImportRouteTargets such as 65000:100. Default: derived by FRR.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[0-9.]+:[0-9]+$`
	// +listType=atomic
	// +optional
	ImportRouteTargets []string `json:"importRouteTargets,omitempty"`

	// ExportRouteTargets such as 65000:100. Default: derived by FRR.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[0-9.]+:[0-9]+$`
	// +listType=atomic
	// +optional
	ExportRouteTargets []string `json:"exportRouteTargets,omitempty"`

	// RoutingDomain places the segment in an L3VNI's VRF (symmetric IRB).
	// +optional
	RoutingDomain *RoutingDomain `json:"routingDomain,omitempty"`

	// GatewayIPs are the distributed anycast gateway addresses (CIDR form, at most one per
	// family), the same IP and MAC on every node. Only with routingDomain.
	// +kubebuilder:validation:MaxItems=2
	// +kubebuilder:validation:items:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="self.all(c, isCIDR(c))",message="every entry must be a CIDR such as 192.168.10.1/24"
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

	// Name of the bridge on the host. Default for Managed: br-hs-<vni>.
	// +kubebuilder:validation:Pattern=`^[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,14}$`
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
