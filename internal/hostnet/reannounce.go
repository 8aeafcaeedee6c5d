package hostnet

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Reannounce replaces addresses that are already on devices of the router namespace with
// themselves (RTM_NEWADDR with NLM_F_REPLACE), so that every listener (FRR's zebra) gets a
// fresh notification for them while nothing is removed: no route through the device is
// flushed, not even for a moment (an uplink's address carries the whole underlay). The
// agent uses it for addresses zebra missed: FRR 8.4 reads interface and address events on
// separate sockets, and an address that arrives before zebra has learned its new device
// (weft creates and addresses devices within microseconds) is dropped, taking the connected
// route and the type-5 route of a gateway subnet with it. Only weft's devices, the underlay
// NICs weft moved in and lo are touched, and only addresses they carried when Reannounce
// looked; the others are listed in Result.Absent (a missing device is not an error).
func (a *Applier) Reannounce(ctx context.Context, router Namespace, addrs map[string][]netip.Prefix) (Result, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var res Result
	rns, err := router.open()
	if err != nil {
		return res, err
	}
	defer rns.Close()
	h, err := netlink.NewHandleAt(rns, unix.NETLINK_ROUTE)
	if err != nil {
		return res, fmt.Errorf("netlink handle in %s: %w", router, err)
	}
	defer h.Close()
	c, err := dial(rns, &res.Writes)
	if err != nil {
		return res, err
	}
	defer c.close()
	var errs []error
	for dev, ps := range addrs {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		l, err := h.LinkByName(dev)
		var notFound netlink.LinkNotFoundError
		if errors.As(err, &notFound) {
			if res.Absent == nil {
				res.Absent = map[string][]netip.Prefix{}
			}
			res.Absent[dev] = append(res.Absent[dev], ps...)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", dev, err))
			continue
		}
		if dev != "lo" && l.Attrs().Group != OwnedGroup && !a.movedNIC(router.String(), dev) {
			errs = append(errs, fmt.Errorf("%s is not weft's; leaving it alone", dev))
			continue
		}
		have, err := h.AddrList(l, netlink.FAMILY_ALL)
		for try := 0; try < 3 && errors.Is(err, netlink.ErrDumpInterrupted); try++ {
			have, err = h.AddrList(l, netlink.FAMILY_ALL) // raced with a change: read again
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: list addresses: %w", dev, err))
			continue
		}
		for _, p := range ps {
			if !carries(have, p) {
				// Not there (yet): the next Apply adds it, with its own notification.
				if res.Absent == nil {
					res.Absent = map[string][]netip.Prefix{}
				}
				res.Absent[dev] = append(res.Absent[dev], p)
				continue
			}
			if err := c.reannounceAddr(l.Attrs().Index, p); err != nil {
				errs = append(errs, fmt.Errorf("%s: announce %s again: %w", dev, p, err))
				continue
			}
			res.Updated++
		}
	}
	return res, errors.Join(errs...)
}

func carries(have []netlink.Addr, p netip.Prefix) bool {
	for _, a := range have {
		ones, _ := a.Mask.Size()
		if ip, ok := netip.AddrFromSlice(a.IP); ok && netip.PrefixFrom(ip.Unmap(), ones) == p {
			return true
		}
	}
	return false
}
