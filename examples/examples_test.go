// Package examples holds YAML a user can apply; its test proves every file is valid.
package examples

import (
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
)

func TestExamplesRender(t *testing.T) {
	loaded, err := manifest.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded.Invalid) > 0 || len(loaded.Ignored) > 0 {
		t.Fatalf("invalid: %v ignored: %v", loaded.Invalid, loaded.Ignored)
	}
	for _, idx := range []int{0, 1, 7} {
		p, errs := plan.Build(loaded.Resources, plan.Node{Name: "worker-1", Index: idx})
		if len(errs) > 0 {
			t.Fatalf("node index %d: %v", idx, errs)
		}
		if len(p.Applied) != 4 {
			t.Errorf("applied %v, want all 4 resources", p.Applied)
		}
		conf, err := frr.Render(&p.FRR, plan.Passwords(loaded.Resources.Secrets))
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"router bgp 64514", "vni 100", "advertise-all-vni", "network 192.170.1.0/24", "password change-me-0123"} {
			if !strings.Contains(conf, want) {
				t.Errorf("rendered config lacks %q:\n%s", want, conf)
			}
		}
	}
}
