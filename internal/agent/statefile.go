package agent

import (
	"os"
	"path/filepath"
)

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
