// Package e2e runs weft end to end in the lab: a real FRR route reflector, weft nodes with
// FRR in their router namespaces driven by weft-agent in host mode, and workloads, all in
// network namespaces of this machine. Tests share one lab and run in order.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/umltest"
)

// Lab names: the shared layer-2 lab, the L3 lab of TestL3, the CLI's lab and the
// Kubernetes-mode lab of TestKubernetesMode.
const (
	labName     = "e2e"
	l3LabName   = "e2e3"
	cliLabName  = "e2ecli"
	kubeLabName = "e2ek"
)

var (
	st                               *lab.State
	agentBin, weftBin, controllerBin string
	cniDir                           string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

// agentEnv and weftEnv carry the weft-agent and weft binaries built on the host to a run of
// this binary inside user-mode-linux (umltest forwards WEFT_* variables).
const (
	agentEnv = "WEFT_E2E_AGENT"
	weftEnv  = "WEFT_E2E_WEFT"
)

func run(m *testing.M) int {
	if reason := missing(); reason != "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "e2e: cannot run with CI set:", reason)
			return 1
		}
		fmt.Fprintln(os.Stderr, "e2e: skipped:", reason)
		return 0
	}
	if umltest.InGuest() {
		// Only TestL3, TestSingleVXLANLab and the like run here, each with its own lab and the binaries built on the host.
		agentBin, weftBin = os.Getenv(agentEnv), os.Getenv(weftEnv)
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "weft-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	for _, c := range []string{"weft-agent", "weft", "weft-controller"} {
		build := exec.Command("go", "build", "-o", filepath.Join(tmp, c), "github.com/weftnet/weft/cmd/"+c)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build", c+":", err)
			return 1
		}
	}
	agentBin, weftBin, controllerBin = filepath.Join(tmp, "weft-agent"), filepath.Join(tmp, "weft"), filepath.Join(tmp, "weft-controller")
	// The CNI plugin directory of TestCNI: weft-cni under the name a network configuration's
	// "type" uses, and the reference host-local IPAM plugin.
	cniDir = filepath.Join(tmp, "cni")
	for pkg, name := range map[string]string{
		"github.com/weftnet/weft/cmd/weft-cni":                           "weft",
		"github.com/containernetworking/plugins/plugins/ipam/host-local": "host-local",
	} {
		build := exec.Command("go", "build", "-o", filepath.Join(cniDir, name), pkg)
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: build", pkg+":", err)
			return 1
		}
	}
	os.Setenv(agentEnv, agentBin)
	os.Setenv(weftEnv, weftBin)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// A lab left by a killed earlier run would make Up refuse; it is ours to remove.
	for _, name := range []string{labName, l3LabName, svdLabName, cliLabName, kubeLabName} {
		_ = lab.Down(ctx, name)
	}
	t0 := time.Now()
	st, err = lab.Up(ctx, lab.Options{Name: labName, Nodes: 3, AgentBinary: agentBin})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lab up:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: lab up in %.1f s\n", time.Since(t0).Seconds())
	code := m.Run()
	if code != 0 {
		fmt.Fprintln(os.Stderr, lab.LogTails(labName, 40))
	}
	if err := lab.Down(context.Background(), labName); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: lab down:", err)
		return 1
	}
	if left := leftovers(); left != "" {
		fmt.Fprintln(os.Stderr, "e2e: left behind:", left)
		return 1
	}
	return code
}

// leftovers lists namespaces and processes of the e2e labs that outlived them.
func leftovers() string {
	var left []string
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, l := range strings.Split(string(out), "\n") {
		for _, name := range []string{labName, l3LabName, svdLabName, cliLabName, kubeLabName} {
			if strings.HasPrefix(l, name+"-") {
				left = append(left, strings.Fields(l)[0])
			}
		}
	}
	if out, err := exec.Command("pgrep", "-f", "weft-e2e-").Output(); err == nil && len(out) > 0 {
		left = append(left, "processes "+strings.Join(strings.Fields(string(out)), ","))
	}
	return strings.Join(left, " ")
}

func missing() string {
	if os.Geteuid() != 0 {
		return "needs root (network namespaces)"
	}
	if _, err := frrinstall.Select(); err != nil {
		return "FRR is not installed (make deps): " + err.Error()
	}
	return ""
}

