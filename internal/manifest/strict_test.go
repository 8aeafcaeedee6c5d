package manifest

import (
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/plan"
)

// reads is how messages list what weft reads.
const reads = "(weft reads network.weft.dev/v1alpha1 Underlay, L3VNI, L2VNI and L3Passthrough; v1 Secret and v1 List)"

// TestTypos: a document weft does not read is never dropped silently: an unknown,
// miscased or missing apiVersion or kind, another version of weft's group, or another
// Kubernetes kind is reported on its field, with what weft reads.
func TestTypos(t *testing.T) {
	meta := "metadata: {name: web}\nspec: {vni: 110}"
	for _, tt := range []docCase{
		{name: "lower-case kind", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: l2vni\n" + meta,
			want: `bad.yaml: document 1 (l2vni/default/web): kind: "l2vni" is not a kind weft reads; did you mean "L2VNI"? ` + reads},
		{name: "mixed-case kind", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: L2Vni\n" + meta,
			want: `bad.yaml: document 1 (L2Vni/default/web): kind: "L2Vni" is not a kind weft reads; did you mean "L2VNI"? ` + reads},
		{name: "plural kind", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNIs\n" + meta,
			want: `bad.yaml: document 1 (L2VNIs/default/web): kind: "L2VNIs" is not a kind weft reads; did you mean "L2VNI"? ` + reads},
		{name: "unknown kind", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: Segment\n" + meta,
			want: `bad.yaml: document 1 (Segment/default/web): kind: "Segment" is not a kind weft reads ` + reads},
		{name: "secret under weft's group", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: Secret\n" + meta,
			want: `bad.yaml: document 1 (Secret/default/web): apiVersion: "network.weft.dev/v1alpha1" is not the apiVersion of Secret: it is "v1"`},
		{name: "no apiVersion", doc: "kind: L2VNI\n" + meta,
			want: `bad.yaml: document 1 (L2VNI/default/web): apiVersion: required; ` + strings.Trim(reads, "()")},
		{name: "no kind", doc: "apiVersion: network.weft.dev/v1alpha1\n" + meta,
			want: `bad.yaml: document 1: kind: required; ` + strings.Trim(reads, "()")},
		{name: "miscased kind key", doc: "apiVersion: network.weft.dev/v1alpha1\nKind: L2VNI\n" + meta,
			want: `bad.yaml: document 1: kind: required; ` + strings.Trim(reads, "()")},
		{name: "unknown version", doc: "apiVersion: network.weft.dev/v1beta1\nkind: L2VNI\n" + meta,
			want: `bad.yaml: document 1 (L2VNI/default/web): apiVersion: "network.weft.dev/v1beta1" is not a version weft reads: it reads network.weft.dev/v1alpha1`},
		{name: "unknown group", doc: "apiVersion: network.weft.io/v1alpha1\nkind: L2VNI\n" + meta,
			want: `bad.yaml: document 1 (L2VNI/default/web): apiVersion: "network.weft.io/v1alpha1" is not the apiVersion of L2VNI: it is "network.weft.dev/v1alpha1"`},
		{name: "unknown group and kind", doc: "apiVersion: network.weft.io/v1alpha1\nkind: Segment\n" + meta,
			want: `bad.yaml: document 1 (Segment/default/web): apiVersion: "network.weft.io/v1alpha1" is not an apiVersion weft reads ` + reads},
		{name: "core kind under weft's group", doc: "apiVersion: v1\nkind: L3VNI\n" + meta,
			want: `bad.yaml: document 1 (L3VNI/default/web): apiVersion: "v1" is not the apiVersion of L3VNI: it is "network.weft.dev/v1alpha1"`},
		{name: "group without version", doc: "apiVersion: network.weft.dev\nkind: L2VNI\n" + meta,
			want: `bad.yaml: document 1 (L2VNI/default/web): apiVersion: "network.weft.dev" is not the apiVersion of L2VNI: it is "network.weft.dev/v1alpha1"`},
		{name: "group without version, unknown kind", doc: "apiVersion: network.weft.dev\nkind: Segment\n" + meta,
			want: `bad.yaml: document 1 (Segment/default/web): apiVersion: "network.weft.dev" is not an apiVersion weft reads; did you mean "network.weft.dev/v1alpha1"? ` + reads},
		{name: "miscased apiVersion", doc: "apiVersion: Network.Weft.Dev/v1alpha1\nkind: L2VNI\n" + meta,
			want: `bad.yaml: document 1 (L2VNI/default/web): apiVersion: "Network.Weft.Dev/v1alpha1" is not the apiVersion of L2VNI: it is "network.weft.dev/v1alpha1"`},
		{name: "number apiVersion", doc: "apiVersion: 1\nkind: L2VNI\n" + meta,
			want: `bad.yaml: document 1 (L2VNI/default/web): apiVersion: want a string, got a number`},
		{name: "configmap", doc: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\ndata: {a: b}",
			want: `bad.yaml: document 1 (ConfigMap/default/other): kind: "ConfigMap" is not a kind weft reads ` + reads},
		{name: "plural secret", doc: "apiVersion: v1\nkind: secrets\nmetadata: {name: pw}\nstringData: {password: x}",
			want: `bad.yaml: document 1 (secrets/default/pw): kind: "secrets" is not a kind weft reads; did you mean "Secret"? ` + reads},
		{name: "deployment", doc: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: x}",
			want: `bad.yaml: document 1 (Deployment/x/d): apiVersion: "apps/v1" is not an apiVersion weft reads ` + reads},
	} {
		t.Run(tt.name, func(t *testing.T) { checkAlone(t, tt, plan.ReasonInvalid) })
	}
}

