package lab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frrtest"
)

// TestFabricRouterGetsItsVRFConfig: a fabric router's integrated configuration reaches every
// daemon on both FRR versions, including what FRR 10's mgmtd owns (a VRF's "vni"): without
// it the border would import no type-5 route into the tenant's VRF.
func TestFabricRouterGetsItsVRFConfig(t *testing.T) {
	for _, v := range frrtest.Versions {
		t.Run("FRR"+v, func(t *testing.T) {
			inst := frrtest.Version(t, v)
			frrtest.Require(t, inst)
			ns := fmt.Sprintf("weft-labtest-%d-%s", os.Getpid(), v)
			if out, err := exec.Command("ip", "netns", "add", ns).CombinedOutput(); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			t.Cleanup(func() {
				if err := stopFRR(ns); err != nil {
					t.Error(err)
				}
				_ = exec.Command("ip", "netns", "del", ns).Run()
			})
			ctx := context.Background()
			conf := "frr defaults traditional\n!\nvrf red\n vni 100\nexit-vrf\n!\nrouter bgp 65000\n bgp router-id 10.0.0.1\nexit\n!\n"
			if err := startFRR(ctx, inst, ns, conf, speakerDaemons(inst)); err != nil {
				t.Fatal(err)
			}
			out, err := run(ctx, inst.Vtysh, "-N", ns, "-c", "show running-config")
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"vrf red\n vni 100\nexit-vrf", "router bgp 65000"} {
				if !strings.Contains(out, want) {
					t.Errorf("FRR %s's running configuration lacks %q:\n%s", v, want, out)
				}
			}
		})
	}
}
