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
// selected node, under the file's own name, replacing a file of the same name; in
// Kubernetes mode into the selected clusters' API servers with kubectl apply, as a user would.
// Nodes (host mode) or clusters select where; none selects every node of every cluster.
// Every file is read and checked before anything is written: a file no agent could read, or
// an Underlay whose VTEP network overlaps another cluster's (checkClusterNetworks), refuses
// the whole apply.
func Apply(ctx context.Context, s *State, paths, nodes, clusters []string) ([]Applied, error) {
	if len(nodes) > 0 && len(clusters) > 0 {
		return nil, fmt.Errorf("--node and --cluster both select where files go: give one")
	}
	if s.Kubernetes && len(nodes) > 0 {
		return nil, fmt.Errorf("--node selects config directories (host mode); lab %s runs in Kubernetes mode, where nodeSelector selects nodes (--cluster selects the API server)", s.Name)
	}
	files, err := manifestFiles(paths)
	if err != nil {
		return nil, err
	}
	targets, err := s.applyTargets(nodes, clusters)
	if err != nil {
		return nil, err
	}
	bodies := map[string][]byte{}
	for _, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		// Refuse what the agents could not read at all; per-object errors are the agents' to
		// report (weft status), as for any file a user drops there.
		r, err := manifest.Parse(f, body)
		if err != nil {
			return nil, err
		}
		for _, c := range targets {
			if err := s.checkClusterNetworks(c.cluster, f, r); err != nil {
				return nil, err
			}
		}
		bodies[f] = body
	}
	var out []Applied
	for _, f := range files {
		a := Applied{File: f}
		for _, c := range targets {
			if s.Kubernetes {
				kubectl, err := s.Kubectl()
				if err != nil {
					return out, err
				}
				text, err := run(ctx, kubectl, "--kubeconfig", c.cluster.Kubeconfig, "apply", "-f", f)
				if err != nil {
					return out, fmt.Errorf("cluster %s: kubectl apply -f %s: %w", c.cluster.Name, f, err)
				}
				if len(targets) > 1 {
					text = prefixLines(c.cluster.Name+": ", text)
				}
				a.Kubectl = strings.TrimSpace(a.Kubectl + "\n" + strings.TrimSpace(text))
				continue
			}
			for _, n := range c.nodes {
				if err := writeFile(filepath.Join(n.ConfigDir, filepath.Base(f)), bodies[f]); err != nil {
					return out, err
				}
				a.Nodes = append(a.Nodes, n.Name)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// applyTarget is one cluster that Apply writes to, with the nodes whose config directories
// get the files (host mode).
type applyTarget struct {
	cluster *Cluster
	nodes   []Node
}

// applyTargets resolves Apply's selection: the named nodes, grouped by cluster; the nodes of
// the named clusters; or every node of every cluster.
func (s *State) applyTargets(nodes, clusters []string) ([]applyTarget, error) {
	var targets []applyTarget
	add := func(n Node) error {
		c, err := s.clusterOf(&n)
		if err != nil {
			return err
		}
		for i := range targets {
			if targets[i].cluster.Name == c.Name {
				targets[i].nodes = append(targets[i].nodes, n)
				return nil
			}
		}
		targets = append(targets, applyTarget{cluster: c, nodes: []Node{n}})
		return nil
	}
	switch {
	case len(nodes) > 0:
		for _, name := range nodes {
			n, err := s.Node(name)
			if err != nil {
				return nil, err
			}
			if err := add(*n); err != nil {
				return nil, err
			}
		}
	case len(clusters) > 0:
		for _, name := range clusters {
			c, err := s.Cluster(name)
			if err != nil {
				return nil, err
			}
			targets = append(targets, applyTarget{cluster: c})
			for _, n := range s.Nodes {
				if n.Cluster == c.Name {
					targets[len(targets)-1].nodes = append(targets[len(targets)-1].nodes, n)
				}
			}
		}
	default:
		for _, n := range s.Nodes {
			if err := add(n); err != nil {
				return nil, err
			}
		}
	}
	return targets, nil
}

// prefixLines puts prefix before every line of text.
func prefixLines(prefix, text string) string {
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for i := range lines {
		lines[i] = prefix + lines[i]
	}
	return strings.Join(lines, "\n")
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
