package hostnet

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
)

// cacheMaxAge bounds how long Apply trusts a cached read: a full read now and then is the
// safety net should a change ever go unreported.
const cacheMaxAge = time.Minute

// nsWatch keeps an Applier's last read of one namespace current by folding the kernel's link
// and address events into it. A reconcile then reads nothing in full: the link dump of a
// namespace with thousands of devices costs tens of milliseconds of kernel time, while
// folding a few events costs microseconds. Anything it cannot fold exactly (lost events, a
// bridge notification about a link it does not know as that bridge's port) and a minute's
// age fall back to a full read. Sysctl writes make no event: a change by someone else is
// found by that full read.
type nsWatch struct {
	id    string // the namespace's identity (device and inode): a recreated namespace is another
	fd    int
	buf   []byte
	state *nsState // nil when unknown or stale
	at    time.Time
	// track, while set, is an address sync watches for; seen says an event was about it.
	track *linkAddr
	seen  bool
}

func newWatch(ns netns.NsHandle) (*nsWatch, error) {
	fd, err := eventSocket(ns)
	if err != nil {
		return nil, err
	}
	return &nsWatch{id: ns.UniqueId(), fd: fd, buf: make([]byte, 64<<10)}, nil
}

// eventSocket opens a socket in ns subscribed to its link and address events.
func eventSocket(ns netns.NsHandle) (int, error) {
	var fd int
	err := netnamespace.DoHandle(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return -1, fmt.Errorf("open event socket: %w", err)
	}
	// A large queue makes overruns rare; an overrun only costs a full read.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	groups := uint32(unix.RTMGRP_LINK | unix.RTMGRP_IPV4_IFADDR | unix.RTMGRP_IPV6_IFADDR)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("subscribe to link events: %w", err)
	}
	return fd, nil
}

func (w *nsWatch) close() { unix.Close(w.fd) }

// reset forgets the cached state and the queued events before a full read: the read covers
// them. It replaces the socket rather than reading the queue to empty it: after a long pass
// (a cold apply of a thousand VNIs) that queue holds megabytes of events, one receive each.
// Events after the new socket's bind are folded next time. When no new socket can be opened,
// the old one is drained.
func (w *nsWatch) reset(ns netns.NsHandle) {
	w.state = nil
	if fd, err := eventSocket(ns); err == nil {
		unix.Close(w.fd)
		w.fd = fd
		return
	}
	for i := 0; i < 1<<16 && !w.sync(); i++ { // each call consumes at least one message
	}
}

// sync folds the queued events into the cached state, so it stays what a fresh read would
// return. It returns false, leaving the rest of the queue, when it cannot: events were lost,
// or one cannot be folded exactly; the caller then drops the state and reads in full.
func (w *nsWatch) sync() bool {
	for {
		n, _, err := unix.Recvfrom(w.fd, w.buf, unix.MSG_DONTWAIT)
		if errors.Is(err, unix.EAGAIN) {
			return true
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil { // ENOBUFS: events were lost
			return false
		}
		b := w.buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(nativeU32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return false
			}
			typ, payload := nativeU16(b[4:6]), b[unix.NLMSG_HDRLEN:l]
			if w.track != nil && (typ == unix.RTM_NEWADDR || typ == unix.RTM_DELADDR) {
				if idx, p, ok := parseAddr(payload); ok && idx == w.track.index && p == w.track.prefix {
					w.seen = true
				}
			}
			if w.state != nil && !fold(w.state, typ, payload) {
				return false // the rest of the queue goes with the state (reset)
			}
			b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
		}
	}
}

// noteIPv6Off records in the cache that IPv6 is now off on the link with index: the kernel
// reports a sysctl write as no link event. A change by someone else is found by the next full
// read (cacheMaxAge).
func (w *nsWatch) noteIPv6Off(index int) {
	if w == nil || w.state == nil {
		return
	}
	if !w.sync() {
		w.state = nil
		return
	}
	if l := w.state.byIndex[index]; l != nil {
		l.disableIPv6 = 1
	}
}

// linkAddr is an address on the link with the given index.
type linkAddr struct {
	index  int
	prefix netip.Prefix
}

// settle folds the queued events; before an add it makes the events queued after it the
// add's own and later ones (see expect).
func (w *nsWatch) settle() {
	if w != nil && w.state != nil && !w.sync() {
		w.state = nil
	}
}

