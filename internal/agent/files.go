package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"

	"github.com/weftnet/weft/internal/manifest"
)

// FileSource reads the desired state from a directory of YAML files (host mode).
type FileSource struct {
	Dir string
	Log *slog.Logger

	// cache keeps the parsed contents of unchanged files between passes.
	cache manifest.Cache
}

// Load reads every file of the directory. A file that is not YAML fails the whole load (the
// previous state stays applied); a document that does not decode is reported as invalid.
func (s *FileSource) Load(context.Context) (Desired, error) {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return Desired{}, err
	}
	res, err := s.cache.Load(s.Dir)
	if err != nil {
		return Desired{}, err
	}
	for _, ig := range res.Ignored {
		s.log().Debug("ignoring a document of another kind", "document", ig)
	}
	return Desired{Resources: res.Resources, Invalid: res.Invalid}, nil
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
