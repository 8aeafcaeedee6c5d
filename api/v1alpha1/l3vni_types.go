package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L3VNISpec describes a routed VRF stretched over the fabric with EVPN type-5 routes.
type L3VNISpec struct {
	// NodeSelector selects the nodes this L3VNI applies to. Empty selects every node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// VRF is the name of the VRF, in FRR and in the kernel. It must not be a name FRR or the
	// kernel reserve (default, main, local, all, lo) nor start with a prefix weft uses for its
	// own devices (br-pe-, br-hs-, vni, pe-, host-).
	// +kubebuilder:validation:Pattern=`^[a-z][a-z0-9-]{0,14}$`
	// +kubebuilder:validation:XValidation:rule="!['default', 'main', 'local', 'all', 'lo'].exists(n, self == n)",message="must not be default, main, local, all or lo (names FRR and the kernel reserve)"
	// +kubebuilder:validation:XValidation:rule="!['br-pe-', 'br-hs-', 'vni', 'pe-', 'host-'].exists(p, self.startsWith(p))",message="must not start with br-pe-, br-hs-, vni, pe- or host- (weft's own device names)"
	VRF string `json:"vrf"`

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

	// RouteDistinguisher such as 65000:200 or 10.0.0.1:200: ASN:NN or IPv4:NN, NN at
	// most 65535 after a 4-byte ASN or an IPv4 address. Default: derived by FRR.
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9.]+:[0-9]+$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9.]+:[0-9]+$') || (self.substring(0, self.indexOf(':')).matches('^(0|[1-9][0-9]{0,9})$') ? int(self.substring(0, self.indexOf(':'))) <= 4294967295 && self.substring(self.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,9})$') && int(self.substring(self.indexOf(':') + 1)) <= 4294967295 && (int(self.substring(0, self.indexOf(':'))) <= 65535 || int(self.substring(self.indexOf(':') + 1)) <= 65535) : isIP(self.substring(0, self.indexOf(':'))) && ip(self.substring(0, self.indexOf(':'))).family() == 4 && self.substring(self.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,4})$') && int(self.substring(self.indexOf(':') + 1)) <= 65535)",message="must be ASN:NN or IPv4:NN in plain decimal (no leading zeros), each number at most 4294967295, and NN at most 65535 after an ASN above 65535 or an IPv4 address"
	// +optional
	RouteDistinguisher string `json:"routeDistinguisher,omitempty"`

	// ImportRouteTargets such as 65000:200, each listed once, of the same form as the route
	// distinguisher. Default: derived by FRR.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[0-9.]+:[0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self.all(t, !t.matches('^[0-9.]+:[0-9]+$') || (t.substring(0, t.indexOf(':')).matches('^(0|[1-9][0-9]{0,9})$') ? int(t.substring(0, t.indexOf(':'))) <= 4294967295 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,9})$') && int(t.substring(t.indexOf(':') + 1)) <= 4294967295 && (int(t.substring(0, t.indexOf(':'))) <= 65535 || int(t.substring(t.indexOf(':') + 1)) <= 65535) : isIP(t.substring(0, t.indexOf(':'))) && ip(t.substring(0, t.indexOf(':'))).family() == 4 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,4})$') && int(t.substring(t.indexOf(':') + 1)) <= 65535))",message="every route target must be ASN:NN or IPv4:NN in plain decimal (no leading zeros), each number at most 4294967295, and NN at most 65535 after an ASN above 65535 or an IPv4 address"
	// +kubebuilder:validation:XValidation:rule="self.all(t, self.exists_one(u, u == t))",message="every route target must be listed once"
	// +listType=atomic
	// +optional
	ImportRouteTargets []string `json:"importRouteTargets,omitempty"`

	// ExportRouteTargets such as 65000:200, each listed once, of the same form as the route
	// distinguisher. Default: derived by FRR.
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=32
	// +kubebuilder:validation:items:Pattern=`^[0-9.]+:[0-9]+$`
	// +kubebuilder:validation:XValidation:rule="self.all(t, !t.matches('^[0-9.]+:[0-9]+$') || (t.substring(0, t.indexOf(':')).matches('^(0|[1-9][0-9]{0,9})$') ? int(t.substring(0, t.indexOf(':'))) <= 4294967295 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,9})$') && int(t.substring(t.indexOf(':') + 1)) <= 4294967295 && (int(t.substring(0, t.indexOf(':'))) <= 65535 || int(t.substring(t.indexOf(':') + 1)) <= 65535) : isIP(t.substring(0, t.indexOf(':'))) && ip(t.substring(0, t.indexOf(':'))).family() == 4 && t.substring(t.indexOf(':') + 1).matches('^(0|[1-9][0-9]{0,4})$') && int(t.substring(t.indexOf(':') + 1)) <= 65535))",message="every route target must be ASN:NN or IPv4:NN in plain decimal (no leading zeros), each number at most 4294967295, and NN at most 65535 after an ASN above 65535 or an IPv4 address"
	// +kubebuilder:validation:XValidation:rule="self.all(t, self.exists_one(u, u == t))",message="every route target must be listed once"
	// +listType=atomic
	// +optional
	ExportRouteTargets []string `json:"exportRouteTargets,omitempty"`

	// HostSession is a BGP session in this VRF between the router and the host.
	// +optional
	HostSession *HostSession `json:"hostSession,omitempty"`
}

// L3VNI is a routed VRF exposed to the host through a veth and a BGP session.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="VRF",type=string,JSONPath=`.spec.vrf`
// +kubebuilder:printcolumn:name="VNI",type=integer,JSONPath=`.spec.vni`
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Applied")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L3VNI struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   L3VNISpec      `json:"spec,omitempty"`
	Status ResourceStatus `json:"status,omitempty"`
}

// L3VNIList is a list of L3VNIs.
// +kubebuilder:object:root=true
type L3VNIList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L3VNI `json:"items"`
}

func init() {
	SchemeBuilder.Register(&L3VNI{}, &L3VNIList{})
}
