package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FailedResource names a resource that could not be applied on a node, and why.
type FailedResource struct {
	// Kind of the resource, such as L2VNI.
	Kind string `json:"kind"`
	// Name of the resource.
	Name string `json:"name"`
	// Field is the path of the offending field, such as spec.vni, when one is to blame.
	// +optional
	Field string `json:"field,omitempty"`
	// Reason is a CamelCase word such as Invalid, Conflict or DependencyFailed.
	Reason string `json:"reason"`
	// Message explains the failure for humans.
	Message string `json:"message"`
}

// AppliedResource names a resource programmed on a node and the generation that was applied.
type AppliedResource struct {
	// Kind of the resource, such as L2VNI.
	Kind string `json:"kind"`
	// Name of the resource.
	Name string `json:"name"`
	// Generation is the resource's metadata.generation the node applied.
	Generation int64 `json:"generation"`
}

// SessionStatus is the state of one BGP session on the node.
type SessionStatus struct {
	// VRF is the session's VRF; empty for the default VRF.
	// +optional
	VRF string `json:"vrf,omitempty"`
	// Neighbor is the peer address or interface.
	Neighbor string `json:"neighbor"`
	// State is the BGP FSM state, such as Established.
	State string `json:"state"`
}

// RouterNodeStatusStatus is what one node's agent reports.
type RouterNodeStatusStatus struct {
	// Conditions are Ready (everything selected is applied) and Degraded (something failed).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// FailedResources lists the resources selected for this node that are not applied.
	// +listType=atomic
	// +optional
	FailedResources []FailedResource `json:"failedResources,omitempty"`

	// AppliedResources lists the resources programmed on the node with the generation applied,
	// so per-resource status can tell "applied" from "not reconciled yet".
	// +listType=atomic
	// +optional
	AppliedResources []AppliedResource `json:"appliedResources,omitempty"`

	// AppliedVNIs lists the VNIs programmed on the node.
	// +listType=atomic
	// +optional
	AppliedVNIs []int64 `json:"appliedVNIs,omitempty"`

	// Sessions lists the node's BGP sessions.
	// +listType=atomic
	// +optional
	Sessions []SessionStatus `json:"sessions,omitempty"`

	// LastReconcileTime is when the agent last finished a reconcile.
	// +optional
	LastReconcileTime *metav1.Time `json:"lastReconcileTime,omitempty"`
}

// RouterNodeStatus is the status of weft on one node; its name is the node's name.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Degraded",type=string,JSONPath=`.status.conditions[?(@.type=="Degraded")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type RouterNodeStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status RouterNodeStatusStatus `json:"status,omitempty"`
}

// RouterNodeStatusList is a list of RouterNodeStatuses.
// +kubebuilder:object:root=true
type RouterNodeStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RouterNodeStatus `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RouterNodeStatus{}, &RouterNodeStatusList{})
}
