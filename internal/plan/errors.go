package plan

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/weftnet/weft/internal/frrrules"
)

// Building the errors of resources, and the list limits they enforce.

// checkLen reports a list longer than its limit.
func checkLen(ref Ref, fld *field.Path, n, limit int) *ResourceError {
	if n > limit {
		return bad(ref, fld, ReasonInvalid, "has %d entries; at most %d are allowed", n, limit)
	}
	return nil
}

// bad builds the error of a resource.
func bad(ref Ref, fld *field.Path, reason, format string, args ...any) *ResourceError {
	e := &ResourceError{Kind: ref.Kind, Namespace: ref.Namespace, Name: ref.Name, Reason: reason, Message: fmt.Sprintf(format, args...)}
	if fld != nil {
		e.Field = fld.String()
	}
	return e
}

// rangeU32 checks an optional integer against r.
func rangeU32(ref Ref, fld *field.Path, v *int32, r frrrules.Range) (*uint32, *ResourceError) {
	if v == nil {
		return nil, nil
	}
	if err := r.Check(int64(*v)); err != nil {
		return nil, bad(ref, fld, ReasonInvalid, "%v", err)
	}
	u := uint32(*v)
	return &u, nil
}

// Limits on list lengths, the same as the CRD schema's MaxItems: host mode and `weft render`
// get the same bounds as the API server.
const (
	maxInterfaces   = 16
	maxNeighbors    = 64
	maxBFDProfiles  = 64
	maxRouteTargets = 16
	maxPrefixes     = 1000
)
