package manifest

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// source locates a document: "<file>: document N", or "... item M" for an item of a List.
type source struct {
	file      string
	doc, item int
}

func (s source) String() string {
	out := fmt.Sprintf("%s: document %d", quoteFile(s.file), s.doc)
	if s.item > 0 {
		out += fmt.Sprintf(" item %d", s.item)
	}
	return out
}

// problem is one reason a document cannot be read: a field path (empty for the whole
// document) and a message in which every user value is quoted.
type problem struct {
	field, msg string
}

// header is what locates a document and says how to read it. It is read leniently: a field
// of the wrong type is left empty, and the typed decoding reports it with its path.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// parseFile reads every document of one file. A document that cannot be read is reported in
// Invalid and the next one is read all the same.
func parseFile(file string, data []byte) Result {
	var res Result
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return res
		}
		if err != nil {
			// Reading from memory fails only on a malformed stream; the rest is lost with it.
			res.reject(source{file: file, doc: n}, header{}, []problem{{msg: "cannot be split into documents: " + yamlMessage(err)}})
			res.notYAML = append(res.notYAML, res.Invalid[len(res.Invalid)-1])
			return res
		}
		res.document(source{file: file, doc: n}, doc)
	}
}

// document reads one YAML document, as kubectl would (sigs.k8s.io/yaml), after the checks
// kubectl lacks (duplicate keys, .inf and .nan, content after "...").
func (res *Result) document(src source, doc []byte) {
	probs := yamlProblems(doc)
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		if len(probs) == 0 {
			probs = []problem{{msg: yamlMessage(err)}}
		}
		res.reject(src, yamlHeader(doc), probs)
		res.notYAML = append(res.notYAML, res.Invalid[len(res.Invalid)-1])
		return
	}
	if len(probs) == 0 && isEmpty(js) {
		return // comments only, or an empty document between two "---"
	}
	res.object(src, js, probs, true)
}

func isEmpty(js []byte) bool {
	js = bytes.TrimSpace(js)
	return len(js) == 0 || string(js) == "null"
}

// object reads one document's JSON (or a List item's); probs are the problems found in its
// YAML, which reject it.
func (res *Result) object(src source, js []byte, probs []problem, listOK bool) {
	h, p := readHeader(js)
	isList := p == nil && h.APIVersion == "v1" && h.Kind == "List"
	if isList && listOK {
		res.list(src, h, js, probs)
		return
	}
	if len(probs) == 0 && p != nil {
		probs = []problem{*p}
	}
	if len(probs) == 0 && isList {
		probs = []problem{{field: "kind", msg: "a List inside a List is not read"}}
	}
	if len(probs) > 0 {
		res.reject(src, h, probs)
		return
	}
	obj, p := newObject(h)
	if p != nil {
		res.reject(src, h, []problem{*p})
		return
	}
	if probs := decodeStrict(js, obj); len(probs) > 0 {
		res.reject(src, h, probs)
		return
	}
	meta := obj.(metav1.Object)
	if meta.GetName() == "" {
		res.reject(src, h, []problem{{field: "metadata.name", msg: "required"}})
		return
	}
	if meta.GetNamespace() == "" {
		meta.SetNamespace(DefaultNamespace)
	}
	// A Secret is not planned (only looked up), so its identity is checked here, as the API
	// server would: the weft kinds' are checked by plan.Build.
	if _, ok := obj.(*corev1.Secret); ok {
		if errs := validation.IsDNS1123Subdomain(meta.GetName()); len(errs) > 0 {
			res.reject(src, h, []problem{{field: "metadata.name", msg: fmt.Sprintf("%q is not a valid name: %s", meta.GetName(), errs[0])}})
			return
		}
		if errs := validation.IsDNS1123Label(meta.GetNamespace()); len(errs) > 0 {
			res.reject(src, h, []problem{{field: "metadata.namespace", msg: fmt.Sprintf("%q is not a valid namespace: %s", meta.GetNamespace(), errs[0])}})
			return
		}
	}
	res.add(src, obj)
}

