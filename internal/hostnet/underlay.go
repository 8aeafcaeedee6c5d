package hostnet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// nicState is what weft remembers about a NIC it moved into the router namespace: how to
// give it back. It lives in a file (not in the link alias) because it must survive the
// router namespace being destroyed, when the kernel returns the NIC bare, and because the
// alias belongs to the operator.
type nicState struct {
	Name  string         `json:"name"`
	Up    bool           `json:"up"`
	Addrs []netip.Prefix `json:"addrs,omitempty"`
}

func (r *run) stateDir() string { return r.a.nicDir(r.routerName) }

// nicDir is where the NIC records of router namespace router are.
func (a *Applier) nicDir(router string) string {
	d := a.StateDir
	if d == "" {
		d = DefaultStateDir
	}
	// One directory per router namespace: two routers never share a NIC record.
	return filepath.Join(d, strings.ReplaceAll(router, "/", "_"))
}

// movedNIC says whether weft moved device nic into router namespace router (its record of
// the NIC's host state exists).
func (a *Applier) movedNIC(router, nic string) bool {
	_, err := os.Stat(filepath.Join(a.nicDir(router), nic+".json"))
	return err == nil
}

func (r *run) statePath(nic string) string { return filepath.Join(r.stateDir(), nic+".json") }

func (r *run) loadNIC(nic string) (*nicState, error) {
	b, err := os.ReadFile(r.statePath(nic))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s nicState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("parse %s: %w", r.statePath(nic), err)
	}
	return &s, nil
}

func (r *run) saveNIC(s *nicState) error {
	if err := os.MkdirAll(r.stateDir(), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	tmp := r.statePath(s.Name) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, r.statePath(s.Name))
}

// ensureUnderlay converges lo (up, VTEP addresses) and the underlay NICs: listed NICs are
// moved in (their host addresses re-applied inside), NICs no longer listed go back to the
// host with the addresses and up/down state they had there.
func (r *run) ensureUnderlay(ctx context.Context) error {
	var errs []error
	lo := r.rs.byName["lo"]
	if lo == nil {
		return fmt.Errorf("router netns has no lo")
	}
	if err := r.converge(r.rc, r.rs, lo, linkWant{up: true}); err != nil {
		errs = append(errs, fmt.Errorf("ensure lo: %w", err))
	}
	if err := r.convergeAddrs(r.rc, lo, r.kp.Underlay.VTEPs, true); err != nil {
		errs = append(errs, fmt.Errorf("ensure vtep: %w", err))
	}
	if err := r.restoreNICs(); err != nil {
		errs = append(errs, err)
	}
	for _, nic := range r.kp.Underlay.Interfaces {
		if ctx.Err() != nil {
			break
		}
		if err := r.ensureNIC(nic); err != nil {
			errs = append(errs, fmt.Errorf("ensure nic %s: %w", nic, err))
		}
	}
	for _, nic := range r.kp.Underlay.Interfaces {
		if l := r.rs.byName[nic]; l != nil && (r.underlayMTU == 0 || l.mtu < r.underlayMTU) {
			r.underlayMTU = l.mtu
		}
	}
	return errors.Join(errs...)
}