// expect records an address the caller has just added, after a settle. The kernel acks an
// IPv6 address added with IFA_F_NODAD before it announces it: the RTM_NEWADDR comes from its
// DAD work queue, later, and on a loaded machine after the next Apply has already folded the
// queue, which would then miss the address and add it again. So expect folds the queue and,
// when no event about the address was in it, puts the address into the cache itself; an event
// about it (the add's own RTM_NEWADDR, or an RTM_DELADDR: it went again) already told the
// truth. A late RTM_NEWADDR is a harmless replay. An address it cannot place makes the next
// read a full one.
func (w *nsWatch) expect(a linkAddr) {
	if w == nil || w.state == nil {
		return
	}
	w.track, w.seen = &a, false
	ok := w.sync()
	w.track = nil
	if !ok {
		w.state = nil
		return
	}
	if w.seen {
		return
	}
	l := w.state.byIndex[a.index]
	if l == nil {
		w.state = nil
		return
	}
	if !slices.Contains(l.addrs, a.prefix) {
		l.addrs = append(l.addrs, a.prefix)
	}
}

// fold applies one event to st. Every event carries the full value of what it describes (a
// link's attributes, an address's presence), so replaying events that a read already saw
// is harmless: the last one wins, as in the kernel.
func fold(st *nsState, typ uint16, b []byte) bool {
	switch typ {
	case unix.RTM_NEWLINK, unix.RTM_DELLINK:
		if len(b) < unix.SizeofIfInfomsg {
			return false
		}
		switch b[0] {
		case unix.AF_UNSPEC:
		case unix.AF_INET6:
			return true // IPv6 router-solicitation state: nothing weft reads
		case unix.AF_BRIDGE:
			return foldBridgePort(st, typ, b)
		default:
			return false
		}
		l, err := parseLink(b)
		if err != nil {
			return false
		}
		old := st.byIndex[l.index]
		if old != nil {
			st.remove(old)
		}
		if typ == unix.RTM_DELLINK {
			return true
		}
		if old != nil {
			l.addrs = old.addrs
		}
		if prev := st.byName[l.name]; prev != nil {
			st.remove(prev) // renamed away: its own event follows or preceded
		}
		st.add(l)
		return true
	case unix.RTM_NEWADDR, unix.RTM_DELADDR:
		idx, p, ok := parseAddr(b)
		if !ok {
			return false
		}
		l := st.byIndex[idx]
		if l == nil {
			return true // the link's own removal event explains it
		}
		has := slices.Contains(l.addrs, p)
		switch {
		case typ == unix.RTM_NEWADDR && !has:
			l.addrs = append(l.addrs, p)
		case typ == unix.RTM_DELADDR && has:
			l.addrs = slices.DeleteFunc(l.addrs, func(q netip.Prefix) bool { return q == p })
		}
		return true
	}
	return false
}

// foldBridgePort applies a bridge notification (AF_BRIDGE). It carries a port's flags
// (IFLA_PROTINFO) but not the whole link: what else changes with it (a port joining or
// leaving, a device going) comes as the link's own AF_UNSPEC event, which the kernel sends
// first when a port joins. So a port's flags are folded into the link the cache already has
// as a port of that bridge; a notification about the bridge itself (its VLANs, which Apply
// reads afresh) and a port's removal need nothing; anything else makes the next read full.
func foldBridgePort(st *nsState, typ uint16, b []byte) bool {
	if typ == unix.RTM_DELLINK {
		return true
	}
	l := st.byIndex[int(int32(nativeU32(b[4:8])))]
	if l == nil {
		return false
	}
	var master uint32
	var protinfo []byte
	attrs(b[unix.SizeofIfInfomsg:], func(t uint16, v []byte) {
		switch t {
		case unix.IFLA_MASTER:
			master = nu32(v)
		case unix.IFLA_PROTINFO:
			protinfo = v
		}
	})
	if protinfo == nil {
		return l.kind == "bridge" // the bridge's own: nothing weft caches
	}
	if l.slaveKind != "bridge" || master == 0 || int(master) != l.master {
		return false
	}
	parseBridgePort(l, protinfo)
	return true
}

// clone copies a state deeply enough for Apply to change it.
func (s *nsState) clone() *nsState {
	c := &nsState{byName: make(map[string]*link, len(s.byName)), byIndex: make(map[int]*link, len(s.byIndex))}
	for _, l := range s.byIndex {
		cp := *l
		cp.addrs = append([]netip.Prefix(nil), l.addrs...)
		c.add(&cp)
	}
	return c
}
