package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Tenants of the L3 lab: VRF red (L3VNI 100) and blue (L3VNI 200), each reachable from an
// external host behind the spine, which doubles as the fabric's border VTEP.
type tenant struct {
	vrf       string
	vni       int
	table     int
	extNet    string // the external host's subnet behind the spine, as a.b.c
	spinePort string
	// filteredNet, if set, is a second subnet of the border in the VRF (a.b.c) that the host
	// session's toAdvertise leaves out: the fabric sends it to the nodes, never to the host.
	filteredNet string
	// rt is the tenant's route target, on the nodes' L3VNI and the border's VRF alike: not
	// the automatic one (AS:VNI), so only a VRF that names it imports the tenant's routes.
	rt string
}

var tenants = []tenant{
	{vrf: "red", vni: 100, table: 100, extNet: "172.16.100", spinePort: "x-red", filteredNet: "172.31.100", rt: "65000:1100"},
	{vrf: "blue", vni: 200, table: 200, extNet: "172.16.200", spinePort: "x-blue", rt: "65000:1200"},
}

// segment is one L2VNI of the lab; vrf is empty for a pure layer-2 segment.
type segment struct {
	name string
	vni  int
	vrf  string
}

// segments are the L2VNIs: web (stretched over every node) is all the L2-only lab has; the
// L3 lab routes web and db in VRF red (symmetric IRB between them) and iso in VRF blue.
func segments(l3 bool) []segment {
	if !l3 {
		return []segment{{name: "web", vni: 110}}
	}
	return []segment{{name: "web", vni: 110, vrf: "red"}, {name: "db", vni: 120, vrf: "red"}, {name: "iso", vni: 130, vrf: "blue"}}
}

// Host session of VRF red: the node's host runs a BGP speaker (AS hostASN) that announces
// hostPrefix to the fabric and learns the tenant's routes. It also announces
// hostFilteredPrefix, which the session's toReceive leaves out: it never reaches the fabric.
const (
	hostASN              = 64600
	hostLocalCIDR        = "192.169.10.0/24"
	hostRouterIP         = "192.169.10.1"
	hostPrefix           = "10.10.1.0/24"
	hostPrefixIP         = "10.10.1.1"
	hostFilteredPrefix   = "10.99.1.0/24"
	hostFilteredPrefixIP = "10.99.1.1"
)

// reflector is a fabric router of the lab: an iBGP route reflector (AS fabricASN) for the
// clients' addresses in IPv4 unicast (with next-hop-self, so the VTEP loopbacks are reachable
// hop by hop) and L2VPN EVPN (next hops kept: they are the VTEPs). A leaf also peers with its
// spine (upstream); the spine has no upstream and, in the L3 lab (border), is the border VTEP
// of the tenant VRFs. In the dual-tor fabric a leaf runs BFD with its clients (bfd) and has a
// password on the sessions of passwordClients. The lab's routers are its own, not weft's:
// they log into the lab directory, whose tails join a failure's report.
type reflector struct {
	// routerID is the router's ID (IPv4 syntax); loopback its loopback address, which it
	// announces: routerID itself, or its IPv6 twin in the ipv6 fabric, whose sessions
	// (clients, upstream) and unicast family are then IPv6.
	name, routerID  string
	loopback        string
	clients         []string
	upstream        string
	border          bool
	logFile         string
	bfd             bool
	passwordClients []string
}

