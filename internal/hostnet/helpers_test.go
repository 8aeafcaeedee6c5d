package hostnet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

var nsCounter atomic.Int64

// requireRoot skips when the test cannot create namespaces: these tests program a real kernel.
func requireRoot(tb testing.TB) {
	tb.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			tb.Fatal("needs root: creates network namespaces, and CI is set: not skipping")
		}
		tb.Skip("SKIPPED, NOT RUN: needs root: creates network namespaces")
	}
}

// testNS reserves a unique namespace name and removes the namespace (with everything in it)
// when the test ends, pass or fail. With create it also creates it.
func testNS(tb testing.TB, role string, create bool) Namespace {
	tb.Helper()
	name := fmt.Sprintf("weftt-%d-%d-%s", os.Getpid(), nsCounter.Add(1), role)
	tb.Cleanup(func() {
		if err := DeleteNamed(name); err != nil {
			tb.Errorf("delete netns %s: %v", name, err)
		}
	})
	if create {
		if _, err := ensureNamed(name); err != nil {
			tb.Fatalf("create netns %s: %v", name, err)
		}
	}
	return Namespace{Name: name}
}

// nsHandle opens ns's namespace file for the test; it is closed when the test ends.
func nsHandle(tb testing.TB, ns Namespace) netns.NsHandle {
	tb.Helper()
	h, err := netns.GetFromName(ns.Name)
	if err != nil {
		tb.Fatalf("open netns %s: %v", ns.Name, err)
	}
	tb.Cleanup(func() { h.Close() })
	return h
}

// handle opens a netlink handle in ns for the test's own setup and checks: an independent
// implementation from the one under test.
func handle(tb testing.TB, ns Namespace) *netlink.Handle {
	tb.Helper()
	nh, err := netlink.NewHandleAt(nsHandle(tb, ns), unix.NETLINK_ROUTE)
	if err != nil {
		tb.Fatalf("netlink handle in %s: %v", ns.Name, err)
	}
	tb.Cleanup(nh.Close)
	return nh
}

// rootNS creates a namespace of the test's own (root only) and opens a handle in it.
func rootNS(tb testing.TB, role string) (Namespace, *netlink.Handle) {
	tb.Helper()
	requireRoot(tb)
	ns := testNS(tb, role, true)
	return ns, handle(tb, ns)
}

func mustLink(tb testing.TB, h *netlink.Handle, name string) netlink.Link {
	tb.Helper()
	l, err := h.LinkByName(name)
	if err != nil {
		tb.Fatalf("link %s: %v", name, err)
	}
	return l
}

func noLink(tb testing.TB, h *netlink.Handle, name string) {
	tb.Helper()
	if _, err := h.LinkByName(name); err == nil {
		tb.Fatalf("link %s still exists", name)
	}
}

func masterName(tb testing.TB, h *netlink.Handle, l netlink.Link) string {
	tb.Helper()
	if l.Attrs().MasterIndex == 0 {
		return ""
	}
	m, err := h.LinkByIndex(l.Attrs().MasterIndex)
	if err != nil {
		tb.Fatalf("master of %s: %v", l.Attrs().Name, err)
	}
	return m.Attrs().Name
}

// redump calls list until its dump was not interrupted by a concurrent change
// (NLM_F_DUMP_INTR: the kernel is still settling, e.g. IPv6 addresses coming up), for at most
// 10 s, and fails the test with what on any other error.
func redump[T any](tb testing.TB, what string, list func() (T, error)) T {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := list()
		if err == nil {
			return v
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) || time.Now().After(deadline) {
			tb.Fatalf("%s: %v", what, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasAddr(tb testing.TB, h *netlink.Handle, l netlink.Link, p netip.Prefix) bool {
	tb.Helper()
	addrs := redump(tb, "addresses of "+l.Attrs().Name, func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_ALL) })
	for _, a := range addrs {
		got, _ := netip.AddrFromSlice(a.IP)
		ones, _ := a.Mask.Size()
		if netip.PrefixFrom(got.Unmap(), ones) == p {
			return true
		}
	}
	return false
}

func underlay() plan.Underlay {
	return plan.Underlay{
		VTEPs:     []netip.Prefix{netip.MustParsePrefix("10.255.0.1/32"), netip.MustParsePrefix("fd00:255::1/128")},
		LocalIP:   netip.MustParseAddr("10.255.0.1"),
		RouterMAC: plan.RouterMAC(netip.MustParseAddr("10.255.0.1")),
	}
}

// underlayPlan is the plan of the test underlay alone, without VNIs.
func underlayPlan() plan.KernelPlan { return plan.KernelPlan{Underlay: underlay()} }

func l2vni(vni uint32) plan.L2VNI {
	return plan.L2VNI{
		Owner: vniOwner("L2VNI", vni),
		VNI:   vni, Bridge: plan.BridgeName(vni), VXLAN: plan.VXLANName(vni), VXLANPort: 4789,
		Veth:       plan.Veth{RouterName: plan.RouterVethName(vni), HostName: plan.HostVethName(vni)},
		HostMaster: plan.HostMaster{Name: plan.ManagedHostBridgeName(vni), Managed: true},
	}
}

func l3vni(vni uint32, vrf string, hostSession bool) plan.L3VNI {
	v := plan.L3VNI{Owner: vniOwner("L3VNI", vni), VNI: vni, VRF: vrf, Bridge: plan.BridgeName(vni), VXLAN: plan.VXLANName(vni), VXLANPort: 4789}
	if hostSession {
		v.HostVeth = &plan.Veth{
			RouterName:  plan.RouterVethName(vni),
			HostName:    plan.HostVethName(vni),
			RouterAddrs: []netip.Prefix{netip.MustParsePrefix("192.169.10.1/24"), netip.MustParsePrefix("fd00:10::1/64")},
			HostAddrs:   []netip.Prefix{netip.MustParsePrefix("192.169.10.2/24"), netip.MustParsePrefix("fd00:10::2/64")},
		}
	}
	return v
}

// env is one test's router and host namespace and an Applier with a private state directory.
type env struct {
	router, host Namespace
	a            *Applier
	rh, hh       *netlink.Handle
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	requireRoot(tb)
	e := &env{router: testNS(tb, "r", false), host: testNS(tb, "h", true), a: &Applier{StateDir: tb.TempDir()}}
	tb.Cleanup(func() { e.a.Close() })
	e.hh = handle(tb, e.host)
	return e
}

func (e *env) apply(tb testing.TB, kp plan.KernelPlan) Result {
	tb.Helper()
	res, err := e.a.Apply(context.Background(), kp, e.router, e.host)
	if err != nil {
		tb.Fatalf("apply: %v", err)
	}
	if e.rh == nil {
		e.rh = handle(tb, e.router)
	}
	return res
}

// ipNet converts a prefix to the net.IPNet netlink's Addr wants, keeping the host bits.
func ipNet(p netip.Prefix) *net.IPNet {
	bits := 32
	if p.Addr().Is6() {
		bits = 128
	}
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), bits)}
}

func itoa(i int) string { return fmt.Sprint(i) }

// vniOwner names a test VNI's resource after its VNI.
func vniOwner(kind string, vni uint32) plan.Ref {
	return plan.Ref{Kind: kind, Namespace: "test", Name: fmt.Sprintf("vni-%d", vni)}
}