func TestL2VNIConnectivity(t *testing.T) {
	ctx := context.Background()
	w1, w2 := workload(t, "web1"), workload(t, "web2")
	if w1.Node == w2.Node {
		t.Fatalf("web1 and web2 must be on different nodes")
	}
	if err := ping(ctx, w1, addr(w2.IP)); err != nil {
		t.Fatalf("%s → %s: %v", w1.Name, w2.Name, err)
	}
	poll(t, 10*time.Second, "type-2 routes", func() error {
		out, err := lab.Vtysh(ctx, st, w1.Node, "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		for _, w := range st.Workloads {
			if !strings.Contains(out, w.MAC) {
				return fmt.Errorf("no type-2 route for %s (%s) on %s:\n%s", w.Name, w.MAC, w1.Node, out)
			}
		}
		return nil
	})
}

// TestAgentsKnowTheirFRR: every agent reports the release of the FRR the lab runs (read with
// show version in its router namespace), the release its zebra address check depends on.
func TestAgentsKnowTheirFRR(t *testing.T) {
	ctx := context.Background()
	want := fmt.Sprintf("%d.", st.FRRInstall().Major)
	for _, n := range st.Nodes {
		poll(t, 30*time.Second, "FRR version in the status of "+n.Name, func() error {
			var r struct {
				FRRVersion string `json:"frrVersion"`
			}
			raw, err := agentStatus(ctx, st, n.Name, &r)
			if err != nil {
				return err
			}
			if !strings.HasPrefix(r.FRRVersion, want) {
				return fmt.Errorf("agent of %s reports FRR %q, want %sx: %s", n.Name, r.FRRVersion, want, raw)
			}
			return nil
		})
	}
}

func TestBadResourceIsReportedOthersApply(t *testing.T) {
	ctx := context.Background()
	bad := `apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata:
  name: broken
spec:
  vni: 110
  mtu: 100
`
	if err := lab.WriteConfig(st, "l2vni-broken.yaml", bad); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.WriteConfig(st, "l2vni-broken.yaml", "") })
	poll(t, 15*time.Second, "status names the bad resource", func() error {
		var s struct {
			Applied []struct{ Kind, Name string }
			Failed  []struct{ Kind, Name, Field, Reason, Message string }
		}
		raw, err := agentStatus(ctx, st, "node1", &s)
		if err != nil {
			return err
		}
		found := false
		for _, f := range s.Failed {
			if f.Kind == "L2VNI" && f.Name == "broken" && f.Field == "spec.mtu" {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("L2VNI/broken spec.mtu not in failed: %s", raw)
		}
		for _, a := range s.Applied {
			if a.Kind == "L2VNI" && a.Name == "web" {
				return nil
			}
		}
		return fmt.Errorf("L2VNI/web is no longer applied: %s", raw)
	})
	if err := ping(ctx, workload(t, "web1"), addr(workload(t, "web2").IP)); err != nil {
		t.Fatalf("web1 → web2 with a bad resource present: %v", err)
	}
}

