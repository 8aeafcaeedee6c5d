// Package netnamespace runs code inside a network namespace on a thread of its own and opens
// sockets there: the kernel layer's netlink sockets and sysctls, the lab's probes, the CLI's
// connections to an agent that listens inside a node's namespace.
package netnamespace

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs f on a fresh OS thread inside the named namespace (/run/netns/<ns>). Sockets f
// opens stay in ns.
func Do(ns string, f func() error) error {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("netns %s: %w", ns, err)
	}
	defer h.Close()
	return DoHandle(h, f)
}

// DoHandle runs f on a fresh OS thread that has entered namespace h.
func DoHandle(h netns.NsHandle, f func() error) error {
	return OnNewThread(func() error {
		if err := netns.Set(h); err != nil {
			return fmt.Errorf("enter netns: %w", err)
		}
		return f()
	})
}

// OnNewThread runs f on a goroutine locked to its own OS thread and never unlocks it: the Go
// runtime destroys the thread when the goroutine ends, so a namespace change (setns,
// unshare) can never leak into other goroutines, not even when going back would fail.
func OnNewThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		errc <- f()
	}()
	return <-errc
}

// Dial connects from inside namespace ns to addr, an IP address and port; the socket stays
// in ns afterwards. A host name is refused: resolving it and racing the dials of both
// address families would happen on other threads, in the caller's namespace.
func Dial(ctx context.Context, ns, network, addr string) (net.Conn, error) {
	if _, err := netip.ParseAddrPort(addr); err != nil {
		return nil, fmt.Errorf("dial %s in netns %s: want an IP address and port: %w", addr, ns, err)
	}
	var c net.Conn
	err := Do(ns, func() error {
		d := net.Dialer{FallbackDelay: -1} // one dial, on this thread
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}
