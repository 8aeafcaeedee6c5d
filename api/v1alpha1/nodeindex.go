package v1alpha1

import "strconv"

// NodeIndexAnnotation is the Node annotation that holds the node's index: weft-controller
// writes it, agents read it, and a node's VTEP address, router ID and router MAC derive
// from it.
const NodeIndexAnnotation = "network.weft.dev/node-index"

// MaxNodeIndex is the largest node index: the router MAC encodes the index in three bytes,
// so a larger index would give another node's MAC. Every place an index enters (the
// controller's allocator, the agent's and `weft render`'s flags, plan.Build) uses this limit.
const MaxNodeIndex = 1<<24 - 1

// NodeIndex reads a node's index from its annotations: a decimal number in 0..MaxNodeIndex
// written without sign or leading zeros, or false.
func NodeIndex(annotations map[string]string) (int, bool) {
	s, ok := annotations[NodeIndexAnnotation]
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(s)
	if err != nil || i < 0 || i > MaxNodeIndex || strconv.Itoa(i) != s {
		return 0, false
	}
	return i, true
}