// TestStrict: decoding is the API server's: exact, case-sensitive field names, no unknown
// fields, no duplicate keys, each reported on its path.
func TestStrict(t *testing.T) {
	for _, tt := range []docCase{
		{name: "miscased field", doc: weftL2 + "metadata: {name: web}\nspec: {VNI: 110}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.VNI: unknown field; field names are case-sensitive: did you mean "vni"?`},
		{name: "miscased spec", doc: weftL2 + "metadata: {name: web}\nSpec: {vni: 110}",
			want: `bad.yaml: document 1 (L2VNI/default/web): Spec: unknown field; field names are case-sensitive: did you mean "spec"?`},
		{name: "miscased metadata field", doc: weftL2 + "metadata: {name: web, Namespace: x}\nspec: {vni: 110}",
			want: `bad.yaml: document 1 (L2VNI/default/web): metadata.Namespace: unknown field; field names are case-sensitive: did you mean "namespace"?`},
		{name: "misspelt field", doc: weftL2 + "metadata: {name: web}\nspec: {vni: 110, vnii: 111}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vnii: unknown field; did you mean "vni"?`},
		{name: "unknown field in a list", doc: "apiVersion: network.weft.dev/v1alpha1\nkind: Underlay\nmetadata: {name: u}\nspec:\n  asn: 1\n  neighbors: [{address: 10.0.0.1, type: External}, {address: 10.0.0.2, Type: External}]",
			want: `bad.yaml: document 1 (Underlay/default/u): spec.neighbors[1].Type: unknown field; field names are case-sensitive: did you mean "type"?`},
		{name: "several unknown fields", doc: weftL2 + "metadata: {name: web}\nspec: {vni: 110, a: 1, b: 2}\nextra: {}",
			want: `bad.yaml: document 1 (L2VNI/default/web): extra: unknown field; also spec.a: unknown field; spec.b: unknown field`},
		{name: "duplicate key", doc: weftL2 + "metadata: {name: web}\nspec:\n  vni: 110\n  vni: 111",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vni: duplicate key (lines 5 and 6)`},
		{name: "duplicate top-level key", doc: weftL2 + "metadata: {name: web}\nspec: {vni: 110}\nspec: {vni: 111}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec: duplicate key (lines 4 and 5)`},
		{name: "duplicate key in JSON", doc: `{"apiVersion": "network.weft.dev/v1alpha1", "kind": "L2VNI", "metadata": {"name": "web"}, "spec": {"vni": 110, "vni": 111}}`,
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vni: duplicate key (lines 1 and 1)`},
		{name: "duplicate label", doc: weftL2 + "metadata:\n  name: web\n  labels:\n    app.kubernetes.io/name: a\n    app.kubernetes.io/name: b\nspec: {vni: 110}",
			want: `bad.yaml: document 1 (L2VNI/default/web): metadata.labels["app.kubernetes.io/name"]: duplicate key (lines 6 and 7)`},
		{name: "secret field case", doc: "apiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringdata: {password: x}",
			want: `bad.yaml: document 1 (Secret/default/pw): stringdata: unknown field; field names are case-sensitive: did you mean "stringData"?`},
	} {
		t.Run(tt.name, func(t *testing.T) { checkAlone(t, tt, plan.ReasonInvalid) })
	}
}

// TestQuoting: every user value in a message is quoted, and no user text (names, kinds,
// apiVersions, keys, file names) can add a line to one.
func TestQuoting(t *testing.T) {
	for _, tt := range []struct {
		name, file, doc, want string
	}{
		{name: "name", file: "bad.yaml", doc: weftL2 + "metadata: {name: \"we\\nb\"}\nspec: {vni: \"x\"}",
			want: `bad.yaml: document 1 (L2VNI/default/"we\nb"): spec.vni: want an integer, got a string`},
		{name: "namespace", file: "bad.yaml", doc: weftL2 + "metadata: {name: web, namespace: \"a b\"}\nspec: {vni: \"x\"}",
			want: `bad.yaml: document 1 (L2VNI/"a b"/web): spec.vni: want an integer, got a string`},
		{name: "kind", file: "bad.yaml", doc: "apiVersion: v1\nkind: \"Con\\nfigMap\\e[31m\"\nmetadata: {name: x}",
			want: `bad.yaml: document 1 ("Con\nfigMap\x1b[31m"/default/x): kind: "Con\nfigMap\x1b[31m" is not a kind weft reads ` + reads},
		{name: "apiVersion", file: "bad.yaml", doc: "apiVersion: \"v1\\r\\nkind: Secret\"\nkind: Secret\nmetadata: {name: x}",
			want: `bad.yaml: document 1 (Secret/default/x): apiVersion: "v1\r\nkind: Secret" is not the apiVersion of Secret: it is "v1"`},
		{name: "unknown key", file: "bad.yaml", doc: weftL2 + "metadata: {name: web}\nspec: {vni: 1, \"a\\nb\": 2}",
			want: `bad.yaml: document 1 (L2VNI/default/web): "spec.a\nb": unknown field`},
		{name: "duplicate key", file: "bad.yaml", doc: weftL2 + "metadata: {name: web, labels: {\"a\\nb\": x, \"a\\nb\": y}}\nspec: {vni: 1}",
			want: `bad.yaml: document 1 (L2VNI/default/web): metadata.labels["a\nb"]: duplicate key (lines 3 and 3)`},
		{name: "label value type", file: "bad.yaml", doc: weftL2 + "metadata: {name: web, labels: {\"a\\nb\": 5}}\nspec: {vni: 1}",
			want: `bad.yaml: document 1 (L2VNI/default/web): metadata.labels["a\nb"]: want a string, got a number`},
		{name: "file name", file: "my dir/bad\n.yaml", doc: "42",
			want: `"my dir/bad\n.yaml": document 1: a document must be an object (apiVersion, kind, metadata, spec), not a number`},
		{name: "infinity spelt oddly", file: "bad.yaml", doc: weftL2 + "metadata: {name: web}\nspec: {vni: -.INF}",
			want: `bad.yaml: document 1 (L2VNI/default/web): spec.vni: "-.INF" is not a number JSON can hold (infinite or NaN)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, _ := Parse(tt.file, []byte(tt.doc))
			if len(res.Invalid) != 1 {
				t.Fatalf("Invalid = %v, want one entry", res.Invalid)
			}
			got := res.Invalid[0].Error()
			if got != tt.want {
				t.Errorf("Error()\n got %s\nwant %s", got, tt.want)
			}
			if strings.ContainsAny(got, "\n\r\x1b") {
				t.Errorf("Error() holds a control character: %q", got)
			}
		})
	}
}
