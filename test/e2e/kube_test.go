package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/frrproc"
	"github.com/weftnet/weft/internal/lab"
)

// TestKubernetesMode runs the lab as a cluster (weft lab up --kubernetes): a real API server,
// weft-controller allocating node indexes and aggregating status, agents in Kubernetes mode.
// Then a user's loop with the real kubectl: apply the objects, read the Applied column, delete
// the L2VNI and watch connectivity, devices and status go, apply again and get it all back.
// Long: one cluster's life, step by step.
func TestKubernetesMode(t *testing.T) {
	assets := kubeAssets(t)
	kubectlBin := filepath.Join(assets, "kubectl")
	ctx := context.Background()
	var ks *lab.State
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(lab.LogTails(kubeLabName, 40))
		}
		if err := lab.Down(context.Background(), kubeLabName); err != nil {
			t.Errorf("lab down: %v", err)
		}
		if left := kubeLeftovers(kubeLabName, ks); left != "" {
			t.Errorf("left behind by lab down: %s", left)
		}
	})
	t0 := time.Now()
	ks, err := lab.Up(ctx, lab.Options{
		Name: kubeLabName, Nodes: 2, AgentBinary: agentBin,
		Kubernetes: true, ControllerBinary: controllerBin, KubeAssets: assets,
	})
	if err != nil {
		t.Fatalf("lab up --kubernetes: %v", err)
	}
	t.Logf("lab up --kubernetes in %.1f s (API server %s)", time.Since(t0).Seconds(), ks.Clusters[0].ControlPlane.Server)
	kubeconfig := ks.Clusters[0].Kubeconfig

	kubectl := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
		if err != nil {
			return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return string(out), nil
	}
	mustKubectl := func(args ...string) string {
		t.Helper()
		out, err := kubectl(args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ping := func(from, to string) error {
		w, err := ks.Workload(to)
		if err != nil {
			return err
		}
		_, err = lab.Exec(ctx, ks, from, []string{"ping", "-c", "1", "-W", "1", addr(w.IP)})
		return err
	}
	pingBothWays := func(what string) {
		t.Helper()
		poll(t, 30*time.Second, what, func() error {
			if err := ping("web1", "web2"); err != nil {
				return err
			}
			return ping("web2", "web1")
		})
	}

	// The controller gave the nodes their indexes: distinct, and the agents use them.
	seen := map[string]bool{}
	for _, n := range ks.Nodes {
		idx := mustKubectl("get", "node", n.Name, "-o", `jsonpath={.metadata.annotations.network\.weft\.dev/node-index}`)
		if idx == "" || seen[idx] || idx != fmt.Sprint(n.Index) {
			t.Fatalf("node %s: index annotation %q (state says %d, seen %v)", n.Name, idx, n.Index, seen)
		}
		seen[idx] = true
	}
	w1, w2 := workload2(t, ks, "web1"), workload2(t, ks, "web2")
	if w1.Node == w2.Node {
		t.Fatalf("web1 and web2 must be on different nodes")
	}
	pingBothWays("web1 ↔ web2 across nodes")

	// `kubectl apply -f examples/`, as a user of the lab would: the examples are the objects
	// of a lab of lab.DefaultNodes nodes (TestExamplesAreTheLabsObjects), so on this lab the
	// objects it applied stay as they are and node3's Underlay selects no node.
	examples := filepath.Join("..", "..", "examples")
	// The lab applied its objects as kubectl apply does, so the same objects are unchanged,
	// without warnings.
	out := mustKubectl("apply", "-f", examples)
	for _, want := range []string{"l2vni.network.weft.dev/web unchanged", "underlay.network.weft.dev/node1 unchanged", "underlay.network.weft.dev/node3 created"} {
		if !strings.Contains(out, want) {
			t.Errorf("kubectl apply -f examples/ lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(strings.ToLower(out), "warning") {
		t.Errorf("kubectl apply -f examples/ warns:\n%s", out)
	}
	// The admission webhooks run as in a cluster: a second L2VNI with web's VNI and an
	// invalid field are refused at kubectl apply, naming the field.
	for _, bad := range []struct{ name, spec, want string }{
		{"dup-vni", "vni: 110", "spec.vni: VNI 110 is already used by L2VNI/weft-system/web"},
		{"bad-mtu", "vni: 150\n  mtu: 100", "spec.mtu"},
	} {
		f := filepath.Join(t.TempDir(), bad.name+".yaml")
		doc := "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata:\n  name: " + bad.name + "\n  namespace: weft-system\nspec:\n  " + bad.spec + "\n"
		if err := os.WriteFile(f, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := kubectl("apply", "-f", f)
		if err == nil || !strings.Contains(out, bad.want) {
			t.Errorf("kubectl apply of L2VNI %s: want refused with %q, got err=%v:\n%s", bad.name, bad.want, err, out)
		}
	}
	poll(t, 30*time.Second, "Underlay node3 says it selects no node", func() error {
		out, err := kubectl("get", "underlay", "node3", "-o", `jsonpath={.status.conditions[?(@.type=="Applied")].status} {.status.conditions[?(@.type=="Applied")].reason}`)
		if err == nil && out != "False NoNodesSelected" {
			err = fmt.Errorf("Applied condition of Underlay node3: %q", out)
		}
		return err
	})
	pingBothWays("web1 ↔ web2 after kubectl apply -f examples/")
	// (The production fabric's examples describe another fabric: the webhooks refuse them
	// here; their schemas are checked by internal/testenv's TestExamplesAcceptedBySchema.)

	applied := regexp.MustCompile(`(?m)^web\s+110\s+True\s+applied on 2/2 nodes\b`)
	appliedRow := func() error {
		out, err := kubectl("get", "l2vni", "-o", "wide")
		if err != nil {
			return err
		}
		if !applied.MatchString(out) {
			return fmt.Errorf("no Applied=True row for web:\n%s", out)
		}
		return nil
	}
	poll(t, 30*time.Second, "kubectl get l2vni -o wide shows Applied True", appliedRow)
	cond := mustKubectl("get", "l2vni", "web", "-o", `jsonpath={.status.conditions[?(@.type=="Applied")].reason} {.status.conditions[?(@.type=="Applied")].observedGeneration} {.metadata.generation}`)
	if f := strings.Fields(cond); len(f) != 3 || f[0] != "Applied" || f[1] != f[2] {
		t.Errorf("Applied condition of web: reason, observedGeneration, generation = %q", cond)
	}
	// The CLI's view of the same lab.
	if out, err := exec.Command(weftBin, "lab", "status", "--name", kubeLabName).CombinedOutput(); err != nil || !strings.Contains(string(out), kubeconfig) {
		t.Errorf("weft lab status does not show the kubeconfig %s (err %v):\n%s", kubeconfig, err, out)
	}
	if out, err := exec.Command(weftBin, "lab", "kubectl", "--name", kubeLabName, "--", "get", "routernodestatus").CombinedOutput(); err != nil ||
		!regexp.MustCompile(`(?m)^node1\s+True\s+False`).Match(out) || !regexp.MustCompile(`(?m)^node2\s+True\s+False`).Match(out) {
		t.Errorf("weft lab kubectl get routernodestatus: want node1 and node2 Ready (err %v):\n%s", err, out)
	}

	t1 := time.Now()
	mustKubectl("delete", "l2vni", "web")
	if err := lab.CheckVNIRemoved(ctx, ks, 110); err != nil {
		t.Fatalf("devices of VNI 110: %v", err)
	}
	poll(t, 10*time.Second, "web1 no longer reaches web2", func() error {
		if ping("web1", "web2") == nil {
			return fmt.Errorf("web1 still reaches web2")
		}
		return nil
	})
	poll(t, 30*time.Second, "node reports no longer list L2VNI web", func() error {
		for _, n := range ks.Nodes {
			out, err := kubectl("get", "routernodestatus", n.Name, "-o", "json")
			if err != nil {
				return err
			}
			var rns struct {
				Status struct {
					AppliedResources []struct{ Kind, Name string }
					AppliedVNIs      []int64
				}
			}
			if err := json.Unmarshal([]byte(out), &rns); err != nil {
				return err
			}
			for _, a := range rns.Status.AppliedResources {
				if a.Kind == "L2VNI" && a.Name == "web" {
					return fmt.Errorf("RouterNodeStatus %s still lists L2VNI web: %s", n.Name, out)
				}
			}
			if slices.Contains(rns.Status.AppliedVNIs, 110) {
				return fmt.Errorf("RouterNodeStatus %s still lists VNI 110: %s", n.Name, out)
			}
			var report struct{ Applied []struct{ Kind, Name string } }
			raw, err := agentStatus(ctx, ks, n.Name, &report)
			if err != nil {
				return err
			}
			for _, a := range report.Applied {
				if a.Kind == "L2VNI" && a.Name == "web" {
					return fmt.Errorf("agent of %s still reports L2VNI web applied: %s", n.Name, raw)
				}
			}
		}
		return nil
	})
	if out := mustKubectl("get", "l2vni"); strings.Contains(out, "web") {
		t.Errorf("kubectl get l2vni after the delete:\n%s", out)
	}
	t.Logf("kubectl delete l2vni web → devices, connectivity and status gone in %.1f s", time.Since(t1).Seconds())

	t2 := time.Now()
	mustKubectl("apply", "-f", examples)
	for _, w := range ks.Workloads {
		// The bridge came back empty: plug the workload in again, as a CNI plugin would.
		poll(t, 30*time.Second, "host bridge back for "+w.Name, func() error { return lab.Reattach(ctx, ks, w.Name) })
	}
	pingBothWays("web1 ↔ web2 after applying the L2VNI again")
	poll(t, 30*time.Second, "Applied True again", appliedRow)
	t.Logf("kubectl apply → connectivity and Applied=True back in %.1f s", time.Since(t2).Seconds())
}

func workload2(t *testing.T, s *lab.State, name string) *lab.Workload {
	t.Helper()
	w, err := s.Workload(name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// kubeAssets is the directory of kube-apiserver, etcd and kubectl ($KUBEBUILDER_ASSETS); the
// test is skipped without them, and fails in CI.
func kubeAssets(t *testing.T) string {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if _, err := os.Stat(filepath.Join(assets, "kubectl")); assets == "" || err != nil {
		reason := fmt.Sprintf("KUBEBUILDER_ASSETS=%q has no kube-apiserver, etcd and kubectl (make test sets it; hack/envtest-assets.sh prints it)", assets)
		if os.Getenv("CI") != "" {
			t.Fatal(reason)
		}
		t.Skip(reason)
	}
	return assets
}

// kubeLeftovers lists what of the Kubernetes-mode lab name outlived lab.Down: namespaces,
// host links, its directory and every cluster's control plane processes.
func kubeLeftovers(name string, s *lab.State) string {
	var left []string
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, name+"-") {
			left = append(left, "netns "+strings.Fields(l)[0])
		}
	}
	out, _ = exec.Command("ip", "-br", "link").Output()
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, name+"-") {
			left = append(left, "link "+strings.Fields(l)[0])
		}
	}
	if _, err := os.Stat(lab.Dir(name)); !os.IsNotExist(err) {
		left = append(left, "directory "+lab.Dir(name))
	}
	if s != nil {
		for _, c := range s.Clusters {
			if c.ControlPlane == nil {
				continue
			}
			for daemon, pid := range map[string]int{"etcd": c.ControlPlane.EtcdPID, "kube-apiserver": c.ControlPlane.APIServerPID, "weft-controller": c.ControlPlane.ControllerPID} {
				if pid > 0 && frrproc.Alive(pid) {
					left = append(left, fmt.Sprintf("%s of cluster %s (pid %d)", daemon, c.Name, pid))
				}
			}
		}
		for _, n := range s.Nodes {
			if n.AgentPID > 0 && frrproc.Alive(n.AgentPID) {
				left = append(left, fmt.Sprintf("agent of %s (pid %d)", n.Name, n.AgentPID))
			}
		}
	}
	return strings.Join(left, ", ")
}