// readHeader reads apiVersion, kind and metadata's name and namespace. A document that is not
// an object, or whose apiVersion or kind is not a string, is a problem.
func readHeader(js []byte) (header, *problem) {
	var h header
	js = bytes.TrimSpace(js)
	if len(js) == 0 || js[0] != '{' {
		return h, &problem{msg: "a document must be an object (apiVersion, kind, metadata, spec), not " + jsonValueKind(js)}
	}
	// Decoding goes on past a field of the wrong type: h holds whatever could be read.
	err := kjson.UnmarshalCaseSensitivePreserveInts(js, &h)
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && (te.Field == "apiVersion" || te.Field == "kind") {
		return h, &problem{field: te.Field, msg: typeMessage(te)}
	}
	return h, nil
}

// yamlHeader reads the header of a document that has no JSON form (an infinite number), for
// its location; it is empty when yaml.v3 cannot read it either.
func yamlHeader(doc []byte) header {
	var h struct {
		APIVersion string `yaml:"apiVersion"`
		Kind       string `yaml:"kind"`
		Metadata   struct {
			Name      string `yaml:"name"`
			Namespace string `yaml:"namespace"`
		} `yaml:"metadata"`
	}
	_ = yaml3.Unmarshal(doc, &h) // what could be read is kept
	var out header
	out.APIVersion, out.Kind = h.APIVersion, h.Kind
	out.Metadata.Name, out.Metadata.Namespace = h.Metadata.Name, h.Metadata.Namespace
	return out
}

