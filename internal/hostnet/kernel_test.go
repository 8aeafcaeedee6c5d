package hostnet

import (
	"errors"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/umltest"
)

var vrfOnce struct {
	sync.Once
	ok bool
}

// kernelHasVRF tries to create a VRF device in a throwaway namespace.
func kernelHasVRF() bool {
	vrfOnce.Do(func() {
		_ = inNewThread(func() error {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			err := netlink.LinkAdd(&netlink.Vrf{LinkAttrs: netlink.LinkAttrs{Name: "probe"}, Table: 10})
			vrfOnce.ok = err == nil || errors.Is(err, unix.EEXIST)
			return nil
		})
	})
	return vrfOnce.ok
}

// needVRF runs the calling test here when the kernel has VRF, else inside UML; it returns
// false when the test already ran there (the caller returns).
func needVRF(t *testing.T) bool {
	t.Helper()
	requireRoot(t)
	return umltest.Need(t, kernelHasVRF, "vrf", "bridge", "vxlan", "veth")
}
