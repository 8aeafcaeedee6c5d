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
// resource on stderr (<Kind>/<name>: <field>: <message>) with the rest still rendered and
// exit code 2, and exit code 1 for unreadable input or a node without an Underlay.
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
	noUnderlay := t.TempDir()
	writeFile(t, noUnderlay, "l2.yaml", "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata:\n  name: web\nspec:\n  vni: 110\n")

	tests := []struct {
		name        string
		files       []string
		output      string
		code        int
		stdout      []string
		stderr      []string
		emptyStdout bool
	}{
		{name: "examples", files: []string{"../../examples/fabric"}, output: "frr", stdout: []string{"router bgp 64514", "vni 100", "advertise-all-vni"}},
		{name: "kernel plan", files: []string{"../../examples/fabric"}, output: "plan", stdout: []string{"l2vnis:", "bridge: br-pe-110", "vrf: red"}},
		{name: "one bad resource", files: []string{"../../examples/fabric", bad}, output: "frr", code: 2,
			stdout: []string{"router bgp 64514", "vni 100"}, stderr: []string{"L2VNI/weft-system/broken: spec.mtu: "}},
		{name: "missing file", files: []string{"/nonexistent/weft.yaml"}, output: "frr", code: 1, emptyStdout: true},
		{name: "no underlay", files: []string{noUnderlay}, output: "frr", code: 1, emptyStdout: true},
		{name: "bad output", files: []string{"../../examples/fabric"}, output: "json", code: 1, emptyStdout: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := render(&out, &errOut, node, tt.files, tt.output)
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
			if tt.emptyStdout && out.Len() > 0 {
				t.Errorf("stdout must be empty on failure, got:\n%s", out.String())
			}
		})
	}
}
