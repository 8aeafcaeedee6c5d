package lab

import (
	"fmt"
	"strings"
)

// The ebgp-unnumbered fabric (FabricEBGPUnnumbered): eBGP leaf-spine as RFC 7938 lays it
// out. Every router and node has its own ASN (leafASN, nodeASN; the spine fabricASN), every
// session is unnumbered: FRR peers over the link's IPv6 link-local address, found by router
// advertisements, and carries IPv4 routes with IPv6 next hops (RFC 8950). The links have no
// IPv4 address; the loopbacks (router IDs, VTEPs) are the only IPv4 addresses of the
// underlay.
//
// EVPN over eBGP needs three things, all FRR's defaults, stated here so a reader of the
// configuration knows them:
//   - the leaves and the spine pass EVPN routes on with the next hop unchanged (FRR leaves an
//     EVPN route's next hop, the originating VTEP, alone on eBGP), so a VTEP's type-2 and
//     type-3 routes point at it wherever they land;
//   - the automatic route target is ASN:VNI with each node's own ASN; FRR imports an
//     automatic route target by its VNI alone (*:VNI), so the nodes need no explicit ones;
//   - the spine and leaves keep EVPN routes for VNIs they do not have (an eBGP speaker
//     without VNIs keeps every EVPN route), so they can pass them on.

// ebgpRouter is a fabric router of the eBGP fabric: an ASN, a loopback it announces and
// unnumbered eBGP sessions over ports, in IPv4 unicast and L2VPN EVPN.
type ebgpRouter struct {
	name, routerID string
	asn            int
	ports          []string
	logFile        string
}

// config is the router's FRR configuration.
func (r ebgpRouter) config() string {
	var b strings.Builder
	fmt.Fprintf(&b, `hostname %s
log file %s informational
!
frr defaults datacenter
!
router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp bestpath as-path multipath-relax
 neighbor FABRIC peer-group
 neighbor FABRIC remote-as external
 neighbor FABRIC timers 3 9
 neighbor FABRIC timers connect 2
`, r.name, r.logFile, r.asn, r.routerID)
	for _, p := range r.ports {
		fmt.Fprintf(&b, " neighbor %s interface peer-group FABRIC\n", p)
	}
	fmt.Fprintf(&b, ` !
 address-family ipv4 unicast
  network %s/32
  neighbor FABRIC activate
 exit-address-family
 !
 address-family l2vpn evpn
  neighbor FABRIC activate
 exit-address-family
exit
!
`, r.routerID)
	return b.String()
}

// ebgpRouters are the spine and leaves of the eBGP fabric: the spine peers with the leaves,
// each leaf with the spine and the nodes of its rack.
func (s *State) ebgpRouters() []fabricRouter {
	var spinePorts []string
	for j := range s.Leaves {
		spinePorts = append(spinePorts, spinePort(j+1))
	}
	rs := []fabricRouter{{spineName, s.Spine, ebgpRouter{name: spineName, routerID: spineLo, asn: fabricASN, ports: spinePorts, logFile: frrLog(s.Name, spineName)}.config()}}
	for j, l := range s.Leaves {
		ports := []string{leafUplink}
		for _, n := range s.Nodes {
			if n.Leaf == l.Name {
				ports = append(ports, nodePort(n.Link))
			}
		}
		rs = append(rs, fabricRouter{l.Name, l.Netns, ebgpRouter{name: l.Name, routerID: leafLo(j + 1), asn: leafASN(j + 1), ports: ports, logFile: frrLog(s.Name, l.Name)}.config()})
	}
	return rs
}

// unnumberedUnderlay is the Underlay of node n in the eBGP fabric: its own ASN and one
// unnumbered eBGP session over eth1 to its leaf.
func unnumberedUnderlay(n Node, vtepCIDR string) string {
	return fmt.Sprintf(`# %s's link to the fabric: one unnumbered eBGP session (IPv6 link-local, IPv4 routes with
# IPv6 next hops) to its top-of-rack leaf over the uplink eth1, which weft moves into the
# router namespace; the node has an ASN of its own, as every router of the fabric does.
`, n.Name) + underlayHead(n, nodeASN(n.Link), uplinkName) + fmt.Sprintf(`    - interface: %s
      type: External
      description: %s
      holdTimeSeconds: 9
      keepaliveTimeSeconds: 3
      connectTimeSeconds: 2
  tunnelEndpoint:
    cidrs: [%s]
  gracefulRestart:
    restartTimeSeconds: 120
`, uplinkName, n.Leaf, vtepCIDR)
}
