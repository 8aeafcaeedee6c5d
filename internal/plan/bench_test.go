package plan

import (
	"fmt"
	"testing"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/frr"
)

// scaleResources is the reference workload of TARGETS.md: 1 Underlay (2 neighbors), 100
// L3VNIs with host sessions, 1000 L2VNIs (100 of them with an anycast gateway).
func scaleResources() Resources {
	r := validResources()
	r.L3VNIs, r.L2VNIs, r.L3Passthroughs = nil, nil, nil
	for i := 0; i < 100; i++ {
		r.L3VNIs = append(r.L3VNIs, v1alpha1.L3VNI{
			ObjectMeta: meta(fmt.Sprintf("tenant-%d", i)),
			Spec: v1alpha1.L3VNISpec{
				VRF: fmt.Sprintf("t%d", i), VNI: int64(10000 + i),
				ImportRouteTargets: []string{fmt.Sprintf("64514:%d", 10000+i)}, ExportRouteTargets: []string{fmt.Sprintf("64514:%d", 10000+i)},
				HostSession: &v1alpha1.HostSession{
					HostASN:   ptr(int64(64515)),
					LocalCIDR: v1alpha1.LocalCIDR{IPv4: fmt.Sprintf("10.%d.%d.0/24", 100+i/200, i%200)},
					ToReceive: &v1alpha1.RouteFilter{Mode: v1alpha1.FilterFiltered, Prefixes: []v1alpha1.PrefixMatch{{Prefix: "10.0.0.0/8", LE: ptr(int32(32))}}},
				},
			},
		})
	}
	for i := 0; i < 1000; i++ {
		l2 := v1alpha1.L2VNI{ObjectMeta: meta(fmt.Sprintf("seg-%d", i)), Spec: v1alpha1.L2VNISpec{VNI: int64(20000 + i)}}
		if i < 100 {
			l2.Spec.RoutingDomain = &v1alpha1.RoutingDomain{L3VNI: fmt.Sprintf("tenant-%d", i)}
			l2.Spec.GatewayIPs = []string{fmt.Sprintf("172.%d.%d.1/24", 16+i/200, i%200)}
		}
		r.L2VNIs = append(r.L2VNIs, l2)
	}
	return r
}

func BenchmarkBuild(b *testing.B) {
	r := scaleResources()
	b.ResetTimer()
	for b.Loop() {
		if _, errs := Build(r, testNode); len(errs) > 0 {
			b.Fatal(errs)
		}
	}
}

// BenchmarkBuildRender is API → FRR model → frr.conf for one node at the reference scale
// (TARGETS.md: ≤ 1 ms aimed, ≤ 20 ms required).
func BenchmarkBuildRender(b *testing.B) {
	r := scaleResources()
	pw := Passwords(r.Secrets)
	b.ResetTimer()
	for b.Loop() {
		p, errs := Build(r, testNode)
		if len(errs) > 0 {
			b.Fatal(errs)
		}
		if _, err := frr.Render(&p.FRR, pw); err != nil {
			b.Fatal(err)
		}
	}
}
