package frr

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
)

// Paths of the Debian packages' tools.
const (
	// DefaultReloadScript is frr-reload.py from the frr-pythontools package.
	DefaultReloadScript = "/usr/lib/frr/frr-reload.py"
	// DefaultVtysh is vtysh from the frr package.
	DefaultVtysh = "/usr/bin/vtysh"
)

// Reloader applies rendered configurations to a running FRR with frr-reload.py. Applies are
// serialized; a Reloader is safe for concurrent use.
type Reloader struct {
	// Pathspace is the FRR instance's pathspace (-N); empty for an FRR without one.
	Pathspace string
	// ConfigPath receives the last configuration FRR accepted, replaced atomically. It is
	// written only after a successful reload, so it never holds a rejected configuration.
	// frr-reload.py also saves FRR's own view ("write") to the pathspace's integrated frr.conf;
	// when ConfigPath is that file, the rendered text replaces it right afterwards.
	ConfigPath string
	// ReloadScript and Vtysh override DefaultReloadScript and DefaultVtysh.
	ReloadScript string
	Vtysh        string
	// SkipTest leaves out the separate "frr-reload.py --test" run. --reload checks the syntax
	// of the whole file before it changes anything, so the separate run only adds ~0.4 s.
	SkipTest bool

	mu sync.Mutex
	// last is the text FRR runs while applied is true; after Invalidate it is the text FRR
	// last accepted.
	last    string
	applied bool
}

// Apply makes FRR run text. It does nothing when text is byte-identical to the configuration
// it applied last (a no-op frr-reload.py still costs ~0.4 s). Otherwise it checks the line
// shapes, lets frr-reload.py test the file, then reload it. When anything fails, the running
// configuration is the previous one and the error says so; changed reports whether FRR's
// configuration changed.
func (r *Reloader) Apply(ctx context.Context, text string) (changed bool, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.applied && text == r.last {
		return false, nil
	}
	if err := CheckShape(text); err != nil {
		return false, fmt.Errorf("refuse frr configuration (running configuration unchanged): %w", err)
	}
	tmp, err := writeTemp(r.ConfigPath, text)
	if err != nil {
		return false, fmt.Errorf("write frr configuration: %w", err)
	}
	defer os.Remove(tmp)

	// A text FRR accepted before needs no separate test: after an FRR restart (Invalidate)
	// this saves ~0.4 s of the time the node's routes are missing from the fabric.
	if !r.SkipTest && text != r.last {
		if err := r.reload(ctx, "--test", tmp); err != nil {
			return false, fmt.Errorf("frr-reload.py --test rejected the configuration (running configuration unchanged): %w", err)
		}
	}
	if err := r.reload(ctx, "--reload", tmp); err != nil {
		err = fmt.Errorf("frr-reload.py --reload failed: %w", err)
		if !r.applied {
			return true, fmt.Errorf("%w; the running configuration may be partly changed", err)
		}
		if rerr := r.rollback(ctx); rerr != nil {
			// Unknown state: make the next Apply reload whatever it gets.
			r.applied = false
			return true, fmt.Errorf("%w; rolling back to the last applied configuration failed too: %w", err, rerr)
		}
		return false, fmt.Errorf("%w; rolled back to the last applied configuration", err)
	}
	if err := os.Rename(tmp, r.ConfigPath); err != nil {
		// FRR runs the new configuration; only the saved copy is stale.
		r.last, r.applied = text, true
		return true, fmt.Errorf("frr runs the new configuration but saving it failed: %w", err)
	}
	r.last, r.applied = text, true
	return true, nil
}

// Invalidate forgets the last applied configuration, so the next Apply reloads even an
// identical text: a restarted FRR starts from its startup file, not from what was pushed.
func (r *Reloader) Invalidate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.applied = false
}

// rollback reloads the last applied configuration and restores ConfigPath, which the failed
// reload's "write" may have overwritten with a half-applied configuration.
func (r *Reloader) rollback(ctx context.Context) error {
	tmp, err := writeTemp(r.ConfigPath, r.last)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := r.reload(ctx, "--reload", tmp); err != nil {
		return err
	}
	return os.Rename(tmp, r.ConfigPath)
}

// reload runs frr-reload.py in mode --test or --reload.
func (r *Reloader) reload(ctx context.Context, mode, file string) error {
	script := cmp.Or(r.ReloadScript, DefaultReloadScript)
	vtysh := cmp.Or(r.Vtysh, DefaultVtysh)
	// --stdout keeps the log out of /var/log/frr and in our error; warnings and errors are
	// all a failure needs, and info lines would copy whole configurations into it.
	args := []string{mode, "--stdout", "--log-level", "warning", "--bindir", filepath.Dir(vtysh)}
	if r.Pathspace != "" {
		args = append(args, "-N", r.Pathspace)
	}
	args = append(args, file)
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// The log is on stderr. vtysh's complaints about refused lines reach stdout, where
		// --test prints its diff (a diff against an empty file when the file was refused,
		// which is only noise).
		msg := stderr.Bytes()
		if mode != "--test" {
			msg = append(stdout.Bytes(), msg...)
		}
		return fmt.Errorf("%w: %s", err, tail(redact(ansiRE.ReplaceAll(msg, nil)), 2000))
	}
	return nil
}

