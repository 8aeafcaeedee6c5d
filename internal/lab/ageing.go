package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/plan"
)

// SetAgeing shortens how long the nodes' segment bridges (br-pe-<vni> in each router
// namespace, or the one br-pe-svd of the single-VXLAN-device layout) remember a silent
// workload, so a test sees in a minute what production sees in five: the bridge forgets a
// MAC after ageing without a frame from it (bridge ageing_time, 300 s by default), which
// withdraws the workload's MAC and MAC+IP routes; and a neighbour entry on the segment's
// layer-3 interface (br-pe-<vni>, or svi-<vni> on the single device) turns STALE after about
// ageing/6 (base_reachable_time_ms, 30 s by default), which is when weft-agent's neighbour
// refresher asks the kernel to confirm it, and the workload's answer refreshes the bridge's
// memory. Devices created later keep the kernel's defaults.
func SetAgeing(ctx context.Context, s *State, ageing time.Duration) error {
	if ageing < 6*time.Second {
		return fmt.Errorf("ageing %v is shorter than 6 s", ageing)
	}
	reach := ageing / 6
	for _, n := range s.Nodes {
		out, err := inNS(ctx, n.RouterNetns, "ip", "-br", "link", "show")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			dev, _, _ := strings.Cut(f[0], "@") // a VLAN device is listed as name@bridge
			if strings.HasPrefix(dev, "br-pe-") {
				if _, err := inNS(ctx, n.RouterNetns, "ip", "link", "set", "dev", dev, "type", "bridge", "ageing_time", fmt.Sprint(ageing.Milliseconds()/10)); err != nil {
					return err
				}
			}
			if _, ok := plan.SegmentVNI(dev); !ok {
				continue
			}
			for _, fam := range []string{"ipv4", "ipv6"} {
				for k, v := range map[string]int64{"base_reachable_time_ms": reach.Milliseconds(), "delay_first_probe_time": 1} {
					if _, err := inNS(ctx, n.RouterNetns, "sysctl", "-qw", fmt.Sprintf("net.%s.neigh.%s.%s=%d", fam, dev, k, v)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// MACIPRoute says whether router (a node, or the spine) has the EVPN type-2 route of mac
// with ip.
func MACIPRoute(ctx context.Context, s *State, router, mac, ip string) (bool, error) {
	ns, pathspace := s.Spine, s.Spine
	if router != s.Spine {
		n, err := s.Node(router)
		if err != nil {
			return false, err
		}
		ns, pathspace = n.RouterNetns, n.RouterNetns
	}
	out, err := inNS(ctx, ns, s.frr().Vtysh, "-N", pathspace, "-c", "show bgp l2vpn evpn route type macip")
	if err != nil {
		return false, err
	}
	return strings.Contains(out, fmt.Sprintf("[48]:[%s]:[32]:[%s]", strings.ToLower(mac), ip)), nil
}

// ReachableTime returns the interface of node's router namespace that holds the neighbour
// entry of ip (the segment's layer-3 interface, where the refresher watches it) and that
// interface's base reachable time.
func ReachableTime(ctx context.Context, s *State, node string, ip netip.Addr) (string, time.Duration, error) {
	n, err := s.Node(node)
	if err != nil {
		return "", 0, err
	}
	out, err := inNS(ctx, n.RouterNetns, "ip", "-j", "neigh", "show", "to", ip.String())
	if err != nil {
		return "", 0, err
	}
	var entries []struct {
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		return "", 0, fmt.Errorf("ip neigh show to %s in %s: %w: %s", ip, n.RouterNetns, err, out)
	}
	if len(entries) == 0 {
		return "", 0, fmt.Errorf("no neighbour entry for %s in %s", ip, n.RouterNetns)
	}
	fam := "ipv4"
	if ip.Is6() {
		fam = "ipv6"
	}
	dev := entries[0].Dev
	v, err := inNS(ctx, n.RouterNetns, "sysctl", "-n", fmt.Sprintf("net.%s.neigh.%s.base_reachable_time_ms", fam, dev))
	if err != nil {
		return "", 0, err
	}
	ms, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return "", 0, fmt.Errorf("base_reachable_time_ms of %s: %w", dev, err)
	}
	return dev, time.Duration(ms) * time.Millisecond, nil
}
