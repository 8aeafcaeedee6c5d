package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
)

// FileSource reads the desired state from a directory of YAML files (host mode), as kubectl
// apply would read them (see internal/manifest): an object without metadata.namespace is in
// "default", and a document that cannot be read, or an object defined twice, is reported in
// Desired.Invalid while every other object loads.
//
// Files carry no creationTimestamp, and contested claims go to the oldest object; so the
// source gives each object without one the time it first saw it (objects first seen in one
// pass in load order), remembered in StateFile across restarts: a newcomer never displaces
// a working object, whatever its name.
type FileSource struct {
	Dir string
	// StateFile, when set, is the JSON file where the source keeps when it first saw each
	// object, so that objects keep their age across restarts; empty: in memory only.
	StateFile string
	Log       *slog.Logger

	// cache keeps the parsed contents of unchanged files between passes.
	cache manifest.Cache
	// seen holds the first-seen times; now replaces time.Now when set (tests).
	seen firstSeen
	now  func() time.Time
}

// Load reads every file of the directory. Only a directory or file that cannot be read fails
// the load (the previous state stays applied); a document that cannot be read is reported in
// Invalid, and once its file is fixed the next pass reads it again.
func (s *FileSource) Load(context.Context) (Desired, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return Desired{}, err
	}
	res, err := s.cache.Load(s.Dir)
	if err != nil {
		return Desired{}, err
	}
	s.stamp(&res)
	return Desired{Resources: res.Resources, Invalid: res.Invalid}, nil
}

// stamp gives every object without a creationTimestamp the time the source first saw it.
// Documents that cannot be read but name their object count as present: an object whose
// file is briefly broken keeps its age.
func (s *FileSource) stamp(res *manifest.Result) {
	s.seen.path = s.StateFile
	if err := s.seen.load(); err != nil {
		s.log().Warn("first-seen times unreadable; every object counts as new", "error", err)
	}
	present := make([]plan.Ref, 0, len(res.Objects)+len(res.Invalid))
	for _, o := range res.Objects {
		present = append(present, o.Ref)
	}
	for _, e := range res.Invalid {
		switch e.Kind {
		case v1alpha1.KindUnderlay, v1alpha1.KindL3VNI, v1alpha1.KindL2VNI, v1alpha1.KindL3Passthrough, "Secret":
			present = append(present, e.Ref())
		}
	}
	now := time.Now
	if s.now != nil {
		now = s.now
	}
	at, changed := s.seen.update(present, now())
	res.Stamp(at)
	if changed {
		if err := s.seen.save(); err != nil {
			s.log().Warn("keep first-seen times", "error", err)
		}
	}
}

func (s *FileSource) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Watch sends on the returned channel whenever a file of the directory changes, until ctx
// ends.
func (s *FileSource) Watch(ctx context.Context) (<-chan struct{}, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", s.Dir, err)
	}
	if err := w.Add(s.Dir); err != nil {
		w.Close()
		return nil, fmt.Errorf("watch %s: %w", s.Dir, err)
	}
	ch := make(chan struct{}, 1)
	go func() {
		defer w.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.Events:
				if !ok {
					return
				}
				// Only files Load reads: a tool that writes a temporary file and renames it
				// into place would otherwise cost a pass that sees nothing new.
				if ev.Op == fsnotify.Chmod || !manifest.IsManifest(filepath.Base(ev.Name)) {
					continue
				}
				select {
				case ch <- struct{}{}:
				default:
				}
			case err, ok := <-w.Errors:
				if !ok {
					return
				}
				s.log().Warn("watch config dir", "error", err)
			}
		}
	}()
	return ch, nil
}