func (r *run) ensureNIC(nic string) error {
	st, err := r.loadNIC(nic)
	if err != nil {
		return err
	}
	l := r.rs.byName[nic]
	if l == nil {
		hl := r.hs.byName[nic]
		if hl == nil {
			return fmt.Errorf("not found in the host or router netns")
		}
		if isOwned(hl) || !(hl.physical || hl.kind == "veth" || hl.kind == "macvlan") {
			return fmt.Errorf("host device %s (kind %q) cannot be an underlay NIC", nic, hl.kind)
		}
		if st == nil {
			// A record left from an earlier move wins: it holds the addresses the NIC had
			// before weft first took it (the NIC may have come back bare since).
			st = &nicState{Name: nic, Up: hl.up, Addrs: slices.DeleteFunc(slices.Clone(hl.addrs), func(p netip.Prefix) bool { return kernelAddr(hl, p) })}
			if err := r.saveNIC(st); err != nil {
				return fmt.Errorf("remember host state: %w", err)
			}
		}
		if err := r.hc.setNetns(hl.index, int(r.rns)); err != nil {
			return fmt.Errorf("move into router netns: %w", err)
		}
		r.hs.remove(hl)
		r.res.Created++
		if l, err = r.fetch(r.rc, r.rs, nic); err != nil {
			return err
		}
	} else if st == nil {
		// Already inside but unrecorded (the state directory was lost): record what it has,
		// so that it still goes back when the plan drops it.
		st = &nicState{Name: nic, Up: true, Addrs: slices.DeleteFunc(slices.Clone(l.addrs), func(p netip.Prefix) bool { return kernelAddr(l, p) })}
		if err := r.saveNIC(st); err != nil {
			return fmt.Errorf("remember host state: %w", err)
		}
	}
	if err := r.converge(r.rc, r.rs, l, linkWant{up: true, master: l.master}); err != nil {
		return err
	}
	// The NIC keeps its host addresses inside (they are usually the fabric link); others
	// may be added by the operator and are left alone.
	return r.convergeAddrs(r.rc, l, st.Addrs, false)
}

// restoreNICs gives back every recorded NIC the plan no longer lists.
func (r *run) restoreNICs() error {
	ents, err := os.ReadDir(r.stateDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read nic state: %w", err)
	}
	var errs []error
	for _, e := range ents {
		nic, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || slices.Contains(r.kp.Underlay.Interfaces, nic) {
			continue
		}
		if err := r.restoreNIC(nic); err != nil {
			errs = append(errs, fmt.Errorf("restore nic %s: %w", nic, err))
		}
	}
	return errors.Join(errs...)
}

func (r *run) restoreNIC(nic string) error {
	st, err := r.loadNIC(nic)
	if err != nil || st == nil {
		return err
	}
	hl := r.hs.byName[nic]
	if l := r.rs.byName[nic]; l != nil {
		if hl != nil {
			return fmt.Errorf("a device named %s already exists in the host netns", nic)
		}
		if err := r.rc.setNetns(l.index, int(r.hns)); err != nil {
			return fmt.Errorf("move to host netns: %w", err)
		}
		r.rs.remove(l)
		r.res.Deleted++
		if hl, err = r.fetch(r.hc, r.hs, nic); err != nil {
			return err
		}
	}
	if hl == nil {
		r.a.log().Warn("underlay nic to restore is gone; keeping its record", "nic", nic, "state", r.statePath(nic))
		return nil
	}
	if err := r.convergeAddrs(r.hc, hl, st.Addrs, false); err != nil {
		return err
	}
	if err := r.converge(r.hc, r.hs, hl, linkWant{up: st.Up, master: hl.master}); err != nil {
		return err
	}
	return os.Remove(r.statePath(nic))
}

// fetch reads one link by name (after a namespace move, when its index may have changed)
// with its addresses, and records it in st.
func (r *run) fetch(c *conn, st *nsState, name string) (*link, error) {
	req := c.request(unix.RTM_GETLINK, unix.NLM_F_ACK)
	req.AddData(nl.NewIfInfomsg(unix.AF_UNSPEC))
	req.AddData(nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)))
	var l *link
	err := c.dump(req, unix.RTM_NEWLINK, func(b []byte) error {
		var err error
		l, err = parseLink(b)
		return err
	})
	if err != nil || l == nil {
		return nil, fmt.Errorf("read %s after move: %w", name, err)
	}
	// Addresses do not survive a namespace move; the new index has none yet.
	st.add(l)
	if l.index >= r.nextIndex {
		r.nextIndex = l.index + 1
	}
	return l, nil
}
