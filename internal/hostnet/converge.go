package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// linkWant is the desired state of the attributes converge compares.
type linkWant struct {
	up          bool
	mtu         int              // 0: leave as is
	mac         net.HardwareAddr // nil: leave as is
	master      int              // 0: no master
	genModeNone bool
	bridgePort  bool // learning off, neigh_suppress on
	// closed keeps the host's own stack off the device (a Managed host bridge, whose segment
	// belongs to tenants): IPv4 rp_filter on and arp_ignore 8, so with no address of its own
	// the device neither answers ARP nor delivers IPv4 to the host, whatever address a frame
	// is sent to; multicast snooping off, so the bridge joins no group and sends no IGMP or
	// MLD report of its own into the segment (its MAC would become an EVPN route); IPv6 goes
	// off altogether (queued for the batch of sysctl writes, see disableIPv6). Implies
	// genModeNone.
	closed bool
}

// Values of the IPv4 settings of a closed device: rp_filter strict (with no address on the
// device every source fails the check), arp_ignore 8 (never answer ARP on it).
const (
	closedRPFilter  = 1
	closedARPIgnore = 8
)

// converge compares one link with w and writes only what differs: one request for everything
// that can go together, and "up" separately when addrgenmode changes in the same pass (the
// kernel brings a device up before it applies addrgenmode, and would give it a link-local
// address in between).
func (r *run) converge(c *conn, st *nsState, l *link, w linkWant) error {
	req, msg := c.linkMsg(l.index, false)
	changed := false
	if w.mtu > 0 && l.mtu != w.mtu {
		req.AddData(nl.NewRtAttr(unix.IFLA_MTU, u32(uint32(w.mtu))))
		changed = true
	}
	if w.mac != nil && !macEqual(l.mac, w.mac) {
		req.AddData(nl.NewRtAttr(unix.IFLA_ADDRESS, w.mac))
		changed = true
	}
	masterChanged := l.master != w.master
	if masterChanged {
		req.AddData(nl.NewRtAttr(unix.IFLA_MASTER, u32(uint32(w.master))))
		changed = true
	}
	if w.bridgePort && (l.learning != 0 || l.neighSuppress != 1 || masterChanged) {
		li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		li.AddRtAttr(nl.IFLA_INFO_SLAVE_KIND, nl.NonZeroTerminated("bridge"))
		sd := li.AddRtAttr(nl.IFLA_INFO_SLAVE_DATA, nil)
		sd.AddRtAttr(nl.IFLA_BRPORT_LEARNING, []byte{0})
		sd.AddRtAttr(nl.IFLA_BRPORT_NEIGH_SUPPRESS, []byte{1})
		if masterChanged {
			// Port flags apply to the bridge the device is in now, before the master change
			// in this request; set them in a second request below instead.
		} else {
			req.AddData(li)
			changed = true
		}
	}
	if w.closed && l.kind == "bridge" && l.mcastSnooping != 0 {
		req.AddData(bridgeSnoopingOff())
		changed = true
	}
	genChange := (w.genModeNone || w.closed) && l.genMode != 1
	inetChange := w.closed && (l.rpFilter < closedRPFilter || l.arpIgnore != closedARPIgnore)
	if genChange || inetChange {
		req.AddData(afSpecAttr(genChange, inetChange))
		changed = true
	}
	upChange := l.up != w.up
	if upChange && !genChange {
		setUp(msg, w.up)
		changed = true
		upChange = false
	}
	if changed {
		if err := c.write(req); err != nil {
			return fmt.Errorf("update %s: %w", l.name, err)
		}
		r.res.Updated++
		if w.mtu > 0 {
			l.mtu = w.mtu
		}
		if w.mac != nil {
			l.mac = w.mac
		}
		if masterChanged && l.up {
			// Joining or leaving a VRF cycles the device, which flushes IPv6 addresses.
			l.addrs = slices.DeleteFunc(l.addrs, func(p netip.Prefix) bool { return p.Addr().Is6() })
		}
		l.master = w.master
		if inetChange {
			l.rpFilter, l.arpIgnore = closedRPFilter, closedARPIgnore
		}
		if w.closed && l.kind == "bridge" {
			l.mcastSnooping = 0
		}
		if genChange {
			l.genMode = 1
		} else {
			l.up = w.up
		}
	}
	if w.bridgePort && masterChanged && w.master != 0 {
		req, _ := c.linkMsg(l.index, false)
		li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		li.AddRtAttr(nl.IFLA_INFO_SLAVE_KIND, nl.NonZeroTerminated("bridge"))
		sd := li.AddRtAttr(nl.IFLA_INFO_SLAVE_DATA, nil)
		sd.AddRtAttr(nl.IFLA_BRPORT_LEARNING, []byte{0})
		sd.AddRtAttr(nl.IFLA_BRPORT_NEIGH_SUPPRESS, []byte{1})
		req.AddData(li)
		if err := c.write(req); err != nil {
			return fmt.Errorf("update %s bridge port: %w", l.name, err)
		}
	}
	if w.bridgePort {
		l.learning, l.neighSuppress = 0, 1
	}
	if upChange {
		req, msg := c.linkMsg(l.index, false)
		setUp(msg, w.up)
		if err := c.write(req); err != nil {
			return fmt.Errorf("set %s up: %w", l.name, err)
		}
		l.up = w.up
	}
	return nil
}

