package agent

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/weftnet/weft/internal/plan"
)

// firstSeen remembers when the host-mode agent first saw each object of its config
// directory. Files carry no creationTimestamp, and plan.Build gives a contested claim (a VNI,
// a VRF) to the oldest object, then to the first name: without an age, a newcomer named
// "aaa" would displace a working object. An object keeps its first-seen time while it stays
// in the directory (readable or not); one that disappears is forgotten, as a deleted object
// is in Kubernetes. The zero value is ready to use (in memory only).
type firstSeen struct {
	// path, when set, is the JSON file the times persist in across restarts.
	path   string
	loaded bool
	at     map[plan.Ref]time.Time
}

// seenFile is the JSON form of the state file.
type seenFile struct {
	Objects []seenObject `json:"objects"`
}

type seenObject struct {
	plan.Ref
	FirstSeen time.Time `json:"firstSeen"`
}

// update records the objects present now, in load order, and returns their first-seen
// times. Objects new in this pass are seen at now, or just after the newest known object
// when the clock went back, and in load order among themselves; objects gone are forgotten.
// changed says whether the state differs from the previous pass.
func (f *firstSeen) update(present []plan.Ref, now time.Time) (at map[plan.Ref]time.Time, changed bool) {
	base := now.Round(0) // wall clock only: the times are compared with persisted ones
	for _, t := range f.at {
		if !t.Before(base) {
			base = t.Add(time.Nanosecond)
		}
	}
	next := make(map[plan.Ref]time.Time, len(present))
	for _, ref := range present {
		if _, dup := next[ref]; dup {
			continue
		}
		t, ok := f.at[ref]
		if !ok {
			t, base, changed = base, base.Add(time.Nanosecond), true
		}
		next[ref] = t
	}
	changed = changed || len(next) != len(f.at)
	f.at = next
	return next, changed
}

// load reads the state file once; a missing file is an empty state.
func (f *firstSeen) load() error {
	if f.loaded || f.path == "" {
		return nil
	}
	f.loaded = true
	var sf seenFile
	if found, err := readStateFile(f.path, "first-seen times", &sf); err != nil || !found {
		return err
	}
	f.at = make(map[plan.Ref]time.Time, len(sf.Objects))
	for _, o := range sf.Objects {
		f.at[o.Ref] = o.FirstSeen
	}
	return nil
}

// save writes the state file atomically (a temporary file renamed into place).
func (f *firstSeen) save() error {
	if f.path == "" {
		return nil
	}
	var sf seenFile
	for ref, t := range f.at {
		sf.Objects = append(sf.Objects, seenObject{Ref: ref, FirstSeen: t})
	}
	slices.SortFunc(sf.Objects, func(a, b seenObject) int {
		return cmp.Or(a.FirstSeen.Compare(b.FirstSeen), cmp.Compare(a.Ref.String(), b.Ref.String()))
	})
	b, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode first-seen times: %w", err)
	}
	if err := writeStateFile(f.path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write first-seen times: %w", err)
	}
	return nil
}
