// Package netnamespace runs code inside a named network namespace (/run/netns/<name>) and
// opens sockets there: the lab's probes and the CLI's connections to an agent that listens
// inside a node's namespace.
package netnamespace

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs f on a fresh OS thread inside namespace ns. Sockets f opens stay in ns. If the
// thread cannot return to its namespace it stays locked, so the runtime retires it instead
// of running other goroutines in the wrong namespace.
func Do(ns string, f func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			ch <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(ns)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("netns %s: %w", ns, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("enter netns %s: %w", ns, err)
			return
		}
		ferr := f()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
		ch <- ferr
	}()
	return <-ch
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
