package hostnet

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/weftnet/weft/internal/plan"
)

// TestDriftIsCorrected changes one attribute behind weft's back, then checks that Apply puts
// it back and that the Apply after that writes nothing.
func TestDriftIsCorrected(t *testing.T) {
	vni := uint32(300)
	br, vx, pe, host, hbr := plan.BridgeName(vni), plan.VXLANName(vni), plan.RouterVethName(vni), plan.HostVethName(vni), plan.ManagedHostBridgeName(vni)
	hostAddr := netip.MustParsePrefix("192.0.2.2/24")
	tests := []struct {
		name  string
		drift func(t *testing.T, e *env)
		check func(t *testing.T, e *env)
	}{
		{"bridge down", func(t *testing.T, e *env) { must(t, e.rh.LinkSetDown(mustLink(t, e.rh, br))) },
			func(t *testing.T, e *env) { isUp(t, mustLink(t, e.rh, br)) }},
		{"bridge mtu", func(t *testing.T, e *env) { must(t, e.rh.LinkSetMTU(mustLink(t, e.rh, br), 1300)) },
			func(t *testing.T, e *env) { mtuIs(t, mustLink(t, e.rh, br), 1400) }},
		{"vxlan mtu", func(t *testing.T, e *env) { must(t, e.rh.LinkSetMTU(mustLink(t, e.rh, vx), 1300)) },
			func(t *testing.T, e *env) { mtuIs(t, mustLink(t, e.rh, vx), 1400) }},
		{"vxlan port learning", func(t *testing.T, e *env) { must(t, e.rh.LinkSetLearning(mustLink(t, e.rh, vx), true)) },
			func(t *testing.T, e *env) { portFlags(t, e.rh, vx) }},
		{"vxlan neigh_suppress", func(t *testing.T, e *env) { must(t, e.rh.LinkSetBrNeighSuppress(mustLink(t, e.rh, vx), false)) },
			func(t *testing.T, e *env) { portFlags(t, e.rh, vx) }},
		{"vxlan nomaster", func(t *testing.T, e *env) { must(t, e.rh.LinkSetNoMaster(mustLink(t, e.rh, vx))) },
			func(t *testing.T, e *env) { masterIs(t, e.rh, vx, br); portFlags(t, e.rh, vx) }},
		{"vxlan addrgenmode", func(t *testing.T, e *env) {
			must(t, e.rh.LinkSetIP6AddrGenMode(mustLink(t, e.rh, vx), 0 /* eui64 */))
		}, func(t *testing.T, e *env) {
			l, err := parse(t, e, vx)
			if err != nil || l.genMode != 1 {
				t.Errorf("addrgenmode %d, %v", l.genMode, err)
			}
		}},
		{"router veth nomaster", func(t *testing.T, e *env) { must(t, e.rh.LinkSetNoMaster(mustLink(t, e.rh, pe))) },
			func(t *testing.T, e *env) { masterIs(t, e.rh, pe, br) }},
		{"host veth nomaster", func(t *testing.T, e *env) { must(t, e.hh.LinkSetNoMaster(mustLink(t, e.hh, host))) },
			func(t *testing.T, e *env) { masterIs(t, e.hh, host, hbr) }},
		{"host veth down", func(t *testing.T, e *env) { must(t, e.hh.LinkSetDown(mustLink(t, e.hh, host))) },
			func(t *testing.T, e *env) { isUp(t, mustLink(t, e.hh, host)) }},
		{"host address removed and foreign one added", func(t *testing.T, e *env) {
			l := mustLink(t, e.hh, host)
			must(t, e.hh.AddrDel(l, &netlink.Addr{IPNet: ipNet(hostAddr)}))
			must(t, e.hh.AddrAdd(l, &netlink.Addr{IPNet: ipNet(netip.MustParsePrefix("198.51.100.1/24"))}))
		}, func(t *testing.T, e *env) {
			l := mustLink(t, e.hh, host)
			if !hasAddr(t, e.hh, l, hostAddr) || hasAddr(t, e.hh, l, netip.MustParsePrefix("198.51.100.1/24")) {
				t.Error("host veth addresses not converged")
			}
		}},
		{"vtep removed", func(t *testing.T, e *env) {
			must(t, e.rh.AddrDel(mustLink(t, e.rh, "lo"), &netlink.Addr{IPNet: ipNet(underlay().VTEPs[0])}))
		}, func(t *testing.T, e *env) {
			if !hasAddr(t, e.rh, mustLink(t, e.rh, "lo"), underlay().VTEPs[0]) {
				t.Error("vtep not restored")
			}
		}},
		{"host bridge deleted", func(t *testing.T, e *env) { must(t, e.hh.LinkDel(mustLink(t, e.hh, hbr))) },
			func(t *testing.T, e *env) { masterIs(t, e.hh, host, hbr) }},
		{"vxlan deleted", func(t *testing.T, e *env) { must(t, e.rh.LinkDel(mustLink(t, e.rh, vx))) },
			func(t *testing.T, e *env) { masterIs(t, e.rh, vx, br); portFlags(t, e.rh, vx) }},
		{"vxlan with another vni", func(t *testing.T, e *env) {
			must(t, e.rh.LinkDel(mustLink(t, e.rh, vx)))
			must(t, e.rh.LinkAdd(&netlink.Vxlan{LinkAttrs: netlink.LinkAttrs{Name: vx, Group: OwnedGroup}, VxlanId: 999, Port: 4789}))
		}, func(t *testing.T, e *env) {
			if got := mustLink(t, e.rh, vx).(*netlink.Vxlan).VxlanId; got != int(vni) {
				t.Errorf("vni %d", got)
			}
			masterIs(t, e.rh, vx, br)
		}},
		{"veth pair deleted", func(t *testing.T, e *env) { must(t, e.rh.LinkDel(mustLink(t, e.rh, pe))) },
			func(t *testing.T, e *env) { masterIs(t, e.rh, pe, br); masterIs(t, e.hh, host, hbr) }},
		{"lo down", func(t *testing.T, e *env) { must(t, e.rh.LinkSetDown(mustLink(t, e.rh, "lo"))) },
			func(t *testing.T, e *env) { isUp(t, mustLink(t, e.rh, "lo")) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			v := l2vni(vni)
			v.MTU = 1400
			v.Veth.HostAddrs = []netip.Prefix{hostAddr}
			kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{v}}
			e.apply(t, kp)
			tc.drift(t, e)
			if res := e.apply(t, kp); res.Writes == 0 {
				t.Fatalf("drift not noticed: %+v", res)
			}
			tc.check(t, e)
			if res := e.apply(t, kp); res.Writes != 0 {
				t.Fatalf("apply after correction wrote %d times", res.Writes)
			}
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func isUp(t *testing.T, l netlink.Link) {
	t.Helper()
	if l.Attrs().Flags&1 == 0 {
		t.Errorf("%s is down", l.Attrs().Name)
	}
}

func mtuIs(t *testing.T, l netlink.Link, mtu int) {
	t.Helper()
	if l.Attrs().MTU != mtu {
		t.Errorf("%s mtu %d, want %d", l.Attrs().Name, l.Attrs().MTU, mtu)
	}
}

func masterIs(t *testing.T, h *netlink.Handle, name, master string) {
	t.Helper()
	if got := masterName(t, h, mustLink(t, h, name)); got != master {
		t.Errorf("%s master %q, want %q", name, got, master)
	}
}

func portFlags(t *testing.T, h *netlink.Handle, name string) {
	t.Helper()
	pi, err := h.LinkGetProtinfo(mustLink(t, h, name))
	if err != nil {
		t.Fatal(err)
	}
	if pi.Learning || !pi.NeighSuppress {
		t.Errorf("%s: learning=%v neigh_suppress=%v", name, pi.Learning, pi.NeighSuppress)
	}
}

// parse reads one router link through the package's own parser (for addrgenmode, which
// the netlink library does not decode).
func parse(t *testing.T, e *env, name string) (*link, error) {
	t.Helper()
	ns, err := e.router.open()
	if err != nil {
		return nil, err
	}
	defer ns.Close()
	var n int
	c, err := dial(ns, &n)
	if err != nil {
		return nil, err
	}
	defer c.close()
	st, err := read(c)
	if err != nil {
		return nil, err
	}
	if l := st.byName[name]; l != nil {
		return l, nil
	}
	return nil, errors.New("not found")
}

// TestForeignDevicesAreLeftAlone: devices with weft-like names but without weft's group, and
// devices in weft's group with other names, are never changed or deleted; a plan that needs a
// foreign device's name fails for that VNI only.
func TestForeignDevicesAreLeftAlone(t *testing.T) {
	e := newEnv(t)
	kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{l2vni(8)}}
	e.apply(t, kp)
	must(t, e.rh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: plan.BridgeName(7)}}))
	must(t, e.rh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "mine", Group: OwnedGroup}}))
	must(t, e.hh.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: plan.HostVethName(9)}, PeerName: "other9"}))
	must(t, e.hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: plan.ManagedHostBridgeName(9)}}))
	foreign := func() {
		t.Helper()
		for _, n := range []string{plan.BridgeName(7), "mine"} {
			l := mustLink(t, e.rh, n)
			if l.Attrs().Flags&1 != 0 || l.Attrs().MasterIndex != 0 {
				t.Errorf("foreign %s was changed: %+v", n, l.Attrs())
			}
		}
		for _, n := range []string{plan.HostVethName(9), plan.ManagedHostBridgeName(9)} {
			if l := mustLink(t, e.hh, n); l.Attrs().Flags&1 != 0 || l.Attrs().MasterIndex != 0 {
				t.Errorf("foreign %s was changed", n)
			}
		}
	}

	// Not in the plan: cleanup must not touch them.
	kp.L2VNIs = []plan.L2VNI{l2vni(8)}
	if res := e.apply(t, kp); res.Writes != 0 {
		t.Errorf("apply wrote %d times", res.Writes)
	}
	foreign()

	// In the plan: VNIs 7 and 9 fail with a clear error, VNI 10 converges anyway.
	kp.L2VNIs = []plan.L2VNI{l2vni(7), l2vni(9), l2vni(10)}
	res, err := e.a.Apply(context.Background(), kp, e.router, e.host)
	if err == nil || len(res.Failures) != 2 {
		t.Fatalf("want 2 failures, got %v (%+v)", err, res)
	}
	for _, f := range res.Failures {
		if (f.Owner != vniOwner("L2VNI", 7) && f.Owner != vniOwner("L2VNI", 9)) || !strings.Contains(f.Error(), "not owned by weft") {
			t.Errorf("failure %v", f)
		}
	}
	foreign()
	masterIs(t, e.rh, plan.VXLANName(10), plan.BridgeName(10))
	masterIs(t, e.hh, plan.HostVethName(10), plan.ManagedHostBridgeName(10))
	noLink(t, e.rh, plan.BridgeName(8))
}

