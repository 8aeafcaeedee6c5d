package lab

import (
	"fmt"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/ipam"
	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
)

// plannedLab is the state of lab name with the given size once buildFabric has made its
// fabric and attached its workloads, short of what only a running lab has (agent PIDs, ports)
// and of the L3 lab's external hosts (see plannedExternals).
func plannedLab(name string, nodes int, l3 bool) *State {
	return plannedLabClusters(name, nodes, l3, 1)
}

// plannedLabClusters is plannedLab with the given number of clusters.
func plannedLabClusters(name string, nodes int, l3 bool, clusters int) *State {
	return plannedFrom(Options{Name: name, Nodes: nodes, L3: l3, Clusters: clusters, Fabric: FabricIBGPRR})
}

// plannedFrom is the planned state of a lab of options o (Nodes, L3, Clusters and Fabric set).
func plannedFrom(o Options) *State {
	s := newState(o, frrinstall.Install{})
	s.Leaves = s.plannedLeaves()
	s.Clusters = s.plannedClusters(o.Nodes, o.Clusters)
	s.Nodes = s.plannedNodes(o.Nodes, o.Clusters)
	s.Workloads = s.plannedWorkloads()
	s.listClusterWorkloads()
	return s
}

// plannedExternals are the external hosts buildBorder creates behind the spine of an L3 lab,
// named and addressed as it does (it builds them inline, between its netlink steps).
func plannedExternals(s *State) []External {
	var es []External
	for _, t := range tenants {
		es = append(es, External{Name: "ext-" + t.vrf, Netns: s.ns("ext-" + t.vrf), IP: t.extNet + ".10/24", VRF: t.vrf})
	}
	return es
}

// TestRackOf: the first n/2 nodes go into the first rack and the rest into the second, so
// with three nodes node2 and node3 share leaf2 (what the migration benchmark relies on).
func TestRackOf(t *testing.T) {
	tests := []struct {
		nodes int
		want  []int // rack of node1, node2, …
	}{
		{2, []int{0, 1}},
		{3, []int{0, 1, 1}},
		{4, []int{0, 0, 1, 1}},
		{5, []int{0, 0, 1, 1, 1}},
		{8, []int{0, 0, 0, 0, 1, 1, 1, 1}},
		{9, []int{0, 0, 0, 0, 1, 1, 1, 1, 1}},
	}
	for _, tt := range tests {
		var got []int
		for i := 1; i <= tt.nodes; i++ {
			got = append(got, rackOf(i, tt.nodes))
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%d nodes: racks %v, want %v", tt.nodes, got, tt.want)
		}
	}
	for n := minNodes; n <= maxNodes; n++ {
		racks := map[int]int{}
		for i := 1; i <= n; i++ {
			racks[rackOf(i, n)]++
		}
		if len(racks) != leafCount {
			t.Errorf("%d nodes fill %d racks, want all %d: %v", n, len(racks), leafCount, racks)
		}
	}
}

