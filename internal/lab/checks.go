package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/frrproc"
)

// The checks below are what the demo prints and what the end-to-end suite asserts. Each
// returns nil when the lab behaves as it should, or an error saying what it saw instead.
// Positive checks poll for up to convergeTimeout (routes take a moment to reach the
// kernel); negative ones run after a positive control has shown the path is converged.

const convergeTimeout = 30 * time.Second

// CheckSession checks that node's BGP session to its leaf is established.
func CheckSession(ctx context.Context, s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	return s.waitSession(ctx, n, convergeTimeout)
}

// waitSession waits until node n's session to its leaf is established. When it is not, the
// error carries what both ends and their kernels say about it: whether the leaf's daemons
// run, why the session was last reset (FRR says "Waiting for NHT" when zebra has no route to
// the peer), the connected routes and the link states.
func (s *State) waitSession(ctx context.Context, n *Node, timeout time.Duration) error {
	err := poll(ctx, timeout, func() error {
		out, err := inNS(ctx, n.RouterNetns, s.frr().Vtysh, "-N", n.RouterNetns, "-c", "show bgp summary")
		if err != nil {
			return err
		}
		u, err := s.NodeUplink(n.Name, 1)
		if err != nil {
			return err
		}
		if !strings.Contains(out, u.Peer) || notEstablished(out) {
			return fmt.Errorf("node %s: BGP not established:\n%s", n.Name, out)
		}
		return nil
	})
	if err == nil || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w\n%s", err, s.sessionDiagnosis(ctx, n))
}

// notEstablished says whether a "show bgp summary" lists a session in a state before
// Established.
func notEstablished(summary string) bool {
	for _, state := range []string{"Active", "Connect", "Idle"} {
		if strings.Contains(summary, state) {
			return true
		}
	}
	return false
}

// waitSpineSessions waits until the spine's sessions to every leaf are established; when
// they are not, the error has the spine's summary and the leaves' daemons.
func (s *State) waitSpineSessions(ctx context.Context, timeout time.Duration) error {
	err := poll(ctx, timeout, func() error {
		out, err := inNS(ctx, s.Spine, s.frr().Vtysh, "-N", s.Spine, "-c", "show bgp summary")
		if err != nil {
			return err
		}
		for j := range s.Leaves {
			peer := s.ul(leafUplinkAddr(j + 1))
			if !s.numbered() {
				peer = spinePort(j + 1)
			}
			if !strings.Contains(out, peer) {
				return fmt.Errorf("spine: no session to %s:\n%s", peer, out)
			}
		}
		if notEstablished(out) {
			return fmt.Errorf("spine: a session to a leaf is not established:\n%s", out)
		}
		return nil
	})
	if err == nil || ctx.Err() != nil {
		return err
	}
	var alive []string
	for _, l := range s.Leaves {
		for _, d := range s.routerDaemons() {
			alive = append(alive, l.Name+"/"+d+"="+daemonState(l.Netns, d))
		}
	}
	return fmt.Errorf("%w\n--- leaf daemons ---\n%s", err, strings.Join(alive, " "))
}

// waitHostSession waits until the BGP speaker on node n's host has its session to weft (the
// router side of VRF red's veth) established; when it has not, the error has both ends' view.
func (s *State) waitHostSession(ctx context.Context, n *Node, timeout time.Duration) error {
	err := poll(ctx, timeout, func() error {
		out, err := inNS(ctx, n.Netns, s.frr().Vtysh, "-N", n.Netns, "-c", "show bgp neighbors "+hostRouterIP)
		if err != nil {
			return err
		}
		if !strings.Contains(out, "BGP state = Established") {
			return fmt.Errorf("the BGP speaker on %s's host has no session to %s", n.Name, hostRouterIP)
		}
		return nil
	})
	if err == nil || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w\n%s", err, s.hostSessionDiagnosis(ctx, n))
}

