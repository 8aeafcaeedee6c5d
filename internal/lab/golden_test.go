package lab

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/testenv/linediff"
)

// goldenCases are the labs whose generated files testdata/golden/<case>/ holds.
var goldenCases = []struct {
	nodes    int
	l3       bool
	clusters int
	fabric   string
}{
	{2, false, 1, FabricIBGPRR}, {2, true, 1, FabricIBGPRR}, {3, false, 1, FabricIBGPRR}, {3, true, 1, FabricIBGPRR},
	{3, true, 2, FabricIBGPRR}, {3, false, 1, FabricDualToR}, {3, false, 1, FabricEBGPUnnumbered}, {3, false, 1, FabricIPv6},
}

// goldenDir is the golden directory of a lab of the given size and shape.
func goldenDir(nodes int, l3 bool, clusters int, fabric string) string {
	name := fmt.Sprintf("nodes%d", nodes)
	if l3 {
		name += "-l3"
	}
	if clusters > 1 {
		name += fmt.Sprintf("-clusters%d", clusters)
	}
	if fabric != FabricIBGPRR {
		name += "-" + fabric
	}
	return filepath.Join("testdata", "golden", name)
}

// configDir is where labFiles puts cluster c's node files: config/, or config/<cluster>/ in
// a lab of several clusters.
func configDir(s *State, c Cluster) string {
	if len(s.Clusters) == 1 {
		return "config"
	}
	return "config/" + c.Name
}

// topology is the part of a lab's state that its size alone decides.
type topology struct {
	Spine     string     `json:"spine"`
	Leaves    []Leaf     `json:"leaves"`
	Clusters  []Cluster  `json:"clusters"`
	Nodes     []Node     `json:"nodes"`
	Workloads []Workload `json:"workloads"`
}

// labFiles are what the lab generates for lab s, by path in its golden directory: the FRR
// configuration of each fabric router (<router>.conf, as buildFabric starts them), the host
// speaker's in the L3 lab (host-speaker.conf), the ip commands that plumb the leaves' and
// nodes' links (links.ip), the node files (config/, what every node's agent reads in host
// mode and the cluster is given in Kubernetes mode) and the planned topology (topology.json:
// names, namespaces, addresses).
func labFiles(t *testing.T, s *State) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, r := range s.fabricRouters() {
		files[r.name+".conf"] = r.config
	}
	if s.L3 {
		files["host-speaker.conf"] = hostFRRConfig()
	}
	var ipCmds strings.Builder
	for j, l := range s.Leaves {
		for _, args := range s.leafLinkArgs(j+1, l) {
			fmt.Fprintf(&ipCmds, "ip %s\n", strings.Join(args, " "))
		}
	}
	for _, n := range s.Nodes {
		leaf := s.leaf(n.Leaf)
		if leaf == nil {
			t.Fatalf("%s: no leaf %q", n.Name, n.Leaf)
		}
		for _, args := range s.nodeLinkArgs(n, leaf.Netns) {
			fmt.Fprintf(&ipCmds, "ip %s\n", strings.Join(args, " "))
		}
	}
	files["links.ip"] = ipCmds.String()
	for _, c := range s.Clusters {
		for name, body := range s.clusterFiles(c) {
			files[configDir(s, c)+"/"+name] = body
		}
	}
	js, err := json.MarshalIndent(topology{Spine: s.Spine, Leaves: s.Leaves, Clusters: s.Clusters, Nodes: s.Nodes, Workloads: s.Workloads}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	files["topology.json"] = string(js) + "\n"
	return files
}

// readTree reads every file under dir, by slash-separated path relative to dir.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatalf("%v (go test ./internal/lab -run Golden -update writes the golden files)", err)
	}
	return files
}

