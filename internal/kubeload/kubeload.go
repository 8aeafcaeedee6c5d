// Package kubeload reads weft's resources from the API server (or a cache of it) into the
// plan's input: the one place that lists the four kinds, for the agent, the webhook and the
// status aggregator.
package kubeload

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// Resources lists the Underlays, L3VNIs, L2VNIs and L3Passthroughs of namespace. Secrets
// are not read: callers read the ones that are referenced.
func Resources(ctx context.Context, r client.Reader, namespace string) (plan.Resources, error) {
	var res plan.Resources
	var ul v1alpha1.UnderlayList
	var l3 v1alpha1.L3VNIList
	var l2 v1alpha1.L2VNIList
	var pt v1alpha1.L3PassthroughList
	for _, l := range []client.ObjectList{&ul, &l3, &l2, &pt} {
		if err := r.List(ctx, l, client.InNamespace(namespace)); err != nil {
			return res, err
		}
	}
	res.Underlays, res.L3VNIs, res.L2VNIs, res.L3Passthroughs = ul.Items, l3.Items, l2.Items, pt.Items
	return res, nil
}
