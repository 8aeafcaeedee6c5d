package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// spineConfig is the route reflector's FRR configuration: iBGP with every node, reflecting
// EVPN routes unchanged and underlay routes with itself as next hop.
func spineConfig(nodes int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `frr defaults datacenter
!
router bgp %d
 bgp router-id %s
 bgp cluster-id %s
 no bgp default ipv4-unicast
 neighbor NODES peer-group
 neighbor NODES remote-as %d
 neighbor NODES timers 3 9
 neighbor NODES timers connect 2
`, fabricASN, spineLo, spineLo, fabricASN)
	for i := 1; i <= nodes; i++ {
		fmt.Fprintf(&b, " neighbor 10.0.%d.1 peer-group NODES\n", i)
	}
	fmt.Fprintf(&b, ` !
 address-family ipv4 unicast
  network %s/32
  neighbor NODES activate
  neighbor NODES route-reflector-client
  neighbor NODES next-hop-self force
 exit-address-family
 !
 address-family l2vpn evpn
  neighbor NODES activate
  neighbor NODES route-reflector-client
 exit-address-family
exit
!
`, spineLo)
	return b.String()
}

// nodeFiles are the API resources of the lab, one file per resource as a user would keep
// them. Every node gets all of them, as in a cluster: each Underlay selects its node by
// hostname (each node has its own link to the top-of-rack), the L2VNIs select every node.
func nodeFiles(nodes int) map[string]string {
	files := map[string]string{
		"l2vni-web.yaml": `apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata:
  name: web
spec:
  vni: 110
`,
	}
	for i := 1; i <= nodes; i++ {
		files[fmt.Sprintf("underlay-node%d.yaml", i)] = fmt.Sprintf(`apiVersion: network.weft.dev/v1alpha1
kind: Underlay
metadata:
  name: node%d
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: node%d
  asn: %d
  interfaces:
    - type: NetworkDevice
      networkDevice:
        name: %s
  neighbors:
    - address: 10.0.%d.0
      type: Internal
      holdTimeSeconds: 9
      keepaliveTimeSeconds: 3
      connectTimeSeconds: 2
  tunnelEndpoint:
    cidrs: [%s]
`, i, i, fabricASN, uplinkName, i, vtepCIDR)
	}
	return files
}

func writeNodeConfig(dir string, nodes int) error {
	for name, body := range nodeFiles(nodes) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}