// hostSessionDiagnosis is what both ends of node n's host session say about it.
func (s *State) hostSessionDiagnosis(ctx context.Context, n *Node) string {
	var b strings.Builder
	for _, q := range []struct{ ns, what, cmd string }{
		{n.Netns, n.Name + " host speaker", "show bgp summary"},
		{n.Netns, n.Name + " host speaker", "show bgp neighbors " + hostRouterIP},
		{n.RouterNetns, n.Name + " router, VRF red", "show bgp vrf red summary"},
		{n.RouterNetns, n.Name + " router, VRF red", "show interface vrf red brief"},
	} {
		out, err := inNS(ctx, q.ns, s.frr().Vtysh, "-N", q.ns, "-c", q.cmd)
		fmt.Fprintf(&b, "--- %s: %s ---\n%s", q.what, q.cmd, out)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	return b.String()
}

// sessionDiagnosis gathers what explains a session to the leaf that does not come up.
func (s *State) sessionDiagnosis(ctx context.Context, n *Node) string {
	i := n.Link
	leafPeer, nodePeer := s.ul(leafPortAddr(i)), s.ul(nodeUplinkAddr(i))
	if !s.numbered() {
		leafPeer, nodePeer = uplinkName, nodePort(i)
	}
	leaf := s.leaf(n.Leaf)
	if leaf == nil {
		return fmt.Sprintf("(node %s has no leaf %q)\n", n.Name, n.Leaf)
	}
	var b strings.Builder
	section := func(title string, out string, err error) {
		fmt.Fprintf(&b, "--- %s ---\n%s", title, out)
		if err != nil {
			fmt.Fprintf(&b, "(%v)\n", err)
		}
	}
	keep := func(out string, err error) (string, error) {
		var kept []string
		for _, l := range strings.Split(out, "\n") {
			for _, k := range []string{"BGP state", "Last reset", "Connections established", "Local host", "Foreign host", "Next connect", "Nexthop", "Read thread", "Peer Authentication", "connected", "not reachable"} {
				if strings.Contains(l, k) {
					kept = append(kept, l)
					break
				}
			}
		}
		return strings.Join(kept, "\n") + "\n", err
	}
	vty := func(ns, cmd string) (string, error) { return inNS(ctx, ns, s.frr().Vtysh, "-N", ns, "-c", cmd) }
	var alive []string
	for _, d := range s.routerDaemons() {
		alive = append(alive, d+"="+daemonState(leaf.Netns, d))
	}
	section(leaf.Name+" daemons", strings.Join(alive, " ")+"\n", nil)
	out, err := keep(vty(n.RouterNetns, "show bgp neighbors "+leafPeer))
	section(n.Name+": show bgp neighbors "+leafPeer, out, err)
	if s.numbered() {
		// An unnumbered session's peer is an interface: zebra has no route to it to show.
		out, err = vty(n.RouterNetns, s.showRoute()+leafPeer)
		section(n.Name+": zebra's route to "+leafPeer, out, err)
	}
	out, err = vty(n.RouterNetns, "show interface "+uplinkName)
	if lines := strings.SplitAfter(out, "\n"); len(lines) > 12 {
		out = strings.Join(lines[:12], "")
	}
	section(n.Name+": zebra's "+uplinkName, out, err)
	out, err = run(ctx, "ip", "-n", n.RouterNetns, "-br", "addr")
	section(n.Name+": kernel addresses", out, err)
	out, err = keep(vty(leaf.Netns, "show bgp neighbors "+nodePeer))
	section(leaf.Name+": show bgp neighbors "+nodePeer, out, err)
	if s.numbered() {
		out, err = vty(leaf.Netns, s.showRoute()+nodePeer)
		section(leaf.Name+": zebra's route to "+nodePeer, out, err)
	}
	out, err = run(ctx, "ip", "-n", leaf.Netns, "-br", "link", "show", nodePort(i))
	section(leaf.Name+": kernel link", out, err)
	return b.String()
}

// daemonState says whether FRR daemon d of pathspace ns runs: its pid, or why not.
func daemonState(ns, d string) string {
	pid, err := frrproc.ReadPID(frrproc.PIDFile(ns, d))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no pid file"
	case err != nil:
		return "bad pid file"
	case !frrproc.DaemonOf(pid, ns) || !frrproc.Alive(pid):
		return fmt.Sprintf("%d (dead)", pid)
	}
	return strconv.Itoa(pid)
}

// CheckPing checks that from reaches ip.
func CheckPing(ctx context.Context, s *State, from, ip string) error {
	return poll(ctx, convergeTimeout, func() error { return pingOnce(ctx, s, from, ip) })
}

// CheckNoPing checks that from does not reach ip (two probes, one second each).
func CheckNoPing(ctx context.Context, s *State, from, ip string) error {
	ns, err := s.Target(from)
	if err != nil {
		return err
	}
	if _, err := inNS(ctx, ns, "ping", "-c", "2", "-i", "0.2", "-W", "1", ip); err == nil {
		return fmt.Errorf("%s reaches %s: it must not", from, ip)
	}
	return nil
}