// writeTemp writes text to a new file next to path, so that a rename replaces path atomically.
func writeTemp(path, text string) (string, error) {
	if path == "" {
		return "", errors.New("reloader has no config path")
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*")
	if err != nil {
		return "", err
	}
	_, werr := f.WriteString(text)
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	// FRR's own mode for configuration files: it holds neighbor passwords.
	if err := os.Chmod(f.Name(), 0o640); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

var (
	passwordRE = regexp.MustCompile(`(password )\S+`)
	// ansiRE matches the colour codes frr-reload.py puts around ERROR and WARNING.
	ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// redact hides neighbor passwords that frr-reload.py or vtysh echo in their messages.
func redact(b []byte) []byte {
	return passwordRE.ReplaceAll(b, []byte("${1}<redacted>"))
}

// tail keeps the last n bytes of b: the end of frr-reload.py's output says why it failed.
func tail(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// Session is one BGP session as bgpd reports it.
type Session struct {
	// VRF is "default" or a tenant VRF's name.
	VRF string `json:"vrf"`
	// Neighbor is the address, or the interface of an unnumbered session.
	Neighbor string `json:"neighbor"`
	// State is bgpd's FSM state: Idle, Connect, Active, OpenSent, OpenConfirm, Established.
	State string `json:"state"`
}

// Sessions lists every BGP session of every VRF with its state, sorted by VRF and neighbor.
func (r *Reloader) Sessions(ctx context.Context) ([]Session, error) {
	data, err := r.vtyshJSON(ctx, "show bgp vrf all neighbors json")
	if err != nil {
		return nil, err
	}
	return parseSessions(data)
}

// vtyshJSON runs one show command with vtysh and returns its output.
func (r *Reloader) vtyshJSON(ctx context.Context, command string) ([]byte, error) {
	var out, errOut bytes.Buffer
	args := []string{"-c", command}
	if r.Pathspace != "" {
		args = append([]string{"-N", r.Pathspace}, args...)
	}
	cmd := exec.CommandContext(ctx, cmp.Or(r.Vtysh, DefaultVtysh), args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("vtysh %s: %w: %s", command, err, tail(append(out.Bytes(), errOut.Bytes()...), 500))
	}
	return out.Bytes(), nil
}

// parseSessions reads "show bgp vrf all neighbors json": an object per VRF whose members are
// vrfId, vrfName and one object per neighbor.
func parseSessions(data []byte) ([]Session, error) {
	var vrfs map[string]map[string]json.RawMessage
	if err := json.Unmarshal(data, &vrfs); err != nil {
		return nil, fmt.Errorf("parse bgp neighbors json: %w: %s", err, tail(data, 200))
	}
	var out []Session
	for vrf, members := range vrfs {
		for key, raw := range members {
			if len(raw) == 0 || raw[0] != '{' {
				continue // vrfId, vrfName
			}
			var n struct {
				State string `json:"bgpState"`
			}
			if err := json.Unmarshal(raw, &n); err != nil {
				return nil, fmt.Errorf("parse bgp neighbor %s in vrf %s: %w", key, vrf, err)
			}
			out = append(out, Session{VRF: vrf, Neighbor: key, State: n.State})
		}
	}
	slices.SortFunc(out, func(a, b Session) int {
		return cmp.Or(cmp.Compare(a.VRF, b.VRF), cmp.Compare(a.Neighbor, b.Neighbor))
	})
	return out, nil
}

// InterfaceAddrs lists the addresses zebra knows per interface, in every VRF.
func (r *Reloader) InterfaceAddrs(ctx context.Context) (map[string][]netip.Prefix, error) {
	data, err := r.vtyshJSON(ctx, "show interface vrf all brief json")
	if err != nil {
		return nil, err
	}
	return parseInterfaceAddrs(data)
}

// parseInterfaceAddrs reads "show interface vrf all brief json": an object per interface
// with its addresses (with several VRFs, FRR may group the interfaces in an object per VRF).
func parseInterfaceAddrs(data []byte) (map[string][]netip.Prefix, error) {
	type iface struct {
		Addresses *[]string `json:"addresses"`
	}
	out := map[string][]netip.Prefix{}
	var walk func(raw json.RawMessage, depth int) error
	walk = func(raw json.RawMessage, depth int) error {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		for name, v := range m {
			if len(v) == 0 || v[0] != '{' {
				continue
			}
			var i iface
			if err := json.Unmarshal(v, &i); err != nil {
				return fmt.Errorf("interface %s: %w", name, err)
			}
			if i.Addresses == nil {
				if depth == 0 {
					if err := walk(v, 1); err != nil {
						return err
					}
				}
				continue
			}
			for _, a := range *i.Addresses {
				if p, err := netip.ParsePrefix(a); err == nil {
					out[name] = append(out[name], p)
				}
			}
		}
		return nil
	}
	if err := walk(data, 0); err != nil {
		return nil, fmt.Errorf("parse interfaces json: %w: %s", err, tail(data, 200))
	}
	return out, nil
}
