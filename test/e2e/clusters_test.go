package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/umltest"
)

// Lab names of the two-cluster labs: host mode with the routed parts (TestClusters) and
// Kubernetes mode (TestKubernetesClusters).
const (
	clustersLabName     = "e2ec"
	kubeClustersLabName = "e2ekc"
)

// checkClusterNumbering: each cluster numbers its nodes from 0 and takes their VTEPs from its
// own network, so indexes repeat across clusters and VTEPs do not; no two nodes of the lab
// really have one VTEP (lab.VTEPConflicts reads the router namespaces).
func checkClusterNumbering(t *testing.T, s *lab.State) {
	t.Helper()
	vteps := map[string]string{}
	for _, c := range s.Clusters {
		var idx []int
		for _, name := range c.Nodes {
			n := node2(t, s, name)
			idx = append(idx, n.Index)
			if other, ok := vteps[n.VTEP]; ok {
				t.Errorf("%s and %s both have VTEP %s", other, n.Name, n.VTEP)
			}
			vteps[n.VTEP] = n.Name
			if !strings.HasPrefix(n.VTEP, strings.TrimSuffix(c.VTEPCIDR, "0/24")) {
				t.Errorf("node %s of cluster %s has VTEP %s, outside %s", n.Name, c.Name, n.VTEP, c.VTEPCIDR)
			}
		}
		slices.Sort(idx)
		if len(idx) == 0 || idx[0] != 0 {
			t.Errorf("cluster %s numbers its nodes %v, want from 0", c.Name, idx)
		}
	}
	conflicts, err := lab.VTEPConflicts(context.Background(), s)
	if err != nil || len(conflicts) > 0 {
		t.Errorf("VTEP conflicts %v (%v)", conflicts, err)
	}
}

// refuseOverlappingUnderlay applies to cluster c2 an Underlay of one of its nodes whose VTEP
// network overlaps c1's, and checks that weft lab apply refuses it naming the file, object
// and field, and that what the cluster had stays (read back by current).
func refuseOverlappingUnderlay(t *testing.T, s *lab.State, underlay []byte, current func() ([]byte, error)) {
	t.Helper()
	c1, c2 := s.Clusters[0], s.Clusters[1]
	if !bytes.Contains(underlay, []byte(c2.VTEPCIDR)) {
		t.Fatalf("the Underlay to alter has no %s:\n%s", c2.VTEPCIDR, underlay)
	}
	before, err := current()
	if err != nil {
		t.Fatal(err)
	}
	// A /25 inside c1's network: overlapping, not equal.
	overlapping := strings.Replace(c1.VTEPCIDR, "0/24", "0/25", 1)
	f := filepath.Join(t.TempDir(), "underlay-overlap.yaml")
	if err := os.WriteFile(f, bytes.ReplaceAll(underlay, []byte(c2.VTEPCIDR), []byte(overlapping)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(weftBin, "lab", "apply", "--name", s.Name, "--cluster", c2.Name, "-f", f).CombinedOutput()
	want := fmt.Sprintf("spec.tunnelEndpoint.cidrs[0]: %s overlaps cluster %s's VTEP network %s", overlapping, c1.Name, c1.VTEPCIDR)
	if err == nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), f) {
		t.Errorf("weft lab apply --cluster %s of an Underlay in %s's network: want refused with %q, got err=%v:\n%s", c2.Name, c1.Name, want, err, out)
	}
	after, err := current()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Errorf("the refused apply changed the cluster's Underlay:\nbefore %s\nafter  %s", before, after)
	}
}

