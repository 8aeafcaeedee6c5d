package hostnet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
)

// conn is one rtnetlink socket bound inside a namespace. It is a plain blocking socket read
// into one reused buffer: on a no-op reconcile of 1000 VNIs the link dumps are most of the
// work, and the generic client's poller round trips and copies cost a third on top of the
// kernel's time. Every request that changes the kernel goes through write, which counts it:
// the count is how tests and benchmarks prove that a reconcile with nothing to do writes
// nothing.
type conn struct {
	fd     int
	seq    uint32
	buf    []byte
	writes *int
}

func dial(ns netns.NsHandle, writes *int) (*conn, error) {
	var fd int
	err := netnamespace.DoHandle(ns, func() error {
		var err error
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind rtnetlink socket: %w", err)
	}
	// Extended acks carry the kernel's reason ("Unknown device type", …) into our errors;
	// capped acks do not echo our request back.
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_CAP_ACK, 1)
	return &conn{fd: fd, buf: make([]byte, 64<<10), writes: writes}, nil
}

func (c *conn) close() { unix.Close(c.fd) }

func (c *conn) request(typ uint16, flags int) *nl.NetlinkRequest {
	return nl.NewNetlinkRequest(int(typ), flags)
}

// write sends a request that changes the kernel and waits for its ack.
func (c *conn) write(req *nl.NetlinkRequest) error {
	*c.writes++
	req.Flags |= unix.NLM_F_ACK
	return c.roundtrip(req, 0, nil)
}

// dump runs a dump request and calls fn for each message payload of type resType.
func (c *conn) dump(req *nl.NetlinkRequest, resType uint16, fn func([]byte) error) error {
	return c.roundtrip(req, resType, fn)
}

var errRetryDump = errors.New("dump interrupted")

// roundtrip sends req and reads until its ack, error or end of dump.
func (c *conn) roundtrip(req *nl.NetlinkRequest, resType uint16, fn func([]byte) error) error {
	c.seq++
	req.Seq = c.seq
	if err := unix.Sendto(c.fd, req.Serialize(), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	var ferr error
	intr := false
	for {
		n, _, err := unix.Recvfrom(c.fd, c.buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		b := c.buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			typ := binary.NativeEndian.Uint16(b[4:6])
			flags := binary.NativeEndian.Uint16(b[6:8])
			seq := binary.NativeEndian.Uint32(b[8:12])
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return fmt.Errorf("malformed netlink message")
			}
			data := b[unix.NLMSG_HDRLEN:l]
			b = b[min(len(b), (l+unix.NLMSG_ALIGNTO-1)&^(unix.NLMSG_ALIGNTO-1)):]
			if seq != req.Seq {
				continue
			}
			if flags&unix.NLM_F_DUMP_INTR != 0 {
				intr = true
			}
			switch typ {
			case unix.NLMSG_ERROR:
				if err := ackError(data, flags); err != nil {
					return err
				}
				return ferr
			case unix.NLMSG_DONE:
				if err := ackError(data, flags); err != nil {
					return err
				}
				if intr {
					return errRetryDump
				}
				return ferr
			case resType:
				if fn != nil && ferr == nil {
					ferr = fn(data)
				}
			}
		}
	}
}

// ackError decodes the errno of an NLMSG_ERROR or NLMSG_DONE payload, with the kernel's
// extended-ack message when there is one.
func ackError(data []byte, flags uint16) error {
	if len(data) < 4 {
		return nil
	}
	errno := int32(binary.NativeEndian.Uint32(data[0:4]))
	if errno == 0 {
		return nil
	}
	err := error(unix.Errno(-errno))
	if flags&unix.NLM_F_ACK_TLVS != 0 && len(data) >= 4+unix.NLMSG_HDRLEN {
		tlvs := data[4+unix.NLMSG_HDRLEN:]
		if flags&unix.NLM_F_CAPPED == 0 {
			tlvs = data[4+min(len(data)-4, int(binary.NativeEndian.Uint32(data[4:8]))):]
		}
		attrs(tlvs, func(t uint16, v []byte) {
			if t == unix.NLMSGERR_ATTR_MSG {
				err = fmt.Errorf("%s: %w", cstr(v), err)
			}
		})
	}
	return err
}

// linkMsg builds an RTM_NEWLINK for an existing link (index > 0) or a new one.
func (c *conn) linkMsg(index int, create bool) (*nl.NetlinkRequest, *nl.IfInfomsg) {
	flags := 0
	if create {
		flags = unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	req := c.request(unix.RTM_NEWLINK, flags)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	return req, msg
}

// newLinkMsg is the request that creates device name as weft's (OwnedGroup), down, with
// mtu when it is not 0; the caller adds the kind and the rest.
func (c *conn) newLinkMsg(index int, name string, mtu int) (*nl.NetlinkRequest, *nl.IfInfomsg) {
	req, msg := c.linkMsg(index, true)
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(OwnedGroup)))
	if mtu > 0 {
		req.AddData(nl.NewRtAttr(unix.IFLA_MTU, u32(uint32(mtu))))
	}
	return req, msg
}

func u32(v uint32) []byte { return nl.Uint32Attr(v) }

func setUp(msg *nl.IfInfomsg, up bool) {
	msg.Change |= unix.IFF_UP
	if up {
		msg.Flags |= unix.IFF_UP
	} else {
		msg.Flags &^= unix.IFF_UP
	}
}

// bridgeSnoopingOff is IFLA_LINKINFO { bridge { IFLA_BR_MCAST_SNOOPING 0 } }.
func bridgeSnoopingOff() *nl.RtAttr {
	li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
	li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("bridge"))
	li.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(unix.IFLA_BR_MCAST_SNOOPING, []byte{0})
	return li
}

