package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
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
	return MigrateWith(ctx, s, workload, to, MigrateOptions{Interval: interval, Announce: AnnounceGARP})
}

// How a migrated workload tells the network where it is now.
const (
	// AnnounceGARP: a gratuitous ARP (MAC and IP), as many hypervisors send.
	AnnounceGARP = "garp"
	// AnnounceRARP: a RARP (MAC only, no IP), what QEMU sends after a live migration
	// (KubeVirt): the bridges learn the MAC, no neighbour table learns the IP.
	AnnounceRARP = "rarp"
	// AnnounceNone: nothing; the workload stays silent until it is spoken to.
	AnnounceNone = "none"
)

// MigrateOptions tune a migration.
type MigrateOptions struct {
	// Interval is the probes' interval.
	Interval time.Duration
	// Announce is AnnounceGARP (the default), AnnounceRARP or AnnounceNone.
	Announce string
	// Pinger is who probes: a workload, or an external host for routed traffic through the
	// L3VNI (ext-red). Default: a workload of the same segment on a third node.
	Pinger string
}

// MigrateWith is Migrate with options.
func MigrateWith(ctx context.Context, s *State, workload, to string, o MigrateOptions) (MigrationResult, error) {
	interval := o.Interval
	switch o.Announce {
	case "":
		o.Announce = AnnounceGARP
	case AnnounceGARP, AnnounceRARP, AnnounceNone:
	default:
		return MigrationResult{}, fmt.Errorf("announce %q: want garp, rarp or none", o.Announce)
	}
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
	pingerName, pingerNS := o.Pinger, ""
	if pingerName != "" {
		if pingerNS, err = s.Target(pingerName); err != nil {
			return MigrationResult{}, fmt.Errorf("pinger: %w", err)
		}
	} else {
		p := pickPinger(s, w, to)
		if p == nil {
			return MigrationResult{}, fmt.Errorf("no other workload on VNI %d can probe %s", w.VNI, workload)
		}
		pingerName, pingerNS = p.Name, p.Netns
	}
	target := netip.MustParsePrefix(w.IP).Addr()
	res := MigrationResult{Workload: workload, From: src.Name, To: to, Pinger: pingerName}

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
		r, err := Probe(ctx, pingerNS, target, interval, lead+tail)
		ch <- probeOut{r, err}
	}()
	select {
	case <-ctx.Done():
		unprepare()
		return res, ctx.Err()
	case <-time.After(lead):
	}
	moved, err := s.switchover(ctx, w, src, dst, o.Announce)
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
//
// Its workload end takes an ifindex of 60000 and up (see attach), alternating between two so
// that it never meets the current eth0's: an index the kernel picked in the workload's
// namespace could equal the node end's, and equal indexes make the kernel hold the carrier
// change for up to a second (a migration measured 1.25 s instead of 0.22 s once).
func (s *State) prepareMove(ctx context.Context, w *Workload, dst *Node) error {
	bridge := fmt.Sprintf("br-hs-%d", w.VNI)
	hw, err := handleIn(w.Netns)
	if err != nil {
		return err
	}
	defer hw.Close()
	cur, err := hw.LinkByName("eth0")
	if err != nil {
		return err
	}
	index := workloadIndex(w, 0)
	if cur.Attrs().Index == index {
		index = workloadIndex(w, 1)
	}
	if err := ip(ctx, "link", "add", nextPort, "index", fmt.Sprint(index), "netns", w.Netns, "address", w.MAC, "type", "veth", "peer", "name", w.Port, "netns", dst.Netns); err != nil {
		return err
	}
	return plugPort(ctx, dst.Netns, w.Port, bridge)
}

// switchover is the moment of the move, done in-process over netlink (each `ip` command
// would add milliseconds, and deleting a veth waits for the kernel's RCU): the old port goes
// down, as a paused VM's would; the prepared one becomes eth0 with the workload's address
// and route; the workload announces itself with a gratuitous ARP; only then is the old veth
// deleted. moved says whether the old port is down: from then on the workload belongs to
// dst, even if a later step failed (Reattach or down repair it).
func (s *State) switchover(ctx context.Context, w *Workload, src, dst *Node, announce string) (moved bool, err error) {
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
	cur, err := hw.LinkByName("eth0")
	if err != nil {
		return false, err
	}
	if err := hs.LinkSetDown(old); err != nil {
		return false, fmt.Errorf("stop the old port: %w", err)
	}
	w.Node = dst.Name
	if err := hw.LinkSetDown(cur); err != nil {
		return true, err
	}
	if err := hw.LinkSetName(cur, retiredPort); err != nil {
		return true, err
	}
	if err := s.bringUp(hw, w, announce); err != nil {
		return true, err
	}
	// Deleting the workload's end removes the pair, the old node's port with it.
	if err := hw.LinkDel(cur); err != nil {
		return true, fmt.Errorf("remove the old port: %w", err)
	}
	return true, nil
}

