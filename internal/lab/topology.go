package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"

	"github.com/weftnet/weft/internal/frrinstall"
)

// The lab's topology as values: the names and addresses of its routers, nodes and links.
// buildFabric plumbs exactly these and the node files declare them, so both agree by
// construction and the tests can check them without a kernel.

// The lab's sizes that Up accepts: the nodes' uplinks, ports and VTEPs are numbered by one
// digit.
const (
	minNodes = 2
	maxNodes = 9
	// maxClusters: one cluster per rack.
	maxClusters = leafCount
)

// Fabric shapes (Options.Fabric): how the nodes connect to the leaves.
const (
	// FabricIBGPRR: one uplink per node, to its rack's leaf; every router an iBGP route
	// reflector (the default).
	FabricIBGPRR = "ibgp-rr"
	// FabricDualToR: every node has a second uplink, to the other rack's leaf, with BFD
	// (100 ms, multiplier 3) on both sessions and an MD5 password on the second: the
	// underlay has two equal paths to every VTEP and survives losing either leaf.
	FabricDualToR = "dual-tor"
	// FabricEBGPUnnumbered: eBGP leaf-spine (RFC 7938), an ASN per router and per node, every
	// session unnumbered (IPv6 link-local, IPv4 routes over IPv6 next hops, RFC 8950); the
	// links have no IPv4 address and the spine and leaves pass EVPN routes on unchanged.
	FabricEBGPUnnumbered = "ebgp-unnumbered"
	// FabricIPv6: ibgp-rr with an IPv6-only underlay: every link, loopback, session and VTEP
	// is IPv6 (ipv6Of maps the IPv4 plan onto it), and VXLAN runs over IPv6. It needs FRR ≥
	// 10.6 (EVPN over an IPv6 underlay).
	FabricIPv6 = "ipv6"
)

// Fabrics are the shapes Up builds.
var Fabrics = []string{FabricIBGPRR, FabricDualToR, FabricEBGPUnnumbered, FabricIPv6}

// numbered says whether the fabric's links have addresses (every shape but
// ebgp-unnumbered).
func (s *State) numbered() bool { return s.fabric() != FabricEBGPUnnumbered }

// ipv6Only says whether the underlay is IPv6 only (FabricIPv6).
func (s *State) ipv6Only() bool { return s.fabric() == FabricIPv6 }

// showRoute is vtysh's command for a route of the underlay, to which the address is added.
func (s *State) showRoute() string {
	if s.ipv6Only() {
		return "show ipv6 route "
	}
	return "show ip route "
}

// ul is underlay address a (an address or a prefix of the lab's IPv4 plan below) as the
// fabric has it: a itself, or its IPv6 twin in the ipv6 fabric (ipv6Of).
func (s *State) ul(a string) string {
	if s.ipv6Only() {
		return ipv6Of(a)
	}
	return a
}

// ipv6Of maps an underlay address or prefix of the IPv4 plan onto the ipv6 fabric's:
// 10.a.b.c becomes fd00:a:b::c (the numbers written as they are, so 10.255.1.2 reads
// fd00:255:1::2; in canonical form), a /31 link a /127 (RFC 6164), a /32 loopback a /128 and a /24 VTEP network
// a /64. Anything else is returned as it is.
func ipv6Of(a string) string {
	addr, plen, _ := strings.Cut(a, "/")
	o := strings.Split(addr, ".")
	if len(o) != 4 || o[0] != "10" {
		return a
	}
	v, err := netip.ParseAddr(fmt.Sprintf("fd00:%s:%s::%s", o[1], o[2], o[3]))
	if err != nil {
		return a
	}
	v6 := v.String() // canonical, as FRR and ip print it: fd00:0:1::0 is fd00:0:1::
	switch plen {
	case "":
		return v6
	case "31":
		return v6 + "/127"
	case "32":
		return v6 + "/128"
	case "24":
		return v6 + "/64"
	}
	return a
}

// The ASNs of the eBGP fabric: the spine is fabricASN, leaf j leafASN(j), the node on uplink
// link nodeASN(link): private ASNs, each router and node its own, so no AS path ever carries
// the receiver's ASN and no allowas-in is needed.
func leafASN(j int) int    { return fabricASN + j }
func nodeASN(link int) int { return 65100 + link }

