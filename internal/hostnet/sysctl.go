package hostnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netns"

	"github.com/weftnet/weft/internal/netnamespace"
)

// routerSysctls are the router namespace's settings: it forwards, and it learns neighbours
// from gratuitous ARP and unsolicited NA so a migrated workload is reachable at once.
var routerSysctls = []struct{ key, value string }{
	{"net/ipv4/ip_forward", "1"},
	{"net/ipv6/conf/all/forwarding", "1"},
	{"net/ipv4/conf/all/arp_accept", "1"},
	{"net/ipv4/conf/default/arp_accept", "1"},
	{"net/ipv6/conf/all/accept_untracked_na", "1"},
	{"net/ipv6/conf/default/accept_untracked_na", "1"},
}

// ensureSysctls sets the router sysctls that differ; a key the kernel lacks is a warning.
func (a *Applier) ensureSysctls(ns netns.NsHandle) error {
	return netnamespace.DoHandle(ns, func() error {
		for _, s := range routerSysctls {
			p := filepath.Join("/proc/sys", s.key)
			cur, err := os.ReadFile(p)
			if errors.Is(err, os.ErrNotExist) {
				a.log().Warn("sysctl not supported by this kernel", "key", s.key)
				continue
			}
			if err != nil {
				return fmt.Errorf("read sysctl %s: %w", s.key, err)
			}
			if strings.TrimSpace(string(cur)) == s.value {
				continue
			}
			if err := os.WriteFile(p, []byte(s.value), 0o644); err != nil {
				return fmt.Errorf("set sysctl %s=%s: %w", s.key, s.value, err)
			}
		}
		return nil
	})
}
