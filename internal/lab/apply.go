package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/weftnet/weft/internal/manifest"
)

// Applied says where weft lab apply put one file.
type Applied struct {
	File string `json:"file"`
	// Nodes are the nodes whose config directory got the file (host mode).
	Nodes []string `json:"nodes,omitempty"`
	// Kubectl is kubectl apply's output (Kubernetes mode).
	Kubectl string `json:"kubectl,omitempty"`
}

// Apply puts the objects of the given files and directories (*.yaml, *.yml, *.json) where the
// lab's agents read them: in host mode a copy of each file in the config directory of every
// selected node (all when nodes is empty), under the file's own name, replacing a file of the
// same name; in Kubernetes mode into the API server with kubectl apply, as a user would.
func Apply(ctx context.Context, s *State, paths, nodes []string) ([]Applied, error) {
	files, err := manifestFiles(paths)
	if err != nil {
		return nil, err
	}
	if s.Kubernetes {
		if len(nodes) > 0 {
			return nil, fmt.Errorf("--node selects config directories (host mode); lab %s runs in Kubernetes mode, where nodeSelector selects nodes", s.Name)
		}
		kubectl, err := s.Kubectl()
		if err != nil {
			return nil, err
		}
		var out []Applied
		for _, f := range files {
			text, err := run(ctx, kubectl, "--kubeconfig", s.Kubeconfig, "apply", "-f", f)
			if err != nil {
				return out, fmt.Errorf("kubectl apply -f %s: %w", f, err)
			}
			out = append(out, Applied{File: f, Kubectl: strings.TrimSpace(text)})
		}
		return out, nil
	}
	targets := s.Nodes
	if len(nodes) > 0 {
		targets = nil
		for _, name := range nodes {
			n, err := s.Node(name)
			if err != nil {
				return nil, err
			}
			targets = append(targets, *n)
		}
	}
	var out []Applied
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return out, err
		}
		// Refuse what the agents could not read at all; per-object errors are the agents' to
		// report (weft status), as for any file a user drops there.
		if _, err := manifest.Parse(f, body); err != nil {
			return out, err
		}
		a := Applied{File: f}
		for _, n := range targets {
			if err := writeFile(filepath.Join(n.ConfigDir, filepath.Base(f)), body); err != nil {
				return out, err
			}
			a.Nodes = append(a.Nodes, n.Name)
		}
		out = append(out, a)
	}
	return out, nil
}

// manifestFiles expands directories (not recursively) to the files an agent reads, and
// refuses two files of one name: they would land on one file in a config directory.
func manifestFiles(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no file given (-f FILE|DIR)")
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		var in []string
		for _, e := range ents {
			if !e.IsDir() && manifest.IsManifest(e.Name()) {
				in = append(in, filepath.Join(p, e.Name()))
			}
		}
		sort.Strings(in)
		files = append(files, in...)
	}
	var names []string
	for _, f := range files {
		if slices.Contains(names, filepath.Base(f)) {
			return nil, fmt.Errorf("two files are named %q: a config directory holds one", filepath.Base(f))
		}
		names = append(names, filepath.Base(f))
	}
	return files, nil
}

// writeFile replaces path atomically (the agent may read the directory at any moment).
func writeFile(path string, body []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, body, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