// convergeAddrs adds the missing addresses and, with removeExtra, removes the others.
// IPv6 link-local addresses are the kernel's business and never touched.
func (r *run) convergeAddrs(c *conn, l *link, want []netip.Prefix, removeExtra bool) error {
	for _, p := range want {
		if slices.Contains(l.addrs, p) {
			continue
		}
		w := r.watchOf(c)
		w.settle()
		if err := c.addAddr(l.index, p); err != nil {
			return fmt.Errorf("add address %s to %s: %w", p, l.name, err)
		}
		w.expect(linkAddr{l.index, p})
		r.res.Created++
		l.addrs = append(l.addrs, p)
		if c == r.rc {
			if r.res.AddedRouterAddrs == nil {
				r.res.AddedRouterAddrs = map[string][]netip.Prefix{}
			}
			r.res.AddedRouterAddrs[l.name] = append(r.res.AddedRouterAddrs[l.name], p)
		}
	}
	if !removeExtra {
		return nil
	}
	for _, p := range slices.Clone(l.addrs) {
		if slices.Contains(want, p) || kernelAddr(l, p) {
			continue
		}
		if err := c.delAddr(l.index, p); err != nil {
			return fmt.Errorf("remove address %s from %s: %w", p, l.name, err)
		}
		r.res.Deleted++
		l.addrs = slices.DeleteFunc(l.addrs, func(q netip.Prefix) bool { return q == p })
	}
	return nil
}

// removeLinkLocals removes the link-local addresses of l that want does not hold: convergeAddrs
// leaves them to the kernel, but the host side of a tenant segment has none (see
// ensureHostBridge and ensureVethPair).
func (r *run) removeLinkLocals(c *conn, l *link, want []netip.Prefix) error {
	for _, p := range slices.Clone(l.addrs) {
		if !p.Addr().IsLinkLocalUnicast() || slices.Contains(want, p) {
			continue
		}
		if err := c.delAddr(l.index, p); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
			return fmt.Errorf("remove address %s from %s: %w", p, l.name, err)
		}
		r.res.Deleted++
		l.addrs = slices.DeleteFunc(l.addrs, func(q netip.Prefix) bool { return q == p })
	}
	return nil
}

// kernelAddr is true for addresses the kernel manages itself.
func kernelAddr(l *link, p netip.Prefix) bool {
	a := p.Addr()
	return a.IsLinkLocalUnicast() || (l.name == "lo" && a.IsLoopback())
}