// TestPlannedTopology spells out the names, namespaces and addresses of a lab of two and of
// three nodes: what `weft lab status` shows, what the e2e suite and users type.
func TestPlannedTopology(t *testing.T) {
	leaves := []Leaf{{Name: "leaf1", Netns: "lab-leaf1"}, {Name: "leaf2", Netns: "lab-leaf2"}}
	node := func(i int, leaf string) Node {
		return Node{
			Name: fmt.Sprintf("node%d", i), Netns: fmt.Sprintf("lab-node%d", i), RouterNetns: fmt.Sprintf("lab-node%d-rt", i),
			VTEP: fmt.Sprintf("10.255.1.%d", i), Index: i - 1, ConfigDir: fmt.Sprintf("/run/weft-lab/lab/node%d/config", i),
			Leaf: leaf, Link: i, Cluster: "c1",
		}
	}
	// inC2 puts node n into cluster c2 as its node of index idx: its VTEP is c2's.
	inC2 := func(n Node, idx int) Node {
		n.Cluster, n.Index, n.VTEP = "c2", idx, fmt.Sprintf("10.255.2.%d", idx+1)
		return n
	}
	tests := []struct {
		nodes    int
		clusters int
		want     []Node
		// clients are the reflector clients of the spine, leaf1 and leaf2.
		clients [][]string
	}{
		{2, 1, []Node{node(1, "leaf1"), node(2, "leaf2")},
			[][]string{{"10.1.1.1", "10.1.2.1"}, {"10.0.1.1"}, {"10.0.2.1"}}},
		{3, 1, []Node{node(1, "leaf1"), node(2, "leaf2"), node(3, "leaf2")},
			[][]string{{"10.1.1.1", "10.1.2.1"}, {"10.0.1.1"}, {"10.0.2.1", "10.0.3.1"}}},
		{4, 1, []Node{node(1, "leaf1"), node(2, "leaf1"), node(3, "leaf2"), node(4, "leaf2")},
			[][]string{{"10.1.1.1", "10.1.2.1"}, {"10.0.1.1", "10.0.2.1"}, {"10.0.3.1", "10.0.4.1"}}},
		// Two clusters, one per rack: each numbers its nodes from 0, in its own VTEP network.
		{2, 2, []Node{node(1, "leaf1"), inC2(node(2, "leaf2"), 0)},
			[][]string{{"10.1.1.1", "10.1.2.1"}, {"10.0.1.1"}, {"10.0.2.1"}}},
		{4, 2, []Node{node(1, "leaf1"), node(2, "leaf1"), inC2(node(3, "leaf2"), 0), inC2(node(4, "leaf2"), 1)},
			[][]string{{"10.1.1.1", "10.1.2.1"}, {"10.0.1.1", "10.0.2.1"}, {"10.0.3.1", "10.0.4.1"}}},
	}
	for _, tt := range tests {
		s := plannedLabClusters("lab", tt.nodes, false, tt.clusters)
		if s.Spine != "lab-spine" {
			t.Errorf("spine namespace %q, want lab-spine", s.Spine)
		}
		if !slices.Equal(s.Leaves, leaves) {
			t.Errorf("%d nodes: leaves %+v, want %+v", tt.nodes, s.Leaves, leaves)
		}
		if !slices.Equal(s.Nodes, tt.want) {
			t.Errorf("%d nodes:\n got  %+v\n want %+v", tt.nodes, s.Nodes, tt.want)
		}
		got := [][]string{s.leafAddrs(), s.rackAddrs("leaf1"), s.rackAddrs("leaf2")}
		if !slices.EqualFunc(got, tt.clients, slices.Equal) {
			t.Errorf("%d nodes: reflector clients (spine, leaf1, leaf2) %v, want %v", tt.nodes, got, tt.clients)
		}
	}
}

// TestAddresses pins the fabric's addressing (see the constants in lab.go): the e2e suite and
// the docs name these addresses.
func TestAddresses(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"leafLo(1)", leafLo(1), "10.255.0.11"},
		{"leafLo(2)", leafLo(2), "10.255.0.12"},
		{"spineLinkAddr(1)", spineLinkAddr(1), "10.1.1.0"},
		{"leafUplinkAddr(1)", leafUplinkAddr(1), "10.1.1.1"},
		{"spineLinkAddr(2)", spineLinkAddr(2), "10.1.2.0"},
		{"leafUplinkAddr(2)", leafUplinkAddr(2), "10.1.2.1"},
		{"leafPortAddr(3)", leafPortAddr(3), "10.0.3.0"},
		{"nodeUplinkAddr(3)", nodeUplinkAddr(3), "10.0.3.1"},
		{"nodeVTEP(1, 0)", nodeVTEP(1, 0), "10.255.1.1"},
		{"nodeVTEP(1, 8)", nodeVTEP(1, 8), "10.255.1.9"},
		{"nodeVTEP(2, 0)", nodeVTEP(2, 0), "10.255.2.1"},
		{"clusterVTEPCIDR(1)", clusterVTEPCIDR(1), "10.255.1.0/24"},
		{"clusterVTEPCIDR(2)", clusterVTEPCIDR(2), "10.255.2.0/24"},
		{"clusterName(2)", clusterName(2), "c2"},
		{"leafName(2)", leafName(2), "leaf2"},
		{"nodeName(7)", nodeName(7), "node7"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %s, want %s", tt.name, tt.got, tt.want)
		}
	}
}