func TestRemoveAndReAddVNI(t *testing.T) {
	ctx := context.Background()
	body, err := os.ReadFile(filepath.Join(st.Nodes[0].ConfigDir, "l2vni-web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := lab.WriteConfig(st, "l2vni-web.yaml", ""); err != nil {
		t.Fatal(err)
	}
	if err := lab.CheckVNIRemoved(ctx, st, 110); err != nil {
		t.Fatalf("devices of VNI 110: %v", err)
	}
	poll(t, 15*time.Second, "type-2 routes withdrawn", func() error {
		out, err := lab.Vtysh(ctx, st, "node1", "show bgp l2vpn evpn route type macip")
		if err != nil {
			return err
		}
		if strings.Contains(out, workload(t, "web2").MAC) {
			return fmt.Errorf("route for web2 still present:\n%s", out)
		}
		return nil
	})
	if err := ping(ctx, workload(t, "web1"), addr(workload(t, "web2").IP)); err == nil {
		t.Fatal("web1 still reaches web2 after the L2VNI was removed")
	}

	if err := lab.WriteConfig(st, "l2vni-web.yaml", string(body)); err != nil {
		t.Fatal(err)
	}
	for _, w := range st.Workloads {
		poll(t, 20*time.Second, "host bridge back for "+w.Name, func() error { return lab.Reattach(ctx, st, w.Name) })
	}
	poll(t, 30*time.Second, "web1 → web2 after re-adding the L2VNI", func() error {
		return ping(ctx, workload(t, "web1"), addr(workload(t, "web2").IP))
	})
}

// TestAgentRestartLosesNothing restarts a node's agent under 10 ms probes; the probes cover
// the new agent's whole first pass (a cold cache, a full FRR reload), which must change
// nothing that forwards.
func TestAgentRestartLosesNothing(t *testing.T) {
	w1, w3 := workload(t, "web1"), workload(t, "web3")
	const window = 8 * time.Second
	start := time.Now()
	var firstPass time.Duration
	r := probeDuring(t, w3, w1, window, func() error {
		if err := lab.RestartAgent(context.Background(), st, w1.Node, agentBin); err != nil {
			return err
		}
		err := waitAgentReconciled(context.Background(), w1.Node)
		firstPass = time.Since(start)
		return err
	})
	t.Logf("agent restart on %s, probing %s from %s: %s; new agent's first pass done after %.1f s", w1.Node, w1.Name, w3.Name, r, firstPass.Seconds())
	if firstPass >= window {
		t.Fatalf("the new agent's first pass ended after the probes (%v): the test proves nothing", firstPass)
	}
	if r.Lost != 0 {
		t.Errorf("agent restart lost %d probes: %s", r.Lost, r)
	}
}

// TestFRRCrashKeepsForwardingAndIsRestored kills a node's FRR with SIGKILL. While FRR is
// down the node's data plane must stay exactly as it was (weft removes nothing, and the
// kernel keeps forwarding with the FDB and routes zebra installed); when FRR comes back the
// agent must restore its configuration and the node's workloads become reachable again.
//
// The fabric's route reflector (FRR 8.4) withdraws a peer's EVPN routes as soon as its
// session drops: FRR's graceful-restart helper keeps IPv4 routes but not EVPN ones
// (FRRouting/frr#9749), so the other nodes lose the way to this node's workloads until its
// routes return. The test measures that outage and reports it; it cannot be zero with this
// fabric, whatever weft does.
func TestFRRCrashKeepsForwardingAndIsRestored(t *testing.T) {
	ctx := context.Background()
	w1, w3 := workload(t, "web1"), workload(t, "web3")
	n := node(t, w1.Node)
	before := kernelSnapshot(t, n)
	var during string
	var restoredAfter time.Duration
	r := probeDuring(t, w3, w1, 12*time.Second, func() error {
		if err := lab.KillFRR(st, n.Name); err != nil {
			return err
		}
		t0 := time.Now()
		// The agent notices that FRR is gone and its reconcile fails; it must not touch the
		// kernel meanwhile.
		if err := waitAgentError(ctx, n.Name); err != nil {
			return err
		}
		during = kernelSnapshot(t, n)
		if err := lab.StartFRR(ctx, st, n.Name); err != nil {
			return err
		}
		if err := lab.CheckSession(ctx, st, n.Name); err != nil {
			return fmt.Errorf("agent did not restore FRR's configuration: %w", err)
		}
		if err := lab.CheckPing(ctx, st, w3.Name, addr(w1.IP)); err != nil {
			return err
		}
		restoredAfter = time.Since(t0)
		return nil
	})
	if during != before {
		t.Errorf("the data plane of %s changed while FRR was down:\nbefore:\n%s\nduring:\n%s", n.Name, before, during)
	}
	t.Logf("FRR kill -9 on %s, FRR restarted once the agent saw it gone; %s → %s: %s; reachable again %.1f s after the kill", n.Name, w3.Name, w1.Name, r, restoredAfter.Seconds())
	if r.Received == 0 {
		t.Fatalf("no probe answered at all: %s", r)
	}
	poll(t, 30*time.Second, "agent status after FRR restart", func() error {
		var s struct {
			Error      string
			FRRChanged bool
		}
		if _, err := agentStatus(ctx, st, n.Name, &s); err != nil {
			return err
		}
		if s.Error != "" {
			return fmt.Errorf("last reconcile failed: %s", s.Error)
		}
		return nil
	})
}

func TestMigration(t *testing.T) {
	ctx := context.Background()
	w1 := workload(t, "web1")
	var to string
	for _, n := range st.Nodes {
		if n.Name != w1.Node && n.Name != workload(t, "web3").Node {
			to = n.Name
		}
	}
	r, err := lab.Migrate(ctx, st, "web1", to, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("migration of web1 %s → %s, probed from %s: %s", r.From, r.To, r.Pinger, r.Probe)
	if r.Probe.Received == 0 {
		t.Fatalf("no probe answered before or after the migration: %s", r.Probe)
	}
	poll(t, 10*time.Second, "web1 reachable after migration", func() error {
		return ping(ctx, workload(t, "web3"), addr(w1.IP))
	})
}

// TestL3 runs the routed scenarios in a lab with tenant VRFs and the per-VNI kernel layout:
// natively when this kernel has VRF devices, else inside user-mode-linux.
func TestL3(t *testing.T) {
	if !umltest.Need(t, hostnet.HasVRF, "vrf", "bridge", "vxlan", "veth") {
		return
	}
	testL3(t, l3LabName, plan.LayoutPerVNI, nil)
}

// testL3 runs the routed scenarios in a lab called name whose agents run --kernel-layout
// layout; first, when not nil, runs before them (as subtest "Layout").
func testL3(t *testing.T, name, layout string, first func(*testing.T, *lab.State)) {
	ctx := context.Background()
	_ = lab.Down(ctx, name)
	l3, err := lab.Up(ctx, lab.Options{Name: name, Nodes: 2, AgentBinary: agentBin, L3: true, KernelLayout: layout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(lab.LogTails(name, 30))
		}
		if err := lab.Down(context.Background(), name); err != nil {
			t.Errorf("lab down: %v", err)
		}
	})
	web1, err := l3.Workload("web1")
	if err != nil {
		t.Fatal(err)
	}
	db2, err := l3.Workload("db2")
	if err != nil {
		t.Fatal(err)
	}

	if first != nil && !t.Run("Layout", func(t *testing.T) { first(t, l3) }) {
		return
	}
	t.Run("ExternalHostReachesWorkloadByItsOwnIP", func(t *testing.T) {
		if err := lab.CheckPing(ctx, l3, "ext-red", addr(web1.IP)); err != nil {
			t.Fatal(err)
		}
		// The border learned the workload's subnet as an EVPN type-5 route from the nodes.
		out, err := exec.Command("ip", "netns", "exec", l3.Spine, l3.FRRInstall().Vtysh, "-N", l3.Spine, "-c", "show bgp l2vpn evpn route type prefix").CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if !strings.Contains(string(out), "[5]:[0]:[24]:[192.168.110.0]") {
			t.Errorf("no type-5 route for 192.168.110.0/24 on the border:\n%s", out)
		}
	})
	t.Run("HostSessionLearnsAndAnnounces", func(t *testing.T) {
		if err := lab.CheckHostSessionLearns(ctx, l3, "node1"); err != nil {
			t.Error(err)
		}
		if err := lab.CheckHostPrefixInFabric(ctx, l3); err != nil {
			t.Error(err)
		}
	})
	t.Run("SymmetricIRBAcrossSegmentsAndNodes", func(t *testing.T) {
		if web1.Node == db2.Node || web1.VNI == db2.VNI {
			t.Fatalf("web1 and db2 must be on different nodes and VNIs")
		}
		if err := lab.CheckPing(ctx, l3, web1.Name, addr(db2.IP)); err != nil {
			t.Fatal(err)
		}
		// Routed through the anycast gateway: the reply comes from one hop away.
		out, err := exec.Command("ip", "netns", "exec", web1.Netns, "ping", "-c", "1", "-W", "1", addr(db2.IP)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "ttl=62") {
			t.Errorf("want a routed reply (ttl=62) from db2: %v\n%s", err, out)
		}
	})
	t.Run("TraceFindsARemoteWorkloadByIP", func(t *testing.T) {
		// node1 learned db2 (on node2) from its type-2 MAC+IP route: VNI, MAC, VTEP, programmed.
		n1, err := l3.Node(web1.Node)
		if err != nil {
			t.Fatal(err)
		}
		n2, err := l3.Node(db2.Node)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%s: VNI %d: MAC %s (remote, behind VTEP %s", addr(db2.IP), db2.VNI, db2.MAC, n2.VTEP)
		poll(t, 30*time.Second, "weft trace "+addr(db2.IP)+" on "+n1.Name, func() error {
			out, err := exec.Command(weftBin, "trace", addr(db2.IP), "--router-netns", n1.RouterNetns, "--vtysh", l3.FRRInstall().Vtysh).CombinedOutput()
			vx := plan.VXLANName(uint32(db2.VNI))
			if l3.SingleVXLAN {
				vx = plan.SVDVXLAN
			}
			if err != nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), fmt.Sprintf("programmed: %s → %s", vx, n2.VTEP)) {
				return fmt.Errorf("%v, want %q and programmed:\n%s", err, want, out)
			}
			return nil
		})
	})
	t.Run("GoBGPReceivesRoutedRoutes", func(t *testing.T) {
		// GoBGP (see TestGoBGPInterop) receives the type-5 routes of both tenants and the
		// routed type-2 routes with the L3VNI label, the tenant's route target and the
		// node's router MAC.
		t.Cleanup(func() {
			if err := lab.StopGoBGP(context.Background(), l3); err != nil {
				t.Errorf("remove GoBGP: %v", err)
			}
		})
		if err := lab.StartGoBGP(ctx, l3); err != nil {
			t.Fatal(err)
		}
		if err := lab.CheckGoBGPReceives(ctx, l3); err != nil {
			t.Fatal(err)
		}
		routes, err := lab.GoBGPRoutes(ctx, l3)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range l3.Nodes {
			found := slices.ContainsFunc(routes, func(r lab.EVPNRoute) bool {
				return r.Type == 5 && r.Prefix == "192.168.110.0/24" && r.NextHop == n.VTEP && r.RouterMAC != ""
			})
			if !found {
				t.Errorf("GoBGP has no type-5 route of 192.168.110.0/24 from %s with a router MAC: %v", n.VTEP, routes)
			}
		}
	})
	t.Run("TenantsAreIsolated", func(t *testing.T) {
		if err := lab.CheckIsolation(ctx, l3); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RouteTargetsDecideWhatCrosses", func(t *testing.T) {
		if err := lab.CheckRouteTargetLeak(ctx, l3, web1); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RoutedTrafficFollowsMigration", func(t *testing.T) { testRoutedMigration(t, l3, web1, db2) })
	t.Run("IdleWorkloadStaysReachable", func(t *testing.T) { testIdleWorkloadStaysReachable(t, l3, web1) })
}

// TestCLI drives `weft lab` as a user would: up, status -o json, exec, probe, migrate, down.
// Long: one user session, command after command.
func TestCLI(t *testing.T) {
	weft := func(args ...string) string {
		t.Helper()
		argv := append([]string{"lab", "--name", cliLabName}, args...)
		if args[0] == "up" {
			argv = append(argv, "--agent-bin", agentBin)
		}
		cmd := exec.Command(weftBin, argv...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("weft lab %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	t.Cleanup(func() {
		_ = exec.Command(weftBin, "lab", "down", "--name", cliLabName).Run()
	})
	weft("up", "--nodes", "3", "--l3=false")
	if out, err := exec.Command(weftBin, "lab", "up", "--name", cliLabName, "--agent-bin", agentBin, "--l3=false").CombinedOutput(); err == nil {
		t.Errorf("a second up of a running lab must fail:\n%s", out)
	} else if !strings.Contains(string(out), "already running") {
		t.Errorf("second up: want 'already running', got:\n%s", out)
	}

	var s struct {
		Name  string
		Nodes []struct {
			Name, Netns, RouterNetns, VTEP string
		}
		Workloads []struct {
			Name, Netns, Node, IP, MAC string
			VNI                        int
		}
		External []struct{ Name, Netns, IP string }
	}
	if err := json.Unmarshal([]byte(weft("status", "-o", "json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Name != cliLabName || len(s.Nodes) != 3 || len(s.Workloads) != 3 {
		t.Fatalf("status: want lab %s with 3 nodes and 3 workloads, got %+v", cliLabName, s)
	}
	for _, n := range s.Nodes {
		if n.Name == "" || n.Netns == "" || n.VTEP == "" {
			t.Errorf("status: incomplete node %+v", n)
		}
	}
	// `weft status`, the node-side CLI, asks node1's agent from inside the node's namespace.
	node1 := s.Nodes[0]
	status, err := exec.Command(weftBin, "status", "--netns", node1.Netns).CombinedOutput()
	if err != nil {
		t.Errorf("weft status --netns %s: %v\n%s", node1.Netns, err, status)
	}
	for _, want := range []string{"node node1: pass ", ": converged", "STATE (now)", "default  10.0.1.0  Established"} {
		if !strings.Contains(string(status), want) {
			t.Errorf("weft status --netns %s lacks %q:\n%s", node1.Netns, want, status)
		}
	}
	for _, want := range []string{`(?m)^Underlay/weft-system/node1 +applied`, `(?m)^L2VNI/weft-system/web +applied`} {
		if !regexp.MustCompile(want).Match(status) {
			t.Errorf("weft status --netns %s lacks a line matching %s:\n%s", node1.Netns, want, status)
		}
	}
	web1 := s.Workloads[0]
	if web1.Name != "web1" || web1.VNI != 110 || web1.MAC == "" || web1.Node != "node1" {
		t.Fatalf("status: unexpected first workload %+v", web1)
	}
	if out := weft("exec", "web1", "--", "ip", "-br", "link", "show", "eth0"); !strings.Contains(strings.ToLower(out), web1.MAC) {
		t.Errorf("exec web1 ip link: want MAC %s in:\n%s", web1.MAC, out)
	}
	// vtysh reaches a node's router FRR from the node's name, as a network engineer types it.
	if out := weft("exec", "node1", "--", "vtysh", "-c", "show bgp l2vpn evpn summary"); !strings.Contains(out, "BGP router identifier "+node1.VTEP) || !strings.Contains(out, "10.0.1.0") {
		t.Errorf("exec node1 vtysh: want node1's EVPN summary (router ID %s) with its leaf 10.0.1.0:\n%s", node1.VTEP, out)
	}
	ip := addr(web1.IP)
	if out := weft("probe", "--from", "web2", "--to", ip, "--interval", "10ms", "--duration", "1s"); !strings.Contains(out, "sent 100, lost 0") {
		t.Errorf("probe: want 100 sent and none lost:\n%s", out)
	}
	out := weft("migrate", "web1", "--to", "node2")
	if !strings.Contains(out, "node1 → node2") || !strings.Contains(out, "longest outage") {
		t.Errorf("migrate: unexpected output:\n%s", out)
	}
	t.Logf("weft lab migrate: %s", strings.TrimSpace(out))
	if err := json.Unmarshal([]byte(weft("status", "-o", "json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Workloads[0].Node != "node2" {
		t.Errorf("status after migrate: web1 on %s, want node2", s.Workloads[0].Node)
	}
	// `weft trace` on node1: web2 (on node2) is behind node2's VTEP and programmed; once the
	// VXLAN device's entry is gone (zebra does not put it back) the trace says so, exit 2.
	web2 := s.Workloads[1]
	trace := func() (string, int) {
		t.Helper()
		out, err := exec.Command(weftBin, "trace", web2.MAC, "--router-netns", node1.RouterNetns, "--vtysh", st.FRRInstall().Vtysh).CombinedOutput()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee):
			return string(out), ee.ExitCode()
		}
		t.Fatalf("weft trace: %v", err)
		return "", 0
	}
	want := fmt.Sprintf("VNI 110: remote, behind VTEP %s (sequence 0); programmed: vni110 → %s", s.Nodes[1].VTEP, s.Nodes[1].VTEP)
	poll(t, 10*time.Second, "weft trace of web2 on node1", func() error {
		if out, code := trace(); code != 0 || !strings.Contains(out, want) {
			return fmt.Errorf("weft trace %s on node1: exit %d, want 0 and %q:\n%s", web2.MAC, code, want, out)
		}
		return nil
	})
	if out, err := exec.Command("bridge", "-n", node1.RouterNetns, "fdb", "del", web2.MAC, "dev", "vni110", "dst", s.Nodes[1].VTEP, "self").CombinedOutput(); err != nil {
		t.Fatalf("bridge fdb del: %v\n%s", err, out)
	}
	poll(t, 10*time.Second, "weft trace of web2 after deleting the VXLAN entry", func() error {
		if out, code := trace(); code != 2 || !strings.Contains(out, "NOT programmed: vni110 has no entry towards "+s.Nodes[1].VTEP) {
			return fmt.Errorf("exit %d, want 2 and NOT programmed:\n%s", code, out)
		}
		return nil
	})
	weft("down")
	nsList, _ := exec.Command("ip", "netns", "list").Output()
	if strings.Contains(string(nsList), cliLabName+"-") {
		t.Errorf("namespaces left after down:\n%s", nsList)
	}
	if _, err := os.Stat(lab.Dir(cliLabName)); !os.IsNotExist(err) {
		t.Errorf("lab directory left after down: %v", err)
	}
}
