package cniplugin

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// announce makes the workload known to the segment at once, from inside its namespace: a
// gratuitous ARP per IPv4 address, an unsolicited neighbour advertisement per IPv6 address,
// and with no address a frame from its MAC alone. The router side of the L2VNI learns the
// MAC (and the address) from it, so EVPN carries the type-2 route before the workload has
// sent anything: a VM that stays silent after a live migration is still reachable.
func announce(l netlink.Link, ips []*current.IPConfig) error {
	mac := l.Attrs().HardwareAddr
	idx := l.Attrs().Index
	if err := waitOperUp(idx, operUpTimeout); err != nil {
		return err
	}
	var errs []error
	sent := false
	for _, ip := range ips {
		a, ok := netip.AddrFromSlice(ip.Address.IP)
		if !ok {
			continue
		}
		a = a.Unmap()
		var err error
		for i := range announcements {
			if i > 0 {
				time.Sleep(announceGap)
			}
			if a.Is4() {
				err = sendFrame(idx, unix.ETH_P_ARP, broadcast, garp(mac, a))
			} else {
				err = sendNA(idx, mac, a)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %s: %w", a, err))
		} else {
			sent = true
		}
	}
	if !sent && len(errs) == 0 {
		// No address: a broadcast frame of the IEEE local experimental EtherType carries the
		// MAC alone (a MAC-only type-2 route); stations that do not know it drop it.
		return sendFrame(idx, localExperimental, broadcast, []byte("weft-cni: attached"))
	}
	if sent {
		return nil // best effort: one announcement is enough for the MAC
	}
	return errors.Join(errs...)
}

// Each address is announced twice, a little apart, as hosts do after a move (one lost frame
// must not leave the workload unknown until it speaks).
const (
	announcements = 2
	announceGap   = 20 * time.Millisecond
)

// operUpTimeout bounds the wait for the kernel to activate a new interface's queue.
const operUpTimeout = 5 * time.Second

// waitOperUp waits until the interface is operationally up. Until then its queue is the
// no-op one and drops what is sent: the kernel activates it from its link-watch work, which
// it may defer by up to a second (when the two ends of the veth have the same ifindex in
// their namespaces, the carrier change counts as not urgent).
func waitOperUp(idx int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := netlink.LinkByIndex(idx)
		if err != nil {
			return err
		}
		if l.Attrs().OperState == netlink.OperUp {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s is not up after %v (operstate %s)", l.Attrs().Name, timeout, l.Attrs().OperState)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitForwarding waits until the bridge port is up and forwarding (the kernel enables a port
// from its link-watch work too, after the carrier comes).
func waitForwarding(port string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		l, err := netlink.LinkByName(port)
		if err != nil {
			return err
		}
		state, err := portState(l.Attrs().Index)
		if err != nil {
			return err
		}
		if l.Attrs().OperState == netlink.OperUp && state == brStateForwarding {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bridge port %s is not forwarding after %v (operstate %s, port state %d)", port, timeout, l.Attrs().OperState, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// brStateForwarding is BR_STATE_FORWARDING (linux/if_bridge.h).
const brStateForwarding = 3

// portState reads a bridge port's STP state (IFLA_BRPORT_STATE), -1 when not reported. Only
// a dump of the bridge family reports it (a get of one link does not), so it dumps the ports
// and picks index.
func portState(index int) (int, error) {
	req := nl.NewNetlinkRequest(unix.RTM_GETLINK, unix.NLM_F_DUMP)
	req.AddData(nl.NewIfInfomsg(unix.AF_BRIDGE))
	msgs, err := req.Execute(unix.NETLINK_ROUTE, unix.RTM_NEWLINK)
	if err != nil {
		return -1, fmt.Errorf("read bridge ports: %w", err)
	}
	for _, m := range msgs {
		if len(m) < unix.SizeofIfInfomsg || int(nl.DeserializeIfInfomsg(m).Index) != index {
			continue
		}
		attrs, err := nl.ParseRouteAttr(m[unix.SizeofIfInfomsg:])
		if err != nil {
			return -1, err
		}
		for _, a := range attrs {
			if a.Attr.Type&nl.NLA_TYPE_MASK != unix.IFLA_PROTINFO {
				continue
			}
			inner, err := nl.ParseRouteAttr(a.Value)
			if err != nil {
				return -1, err
			}
			for _, b := range inner {
				if b.Attr.Type&nl.NLA_TYPE_MASK == nl.IFLA_BRPORT_STATE && len(b.Value) > 0 {
					return int(b.Value[0]), nil
				}
			}
		}
	}
	return -1, nil
}

var broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// localExperimental is EtherType 0x88B5 (IEEE 802 local experimental).
const localExperimental = 0x88b5

// garp is an ARP request for a with a as sender and target: the gratuitous form that
// neighbours and EVPN PEs (arp_accept) take as an announcement.
func garp(mac net.HardwareAddr, a netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)      // Ethernet
	binary.BigEndian.PutUint16(b[2:], 0x0800) // IPv4
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], 1) // request
	copy(b[8:], mac)
	ip := a.As4()
	copy(b[14:], ip[:])
	copy(b[24:], ip[:])
	return b
}

// sendFrame sends one Ethernet frame with payload from the interface with index idx.
func sendFrame(idx int, proto uint16, dst net.HardwareAddr, payload []byte) error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(proto)))
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	sa := &unix.SockaddrLinklayer{Protocol: htons(proto), Ifindex: idx, Halen: 6}
	copy(sa.Addr[:], dst)
	return unix.Sendto(fd, payload, 0, sa)
}

// sendNA sends an unsolicited neighbour advertisement for a to all nodes (RFC 4861 7.2.6):
// override set, the MAC as target link-layer address. The kernel fills in the checksum.
func sendNA(idx int, mac net.HardwareAddr, a netip.Addr) error {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMPV6)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 255); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, idx); err != nil {
		return err
	}
	b := make([]byte, 32)
	b[0] = 136  // neighbour advertisement
	b[4] = 0x20 // override
	t := a.As16()
	copy(b[8:], t[:])
	b[24], b[25] = 2, 1 // target link-layer address option, 8 bytes
	copy(b[26:], mac)
	dst := &unix.SockaddrInet6{ZoneId: uint32(idx), Addr: [16]byte{0: 0xff, 1: 0x02, 15: 1}}
	return unix.Sendto(fd, b, 0, dst)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }
