package agent

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// fakeZebra knows the addresses in have; a Reannounce of the kernel teaches it the announced
// ones unless deaf is set.
type fakeZebra struct {
	mu     sync.Mutex
	have   map[string][]netip.Prefix
	deaf   bool
	reanns []map[string][]netip.Prefix
	// gone are devices the kernel no longer has: Reannounce reports their addresses absent.
	gone map[string]bool
	// reads counts InterfaceAddrs calls.
	reads int
}

func (z *fakeZebra) InterfaceAddrs(context.Context) (map[string][]netip.Prefix, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.reads++
	out := map[string][]netip.Prefix{}
	for k, v := range z.have {
		out[k] = slices.Clone(v)
	}
	return out, nil
}

// zebraKernel is a Kernel whose Reannounce reaches the fake zebra.
type zebraKernel struct {
	fakeKernel
	z *fakeZebra
}

func (k zebraKernel) Reannounce(_ context.Context, _ hostnet.Namespace, addrs map[string][]netip.Prefix) (hostnet.Result, error) {
	k.z.mu.Lock()
	defer k.z.mu.Unlock()
	k.z.reanns = append(k.z.reanns, addrs)
	var res hostnet.Result
	for dev, ps := range addrs {
		switch {
		case k.z.gone[dev]:
			if res.Absent == nil {
				res.Absent = map[string][]netip.Prefix{}
			}
			res.Absent[dev] = ps
		case !k.z.deaf:
			k.z.have[dev] = append(k.z.have[dev], ps...)
		}
	}
	return res, nil
}

func TestSyncZebra(t *testing.T) {
	p := func(s string) netip.Prefix { return netip.MustParsePrefix(s) }
	kp := plan.KernelPlan{
		Underlay: plan.Underlay{VTEPs: []netip.Prefix{p("10.255.0.1/32")}},
		L2VNIs:   []plan.L2VNI{{VNI: 110, Bridge: "br-pe-110", VRF: "red", GatewayIPs: []netip.Prefix{p("192.168.110.1/24")}}},
	}
	added := kp.RouterAddrs()
	ctx := context.Background()
	newAgent := func(z *fakeZebra) *Agent {
		return &Agent{Kernel: zebraKernel{z: z}, zebraWait: 100 * time.Millisecond}
	}

	t.Run("zebra knows everything", func(t *testing.T) {
		z := &fakeZebra{have: map[string][]netip.Prefix{"lo": {p("10.255.0.1/32")}, "br-pe-110": {p("192.168.110.1/24")}}}
		if err := newAgent(z).syncZebra(ctx, z, added, kp); err != nil || len(z.reanns) != 0 {
			t.Fatalf("err %v, re-announcements %v; want none", err, z.reanns)
		}
	})
	t.Run("zebra missed the gateway", func(t *testing.T) {
		z := &fakeZebra{have: map[string][]netip.Prefix{"lo": {p("10.255.0.1/32")}}}
		if err := newAgent(z).syncZebra(ctx, z, added, kp); err != nil {
			t.Fatal(err)
		}
		want := []map[string][]netip.Prefix{{"br-pe-110": {p("192.168.110.1/24")}}}
		if len(z.reanns) != 1 || !slices.Equal(z.reanns[0]["br-pe-110"], want[0]["br-pe-110"]) || len(z.reanns[0]) != 1 {
			t.Fatalf("re-announced %v, want %v", z.reanns, want)
		}
	})
	t.Run("zebra missed the moved uplink's address", func(t *testing.T) {
		// The NIC's address is the host's, not planned; weft put it back after the move.
		withNIC := kp
		withNIC.Underlay.Interfaces = []string{"eth1"}
		z := &fakeZebra{have: map[string][]netip.Prefix{"lo": {p("10.255.0.1/32")}, "br-pe-110": {p("192.168.110.1/24")}}}
		uplink := map[string][]netip.Prefix{"eth1": {p("10.0.1.1/31")}, "lo": {p("10.255.0.1/32")}}
		if err := newAgent(z).syncZebra(ctx, z, uplink, withNIC); err != nil {
			t.Fatal(err)
		}
		if len(z.reanns) != 1 || !slices.Equal(z.reanns[0]["eth1"], uplink["eth1"]) || len(z.reanns[0]) != 1 {
			t.Fatalf("re-announced %v, want only eth1's 10.0.1.1/31", z.reanns)
		}
		// An address on a device that is neither planned nor an underlay NIC is not weft's.
		z = &fakeZebra{have: map[string][]netip.Prefix{}}
		if err := newAgent(z).syncZebra(ctx, z, map[string][]netip.Prefix{"eth7": {p("10.0.7.1/31")}}, withNIC); err != nil || len(z.reanns) != 0 {
			t.Fatalf("err %v, re-announcements %v; want none", err, z.reanns)
		}
	})
	t.Run("the uplink left the router namespace: its address stops being pending", func(t *testing.T) {
		withNIC := kp
		withNIC.Underlay.Interfaces = []string{"eth1"}
		z := &fakeZebra{have: map[string][]netip.Prefix{"lo": {p("10.255.0.1/32")}, "br-pe-110": {p("192.168.110.1/24")}}, gone: map[string]bool{"eth1": true}}
		a := newAgent(z)
		a.zebraPending = map[string][]netip.Prefix{"eth1": {p("10.0.1.1/31")}}
		if err := a.syncZebra(ctx, z, nil, withNIC); err != nil || len(a.zebraPending) != 0 {
			t.Fatalf("err %v, pending %v; want nothing pending", err, a.zebraPending)
		}
		if len(z.reanns) != 1 {
			t.Fatalf("re-announcements %v, want one attempt", z.reanns)
		}
	})
	t.Run("zebra never learns: pending until it does, addresses left the plan are dropped", func(t *testing.T) {
		z := &fakeZebra{have: map[string][]netip.Prefix{}, deaf: true}
		a := newAgent(z)
		err := a.syncZebra(ctx, z, added, kp)
		if err == nil || !strings.Contains(err.Error(), "zebra still lacks") {
			t.Fatalf("want an error saying what zebra lacks, got %v", err)
		}
		if len(a.zebraPending) != 2 {
			t.Fatalf("pending %v, want both addresses", a.zebraPending)
		}
		z.mu.Lock()
		z.have["lo"] = []netip.Prefix{p("10.255.0.1/32")}
		z.mu.Unlock()
		// The next pass adds nothing and no longer plans the gateway: only lo is checked.
		smaller := plan.KernelPlan{Underlay: kp.Underlay}
		if err := a.syncZebra(ctx, z, nil, smaller); err != nil || len(a.zebraPending) != 0 {
			t.Fatalf("err %v, pending %v; want nothing left", err, a.zebraPending)
		}
	})
}

