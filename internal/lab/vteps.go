package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/manifest"
)

// Clusters share one fabric but not one control plane: each numbers its nodes from index 0
// and no controller sees the other cluster's nodes. Two clusters whose Underlays take VTEP
// addresses from overlapping networks give two nodes one VTEP, and the fabric delivers one
// node's VXLAN traffic to the other: a silent blackhole. Only the lab sees both clusters, so
// it refuses such Underlays before they are applied (checkClusterNetworks) and checks the
// addresses the nodes really have (VTEPConflicts).

// nodeVTEPs reads the VTEP addresses weft gave node n: the global addresses on its router
// namespace's lo.
func nodeVTEPs(ctx context.Context, n *Node) ([]netip.Addr, error) {
	out, err := run(ctx, "ip", "-n", n.RouterNetns, "-j", "addr", "show", "dev", "lo")
	if err != nil {
		return nil, err
	}
	var links []struct {
		AddrInfo []struct {
			Local string `json:"local"`
			Scope string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal([]byte(out), &links); err != nil {
		return nil, fmt.Errorf("node %s: ip -j addr show dev lo: %w", n.Name, err)
	}
	var addrs []netip.Addr
	for _, l := range links {
		for _, a := range l.AddrInfo {
			if ad, err := netip.ParseAddr(a.Local); err == nil && a.Scope == "global" && !ad.IsLoopback() {
				addrs = append(addrs, ad)
			}
		}
	}
	return addrs, nil
}

// VTEPConflicts lists the VTEP addresses that more than one node of the lab has, each as
// "ADDR: NODE (cluster C), NODE (cluster C)", in address order; none when every node's are
// its own.
func VTEPConflicts(ctx context.Context, s *State) ([]string, error) {
	owners := map[netip.Addr][]string{}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		addrs, err := nodeVTEPs(ctx, n)
		if err != nil {
			return nil, err
		}
		for _, a := range addrs {
			owners[a] = append(owners[a], fmt.Sprintf("%s (cluster %s)", n.Name, n.Cluster))
		}
	}
	var addrs []netip.Addr
	for a, o := range owners {
		if len(o) > 1 {
			addrs = append(addrs, a)
		}
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int { return a.Compare(b) })
	var out []string
	for _, a := range addrs {
		out = append(out, fmt.Sprintf("%s: %s", a, strings.Join(owners[a], ", ")))
	}
	return out, nil
}

// waitVTEPs waits until every node has the VTEP address the lab planned for it, and fails at
// once when two nodes share one.
func (s *State) waitVTEPs(ctx context.Context, timeout time.Duration) error {
	return poll(ctx, timeout, func() error {
		conflicts, err := VTEPConflicts(ctx, s)
		if err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return fmt.Errorf("nodes share VTEP addresses (their clusters' VTEP networks overlap): %s", strings.Join(conflicts, "; "))
		}
		for i := range s.Nodes {
			n := &s.Nodes[i]
			addrs, err := nodeVTEPs(ctx, n)
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(addrs, func(a netip.Addr) bool { return a.String() == n.VTEP }) {
				return fmt.Errorf("node %s has VTEP addresses %v, not %s", n.Name, addrs, n.VTEP)
			}
		}
		return nil
	})
}

// checkClusterNetworks refuses the Underlays of files applied to cluster c whose VTEP or
// router-ID networks overlap another cluster's VTEP network, naming the file, the object and
// the field.
func (s *State) checkClusterNetworks(c *Cluster, file string, r manifest.Result) error {
	var problems []string
	for _, u := range r.Resources.Underlays {
		fields := map[string]string{}
		for i, cidr := range u.Spec.TunnelEndpoint.CIDRs {
			fields[fmt.Sprintf("spec.tunnelEndpoint.cidrs[%d]", i)] = cidr
		}
		if u.Spec.RouterIDCIDR != "" {
			fields["spec.routerIDCIDR"] = u.Spec.RouterIDCIDR
		}
		for field, cidr := range fields {
			p, err := netip.ParsePrefix(cidr)
			if err != nil {
				continue // the agents report it, with the rest of the object's errors
			}
			for _, other := range s.Clusters {
				if other.Name == c.Name {
					continue
				}
				op, err := netip.ParsePrefix(other.VTEPCIDR)
				if err == nil && p.Overlaps(op) {
					problems = append(problems, fmt.Sprintf("%s: Underlay/%s/%s: %s: %s overlaps cluster %s's VTEP network %s: nodes of both clusters would take the same addresses (each numbers its nodes from 0), and the fabric would deliver one node's traffic to the other",
						file, u.Namespace, u.Name, field, cidr, other.Name, other.VTEPCIDR))
				}
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return fmt.Errorf("refused for cluster %s, nothing applied:\n%s", c.Name, strings.Join(problems, "\n"))
	}
	return nil
}
