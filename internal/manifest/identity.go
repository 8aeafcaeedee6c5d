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

// rejectDuplicates handles objects defined more than once (same kind, namespace and name):
// every copy that is not applied goes from Resources and Objects into Invalid, as a Conflict
// naming where the other copies are. With keepFirst (weft render, where file order is age
// order) the first copy in load order is applied and the later ones are rejected; without it
// (the host-mode agent, where file names say nothing of age) no copy is applied: which one a
// user meant is not for weft to guess, and the agent keeps the last applied version in force.
func (res *Result) rejectDuplicates(keepFirst bool) {
	where := map[plan.Ref][]string{}
	for _, o := range res.Objects {
		where[o.Ref] = append(where[o.Ref], o.Source)
	}
	dup := map[plan.Ref]bool{}
	drop := map[string]bool{} // sources of rejected copies
	for _, o := range res.Objects {
		copies := where[o.Ref]
		if len(copies) < 2 {
			continue
		}
		dup[o.Ref] = true
		if keepFirst && copies[0] == o.Source {
			continue
		}
		drop[o.Source] = true
		others := slices.DeleteFunc(slices.Clone(copies), func(s string) bool { return s == o.Source })
		msg := "also defined in " + strings.Join(others, " and ") + "; no copy is applied"
		if keepFirst {
			msg = "already defined in " + copies[0] + ", which comes first and is applied; this copy is not"
		}
		res.Invalid = append(res.Invalid, plan.ResourceError{
			Kind: o.Kind, Namespace: o.Namespace, Name: o.Name, Source: o.Source,
			Field: "metadata.name", Reason: plan.ReasonConflict, Message: msg,
		})
	}
	if len(dup) == 0 {
		return
	}
	if keepFirst {
		res.dropCopies(dup, drop)
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

// Stamp sets the creationTimestamp of every object to at[its Ref], when at holds it.
// plan.Build gives contested claims (a VNI, a VRF) to the oldest object; in files, age is
// what weft says it is (when the agent first saw the object; render: file order): a
// creationTimestamp written in a file is replaced, or a newcomer could backdate itself and
// displace a working object.
func (res *Result) Stamp(at map[plan.Ref]time.Time) {
	res.eachMeta(func(kind string, m *metav1.ObjectMeta) {
		if t, ok := at[ref(kind, m)]; ok {
			m.CreationTimestamp = metav1.NewTime(t)
		}
	})
}

// StampLoadOrder makes load order age order: every object gets epoch plus its position in
// Objects, in seconds, so the first file's first document is the oldest (`weft render`).
// Timestamps written in the files are replaced (see Stamp).
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

// dropCopies removes the rejected copies (by source) of the duplicated refs from Objects and
// Resources, keeping the first copy of each.
func (res *Result) dropCopies(dup map[plan.Ref]bool, drop map[string]bool) {
	kept := map[plan.Ref]bool{}
	keep := func(r plan.Ref) bool {
		if !dup[r] {
			return true
		}
		if kept[r] {
			return false
		}
		kept[r] = true
		return true
	}
	res.Objects = slices.DeleteFunc(res.Objects, func(o Object) bool { return drop[o.Source] && dup[o.Ref] })
	r := &res.Resources
	r.Underlays = slices.DeleteFunc(r.Underlays, func(o v1alpha1.Underlay) bool { return !keep(ref(v1alpha1.KindUnderlay, &o.ObjectMeta)) })
	r.L3VNIs = slices.DeleteFunc(r.L3VNIs, func(o v1alpha1.L3VNI) bool { return !keep(ref(v1alpha1.KindL3VNI, &o.ObjectMeta)) })
	r.L2VNIs = slices.DeleteFunc(r.L2VNIs, func(o v1alpha1.L2VNI) bool { return !keep(ref(v1alpha1.KindL2VNI, &o.ObjectMeta)) })
	r.L3Passthroughs = slices.DeleteFunc(r.L3Passthroughs, func(o v1alpha1.L3Passthrough) bool {
		return !keep(ref(v1alpha1.KindL3Passthrough, &o.ObjectMeta))
	})
	r.Secrets = slices.DeleteFunc(r.Secrets, func(o corev1.Secret) bool { return !keep(ref("Secret", &o.ObjectMeta)) })
}