// TestTopologyDistinct: for every size Up accepts, no two namespaces of the lab share a name
// and each carries the lab's prefix (Down finds them by it); no two routers, nodes, gateways
// or workloads share an address; no two links share a /31 and both ends of each are in it.
func TestTopologyDistinct(t *testing.T) {
	for n := minNodes; n <= maxNodes; n++ {
		for _, l3 := range []bool{false, true} {
			s := plannedLab("lab", n, l3)
			if l3 {
				s.External = plannedExternals(s)
			}
			name := fmt.Sprintf("%d nodes, l3 %v", n, l3)
			names := []string{s.Spine, s.ns(kubeDir)}
			for _, l := range s.Leaves {
				names = append(names, l.Netns)
			}
			for _, nd := range s.Nodes {
				names = append(names, nd.Netns, nd.RouterNetns)
			}
			for _, w := range s.Workloads {
				names = append(names, w.Netns)
			}
			for _, e := range s.External {
				names = append(names, e.Netns)
			}
			checkDistinct(t, name+": namespace", names)
			for _, ns := range names {
				if !strings.HasPrefix(ns, s.Name+"-") {
					t.Errorf("%s: namespace %s lacks the lab's prefix %s-", name, ns, s.Name)
				}
			}

			addrs := []string{spineLo}
			var links [][2]string // the upper and lower end of each /31
			for j := range s.Leaves {
				addrs = append(addrs, leafLo(j+1))
				links = append(links, [2]string{spineLinkAddr(j + 1), leafUplinkAddr(j + 1)})
			}
			for _, nd := range s.Nodes {
				addrs = append(addrs, nd.VTEP)
				links = append(links, [2]string{leafPortAddr(nd.Link), nodeUplinkAddr(nd.Link)})
			}
			var nets []string
			for _, l := range links {
				addrs = append(addrs, l[0], l[1])
				upper, lower := netip.MustParsePrefix(l[0]+"/31").Masked(), netip.MustParsePrefix(l[1]+"/31").Masked()
				if upper != lower {
					t.Errorf("%s: link ends %s and %s are not in one /31", name, l[0], l[1])
				}
				nets = append(nets, upper.String())
			}
			for _, w := range s.Workloads {
				addrs = append(addrs, strings.Split(w.IP, "/")[0])
			}
			for _, sg := range segments(l3) {
				if sg.vrf != "" {
					addrs = append(addrs, gatewayOf(sg.vni))
				}
			}
			for _, e := range s.External {
				addrs = append(addrs, strings.Split(e.IP, "/")[0])
			}
			checkDistinct(t, name+": address", addrs)
			checkDistinct(t, name+": link network", nets)
			var macs []string
			for _, w := range s.Workloads {
				macs = append(macs, w.MAC)
			}
			checkDistinct(t, name+": workload MAC", macs)
		}
	}
}

func checkDistinct(t *testing.T, what string, values []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range values {
		if seen[v] {
			t.Errorf("%s %s is used twice (all: %v)", what, v, values)
		}
		seen[v] = true
	}
}

// labPlans reads each cluster's node files as a host-mode agent does (written by
// writeFiles, read by manifest.Load) and builds the plan of each of its nodes (see dirPlans).
func labPlans(t *testing.T, s *State) map[string]plan.NodePlan {
	t.Helper()
	plans := map[string]plan.NodePlan{}
	for _, c := range s.Clusters {
		dir := t.TempDir()
		if err := writeFiles(dir, s.clusterFiles(c)); err != nil {
			t.Fatal(err)
		}
		maps.Copy(plans, dirPlans(t, dir, s.clusterNodes(c.Name)))
	}
	return plans
}

// clusterNodes are the nodes of cluster name.
func (s *State) clusterNodes(name string) []Node {
	var ns []Node
	for _, n := range s.Nodes {
		if n.Cluster == name {
			ns = append(ns, n)
		}
	}
	return ns
}

// dirPlans loads the resource files in dir (manifest.Load) and builds the plan of each of
// nodes. A document that is not read, a resource plan.Build rejects or a node left without
// its Underlay fails the test.
func dirPlans(t *testing.T, dir string, nodes []Node) map[string]plan.NodePlan {
	t.Helper()
	res, err := manifest.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range res.Invalid {
		t.Errorf("node files: %v", e)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(res.Objects) != len(files) {
		t.Errorf("%d objects in %d node files, want one each", len(res.Objects), len(files))
	}
	plans := map[string]plan.NodePlan{}
	for _, n := range nodes {
		p, errs := plan.Build(res.Resources, plan.Node{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}, Index: n.Index})
		for _, e := range errs {
			t.Errorf("%s: %v", n.Name, e)
		}
		if !p.HasUnderlay {
			t.Errorf("%s: no Underlay selects the node", n.Name)
		}
		// Every object applies on every node, but for the other nodes' Underlays.
		// Secrets are read, not applied.
		if want := len(res.Objects) - len(res.Resources.Secrets) - len(nodes) + 1; len(p.Applied) != want {
			t.Errorf("%s: %d resources applied, want %d: %v", n.Name, len(p.Applied), want, p.Applied)
		}
		if !slices.Contains(p.Applied, plan.Ref{Kind: "Underlay", Namespace: KubeNamespace, Name: n.Name}) {
			t.Errorf("%s: its own Underlay is not applied: %v", n.Name, p.Applied)
		}
		plans[n.Name] = p
	}
	return plans
}

