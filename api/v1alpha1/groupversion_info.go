// Package v1alpha1 holds weft's API: the kinds a user applies (Underlay, L2VNI, L3VNI,
// L3Passthrough) and the per-node status kind (RouterNodeStatus). The same kinds are CRDs in
// Kubernetes mode and YAML files in host mode.
//
// +kubebuilder:object:generate=true
// +groupName=network.weft.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the API group and version of every weft kind.
	GroupVersion = schema.GroupVersion{Group: "network.weft.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the weft kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the weft kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// Kind names, as they appear in YAML files, errors and status.
const (
	KindUnderlay         = "Underlay"
	KindL2VNI            = "L2VNI"
	KindL3VNI            = "L3VNI"
	KindL3Passthrough    = "L3Passthrough"
	KindRouterNodeStatus = "RouterNodeStatus"
)
