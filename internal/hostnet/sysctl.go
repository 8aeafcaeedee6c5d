package hostnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netns"

	"github.com/weftnet/weft/internal/netnamespace"
	"github.com/weftnet/weft/internal/plan"
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

// ipv6Off is a closed device whose IPv6 is still on, and the L2VNI it serves.
type ipv6Off struct {
	l     *link
	owner plan.Ref
}

// disableIPv6 turns IPv6 off on the closed devices of this pass (Managed host bridges), in one
// visit to the host namespace: no netlink attribute sets disable_ipv6. A device with IPv6 off
// drops every IPv6 packet it receives, whatever address it is sent to (Linux would otherwise
// deliver a packet for any of the host's addresses, from any device). The devices already
// have addrgenmode none, so they never had an address, even before this.
func (r *run) disableIPv6() {
	if len(r.ipv6Off) == 0 {
		return
	}
	errs := make([]error, len(r.ipv6Off))
	err := netnamespace.DoHandle(r.hns, func() error {
		for i, d := range r.ipv6Off {
			p := filepath.Join("/proc/sys/net/ipv6/conf", d.l.name, "disable_ipv6")
			errs[i] = os.WriteFile(p, []byte("1"), 0o644)
		}
		return nil
	})
	for i, d := range r.ipv6Off {
		if err == nil {
			err = errs[i]
		}
		if err != nil {
			r.fail(d.owner, fmt.Errorf("turn IPv6 off on %s: %w", d.l.name, err))
			continue
		}
		d.l.disableIPv6 = 1
		r.res.Updated++
		r.hw.noteIPv6Off(d.l.index)
	}
}
