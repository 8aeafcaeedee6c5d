package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/weftnet/weft/internal/frr"
)

// Uplink is one of a node's links to a leaf: 1 is eth1 to its rack's leaf, 2 (dual-tor) eth2
// to the other leaf.
type Uplink struct {
	// Device is the node's NIC (in its router namespace once weft moved it in).
	Device string
	// Leaf is the leaf's namespace and Port its end of the link there.
	Leaf, Port string
	// Peer is the leaf's address: the node's BGP neighbor on this link (in an unnumbered
	// fabric, the node's interface, which names the session).
	Peer string
}

// NodeUplink returns uplink i (1 or 2) of node.
func (s *State) NodeUplink(node string, i int) (Uplink, error) {
	n, err := s.Node(node)
	if err != nil {
		return Uplink{}, err
	}
	leafName, dev, port, peer := n.Leaf, uplinkName, nodePort(n.Link), s.ul(leafPortAddr(n.Link))
	if !s.numbered() {
		// An unnumbered session is named by the node's interface.
		peer = uplinkName
	}
	switch {
	case i == 2 && n.Leaf2 != "":
		leafName, dev, port, peer = n.Leaf2, uplink2Name, fmt.Sprintf("m%d", n.Link), leafPort2Addr(n.Link)
	case i != 1:
		return Uplink{}, fmt.Errorf("node %s has no uplink %d (the %s fabric gives it %d)", node, i, s.fabric(), len(s.uplinks(n)))
	}
	l := s.leaf(leafName)
	if l == nil {
		return Uplink{}, fmt.Errorf("node %s: lab %s has no leaf %q", node, s.Name, leafName)
	}
	return Uplink{Device: dev, Leaf: l.Netns, Port: port, Peer: peer}, nil
}

// uplinks numbers node n's uplinks.
func (s *State) uplinks(n *Node) []int {
	if n.Leaf2 != "" {
		return []int{1, 2}
	}
	return []int{1}
}

// fabric is the lab's fabric shape (FabricIBGPRR for a lab started before it had shapes).
func (s *State) fabric() string {
	if s.Fabric == "" {
		return FabricIBGPRR
	}
	return s.Fabric
}

// cutTable is the nftables table that drops everything a cut link's end receives.
func cutTable(dev string) string { return "weft-cut-" + dev }

// CutUplink makes uplink i of node drop every frame in both directions, as a dead fibre or a
// hung line card does: each end drops what it receives (an nftables netdev ingress chain on
// the node's NIC and on the leaf's port). Both ends stay up, so the kernel announces nothing:
// only BFD or the BGP hold timer notice. RestoreUplink undoes it.
func CutUplink(ctx context.Context, s *State, node string, i int) error {
	u, err := s.NodeUplink(node, i)
	if err != nil {
		return err
	}
	n, _ := s.Node(node)
	for _, end := range []struct{ ns, dev string }{{n.RouterNetns, u.Device}, {u.Leaf, u.Port}} {
		t := cutTable(end.dev)
		for _, args := range [][]string{
			{"add", "table", "netdev", t},
			{"add", "chain", "netdev", t, "in", fmt.Sprintf(`{ type filter hook ingress device "%s" priority 0; policy drop; }`, end.dev)},
		} {
			if _, err := inNS(ctx, end.ns, append([]string{"nft"}, args...)...); err != nil {
				return fmt.Errorf("cut %s's uplink %d at %s: %w", node, i, end.ns, err)
			}
		}
	}
	return nil
}

// RestoreUplink removes what CutUplink put on uplink i of node; it is a no-op on a link that
// is not cut.
func RestoreUplink(ctx context.Context, s *State, node string, i int) error {
	u, err := s.NodeUplink(node, i)
	if err != nil {
		return err
	}
	n, _ := s.Node(node)
	for _, end := range []struct{ ns, dev string }{{n.RouterNetns, u.Device}, {u.Leaf, u.Port}} {
		out, err := inNS(ctx, end.ns, "nft", "list", "tables", "netdev")
		if err != nil {
			return err
		}
		if !strings.Contains(out, cutTable(end.dev)) {
			continue
		}
		if _, err := inNS(ctx, end.ns, "nft", "delete", "table", "netdev", cutTable(end.dev)); err != nil {
			return fmt.Errorf("restore %s's uplink %d at %s: %w", node, i, end.ns, err)
		}
	}
	return nil
}

// BFDPeer is one BFD session of a node's router, as FRR reports it.
type BFDPeer struct {
	Peer   string `json:"peer"`
	Status string `json:"status"`
	// Diagnostic is why it last went down ("control detection time expired"), if it did.
	Diagnostic string `json:"diagnostic,omitempty"`
}

// BFDPeers reads the BFD sessions of node's router now (none without bfdd or sessions).
func BFDPeers(ctx context.Context, s *State, node string) ([]BFDPeer, error) {
	n, err := s.Node(node)
	if err != nil {
		return nil, err
	}
	out, err := inNS(ctx, n.RouterNetns, s.frr().Vtysh, "-N", n.RouterNetns, "-c", "show bfd peers json")
	if err != nil {
		if strings.Contains(out+err.Error(), "Unknown command") || strings.Contains(out+err.Error(), "bfdd is not running") {
			return nil, nil
		}
		return nil, err
	}
	var peers []BFDPeer
	if err := json.Unmarshal([]byte(out), &peers); err != nil {
		return nil, fmt.Errorf("node %s: show bfd peers json: %w", node, err)
	}
	slices.SortFunc(peers, func(a, b BFDPeer) int { return strings.Compare(a.Peer, b.Peer) })
	return peers, nil
}

// Sessions reads the BGP sessions of node's router now, from FRR (the agent's /status has
// them as of its last pass).
func Sessions(ctx context.Context, s *State, node string) ([]frr.Session, error) {
	n, err := s.Node(node)
	if err != nil {
		return nil, err
	}
	r := &frr.Reloader{Pathspace: n.RouterNetns, Vtysh: s.frr().Vtysh}
	return r.Sessions(ctx)
}
