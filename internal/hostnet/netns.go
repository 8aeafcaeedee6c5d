package hostnet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/weftnet/weft/internal/netnamespace"
)

// NetnsDir is where named network namespaces live (the iproute2 convention), so `ip netns`
// and FRR's tooling see the router namespace.
const NetnsDir = "/run/netns"

// Namespace names a network namespace: a named one under /run/netns, or an explicit path
// (for example /proc/1/ns/net). The zero value is the namespace this process runs in.
type Namespace struct {
	// Name is a namespace under /run/netns. Apply creates the router namespace if it is missing.
	Name string
	// Path, when set, wins over Name.
	Path string
}

func (n Namespace) path() string {
	switch {
	case n.Path != "":
		return n.Path
	case n.Name != "":
		return filepath.Join(NetnsDir, n.Name)
	default:
		return "/proc/self/ns/net"
	}
}

func (n Namespace) String() string {
	if n.Path == "" && n.Name != "" {
		return n.Name
	}
	return n.path()
}

// open returns a handle on the namespace; the caller closes it.
func (n Namespace) open() (netns.NsHandle, error) {
	h, err := netns.GetFromPath(n.path())
	if err != nil {
		return netns.None(), fmt.Errorf("open netns %s: %w", n, err)
	}
	return h, nil
}

// ensureNamed creates the named namespace if it does not exist. The namespace is kept alive
// by a bind mount under /run/netns, so it survives the process that created it.
func ensureNamed(name string) (created bool, err error) {
	p := filepath.Join(NetnsDir, name)
	if h, err := netns.GetFromPath(p); err == nil {
		h.Close()
		return false, nil
	}
	if err := makeNetnsDirShared(); err != nil {
		return false, err
	}
	err = netnamespace.Isolated(func() error {
		// Isolated puts the thread back in its namespace afterwards, so unsharing it is safe.
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			return fmt.Errorf("unshare netns: %w", err)
		}
		f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
		if err != nil {
			return fmt.Errorf("create %s: %w", p, err)
		}
		f.Close()
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
			os.Remove(p)
			return fmt.Errorf("bind-mount netns to %s: %w", p, err)
		}
		return nil
	})
	return err == nil, err
}

// makeNetnsDirShared does what `ip netns add` does: /run/netns becomes a shared mount so that
// namespaces created later propagate to other mount namespaces (containers sharing it).
func makeNetnsDirShared() error {
	if err := os.MkdirAll(NetnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", NetnsDir, err)
	}
	err := unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) {
		if err := unix.Mount(NetnsDir, NetnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s: %w", NetnsDir, err)
		}
		err = unix.Mount("", NetnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s shared: %w", NetnsDir, err)
	}
	return nil
}

// DeleteNamed removes a named namespace created by Apply (its devices go with it; physical
// NICs return to the initial namespace, without their addresses).
func DeleteNamed(name string) error {
	p := filepath.Join(NetnsDir, name)
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount %s: %w", p, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

// CheckNamespaceName refuses a namespace name that is not a plain file name under NetnsDir
// (letters, digits, '.', '_' and '-'; not "." or ".."): an operator's flag must not reach
// another path.
func CheckNamespaceName(name string) error {
	if name == "" || name == "." || name == ".." || len(name) > 255 {
		return fmt.Errorf("%q is not a network namespace name", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%q is not a network namespace name: %q is not a letter, digit, '.', '_' or '-'", name, c)
		}
	}
	return nil
}