// TestUnderlaysMatchTheFabric: the plan weft makes of each node's Underlay agrees with the
// fabric the lab plumbs: the uplink it moves is the one the lab made, its BGP neighbor is its
// leaf's end of the uplink and the leaf has the node's end among its clients, its VTEP (and
// router ID) is the one the lab records and lies in the VTEP network, distinct from every
// reflector's router ID (the cluster ID of route reflection). In the L3 lab the gateways are
// the ones the workloads use and the host speaker's neighbor is the router end of VRF red's
// veth.
func TestUnderlaysMatchTheFabric(t *testing.T) {
	for _, n := range []int{minNodes, 3, 5, maxNodes} {
		for _, l3 := range []bool{false, true} {
			for clusters := 1; clusters <= maxClusters; clusters++ {
				for _, fabric := range Fabrics {
					s := plannedFrom(Options{Name: "lab", Nodes: n, L3: l3, Clusters: clusters, Fabric: fabric})
					plans := labPlans(t, s)
					reflectorIDs := []string{spineLo}
					for j := range s.Leaves {
						reflectorIDs = append(reflectorIDs, leafLo(j+1))
					}
					for _, nd := range s.Nodes {
						p := plans[nd.Name]
						at := fmt.Sprintf("%d nodes, l3 %v, %d clusters, %s, %s", n, l3, clusters, fabric, nd.Name)
						uplinks, leafEnds, nodeEnds := []string{uplinkName}, []string{s.ul(leafPortAddr(nd.Link))}, map[string]string{nd.Leaf: s.ul(nodeUplinkAddr(nd.Link))}
						if fabric == FabricDualToR {
							if nd.Leaf2 == "" || nd.Leaf2 == nd.Leaf {
								t.Fatalf("%s: second leaf %q", at, nd.Leaf2)
							}
							uplinks, leafEnds = append(uplinks, uplink2Name), append(leafEnds, leafPort2Addr(nd.Link))
							nodeEnds[nd.Leaf2] = nodeUplink2Addr(nd.Link)
						}
						c, err := s.clusterOf(&nd)
						if err != nil {
							t.Fatal(err)
						}
						vteps := netip.MustParsePrefix(c.VTEPCIDR)
						if got := p.Kernel.Underlay.Interfaces; !slices.Equal(got, uplinks) {
							t.Errorf("%s: moves %v, want the lab's uplinks %v", at, got, uplinks)
						}
						want, err := ipam.NodeAddress(vteps, nd.Index)
						if err != nil || want.Addr().String() != nd.VTEP {
							t.Errorf("%s: VTEP %s, but index %d in %s gives %v (%v)", at, nd.VTEP, nd.Index, c.VTEPCIDR, want, err)
						}
						if got := p.Kernel.Underlay.VTEPs; len(got) != 1 || got[0].Addr().String() != nd.VTEP {
							t.Errorf("%s: plan's VTEPs %v, lab's %s", at, got, nd.VTEP)
						}
						id, wantID := p.FRR.Router.RouterID.String(), nd.VTEP
						if fabric == FabricIPv6 {
							// An IPv6 VTEP gives no router ID: the node's comes from its own
							// network, by index.
							a, err := ipam.NodeAddress(netip.MustParsePrefix(routerIDNet(nd.Cluster)), nd.Index)
							if err != nil {
								t.Fatal(err)
							}
							wantID = a.Addr().String()
							if !vteps.Addr().Is6() || !strings.HasPrefix(p.FRR.Router.Neighbors[0].ID(), "fd00:") {
								t.Errorf("%s: VTEP network %s, neighbor %s: want IPv6 only", at, vteps, p.FRR.Router.Neighbors[0].ID())
							}
						}
						if id != wantID || slices.Contains(reflectorIDs, id) {
							t.Errorf("%s: router ID %s, want %s, none of the reflectors' %v", at, id, wantID, reflectorIDs)
						}
						var peers []string
						for _, nb := range p.FRR.Router.Neighbors {
							peers = append(peers, nb.ID())
						}
						if fabric == FabricEBGPUnnumbered {
							checkUnnumbered(t, at, s, nd, p)
						} else {
							if p.FRR.Router.ASN != fabricASN {
								t.Errorf("%s: AS %d, want the fabric's %d (iBGP to a reflector)", at, p.FRR.Router.ASN, fabricASN)
							}
							if !slices.Equal(peers, leafEnds) {
								t.Errorf("%s: neighbors %v, want its leaves' ends %v", at, peers, leafEnds)
							}
							for leaf, end := range nodeEnds {
								if !slices.Contains(s.rackAddrs(leaf), end) {
									t.Errorf("%s: %s's clients %v lack the node's end %s", at, leaf, s.rackAddrs(leaf), end)
								}
							}
						}
						checkDualToR(t, at, s, nd, p)
						checkRouted(t, at, s, p)
					}
					checkClusters(t, s, plans)
				}
			}
		}
	}
}

