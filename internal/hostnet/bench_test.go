package hostnet

import (
	"testing"

	"github.com/weftnet/weft/internal/plan"
)

// l2Plan is n L2VNIs with Managed host bridges and no VRF, so it runs on this kernel.
func l2Plan(n int) plan.KernelPlan {
	kp := underlayPlan()
	for i := range n {
		kp.L2VNIs = append(kp.L2VNIs, l2vni(uint32(10000+i)))
	}
	return kp
}

func benchApply(b *testing.B, e *env, kp plan.KernelPlan) Result {
	b.Helper()
	res, err := e.a.Apply(b.Context(), kp, e.router, e.host)
	if err != nil {
		b.Fatalf("apply: %v", err)
	}
	return res
}

func reportWrites(b *testing.B, writes int) {
	b.ReportMetric(float64(writes)/float64(b.N), "writes/op")
}

// benchChange times the Apply that goes from one plan to another, b.N times: before each,
// from is applied again untimed, twice, so the change starts from the node's steady state.
// (The pass after a big change reads the namespaces in full once: its events overran the
// watches' queues. That read is the second untimed pass's.)
func benchChange(b *testing.B, e *env, from, to plan.KernelPlan) {
	b.Helper()
	writes := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		benchApply(b, e, from)
		benchApply(b, e, from)
		b.StartTimer()
		writes += benchApply(b, e, to).Writes
	}
	b.StopTimer()
	reportWrites(b, writes)
}

// BenchmarkApplyCold1000 programs 1000 L2VNIs into empty namespaces (target ≤ 10 s).
func BenchmarkApplyCold1000(b *testing.B) {
	e := newEnv(b)
	benchChange(b, e, underlayPlan(), l2Plan(1000))
	// Removed here, not by the namespaces' deletion: that runs in the kernel's background
	// (34 s of bridge teardown under the RTNL lock) and would slow the next benchmark.
	benchApply(b, e, underlayPlan())
}

// BenchmarkApplyAddOne adds one L2VNI on top of 1000 (target ≤ 300 ms).
func BenchmarkApplyAddOne(b *testing.B) {
	e := newEnv(b)
	kp := l2Plan(1000)
	more := kp
	more.L2VNIs = append(append([]plan.L2VNI(nil), kp.L2VNIs...), l2vni(9999))
	benchChange(b, e, kp, more)
	benchApply(b, e, underlayPlan())
}

// BenchmarkApplyNoop1000 re-applies an unchanged plan of 1000 L2VNIs (target ≤ 50 ms, 0 writes).
func BenchmarkApplyNoop1000(b *testing.B) {
	e := newEnv(b)
	kp := l2Plan(1000)
	benchApply(b, e, kp)
	benchApply(b, e, kp) // the steady state (see benchChange)
	writes, reads := 0, 0
	b.ResetTimer()
	for range b.N {
		res := benchApply(b, e, kp)
		writes += res.Writes
		reads += res.Reads
	}
	b.StopTimer()
	reportWrites(b, writes)
	b.ReportMetric(float64(reads)/float64(b.N), "fullreads/op")
	if writes != 0 {
		b.Errorf("no-op apply wrote %d times", writes)
	}
	benchApply(b, e, underlayPlan())
}

// BenchmarkApplyRemove1000 removes 1000 L2VNIs (target ≤ 20 s).
func BenchmarkApplyRemove1000(b *testing.B) {
	e := newEnv(b)
	benchChange(b, e, l2Plan(1000), underlayPlan())
}

// BenchmarkApplyNoop1000Uncached is BenchmarkApplyNoop1000 with a full read of both
// namespaces every time (Applier.NoCache): the cost when the event cache cannot help.
func BenchmarkApplyNoop1000Uncached(b *testing.B) {
	e := newEnv(b)
	e.a.NoCache = true
	benchNoop(b, e, l2Plan(1000))
}

// benchNoop times re-applying kp, applied once untimed first, and fails on any write; it
// removes everything afterwards.
func benchNoop(b *testing.B, e *env, kp plan.KernelPlan) {
	b.Helper()
	benchApply(b, e, kp)
	benchApply(b, e, kp) // the steady state (see benchChange)
	writes := 0
	b.ResetTimer()
	for range b.N {
		writes += benchApply(b, e, kp).Writes
	}
	b.StopTimer()
	reportWrites(b, writes)
	if writes != 0 {
		b.Errorf("no-op apply wrote %d times", writes)
	}
	benchApply(b, e, underlayPlan())
}