// TestClusters: two clusters (host mode: each its own config directories, node indexes and
// VTEP network) on one fabric with the routed parts. The same L2VNI and L3VNIs are defined in
// both, so a segment and a tenant span the clusters; a workload migrates from a node of
// cluster c1 to one of c2 keeping IP and MAC and is reached from both clusters and from the
// external host; an Underlay that would give c2's nodes c1's VTEPs is refused. make
// bench-lab runs the moves $WEFT_MIGRATION_RUNS times and prints their outages.
func TestClusters(t *testing.T) {
	if !umltest.Need(t, hostnet.HasVRF, "vrf", "bridge", "vxlan", "veth") {
		return
	}
	ctx := context.Background()
	s := upLab(t, lab.Options{Name: clustersLabName, Nodes: 4, Clusters: 2, AgentBinary: agentBin, L3: true})

	t.Run("StatusListsClusters", func(t *testing.T) {
		out, err := exec.Command(weftBin, "lab", "status", "--name", s.Name, "-o", "json").Output()
		if err != nil {
			t.Fatal(err)
		}
		var got lab.State
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatal(err)
		}
		want := map[string][2][]string{
			"c1": {{"node1", "node2"}, {"db2", "iso1", "web1", "web2"}},
			"c2": {{"node3", "node4"}, {"web3", "web4"}},
		}
		if len(got.Clusters) != len(want) {
			t.Fatalf("status -o json lists clusters %+v, want c1 and c2", got.Clusters)
		}
		for _, c := range got.Clusters {
			w := want[c.Name]
			ws := slices.Sorted(slices.Values(c.Workloads))
			if !slices.Equal(c.Nodes, w[0]) || !slices.Equal(ws, w[1]) {
				t.Errorf("cluster %s: nodes %v, workloads %v; want %v, %v", c.Name, c.Nodes, ws, w[0], w[1])
			}
		}
		checkClusterNumbering(t, &got)
	})
	t.Run("OverlappingVTEPNetworkRefused", func(t *testing.T) {
		n3 := node2(t, s, "node3")
		path := filepath.Join(n3.ConfigDir, "underlay-node3.yaml")
		underlay, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		refuseOverlappingUnderlay(t, s, underlay, func() ([]byte, error) { return os.ReadFile(path) })
	})
	t.Run("TenantSpansClusters", func(t *testing.T) {
		// Symmetric IRB from segment db in c1 to segment web in c2, and the external host to
		// both clusters, through the one L3VNI red.
		web3, db2 := workload2(t, s, "web3"), workload2(t, s, "db2")
		if err := lab.CheckPing(ctx, s, db2.Name, addr(web3.IP)); err != nil {
			t.Error(err)
		}
		for _, w := range []string{"web2", "web3"} {
			if err := lab.CheckPing(ctx, s, "ext-red", addr(workload2(t, s, w).IP)); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("WorkloadMigratesAcrossClusters", func(t *testing.T) { testMigrationAcrossClusters(t, s) })
}

// testMigrationAcrossClusters moves web1 from node1 (cluster c1) to node3 (cluster c2) and
// back, probed once bridged from web2 (in c1) and once routed from the external host. After
// each move web1's MAC+IP route is behind the new node's VTEP on every other node, of both
// clusters, and web1 answers web2 (c1), web4 (c2) and the external host.
func testMigrationAcrossClusters(t *testing.T, s *lab.State) {
	ctx := context.Background()
	w := workload2(t, s, "web1")
	ip := addr(w.IP)
	cases := []struct{ to, pinger, what string }{
		{"node3", "web2", "bridged, from cluster c1 to c2, probed from c1"},
		{"node1", "ext-red", "routed from the external host, from cluster c2 back to c1"},
	}
	runs := migrationRuns(t)
	outages := make([][]float64, len(cases))
	for i := range runs * len(cases) {
		m := cases[i%len(cases)]
		r, err := lab.MigrateWith(ctx, s, w.Name, m.to, lab.MigrateOptions{Interval: 10 * time.Millisecond, Announce: lab.AnnounceGARP, Pinger: m.pinger})
		if err != nil {
			t.Fatalf("migrate %s to %s: %v", w.Name, m.to, err)
		}
		dst := node2(t, s, m.to)
		t.Logf("%s %s → %s (cluster %s), probed by %s: %s", w.Name, r.From, r.To, dst.Cluster, m.pinger, r.Probe)
		outages[i%len(cases)] = append(outages[i%len(cases)], float64(r.Probe.Outage.Microseconds())/1000)
		for _, n := range s.Nodes {
			if n.Name == m.to {
				continue
			}
			poll(t, 60*time.Second, fmt.Sprintf("weft trace %s on %s (cluster %s) after the move to %s", ip, n.Name, n.Cluster, m.to), func() error {
				out, err := exec.Command(weftBin, "trace", ip, "--router-netns", n.RouterNetns, "--vtysh", s.FRRInstall().Vtysh).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "behind VTEP "+dst.VTEP) {
					return fmt.Errorf("exit %v; want the MAC+IP behind %s:\n%s", err, dst.VTEP, out)
				}
				return nil
			})
		}
		for _, from := range []string{"web2", "web4", "ext-red"} {
			if err := lab.CheckPing(ctx, s, from, ip); err != nil {
				t.Errorf("%s → %s after the move to %s: %v", from, w.Name, m.to, err)
			}
		}
	}
	for i, c := range cases {
		t.Logf("migration outage across clusters, %s: %s", c.what, spread(outages[i]))
	}
}

// TestKubernetesClusters: two clusters in Kubernetes mode, each with its own API server and
// controller: each has only its own Node, indexed 0 by its own controller, and its VTEPs from
// its own network; the segment defined in both joins their workloads; kubectl needs to be
// told which cluster; an Underlay in the other cluster's network is refused.
func TestKubernetesClusters(t *testing.T) {
	assets := kubeAssets(t)
	ctx := context.Background()
	s := upLab(t, lab.Options{
		Name: kubeClustersLabName, Nodes: 2, Clusters: 2, AgentBinary: agentBin,
		Kubernetes: true, ControllerBinary: controllerBin, KubeAssets: assets,
	})
	kubectl := func(c lab.Cluster, args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("kubectl --kubeconfig %s %s: %w\n%s", c.Kubeconfig, strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	servers := map[string]bool{}
	for _, c := range s.Clusters {
		if c.ControlPlane == nil || servers[c.ControlPlane.Server] {
			t.Fatalf("cluster %s: control plane %+v, want one of its own", c.Name, c.ControlPlane)
		}
		servers[c.ControlPlane.Server] = true
		out, err := kubectl(c, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.name}={.metadata.annotations.network\.weft\.dev/node-index}{" "}{end}`)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i, name := range c.Nodes {
			want = append(want, fmt.Sprintf("%s=%d", name, i))
		}
		if got := strings.Fields(out); !slices.Equal(got, want) {
			t.Errorf("cluster %s's Nodes and indexes: %v, want %v", c.Name, got, want)
		}
	}
	checkClusterNumbering(t, s)
	w1, w2 := workload2(t, s, "web1"), workload2(t, s, "web2")
	if node2(t, s, w1.Node).Cluster == node2(t, s, w2.Node).Cluster {
		t.Fatalf("web1 and web2 must be in different clusters")
	}
	poll(t, 30*time.Second, "web1 ↔ web2 across clusters", func() error {
		if err := ping(ctx, w1, addr(w2.IP)); err != nil {
			return err
		}
		return ping(ctx, w2, addr(w1.IP))
	})
	if out, err := exec.Command(weftBin, "lab", "kubectl", "--name", s.Name, "--", "get", "nodes").CombinedOutput(); err == nil || !strings.Contains(string(out), "--cluster") {
		t.Errorf("weft lab kubectl without --cluster in a lab of two clusters: want an error asking for --cluster, got %v:\n%s", err, out)
	}
	c2 := s.Clusters[1]
	current := func() ([]byte, error) {
		out, err := kubectl(c2, "get", "underlay", c2.Nodes[0], "-o", "jsonpath={.spec.tunnelEndpoint.cidrs}")
		return []byte(out), err
	}
	underlay, err := os.ReadFile(filepath.Join(c2.ControlPlane.Manifests, "underlay-"+c2.Nodes[0]+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	refuseOverlappingUnderlay(t, s, underlay, current)
}