// checkUnnumbered checks node nd's plan p against the eBGP fabric: its own ASN, distinct
// from every router's and other node's, one unnumbered eBGP session over its uplink, and its
// leaf peering unnumbered over its end of that uplink.
func checkUnnumbered(t *testing.T, at string, s *State, nd Node, p plan.NodePlan) {
	t.Helper()
	asns := map[int]string{fabricASN: spineName}
	for j := range s.Leaves {
		asns[leafASN(j+1)] = leafName(j + 1)
	}
	for _, o := range s.Nodes {
		if o.Name != nd.Name {
			asns[nodeASN(o.Link)] = o.Name
		}
	}
	if other, taken := asns[int(p.FRR.Router.ASN)]; taken || int(p.FRR.Router.ASN) != nodeASN(nd.Link) {
		t.Errorf("%s: AS %d, want %d, its own (%q has it)", at, p.FRR.Router.ASN, nodeASN(nd.Link), other)
	}
	nbs := p.FRR.Router.Neighbors
	if len(nbs) != 1 || nbs[0].Interface != uplinkName || nbs[0].Address.IsValid() || nbs[0].RemoteAS != frr.RemoteASExternal {
		t.Fatalf("%s: neighbors %+v, want one unnumbered session over %s", at, nbs, uplinkName)
	}
	for _, r := range s.fabricRouters() {
		if r.name == nd.Leaf && !hasLine(r.config, " neighbor "+nodePort(nd.Link)+" interface peer-group FABRIC") {
			t.Errorf("%s: %s does not peer over %s:\n%s", at, nd.Leaf, nodePort(nd.Link), r.config)
		}
	}
}

// checkDualToR checks node nd's plan p against the dual-tor fabric: both sessions run BFD
// with the lab's profile (the leaves' intervals), the second takes its password from the
// leaves' Secret and the first has none; in the other fabrics no session runs BFD or has a
// password.
func checkDualToR(t *testing.T, at string, s *State, nd Node, p plan.NodePlan) {
	t.Helper()
	for i, nb := range p.FRR.Router.Neighbors {
		wantBFD, wantPassword := s.Fabric == FabricDualToR && !s.WithoutBFD, s.Fabric == FabricDualToR && i == 1
		if got := nb.BFDProfile == bfdProfileName; got != wantBFD {
			t.Errorf("%s: neighbor %s BFD profile %q, want BFD %v", at, nb.Address, nb.BFDProfile, wantBFD)
		}
		if got := nb.Password != nil && nb.Password.Name == leafPasswordSecret; got != wantPassword || (nb.Password != nil) != wantPassword {
			t.Errorf("%s: neighbor %s password %+v, want from Secret %s: %v", at, nb.Address, nb.Password, leafPasswordSecret, wantPassword)
		}
	}
	if s.Fabric != FabricDualToR || s.WithoutBFD {
		return
	}
	u32 := func(v *uint32) uint32 {
		if v == nil {
			return 0
		}
		return *v
	}
	bp := p.FRR.BFDProfiles
	if len(bp) != 1 || bp[0].Name != bfdProfileName || u32(bp[0].ReceiveIntervalMs) != bfdIntervalMs || u32(bp[0].TransmitIntervalMs) != bfdIntervalMs || u32(bp[0].DetectMultiplier) != bfdMultiplier {
		t.Errorf("%s: BFD profiles %+v, want the leaves' %s %d/%d ms ×%d", at, bp, bfdProfileName, bfdIntervalMs, bfdIntervalMs, bfdMultiplier)
	}
}

