// Package netnamespace runs code inside a network namespace on a thread of its own and opens
// sockets there: the kernel layer's netlink sockets and sysctls, the lab's probes, the CLI's
// connections to an agent that listens inside a node's namespace.
package netnamespace

import (
	"context"
	"errors"
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

// DoHandle runs f on a fresh OS thread that has entered namespace h (see Isolated).
func DoHandle(h netns.NsHandle, f func() error) error {
	return Isolated(func() error {
		if err := netns.Set(h); err != nil {
			return fmt.Errorf("enter netns: %w", err)
		}
		return f()
	})
}

// Isolated runs f on a fresh goroutine locked to its OS thread, where f may change the
// thread's network namespace (setns, unshare). Afterwards the thread goes back to the
// namespace it had and is unlocked. If it cannot go back it stays locked, and the runtime
// retires it when the goroutine ends.
//
// Going back matters: the runtime cannot retire the process's main thread, which may be the
// one running f. It parks that thread for good, still in f's namespace, and /proc/<pid>/ns/net
// shows that namespace. `ip netns pids` then lists this process there: the lab's Down once
// killed its own test process that way.
func Isolated(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- fmt.Errorf("read this thread's netns: %w", err)
			return
		}
		defer orig.Close()
		ferr := f()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("return to this thread's netns (the thread is retired): %w", err))
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
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
