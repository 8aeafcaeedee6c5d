package lab

import (
	"fmt"
	"strings"
)

// Finding the lab's parts by name: nodes, clusters, workloads, leaves, and the namespace of
// anything weft lab exec can enter.

// Node returns the node called name.
func (s *State) Node(name string) (*Node, error) {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("lab %s has no node %q", s.Name, name)
}

// Cluster returns the cluster called name.
func (s *State) Cluster(name string) (*Cluster, error) {
	for i := range s.Clusters {
		if s.Clusters[i].Name == name {
			return &s.Clusters[i], nil
		}
	}
	names := make([]string, 0, len(s.Clusters))
	for _, c := range s.Clusters {
		names = append(names, c.Name)
	}
	return nil, fmt.Errorf("lab %s has no cluster %q (its clusters: %s)", s.Name, name, strings.Join(names, ", "))
}

// clusterOf returns node n's cluster.
func (s *State) clusterOf(n *Node) (*Cluster, error) {
	return s.Cluster(n.Cluster)
}

// listClusterWorkloads fills each cluster's Workloads from where the workloads are now.
func (s *State) listClusterWorkloads() {
	for i := range s.Clusters {
		c := &s.Clusters[i]
		c.Workloads = []string{}
		for _, w := range s.Workloads {
			if n, err := s.Node(w.Node); err == nil && n.Cluster == c.Name {
				c.Workloads = append(c.Workloads, w.Name)
			}
		}
	}
}

// Workload returns the workload called name.
func (s *State) Workload(name string) (*Workload, error) {
	for i := range s.Workloads {
		if s.Workloads[i].Name == name {
			return &s.Workloads[i], nil
		}
	}
	return nil, fmt.Errorf("lab %s has no workload %q", s.Name, name)
}

// leaf returns the leaf called name, or nil.
func (s *State) leaf(name string) *Leaf {
	for i := range s.Leaves {
		if s.Leaves[i].Name == name {
			return &s.Leaves[i]
		}
	}
	return nil
}

// Target resolves a node, workload, external host, "spine", a leaf or "gobgp" (when GoBGP
// is in the fabric) to its namespace.
func (s *State) Target(name string) (string, error) {
	if name == spineName {
		return s.Spine, nil
	}
	if l := s.leaf(name); l != nil {
		return l.Netns, nil
	}
	if name == gobgpName && s.GoBGP {
		return s.ns(gobgpName), nil
	}
	if n, err := s.Node(name); err == nil {
		return n.Netns, nil
	}
	if strings.HasSuffix(name, "-rt") {
		if n, err := s.Node(strings.TrimSuffix(name, "-rt")); err == nil {
			return n.RouterNetns, nil
		}
	}
	if w, err := s.Workload(name); err == nil {
		return w.Netns, nil
	}
	for _, e := range s.External {
		if e.Name == name {
			return e.Netns, nil
		}
	}
	return "", fmt.Errorf("lab %s has no node, workload or external host %q", s.Name, name)
}