// checkClusters: every node is in exactly one cluster, numbered from 0 within it; the
// clusters' VTEP networks do not overlap one another nor the reflectors' loopbacks, so no
// two nodes of the lab have one VTEP although their indexes repeat.
func checkClusters(t *testing.T, s *State, plans map[string]plan.NodePlan) {
	t.Helper()
	at := fmt.Sprintf("%d nodes, %d clusters", len(s.Nodes), len(s.Clusters))
	seen := map[string]string{}
	for _, c := range s.Clusters {
		var idx []int
		for _, name := range c.Nodes {
			if other, ok := seen[name]; ok {
				t.Errorf("%s: %s is in clusters %s and %s", at, name, other, c.Name)
			}
			seen[name] = c.Name
			n, err := s.Node(name)
			if err != nil || n.Cluster != c.Name {
				t.Errorf("%s: cluster %s lists %s, whose cluster is %v (%v)", at, c.Name, name, n, err)
				continue
			}
			idx = append(idx, n.Index)
		}
		if len(c.Nodes) == 0 || !slices.Equal(idx, intRange(len(c.Nodes))) {
			t.Errorf("%s: cluster %s numbers its nodes %v, want 0..%d", at, c.Name, idx, len(c.Nodes)-1)
		}
		p := netip.MustParsePrefix(c.VTEPCIDR)
		if p.Contains(netip.MustParseAddr(spineLo)) || p.Contains(netip.MustParseAddr(leafLo(1))) {
			t.Errorf("%s: cluster %s's VTEP network %s holds a reflector's loopback", at, c.Name, p)
		}
		for _, o := range s.Clusters {
			if o.Name != c.Name && p.Overlaps(netip.MustParsePrefix(o.VTEPCIDR)) {
				t.Errorf("%s: VTEP networks of %s and %s overlap", at, c.Name, o.Name)
			}
		}
	}
	if len(seen) != len(s.Nodes) {
		t.Errorf("%s: clusters hold %d nodes of %d", at, len(seen), len(s.Nodes))
	}
	vteps := map[string]string{}
	for name, p := range plans {
		for _, v := range p.Kernel.Underlay.VTEPs {
			if other, ok := vteps[v.Addr().String()]; ok {
				t.Errorf("%s: %s and %s both have VTEP %s", at, other, name, v.Addr())
			}
			vteps[v.Addr().String()] = name
		}
	}
}