// TestExternalHostBridge: an External host bridge must exist (clear error otherwise) and is
// never deleted; a missing one fails only its own VNI.
func TestExternalHostBridge(t *testing.T) {
	e := newEnv(t)
	ext := l2vni(20)
	ext.HostMaster = plan.HostMaster{Name: "ext-br0"}
	kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{ext, l2vni(21)}}
	res, err := e.a.Apply(context.Background(), kp, e.router, e.host)
	if err == nil || len(res.Failures) != 1 || res.Failures[0].Owner != vniOwner("L2VNI", 20) || !strings.Contains(err.Error(), "external host bridge ext-br0 does not exist") {
		t.Fatalf("want the missing bridge reported for VNI 20 only, got %v", err)
	}
	e.rh = handle(t, e.router)
	masterIs(t, e.hh, plan.HostVethName(21), plan.ManagedHostBridgeName(21))

	addExternalBridge(t, e.hh, "ext-br0")
	e.apply(t, kp)
	masterIs(t, e.hh, plan.HostVethName(20), "ext-br0")

	kp.L2VNIs = nil
	e.apply(t, kp)
	mustLink(t, e.hh, "ext-br0")
	noLink(t, e.hh, plan.HostVethName(20))
	noLink(t, e.hh, plan.ManagedHostBridgeName(21))
}