// afSpecAttr is IFLA_AF_SPEC with, as asked, { AF_INET6 { IFLA_INET6_ADDR_GEN_MODE none } }
// and { AF_INET { IFLA_INET_CONF { rp_filter, arp_ignore } } } of a closed device.
func afSpecAttr(genModeNone, closedInet bool) *nl.RtAttr {
	spec := nl.NewRtAttr(unix.IFLA_AF_SPEC, nil)
	if genModeNone {
		spec.AddRtAttr(unix.AF_INET6, nil).AddRtAttr(unix.IFLA_INET6_ADDR_GEN_MODE, []byte{1})
	}
	if closedInet {
		conf := spec.AddRtAttr(unix.AF_INET, nil).AddRtAttr(unix.IFLA_INET_CONF, nil)
		conf.AddRtAttr(ipv4DevconfRPFilter, u32(closedRPFilter))
		conf.AddRtAttr(ipv4DevconfARPIgnore, u32(closedARPIgnore))
	}
	return spec
}

// deleteLink removes one link.
func (c *conn) deleteLink(index int) error {
	req := c.request(unix.RTM_DELLINK, 0)
	msg := nl.NewIfInfomsg(unix.AF_UNSPEC)
	msg.Index = int32(index)
	req.AddData(msg)
	return c.write(req)
}

// deleteGroup removes every link of a link group in one request: the kernel unregisters
// them as one batch, which is far cheaper than one delete per device (see TARGETS.md).
func (c *conn) deleteGroup(group uint32) error {
	req := c.request(unix.RTM_DELLINK, 0)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_GROUP, u32(group)))
	return c.write(req)
}

// setNetns moves a link into the namespace behind fd.
func (c *conn) setNetns(index int, fd int) error {
	req, _ := c.linkMsg(index, false)
	req.AddData(nl.NewRtAttr(unix.IFLA_NET_NS_FD, u32(uint32(fd))))
	return c.write(req)
}

// addrMsg builds RTM_NEWADDR/RTM_DELADDR for one address.
func (c *conn) addrMsg(typ uint16, flags int, index int, p netip.Prefix, ifaFlags uint32) *nl.NetlinkRequest {
	req := c.request(typ, flags)
	fam := unix.AF_INET
	if p.Addr().Is6() {
		fam = unix.AF_INET6
	}
	msg := nl.NewIfAddrmsg(fam)
	msg.Index = uint32(index)
	msg.Prefixlen = uint8(p.Bits())
	req.AddData(msg)
	a := p.Addr().AsSlice()
	req.AddData(nl.NewRtAttr(unix.IFA_LOCAL, a))
	req.AddData(nl.NewRtAttr(unix.IFA_ADDRESS, a))
	if ifaFlags != 0 {
		req.AddData(nl.NewRtAttr(unix.IFA_FLAGS, u32(ifaFlags)))
	}
	return req
}

func (c *conn) addAddr(index int, p netip.Prefix) error {
	// NODAD: weft's addresses are allocated, not guessed, and anycast gateway addresses exist
	// on every node by design, so duplicate address detection would only delay or break them.
	flags := uint32(0)
	if p.Addr().Is6() {
		flags = unix.IFA_F_NODAD
	}
	err := c.write(c.addrMsg(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL, index, p, flags))
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	return err
}

// reannounceAddr replaces an existing address with itself: nothing changes, and the kernel
// sends a fresh RTM_NEWADDR for it (IPv4 and IPv6 alike).
func (c *conn) reannounceAddr(index int, p netip.Prefix) error {
	flags := uint32(0)
	if p.Addr().Is6() {
		flags = unix.IFA_F_NODAD
	}
	return c.write(c.addrMsg(unix.RTM_NEWADDR, unix.NLM_F_REPLACE, index, p, flags))
}

func (c *conn) delAddr(index int, p netip.Prefix) error {
	err := c.write(c.addrMsg(unix.RTM_DELADDR, 0, index, p, 0))
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return nil
	}
	return err
}

// useNeigh marks an existing neighbour as used (NTF_USE), which makes the kernel confirm a
// STALE entry with a unicast probe. Without NLM_F_CREATE it never creates an entry.
func (c *conn) useNeigh(index int, ip netip.Addr) error { return c.neighUse(index, ip, false) }

// neighUse sends RTM_NEWNEIGH with NTF_USE for ip on link index: the kernel resolves the entry
// (an ARP request / NS for a new one, a unicast probe after delay_first_probe_time for a
// STALE one). create makes the entry when it does not exist.
func (c *conn) neighUse(index int, ip netip.Addr, create bool) error {
	flags := unix.NLM_F_REPLACE
	if create {
		flags |= unix.NLM_F_CREATE
	}
	req := c.request(unix.RTM_NEWNEIGH, flags)
	fam := uint8(unix.AF_INET)
	if ip.Is6() {
		fam = unix.AF_INET6
	}
	// struct ndmsg: family, pad1, pad2, ifindex, state, flags, type
	nd := make([]byte, 12)
	nd[0] = fam
	binary.NativeEndian.PutUint32(nd[4:8], uint32(index))
	binary.NativeEndian.PutUint16(nd[8:10], unix.NUD_STALE)
	nd[10] = unix.NTF_USE
	req.AddRawData(nd)
	req.AddRawData(nl.NewRtAttr(unix.NDA_DST, ip.AsSlice()).Serialize())
	return c.write(req)
}

func macEqual(a, b net.HardwareAddr) bool { return string(a) == string(b) }