// uplinkUnderlay is one Underlay for node1 that moves eth1 into the router namespace.
const uplinkUnderlay = `apiVersion: network.weft.dev/v1alpha1
kind: Underlay
metadata:
  name: node1
spec:
  asn: 65000
  interfaces:
    - type: NetworkDevice
      networkDevice:
        name: eth1
  neighbors:
    - address: 10.0.1.0
      type: Internal
  tunnelEndpoint:
    cidrs: [10.255.1.0/24]
`

// movingKernel is a Kernel whose Apply reports the uplink's address added, as hostnet does
// when it moves the NIC in and puts its address back; Reannounce reaches the fake zebra.
type movingKernel struct{ zebraKernel }

func (k movingKernel) Apply(context.Context, plan.KernelPlan, hostnet.Namespace, hostnet.Namespace) (hostnet.Result, error) {
	return hostnet.Result{AddedRouterAddrs: map[string][]netip.Prefix{"eth1": {netip.MustParsePrefix("10.0.1.1/31")}}}, nil
}

// zebraFRR is an FRR that accepts any configuration and whose zebra is the fake one.
type zebraFRR struct{ *fakeZebra }

func (zebraFRR) Apply(context.Context, string) (bool, error)     { return true, nil }
func (zebraFRR) Sessions(context.Context) ([]frr.Session, error) { return nil, nil }

// TestFirstPassChecksTheMovedUplink: an agent's first pass checks the plan's addresses and
// also those it added beyond the plan. zebra missing the uplink's address moved in that pass
// (CI saw it: bgpd then waits for NHT for ever) must lead to a re-announcement.
func TestFirstPassChecksTheMovedUplink(t *testing.T) {
	z := &fakeZebra{have: map[string][]netip.Prefix{"lo": {netip.MustParsePrefix("10.255.1.1/32")}}}
	a := &Agent{Node: plan.Node{Name: "node1", Index: 0}, Source: manifestSource(t, uplinkUnderlay), FRR: zebraFRR{z},
		Kernel: movingKernel{zebraKernel{z: z}}, zebraWait: 100 * time.Millisecond}
	r := a.Reconcile(context.Background())
	if r.Error != "" {
		t.Fatalf("reconcile: %s", r.Error)
	}
	if len(z.reanns) != 1 || !slices.Equal(z.reanns[0]["eth1"], []netip.Prefix{netip.MustParsePrefix("10.0.1.1/31")}) {
		t.Fatalf("re-announced %v, want eth1's 10.0.1.1/31", z.reanns)
	}
}

// versionedFRR is a zebraFRR that says which FRR release it is.
type versionedFRR struct {
	zebraFRR
	version string
}

func (f versionedFRR) Version(context.Context) (frr.Version, error) {
	return frr.ParseVersion("FRRouting " + f.version + " (test) on Linux(6.1).")
}

// TestZebraCheckFollowsFRRVersion: the agent reads FRR's release before its first plan and
// checks zebra's addresses only on a release that may miss them (FRR 8.4 does, 10.3 was never
// seen to): on 10.3 no pass reads zebra, on 8.4 the first and every pass that adds addresses
// do.
func TestZebraCheckFollowsFRRVersion(t *testing.T) {
	for _, tt := range []struct {
		version   string
		wantCheck bool
	}{{"8.4.4", true}, {"10.3", false}} {
		z := &fakeZebra{have: map[string][]netip.Prefix{"lo": {netip.MustParsePrefix("10.255.1.1/32")}, "eth1": {netip.MustParsePrefix("10.0.1.1/31")}}}
		a := &Agent{Node: plan.Node{Name: "node1", Index: 0}, Source: manifestSource(t, uplinkUnderlay), FRR: versionedFRR{zebraFRR{z}, tt.version},
			Kernel: movingKernel{zebraKernel{z: z}}, zebraWait: 100 * time.Millisecond}
		r := a.Reconcile(context.Background())
		if r.Error != "" || r.FRRVersion != tt.version {
			t.Fatalf("FRR %s: first pass: error %q, version %q", tt.version, r.Error, r.FRRVersion)
		}
		if checked := z.reads > 0; checked != tt.wantCheck {
			t.Fatalf("FRR %s: the first pass read zebra's addresses: %v, want %v", tt.version, checked, tt.wantCheck)
		}
		before := z.reads
		// The kernel step reports the uplink's address added again: a pass with something to check.
		r = a.Reconcile(context.Background())
		if r.Error != "" {
			t.Fatalf("FRR %s: second pass: %s", tt.version, r.Error)
		}
		if checked := z.reads > before; checked != tt.wantCheck {
			t.Errorf("FRR %s: second pass read zebra's addresses: %v, want %v", tt.version, checked, tt.wantCheck)
		}
	}
}
