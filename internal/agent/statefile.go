package agent

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// readStateFile reads a state file written by writeStateFile; a missing file reads as nil
// (no state yet).
func readStateFile(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// writeStateFile replaces path with data atomically (a temporary file renamed into place),
// creating its directory: the agent's state files must never be seen half written.
func writeStateFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
