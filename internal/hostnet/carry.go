package hostnet

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/plan"
)

// Workloads' neighbour entries live on their segment's layer-3 interface in the router
// namespace (br-pe-<vni> in the per-VNI layout, svi-<vni> on the single VXLAN device); zebra
// turns them into MAC+IP routes. When a pass replaces that interface while the segment stays
// (a node moving between layouts), the entries go with the old device, and a silent workload
// would lose its MAC+IP route until it speaks. So the pass reads them first and has the new
// interface resolve each address: the workload answers the ARP request or neighbour
// solicitation, the kernel and zebra learn it again.

// neighboursToCarry returns the local neighbour addresses of the planned VNIs' layer-3
// interfaces that are not the plan's (about to be replaced), by VNI. It reads the neighbour
// table only when there is such a device.
func (r *run) neighboursToCarry() (map[uint32][]netip.Addr, error) {
	planned := map[uint32]string{}
	for _, v := range r.kp.L2VNIs {
		planned[v.VNI] = l3Device(v)
	}
	old := map[int]uint32{}
	for _, l := range r.rs.byIndex {
		vni, ok := plan.SegmentVNI(l.name)
		if !ok || !ownedRouter(l) {
			continue
		}
		if dev, ok := planned[vni]; ok && dev != l.name {
			old[l.index] = vni
		}
	}
	if len(old) == 0 {
		return nil, nil
	}
	out := map[uint32][]netip.Addr{}
	req := r.rc.request(unix.RTM_GETNEIGH, unix.NLM_F_DUMP)
	req.AddRawData(ndmsg(unix.AF_UNSPEC, 0, 0, 0))
	err := r.rc.dump(req, unix.RTM_NEWNEIGH, func(b []byte) error {
		n, ok := parseNeigh(b)
		vni, replaced := old[n.index]
		if ok && replaced && (n.family == unix.AF_INET || n.family == unix.AF_INET6) && !n.remote() &&
			len(n.mac) == 6 && n.ip.IsValid() && !n.ip.IsLinkLocalUnicast() {
			out[vni] = append(out[vni], n.ip)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the neighbours of the segment interfaces being replaced (silent workloads may lose their MAC+IP routes until they speak): %w", err)
	}
	return out, nil
}

// carryNeighbours has each VNI's planned layer-3 interface resolve the addresses its
// predecessor knew.
func (r *run) carryNeighbours(carried map[uint32][]netip.Addr) {
	for _, v := range r.kp.L2VNIs {
		ips := carried[v.VNI]
		l := r.rs.byName[l3Device(v)]
		if len(ips) == 0 || l == nil {
			continue
		}
		for _, ip := range ips {
			if err := r.rc.resolve(l.index, ip); err != nil {
				r.res.Warnings = append(r.res.Warnings, fmt.Sprintf("L2VNI %d: resolve %s on %s after replacing its interface: %v", v.VNI, ip, l.name, err))
			}
		}
	}
}
