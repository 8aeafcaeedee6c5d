package hostnet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// Refresher keeps the neighbour entries of silent workloads alive on gateway bridges.
//
// zebra advertises a type-2 MAC+IP route for as long as the kernel has the workload's
// neighbour entry; an idle VM's entry goes STALE and is eventually garbage-collected, which
// withdraws the route and blackholes traffic from other nodes until the VM speaks again. The
// Refresher watches neighbour events and, whenever an entry on one of its bridges turns
// STALE, asks the kernel to confirm it (a unicast ARP/NS probe): a live workload answers and
// the entry is REACHABLE again; a gone one fails and is removed, as it should be.
type Refresher struct {
	ns  Namespace
	log *slog.Logger

	mu      sync.Mutex
	bridges map[string]bool
	// segments are the L2VNI router bridges, where a workload that moves here gets its
	// MAC+IP route back (see mobility).
	segments map[string]bool
	names    map[int]string // ifindex → link name, kept current from link events
	// svis maps a VLAN of a bridge to the VLAN device on it (single-VXLAN-device layout):
	// a MAC is learned on the bridge with its VLAN, its neighbours live on that device.
	svis map[sviKey]int
	mob  mobility

	probes atomic.Int64

	// ready is closed once Run has subscribed and read what exists (see Ready).
	ready     chan struct{}
	readyOnce sync.Once
}

// NewRefresher returns a Refresher for neighbours in ns (the router namespace).
func NewRefresher(ns Namespace, log *slog.Logger) *Refresher {
	if log == nil {
		log = slog.Default()
	}
	return &Refresher{ns: ns, log: log, bridges: map[string]bool{}, segments: map[string]bool{}, names: map[int]string{}, svis: map[sviKey]int{}, ready: make(chan struct{})}
}

// SetSegments replaces the L2VNI router bridges on which a moved workload's MAC+IP is
// re-learned (the plan's SegmentBridges).
func (r *Refresher) SetSegments(names ...string) {
	m := setOf(names)
	r.mu.Lock()
	r.segments = m
	r.mu.Unlock()
}

// SetBridges replaces the bridges whose neighbours are refreshed (the plan's gateway bridges).
func (r *Refresher) SetBridges(names ...string) {
	m := setOf(names)
	r.mu.Lock()
	r.bridges = m
	r.mu.Unlock()
}

func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Ready is closed once the Refresher watches its namespace: from then on no neighbour or
// MAC change escapes it.
func (r *Refresher) Ready() <-chan struct{} { return r.ready }

// Probes returns how many neighbours the Refresher has asked the kernel to confirm.
func (r *Refresher) Probes() int64 { return r.probes.Load() }

// Run refreshes until ctx ends. It returns nil when ctx ends and an error when the namespace
// cannot be watched.
func (r *Refresher) Run(ctx context.Context) error {
	h, err := r.ns.open()
	if err != nil {
		return err
	}
	defer h.Close()
	sub, err := nl.SubscribeAt(h, netns.None(), unix.NETLINK_ROUTE, unix.RTNLGRP_NEIGH, unix.RTNLGRP_LINK)
	if err != nil {
		return fmt.Errorf("subscribe to neighbour events in %s: %w", r.ns, err)
	}
	stop := context.AfterFunc(ctx, sub.Close) // unblocks Receive
	defer stop()
	defer sub.Close()
	var n int
	c, err := dial(h, &n)
	if err != nil {
		return err
	}
	defer c.close()

	// Subscribe first, then read what exists: nothing can turn STALE unseen in between.
	if err := r.resync(c); err != nil {
		return err
	}
	r.readyOnce.Do(func() { close(r.ready) })
	for {
		msgs, _, err := sub.Receive()
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, unix.ENOBUFS) {
			// Events were lost: start again from the kernel's state.
			r.log.Warn("neighbour events overran; resyncing", "netns", r.ns.String())
			if err := r.resync(c); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("receive neighbour events: %w", err)
		}
		for _, m := range msgs {
			r.handle(c, m.Header.Type, m.Data, true)
		}
	}
}

