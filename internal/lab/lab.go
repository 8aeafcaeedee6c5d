// Package lab builds a real EVPN fabric in network namespaces on one Linux machine, with no
// containers: an FRR route reflector acting as the top-of-rack, weft nodes (a host namespace
// and a router namespace each, with FRR driven by a weft-agent in host mode) and workloads
// (namespaces standing in for pods and VMs) on the nodes' host bridges. The README's demo
// and the end-to-end tests run on it.
package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/frrproc"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// StateRoot holds one directory per running lab: its state file, agent configs and logs.
const StateRoot = "/run/weft-lab"

// Fabric addressing: the spine's loopback and ASN, the point-to-point links from the leaves
// to the nodes (10.0.<i>.0/31 on node i's leaf, .1 on node i), from the spine to the leaves
// (10.1.<j>.0/31 on the spine, .1 on leaf j; leafLo is a leaf's loopback). The VTEP networks
// the agents take their addresses from are one per cluster (clusterVTEPCIDR).
const (
	fabricASN  = 65000
	spineLo    = "10.255.0.1"
	agentPort  = 9489
	spineName  = "spine"
	uplinkName = "eth1"
	// leafCount is the number of racks, each with its top-of-rack router (see rackOf).
	leafCount = 2
)

// frrLog is the FRR log of the lab's router name (spine, leafN), in the lab's directory.
func frrLog(lab, router string) string { return filepath.Join(Dir(lab), router+"-frr.log") }

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9]{0,5}$`)

// Options shape a lab.
type Options struct {
	Name  string
	Nodes int
	// AgentBinary is the weft-agent executable the nodes run.
	AgentBinary string
	// L3 adds the routed parts: tenant VRFs red and blue (L3VNIs), L2VNIs routed by them
	// with anycast gateways, external hosts behind the spine and a BGP speaker on the first
	// node's host. It needs a kernel with VRF (see hostnet.HasVRF).
	L3 bool
	// Kubernetes runs the lab as a cluster (kube.go): its own API server, weft-controller
	// (ControllerBinary) and agents in Kubernetes mode. KubeAssets is the directory with
	// kube-apiserver, etcd and kubectl (KUBEBUILDER_ASSETS, see hack/envtest-assets.sh).
	Kubernetes       bool
	ControllerBinary string
	KubeAssets       string
	// Fabric is the fabric's shape (Fabrics; empty means FabricIBGPRR).
	Fabric string
	// WithoutBFD leaves BFD out of the dual-tor fabric, leaves and nodes alike: the hold
	// timer's failover, the contrast of BenchmarkDualToRFailover.
	WithoutBFD bool
	// Clusters splits the nodes into independent clusters on the one fabric, one per rack
	// (0 means 1): each has its own control plane (host mode: its nodes' config directories;
	// Kubernetes mode: its own API server and controller), numbers its nodes from index 0
	// and takes its VTEPs from a network of its own.
	Clusters int
	// KernelLayout is the agents' --kernel-layout (plan.LayoutAuto when empty: the
	// single-VXLAN-device layout where the kernel can build it, as in user-mode-linux; this
	// machine's kernel cannot). plan.LayoutSingleVXLAN needs FRR 10 and such a kernel.
	KernelLayout string
	// GoBGP adds GoBGP to the fabric once it has converged (StartGoBGP): a second EVPN
	// implementation, as a leaf of another vendor would be.
	GoBGP bool
}

// State is what `weft lab status -o json` prints and what `down` reads.
type State struct {
	Name      string     `json:"name"`
	Nodes     []Node     `json:"nodes"`
	Workloads []Workload `json:"workloads"`
	External  []External `json:"external"`
	// Spine is the route reflector's namespace.
	Spine string `json:"spine"`
	// Leaves are the top-of-rack routers the nodes peer with.
	Leaves []Leaf `json:"leaves"`
	// L3 says whether the lab has the routed parts (Options.L3).
	L3 bool `json:"l3"`
	// Kubernetes says whether the lab runs in Kubernetes mode (Options.Kubernetes); each
	// cluster has its control plane then.
	Kubernetes bool `json:"kubernetes"`
	// Clusters are the lab's independent sets of nodes (Options.Clusters), c1 first.
	Clusters []Cluster `json:"clusters"`
	// FRR is the FRR installation the lab runs (frrinstall.Select at weft lab up).
	FRR frrinstall.Install `json:"frr"`
	// Fabric is the fabric's shape (Options.Fabric); WithoutBFD is Options.WithoutBFD.
	Fabric     string `json:"fabric"`
	WithoutBFD bool   `json:"withoutBFD,omitempty"`
	// GoBGP says whether GoBGP is in the fabric (Options.GoBGP, StartGoBGP).
	GoBGP bool `json:"gobgp,omitempty"`
	// KernelLayout is the agents' --kernel-layout (Options.KernelLayout); SingleVXLAN says
	// whether they run the single-VXLAN-device layout.
	KernelLayout string `json:"kernelLayout,omitempty"`
	SingleVXLAN  bool   `json:"singleVXLAN,omitempty"`
}

// Cluster is one set of the lab's nodes under one control plane.
type Cluster struct {
	Name string `json:"name"`
	// VTEPCIDR is the network its nodes' VTEP addresses (and router IDs) come from, by node
	// index (Underlay.spec.tunnelEndpoint). Every cluster numbers its nodes from 0, so two
	// clusters on one fabric need networks that do not overlap (VTEPConflicts).
	VTEPCIDR string `json:"vtepCIDR"`
	// Nodes are its nodes' names; Workloads those of the workloads on them now (save keeps
	// it in step with migrations).
	Nodes     []string `json:"nodes"`
	Workloads []string `json:"workloads"`
	// Kubeconfig is the admin kubeconfig of its API server, in Kubernetes mode.
	Kubeconfig   string        `json:"kubeconfig,omitempty"`
	ControlPlane *ControlPlane `json:"controlPlane,omitempty"`
}

// Leaf is a top-of-rack router: an FRR route reflector for the nodes of its rack and a client
// of the spine.
type Leaf struct {
	Name  string `json:"name"`
	Netns string `json:"netns"`
}

// Node is one weft node of the lab.
type Node struct {
	Name string `json:"name"`
	// Netns is the node's host namespace; RouterNetns the router namespace weft programs.
	Netns       string `json:"netns"`
	RouterNetns string `json:"routerNetns"`
	VTEP        string `json:"vtep"`
	Index       int    `json:"index"`
	AgentPID    int    `json:"agentPID"`
	ConfigDir   string `json:"configDir"`
	// Leaf names the node's top-of-rack router; Link numbers its uplink (10.0.<Link>.1/31 on
	// the node, .0 on the leaf). Link is the node's position, fixed by the lab; Index is the
	// node index, which in Kubernetes mode the controller allocates and may order otherwise.
	Leaf string `json:"leaf"`
	Link int    `json:"link"`
	// Leaf2 names the leaf of the node's second uplink (eth2, 10.2.<Link>.1/31), dual-tor only.
	Leaf2 string `json:"leaf2,omitempty"`
	// Cluster names the node's cluster: its index and VTEP are that cluster's.
	Cluster string `json:"cluster"`
}

// Workload is a namespace standing in for a pod or VM, attached to a node's host bridge.
type Workload struct {
	Name  string `json:"name"`
	Netns string `json:"netns"`
	Node  string `json:"node"`
	VNI   int    `json:"vni"`
	IP    string `json:"ip"`
	MAC   string `json:"mac"`
	// Gateway is the workload's default gateway (its L2VNI's anycast gateway), if routed.
	Gateway string `json:"gateway,omitempty"`
	// Port is the workload veth's end on the node (enslaved to the host bridge).
	Port string `json:"port"`
}

// External is a host outside the cluster, behind the fabric.
type External struct {
	Name  string `json:"name"`
	Netns string `json:"netns"`
	IP    string `json:"ip"`
	// VRF is the tenant whose network the host is on.
	VRF string `json:"vrf"`
}

// Dir is the state directory of lab name.
func Dir(name string) string { return filepath.Join(StateRoot, name) }

func statePath(name string) string { return filepath.Join(Dir(name), "state.json") }

// CheckName rejects a lab name that cannot be one: it prefixes namespace and link names and
// names the lab's directory, so it must never be empty, a path or too long.
func CheckName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("lab name %q must match %s (it prefixes interface and namespace names)", name, namePattern)
	}
	return nil
}

// Load reads the state of a running lab.
func Load(name string) (*State, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(statePath(name))
	if errors.Is(err, os.ErrNotExist) {
		if running := Running(); len(running) > 0 {
			return nil, fmt.Errorf("no lab named %q is running; running: %s (--name NAME)", name, strings.Join(running, ", "))
		}
		return nil, fmt.Errorf("no lab named %q is running (none is; weft lab up starts one)", name)
	}
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("read lab state: %w", err)
	}
	return &s, nil
}

// Running lists the names of the labs that are running (those with a state file).
func Running() []string {
	paths, _ := filepath.Glob(filepath.Join(StateRoot, "*", "state.json"))
	var out []string
	for _, p := range paths {
		if name := filepath.Base(filepath.Dir(p)); CheckName(name) == nil {
			out = append(out, name)
		}
	}
	return out
}

func (s *State) save() error {
	s.listClusterWorkloads()
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(s.Name) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(s.Name))
}

func (s *State) ns(suffix string) string { return s.Name + "-" + suffix }

// DefaultNodes is the lab's size unless told otherwise; examples/ holds the objects of a
// Kubernetes lab of this size.
const DefaultNodes = 3

// Up builds the lab. It refuses to touch a lab of the same name that is running; on failure
// it removes what it created.
func Up(ctx context.Context, o Options) (st *State, err error) {
	if err := CheckName(o.Name); err != nil {
		return nil, err
	}
	if o.Nodes < minNodes || o.Nodes > maxNodes {
		return nil, fmt.Errorf("--nodes %d: must be %d..%d", o.Nodes, minNodes, maxNodes)
	}
	if o.Clusters == 0 {
		o.Clusters = 1
	}
	if o.Fabric == "" {
		o.Fabric = FabricIBGPRR
	}
	if !slices.Contains(Fabrics, o.Fabric) {
		return nil, fmt.Errorf("--fabric %q: must be one of %s", o.Fabric, strings.Join(Fabrics, ", "))
	}
	if o.L3 && (o.Fabric == FabricEBGPUnnumbered || o.Fabric == FabricIPv6) {
		return nil, fmt.Errorf("--fabric %s has no routed parts yet (its spine is no border VTEP): run it without --l3", o.Fabric)
	}
	if o.GoBGP {
		if err := checkGoBGPFabric(o.Fabric); err != nil {
			return nil, fmt.Errorf("--gobgp: %w", err)
		}
	}
	if o.Clusters < 1 || o.Clusters > maxClusters {
		return nil, fmt.Errorf("--clusters %d: must be 1..%d (one cluster per rack)", o.Clusters, maxClusters)
	}
	if _, err := os.Stat(statePath(o.Name)); err == nil {
		return nil, fmt.Errorf("lab %q is already running (weft lab down --name %s first)", o.Name, o.Name)
	}
	if left := leftovers(ctx, o.Name); len(left) > 0 {
		return nil, fmt.Errorf("namespaces of lab %q exist (%s); weft lab down --name %s removes them", o.Name, strings.Join(left, " "), o.Name)
	}
	inst, err := frrinstall.Select()
	if err != nil {
		return nil, err
	}
	if o.Fabric == FabricIPv6 && inst.Major < 10 {
		// weft would refuse the IPv6-only VTEPs on every node (plan: FRR ≥ 10.6).
		return nil, fmt.Errorf("--fabric %s needs FRR 10.6 or later (EVPN over an IPv6 underlay); the lab runs %s", o.Fabric, inst)
	}
	if _, err := os.Stat(o.AgentBinary); err != nil {
		return nil, fmt.Errorf("weft-agent binary: %w", err)
	}
	if o.Kubernetes {
		if err := checkKubeOptions(o); err != nil {
			return nil, err
		}
	}
	single, err := plan.WantsSingleVXLAN(o.KernelLayout, hostnet.HasSingleVXLAN())
	if err != nil {
		return nil, fmt.Errorf("--kernel-layout %w", err)
	}
	if o.KernelLayout == plan.LayoutSingleVXLAN && inst.Major < 9 {
		return nil, fmt.Errorf("--kernel-layout %s needs FRR 9 or later (zebra's single-VXLAN-device support); the lab runs %s", o.KernelLayout, inst)
	}
	if o.L3 && !hostnet.HasVRF() {
		return nil, errors.New("the L3 lab needs VRF devices, which this kernel lacks; `weft lab demo` runs the L3 part inside user-mode-linux")
	}
	if err := os.MkdirAll(Dir(o.Name), 0o755); err != nil {
		return nil, err
	}
	st = newState(o, inst)
	st.SingleVXLAN = single && inst.Major >= 9
	defer func() {
		if err != nil {
			// The logs go with the lab's directory: keep their ends in the error.
			err = fmt.Errorf("%w%s", err, LogTails(o.Name, 15))
			_ = st.save()
			_ = Down(context.Background(), o.Name)
		}
	}()
	if err := st.buildFabric(ctx, o); err != nil {
		return st, err
	}
	if o.GoBGP {
		if err := StartGoBGP(ctx, st); err != nil {
			return st, err
		}
	}
	if err := st.save(); err != nil {
		return st, err
	}
	return st, nil
}

// buildFabric creates the fabric: namespaces, links and addresses from topology.go, the
// routers' FRR, then the nodes' namespaces, FRR and agents. It is long because it is the
// lab's construction order, read top to bottom; what it computes is in topology.go.
func (s *State) buildFabric(ctx context.Context, o Options) error {
	if err := addNS(ctx, s.Spine); err != nil {
		return err
	}
	if err := ip(ctx, s.linkAddrs([][]string{{"-n", s.Spine, "addr", "add", spineLo + "/32", "dev", "lo"}})[0]...); err != nil {
		return err
	}
	if _, err := inNS(ctx, s.Spine, append([]string{"sysctl", "-qw"}, s.forwarding()...)...); err != nil {
		return err
	}
	// The leaves: a /31 uplink each to the spine (10.1.J.0 spine side, .1 leaf side).
	for j, l := range s.plannedLeaves() {
		if err := addNS(ctx, l.Netns); err != nil {
			return err
		}
		s.Leaves = append(s.Leaves, l)
		if err := s.save(); err != nil {
			return err
		}
		for _, args := range s.leafLinkArgs(j+1, l) {
			if err := ip(ctx, args...); err != nil {
				return err
			}
		}
		if _, err := inNS(ctx, l.Netns, append([]string{"sysctl", "-qw"}, s.forwarding()...)...); err != nil {
			return err
		}
	}
	s.Clusters = s.plannedClusters(o.Nodes, o.Clusters)
	for _, n := range s.plannedNodes(o.Nodes, o.Clusters) {
		leaf := s.leaf(n.Leaf)
		if leaf == nil {
			return fmt.Errorf("node %s: lab %s has no leaf %q", n.Name, s.Name, n.Leaf)
		}
		for _, ns := range []string{n.Netns, n.RouterNetns} {
			if err := addNS(ctx, ns); err != nil {
				return err
			}
		}
		for _, args := range s.nodeLinkArgs(n, leaf.Netns) {
			if err := ip(ctx, args...); err != nil {
				return err
			}
		}
		if n.Leaf2 != "" {
			leaf2 := s.leaf(n.Leaf2)
			if leaf2 == nil {
				return fmt.Errorf("node %s: lab %s has no leaf %q", n.Name, s.Name, n.Leaf2)
			}
			for _, args := range nodeLink2Args(n, leaf2.Netns) {
				if err := ip(ctx, args...); err != nil {
					return err
				}
			}
		}
		s.Nodes = append(s.Nodes, n)
	}
	if err := s.save(); err != nil {
		return err
	}
	if o.Kubernetes {
		if err := s.startKubernetes(ctx, o); err != nil {
			return err
		}
	}
	files := map[string]map[string]string{}
	for _, c := range s.Clusters {
		files[c.Name] = s.clusterFiles(c)
	}
	if s.L3 {
		if err := s.buildBorder(ctx); err != nil {
			return err
		}
	}
	for _, r := range s.fabricRouters() {
		if err := s.startRouter(ctx, r.name, r.netns, r.config); err != nil {
			return err
		}
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if err := startFRR(ctx, s.frr(), n.RouterNetns, "", nodeDaemons(s.frr())); err != nil {
			return err
		}
		if !s.Kubernetes {
			if err := os.MkdirAll(n.ConfigDir, 0o755); err != nil {
				return err
			}
			if err := writeFiles(n.ConfigDir, files[n.Cluster]); err != nil {
				return err
			}
		}
		pid, err := startAgent(o.AgentBinary, s, n)
		if err != nil {
			return err
		}
		n.AgentPID = pid
		if err := s.save(); err != nil {
			return err
		}
	}
	for i := range s.Nodes {
		if err := s.waitFirstPass(ctx, &s.Nodes[i]); err != nil {
			return err
		}
	}
	for _, w := range s.plannedWorkloads() {
		n, err := s.Node(w.Node)
		if err != nil {
			return err
		}
		if err := s.attach(ctx, &w, n); err != nil {
			return err
		}
		s.Workloads = append(s.Workloads, w)
		if err := s.save(); err != nil {
			return err
		}
	}
	if s.L3 {
		if err := s.startHostSpeaker(ctx, &s.Nodes[0]); err != nil {
			return err
		}
	}
	return s.waitConverged(ctx)
}

// startRouter starts the FRR of one of the lab's fabric routers with its log file in the
// lab's directory (FRR's daemons run as user frr: the file must be theirs first).
func (s *State) startRouter(ctx context.Context, name, ns, config string) error {
	logFile := frrLog(s.Name, name)
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		return err
	}
	if err := frrproc.Chown(logFile); err != nil {
		return err
	}
	return startFRR(ctx, s.frr(), ns, config, s.routerDaemons())
}

// waitConverged waits until every node has established its session to its leaf and every
// workload can reach the first one.
func (s *State) waitConverged(ctx context.Context) error {
	for i := range s.Nodes {
		if err := s.waitSession(ctx, &s.Nodes[i], 60*time.Second); err != nil {
			return err
		}
	}
	if err := s.waitSpineSessions(ctx, 60*time.Second); err != nil {
		return err
	}
	if s.L3 {
		if err := s.waitHostSession(ctx, &s.Nodes[0], 60*time.Second); err != nil {
			return err
		}
	}
	if err := s.waitVTEPs(ctx, 60*time.Second); err != nil {
		return err
	}
	first := s.Workloads[0]
	for _, w := range s.Workloads[1:] {
		if w.VNI != first.VNI {
			continue
		}
		if err := poll(ctx, 30*time.Second, func() error {
			_, err := inNS(ctx, w.Netns, "ping", "-c1", "-W1", strings.Split(first.IP, "/")[0])
			return err
		}); err != nil {
			return fmt.Errorf("workload %s cannot reach %s: %w", w.Name, first.Name, err)
		}
	}
	return nil
}

// firstPassTimeout bounds the wait for an agent's first reconcile pass, which includes
// starting FRR's configuration from nothing: about 1.3 s natively and 17.5 s in an idle
// user-mode-linux guest, where it has taken over 30 s on a busy machine (poll makes this
// guestSlowdown times longer there).
const firstPassTimeout = time.Minute

func addNS(ctx context.Context, ns string) error {
	if err := ip(ctx, "netns", "add", ns); err != nil {
		return err
	}
	return ip(ctx, "-n", ns, "link", "set", "lo", "up")
}

func ensureNS(ctx context.Context, ns string) error {
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil {
		return nil
	}
	return addNS(ctx, ns)
}
