package hostnet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// fullPlan has two L3VNIs (one with a host session), three L2VNIs (one an anycast gateway
// in a VRF, one on an External host bridge), a passthrough and a moved NIC.
func fullPlan(nic string) plan.KernelPlan {
	gw := l2vni(50)
	gw.VRF = "red"
	gw.GatewayIPs = []netip.Prefix{netip.MustParsePrefix("192.168.50.1/24"), netip.MustParsePrefix("fd00:50::1/64")}
	gw.GatewayMAC = plan.GatewayMAC(50)
	ext := l2vni(52)
	ext.HostMaster = plan.HostMaster{Name: "ext-br0"}
	ul := underlay()
	ul.Interfaces = []string{nic}
	return plan.KernelPlan{
		Underlay: ul,
		L3VNIs:   []plan.L3VNI{l3vni(1000, "red", true), l3vni(1001, "blue", false)},
		L2VNIs:   []plan.L2VNI{gw, l2vni(51), ext},
		Passthrough: &plan.Passthrough{Veth: plan.Veth{
			RouterName: plan.PassthroughRouterVeth, HostName: plan.PassthroughHostVeth,
			RouterAddrs: []netip.Prefix{netip.MustParsePrefix("192.169.0.1/30")},
			HostAddrs:   []netip.Prefix{netip.MustParsePrefix("192.169.0.2/30")},
		}},
	}
}

// addNIC creates a veth "NIC" in the host namespace whose other end sits in a fabric
// namespace, with an address and up, as a real uplink would be.
func addNIC(tb testing.TB, e *env, name string, addr netip.Prefix) {
	tb.Helper()
	fab := testNS(tb, "f", true)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, MTU: 9000}, PeerName: "fab0", PeerNamespace: netlink.NsFd(nsHandle(tb, fab))}
	if err := e.hh.LinkAdd(v); err != nil {
		tb.Fatalf("add nic: %v", err)
	}
	fh := handle(tb, fab)
	if err := fh.LinkSetUp(mustLink(tb, fh, "fab0")); err != nil {
		tb.Fatal(err)
	}
	l := mustLink(tb, e.hh, name)
	if err := e.hh.AddrAdd(l, &netlink.Addr{IPNet: ipNet(addr)}); err != nil {
		tb.Fatal(err)
	}
	if err := e.hh.LinkSetUp(l); err != nil {
		tb.Fatal(err)
	}
}

func addExternalBridge(tb testing.TB, h *netlink.Handle, name string) {
	tb.Helper()
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		tb.Fatalf("add external bridge: %v", err)
	}
}

// monitor collects rtnetlink events of one namespace.
type monitor struct {
	s *nl.NetlinkSocket
}

func watch(tb testing.TB, ns Namespace) *monitor {
	tb.Helper()
	s, err := nl.SubscribeAt(nsHandle(tb, ns), netns.None(), unix.NETLINK_ROUTE,
		unix.RTNLGRP_LINK, unix.RTNLGRP_NEIGH, unix.RTNLGRP_IPV4_IFADDR, unix.RTNLGRP_IPV6_IFADDR,
		unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE)
	if err != nil {
		tb.Fatalf("subscribe in %s: %v", ns.Name, err)
	}
	tb.Cleanup(s.Close)
	// A bound on how long a missing sentinel can hang the test, not a synchronisation.
	tv := unix.NsecToTimeval(int64(10 * time.Second))
	if err := s.SetReceiveTimeout(&tv); err != nil {
		tb.Fatal(err)
	}
	return &monitor{s: s}
}

// eventsBefore creates the bridge sentinel through h, a handle in the monitored namespace,
// and returns a description of every event received before the sentinel's RTM_NEWLINK: the
// caller calls it after the operation under test, and netlink delivers a socket's events in
// order, so everything the operation caused has arrived by then.
//
// Two kinds of events are not the operation's and are left out: those of the sentinel itself
// (a new bridge announces its own FDB entry first), and neighbour/FDB entries the data path
// learns from packets (dynamic NUD states; IPv6 autoconfiguration keeps sending for seconds
// after devices come up). Static entries, which only a write can make, still count.
func (m *monitor) eventsBefore(tb testing.TB, h *netlink.Handle, sentinel string) []string {
	tb.Helper()
	if err := h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: sentinel}}); err != nil {
		tb.Fatal(err)
	}
	type event struct {
		index int
		desc  string
	}
	var got []event
	for {
		msgs, _, err := m.s.Receive()
		if err != nil {
			tb.Fatalf("receive events: %v (sentinel %s never seen)", err, sentinel)
		}
		for _, msg := range msgs {
			switch msg.Header.Type {
			case unix.RTM_NEWLINK:
				if l, err := parseLink(msg.Data); err == nil && l.name == sentinel {
					var out []string
					for _, e := range got {
						if e.index != l.index {
							out = append(out, e.desc)
						}
					}
					return out
				}
			case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
				if len(msg.Data) >= 12 && binary.NativeEndian.Uint16(msg.Data[8:10])&(unix.NUD_PERMANENT|unix.NUD_NOARP) == 0 {
					continue
				}
			}
			idx := 0
			if len(msg.Data) >= 8 {
				idx = int(binary.NativeEndian.Uint32(msg.Data[4:8]))
			}
			got = append(got, event{idx, describe(msg.Header.Type, msg.Data)})
		}
	}
}

// settle waits until every veth that is up has carrier (operstate UP) and no IPv6 address
// is still tentative: the kernel reports both asynchronously (linkwatch; duplicate address
// detection of the link-local addresses, ~1 s and slower in UML), so these events of the
// first Apply can arrive late.
func settle(tb testing.TB, hs ...*netlink.Handle) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		pending := ""
		for _, h := range hs {
			// A dump that raced with a change (NLM_F_DUMP_INTR) is read again: the
			// namespace is still settling.
			for _, l := range redump(tb, "links", h.LinkList) {
				a := l.Attrs()
				if l.Type() == "veth" && a.Flags&net.FlagUp != 0 && a.OperState != netlink.OperUp {
					pending = a.Name
				}
			}
			addrs := redump(tb, "IPv6 addresses", func() ([]netlink.Addr, error) { return h.AddrList(nil, netlink.FAMILY_V6) })
			for _, ad := range addrs {
				if ad.Flags&unix.IFA_F_TENTATIVE != 0 {
					pending = "tentative " + ad.IPNet.String()
				}
			}
		}
		if pending == "" {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s never got carrier", pending)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func describe(typ uint16, data []byte) string {
	switch typ {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		if l, err := parseLink(data); err == nil {
			return map[uint16]string{unix.RTM_NEWLINK: "RTM_NEWLINK ", unix.RTM_DELLINK: "RTM_DELLINK "}[typ] + l.name
		}
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		if _, p, ok := parseAddr(data); ok {
			return map[uint16]string{unix.RTM_NEWADDR: "RTM_NEWADDR ", unix.RTM_DELADDR: "RTM_DELADDR "}[typ] + p.String()
		}
	case unix.RTM_NEWNEIGH, unix.RTM_DELNEIGH:
		if len(data) >= 12 {
			var dst netip.Addr
			var mac net.HardwareAddr
			attrs(data[12:], func(t uint16, v []byte) {
				switch t {
				case unix.NDA_DST:
					dst, _ = netip.AddrFromSlice(v)
				case unix.NDA_LLADDR:
					mac = v
				}
			})
			return fmt.Sprintf("neigh msg %d family %d ifindex %d state %#x flags %#x dst %s lladdr %s", typ, data[0],
				binary.NativeEndian.Uint32(data[4:8]), binary.NativeEndian.Uint16(data[8:10]), data[10], dst, mac)
		}
	}
	return "message type " + itoa(int(typ))
}

func TestIdempotentApplyWritesNothing(t *testing.T) {
	if !needVRF(t) {
		return
	}
	e := newEnv(t)
	addNIC(t, e, "uplink0", netip.MustParsePrefix("10.0.1.1/31"))
	addExternalBridge(t, e.hh, "ext-br0")
	kp := fullPlan("uplink0")

	first := e.apply(t, kp)
	if first.Writes == 0 {
		t.Fatal("first apply wrote nothing")
	}
	t.Logf("first apply: %+v", first)

	settle(t, e.rh, e.hh)
	rm, hm := watch(t, e.router), watch(t, e.host)
	// The second Apply is a restarted weft: a new Applier that knows nothing but the kernel
	// (and the NIC records), reading both namespaces in full.
	restarted := &Applier{StateDir: e.a.StateDir, NoCache: true}
	second, err := restarted.Apply(t.Context(), kp, e.router, e.host)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		ns Namespace
		h  *netlink.Handle
		m  *monitor
	}{{e.router, e.rh, rm}, {e.host, e.hh, hm}} {
		if ev := c.m.eventsBefore(t, c.h, "sentinel0"); len(ev) != 0 {
			ls, _ := c.h.LinkList()
			var names []string
			for _, l := range ls {
				names = append(names, fmt.Sprintf("%d=%s", l.Attrs().Index, l.Attrs().Name))
			}
			t.Errorf("second apply caused events in %s: %v (links %v)", c.ns.Name, ev, names)
		}
	}
	if second.Writes != 0 || second.Created+second.Updated+second.Deleted != 0 {
		t.Errorf("second apply wrote: %+v", second)
	}

	// The Applier's cached read, kept current from events, sees the same: no writes. A
	// foreign device coming and going on the host is folded in, without a full read.
	if err := e.hh.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "pod-br"}}); err != nil {
		t.Fatal(err)
	}
	must(t, e.hh.LinkDel(mustLink(t, e.hh, "pod-br")))
	cached := e.apply(t, kp)
	if cached.Writes != 0 {
		t.Errorf("cached apply wrote: %+v", cached)
	}
	t.Logf("second apply read %d namespaces in full, third %d", second.Reads, cached.Reads)

	// Control: the monitor does see a write (one more VTEP address on lo).
	kp.Underlay.VTEPs = append(kp.Underlay.VTEPs, netip.MustParsePrefix("10.255.0.99/32"))
	third := e.apply(t, kp)
	if ev := rm.eventsBefore(t, e.rh, "sentinel1"); third.Writes != 1 || !slices.Contains(ev, "RTM_NEWADDR 10.255.0.99/32") {
		t.Errorf("control: writes %d, events %v; want 1 write and its RTM_NEWADDR", third.Writes, ev)
	}
}