// The dual-tor fabric's second uplink (eth2 on the node, m<link> on the other leaf, on
// 10.2.<link>.0/31), its BFD profile and the MD5 password of its session, which the node's
// Underlay takes from a Secret.
const (
	uplink2Name        = "eth2"
	bfdProfileName     = "fast"
	bfdIntervalMs      = 100
	bfdMultiplier      = 3
	leafPasswordSecret = "leaf-password"
	leafPassword       = "weft-lab-md5"
)

// leafPort2Addr is the other leaf's end of a node's second uplink: its second BGP neighbor.
func leafPort2Addr(link int) string { return fmt.Sprintf("10.2.%d.0", link) }

// nodeUplink2Addr is the node's end of its second uplink.
func nodeUplink2Addr(link int) string { return fmt.Sprintf("10.2.%d.1", link) }

// rackOf is the rack (0-based, the index of its leaf) of node i (1-based) of n: the first
// n/2 nodes are in the first rack, the others in the second. With three nodes, node2 and
// node3 share a leaf, so of a migration probed from node3 the new route stays in the rack
// when the workload moves to node2 (node2 → leaf2 → node3) and crosses the spine when it
// moves to node1 (node1 → leaf1 → spine → leaf2 → node3).
func rackOf(i, n int) int {
	if i <= n/2 {
		return 0
	}
	return 1
}

// leafName is the name of leaf j (1-based).
func leafName(j int) string { return fmt.Sprintf("leaf%d", j) }

// nodeName is the name of node i (1-based).
func nodeName(i int) string { return fmt.Sprintf("node%d", i) }

// leafLo is leaf j's loopback and router ID.
func leafLo(j int) string { return fmt.Sprintf("10.255.0.%d", 10+j) }

// spineLinkAddr is the spine's end of its /31 to leaf j (its upstream peer).
func spineLinkAddr(j int) string { return fmt.Sprintf("10.1.%d.0", j) }

// leafUplinkAddr is leaf j's end of its /31 to the spine.
func leafUplinkAddr(j int) string { return fmt.Sprintf("10.1.%d.1", j) }

// leafPortAddr is the leaf's end of uplink link (Node.Link): the node's BGP neighbor.
func leafPortAddr(link int) string { return fmt.Sprintf("10.0.%d.0", link) }

// nodeUplinkAddr is the node's end of uplink link: a client of the node's leaf.
func nodeUplinkAddr(link int) string { return fmt.Sprintf("10.0.%d.1", link) }

// clusterName is the name of cluster k (1-based).
func clusterName(k int) string { return fmt.Sprintf("c%d", k) }

// clusterVTEPCIDR is the VTEP network of cluster k (1-based): 10.255.<k>.0/24, beside the
// fabric routers' loopbacks in 10.255.0.0/24.
func clusterVTEPCIDR(k int) string { return fmt.Sprintf("10.255.%d.0/24", k) }

// clusterOfNode is the cluster (1-based) of node i (1-based) of n in a lab of clusters
// clusters: with two, each rack is a cluster.
func clusterOfNode(i, n, clusters int) int {
	if clusters == 1 {
		return 1
	}
	return rackOf(i, n) + 1
}

// nodeVTEP is the VTEP address of the node of index idx in cluster k in host mode: what the
// agent takes from clusterVTEPCIDR(k) (ipam.NodeAddress).
func nodeVTEP(k, idx int) string { return fmt.Sprintf("10.255.%d.%d", k, idx+1) }

// plannedClusters are the clusters of a lab of n nodes, c1 first, with their nodes.
func (s *State) plannedClusters(n, clusters int) []Cluster {
	var cs []Cluster
	for k := 1; k <= clusters; k++ {
		c := Cluster{Name: clusterName(k), VTEPCIDR: s.ul(clusterVTEPCIDR(k)), Workloads: []string{}}
		for i := 1; i <= n; i++ {
			if clusterOfNode(i, n, clusters) == k {
				c.Nodes = append(c.Nodes, nodeName(i))
			}
		}
		cs = append(cs, c)
	}
	return cs
}