// config is the reflector's FRR configuration.
func (r reflector) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hostname %s\nlog file %s informational\n!\n", r.name, r.logFile)
	if r.border {
		for _, t := range tenants {
			fmt.Fprintf(&b, "vrf %s\n vni %d\nexit-vrf\n!\n", t.vrf, t.vni)
		}
	}
	if r.bfd {
		fmt.Fprintf(&b, "bfd\n profile %s\n  transmit-interval %d\n  receive-interval %d\n  detect-multiplier %d\n exit\n!\nexit\n!\n",
			bfdProfileName, bfdIntervalMs, bfdIntervalMs, bfdMultiplier)
	}
	fmt.Fprintf(&b, `frr defaults datacenter
!
router bgp %d
 bgp router-id %s
 bgp cluster-id %s
 bgp graceful-restart
 no bgp default ipv4-unicast
 neighbor CLIENTS peer-group
 neighbor CLIENTS remote-as %d
 neighbor CLIENTS timers 3 9
 neighbor CLIENTS timers connect 2
`, fabricASN, r.routerID, r.routerID, fabricASN)
	if r.bfd {
		fmt.Fprintf(&b, " neighbor CLIENTS bfd profile %s\n", bfdProfileName)
	}
	for _, c := range r.clients {
		fmt.Fprintf(&b, " neighbor %s peer-group CLIENTS\n", c)
	}
	for _, c := range r.passwordClients {
		fmt.Fprintf(&b, " neighbor %s password %s\n", c, leafPassword)
	}
	if r.upstream != "" {
		fmt.Fprintf(&b, " neighbor %s remote-as %d\n neighbor %s timers 3 9\n neighbor %s timers connect 2\n", r.upstream, fabricASN, r.upstream, r.upstream)
	}
	family, plen := "ipv4", 32
	if strings.Contains(r.loopback, ":") {
		family, plen = "ipv6", 128
	}
	fmt.Fprintf(&b, ` !
 address-family %s unicast
  network %s/%d
  neighbor CLIENTS activate
  neighbor CLIENTS route-reflector-client
  neighbor CLIENTS next-hop-self force
`, family, r.loopback, plen)
	if r.upstream != "" {
		fmt.Fprintf(&b, "  neighbor %s activate\n  neighbor %s next-hop-self force\n", r.upstream, r.upstream)
	}
	b.WriteString(` exit-address-family
 !
 address-family l2vpn evpn
  neighbor CLIENTS activate
  neighbor CLIENTS route-reflector-client
`)
	if r.upstream != "" {
		fmt.Fprintf(&b, "  neighbor %s activate\n", r.upstream)
	}
	if r.border {
		b.WriteString("  advertise-all-vni\n")
	}
	b.WriteString(" exit-address-family\nexit\n!\n")
	if r.border {
		for _, t := range tenants {
			fmt.Fprintf(&b, `router bgp %d vrf %s
 bgp router-id %s
 address-family ipv4 unicast
  redistribute connected
 exit-address-family
 address-family l2vpn evpn
  advertise ipv4 unicast
  route-target import %s
  route-target export %s
 exit-address-family
exit
!
`, fabricASN, t.vrf, r.routerID, t.rt, t.rt)
		}
	}
	return b.String()
}

// hostFRRConfig is the configuration of the BGP speaker on a node's host: it peers with the
// router side of the VRF red veth (the same address on every node) and announces hostPrefix
// and hostFilteredPrefix.
func hostFRRConfig() string {
	return speakerConfig(hostASN, hostPrefixIP, hostRouterIP, hostPrefix, hostFilteredPrefix)
}

// speakerConfig is the FRR configuration of a BGP speaker on a node's host (AS asn, router
// ID routerID) that peers with weft's router at peer (AS fabricASN) and announces networks.
func speakerConfig(asn int, routerID, peer string, networks ...string) string {
	var nets strings.Builder
	for _, n := range networks {
		fmt.Fprintf(&nets, "  network %s\n", n)
	}
	return fmt.Sprintf(`frr defaults datacenter
!
router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor %s remote-as %d
 neighbor %s timers 3 9
 neighbor %s timers connect 2
 !
 address-family ipv4 unicast
%s  neighbor %s activate
 exit-address-family
exit
!
`, asn, routerID, peer, fabricASN, peer, peer, nets.String(), peer)
}

// clusterFiles are the node files of cluster c of lab s: what its nodes' agents read in host
// mode and what its API server is given in Kubernetes mode.
func (s *State) clusterFiles(c Cluster) map[string]string {
	var nodes []Node
	for _, n := range s.Nodes {
		if n.Cluster == c.Name {
			nodes = append(nodes, n)
		}
	}
	return nodeFiles(nodes, c.VTEPCIDR, s.L3, !s.WithoutBFD, s.fabric())
}

