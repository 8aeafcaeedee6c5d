package hostnet

import (
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/netnamespace"
	"github.com/weftnet/weft/internal/plan"
)

// TestRouterNamespace: Apply creates the named router namespace once (it outlives the
// Applier), brings lo up, sets the router sysctls, and converges the VTEP addresses on lo
// without touching the loopback addresses.
func TestRouterNamespace(t *testing.T) {
	e := newEnv(t)
	kp := plan.KernelPlan{Underlay: underlay()}
	if res := e.apply(t, kp); !res.NamespaceCreated {
		t.Error("router netns not reported as created")
	}
	if _, err := os.Stat(NetnsDir + "/" + e.router.Name); err != nil {
		t.Fatalf("router netns is not persistent: %v", err)
	}
	lo := mustLink(t, e.rh, "lo")
	isUp(t, lo)
	for _, p := range kp.Underlay.VTEPs {
		if !hasAddr(t, e.rh, lo, p) {
			t.Errorf("lo lacks vtep %s", p)
		}
	}
	h, err := e.router.open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	err = netnamespace.DoHandle(h, func() error {
		for _, s := range routerSysctls {
			b, err := os.ReadFile("/proc/sys/" + s.key)
			if os.IsNotExist(err) {
				continue // warned about, not failed
			}
			if err != nil {
				return err
			}
			if got := strings.TrimSpace(string(b)); got != s.value {
				t.Errorf("sysctl %s = %s, want %s", s.key, got, s.value)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A second Applier (weft restarted) finds the namespace and drops the second VTEP.
	kp.Underlay.VTEPs = kp.Underlay.VTEPs[:1]
	res, err := (&Applier{StateDir: e.a.StateDir, NoCache: true}).Apply(t.Context(), kp, e.router, e.host)
	if err != nil {
		t.Fatal(err)
	}
	if res.NamespaceCreated || res.Writes != 1 || res.Deleted != 1 {
		t.Errorf("restart apply: %+v; want the namespace kept and one address removed", res)
	}
	if hasAddr(t, e.rh, lo, underlay().VTEPs[1]) {
		t.Error("dropped vtep still on lo")
	}
	for _, p := range []string{"127.0.0.1/8", "::1/128"} {
		if !hasAddr(t, e.rh, lo, netip.MustParsePrefix(p)) {
			t.Errorf("loopback address %s was removed", p)
		}
	}
}
