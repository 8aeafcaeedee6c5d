package hostnet

import (
	"errors"
	"sync"

	"github.com/vishvananda/netlink"
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