// resync reloads link names and probes every neighbour that is STALE now.
func (r *Refresher) resync(c *conn) error {
	st, err := read(c)
	if err != nil {
		return fmt.Errorf("read links: %w", err)
	}
	r.mu.Lock()
	r.names = make(map[int]string, len(st.byIndex))
	r.svis = map[sviKey]int{}
	for i, l := range st.byIndex {
		r.names[i] = l.name
		if l.kind == "vlan" {
			r.svis[sviKey{l.peer, l.vlanID}] = i
		}
	}
	r.mu.Unlock()
	var stale [][]byte
	req := c.request(unix.RTM_GETNEIGH, unix.NLM_F_DUMP)
	req.AddRawData(make([]byte, 12)) // struct ndmsg, AF_UNSPEC: every family
	err = c.dump(req, unix.RTM_NEWNEIGH, func(b []byte) error {
		stale = append(stale, append([]byte(nil), b...))
		return nil
	})
	if err != nil && !errors.Is(err, errRetryDump) {
		return fmt.Errorf("list neighbours: %w", err)
	}
	for _, b := range stale {
		r.handle(c, unix.RTM_NEWNEIGH, b, false)
	}
	return nil
}

// handle acts on one event; live is false for the entries a resync reads, whose bridge
// ports did not just learn their MACs.
func (r *Refresher) handle(c *conn, typ uint16, b []byte, live bool) {
	if typ == unix.RTM_NEWNEIGH || typ == unix.RTM_DELNEIGH {
		r.follow(c, typ, b, live)
	}
	switch typ {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		l, err := parseLink(b)
		if err != nil || l.name == "" {
			return
		}
		r.mu.Lock()
		if typ == unix.RTM_NEWLINK {
			r.names[l.index] = l.name
		} else {
			delete(r.names, l.index)
		}
		if l.kind == "vlan" {
			if typ == unix.RTM_NEWLINK {
				r.svis[sviKey{l.peer, l.vlanID}] = l.index
			} else {
				delete(r.svis, sviKey{l.peer, l.vlanID})
			}
		}
		r.mu.Unlock()
	case unix.RTM_NEWNEIGH:
		idx, ip, ok := staleNeighbour(b)
		if !ok {
			return
		}
		r.mu.Lock()
		watched := r.bridges[r.names[idx]]
		name := r.names[idx]
		r.mu.Unlock()
		if !watched {
			return
		}
		if err := c.useNeigh(idx, ip); err != nil && !errors.Is(err, unix.ENOENT) {
			r.log.Warn("probe stale neighbour", "bridge", name, "ip", ip, "err", err)
			return
		}
		r.probes.Add(1)
	}
}

// staleNeighbour decodes an ARP/ND entry that is STALE and was learned locally (entries
// zebra installs for remote hosts are extern_learn and must not be probed).
func staleNeighbour(b []byte) (int, netip.Addr, bool) {
	if len(b) < 12 {
		return 0, netip.Addr{}, false
	}
	fam, state, flags := b[0], binary.NativeEndian.Uint16(b[8:10]), b[10]
	if (fam != unix.AF_INET && fam != unix.AF_INET6) || state != unix.NUD_STALE || flags&unix.NTF_EXT_LEARNED != 0 {
		return 0, netip.Addr{}, false
	}
	var ip netip.Addr
	attrs(b[12:], func(t uint16, v []byte) {
		if t == unix.NDA_DST {
			ip, _ = netip.AddrFromSlice(v)
		}
	})
	return int(binary.NativeEndian.Uint32(b[4:8])), ip, ip.IsValid()
}

// sviKey is a VLAN of a bridge (ifindex).
type sviKey struct {
	bridge int
	vlan   uint16
}

// GatewayBridges lists the bridges of kp whose neighbours a Refresher should keep alive: the
// L2VNI bridges that are anycast gateways in a VRF.
func GatewayBridges(kp plan.KernelPlan) []string {
	var out []string
	for _, v := range kp.L2VNIs {
		if v.VRF != "" && len(v.GatewayIPs) > 0 {
			out = append(out, l3Device(v))
		}
	}
	return out
}

// follow feeds a neighbour or FDB event to mobility and resolves what it asks for.
func (r *Refresher) follow(c *conn, typ uint16, b []byte, live bool) {
	n, ok := parseNeigh(b)
	if !ok || (!live && n.family == unix.AF_BRIDGE) {
		return
	}
	r.mu.Lock()
	if n.family == unix.AF_BRIDGE && n.vlan != 0 {
		// A MAC on a VLAN-aware bridge: its VLAN's device is where its addresses are.
		if svi, ok := r.svis[sviKey{n.master, n.vlan}]; ok {
			n.master = svi
		}
	}
	watched := func(idx int) bool { return r.segments[r.names[idx]] }
	bridge, ips := r.mob.event(typ, n, watched)
	name := r.names[bridge]
	r.mu.Unlock()
	for _, ip := range ips {
		if err := c.resolve(bridge, ip); err != nil {
			r.log.Warn("resolve a moved workload's address", "bridge", name, "ip", ip, "err", err)
			continue
		}
		r.probes.Add(1)
		r.log.Debug("resolving a moved workload's address", "bridge", name, "ip", ip)
	}
}
