package frr

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/testenv/linediff"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current templates")

// scenario is one golden test input: a configuration and the secrets its neighbors refer to.
type scenario struct {
	Config  Config `json:"config"`
	Secrets []struct {
		Ref   SecretRef `json:"ref"`
		Value string    `json:"value"`
	} `json:"secrets,omitempty"`
}

// scenarioNames lists testdata/*.json without extension, sorted.
func scenarioNames(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = strings.TrimSuffix(filepath.Base(f), ".json")
	}
	return names
}

func loadScenario(t testing.TB, name string) (*Config, SecretMap) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc scenario
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		t.Fatalf("decode %s.json: %v", name, err)
	}
	secrets := SecretMap{}
	for _, s := range sc.Secrets {
		secrets[s.Ref] = s.Value
	}
	return &sc.Config, secrets
}

func goldenPath(name string) string { return filepath.Join("testdata", name+".golden") }

// TestRenderGolden renders every scenario and compares it with its golden file; -update
// rewrites the golden files. Every golden file must also pass CheckShape.
func TestRenderGolden(t *testing.T) {
	names := scenarioNames(t)
	if len(names) < 22 {
		t.Fatalf("only %d scenarios in testdata, want at least 22", len(names))
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			cfg, secrets := loadScenario(t, name)
			got, err := Render(cfg, secrets)
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			again, err := Render(cfg, secrets)
			if err != nil || again != got {
				t.Fatalf("render is not deterministic (err %v)", err)
			}
			if err := CheckShape(got); err != nil {
				t.Fatalf("rendered config fails the shape check: %v\n%s", err, got)
			}
			if *update {
				if err := os.WriteFile(goldenPath(name), []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath(name))
			if err != nil {
				t.Fatalf("%v (run go test ./internal/frr -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("rendered config differs from %s (run with -update after checking):\n%s", goldenPath(name), lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff is a small, readable diff: the first differing line.
func lineDiff(want, got string) string {
	n, w, g := linediff.First(want, got, "")
	if n == 0 {
		return "(no line differs; trailing newline?)"
	}
	return "line " + strconv.Itoa(n) + ":\n  want " + quote(w) + "\n  got  " + quote(g)
}

// u32p points at v, for the model's optional numbers.
func u32p(v uint32) *uint32 { return &v }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
