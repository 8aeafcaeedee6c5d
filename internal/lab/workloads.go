package lab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// plannedWorkloads are the lab's workloads: one per node on the L2VNI "web" (VNI 110), and in
// the L3 lab db2 on VNI 120 (same VRF, another segment) and iso1 on VNI 130 (VRF blue).
func (s *State) plannedWorkloads() []Workload {
	mk := func(name string, vni, node int) Workload {
		w := Workload{
			Name: name, Netns: s.ns(name), Node: fmt.Sprintf("node%d", node), VNI: vni,
			IP:  fmt.Sprintf("192.168.%d.%d/24", vni, 10+node),
			MAC: fmt.Sprintf("02:00:00:00:%02x:%02x", vni, node),
		}
		if s.L3 {
			w.Gateway = gatewayOf(vni)
		}
		return w
	}
	var ws []Workload
	for i := range s.Nodes {
		ws = append(ws, mk(fmt.Sprintf("web%d", i+1), 110, i+1))
	}
	if s.L3 {
		ws = append(ws, mk("db2", 120, 2), mk("iso1", 130, 1))
	}
	return ws
}

// attach creates workload w's namespace and plugs it into its L2VNI's host bridge on node n.
// The two veth ends get different ifindexes: equal ones make a carrier change a non-urgent
// linkwatch event, which holds the workload's queue down for up to a second.
func (s *State) attach(ctx context.Context, w *Workload, n *Node) error {
	if err := ensureNS(ctx, w.Netns); err != nil {
		return err
	}
	bridge := fmt.Sprintf("br-hs-%d", w.VNI)
	if err := poll(ctx, 30*time.Second, func() error { return ip(ctx, "-n", n.Netns, "link", "show", bridge) }); err != nil {
		return fmt.Errorf("host bridge %s on %s: %w", bridge, n.Name, err)
	}
	w.Port = "p-" + w.Name
	if len(w.Port) > 15 {
		w.Port = w.Port[:15]
	}
	if err := ip(ctx, "link", "add", "eth0", "index", fmt.Sprint(workloadIndex(w, 0)), "netns", w.Netns, "address", w.MAC, "type", "veth", "peer", "name", w.Port, "netns", n.Netns); err != nil {
		return err
	}
	if err := plugPort(ctx, n.Netns, w.Port, bridge); err != nil {
		return err
	}
	if _, err := inNS(ctx, w.Netns, "ip", "addr", "add", w.IP, "dev", "eth0"); err != nil && !strings.Contains(err.Error(), "exists") {
		return err
	}
	if err := ip(ctx, "-n", w.Netns, "link", "set", "eth0", "up"); err != nil {
		return err
	}
	if w.Gateway != "" {
		if err := ip(ctx, "-n", w.Netns, "route", "replace", "default", "via", w.Gateway); err != nil {
			return err
		}
	}
	w.Node = n.Name
	// Announce the workload at once (what a VM does after a live migration).
	_, _ = inNS(ctx, w.Netns, "arping", "-q", "-U", "-c", "1", "-I", "eth0", strings.Split(w.IP, "/")[0])
	return nil
}

// plugPort puts a workload's host-side port into its bridge the way a CNI plugin should: with
// addrgenmode none before it comes up, so the port never has a link-local address and never
// sends a frame of its own (router solicitations, MLD) into the tenant segment, where its
// MAC would become an EVPN route. Addrgenmode goes first, alone: in one request the kernel
// would bring the port up before it applies it.
func plugPort(ctx context.Context, ns, port, bridge string) error {
	if err := ip(ctx, "-n", ns, "link", "set", port, "addrgenmode", "none"); err != nil {
		return err
	}
	return ip(ctx, "-n", ns, "link", "set", port, "master", bridge, "up")
}

// workloadIndex is the ifindex of a workload's end of its port, in slot 0 or 1 (a migration
// alternates them). Workload ends take ifindexes from 60000 up, far above anything a node's
// counter reaches, so the two ends of a port never share one.
func workloadIndex(w *Workload, slot int) int {
	var idx int
	fmt.Sscanf(strings.TrimLeft(w.Name, "abcdefghijklmnopqrstuvwxyz"), "%d", &idx)
	return 60000 + 1000*slot + idx
}