// intRange is 0..n-1.
func intRange(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// checkRouted checks the routed parts of node plan p against the lab: each L2VNI's gateway is
// its workloads' gateway and holds their addresses; VRF red's host veth has the address the
// host speaker peers with.
func checkRouted(t *testing.T, at string, s *State, p plan.NodePlan) {
	t.Helper()
	if len(p.Kernel.L2VNIs) != len(segments(s.L3)) {
		t.Errorf("%s: %d L2VNIs, want the lab's %d segments", at, len(p.Kernel.L2VNIs), len(segments(s.L3)))
	}
	matched := 0
	for _, v := range p.Kernel.L2VNIs {
		for _, w := range s.Workloads {
			if w.VNI != int(v.VNI) {
				continue
			}
			matched++
			ip := netip.MustParsePrefix(w.IP)
			switch {
			case !s.L3 && (w.Gateway != "" || len(v.GatewayIPs) > 0):
				t.Errorf("%s: a gateway in the L2 lab: %s %v", at, w.Gateway, v.GatewayIPs)
			case s.L3 && (len(v.GatewayIPs) != 1 || v.GatewayIPs[0].Addr().String() != w.Gateway || !v.GatewayIPs[0].Contains(ip.Addr()) || v.GatewayIPs[0].Bits() != ip.Bits()):
				t.Errorf("%s: VNI %d gateway %v, workload %s has %s via %s", at, v.VNI, v.GatewayIPs, w.Name, w.IP, w.Gateway)
			}
		}
	}
	if matched != len(s.Workloads) {
		t.Errorf("%s: %d of %d workloads are on an L2VNI of the plan", at, matched, len(s.Workloads))
	}
	red := -1
	for i, v := range p.Kernel.L3VNIs {
		if v.VRF == "red" {
			red = i
		}
	}
	if !s.L3 {
		if len(p.Kernel.L3VNIs) > 0 {
			t.Errorf("%s: L3VNIs in the L2 lab: %+v", at, p.Kernel.L3VNIs)
		}
		return
	}
	if len(p.Kernel.L3VNIs) != len(tenants) {
		t.Errorf("%s: %d L3VNIs, want the lab's %d tenants", at, len(p.Kernel.L3VNIs), len(tenants))
	}
	if red < 0 || p.Kernel.L3VNIs[red].HostVeth == nil {
		t.Fatalf("%s: no host veth of VRF red: %+v", at, p.Kernel.L3VNIs)
	}
	if got := p.Kernel.L3VNIs[red].HostVeth.RouterAddrs; len(got) != 1 || got[0].Addr().String() != hostRouterIP {
		t.Errorf("%s: VRF red's router end %v, the host speaker peers with %s", at, got, hostRouterIP)
	}
}

// end is one end of a veth the lab plumbs: a device in a namespace.
type end struct{ netns, dev string }

// plumbing is what the lab's ip commands for its fabric links (leafLinkArgs, nodeLinkArgs)
// make: the address of each device and the other end of each veth.
type plumbing struct {
	addr map[end]string // with its prefix length
	peer map[end]end
}

// plumb reads the ip commands buildFabric runs for s's leaves and nodes. It knows only the
// forms those commands take and fails the test on any other.
func plumb(t *testing.T, s *State) plumbing {
	t.Helper()
	p := plumbing{addr: map[end]string{}, peer: map[end]end{}}
	var cmds [][]string
	for j, l := range s.Leaves {
		cmds = append(cmds, s.leafLinkArgs(j+1, l)...)
	}
	for _, n := range s.Nodes {
		leaf := s.leaf(n.Leaf)
		if leaf == nil {
			t.Fatalf("%s: no leaf %q", n.Name, n.Leaf)
		}
		cmds = append(cmds, s.nodeLinkArgs(n, leaf.Netns)...)
	}
	for _, c := range cmds {
		line := strings.Join(c, " ")
		switch {
		case len(c) == 7 && c[0] == "-n" && c[2] == "addr" && c[3] == "add" && c[5] == "dev":
			e := end{c[1], c[6]}
			if _, dup := p.addr[e]; dup {
				t.Errorf("ip %s: a second address on %v", line, e)
			}
			p.addr[e] = c[4]
		case len(c) == 6 && c[0] == "-n" && c[2] == "link" && c[3] == "set" && c[5] == "up":
		case len(c) == 16 && c[0] == "link" && c[1] == "add" && c[3] == "netns" && c[8] == "veth" && c[9] == "peer" && c[10] == "name" && c[12] == "netns":
			a, b := end{c[4], c[2]}, end{c[13], c[11]}
			if _, dup := p.peer[a]; dup {
				t.Errorf("ip %s: %v exists already", line, a)
			}
			if _, dup := p.peer[b]; dup {
				t.Errorf("ip %s: %v exists already", line, b)
			}
			p.peer[a], p.peer[b] = b, a
			for _, dev := range []string{a.dev, b.dev} {
				if len(dev) > 15 {
					t.Errorf("ip %s: device name %s is longer than 15 characters", line, dev)
				}
			}
		default:
			t.Errorf("ip %s: a command plumb does not know", line)
		}
	}
	return p
}

// across returns the address at the other end of the veth at e, without its prefix length.
func (p plumbing) across(e end) string {
	a, _, _ := strings.Cut(p.addr[p.peer[e]], "/")
	return a
}

// TestPlumbingMatchesTheConfigs: the links buildFabric plumbs are the ones the routers are
// configured for. Each leaf has its loopback; in each fabric router's FRR configuration
// (fabricRouters) the reflector clients are exactly the addresses at the far ends of its
// ports and a leaf's upstream is the address at the far end of its uplink; each node's NIC
// (the one its Underlay moves) carries its end of its link and leads to its own leaf, whose
// end is the node's BGP neighbor.
func TestPlumbingMatchesTheConfigs(t *testing.T) {
	for n := minNodes; n <= maxNodes; n++ {
		s := plannedLab("lab", n, false)
		p := plumb(t, s)
		configs := map[string]string{}
		for _, r := range s.fabricRouters() {
			configs[r.name] = r.config
		}
		var spineClients []string
		for j, l := range s.Leaves {
			at := fmt.Sprintf("%d nodes, %s", n, l.Name)
			if got, want := p.addr[end{l.Netns, "lo"}], leafLo(j+1)+"/32"; got != want {
				t.Errorf("%s: loopback %q, want %s", at, got, want)
			}
			up := end{l.Netns, "uplink"}
			if got := p.peer[up].netns; got != s.Spine {
				t.Errorf("%s: uplink leads to %q, want the spine", at, got)
			}
			if got, want := p.across(up), upstreams(configs[l.Name]); !slices.Equal([]string{got}, want) {
				t.Errorf("%s: the spine's end of the uplink is %q, the leaf's upstreams %v", at, got, want)
			}
			spineClients = append(spineClients, p.across(p.peer[up]))
			var clients []string
			for e := range p.peer {
				if e.netns == l.Netns && e != up {
					clients = append(clients, p.across(e))
				}
			}
			slices.Sort(clients)
			if want := reflectorClients(configs[l.Name]); !slices.Equal(clients, want) {
				t.Errorf("%s: far ends of its ports %v, reflector clients %v", at, clients, want)
			}
		}
		if want := reflectorClients(configs[spineName]); !slices.Equal(spineClients, want) {
			t.Errorf("%d nodes: far ends of the spine's ports %v, reflector clients %v", n, spineClients, want)
		}
		for _, nd := range s.Nodes {
			at := fmt.Sprintf("%d nodes, %s", n, nd.Name)
			nic := end{nd.Netns, uplinkName}
			if got, want := p.addr[nic], nodeUplinkAddr(nd.Link)+"/31"; got != want {
				t.Errorf("%s: %s has %q, want %s", at, uplinkName, got, want)
			}
			if got := p.peer[nic].netns; got != s.ns(nd.Leaf) {
				t.Errorf("%s: %s leads to %q, want its leaf %s", at, uplinkName, got, nd.Leaf)
			}
			if got, want := p.across(nic), leafPortAddr(nd.Link); got != want {
				t.Errorf("%s: the leaf's end is %q, the node's neighbor %s", at, got, want)
			}
		}
	}
}

// TestUpRejectsSizes: Up refuses a size outside minNodes..maxNodes before it touches anything.
func TestUpRejectsSizes(t *testing.T) {
	for _, n := range []int{0, minNodes - 1, maxNodes + 1} {
		_, err := Up(t.Context(), Options{Name: "lab", Nodes: n})
		if want := fmt.Sprintf("--nodes %d: must be 2..9", n); err == nil || err.Error() != want {
			t.Errorf("Up with %d nodes: %v, want %q", n, err, want)
		}
	}
}

// TestIPv6Of: the ipv6 fabric's twin of each address and prefix of the IPv4 plan, in
// canonical form (as FRR and ip print it), with the prefix lengths of an IPv6 plan; anything
// outside the underlay's 10/8 passes unchanged.
func TestIPv6Of(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.1.0":       "fd00:0:1::",
		"10.0.1.1/31":    "fd00:0:1::1/127",
		"10.255.0.11/32": "fd00:255::11/128",
		"10.255.1.0/24":  "fd00:255:1::/64",
		"10.255.2.3":     "fd00:255:2::3",
		"192.168.110.1":  "192.168.110.1",
		"10.0.1.1/16":    "10.0.1.1/16",
		"eth1":           "eth1",
	} {
		if got := ipv6Of(in); got != want {
			t.Errorf("ipv6Of(%q) = %q, want %q", in, got, want)
		}
	}
	s := plannedFrom(Options{Name: "lab", Nodes: 3, Fabric: FabricIPv6})
	if got := s.linkAddrs([][]string{{"-n", "x", "addr", "add", "10.0.1.0/31", "dev", "n1"}}); !slices.Equal(got[0], []string{"-n", "x", "addr", "add", "fd00:0:1::/127", "dev", "n1", "nodad"}) {
		t.Errorf("linkAddrs: %v", got)
	}
}