// nodeFiles are the API resources of a cluster of the lab with the given nodes and VTEP
// network, one file per resource as a user would keep them. Every node of the cluster gets
// all of them: each Underlay selects its node by hostname (each node has its own link to the
// top-of-rack), the VNIs select every node. Every cluster defines the same VNIs (same VNI,
// same automatic route targets), so its segments and tenants stretch across the clusters.
// A dual-homed node's sessions run BFD unless bfd is false. The fabric shape decides each
// Underlay's sessions: unnumbered, IPv6, or IPv4 to one or two leaves.
func nodeFiles(nodes []Node, vtepCIDR string, l3, bfd bool, fabric string) map[string]string {
	files := map[string]string{}
	for _, s := range segments(l3) {
		body := fmt.Sprintf(`%sapiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata:
  name: %s
  namespace: %s
spec:
  vni: %d
`, segmentComment(s), s.name, KubeNamespace, s.vni)
		if s.vrf != "" {
			body += fmt.Sprintf(`  routingDomain:
    l3vni: %s
  gatewayIPs: [%s]
`, s.vrf, gatewayOf(s.vni)+"/24")
		}
		files["l2vni-"+s.name+".yaml"] = body
	}
	if l3 {
		for _, t := range tenants {
			body := fmt.Sprintf(`apiVersion: network.weft.dev/v1alpha1
kind: L3VNI
metadata:
  name: %s
  namespace: %s
spec:
  vrf: %s
  vni: %d
  # The tenant's own route target (not the automatic %d:%d): only the VRFs that name it,
  # on the nodes and the border, import its routes.
  importRouteTargets: ["%s"]
  exportRouteTargets: ["%s"]
`, t.vrf, KubeNamespace, t.vrf, t.vni, fabricASN, t.vni, t.rt, t.rt)
			if t.vrf == "red" {
				body += fmt.Sprintf(`  hostSession:
    hostASN: %d
    localCIDR:
      ipv4: %s
    # What the router accepts from the host: its 10.10/16 prefixes, so 10.99.1.0/24, which
    # the lab's host speaker also announces, never reaches the fabric.
    toReceive:
      mode: Filtered
      prefixes:
        - prefix: 10.10.0.0/16
          le: 24
    # What the router sends the host: the external and workload networks, not the border's
    # 172.31.100.0/24.
    toAdvertise:
      mode: Filtered
      prefixes:
        - prefix: 172.16.0.0/16
          le: 24
        - prefix: 192.168.0.0/16
          le: 32
`, hostASN, hostLocalCIDR)
			}
			files["l3vni-"+t.vrf+".yaml"] = body
		}
	}
	for _, n := range nodes {
		switch {
		case fabric == FabricEBGPUnnumbered:
			files["underlay-"+n.Name+".yaml"] = unnumberedUnderlay(n, vtepCIDR)
			continue
		case fabric == FabricIPv6:
			files["underlay-"+n.Name+".yaml"] = ipv6Underlay(n, vtepCIDR)
			continue
		case n.Leaf2 == "":
			files["underlay-"+n.Name+".yaml"] = singleUplinkUnderlay(n, vtepCIDR)
			continue
		}
		files["underlay-"+n.Name+".yaml"] = dualUplinkUnderlay(n, vtepCIDR, bfd)
		files["secret-"+leafPasswordSecret+".yaml"] = fmt.Sprintf(`# The MD5 password of the sessions to the second leaf (dual-tor); the leaves have it too.
apiVersion: v1
kind: Secret
metadata:
  name: %s
  namespace: %s
stringData:
  password: %s
`, leafPasswordSecret, KubeNamespace, leafPassword)
	}
	return files
}

