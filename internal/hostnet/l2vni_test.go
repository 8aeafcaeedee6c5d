package hostnet

import (
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/weftnet/weft/internal/plan"
)

func TestL2VNICreateConvergeDelete(t *testing.T) {
	e := newEnv(t)
	kp := plan.KernelPlan{Underlay: underlay(), L2VNIs: []plan.L2VNI{l2vni(100), l2vni(101)}}
	res := e.apply(t, kp)
	if res.Writes == 0 || res.Created == 0 {
		t.Fatalf("cold apply did nothing: %+v", res)
	}
	for _, vni := range []uint32{100, 101} {
		br := mustLink(t, e.rh, plan.BridgeName(vni))
		vx := mustLink(t, e.rh, plan.VXLANName(vni)).(*netlink.Vxlan)
		pe := mustLink(t, e.rh, plan.RouterVethName(vni))
		host := mustLink(t, e.hh, plan.HostVethName(vni))
		hbr := mustLink(t, e.hh, plan.ManagedHostBridgeName(vni))
		if vx.VxlanId != int(vni) || vx.Learning || vx.Port != 4789 || !vx.SrcAddr.Equal(underlay().LocalIP.AsSlice()) {
			t.Errorf("vxlan %d: %+v", vni, vx)
		}
		if got := masterName(t, e.rh, vx); got != br.Attrs().Name {
			t.Errorf("vxlan master %q", got)
		}
		if got := masterName(t, e.rh, pe); got != br.Attrs().Name {
			t.Errorf("router veth master %q", got)
		}
		if got := masterName(t, e.hh, host); got != hbr.Attrs().Name {
			t.Errorf("host veth master %q", got)
		}
		if pe.Attrs().Index == host.Attrs().Index {
			t.Errorf("veth ends share ifindex %d", pe.Attrs().Index)
		}
		for _, l := range []netlink.Link{br, vx, pe, host, hbr} {
			if l.Attrs().Flags&1 == 0 {
				t.Errorf("%s is down", l.Attrs().Name)
			}
			if l.Attrs().Group != OwnedGroup {
				t.Errorf("%s group %d", l.Attrs().Name, l.Attrs().Group)
			}
		}
		for _, l := range []netlink.Link{br, vx} {
			// addrgenmode none: no link-local address, ever.
			if addrs := redump(t, "addresses of "+l.Attrs().Name, func() ([]netlink.Addr, error) { return e.rh.AddrList(l, netlink.FAMILY_ALL) }); len(addrs) != 0 {
				t.Errorf("%s has addresses %v", l.Attrs().Name, addrs)
			}
		}
		pi, err := e.rh.LinkGetProtinfo(vx)
		if err != nil {
			t.Fatal(err)
		}
		if pi.Learning || !pi.NeighSuppress {
			t.Errorf("vxlan port flags: learning=%v neigh_suppress=%v", pi.Learning, pi.NeighSuppress)
		}
	}

	// Drop one VNI: its devices go, in both namespaces.
	kp.L2VNIs = kp.L2VNIs[:1]
	res = e.apply(t, kp)
	if res.Deleted == 0 {
		t.Errorf("nothing deleted: %+v", res)
	}
	for _, n := range []string{plan.BridgeName(101), plan.VXLANName(101), plan.RouterVethName(101)} {
		noLink(t, e.rh, n)
	}
	noLink(t, e.hh, plan.HostVethName(101))
	noLink(t, e.hh, plan.ManagedHostBridgeName(101))
	mustLink(t, e.rh, plan.BridgeName(100))
	mustLink(t, e.hh, plan.HostVethName(100))
}