// TestUnderlayNICMoveAndRestore moves a NIC (a veth end) into the router namespace with its
// addresses and gives it back with its addresses and up/down state when the plan drops it.
func TestUnderlayNICMoveAndRestore(t *testing.T) {
	for _, up := range []bool{true, false} {
		name := map[bool]string{true: "up", false: "down"}[up]
		t.Run(name, func(t *testing.T) {
			e := newEnv(t)
			v4, v6 := netip.MustParsePrefix("10.0.1.1/31"), netip.MustParsePrefix("fd00:1::1/127")
			addNIC(t, e, "uplink0", v4)
			nic := mustLink(t, e.hh, "uplink0")
			if !up {
				// Before the IPv6 address: taking a device down drops its IPv6 addresses.
				must(t, e.hh.LinkSetDown(nic))
			}
			must(t, e.hh.AddrAdd(nic, &netlink.Addr{IPNet: ipNet(v6), Flags: 0x80 /* nodad */}))
			kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{l2vni(5)}}
			kp.Underlay.Interfaces = []string{"uplink0"}
			e.apply(t, kp)
			noLink(t, e.hh, "uplink0")
			in := mustLink(t, e.rh, "uplink0")
			isUp(t, in)
			for _, p := range []netip.Prefix{v4, v6} {
				if !hasAddr(t, e.rh, in, p) {
					t.Errorf("moved nic lacks %s", p)
				}
			}
			// Underlay MTU 9000 → overlay 8950.
			mtuIs(t, mustLink(t, e.rh, plan.VXLANName(5)), 8950)
			mtuIs(t, mustLink(t, e.hh, plan.HostVethName(5)), 8950)
			if res := e.apply(t, kp); res.Writes != 0 {
				t.Errorf("second apply wrote %d times", res.Writes)
			}

			kp.Underlay.Interfaces = nil
			e.apply(t, kp)
			noLink(t, e.rh, "uplink0")
			back := mustLink(t, e.hh, "uplink0")
			if got := back.Attrs().Flags&1 != 0; got != up {
				t.Errorf("restored nic up=%v, want %v", got, up)
			}
			for _, p := range []netip.Prefix{v4, v6} {
				if !hasAddr(t, e.hh, back, p) {
					t.Errorf("restored nic lacks %s", p)
				}
			}
			if ents, _ := filepath.Glob(filepath.Join(e.a.StateDir, "*", "*.json")); len(ents) != 0 {
				t.Errorf("state left behind: %v", ents)
			}
			if _, err := os.Stat(e.a.StateDir); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPassthrough creates, converges and deletes the default-VRF veth.
func TestPassthrough(t *testing.T) {
	e := newEnv(t)
	ra, ha := netip.MustParsePrefix("192.169.0.1/30"), netip.MustParsePrefix("fd00:169::2/64")
	kp := plan.KernelPlan{Underlay: underlay(), Passthrough: &plan.Passthrough{Veth: plan.Veth{
		RouterName: plan.PassthroughRouterVeth, HostName: plan.PassthroughHostVeth,
		RouterAddrs: []netip.Prefix{ra}, HostAddrs: []netip.Prefix{ha},
	}}}
	e.apply(t, kp)
	r, h := mustLink(t, e.rh, plan.PassthroughRouterVeth), mustLink(t, e.hh, plan.PassthroughHostVeth)
	if !hasAddr(t, e.rh, r, ra) || !hasAddr(t, e.hh, h, ha) {
		t.Error("passthrough addresses missing")
	}
	if r.Attrs().Index == h.Attrs().Index {
		t.Error("veth ends share an ifindex")
	}
	kp.Passthrough = nil
	if res := e.apply(t, kp); res.Deleted == 0 {
		t.Errorf("nothing deleted: %+v", res)
	}
	noLink(t, e.rh, plan.PassthroughRouterVeth)
	noLink(t, e.hh, plan.PassthroughHostVeth)
}