// underlayHead is the start of node n's Underlay, to its neighbors key: its name, its node
// selector, its ASN and the NICs weft moves into its router namespace.
func underlayHead(n Node, asn int, nics ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: network.weft.dev/v1alpha1
kind: Underlay
metadata:
  name: %s
  namespace: %s
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: %s
  asn: %d
  interfaces:
`, n.Name, KubeNamespace, n.Name, asn)
	for _, nic := range nics {
		fmt.Fprintf(&b, "    - type: NetworkDevice\n      networkDevice:\n        name: %s\n", nic)
	}
	b.WriteString("  neighbors:\n")
	return b.String()
}

// singleUplinkUnderlay is the Underlay of node n with one uplink (ibgp-rr).
func singleUplinkUnderlay(n Node, vtepCIDR string) string {
	return fmt.Sprintf(`# %s's link to the fabric: one iBGP session to its top-of-rack leaf (a route reflector)
# over the uplink eth1, which weft moves into the router namespace with its address.
`, n.Name) + underlayHead(n, fabricASN, uplinkName) + fmt.Sprintf(`    - address: %s
      type: Internal
      holdTimeSeconds: 9
      keepaliveTimeSeconds: 3
      connectTimeSeconds: 2
  tunnelEndpoint:
    cidrs: [%s]
  # A peer that keeps routes across a restart (EVPN is not among them with FRR 8.4 as the
  # reflector, see docs/design.md) keeps them while this node's FRR restarts.
  gracefulRestart:
    restartTimeSeconds: 120
`, leafPortAddr(n.Link), vtepCIDR)
}

// ipv6Underlay is the Underlay of node n in the ipv6 fabric: ibgp-rr's, over IPv6 only. Its
// router ID (an IPv4 number, which BGP needs and the VTEP network cannot give) comes from a
// network of its own, by node index as the VTEP does.
func ipv6Underlay(n Node, vtepCIDR string) string {
	return fmt.Sprintf(`# %s's link to the fabric, IPv6 only: one iBGP session to its top-of-rack leaf (a route
# reflector) over the uplink eth1, which weft moves into the router namespace with its
# address. The VTEP is IPv6, and so is every VXLAN packet.
`, n.Name) + underlayHead(n, fabricASN, uplinkName) + fmt.Sprintf(`    - address: "%s"
      type: Internal
      holdTimeSeconds: 9
      keepaliveTimeSeconds: 3
      connectTimeSeconds: 2
  tunnelEndpoint:
    cidrs: ["%s"]
  # BGP's router ID is an IPv4 number; this network only numbers the nodes (no interface
  # gets an address from it).
  routerIDCIDR: %s
  gracefulRestart:
    restartTimeSeconds: 120
`, ipv6Of(leafPortAddr(n.Link)), vtepCIDR, routerIDNet(n.Cluster))
}

// routerIDNet is the network of the router IDs of cluster name's nodes in the ipv6 fabric:
// 10.254.<k>.0/24 for cluster c<k>.
func routerIDNet(cluster string) string {
	return "10.254." + strings.TrimPrefix(cluster, "c") + ".0/24"
}

// dualUplinkUnderlay is the Underlay of node n with two uplinks (dual-tor): an iBGP session
// to each leaf, both with BFD (unless bfd is false: the contrast of the failover benchmark),
// the second with an MD5 password from a Secret.
func dualUplinkUnderlay(n Node, vtepCIDR string, bfd bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# %s's links to the fabric: an iBGP session to each of two leaves (route reflectors), over
# eth1 (to %s) and eth2 (to %s), which weft moves into the router namespace with their
# addresses; the underlay has a path over each leaf to every other VTEP. The second session
# has an MD5 password.
`, n.Name, n.Leaf, n.Leaf2)
	if bfd {
		b.WriteString("# BFD (100 ms, multiplier 3) takes a dead link's session down in 300 ms.\n")
	} else {
		b.WriteString("# No BFD: the hold timer (9 s) takes a dead link's session down.\n")
	}
	b.WriteString(underlayHead(n, fabricASN, uplinkName, uplink2Name))
	for i, nb := range []struct{ addr, leaf string }{{leafPortAddr(n.Link), n.Leaf}, {leafPort2Addr(n.Link), n.Leaf2}} {
		fmt.Fprintf(&b, "    - address: %s\n      type: Internal\n      description: %s\n", nb.addr, nb.leaf)
		if bfd {
			fmt.Fprintf(&b, "      bfdProfile: %s\n", bfdProfileName)
		}
		if i == 1 {
			fmt.Fprintf(&b, "      passwordSecret:\n        name: %s\n", leafPasswordSecret)
		}
		b.WriteString("      holdTimeSeconds: 9\n      keepaliveTimeSeconds: 3\n      connectTimeSeconds: 2\n")
	}
	if bfd {
		fmt.Fprintf(&b, "  bfdProfiles:\n    - name: %s\n      receiveIntervalMs: %d\n      transmitIntervalMs: %d\n      detectMultiplier: %d\n",
			bfdProfileName, bfdIntervalMs, bfdIntervalMs, bfdMultiplier)
	}
	fmt.Fprintf(&b, "  tunnelEndpoint:\n    cidrs: [%s]\n  gracefulRestart:\n    restartTimeSeconds: 120\n", vtepCIDR)
	return b.String()
}

// segmentComment introduces an L2VNI's file.
func segmentComment(s segment) string {
	if s.vrf == "" {
		return fmt.Sprintf("# L2VNI %s: a layer-2 segment stretched over every node; workloads attach to the host\n# bridge br-hs-%d.\n", s.name, s.vni)
	}
	return fmt.Sprintf("# L2VNI %s: a segment routed by tenant %s (symmetric IRB) with the anycast gateway %s on\n# every node; workloads attach to the host bridge br-hs-%d.\n", s.name, s.vrf, gatewayOf(s.vni), s.vni)
}

// gatewayOf is the anycast gateway address of an L2VNI of the lab: 192.168.<vni>.1.
func gatewayOf(vni int) string { return fmt.Sprintf("192.168.%d.1", vni) }

// writeFiles writes files (by name) into dir.
func writeFiles(dir string, files map[string]string) error {
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