// jsonValueKind names the kind of a JSON value by its first byte.
func jsonValueKind(js []byte) string {
	if len(js) == 0 {
		return "nothing"
	}
	switch js[0] {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// list reads the items of a v1 List as documents of their own. A problem of the YAML under
// items[i] rejects that item alone; any other rejects the List.
func (res *Result) list(src source, h header, js []byte, probs []problem) {
	var own []problem
	for _, p := range probs {
		if !strings.HasPrefix(p.field, "items[") {
			own = append(own, p)
		}
	}
	var l struct {
		metav1.TypeMeta
		Metadata metav1.ListMeta   `json:"metadata"`
		Items    []json.RawMessage `json:"items"`
	}
	if len(own) == 0 {
		own = decodeStrict(js, &l)
	}
	if len(own) > 0 {
		res.reject(src, h, own)
		return
	}
	for i, item := range l.Items {
		res.object(source{file: src.file, doc: src.doc, item: i + 1}, item, itemProblems(probs, i), false)
	}
}

// itemProblems are the problems under items[i], with paths relative to the item.
func itemProblems(probs []problem, i int) []problem {
	prefix := fmt.Sprintf("items[%d]", i)
	var out []problem
	for _, p := range probs {
		if rest, ok := strings.CutPrefix(p.field, prefix); ok && (rest == "" || rest[0] == '.' || rest[0] == '[') {
			out = append(out, problem{field: strings.TrimPrefix(rest, "."), msg: p.msg})
		}
	}
	return out
}

// readsList says what weft reads, for messages about documents of other kinds.
var readsList = fmt.Sprintf("weft reads %s %s, %s, %s and %s; v1 Secret and v1 List",
	v1alpha1.GroupVersion, v1alpha1.KindUnderlay, v1alpha1.KindL3VNI, v1alpha1.KindL2VNI, v1alpha1.KindL3Passthrough)

// kinds are the kinds weft reads, by apiVersion, with a new object of each.
var kinds = []struct {
	apiVersion, kind string
	new              func() any
}{
	{v1alpha1.GroupVersion.String(), v1alpha1.KindUnderlay, func() any { return &v1alpha1.Underlay{} }},
	{v1alpha1.GroupVersion.String(), v1alpha1.KindL3VNI, func() any { return &v1alpha1.L3VNI{} }},
	{v1alpha1.GroupVersion.String(), v1alpha1.KindL2VNI, func() any { return &v1alpha1.L2VNI{} }},
	{v1alpha1.GroupVersion.String(), v1alpha1.KindL3Passthrough, func() any { return &v1alpha1.L3Passthrough{} }},
	{"v1", "Secret", func() any { return &corev1.Secret{} }},
	{"v1", "List", nil},
}

// newObject is a new object of the document's kind, or the problem with its apiVersion or
// kind: missing, misspelt, of another version of weft's group, or of another API.
func newObject(h header) (any, *problem) {
	switch {
	case h.APIVersion == "":
		return nil, &problem{field: "apiVersion", msg: "required; " + readsList}
	case h.Kind == "":
		return nil, &problem{field: "kind", msg: "required; " + readsList}
	}
	group, _, _ := strings.Cut(h.APIVersion, "/")
	if group == v1alpha1.GroupVersion.Group && strings.Contains(h.APIVersion, "/") && h.APIVersion != v1alpha1.GroupVersion.String() {
		return nil, &problem{field: "apiVersion", msg: fmt.Sprintf("%q is not a version weft reads: it reads %s", h.APIVersion, v1alpha1.GroupVersion)}
	}
	for _, k := range kinds {
		if k.kind == h.Kind && k.apiVersion != h.APIVersion {
			return nil, &problem{field: "apiVersion", msg: fmt.Sprintf("%q is not the apiVersion of %s: it is %q", h.APIVersion, k.kind, k.apiVersion)}
		}
	}
	known := false
	for _, k := range kinds {
		if k.apiVersion != h.APIVersion {
			continue
		}
		known = true
		if k.kind == h.Kind && k.new != nil {
			return k.new(), nil
		}
	}
	if known {
		return nil, &problem{field: "kind", msg: fmt.Sprintf("%q is not a kind weft reads%s (%s)", h.Kind, kindHint(h), readsList)}
	}
	return nil, &problem{field: "apiVersion", msg: fmt.Sprintf("%q is not an apiVersion weft reads%s (%s)", h.APIVersion, apiVersionHint(h), readsList)}
}

// kindHint suggests the kind a misspelt one (case, plural) stands for.
func kindHint(h header) string {
	for _, k := range kinds {
		if !sameWord(h.Kind, k.kind) {
			continue
		}
		if k.apiVersion == h.APIVersion {
			return fmt.Sprintf("; did you mean %q?", k.kind)
		}
		return fmt.Sprintf("; did you mean apiVersion %q, kind %q?", k.apiVersion, k.kind)
	}
	return ""
}

// apiVersionHint suggests weft's apiVersion for a miscased one or the bare group.
func apiVersionHint(h header) string {
	gv := v1alpha1.GroupVersion.String()
	if strings.EqualFold(h.APIVersion, gv) || strings.EqualFold(h.APIVersion, v1alpha1.GroupVersion.Group) {
		return fmt.Sprintf("; did you mean %q?", gv)
	}
	return ""
}

// sameWord reports whether s is word in another case or plural.
func sameWord(s, word string) bool {
	s, word = strings.ToLower(s), strings.ToLower(word)
	return s == word || s == word+"s" || s == word+"es"
}

// reject reports a document that could not be read, located by src and, when they could be
// read, its kind and name.
func (res *Result) reject(src source, h header, probs []problem) {
	e := plan.ResourceError{Source: src.String(), Reason: plan.ReasonInvalid, Field: probs[0].field, Message: probs[0].msg}
	if h.Kind != "" && h.Metadata.Name != "" {
		e.Kind, e.Name = h.Kind, h.Metadata.Name
		e.Namespace = cmp.Or(h.Metadata.Namespace, DefaultNamespace)
	}
	const most = 5
	var also []string
	for _, p := range probs[1:min(len(probs), most+1)] {
		also = append(also, strings.TrimPrefix(p.field+": "+p.msg, ": "))
	}
	if len(also) > 0 {
		e.Message += "; also " + strings.Join(also, "; ")
	}
	if n := len(probs) - 1 - most; n > 0 {
		e.Message += fmt.Sprintf("; and %d more", n)
	}
	res.Invalid = append(res.Invalid, e)
}

// add appends a decoded object.
func (res *Result) add(src source, obj any) {
	r := &res.Resources
	var kind string
	switch o := obj.(type) {
	case *v1alpha1.Underlay:
		r.Underlays, kind = append(r.Underlays, *o), v1alpha1.KindUnderlay
	case *v1alpha1.L3VNI:
		r.L3VNIs, kind = append(r.L3VNIs, *o), v1alpha1.KindL3VNI
	case *v1alpha1.L2VNI:
		r.L2VNIs, kind = append(r.L2VNIs, *o), v1alpha1.KindL2VNI
	case *v1alpha1.L3Passthrough:
		r.L3Passthroughs, kind = append(r.L3Passthroughs, *o), v1alpha1.KindL3Passthrough
	case *corev1.Secret:
		r.Secrets, kind = append(r.Secrets, *o), "Secret"
	}
	meta := obj.(metav1.Object)
	res.Objects = append(res.Objects, Object{Ref: plan.Ref{Kind: kind, Namespace: meta.GetNamespace(), Name: meta.GetName()}, Source: src.String()})
}