func pingOnce(ctx context.Context, s *State, from, ip string) error {
	ns, err := s.Target(from)
	if err != nil {
		return err
	}
	_, err = inNS(ctx, ns, "ping", "-c", "1", "-W", "1", ip)
	return err
}

// CheckType2Routes checks that node's FRR has an EVPN type-2 route for the MAC of every
// workload of vni.
func CheckType2Routes(ctx context.Context, s *State, node string, vni int) error {
	return poll(ctx, convergeTimeout, func() error {
		out, err := Vtysh(ctx, s, node, "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		for _, w := range s.Workloads {
			if w.VNI == vni && !strings.Contains(out, w.MAC) {
				return fmt.Errorf("no type-2 route for %s (%s) on %s", w.Name, w.MAC, node)
			}
		}
		return nil
	})
}

// CheckHostSessionLearns checks that the BGP speaker on node's host learned the external
// subnet of VRF red from weft and installed it towards the router namespace, and that the
// border's other subnet, which the node's VRF red has but the session's toAdvertise leaves
// out, never reached the host.
func CheckHostSessionLearns(ctx context.Context, s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	ext := tenants[0].extNet + ".0/24"
	err = poll(ctx, convergeTimeout, func() error {
		out, err := run(ctx, "ip", "-n", n.Netns, "route", "show", ext)
		if err != nil {
			return err
		}
		if !strings.Contains(out, "via "+hostRouterIP) {
			return fmt.Errorf("host of %s has no route to %s via %s: %q", node, ext, hostRouterIP, out)
		}
		return nil
	})
	if err != nil {
		if ctx.Err() == nil {
			err = fmt.Errorf("%w\n%s", err, s.hostSessionDiagnosis(ctx, n))
		}
		return err
	}
	// The node has the filtered subnet (the fabric sent it), so its absence on the host is
	// the filter's doing.
	filtered := tenants[0].filteredNet + ".0/24"
	if err := s.waitBestPath(ctx, n.RouterNetns, "red", filtered); err != nil {
		return fmt.Errorf("the positive control of toAdvertise: %w", err)
	}
	out, err := inNS(ctx, n.Netns, s.frr().Vtysh, "-N", n.Netns, "-c", "show bgp ipv4 unicast "+filtered)
	if err == nil && !strings.Contains(out, "not in table") {
		return fmt.Errorf("host of %s learned %s, which toAdvertise leaves out:\n%s", node, filtered, out)
	}
	if out, _ := run(ctx, "ip", "-n", n.Netns, "route", "show", filtered); strings.TrimSpace(out) != "" {
		return fmt.Errorf("host of %s has a route to %s, which toAdvertise leaves out: %s", node, filtered, out)
	}
	return nil
}

// waitBestPath waits until the FRR of namespace ns (pathspace ns) has a best path to prefix in
// vrf.
func (s *State) waitBestPath(ctx context.Context, ns, vrf, prefix string) error {
	return poll(ctx, convergeTimeout, func() error {
		out, err := inNS(ctx, ns, s.frr().Vtysh, "-N", ns, "-c", "show bgp vrf "+vrf+" ipv4 unicast "+prefix)
		if err != nil {
			return err
		}
		if !strings.Contains(out, "best") {
			return fmt.Errorf("%s has no best path to %s in vrf %s:\n%s", ns, prefix, vrf, out)
		}
		return nil
	})
}

// CheckHostPrefixInFabric checks that the prefix the host speaker announces reached the
// border's VRF red, and that the external host reaches an address in it; and that the other
// prefix it announces, which the session's toReceive leaves out, reached neither the node's
// VRF red nor the border.
func CheckHostPrefixInFabric(ctx context.Context, s *State) error {
	if err := s.waitBestPath(ctx, s.Spine, "red", hostPrefix); err != nil {
		return err
	}
	if err := CheckPing(ctx, s, "ext-red", hostPrefixIP); err != nil {
		return err
	}
	n := &s.Nodes[0]
	// The host speaker does announce it: it is in its own table, as best.
	out, err := inNS(ctx, n.Netns, s.frr().Vtysh, "-N", n.Netns, "-c", "show bgp ipv4 unicast "+hostFilteredPrefix)
	if err != nil || !strings.Contains(out, "best") {
		return fmt.Errorf("the positive control of toReceive: the host speaker of %s does not announce %s (%v):\n%s", n.Name, hostFilteredPrefix, err, out)
	}
	for _, ns := range []string{n.RouterNetns, s.Spine} {
		out, err := inNS(ctx, ns, s.frr().Vtysh, "-N", ns, "-c", "show bgp vrf red ipv4 unicast "+hostFilteredPrefix)
		if err == nil && !strings.Contains(out, "not in table") {
			return fmt.Errorf("%s has %s in vrf red, which toReceive leaves out:\n%s", ns, hostFilteredPrefix, out)
		}
	}
	return nil
}

