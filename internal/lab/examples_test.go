package lab

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite examples/*.yaml and testdata/golden from the lab's objects and configurations")

// TestExamplesAreTheLabsObjects: the YAML files at the top of examples/ are exactly the
// objects a Kubernetes lab of DefaultNodes nodes applies, so `kubectl apply -f examples/` in
// that lab (what the e2e suite runs) changes nothing it should not. examples/fabric/ (a
// production fabric) is not the lab's and is not compared.
func TestExamplesAreTheLabsObjects(t *testing.T) {
	dir := filepath.Join("..", "..", "examples")
	s := plannedLab("lab", DefaultNodes, false)
	want := s.clusterFiles(s.Clusters[0])
	if *update {
		for name, body := range want {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.IsDir() || !manifest.IsManifest(e.Name()) {
			continue
		}
		got = append(got, e.Name())
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if w, ok := want[e.Name()]; !ok {
			t.Errorf("examples/%s is not one of the lab's objects (go test ./internal/lab -run %s -update rewrites the lab's)", e.Name(), t.Name())
		} else if string(data) != w {
			t.Errorf("examples/%s differs from the lab's object (go test ./internal/lab -run %s -update):\n--- examples ---\n%s--- lab ---\n%s", e.Name(), t.Name(), data, w)
		}
	}
	for name := range want {
		if !slices.Contains(got, name) {
			t.Errorf("examples/ lacks the lab's %s (go test ./internal/lab -run %s -update)", name, t.Name())
		}
	}
}

// TestFabricExamplesAreTheLabsObjects: examples/fabric/<shape>/ holds, for each fabric shape
// but the default (whose objects are examples/ itself), what a node of a lab of that shape
// is given: node1's Underlay and the Secrets it refers to, exactly as the lab writes them, so
// a user can copy the Underlay of a shape that the e2e suite runs.
func TestFabricExamplesAreTheLabsObjects(t *testing.T) {
	for _, fabric := range Fabrics {
		if fabric == FabricIBGPRR {
			continue
		}
		dir := filepath.Join("..", "..", "examples", "fabric", fabric)
		s := plannedFrom(Options{Name: "lab", Nodes: DefaultNodes, Clusters: 1, Fabric: fabric})
		want := map[string]string{}
		for name, body := range s.clusterFiles(s.Clusters[0]) {
			if name == "underlay-node1.yaml" || strings.HasPrefix(name, "secret-") {
				want[name] = body
			}
		}
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, body := range want {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		got := map[string]string{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%v (go test ./internal/lab -run %s -update writes it)", err, t.Name())
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			got[e.Name()] = string(data)
		}
		if !maps.Equal(got, want) {
			t.Errorf("examples/fabric/%s differs from the lab's objects (go test ./internal/lab -run %s -update): files %v, want %v", fabric, t.Name(), slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	}
}
