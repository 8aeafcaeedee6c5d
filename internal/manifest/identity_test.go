package manifest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/plan"
)

// TestDuplicates: an object defined twice (same kind, namespace and name), in two files or
// in one, is rejected in every copy with a Conflict naming where the others are, and the
// other objects load.
func TestDuplicates(t *testing.T) {
	other := l2("other", 300)
	for _, tt := range []struct {
		name    string
		files   map[string]string
		invalid []string
		loaded  []string
	}{
		{name: "two files", files: map[string]string{"a.yaml": l2("web", 110), "b.yaml": l2("web", 111), "c.yaml": other},
			invalid: []string{
				"cfg/a.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/b.yaml: document 1; no copy is applied",
				"cfg/b.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 1; no copy is applied",
			},
			loaded: []string{"L2VNI/default/other"}},
		{name: "one file", files: map[string]string{"a.yaml": l2("web", 110) + "---\n" + other + "---\n" + l2("web", 110)},
			invalid: []string{
				"cfg/a.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 3; no copy is applied",
				"cfg/a.yaml: document 3 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 1; no copy is applied",
			},
			loaded: []string{"L2VNI/default/other"}},
		{name: "default namespace spelt out", files: map[string]string{"a.yaml": l2("web", 110), "b.yaml": strings.Replace(l2("web", 110), "name: web", "name: web\n  namespace: default", 1)},
			invalid: []string{
				"cfg/a.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/b.yaml: document 1; no copy is applied",
				"cfg/b.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 1; no copy is applied",
			}},
		{name: "three copies", files: map[string]string{"a.yaml": l2("web", 110), "b.yaml": l2("web", 110), "c.yaml": l2("web", 110)},
			invalid: []string{
				"cfg/a.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/b.yaml: document 1 and cfg/c.yaml: document 1; no copy is applied",
				"cfg/b.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 1 and cfg/c.yaml: document 1; no copy is applied",
				"cfg/c.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 1 and cfg/b.yaml: document 1; no copy is applied",
			}},
		{name: "secrets", files: map[string]string{"a.yaml": secret("pw", "t1"), "b.yaml": secret("pw", "t1") + "---\n" + secret("pw", "t2")},
			invalid: []string{
				"cfg/a.yaml: document 1 (Secret/t1/pw): metadata.name: also defined in cfg/b.yaml: document 1; no copy is applied",
				"cfg/b.yaml: document 1 (Secret/t1/pw): metadata.name: also defined in cfg/a.yaml: document 1; no copy is applied",
			},
			loaded: []string{"Secret/t2/pw"}},
		{name: "in a List", files: map[string]string{"a.yaml": "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(strings.TrimSpace(l2("web", 110)), "\n", "\n  "), "b.yaml": l2("web", 110)},
			invalid: []string{
				"cfg/a.yaml: document 1 item 1 (L2VNI/default/web): metadata.name: also defined in cfg/b.yaml: document 1; no copy is applied",
				"cfg/b.yaml: document 1 (L2VNI/default/web): metadata.name: also defined in cfg/a.yaml: document 1 item 1; no copy is applied",
			}},
		{name: "other namespaces and kinds are not duplicates", files: map[string]string{
			"a.yaml": l2("web", 110), "b.yaml": strings.Replace(l2("web", 111), "name: web", "name: web\n  namespace: t2", 1),
			"c.yaml": "apiVersion: network.weft.dev/v1alpha1\nkind: L3VNI\nmetadata: {name: web}\nspec: {vrf: web, vni: 100}\n", "d.yaml": secret("web", "default")},
			loaded: []string{"L2VNI/default/web", "L2VNI/t2/web", "L3VNI/default/web", "Secret/default/web"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := loadDirWith(t, &Cache{}, tt.files)
			checkInvalid(t, res, tt.invalid)
			for _, e := range res.Invalid {
				if e.Reason != plan.ReasonConflict || e.Field != "metadata.name" {
					t.Errorf("%s: reason %s, field %s", e.Error(), e.Reason, e.Field)
				}
			}
			checkLoaded(t, res, tt.loaded)
			r := res.Resources
			if n := len(r.Underlays) + len(r.L3VNIs) + len(r.L2VNIs) + len(r.L3Passthroughs) + len(r.Secrets); n != len(tt.loaded) {
				t.Errorf("Resources hold %d objects, want %d: %+v", n, len(tt.loaded), r)
			}
		})
	}
}

// TestDuplicatesFirstWins: where load order is age order (Load, weft render), the first copy
// of an object defined twice is applied and every later copy is rejected, naming the first.
func TestDuplicatesFirstWins(t *testing.T) {
	res := loadDir(t, map[string]string{"a.yaml": l2("web", 110), "b.yaml": l2("web", 111), "c.yaml": l2("web", 112) + "---\n" + l2("other", 300)})
	want := []string{
		"cfg/b.yaml: document 1 (L2VNI/default/web): metadata.name: already defined in cfg/a.yaml: document 1, which comes first and is applied; this copy is not",
		"cfg/c.yaml: document 1 (L2VNI/default/web): metadata.name: already defined in cfg/a.yaml: document 1, which comes first and is applied; this copy is not",
	}
	checkInvalid(t, res, want)
	checkLoaded(t, res, []string{"L2VNI/default/web", "L2VNI/default/other"})
	if l := res.Resources.L2VNIs; len(l) != 2 || l[0].Spec.VNI != 110 {
		t.Errorf("applied %+v, want a.yaml's web (VNI 110) and other", l)
	}
}

// TestList: a v1 List is read as its items, each located as "document N item M"; an item
// that cannot be read fails alone.
func TestList(t *testing.T) {
	doc := `apiVersion: v1
kind: List
metadata: {}
items:
- {apiVersion: network.weft.dev/v1alpha1, kind: L2VNI, metadata: {name: a}, spec: {vni: 1}}
- {apiVersion: network.weft.dev/v1alpha1, kind: L2VNI, metadata: {name: b}, spec: {vni: "2"}}
- {apiVersion: network.weft.dev/v1alpha1, kind: L2VNI, metadata: {name: c}, spec: {vni: 3, vni: 4}}
- {apiVersion: v1, kind: List, items: []}
- 5
- {apiVersion: v1, kind: Secret, metadata: {name: pw, namespace: t1}, stringData: {password: x}}
---
apiVersion: v1
kind: List
itemz: []
`
	res, _ := Parse("l.yaml", []byte(doc))
	want := []string{
		"l.yaml: document 1 item 2 (L2VNI/default/b): spec.vni: want an integer, got a string",
		"l.yaml: document 1 item 3 (L2VNI/default/c): spec.vni: duplicate key (lines 7 and 7)",
		`l.yaml: document 1 item 4: kind: a List inside a List is not read`,
		"l.yaml: document 1 item 5: a document must be an object (apiVersion, kind, metadata, spec), not a number",
		`l.yaml: document 2: itemz: unknown field; did you mean "items"?`,
	}
	checkInvalid(t, res, want)
	checkLoaded(t, res, []string{"L2VNI/default/a", "Secret/t1/pw"})
	if res.Objects[0].Source != "l.yaml: document 1 item 1" {
		t.Errorf("Source %q", res.Objects[0].Source)
	}
}

// TestNamespaceDefault: an object without metadata.namespace is in "default", as kubectl
// apply with the default context puts it.
func TestNamespaceDefault(t *testing.T) {
	res, err := Parse("a.yaml", []byte(l2("web", 110)+"---\n"+secret("pw", "")+"---\n"+strings.Replace(l2("db", 120), "name: db", "name: db\n  namespace: t1", 1)))
	if err != nil {
		t.Fatal(err)
	}
	r := res.Resources
	if r.L2VNIs[0].Namespace != "default" || r.Secrets[0].Namespace != "default" || r.L2VNIs[1].Namespace != "t1" {
		t.Errorf("namespaces %q %q %q, want default default t1", r.L2VNIs[0].Namespace, r.Secrets[0].Namespace, r.L2VNIs[1].Namespace)
	}
}

// TestStampLoadOrder: with load order as age order, a newcomer that sorts first by name
// ("aaa") does not take the VNI of the object loaded before it; a timestamp written in a
// file is kept.
func TestStampLoadOrder(t *testing.T) {
	underlay := "apiVersion: network.weft.dev/v1alpha1\nkind: Underlay\nmetadata: {name: u}\nspec:\n  asn: 64514\n  neighbors: [{address: 192.168.11.1, type: External}]\n  tunnelEndpoint: {cidrs: [100.65.0.0/24]}\n"
	res := loadDir(t, map[string]string{"0-underlay.yaml": underlay, "1-web.yaml": l2("web", 110), "2-aaa.yaml": l2("aaa", 110),
		"3-old.yaml": strings.Replace(l2("old", 120), "name: old", "name: old\n  creationTimestamp: \"2020-01-01T00:00:00Z\"", 1)})
	epoch := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	res.StampLoadOrder(epoch)
	byName := map[string]time.Time{}
	for _, o := range res.Resources.L2VNIs {
		byName[o.Name] = o.CreationTimestamp.Time
	}
	// A timestamp written in a file is replaced: "old" cannot backdate itself.
	if !byName["web"].Equal(epoch.Add(time.Second)) || !byName["aaa"].Equal(epoch.Add(2*time.Second)) || !byName["old"].Equal(epoch.Add(3*time.Second)) {
		t.Errorf("timestamps %v", byName)
	}
	p, errs := plan.Build(res.Resources, plan.Node{Name: "n1", Index: 0})
	if !slices.Contains(p.Applied, plan.Ref{Kind: "L2VNI", Namespace: "default", Name: "web"}) {
		t.Errorf("web is not applied: %v", p.Applied)
	}
	if len(errs) != 1 || errs[0].Name != "aaa" || errs[0].Reason != plan.ReasonConflict {
		t.Errorf("errors %v, want aaa in conflict", errs)
	}
}
