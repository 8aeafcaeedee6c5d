package manifest

import (
	"strings"
	"testing"
	"unicode"

	"github.com/weftnet/weft/internal/plan"
)

// FuzzParse feeds arbitrary file contents to the loader. Whatever the bytes, it never
// panics; every document it cannot read is reported with a location (a source, or a kind
// and a name) in one line without control characters; and every object it loads is named,
// namespaced and loaded once.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		l2("web", 110),
		l2("web", 110) + "---\n" + l2("web", 110),
		"apiVersion: network.weft.dev/v1alpha1\nkind: Underlay\nmetadata: {name: u}\nspec:\n  asn: 64514\n  neighbors: [{address: 192.168.11.1, type: External}]\n  tunnelEndpoint: {cidrs: [100.65.0.0/24]}\n",
		"apiVersion: v1\nkind: Secret\nmetadata: {name: pw}\nstringData: {password: abc}\n",
		"apiVersion: v1\nkind: List\nitems:\n- {apiVersion: network.weft.dev/v1alpha1, kind: L2VNI, metadata: {name: a}, spec: {vni: 1}}\n- 5\n",
		weftL2 + "metadata: {name: web}\nspec: {vni: .inf}",
		weftL2 + "metadata: {name: web}\n...\nspec: {vni: 110}",
		weftL2 + "metadata: {name: \"we\\nb\"}\nspec: {VNI: 110, vni: 1, vni: 2}",
		"apiVersion: v1\nkind: \"Con\\nfigMap\"\nmetadata: {name: x}",
		"{not: [yaml",
		"? [a]\n: 1",
		"- a\n- b",
		"a: &x [*x]",
		"\x00\x01",
		"---\n---\n# only a comment\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, _ := Parse("f.yaml", data)
		for _, e := range res.Invalid {
			if e.Source == "" && (e.Kind == "" || e.Name == "") {
				t.Errorf("an error without a location: %+v", e)
			}
			if e.Reason == "" || e.Message == "" {
				t.Errorf("an error without a reason or a message: %+v", e)
			}
			if s := e.Error(); strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' }) {
				t.Errorf("Error() holds a control character: %q", s)
			}
		}
		seen := map[plan.Ref]bool{}
		for _, o := range res.Objects {
			if o.Name == "" || o.Namespace == "" || o.Source == "" || seen[o.Ref] {
				t.Errorf("object %+v: unnamed, unlocated or loaded twice", o)
			}
			seen[o.Ref] = true
		}
		r := res.Resources
		if n := len(r.Underlays) + len(r.L3VNIs) + len(r.L2VNIs) + len(r.L3Passthroughs) + len(r.Secrets); n != len(res.Objects) {
			t.Errorf("%d objects in Resources, %d in Objects", n, len(res.Objects))
		}
	})
}
