package manifest

import (
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// rejectDuplicates moves every object defined more than once (same kind, namespace and name)
// out of Resources and Objects into Invalid, one Conflict per copy naming where the others
// are. No copy is applied: an API server would have kept one, and which one a user meant is
// not for weft to guess.
func (res *Result) rejectDuplicates() {
	where := map[plan.Ref][]string{}
	for _, o := range res.Objects {
		where[o.Ref] = append(where[o.Ref], o.Source)
	}
	dup := map[plan.Ref]bool{}
	for _, o := range res.Objects {
		if len(where[o.Ref]) < 2 {
			continue
		}
		dup[o.Ref] = true
		others := slices.DeleteFunc(slices.Clone(where[o.Ref]), func(s string) bool { return s == o.Source })
		res.Invalid = append(res.Invalid, plan.ResourceError{
			Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Source: o.Source,
			Field: "metadata.name", Reason: plan.ReasonConflict,
			Message: "also defined in " + strings.Join(others, " and ") + "; no copy is applied",
		})
	}
	if len(dup) == 0 {
		return
	}
	res.Objects = slices.DeleteFunc(res.Objects, func(o Object) bool { return dup[o.Ref] })
	r := &res.Resources
	r.Underlays = slices.DeleteFunc(r.Underlays, func(o v1alpha1.Underlay) bool { return dup[ref(v1alpha1.KindUnderlay, &o.ObjectMeta)] })
	r.L3VNIs = slices.DeleteFunc(r.L3VNIs, func(o v1alpha1.L3VNI) bool { return dup[ref(v1alpha1.KindL3VNI, &o.ObjectMeta)] })
	r.L2VNIs = slices.DeleteFunc(r.L2VNIs, func(o v1alpha1.L2VNI) bool { return dup[ref(v1alpha1.KindL2VNI, &o.ObjectMeta)] })
	r.L3Passthroughs = slices.DeleteFunc(r.L3Passthroughs, func(o v1alpha1.L3Passthrough) bool {
		return dup[ref(v1alpha1.KindL3Passthrough, &o.ObjectMeta)]
	})
	r.Secrets = slices.DeleteFunc(r.Secrets, func(o corev1.Secret) bool { return dup[ref("Secret", &o.ObjectMeta)] })
}

func ref(kind string, m *metav1.ObjectMeta) plan.Ref {
	return plan.Ref{Kind: kind, Namespace: m.Namespace, Name: m.Name}
}

// eachMeta calls fn with the kind and the metadata of every object of Resources.
func (res *Result) eachMeta(fn func(kind string, m *metav1.ObjectMeta)) {
	r := &res.Resources
	for i := range r.Underlays {
		fn(v1alpha1.KindUnderlay, &r.Underlays[i].ObjectMeta)
	}
	for i := range r.L3VNIs {
		fn(v1alpha1.KindL3VNI, &r.L3VNIs[i].ObjectMeta)
	}
	for i := range r.L2VNIs {
		fn(v1alpha1.KindL2VNI, &r.L2VNIs[i].ObjectMeta)
	}
	for i := range r.L3Passthroughs {
		fn(v1alpha1.KindL3Passthrough, &r.L3Passthroughs[i].ObjectMeta)
	}
	for i := range r.Secrets {
		fn("Secret", &r.Secrets[i].ObjectMeta)
	}
}

// Stamp sets the creationTimestamp of every object that has none to at[its Ref], when at
// holds it. plan.Build gives contested claims (a VNI, a VRF) to the oldest object; files have
// no timestamps, so without a stamp the name would decide and a newcomer could displace a
// working object.
func (res *Result) Stamp(at map[plan.Ref]time.Time) {
	res.eachMeta(func(kind string, m *metav1.ObjectMeta) {
		if t, ok := at[ref(kind, m)]; ok && m.CreationTimestamp.IsZero() {
			m.CreationTimestamp = metav1.NewTime(t)
		}
	})
}

// StampLoadOrder makes load order age order: every object without a creationTimestamp gets
// epoch plus its position in Objects, in seconds, so the first file's first document is the
// oldest (`weft render`). Timestamps written in the files are kept.
func (res *Result) StampLoadOrder(epoch time.Time) {
	at := make(map[plan.Ref]time.Time, len(res.Objects))
	for i, o := range res.Objects {
		at[o.Ref] = epoch.Add(time.Duration(i) * time.Second)
	}
	res.Stamp(at)
}

// quoteFile returns a file name as it is when it holds only letters, digits and "._/-", and
// quoted (%q) otherwise, so that no file name can forge a message or a second line.
func quoteFile(name string) string {
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._/-", c)) {
			return strconv.Quote(name)
		}
	}
	if name == "" {
		return `""`
	}
	return name
}
