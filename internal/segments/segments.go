// Package segments is the node's list of applied L2VNIs as weft's CNI plugin reads it. The
// agent writes it after every pass that changes it; the plugin, which has no API server
// access and must work while the agent restarts, finds an L2VNI's host bridge in it.
package segments

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultPath is where the agent writes the file and the plugin reads it unless told otherwise.
const DefaultPath = "/run/weft/segments.json"

// Segment is one L2VNI applied on this node.
type Segment struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	VNI       uint32 `json:"vni"`
	// Bridge is the host bridge workloads attach to (Managed or External).
	Bridge string `json:"bridge"`
	// HostVeth is the host end of the L2VNI's veth, a port of Bridge.
	HostVeth string `json:"hostVeth"`
	// MTU is the L2VNI's MTU; 0 when it is derived from the underlay (read HostVeth's).
	MTU int `json:"mtu,omitempty"`
}

// File is the content of the segments file.
type File struct {
	Node string `json:"node"`
	// AgentAddr is the agent's --status-addr, where the plugin asks whether it is ready.
	AgentAddr string    `json:"agentAddr,omitempty"`
	Segments  []Segment `json:"segments"`
}

// Write replaces the file at path with f unless it already holds f, atomically (a reader never
// sees half a file). It reports whether it wrote.
func Write(path string, f File) (bool, error) {
	slices.SortFunc(f.Segments, func(a, b Segment) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return false, err
	}
	data = append(data, '\n')
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return false, nil
	}
	if err := replace(path, data); err != nil {
		return false, fmt.Errorf("write segments file: %w", err)
	}
	return true, nil
}

// replace writes data to a temporary file next to path and renames it over path.
func replace(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".segments-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Read reads the file at path.
func Read(path string) (File, error) {
	var f File
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return f, fmt.Errorf("no segments file %s: weft-agent has not run on this node (or writes it elsewhere: --segments-file)", path)
	}
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return f, fmt.Errorf("segments file %s: %w", path, err)
	}
	return f, nil
}

// Find returns the L2VNI called name, in namespace when it is not empty.
func (f File) Find(namespace, name string) (Segment, error) {
	var found []Segment
	var names []string
	for _, s := range f.Segments {
		names = append(names, qualified(s.Namespace, s.Name))
		if s.Name == name && (namespace == "" || s.Namespace == namespace) {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		applied := "none"
		if len(names) > 0 {
			applied = strings.Join(names, ", ")
		}
		return Segment{}, fmt.Errorf("L2VNI %q is not applied on node %q (applied here: %s)", qualified(namespace, name), f.Node, applied)
	default:
		return Segment{}, fmt.Errorf("L2VNI name %q is in several namespaces on node %q; set \"namespace\" in the network configuration", name, f.Node)
	}
}

func qualified(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}
