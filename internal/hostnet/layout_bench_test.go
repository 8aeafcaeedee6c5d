package hostnet

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/umltest"
)

// svdL2Plan is l2Plan on the single-VXLAN-device layout.
func svdL2Plan(n int) plan.KernelPlan {
	vnis := make([]uint32, n)
	for i := range vnis {
		vnis[i] = uint32(10000 + i)
	}
	return svdPlan(vnis...)
}

// BenchmarkLayouts measures 1000 L2VNIs with Managed host bridges in both kernel layouts, the
// per-VNI one (a bridge and a VXLAN device per VNI) and the single VXLAN device, side by side
// in the same kernel: cold apply, one more, a no-op pass and removal. This machine's kernel
// has no bridge VLAN filtering, so here it runs inside user-mode-linux and prints the guest's
// figures; UML's are not this kernel's (docs/design.md compares them).
func BenchmarkLayouts(b *testing.B) {
	if !HasSingleVXLAN() {
		layoutsInUML(b)
		return
	}
	requireRoot(b)
	layouts := []struct {
		name string
		plan func(int) plan.KernelPlan
		more func(plan.KernelPlan) plan.KernelPlan
	}{
		{"per-vni", l2Plan, func(kp plan.KernelPlan) plan.KernelPlan {
			kp.L2VNIs = append(kp.L2VNIs[:len(kp.L2VNIs):len(kp.L2VNIs)], l2vni(9999))
			return kp
		}},
		{"svd", svdL2Plan, func(kp plan.KernelPlan) plan.KernelPlan {
			one := svdPlan(9999).L2VNIs[0]
			kp.L2VNIs = append(kp.L2VNIs[:len(kp.L2VNIs):len(kp.L2VNIs)], one)
			return kp
		}},
	}
	for _, l := range layouts {
		kp := l.plan(1000)
		b.Run(l.name+"/cold", func(b *testing.B) {
			e := newEnv(b)
			benchChange(b, e, underlayPlan(), kp)
			benchApply(b, e, underlayPlan()) // see BenchmarkApplyCold1000
		})
		b.Run(l.name+"/add-one", func(b *testing.B) {
			e := newEnv(b)
			benchChange(b, e, kp, l.more(kp))
			benchApply(b, e, underlayPlan())
		})
		b.Run(l.name+"/noop", func(b *testing.B) { benchNoop(b, newEnv(b), kp) })
		b.Run(l.name+"/remove", func(b *testing.B) {
			benchChange(b, newEnv(b), kp, underlayPlan())
		})
	}
}

// layoutsInUML runs BenchmarkLayouts in a UML guest, with this run's -test.benchtime, and
// prints its result lines. The testing package calls a benchmark without sub-benchmarks more
// than once (b.N = 1 first); the guest runs on the first call only.
func layoutsInUML(b *testing.B) {
	if err := umltest.Available(); err != nil {
		b.Skipf("SKIPPED, NOT RUN: this kernel has no bridge VLAN filtering and %v", err)
	}
	b.ReportMetric(0, "ns/op") // the figures are the guest's, printed below
	if layoutsRan {
		return
	}
	layoutsRan = true
	benchtime := "1x"
	if f := flag.Lookup("test.benchtime"); f != nil && strings.HasSuffix(f.Value.String(), "x") {
		benchtime = f.Value.String()
	}
	out, err := umltest.Run(b.Context(), umltest.Config{
		Modules: []string{"vrf", "bridge", "vxlan", "veth", "8021q"}, MemoryMB: 2048, Timeout: 60 * time.Minute, Env: umltest.ForwardedEnv(),
	}, os.Args[0], "-test.run", "^$", "-test.bench", "^BenchmarkLayouts$", "-test.benchtime", benchtime)
	if err != nil || out.ExitCode != 0 {
		b.Fatalf("BenchmarkLayouts in UML: exit %d, %v:\n%s", out.ExitCode, err, out.Output)
	}
	for _, line := range strings.Split(string(out.Output), "\n") {
		if strings.HasPrefix(line, "BenchmarkLayouts/") {
			fmt.Println("UML " + line)
		}
	}
}

// layoutsRan is set once the guest has run (layoutsInUML).
var layoutsRan bool