// TestGoldenLabFiles compares what the lab generates (labFiles) for labs of two and three
// nodes, with and without the L3 parts, with testdata/golden; `go test ./internal/lab -run
// Golden -update` rewrites them. The golden node files must also load and plan cleanly, so
// no golden file holds an object weft would reject.
func TestGoldenLabFiles(t *testing.T) {
	for _, c := range goldenCases {
		dir := goldenDir(c.nodes, c.l3, c.clusters, c.fabric)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			s := plannedFrom(Options{Name: "lab", Nodes: c.nodes, L3: c.l3, Clusters: c.clusters, Fabric: c.fabric})
			want := labFiles(t, s)
			if again := labFiles(t, s); !maps.Equal(again, want) {
				t.Fatal("the lab's files are not deterministic")
			}
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for name, body := range want {
					p := filepath.Join(dir, filepath.FromSlash(name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			got := readTree(t, dir)
			for _, name := range slices.Sorted(maps.Keys(want)) {
				g, ok := got[name]
				switch {
				case !ok:
					t.Errorf("%s/%s is missing (go test ./internal/lab -run Golden -update)", dir, name)
				case g != want[name]:
					t.Errorf("the lab's %s differs from %s/%s (go test ./internal/lab -run Golden -update after checking):\n%s", name, dir, name, lineDiff(g, want[name]))
				}
			}
			for _, name := range slices.Sorted(maps.Keys(got)) {
				if _, ok := want[name]; !ok {
					t.Errorf("%s/%s is not a file the lab generates", dir, name)
				}
			}
			for _, cl := range s.Clusters {
				dirPlans(t, filepath.Join(dir, filepath.FromSlash(configDir(s, cl))), s.clusterNodes(cl.Name))
			}
		})
	}
}

// TestGoldenFabricConfigs checks what the golden configurations of the fabric routers say,
// so that rewriting them with -update cannot bless a broken fabric: each router's ID is its
// loopback, each reflector has exactly the clients the topology gives it, each leaf peers
// with the spine's end of its uplink, and only the L3 lab's spine is a border VTEP.
func TestGoldenFabricConfigs(t *testing.T) {
	for _, c := range goldenCases {
		dir := goldenDir(c.nodes, c.l3, c.clusters, c.fabric)
		s := plannedFrom(Options{Name: "lab", Nodes: c.nodes, L3: c.l3, Clusters: c.clusters, Fabric: c.fabric})
		files := readTree(t, dir)
		check := func(router, routerID string, clients []string, upstream string, border bool) {
			t.Helper()
			conf := files[router+".conf"]
			at := dir + "/" + router + ".conf"
			for _, line := range []string{
				"hostname " + router,
				fmt.Sprintf("router bgp %d", fabricASN),
				" bgp router-id " + routerID,
				// The loopback, in the underlay's family.
				"  network " + s.ul(routerID+"/32"),
			} {
				if !hasLine(conf, line) {
					t.Errorf("%s lacks %q", at, line)
				}
			}
			if got := reflectorClients(conf); !slices.Equal(got, clients) {
				t.Errorf("%s: clients %v, want %v", at, got, clients)
			}
			if got := upstreams(conf); upstream == "" && len(got) != 0 || upstream != "" && !slices.Equal(got, []string{upstream}) {
				t.Errorf("%s: upstream %v, want %q", at, got, upstream)
			}
			if hasLine(conf, "  advertise-all-vni") != border {
				t.Errorf("%s: border VTEP %v, want %v", at, !border, border)
			}
		}
		if c.fabric == FabricEBGPUnnumbered {
			checkGoldenEBGP(t, dir, files, s)
			continue
		}
		check(spineName, spineLo, s.leafAddrs(), "", c.l3)
		dual := c.fabric == FabricDualToR
		for j, l := range s.Leaves {
			// A leaf's clients: its rack's nodes, then (dual-tor) every other node's second
			// uplink, whose session has the password.
			var clients, second []string
			for _, n := range s.Nodes {
				if rackOf(n.Link, c.nodes) == j {
					clients = append(clients, s.ul(nodeUplinkAddr(n.Link)))
				}
			}
			for _, n := range s.Nodes {
				if dual && rackOf(n.Link, c.nodes) != j {
					second = append(second, nodeUplink2Addr(n.Link))
				}
			}
			check(l.Name, leafLo(j+1), append(clients, second...), s.ul(spineLinkAddr(j+1)), false)
			conf := files[l.Name+".conf"]
			if got := linesWith(conf, " neighbor ", " password "+leafPassword); !slices.Equal(got, second) {
				t.Errorf("%s/%s.conf: password on %v, want on the second uplinks %v", dir, l.Name, got, second)
			}
			for _, line := range []string{" neighbor CLIENTS bfd profile " + bfdProfileName, " profile " + bfdProfileName, fmt.Sprintf("  receive-interval %d", bfdIntervalMs), fmt.Sprintf("  transmit-interval %d", bfdIntervalMs), fmt.Sprintf("  detect-multiplier %d", bfdMultiplier)} {
				if hasLine(conf, line) != dual {
					t.Errorf("%s/%s.conf: has %q: %v, want %v (BFD in dual-tor only)", dir, l.Name, line, !dual, dual)
				}
			}
		}
	}
}

// checkGoldenEBGP checks the golden configurations of the eBGP fabric's routers: each has its
// own ASN, its loopback as router ID and announced, and unnumbered eBGP sessions over
// exactly the ports the topology gives it (the spine: one per leaf; a leaf: its uplink and
// its rack's nodes), and nothing of route reflection.
func checkGoldenEBGP(t *testing.T, dir string, files map[string]string, s *State) {
	t.Helper()
	type router struct {
		name, routerID string
		asn            int
		ports          []string
	}
	routers := []router{{spineName, spineLo, fabricASN, nil}}
	for j, l := range s.Leaves {
		routers[0].ports = append(routers[0].ports, spinePort(j+1))
		r := router{l.Name, leafLo(j + 1), leafASN(j + 1), []string{leafUplink}}
		for _, n := range s.Nodes {
			if rackOf(n.Link, len(s.Nodes)) == j {
				r.ports = append(r.ports, nodePort(n.Link))
			}
		}
		routers = append(routers, r)
	}
	for _, r := range routers {
		conf, at := files[r.name+".conf"], dir+"/"+r.name+".conf"
		for _, line := range []string{
			"hostname " + r.name,
			fmt.Sprintf("router bgp %d", r.asn),
			" bgp router-id " + r.routerID,
			"  network " + r.routerID + "/32",
			" neighbor FABRIC remote-as external",
			" address-family l2vpn evpn",
			"  neighbor FABRIC activate",
		} {
			if !hasLine(conf, line) {
				t.Errorf("%s lacks %q", at, line)
			}
		}
		if got := linesWith(conf, " neighbor ", " interface peer-group FABRIC"); !slices.Equal(got, r.ports) {
			t.Errorf("%s: unnumbered sessions over %v, want %v", at, got, r.ports)
		}
		if strings.Contains(conf, "route-reflector-client") || strings.Contains(conf, "advertise-all-vni") {
			t.Errorf("%s: reflects routes or is a VTEP; an eBGP fabric router only passes routes on:\n%s", at, conf)
		}
	}
}

// hasLine says whether conf has line as one of its lines.
func hasLine(conf, line string) bool { return slices.Contains(strings.Split(conf, "\n"), line) }

// reflectorClients are the neighbors of a fabric router's configuration in peer group CLIENTS.
func reflectorClients(conf string) []string {
	return linesWith(conf, " neighbor ", " peer-group CLIENTS")
}

// upstreams are the neighbors of a fabric router's configuration outside peer group CLIENTS.
func upstreams(conf string) []string {
	return slices.DeleteFunc(linesWith(conf, " neighbor ", " remote-as "+fmt.Sprint(fabricASN)), func(p string) bool { return p == "CLIENTS" })
}

// linesWith returns, of every line of conf of the form prefix+X+suffix, X.
func linesWith(conf, prefix, suffix string) []string {
	var out []string
	for _, l := range strings.Split(conf, "\n") {
		if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, suffix) && len(l) > len(prefix)+len(suffix) {
			out = append(out, l[len(prefix):len(l)-len(suffix)])
		}
	}
	return out
}

// lineDiff shows the first line where golden and got differ.
func lineDiff(golden, got string) string {
	n, gl, wl := linediff.First(golden, got, "")
	if n == 0 {
		return "(no line differs)"
	}
	return fmt.Sprintf("line %d:\n  golden %q\n  lab    %q", n, gl, wl)
}