// newState is the state of lab o before anything of it exists: buildFabric adds the leaves
// and nodes as it creates them.
func newState(o Options, inst frrinstall.Install) *State {
	return &State{Name: o.Name, Spine: o.Name + "-" + spineName, L3: o.L3, FRR: inst, Fabric: o.Fabric, WithoutBFD: o.WithoutBFD, KernelLayout: o.KernelLayout}
}

// plannedLeaves are the lab's leaves in order, leaf1 first.
func (s *State) plannedLeaves() []Leaf {
	var ls []Leaf
	for j := 1; j <= leafCount; j++ {
		ls = append(ls, Leaf{Name: leafName(j), Netns: s.ns(leafName(j))})
	}
	return ls
}

// plannedNodes are the lab's n nodes in order, node1 first, each in its rack (rackOf) and
// cluster, with its host-mode index: its position in its cluster. AgentPID is left for
// startAgent.
func (s *State) plannedNodes(n, clusters int) []Node {
	var ns []Node
	next := map[int]int{}
	for i := 1; i <= n; i++ {
		k := clusterOfNode(i, n, clusters)
		idx := next[k]
		next[k]++
		ns = append(ns, Node{
			Name:        nodeName(i),
			Netns:       s.ns(nodeName(i)),
			RouterNetns: s.ns(nodeName(i) + "-rt"),
			Index:       idx,
			VTEP:        s.ul(nodeVTEP(k, idx)),
			ConfigDir:   filepath.Join(Dir(s.Name), nodeName(i), "config"),
			Leaf:        leafName(rackOf(i, n) + 1),
			Link:        i,
			Cluster:     clusterName(k),
		})
		if s.Fabric == FabricDualToR {
			ns[len(ns)-1].Leaf2 = leafName(2 - rackOf(i, n))
		}
	}
	return ns
}

// forwarding are the sysctl settings of a fabric router: IPv4 forwarding, and IPv6's in the
// ipv6 fabric.
func (s *State) forwarding() []string {
	if s.ipv6Only() {
		return []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"}
	}
	return []string{"net.ipv4.ip_forward=1"}
}

// leafLinkArgs are the ip commands that give leaf j (1-based) l its loopback and its /31
// uplink to the spine: port l<j> on the spine, "uplink" on the leaf.
func (s *State) leafLinkArgs(j int, l Leaf) [][]string {
	port := spinePort(j)
	return s.linkAddrs([][]string{
		{"-n", l.Netns, "addr", "add", leafLo(j) + "/32", "dev", "lo"},
		{"link", "add", port, "netns", s.Spine, "mtu", "9000", "type", "veth", "peer", "name", leafUplink, "netns", l.Netns, "mtu", "9000"},
		{"-n", s.Spine, "addr", "add", spineLinkAddr(j) + "/31", "dev", port},
		{"-n", s.Spine, "link", "set", port, "up"},
		{"-n", l.Netns, "addr", "add", leafUplinkAddr(j) + "/31", "dev", leafUplink},
		{"-n", l.Netns, "link", "set", leafUplink, "up"},
	})
}

// spinePort is the spine's end of its link to leaf j; leafUplink the leaf's end.
func spinePort(j int) string { return fmt.Sprintf("l%d", j) }

const leafUplink = "uplink"

// linkAddrs fits the addresses that ip commands args give (written in the IPv4 plan) to the
// fabric: an unnumbered fabric drops those of point-to-point links (/31), which then have
// only their IPv6 link-local addresses; the ipv6 fabric has their IPv6 twins (ipv6Of).
func (s *State) linkAddrs(args [][]string) [][]string {
	var out [][]string
	for _, a := range args {
		isAddr := len(a) > 5 && a[2] == "addr" && a[3] == "add"
		switch {
		case isAddr && !s.numbered() && strings.HasSuffix(a[4], "/31"):
			continue
		case isAddr && s.ipv6Only() && ipv6Of(a[4]) != a[4]:
			a = slices.Clone(a)
			// nodad: the address is usable at once (the lab's addresses are unique by plan).
			a[4] = ipv6Of(a[4])
			a = append(a, "nodad")
		}
		out = append(out, a)
	}
	return out
}

