package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/plan"
)

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	if err != nil {
		return 1
	}
	return 0
}

// TestRender checks weft render's contract: the config on stdout, one line per invalid
// resource or unreadable document on stderr (<Kind>/<namespace>/<name>: <field>: <message>,
// <file>: document N (...): <field>: <message>) with the rest still rendered and exit code 2;
// exit code 1 for an unreadable path, a bad flag or a node without an Underlay; file order is
// age order.
func TestRender(t *testing.T) {
	node := plan.Node{Name: "worker-1", Index: 0, Labels: map[string]string{"kubernetes.io/hostname": "worker-1"}}
	bad := writeFile(t, t.TempDir(), "bad.yaml", `apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata:
  name: broken
  namespace: weft-system
spec:
  vni: 130
  mtu: 100
`)
	dir := t.TempDir()
	notYAML := writeFile(t, dir, "notyaml.yaml", "{not: [yaml")
	typos := writeFile(t, dir, "typos.yaml", "apiVersion: network.weft.dev/v1alpha1\nkind: l2vni\nmetadata: {name: a}\nspec: {vni: 301}\n---\n"+
		"apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata: {name: b}\nspec: {VNI: 302}\n---\n"+
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")
	dup := writeFile(t, dir, "dup.yaml", "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata: {name: x, namespace: weft-system}\nspec: {vni: 401}\n---\n"+
		"apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata: {name: x, namespace: weft-system}\nspec: {vni: 402}\n")
	newcomer := writeFile(t, dir, "aaa.yaml", "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata: {name: aaa, namespace: weft-system}\nspec: {vni: 110}\n")
	noUnderlay := t.TempDir()
	writeFile(t, noUnderlay, "l2.yaml", "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata:\n  name: web\nspec:\n  vni: 110\n")

	tests := []struct {
		name        string
		files       []string
		output      string
		code        int
		stdout      []string
		stderr      []string
		stderrLines int // when set, the exact number of stderr lines
		notStdout   []string
		index       int
		emptyStdout bool
	}{
		{name: "examples", files: []string{"../../examples/fabric"}, output: "frr", stdout: []string{"router bgp 64514", "vni 100", "advertise-all-vni"}},
		{name: "kernel plan", files: []string{"../../examples/fabric"}, output: "plan", stdout: []string{"l2vnis:", "bridge: br-pe-110", "vrf: red"}},
		{name: "one bad resource", files: []string{"../../examples/fabric", bad}, output: "frr", code: 2,
			stdout: []string{"router bgp 64514", "vni 100"}, stderr: []string{"L2VNI/weft-system/broken: spec.mtu: "}},
		{name: "not YAML", files: []string{"../../examples/fabric", notYAML}, output: "frr", code: 2,
			stdout: []string{"router bgp 64514"}, stderr: []string{notYAML + ": document 1: line 1: did not find expected ',' or ']'\n"}},
		{name: "typos", files: []string{"../../examples/fabric", typos}, output: "frr", code: 2, stdout: []string{"router bgp 64514"}, stderrLines: 3,
			stderr: []string{typos + ": document 1 (l2vni/default/a): kind: ", typos + ": document 2 (L2VNI/default/b): spec.VNI: unknown field", typos + ": document 3 (ConfigMap/default/c): kind: "}},
		{name: "duplicate: the first copy applies", files: []string{"../../examples/fabric", dup}, output: "plan", code: 2, stderrLines: 1,
			stderr:    []string{dup + ": document 2 (L2VNI/weft-system/x): metadata.name: already defined in " + dup + ": document 1, which comes first"},
			stdout:    []string{"vni: 401"},
			notStdout: []string{"vni: 402"}},
		{name: "a newcomer does not displace an older object", files: []string{"../../examples/fabric", newcomer}, output: "plan", code: 2, stderrLines: 1,
			stdout: []string{"bridge: br-pe-110"}, stderr: []string{"L2VNI/weft-system/aaa: spec.vni: "}},
		{name: "the first file is the oldest", files: []string{newcomer, "../../examples/fabric"}, output: "plan", code: 2, stderrLines: 1,
			stdout: []string{"bridge: br-pe-110"}, stderr: []string{"L2VNI/weft-system/web: spec.vni: "}},
		{name: "node index too large", files: []string{"../../examples/fabric"}, output: "frr", index: 16777216, code: 1, emptyStdout: true},
		{name: "negative node index", files: []string{"../../examples/fabric"}, output: "frr", index: -1, code: 1, emptyStdout: true},
		{name: "missing file", files: []string{"/nonexistent/weft.yaml"}, output: "frr", code: 1, emptyStdout: true},
		{name: "no underlay", files: []string{noUnderlay}, output: "frr", code: 1, emptyStdout: true},
		{name: "bad output", files: []string{"../../examples/fabric"}, output: "json", code: 1, emptyStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			n := node
			n.Index = tt.index
			err := render(&out, &errOut, n, tt.files, tt.output)
			if got := exitCode(err); got != tt.code {
				t.Fatalf("exit code %d (%v), want %d; stderr:\n%s", got, err, tt.code, errOut.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut.String())
				}
			}
			for _, w := range tt.notStdout {
				if strings.Contains(out.String(), w) {
					t.Errorf("stdout holds %q:\n%s", w, out.String())
				}
			}
			if got := strings.Count(errOut.String(), "\n"); tt.stderrLines > 0 && got != tt.stderrLines {
				t.Errorf("%d stderr lines, want %d:\n%s", got, tt.stderrLines, errOut.String())
			}
			if tt.emptyStdout && out.Len() > 0 {
				t.Errorf("stdout must be empty on failure, got:\n%s", out.String())
			}
		})
	}
}

// TestRenderHelp: the help documents the exit codes and that file order is age order.
func TestRenderHelp(t *testing.T) {
	long := renderCmd().Long
	for _, w := range []string{"Exit codes:", "0  every object is valid", "2  some objects", "1  nothing could be rendered", "the one read first wins", `"default"`} {
		if !strings.Contains(long, w) {
			t.Errorf("weft render --help lacks %q", w)
		}
	}
}