// tenantPrefixes are the first octets of every tenant address of the lab.
var tenantPrefixes = []string{"192.168.", "172.16.", "172.31.", "10.10.", "10.99."}

// CheckMainTableClean checks that no tenant route leaked into the main routing table of any
// router namespace, nor of the host of a node without a host speaker.
func CheckMainTableClean(ctx context.Context, s *State) error {
	var errs []error
	look := func(ns string) {
		out, err := run(ctx, "ip", "-n", ns, "route", "show", "table", "main")
		if err != nil {
			errs = append(errs, err)
			return
		}
		for _, l := range strings.Split(out, "\n") {
			for _, p := range tenantPrefixes {
				if strings.HasPrefix(l, p) {
					errs = append(errs, fmt.Errorf("%s: tenant route in the main table: %s", ns, l))
				}
			}
		}
	}
	for i, n := range s.Nodes {
		look(n.RouterNetns)
		if i > 0 {
			look(n.Netns)
		}
	}
	return errors.Join(errs...)
}

// CheckIsolation checks that VRF blue and VRF red do not reach each other: iso1 (blue) and
// ext-blue cannot reach web1 (red), ext-red cannot reach iso1. ext-blue reaching iso1 first
// shows that blue is converged, so the negative results mean isolation, not slowness.
func CheckIsolation(ctx context.Context, s *State) error {
	iso, err := s.Workload("iso1")
	if err != nil {
		return err
	}
	web, err := s.Workload("web1")
	if err != nil {
		return err
	}
	if err := CheckPing(ctx, s, "ext-blue", addrOf(iso.IP)); err != nil {
		return fmt.Errorf("positive control: %w", err)
	}
	if err := CheckPing(ctx, s, "ext-red", addrOf(web.IP)); err != nil {
		return fmt.Errorf("positive control: %w", err)
	}
	return errors.Join(
		CheckNoPing(ctx, s, "iso1", addrOf(web.IP)),
		CheckNoPing(ctx, s, "ext-blue", addrOf(web.IP)),
		CheckNoPing(ctx, s, "ext-red", addrOf(iso.IP)),
		CheckMainTableClean(ctx, s),
		s.checkRouteTargets(ctx, web, iso),
	)
}

