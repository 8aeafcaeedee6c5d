package hostnet

import (
	"errors"
	"sync"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
)

var vrfProbe struct {
	sync.Once
	ok bool
}

// HasVRF reports whether this kernel can create VRF devices (CONFIG_NET_VRF). It tries once,
// in a throwaway network namespace, and remembers the answer.
func HasVRF() bool {
	vrfProbe.Do(func() {
		_ = netnamespace.Isolated(func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			err := netlink.LinkAdd(&netlink.Vrf{LinkAttrs: netlink.LinkAttrs{Name: "probe"}, Table: 10})
			vrfProbe.ok = err == nil || errors.Is(err, unix.EEXIST)
			return nil
		})
	})
	return vrfProbe.ok
}

var svdProbe struct {
	sync.Once
	ok bool
}

// HasSingleVXLAN reports whether this kernel can build the single-VXLAN-device layout: a
// bridge with VLAN filtering (CONFIG_BRIDGE_VLAN_FILTERING), a VXLAN device in external
// mode with VNI filtering (Linux ≥ 5.18) and VLAN devices (CONFIG_VLAN_8021Q). It tries once, in a throwaway network namespace,
// and remembers the answer.
func HasSingleVXLAN() bool {
	svdProbe.Do(func() {
		_ = netnamespace.Isolated(func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			ns, err := netns.Get()
			if err != nil {
				return err
			}
			defer ns.Close()
			writes := 0
			c, err := dial(ns, &writes)
			if err != nil {
				return err
			}
			defer c.close()
			req, _ := c.newLinkMsg(0, "probe-br", 0)
			req.AddData(vlanBridgeAttr())
			if c.write(req) != nil {
				return nil
			}
			req, _ = c.newLinkMsg(0, "probe-vx", 0)
			li := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vxlan"))
			data := li.AddRtAttr(nl.IFLA_INFO_DATA, nil)
			data.AddRtAttr(unix.IFLA_VXLAN_COLLECT_METADATA, []byte{1})
			data.AddRtAttr(unix.IFLA_VXLAN_VNIFILTER, []byte{1})
			req.AddData(li)
			if c.write(req) != nil {
				return nil
			}
			// Each VNI's SVI is a VLAN device on the bridge (CONFIG_VLAN_8021Q).
			br, err := netlink.LinkByName("probe-br")
			if err != nil {
				return nil
			}
			req, _ = c.newLinkMsg(0, "probe-vl", 0)
			req.AddData(nl.NewRtAttr(unix.IFLA_LINK, u32(uint32(br.Attrs().Index))))
			li = nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
			li.AddRtAttr(nl.IFLA_INFO_KIND, nl.NonZeroTerminated("vlan"))
			li.AddRtAttr(nl.IFLA_INFO_DATA, nil).AddRtAttr(nl.IFLA_VLAN_ID, nl.Uint16Attr(10))
			req.AddData(li)
			svdProbe.ok = c.write(req) == nil
			return nil
		})
	})
	return svdProbe.ok
}
