package manifest

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/plan"
)

const weftL2 = "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\n"

// docCase is a document that must be rejected alone: the error it gives (Error(), exactly),
// its Reason, and whether it is located by kind and name.
type docCase struct {
	name string
	doc  string
	want string
}

// checkAlone parses the document followed by a valid L2VNI "ok" and checks the document is
// reported as want, in one line, and that "ok" is loaded all the same.
func checkAlone(t *testing.T, tt docCase, reason string) plan.ResourceError {
	t.Helper()
	res, _ := Parse("bad.yaml", []byte(tt.doc+"\n---\n"+l2("ok", 200)))
	if len(res.Resources.L2VNIs) != 1 || res.Resources.L2VNIs[0].Name != "ok" {
		t.Errorf("the valid document after it is not loaded: %+v", res.Resources.L2VNIs)
	}
	if len(res.Invalid) != 1 {
		t.Fatalf("Invalid = %v, want one entry", res.Invalid)
	}
	e := res.Invalid[0]
	if got := e.Error(); got != tt.want {
		t.Errorf("Error()\n got %s\nwant %s", got, tt.want)
	}
	if strings.ContainsAny(e.Error(), "\n\r") {
		t.Errorf("Error() is more than one line: %q", e.Error())
	}
	if e.Reason != reason || e.Source == "" {
		t.Errorf("Reason %q, Source %q; want %q and a source", e.Reason, e.Source, reason)
	}
	return e
}

// TestUnreadableDocument: a document of the wrong shape or with a value of the wrong type is
// reported alone, at "<file>: document N (<Kind>/<namespace>/<name>)", with the JSON path of
// the field when there is one; the next document still loads.
func TestUnreadableDocument(t *testing.T) {
	for _, tt := range []docCase{
		{name: "string for an integer", doc: l2("web", 0) + "  vxlanPort: \"4789\"\n",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vxlanPort: want an integer from -2147483648 to 2147483647, got a string`},
		{name: "quoted number", doc: weftL2 + "metadata: {name: web}\nspec: {vni: \"110\"}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vni: want an integer, got a string`},
		{name: "fraction", doc: weftL2 + "metadata: {name: web}\nspec: {vni: 1.5}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vni: want an integer, got the number 1.5`},
		{name: "infinity", doc: weftL2 + "metadata: {name: web}\nspec: {vni: .inf}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vni: ".inf" is not a number JSON can hold (infinite or NaN)`},
		{name: "NaN in a list", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: L3VNI\nmetadata: {name: red, namespace: t1}\nspec: {vrf: red, vni: 100, importRouteTargets: [.NaN]}",
			want: `bad.yaml: document 1 (L3VNI/t1/red): spec.importRouteTargets[0]: ".NaN" is not a number JSON can hold (infinite or NaN)`},
		{name: "object for a list", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: Underlay\nmetadata: {name: u}\nspec: {asn: 1, tunnelEndpoint: {cidrs: {a: 1}}}",
			want: `bad.yaml: document 1 (Underlay/default/u): spec.tunnelEndpoint.cidrs: want a list, got an object`},
		{name: "string in a list item", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: Underlay\nmetadata: {name: u}\nspec: {asn: 1, neighbors: [{address: 10.0.0.1, type: External}, {address: 10.0.0.2, asn: \"x\"}]}",
			want: `bad.yaml: document 1 (Underlay/default/u): spec.neighbors[1].asn: want an integer, got a string`},
		{name: "number in a map", doc: "apiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringData: {password: 5}",
			want: `bad.yaml: document 1 (Secret/default/pw): stringData.password: want a string, got a number`},
		{name: "boolean for a string", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: L3VNI\nmetadata: {name: red}\nspec: {vrf: yes, vni: 100}",
			want: `bad.yaml: document 1 (L3VNI/default/red): spec.vrf: want a string, got a boolean`},
		{name: "number for the name", doc: weftL2 + "metadata: {name: 5}\nspec: {vni: 110}",
			want: `bad.yaml: document 1: metadata.name: want a string, got a number`},
		{name: "list for metadata", doc: weftL2 + "metadata: [web]\nspec: {vni: 110}",
			want: `bad.yaml: document 1: metadata: want an object, got a list`},
		{name: "no name", doc: weftL2 + "metadata: {namespace: t1}\nspec: {vni: 110}",
			want: `bad.yaml: document 1: metadata.name: required`},
		{name: "bad timestamp", doc: weftL2 + "metadata: {name: web, creationTimestamp: yesterday}\nspec: {vni: 110}",
			want: `bad.yaml: document 1 (L2VNI/default/web): metadata.creationTimestamp: want a timestamp in RFC 3339 (e.g. "2024-01-02T15:04:05Z")`},
		{name: "secret data not base64", doc: "apiVersion: v1\nkind: Secret\nmetadata: {name: pw}\ndata: {password: \"not base64!\"}",
			want: `bad.yaml: document 1 (Secret/default/pw): data.password: not base64 (write plain text under stringData)`},
		{name: "stray document end", doc: weftL2 + "metadata: {name: web}\n...\nspec: {vni: 110}",
			want: `bad.yaml: document 1 (L2VNI/default/web): line 4: "..." ends the document, but line 5 holds more; separate documents with "---"`},
		{name: "not YAML", doc: "{not: [yaml",
			want: `bad.yaml: document 1: line 1: did not find expected ',' or ']'`},
		{name: "tab indentation", doc: weftL2 + "metadata:\n\tname: web",
			want: `bad.yaml: document 1: line 4: found character that cannot start any token`},
		{name: "control characters", doc: "\x00\x01",
			want: `bad.yaml: document 1: control characters are not allowed`},
		{name: "a list", doc: "- a\n- b",
			want: `bad.yaml: document 1: a document must be an object (apiVersion, kind, metadata, spec), not a list`},
		{name: "a number", doc: "42",
			want: `bad.yaml: document 1: a document must be an object (apiVersion, kind, metadata, spec), not a number`},
		{name: "value against its tag", doc: weftL2 + "metadata: {name: web}\nspec: {vni: !!int abc}",
			want: `bad.yaml: document 1 (L2VNI/default/web): cannot decode !!str "abc" as a !!int`},
		{name: "complex key", doc: "? [a]\n: 1",
			want: `bad.yaml: document 1: a mapping key must be a string, a number or a boolean`},
	} {
		t.Run(tt.name, func(t *testing.T) { checkAlone(t, tt, plan.ReasonInvalid) })
	}
}

// TestUnreadableFile: a file that is not YAML at all is reported in the same shape and does
// not stop the other files; only a path that cannot be read is an error of Load.
func TestUnreadableFile(t *testing.T) {
	res := loadDir(t, map[string]string{"a.yaml": l2("a", 1), "b.yaml": "\x00\x01\x02", "c.json": `{"apiVersion": `, "d.yaml": l2("d", 4)})
	want := []string{
		"cfg/b.yaml: document 1: control characters are not allowed",
		"cfg/c.json: document 1: line 1: did not find expected node content",
	}
	checkInvalid(t, res, want)
	checkLoaded(t, res, []string{"L2VNI/default/a", "L2VNI/default/d"})
	if _, err := Load("cfg", "missing.yaml"); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("a missing file: %v", err)
	}
	if err := os.Chmod("cfg/a.yaml", 0); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if _, err := Load("cfg"); err == nil {
			t.Error("an unreadable file: no error")
		}
	}
}

// TestAliases: YAML anchors that refer to themselves or are missing are reported without
// echoing the anchor's name.
func TestAliases(t *testing.T) {
	for doc, want := range map[string]string{
		"a: &x [*x]": "bad.yaml: document 1: an anchor's value contains an alias of itself",
		"a: *nope":   "bad.yaml: document 1: an alias refers to an anchor that is not defined before it",
	} {
		res, _ := Parse("bad.yaml", []byte(doc))
		if got := lines(res.Invalid); !slices.Equal(got, []string{want}) {
			t.Errorf("%q: %v, want %s", doc, got, want)
		}
	}
}
