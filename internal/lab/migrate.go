package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
)

// MigrationResult is what `weft lab migrate` prints.
type MigrationResult struct {
	Workload string      `json:"workload"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Pinger   string      `json:"pinger"`
	Probe    ProbeResult `json:"probe"`
}

// Migrate moves a workload to another node keeping its MAC and IP (its port is removed on the
// old node and recreated on the new one, then it announces itself with a gratuitous ARP, as
// a live-migrated VM does), while a workload on a third node probes it every interval.
func Migrate(ctx context.Context, s *State, workload, to string, interval time.Duration) (MigrationResult, error) {
	w, err := s.Workload(workload)
	if err != nil {
		return MigrationResult{}, err
	}
	dst, err := s.Node(to)
	if err != nil {
		return MigrationResult{}, err
	}
	if w.Node == to {
		return MigrationResult{}, fmt.Errorf("%s already runs on %s", workload, to)
	}
	src, err := s.Node(w.Node)
	if err != nil {
		return MigrationResult{}, err
	}
	pinger := pickPinger(s, w, to)
	if pinger == nil {
		return MigrationResult{}, fmt.Errorf("no other workload on VNI %d can probe %s", w.VNI, workload)
	}
	target := netip.MustParsePrefix(w.IP).Addr()
	res := MigrationResult{Workload: workload, From: src.Name, To: to, Pinger: pinger.Name}

	// Like a live migration, the destination port exists before the switchover: the
	// outage is the switchover and EVPN's convergence, not the lab's plumbing.
	// Until the switchover removed the old port, a failure leaves the workload where it was.
	unprepare := func() { _ = ip(context.Background(), "-n", w.Netns, "link", "del", nextPort) }
	if err := s.prepareMove(ctx, w, dst); err != nil {
		unprepare()
		return res, fmt.Errorf("prepare %s on %s: %w", workload, to, err)
	}
	const lead, tail = time.Second, 2 * time.Second
	type probeOut struct {
		r   ProbeResult
		err error
	}
	ch := make(chan probeOut, 1)
	go func() {
		r, err := Probe(ctx, pinger.Netns, target, interval, lead+tail)
		ch <- probeOut{r, err}
	}()
	select {
	case <-ctx.Done():
		unprepare()
		return res, ctx.Err()
	case <-time.After(lead):
	}
	moved, err := s.switchover(ctx, w, src, dst)
	if !moved {
		unprepare()
	}
	if serr := s.save(); err == nil {
		err = serr
	}
	if err != nil {
		return res, fmt.Errorf("move %s to %s: %w", workload, to, err)
	}
	p := <-ch
	if p.err != nil {
		return res, p.err
	}
	res.Probe = p.r
	return res, nil
}

// nextPort is the name of a workload's interface on the destination before the switchover.
const nextPort = "eth1"

// prepareMove creates the workload's future port: a veth whose node end is already in the
// destination's host bridge and up, and whose workload end (nextPort, the workload's MAC)
// waits down in the workload's namespace.
func (s *State) prepareMove(ctx context.Context, w *Workload, dst *Node) error {
	bridge := fmt.Sprintf("br-hs-%d", w.VNI)
	if err := ip(ctx, "link", "add", nextPort, "netns", w.Netns, "address", w.MAC, "type", "veth", "peer", "name", w.Port, "netns", dst.Netns); err != nil {
		return err
	}
	return ip(ctx, "-n", dst.Netns, "link", "set", w.Port, "master", bridge, "up")
}

// switchover is the moment of the move, done in-process over netlink (each `ip` command
// would add milliseconds): the old port goes, the prepared one becomes eth0 with the
// workload's address and route, and the workload announces itself with a gratuitous ARP.
// moved says whether the old port is gone: from then on the workload belongs to dst, even
// if a later step failed (Reattach or down repair it).
func (s *State) switchover(ctx context.Context, w *Workload, src, dst *Node) (moved bool, err error) {
	hs, err := handleIn(src.Netns)
	if err != nil {
		return false, err
	}
	defer hs.Close()
	hw, err := handleIn(w.Netns)
	if err != nil {
		return false, err
	}
	defer hw.Close()
	old, err := hs.LinkByName(w.Port)
	if err != nil {
		return false, err
	}
	if err := hs.LinkDel(old); err != nil {
		return false, fmt.Errorf("remove the old port: %w", err)
	}
	w.Node = dst.Name
	return true, s.bringUp(ctx, hw, w)
}

// bringUp turns the prepared port into the workload's eth0 with its address and route, and
// announces the workload with a gratuitous ARP.
func (s *State) bringUp(ctx context.Context, hw *netlink.Handle, w *Workload) error {
	l, err := hw.LinkByName(nextPort)
	if err != nil {
		return err
	}
	if err := hw.LinkSetName(l, "eth0"); err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(w.IP)
	if err != nil {
		return err
	}
	if err := hw.AddrAdd(l, addr); err != nil {
		return err
	}
	if err := hw.LinkSetUp(l); err != nil {
		return err
	}
	if w.Gateway != "" {
		if err := hw.RouteReplace(&netlink.Route{LinkIndex: l.Attrs().Index, Gw: net.ParseIP(w.Gateway)}); err != nil {
			return err
		}
	}
	_, _ = inNS(ctx, w.Netns, "arping", "-q", "-U", "-c", "1", "-I", "eth0", addrOf(w.IP))
	return nil
}

// pickPinger prefers a workload of the same VNI on a node that is neither the source nor the
// destination (the case where EVPN convergence, not local flooding, ends the outage).
func pickPinger(s *State, w *Workload, to string) *Workload {
	var fallback *Workload
	for i := range s.Workloads {
		o := &s.Workloads[i]
		if o.Name == w.Name || o.VNI != w.VNI {
			continue
		}
		if o.Node != w.Node && o.Node != to {
			return o
		}
		if fallback == nil {
			fallback = o
		}
	}
	return fallback
}

// Exec runs a command in a lab target's namespace.
func Exec(ctx context.Context, s *State, target string, argv []string) (string, error) {
	ns, err := s.Target(target)
	if err != nil {
		return "", err
	}
	if len(argv) == 0 {
		return "", fmt.Errorf("no command given")
	}
	out, err := inNS(ctx, ns, argv...)
	return strings.TrimRight(out, "\n"), err
}