// checkRouteTargets checks, on the border, that each tenant's subnets arrive as type-5
// routes carrying the tenant's own route target and are imported by its VRF only: the
// other VRF has the same EVPN routes at hand and imports none.
func (s *State) checkRouteTargets(ctx context.Context, ws ...*Workload) error {
	evpn, err := inNS(ctx, s.Spine, s.frr().Vtysh, "-N", s.Spine, "-c", "show bgp l2vpn evpn route type prefix")
	if err != nil {
		return err
	}
	var errs []error
	for _, w := range ws {
		subnet := netip.MustParsePrefix(w.IP).Masked()
		var own tenant
		for _, seg := range segments(true) {
			for _, t := range tenants {
				if seg.vni == w.VNI && seg.vrf == t.vrf {
					own = t
				}
			}
		}
		if !strings.Contains(evpn, fmt.Sprintf("[5]:[0]:[%d]:[%s]", subnet.Bits(), subnet.Addr())) || !strings.Contains(evpn, "RT:"+own.rt) {
			errs = append(errs, fmt.Errorf("border: no type-5 route for %s with RT %s:\n%s", subnet, own.rt, evpn))
			continue
		}
		if auto := regexp.MustCompile(fmt.Sprintf(`RT:%d:%d\b`, fabricASN, own.vni)); auto.MatchString(evpn) {
			errs = append(errs, fmt.Errorf("border: a type-5 route carries the automatic RT %d:%d, not only the tenant's %s:\n%s", fabricASN, own.vni, own.rt, evpn))
		}
		for _, t := range tenants {
			out, err := inNS(ctx, s.Spine, s.frr().Vtysh, "-N", s.Spine, "-c", fmt.Sprintf("show bgp vrf %s ipv4 unicast %s", t.vrf, subnet))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if imported := strings.Contains(out, "best"); imported != (t.vrf == own.vrf) {
				errs = append(errs, fmt.Errorf("border: VRF %s imported %s (RT %s): %v, want %v:\n%s", t.vrf, subnet, own.rt, imported, t.vrf == own.vrf, out))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckVNIRemoved checks that every node lost the devices of vni: the bridge and VXLAN in
// its router namespace and the managed host bridge.
func CheckVNIRemoved(ctx context.Context, s *State, vni int) error {
	router := []string{fmt.Sprintf("vni%d", vni), fmt.Sprintf("br-pe-%d", vni)}
	host := []string{fmt.Sprintf("br-hs-%d", vni)}
	return poll(ctx, convergeTimeout, func() error {
		for _, n := range s.Nodes {
			for ns, devs := range map[string][]string{n.RouterNetns: router, n.Netns: host} {
				out, err := run(ctx, "ip", "-n", ns, "-br", "link")
				if err != nil {
					return err
				}
				for _, l := range strings.Split(out, "\n") {
					if f := strings.Fields(l); len(f) > 0 && slices.Contains(devs, strings.SplitN(f[0], "@", 2)[0]) {
						return fmt.Errorf("%s still has %s", ns, f[0])
					}
				}
			}
		}
		return nil
	})
}

// CheckRouteTargetLeak shows that route targets, not VRF names, decide what crosses between
// the tenants: the border's VRF blue is made to import red's route target as well (a shared
// service would), and red's subnet of workload w then arrives in the border's VRF blue, while
// every node's VRF blue, which imports blue's route target only, never has it and the border
// does not pass it on into blue's EVPN routes. The import is removed again, and the border's
// VRF blue loses the subnet.
func CheckRouteTargetLeak(ctx context.Context, s *State, w *Workload) (err error) {
	red, blue := tenants[0], tenants[1]
	subnet := netip.MustParsePrefix(w.IP).Masked().String()
	importRed := func(remove bool) error {
		cmd := "route-target import " + red.rt
		if remove {
			cmd = "no " + cmd
		}
		return s.spineConfig(ctx, []string{"configure terminal", fmt.Sprintf("router bgp %d vrf %s", fabricASN, blue.vrf), "address-family l2vpn evpn", cmd})
	}
	blueHas := func(ns string) (bool, string, error) {
		out, err := inNS(ctx, ns, s.frr().Vtysh, "-N", ns, "-c", fmt.Sprintf("show bgp vrf %s ipv4 unicast %s", blue.vrf, subnet))
		return strings.Contains(out, "best"), out, err
	}
	if err := importRed(false); err != nil {
		return err
	}
	defer func() {
		if err2 := importRed(true); err2 != nil {
			err = errors.Join(err, err2)
			return
		}
		err = errors.Join(err, poll(ctx, convergeTimeout, func() error {
			if has, out, err := blueHas(s.Spine); err != nil || has {
				return fmt.Errorf("border: VRF %s still has %s after the import of %s went (%v):\n%s", blue.vrf, subnet, red.rt, err, out)
			}
			return nil
		}))
	}()
	if err := poll(ctx, convergeTimeout, func() error {
		if has, out, err := blueHas(s.Spine); err != nil || !has {
			return fmt.Errorf("border: VRF %s imports %s but has no %s (%v):\n%s", blue.vrf, red.rt, subnet, err, out)
		}
		return nil
	}); err != nil {
		return err
	}
	var errs []error
	// The border does not re-originate the imported route into blue's EVPN routes (FRR
	// advertises no route it imported from EVPN), so the nodes never get it.
	evpn, err := inNS(ctx, s.Spine, s.frr().Vtysh, "-N", s.Spine, "-c", "show bgp l2vpn evpn route type prefix")
	if err != nil {
		return err
	}
	p := netip.MustParsePrefix(subnet)
	lines := strings.Split(evpn, "\n")
	for i, l := range lines {
		if !strings.Contains(l, fmt.Sprintf("[5]:[0]:[%d]:[%s]", p.Bits(), p.Addr())) {
			continue
		}
		for _, next := range lines[i+1 : min(i+4, len(lines))] {
			if strings.Contains(next, "RT:"+blue.rt) {
				errs = append(errs, fmt.Errorf("border: %s went out as a type-5 route with %s's RT %s:\n%s", subnet, blue.vrf, blue.rt, evpn))
			}
		}
	}
	for _, n := range s.Nodes {
		if has, out, err := blueHas(n.RouterNetns); err != nil || has {
			errs = append(errs, fmt.Errorf("%s: VRF %s has %s, which only the border's VRF %s imports (%v):\n%s", n.Name, blue.vrf, subnet, blue.vrf, err, out))
		}
	}
	return errors.Join(errs...)
}