// nodeLinkArgs are the ip commands that make node n's uplink NIC: a veth whose other end is
// port n<Link> in its leaf's namespace leafNetns. weft moves the NIC into the router
// namespace (Underlay.spec.interfaces), keeping its address.
func (s *State) nodeLinkArgs(n Node, leafNetns string) [][]string {
	port := nodePort(n.Link)
	return s.linkAddrs([][]string{
		{"link", "add", port, "netns", leafNetns, "mtu", "9000", "type", "veth", "peer", "name", uplinkName, "netns", n.Netns, "mtu", "9000"},
		{"-n", leafNetns, "addr", "add", leafPortAddr(n.Link) + "/31", "dev", port},
		{"-n", leafNetns, "link", "set", port, "up"},
		{"-n", n.Netns, "addr", "add", nodeUplinkAddr(n.Link) + "/31", "dev", uplinkName},
		{"-n", n.Netns, "link", "set", uplinkName, "up"},
	})
}

// nodePort is the leaf's end of uplink link.
func nodePort(link int) string { return fmt.Sprintf("n%d", link) }

// nodeLink2Args are the ip commands of node n's second uplink (dual-tor): a veth from eth2 to
// port m<Link> in the other leaf's namespace leafNetns.
func nodeLink2Args(n Node, leafNetns string) [][]string {
	port := fmt.Sprintf("m%d", n.Link)
	return [][]string{
		{"link", "add", port, "netns", leafNetns, "mtu", "9000", "type", "veth", "peer", "name", uplink2Name, "netns", n.Netns, "mtu", "9000"},
		{"-n", leafNetns, "addr", "add", leafPort2Addr(n.Link) + "/31", "dev", port},
		{"-n", leafNetns, "link", "set", port, "up"},
		{"-n", n.Netns, "addr", "add", nodeUplink2Addr(n.Link) + "/31", "dev", uplink2Name},
		{"-n", n.Netns, "link", "set", uplink2Name, "up"},
	}
}

// leafAddrs are the leaves' addresses on their uplinks to the spine.
func (s *State) leafAddrs() []string {
	var a []string
	for j := range s.Leaves {
		a = append(a, s.ul(leafUplinkAddr(j+1)))
	}
	return a
}

// rackAddrs are the uplink addresses of the nodes whose top-of-rack router is leaf, then
// (dual-tor) those of the nodes whose second uplink goes to it.
func (s *State) rackAddrs(leaf string) []string {
	var a []string
	for _, n := range s.Nodes {
		if n.Leaf == leaf {
			a = append(a, s.ul(nodeUplinkAddr(n.Link)))
		}
	}
	return append(a, s.secondUplinks(leaf)...)
}

// secondUplinks are the node ends of the second uplinks that go to leaf: the clients whose
// sessions have a password.
func (s *State) secondUplinks(leaf string) []string {
	var a []string
	for _, n := range s.Nodes {
		if n.Leaf2 == leaf {
			a = append(a, nodeUplink2Addr(n.Link))
		}
	}
	return a
}

// fabricRouter is one of the lab's own FRR routers (not weft's): the spine or a leaf.
type fabricRouter struct {
	name, netns, config string
}

// fabricRouters are the spine and the leaves with their FRR configurations, in the order
// buildFabric starts them: the spine reflects for the leaves (and is the border VTEP of the
// L3 lab), each leaf reflects for the nodes of its rack and peers with the spine.
func (s *State) fabricRouters() []fabricRouter {
	if s.fabric() == FabricEBGPUnnumbered {
		return s.ebgpRouters()
	}
	rs := []fabricRouter{{spineName, s.Spine, reflector{name: spineName, routerID: spineLo, loopback: s.ul(spineLo), clients: s.leafAddrs(), border: s.L3, logFile: frrLog(s.Name, spineName)}.config()}}
	for j, l := range s.Leaves {
		r := reflector{name: l.Name, routerID: leafLo(j + 1), loopback: s.ul(leafLo(j + 1)), clients: s.rackAddrs(l.Name), upstream: s.ul(spineLinkAddr(j + 1)), logFile: frrLog(s.Name, l.Name)}
		if s.Fabric == FabricDualToR {
			r.bfd, r.passwordClients = !s.WithoutBFD, s.secondUplinks(l.Name)
		}
		rs = append(rs, fabricRouter{l.Name, l.Netns, r.config()})
	}
	return rs
}
