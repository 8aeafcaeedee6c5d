// Package examples holds YAML a user can apply; its test proves every file is valid.
// The files at the top are the Kubernetes lab's objects (`kubectl apply -f examples/` in
// `weft lab up --kubernetes`); fabric/ describes a production fabric.
package examples

import (
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
)

// render loads dir, builds node's plan and renders it; every resource must load and apply.
func render(t *testing.T, dir string, node plan.Node, wantApplied int) string {
	t.Helper()
	loaded, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Invalid) > 0 {
		t.Fatalf("%s: invalid: %v", dir, loaded.Invalid)
	}
	p, errs := plan.Build(loaded.Resources, node)
	if len(errs) > 0 {
		t.Fatalf("%s, node %s index %d: %v", dir, node.Name, node.Index, errs)
	}
	if len(p.Applied) != wantApplied {
		t.Errorf("%s, node %s: applied %v, want %d resources", dir, node.Name, p.Applied, wantApplied)
	}
	conf, err := frr.Render(&p.FRR, plan.Passwords(loaded.Resources.Secrets))
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

func TestFabricExamplesRender(t *testing.T) {
	for _, idx := range []int{0, 1, 7} {
		conf := render(t, "fabric", plan.Node{Name: "worker-1", Index: idx}, 4)
		for _, want := range []string{"router bgp 64514", "vni 100", "advertise-all-vni", "network 192.170.1.0/24", "password change-me-0123"} {
			if !strings.Contains(conf, want) {
				t.Errorf("rendered config lacks %q:\n%s", want, conf)
			}
		}
	}
}

// TestLabExamplesRender: each lab node gets its own Underlay and the segment.
func TestLabExamplesRender(t *testing.T) {
	for i, name := range []string{"node1", "node2", "node3"} {
		node := plan.Node{Name: name, Index: i, Labels: map[string]string{"kubernetes.io/hostname": name}}
		conf := render(t, ".", node, 2)
		for _, want := range []string{"router bgp 65000", "advertise-all-vni", "neighbor 10.0." + name[4:] + ".0 remote-as internal"} {
			if !strings.Contains(conf, want) {
				t.Errorf("%s: rendered config lacks %q:\n%s", name, want, conf)
			}
		}
	}
}
