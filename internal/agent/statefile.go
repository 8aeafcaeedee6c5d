package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// readStateFile reads the JSON state file at path (written by writeStateFile) into v, and
// says whether there was one: a missing file is no state yet. what names the state in errors.
func readStateFile(path, what string, v any) (bool, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", what, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("read %s %s: %w", what, path, err)
	}
	return true, nil
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
