package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// L3PassthroughSpec describes a BGP session between the router and the host in the default
// VRF: the host's routes reach the fabric's underlay, and the fabric's routes reach the host.
type L3PassthroughSpec struct {
	// NodeSelector selects the nodes this L3Passthrough applies to. Empty selects every node.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// HostSession is the session to the host. Its asn, when set, must equal the Underlay's.
	HostSession HostSession `json:"hostSession"`
}

// L3Passthrough connects the host to the fabric's default VRF through a veth and a BGP session.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Applied")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type L3Passthrough struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   L3PassthroughSpec `json:"spec,omitempty"`
	Status ResourceStatus    `json:"status,omitempty"`
}

// L3PassthroughList is a list of L3Passthroughs.
// +kubebuilder:object:root=true
type L3PassthroughList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L3Passthrough `json:"items"`
}

func init() {
	SchemeBuilder.Register(&L3Passthrough{}, &L3PassthroughList{})
}
