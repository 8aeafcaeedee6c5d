package manifest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	kjson "sigs.k8s.io/json"
)

// decodeStrict decodes js into obj as the API server does: field names exact and
// case-sensitive, unknown and duplicate fields rejected. It returns what is wrong, with
// field paths; the messages are weft's own, so no decoder error echoes a user value unquoted.
func decodeStrict(js []byte, obj any) []problem {
	strict, err := kjson.UnmarshalStrict(js, obj)
	if err != nil {
		return []problem{fatalProblem(js, err)}
	}
	var out []problem
	for _, e := range strict {
		var fe kjson.FieldError
		if !errors.As(e, &fe) {
			out = append(out, problem{msg: "cannot be read: " + strconv.Quote(e.Error())})
			continue
		}
		if strings.HasPrefix(e.Error(), "duplicate field") {
			out = append(out, problem{field: safePath(fe.FieldPath()), msg: "duplicate key"})
			continue
		}
		out = append(out, problem{field: safePath(fe.FieldPath()), msg: "unknown field" + fieldHint(reflect.TypeOf(obj), fe.FieldPath())})
	}
	return out
}

// fatalProblem describes an error that stopped decoding js: a value of the wrong type, or
// one a type of its own could not read (timestamps, base64).
func fatalProblem(js []byte, err error) problem {
	var (
		te  *json.UnmarshalTypeError
		tpe *time.ParseError
		b64 base64.CorruptInputError
	)
	switch {
	case errors.As(err, &te):
		field := pathAt(js, int(te.Offset)-1)
		if field == "" {
			field = safePath(te.Field)
		}
		return problem{field: field, msg: typeMessage(te)}
	case errors.As(err, &tpe):
		return problem{field: badTimestamp(js), msg: fmt.Sprintf("want a timestamp in RFC 3339 (e.g. %q)", "2024-01-02T15:04:05Z")}
	case errors.As(err, &b64):
		return problem{field: badBase64(js), msg: "not base64 (write plain text under stringData)"}
	}
	return problem{msg: "cannot be read: " + strconv.Quote(err.Error())}
}

// badTimestamp is the path of the first timestamp of metadata that is not RFC 3339.
func badTimestamp(js []byte) string {
	var o struct {
		Metadata map[string]json.RawMessage `json:"metadata"`
	}
	_ = json.Unmarshal(js, &o)
	for _, k := range []string{"creationTimestamp", "deletionTimestamp"} {
		var t metav1.Time
		if raw, ok := o.Metadata[k]; ok && t.UnmarshalJSON(raw) != nil {
			return "metadata." + k
		}
	}
	return "metadata"
}

// badBase64 is the path of the first value of a Secret's data that is not base64.
func badBase64(js []byte) string {
	var o struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	_ = json.Unmarshal(js, &o)
	for _, k := range slices.Sorted(maps.Keys(o.Data)) {
		var b []byte
		if json.Unmarshal(o.Data[k], &b) != nil {
			return joinPath("data", k)
		}
	}
	return "data"
}

// typeMessage says what a field wants and what it got, without the value of a string.
func typeMessage(te *json.UnmarshalTypeError) string {
	return fmt.Sprintf("want %s, got %s", describeType(te.Type), describeValue(te.Value))
}

var (
	timeType   = reflect.TypeFor[metav1.Time]()
	intStrType = reflect.TypeFor[intstr.IntOrString]()
)

// describeType names what a Go type reads from JSON.
func describeType(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType:
		return "a timestamp (RFC 3339)"
	case intStrType:
		return "an integer or a string"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Int8, reflect.Int16, reflect.Int32:
		bits := t.Bits()
		return fmt.Sprintf("an integer from %d to %d", int64(-1)<<(bits-1), int64(1)<<(bits-1)-1)
	case reflect.Uint, reflect.Uint64:
		return fmt.Sprintf("an integer from 0 to %d", uint64(math.MaxUint64))
	case reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return fmt.Sprintf("an integer from 0 to %d", uint64(1)<<t.Bits()-1)
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "a list"
	case reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

// describeValue names a JSON value as encoding/json describes it ("string", "number -5").
func describeValue(v string) string {
	if n, ok := strings.CutPrefix(v, "number "); ok {
		if strings.Trim(n, "0123456789.eE+-") == "" {
			return "the number " + n
		}
		return "a number"
	}
	switch v {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "bool":
		return "a boolean"
	case "array":
		return "a list"
	case "object":
		return "an object"
	}
	return strconv.Quote(v)
}

// safePath returns a decoder's field path as it is when it holds only the characters of
// field names, paths and indices, and quoted otherwise (a map key is user text).
func safePath(p string) string {
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-[]", c)) {
			return strconv.Quote(p)
		}
	}
	return p
}