// retiredPort is the name of the workload's old interface between the switchover and its
// deletion.
const retiredPort = "old0"

// bringUp turns the prepared port into the workload's eth0 with its address and route, and
// announces the workload with a gratuitous ARP.
func (s *State) bringUp(hw *netlink.Handle, w *Workload, announce string) error {
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
	ip, err := netip.ParsePrefix(w.IP)
	if err != nil {
		return err
	}
	switch announce {
	case AnnounceRARP:
		return sendRARP(w.Netns, l.Attrs().Index, l.Attrs().HardwareAddr)
	case AnnounceNone:
		return nil
	}
	return sendGARP(w.Netns, l.Attrs().Index, l.Attrs().HardwareAddr, ip.Addr())
}

// Announce has a workload send a gratuitous ARP from its eth0, as it would on boot or after
// a migration: the fabric (re)learns its MAC and IP.
func Announce(s *State, workload string) error {
	w, err := s.Workload(workload)
	if err != nil {
		return err
	}
	hw, err := handleIn(w.Netns)
	if err != nil {
		return err
	}
	defer hw.Close()
	l, err := hw.LinkByName("eth0")
	if err != nil {
		return err
	}
	ip, err := netip.ParsePrefix(w.IP)
	if err != nil {
		return err
	}
	return sendGARP(w.Netns, l.Attrs().Index, l.Attrs().HardwareAddr, ip.Addr())
}

// sendRARP broadcasts a reverse ARP request for mac from ifindex in namespace ns, as QEMU
// announces a live-migrated VM: it moves the MAC in every bridge on its way and tells nobody
// the VM's IP.
func sendRARP(ns string, ifindex int, mac net.HardwareAddr) error {
	if len(mac) != 6 {
		return fmt.Errorf("RARP needs a MAC, got %s", mac)
	}
	const ethPRARP = 0x8035
	frame := make([]byte, 0, 42)
	frame = append(frame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	frame = append(frame, mac...)
	frame = append(frame, 0x80, 0x35)                   // RARP
	frame = append(frame, 0, 1, 0x08, 0x00, 6, 4, 0, 3) // Ethernet, IPv4, request reverse
	frame = append(frame, mac...)
	frame = append(frame, 0, 0, 0, 0)
	frame = append(frame, mac...)
	frame = append(frame, 0, 0, 0, 0)
	return sendFrame(ns, ifindex, ethPRARP, frame)
}

// sendGARP broadcasts a gratuitous ARP request (sender and target = ip) from ifindex in
// namespace ns: what a live-migrated VM sends so the network learns its new place.
func sendGARP(ns string, ifindex int, mac net.HardwareAddr, ip netip.Addr) error {
	if !ip.Is4() || len(mac) != 6 {
		return fmt.Errorf("gratuitous ARP needs an IPv4 address and a MAC, got %s %s", ip, mac)
	}
	const ethPARP = 0x0806
	frame := make([]byte, 0, 42)
	frame = append(frame, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	frame = append(frame, mac...)
	frame = append(frame, 0x08, 0x06)                   // ARP
	frame = append(frame, 0, 1, 0x08, 0x00, 6, 4, 0, 1) // Ethernet, IPv4, request
	frame = append(frame, mac...)
	frame = append(frame, ip.AsSlice()...)
	frame = append(frame, 0, 0, 0, 0, 0, 0)
	frame = append(frame, ip.AsSlice()...)
	return sendFrame(ns, ifindex, ethPARP, frame)
}

// sendFrame broadcasts an Ethernet frame of protocol proto from ifindex in namespace ns.
func sendFrame(ns string, ifindex int, proto uint16, frame []byte) error {
	return netnamespace.Do(ns, func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW, int(htons(proto)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		defer unix.Close(fd)
		to := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: ifindex, Halen: 6}
		copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		if err := unix.Sendto(fd, frame, 0, to); err != nil {
			return fmt.Errorf("send %#04x frame: %w", proto, err)
		}
		return nil
	})
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

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

// Exec runs a command in a lab target's namespace (see ExecArgs).
func Exec(ctx context.Context, s *State, target string, argv []string) (string, error) {
	args, err := s.ExecArgs(target, argv)
	if err != nil {
		return "", err
	}
	out, err := run(ctx, args[0], args[1:]...)
	return strings.TrimRight(out, "\n"), err
}
