package webhook

import (
	"context"
	"errors"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/kubeload"
	"github.com/weftnet/weft/internal/plan"
)

// The paths follow controller-runtime's convention, which WebhookManagedBy serves.
// +kubebuilder:webhook:path=/validate-network-weft-dev-v1alpha1-underlay,mutating=false,failurePolicy=fail,sideEffects=None,groups=network.weft.dev,resources=underlays,verbs=create;update,versions=v1alpha1,name=vunderlay.network.weft.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-network-weft-dev-v1alpha1-l3vni,mutating=false,failurePolicy=fail,sideEffects=None,groups=network.weft.dev,resources=l3vnis,verbs=create;update,versions=v1alpha1,name=vl3vni.network.weft.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-network-weft-dev-v1alpha1-l2vni,mutating=false,failurePolicy=fail,sideEffects=None,groups=network.weft.dev,resources=l2vnis,verbs=create;update,versions=v1alpha1,name=vl2vni.network.weft.dev,admissionReviewVersions=v1
// +kubebuilder:webhook:path=/validate-network-weft-dev-v1alpha1-l3passthrough,mutating=false,failurePolicy=fail,sideEffects=None,groups=network.weft.dev,resources=l3passthroughs,verbs=create;update,versions=v1alpha1,name=vl3passthrough.network.weft.dev,admissionReviewVersions=v1

// +kubebuilder:rbac:groups=network.weft.dev,namespace=weft-system,resources=underlays;l3vnis;l2vnis;l3passthroughs,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get;list;watch

// Validator admits Underlays, L3VNIs, L2VNIs and L3Passthroughs.
type Validator struct {
	// Reader lists the existing objects and Nodes, normally the manager's cache.
	Reader client.Reader
	// Namespace is the one namespace the agents read; objects elsewhere would be ignored
	// silently, so they are rejected. Empty accepts every namespace.
	Namespace string
}

// SetupWithManager serves the four validating webhooks on mgr's webhook server.
func (v *Validator) SetupWithManager(mgr ctrl.Manager) error {
	for _, obj := range []runtime.Object{&v1alpha1.Underlay{}, &v1alpha1.L3VNI{}, &v1alpha1.L2VNI{}, &v1alpha1.L3Passthrough{}} {
		if err := ctrl.NewWebhookManagedBy(mgr).For(obj).WithValidator(v).Complete(); err != nil {
			return fmt.Errorf("webhook for %T: %w", obj, err)
		}
	}
	return nil
}

// ValidateCreate checks a new object.
func (v *Validator) ValidateCreate(ctx context.Context, obj runtime.Object) (admission.Warnings, error) {
	return nil, v.validate(ctx, obj)
}

// ValidateUpdate checks a changed spec. Metadata-only updates (labels, finalizers) pass, so
// an object that a later change made invalid can still be relabelled or deleted.
func (v *Validator) ValidateUpdate(ctx context.Context, oldObj, newObj runtime.Object) (admission.Warnings, error) {
	if sameSpec(oldObj, newObj) {
		return nil, nil
	}
	return nil, v.validate(ctx, newObj)
}

// ValidateDelete admits every deletion.
func (v *Validator) ValidateDelete(context.Context, runtime.Object) (admission.Warnings, error) {
	return nil, nil
}

// sameSpec says whether a and b are objects of one kind with equal specs.
func sameSpec(a, b runtime.Object) bool {
	sa, sb := specOf(a), specOf(b)
	return sa.IsValid() && sb.IsValid() && sa.Type() == sb.Type() && equality.Semantic.DeepEqual(sa.Interface(), sb.Interface())
}

// specOf is the Spec field of a pointer to one of weft's kinds, invalid for anything else.
func specOf(o runtime.Object) reflect.Value {
	v := reflect.ValueOf(o)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return reflect.Value{}
	}
	return v.Elem().FieldByName("Spec")
}

func (v *Validator) validate(ctx context.Context, obj runtime.Object) error {
	kind, meta, _, err := describe(obj)
	if err != nil {
		return err
	}
	if v.Namespace != "" && meta.Namespace != v.Namespace {
		return plan.ResourceError{Kind: kind, Namespace: meta.Namespace, Name: meta.Name, Field: "metadata.namespace", Reason: plan.ReasonInvalid,
			Message: fmt.Sprintf("weft reads only namespace %q; objects in %q would be ignored", v.Namespace, meta.Namespace)}
	}
	res, err := kubeload.Resources(ctx, v.Reader, meta.Namespace)
	if err != nil {
		return fmt.Errorf("load existing objects: %w", err)
	}
	nodes, err := LoadNodes(ctx, v.Reader)
	if err != nil {
		return fmt.Errorf("load nodes: %w", err)
	}
	err = Check(res, nodes, obj)
	var re plan.ResourceError
	if errors.As(err, &re) {
		// The message is the whole answer: "<Kind>/<name>: <field>: <message>".
		return errors.New(re.Error())
	}
	return err
}

// LoadNodes lists the Nodes that have an index (the others have no addresses yet and get
// planned once the controller indexed them), from Node metadata only.
func LoadNodes(ctx context.Context, r client.Reader) ([]plan.Node, error) {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
	if err := r.List(ctx, list); err != nil {
		return nil, err
	}
	out := make([]plan.Node, 0, len(list.Items))
	for _, n := range list.Items {
		idx, ok := v1alpha1.NodeIndex(n.Annotations)
		if !ok {
			continue
		}
		out = append(out, plan.Node{Name: n.Name, Labels: n.Labels, Index: idx})
	}
	return out, nil
}