// fieldHint suggests the field an unknown one stands for: one that differs only in case
// (encoding/json would have taken "VNI" for "vni"; the API server does not), or by one letter.
func fieldHint(t reflect.Type, path string) string {
	parts := strings.Split(path, ".")
	parent := typeAt(t, parts[:len(parts)-1])
	if parent == nil {
		return ""
	}
	unknown := parts[len(parts)-1]
	names := jsonFields(parent)
	for _, name := range names {
		if strings.EqualFold(name, unknown) {
			return fmt.Sprintf("; field names are case-sensitive: did you mean %q?", name)
		}
	}
	for _, name := range names {
		if len(unknown) >= 3 && oneEdit(strings.ToLower(name), strings.ToLower(unknown)) {
			return fmt.Sprintf("; did you mean %q?", name)
		}
	}
	return ""
}

// oneEdit reports whether a and b differ by exactly one inserted, deleted or replaced byte.
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(b)-len(a) > 1 || a == b {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		return a[i+1:] == b[i+1:]
	}
	return a[i:] == b[i+1:]
}

// typeAt is the struct type at a field path ("spec.neighbors[0]"), or nil.
func typeAt(t reflect.Type, parts []string) reflect.Type {
	for _, part := range parts {
		name, idx, _ := strings.Cut(part, "[")
		t = deref(t)
		if t == nil || t.Kind() != reflect.Struct {
			return nil
		}
		t = fieldType(t, name)
		for ; idx != "" && t != nil; _, idx, _ = strings.Cut(idx, "[") {
			if t = deref(t); t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
				return nil
			}
			t = t.Elem()
		}
	}
	if t = deref(t); t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// fieldType is the type of the field of struct t whose JSON name is name, or nil.
func fieldType(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == name:
			return f.Type
		case f.Anonymous && tag == "":
			if ft := deref(f.Type); ft.Kind() == reflect.Struct {
				if inner := fieldType(ft, name); inner != nil {
					return inner
				}
			}
		}
	}
	return nil
}

// jsonFields lists the JSON names of struct t's fields, embedded structs' included.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case tag == "-" || !f.IsExported():
		case f.Anonymous && tag == "" && deref(f.Type).Kind() == reflect.Struct:
			out = append(out, jsonFields(deref(f.Type))...)
		case tag == "":
			out = append(out, f.Name)
		default:
			out = append(out, tag)
		}
	}
	return out
}

// yamlMessage rewrites an error of sigs.k8s.io/yaml in weft's words where it could echo a
// user value; its syntax errors ("line 3: did not find expected key") are kept.
func yamlMessage(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "yaml: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	switch {
	case strings.Contains(msg, "invalid map key"):
		return "a mapping key must be a string, a number or a boolean"
	case strings.Contains(msg, "unsupported value"):
		return "a number is infinite or not a number (.inf, .nan)"
	case strings.HasPrefix(msg, "unknown anchor"):
		return "an alias refers to an anchor that is not defined before it"
	case strings.Contains(msg, "value contains itself"):
		return "an anchor's value contains an alias of itself"
	case strings.HasPrefix(msg, "unmarshal errors:"):
		return "cannot be read: " + strconv.Quote(strings.Join(strings.Fields(msg), " "))
	}
	// go-yaml puts values in backquotes ("cannot decode !!str `abc` as a !!int"): quote them.
	return backquoted.ReplaceAllStringFunc(msg, func(q string) string { return strconv.Quote(q[1 : len(q)-1]) })
}

var backquoted = regexp.MustCompile("`[^`]*`")
