package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", `apiVersion: network.weft.dev/v1alpha1
kind: Underlay
metadata: {name: fabric}
spec:
  asn: 64514
  neighbors: [{address: 192.168.11.1, type: External}]
  tunnelEndpoint: {cidrs: [100.65.0.0/24]}
---
# a comment-only document
---
apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata: {name: web}
spec: {vni: 110}
---
apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata: {name: typo}
spec: {vnii: 111}
---
apiVersion: v1
kind: Secret
metadata: {name: pw}
stringData: {password: abc}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: other}
`)
	write("b.json", `{"apiVersion":"network.weft.dev/v1alpha1","kind":"L3VNI","metadata":{"name":"red"},"spec":{"vrf":"red","vni":100}}`)
	write("notes.txt", "not yaml: [")
	res, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := res.Resources
	if len(r.Underlays) != 1 || len(r.L2VNIs) != 1 || len(r.L3VNIs) != 1 || len(r.Secrets) != 1 {
		t.Fatalf("decoded %d underlays, %d l2, %d l3, %d secrets", len(r.Underlays), len(r.L2VNIs), len(r.L3VNIs), len(r.Secrets))
	}
	if r.Underlays[0].Spec.ASN != 64514 || r.L2VNIs[0].Spec.VNI != 110 || r.Secrets[0].StringData["password"] != "abc" {
		t.Errorf("wrong values: %+v", r)
	}
	if len(res.Invalid) != 2 || res.Invalid[0].Name != "typo" || res.Invalid[0].Kind != "L2VNI" || !strings.Contains(res.Invalid[0].Message, "unknown field") ||
		res.Invalid[0].Field != "spec.vnii" || res.Invalid[1].Kind != "ConfigMap" || res.Invalid[1].Field != "kind" {
		t.Errorf("Invalid = %+v", res.Invalid)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("/nonexistent/weft"); err == nil {
		t.Error("missing path: no error")
	}
	if _, err := Parse("bad.yaml", []byte("apiVersion: [unclosed")); err == nil {
		t.Error("broken YAML: no error")
	}
}

func TestIsManifest(t *testing.T) {
	for name, want := range map[string]bool{
		"l2vni.yaml": true, "a.yml": true, "b.json": true,
		".l2vni.yaml": false, ".tmp-3001": false, "l2vni.yaml~": false, "notes.txt": false, "4913": false,
	} {
		if got := IsManifest(name); got != want {
			t.Errorf("IsManifest(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestCacheLoad: the cache gives what Load gives, re-reads a file that changed, drops one
// that is gone, and parses an unchanged file only once.
func TestCacheLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(file, body string) {
		t.Helper()
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, file)); err != nil {
			t.Fatal(err)
		}
	}
	names := func(r Result) []string {
		var out []string
		for _, x := range r.Resources.L2VNIs {
			out = append(out, fmt.Sprintf("%s=%d", x.Name, x.Spec.VNI))
		}
		return out
	}
	var c Cache
	check := func(want ...string) {
		t.Helper()
		got, err := c.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names(got), want) || !slices.Equal(names(plain), want) {
			t.Fatalf("cache %v, Load %v, want %v", names(got), names(plain), want)
		}
	}
	write("a.yaml", l2("a", 1))
	write("b.yaml", l2("b", 2))
	check("a=1", "b=2")
	cachedB := c.files[filepath.Join(dir, "b.yaml")]
	write("a.yaml", l2("a", 10)) // changed: re-read
	check("a=10", "b=2")
	if got := c.files[filepath.Join(dir, "b.yaml")]; got.ino != cachedB.ino || &got.res.Resources.L2VNIs[0] != &cachedB.res.Resources.L2VNIs[0] {
		t.Error("the unchanged b.yaml was parsed again")
	}
	if err := os.Remove(filepath.Join(dir, "b.yaml")); err != nil {
		t.Fatal(err)
	}
	check("a=10")
	if _, ok := c.files[filepath.Join(dir, "b.yaml")]; ok {
		t.Error("a removed file stays in the cache")
	}
	// A file that is not YAML is reported and does not stop the others; once fixed, it is
	// read again and its error is gone.
	write("b.yaml", l2("b", 2))
	write("a.yaml", "{not: [yaml")
	got, err := c.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(names(got), []string{"b=2"}) || len(got.Invalid) != 1 || !strings.HasSuffix(got.Invalid[0].Source, "a.yaml: document 1") {
		t.Fatalf("with a broken a.yaml: %v, Invalid %v", names(got), got.Invalid)
	}
	write("a.yaml", l2("a", 11))
	check("a=11", "b=2")
	if got, _ := c.Load(dir); len(got.Invalid) != 0 {
		t.Errorf("the fixed file is still reported: %v", got.Invalid)
	}
}

// TestParseError: Parse's error is for documents that are not YAML at all; a document that
// is YAML but not a valid object is only in Invalid.
func TestParseError(t *testing.T) {
	for body, wantErr := range map[string]bool{
		"apiVersion: [unclosed":                                           true,
		"apiVersion: v1\nkind: ConfigMap\n":                               false,
		"{not: [yaml\n---\napiVersion: v1\n":                              true,
		"apiVersion: v1\nkind: Secret\nmetadata: {name: a}\ndata: {a: 1}": false,
		"apiVersion: v1\nkind: Secret\n\tx: 1":                            true,
	} {
		res, err := Parse("f.yaml", []byte(body))
		if (err != nil) != wantErr || len(res.Invalid) == 0 {
			t.Errorf("%q: error %v, Invalid %v; want an error: %v", body, err, res.Invalid, wantErr)
		}
	}
}
