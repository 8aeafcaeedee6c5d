package lab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// SetAgeing shortens how long the nodes' segment bridges (br-pe-<vni> in each router
// namespace) remember a silent workload, so a test sees in a minute what production sees in
// five: the bridge forgets a MAC after ageing without a frame from it (bridge ageing_time,
// 300 s by default), which withdraws the workload's MAC and MAC+IP routes; and a neighbour
// entry turns STALE after about ageing/6 (base_reachable_time_ms, 30 s by default), which is
// when weft-agent's neighbour refresher asks the kernel to confirm it, and the workload's
// answer refreshes the bridge's memory. Bridges created later keep the kernel's defaults.
func SetAgeing(ctx context.Context, s *State, ageing time.Duration) error {
	if ageing < 6*time.Second {
		return fmt.Errorf("ageing %v is shorter than 6 s", ageing)
	}
	reach := ageing / 6
	for _, n := range s.Nodes {
		out, err := inNS(ctx, n.RouterNetns, "ip", "-br", "link", "show", "type", "bridge")
		if err != nil {
			return err
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || !strings.HasPrefix(f[0], "br-pe-") {
				continue
			}
			br := f[0]
			if _, err := inNS(ctx, n.RouterNetns, "ip", "link", "set", "dev", br, "type", "bridge", "ageing_time", fmt.Sprint(ageing.Milliseconds()/10)); err != nil {
				return err
			}
			for _, fam := range []string{"ipv4", "ipv6"} {
				for k, v := range map[string]int64{"base_reachable_time_ms": reach.Milliseconds(), "delay_first_probe_time": 1} {
					if _, err := inNS(ctx, n.RouterNetns, "sysctl", "-qw", fmt.Sprintf("net.%s.neigh.%s.%s=%d", fam, br, k, v)); err != nil {
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
