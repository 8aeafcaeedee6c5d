package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/lab"
)

func labCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "lab",
		Short: "A real EVPN fabric in network namespaces on this machine (root, no Docker)",
	}
	cmd.PersistentFlags().StringVar(&name, "name", "lab", "lab name; prefixes every namespace and link it creates")
	cmd.AddCommand(labUpCmd(&name), labDownCmd(&name), labStatusCmd(&name), labExecCmd(&name), labProbeCmd(&name), labMigrateCmd(&name), labDemoCmd(&name), labKubectlCmd(&name), labApplyCmd(&name))
	return cmd
}

func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// agentBinary finds weft-agent next to this executable, then on PATH.
func agentBinary(flagValue string) (string, error) {
	return siblingBinary("weft-agent", flagValue, "--agent-bin")
}

// siblingBinary finds the program name: flagValue if given, else next to this executable
// (make build puts them all in bin/), else on PATH.
func siblingBinary(name, flagValue, flagName string) (string, error) {
	if flagValue != "" {
		return filepath.Abs(flagValue)
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found next to weft nor on PATH (make build puts them in bin/); or pass %s", name, flagName)
	}
	return p, nil
}

// labStart holds the flags that start a lab (weft lab up and weft lab demo).
type labStart struct {
	nodes        int
	clusters     int
	agent        string
	l3           bool
	fabric       string
	gobgp        bool
	kernelLayout string
}

func (s *labStart) flags(cmd *cobra.Command, l3Help string) {
	cmd.Flags().IntVar(&s.nodes, "nodes", lab.DefaultNodes, "number of weft nodes (2..9)")
	cmd.Flags().StringVar(&s.agent, "agent-bin", "", "weft-agent binary (default: next to weft, then PATH)")
	cmd.Flags().BoolVar(&s.l3, "l3", false, l3Help)
	cmd.Flags().StringVar(&s.fabric, "fabric", lab.FabricIBGPRR, "the fabric's shape: "+strings.Join(lab.Fabrics, ", ")+" (see docs/lab.md)")
	cmd.Flags().IntVar(&s.clusters, "clusters", 1, "independent clusters on the one fabric (1..2), one per rack, each with its own control plane, node indexes and VTEP network")
	cmd.Flags().StringVar(&s.kernelLayout, "kernel-layout", "", "the agents' --kernel-layout (auto, per-vni, single-vxlan; default: theirs, auto)")
	cmd.Flags().BoolVar(&s.gobgp, "gobgp", false, "add GoBGP (Debian's gobgpd) to the fabric as a second EVPN implementation, a route-reflector client of the spine (see docs/lab.md)")
}

// runE runs f with a context that a signal cancels and the lab's options from the flags
// (the agent binary found).
func (s *labStart) runE(name *string, f func(ctx context.Context, cmd *cobra.Command, o lab.Options) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		ctx, cancel := signalContext()
		defer cancel()
		bin, err := agentBinary(s.agent)
		if err != nil {
			return err
		}
		return f(ctx, cmd, lab.Options{Name: *name, Nodes: s.nodes, Clusters: s.clusters, Fabric: s.fabric, GoBGP: s.gobgp, KernelLayout: s.kernelLayout, AgentBinary: bin, L3: s.l3})
	}
}

func labUpCmd(name *string) *cobra.Command {
	var start labStart
	var kube bool
	var controller, assets string
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start the lab: spine and leaves (FRR route reflectors), weft nodes with their agents, workloads",
		Args:  cobra.NoArgs,
		RunE: start.runE(name, func(ctx context.Context, cmd *cobra.Command, o lab.Options) error {
			if !cmd.Flags().Changed("l3") {
				o.L3 = hostnet.HasVRF()
				if !o.L3 {
					fmt.Fprintln(cmd.ErrOrStderr(), "this kernel has no VRF devices: starting the layer-2 lab only (weft lab demo runs the L3 part in user-mode-linux)")
				}
			}
			if kube && assets == "" {
				assets = lab.FindKubeAssets()
			}
			o.Kubernetes, o.KubeAssets = kube, assets
			if kube {
				bin, err := siblingBinary("weft-controller", controller, "--controller-bin")
				if err != nil {
					return err
				}
				o.ControllerBinary = bin
			}
			t0 := time.Now()
			st, err := lab.Up(ctx, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab %s is up in %.1f s: %d nodes, %d workloads (weft lab status --name %s)\n",
				st.Name, time.Since(t0).Seconds(), len(st.Nodes), len(st.Workloads), st.Name)
			for _, c := range st.Clusters {
				if len(st.Clusters) > 1 {
					fmt.Fprintf(cmd.OutOrStdout(), "cluster %s: nodes %s, VTEPs from %s\n", c.Name, strings.Join(c.Nodes, ", "), c.VTEPCIDR)
				}
				if st.Kubernetes {
					fmt.Fprintf(cmd.OutOrStdout(), "kubeconfig of %s: %s (weft lab kubectl --name %s%s -- get l2vni -o wide)\n", c.Name, c.Kubeconfig, st.Name, clusterFlag(st, c.Name))
				}
			}
			return nil
		}),
	}
	start.flags(cmd, "add tenant VRFs, external hosts and a host session (default: when the kernel has VRF)")
	cmd.Flags().BoolVar(&kube, "kubernetes", false, "run the lab as a cluster: its own API server, weft-controller, agents in Kubernetes mode")
	cmd.Flags().StringVar(&controller, "controller-bin", "", "weft-controller binary for --kubernetes (default: next to weft, then PATH)")
	cmd.Flags().StringVar(&assets, "kube-assets", "", "directory with kube-apiserver, etcd and kubectl for --kubernetes (default: $KUBEBUILDER_ASSETS, else what hack/envtest-assets.sh cached)")
	return cmd
}

func labDownCmd(name *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every process of the lab and remove its namespaces, links and files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := lab.Down(context.Background(), *name); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab %s is down\n", *name)
			return nil
		},
	}
}

func labStatusCmd(name *string) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the lab's nodes (agent, BGP, config directory), workloads and external hosts",
		Long: `status shows every node of the lab with its agent's last pass, its BGP sessions (as the
agent saw them in that pass) and the config directory its agent reads (host mode: drop YAML
files there, or use weft lab apply), then the workloads and external hosts. When the named
lab is not running, it lists the labs that are.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if output != "table" && output != "json" {
				return fmt.Errorf("--output %q: must be table or json", output)
			}
			st, err := lab.Load(*name)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			health := map[string]lab.NodeHealth{}
			for _, n := range st.Nodes {
				health[n.Name] = lab.Health(cmd.Context(), st, n.Name)
			}
			if output == "json" {
				// The lab's state, and each node's agent, BGP and BFD sessions as they are now.
				return writeJSON(out, struct {
					*lab.State
					Health map[string]lab.NodeHealth `json:"health"`
				}{st, health})
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "LAB\t%s (%s, fabric %s)\n\n", st.Name, st.FRRInstall(), st.Fabric)
			fmt.Fprintln(tw, "NODE\tCLUSTER\tNETNS\tROUTER NETNS\tVTEP\tLEAF\tAGENT\tBGP\tBFD\tCONFIG DIR")
			for _, n := range st.Nodes {
				h := health[n.Name]
				agentState := h.Agent
				if h.Failed > 0 {
					agentState += fmt.Sprintf(", %d failed (weft status --lab %s --node %s)", h.Failed, st.Name, n.Name)
				}
				dir := n.ConfigDir
				if st.Kubernetes {
					dir = "(API server: weft lab kubectl)"
				}
				leaf := n.Leaf
				if n.Leaf2 != "" {
					leaf += "," + n.Leaf2
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Cluster, n.Netns, n.RouterNetns, n.VTEP, leaf, oneLine(agentState), h.BGP, bfdSummary(h.BFDPeers), dir)
			}
			fmt.Fprintln(tw, "\nWORKLOAD\tNETNS\tNODE\tVNI\tIP\tMAC")
			for _, w := range st.Workloads {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", w.Name, w.Netns, w.Node, w.VNI, w.IP, w.MAC)
			}
			if len(st.External) > 0 {
				fmt.Fprintln(tw, "\nEXTERNAL\tNETNS\tVRF\tIP")
				for _, e := range st.External {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Name, e.Netns, e.VRF, e.IP)
				}
			}
			fmt.Fprintln(tw, "\nCLUSTER\tVTEP NETWORK\tNODES\tAPI SERVER\tKUBECONFIG")
			for _, c := range st.Clusters {
				server, kc := "-", "-"
				if c.ControlPlane != nil {
					server, kc = c.ControlPlane.Server, c.Kubeconfig
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, c.VTEPCIDR, strings.Join(c.Nodes, ","), server, kc)
			}
			// Two clusters whose VTEP networks overlap blackhole each other's traffic: say so.
			conflicts, err := lab.VTEPConflicts(cmd.Context(), st)
			if err != nil {
				fmt.Fprintf(tw, "\nVTEP CHECK\tfailed: %s\n", oneLine(err.Error()))
			}
			for _, c := range conflicts {
				fmt.Fprintf(tw, "\nVTEP CONFLICT\t%s\n", c)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

func labExecCmd(name *string) *cobra.Command {
	return &cobra.Command{
		Use:   "exec TARGET -- CMD...",
		Short: "Run a command in a node, router (NODE-rt), workload, external host, leaf (leafN) or the spine",
		Long: `exec runs CMD in TARGET's network namespace. vtysh reaches that target's FRR: for a node
(NODE or NODE-rt) the node's router, for leafN and the spine their own, e.g.
  weft lab exec node1 -- vtysh -c 'show bgp l2vpn evpn summary'`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return fmt.Errorf("give a target and a command: weft lab exec TARGET -- CMD... (targets: weft lab status)")
			case len(args) == 1:
				return fmt.Errorf("give the command after --: weft lab exec %s -- CMD... (e.g. -- vtysh -c 'show bgp summary', -- ip addr)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := lab.Load(*name)
			if err != nil {
				return err
			}
			argv, err := st.ExecArgs(args[0], args[1:])
			if err != nil {
				return err
			}
			c := exec.Command(argv[0], argv[1:]...)
			return runAttached(cmd, c)
		},
	}
}

func labProbeCmd(name *string) *cobra.Command {
	var from, to string
	var interval, duration time.Duration
	cmd := &cobra.Command{
		Use:   "probe --from TARGET --to IP",
		Short: "Probe an IP with ICMP on a strict schedule; print sent, lost and the longest outage",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := lab.Load(*name)
			if err != nil {
				return err
			}
			ns, err := st.Target(from)
			if err != nil {
				return err
			}
			dst, err := netip.ParseAddr(to)
			if err != nil {
				return fmt.Errorf("--to %q: %w", to, err)
			}
			if interval <= 0 || duration < interval {
				return fmt.Errorf("--interval must be positive and --duration at least one interval")
			}
			ctx, cancel := signalContext()
			defer cancel()
			r, err := lab.Probe(ctx, ns, dst, interval, duration)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), r)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "lab target to probe from")
	cmd.Flags().StringVar(&to, "to", "", "IPv4 address to probe")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Millisecond, "time between probes")
	cmd.Flags().DurationVar(&duration, "duration", 5*time.Second, "how long to probe")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func labMigrateCmd(name *string) *cobra.Command {
	var to, announce, pinger string
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "migrate WORKLOAD --to NODE",
		Short: "Move a workload to another node keeping MAC and IP, and print the outage seen from a third node",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := lab.Load(*name)
			if err != nil {
				return err
			}
			ctx, cancel := signalContext()
			defer cancel()
			r, err := lab.MigrateWith(ctx, st, args[0], to, lab.MigrateOptions{Interval: interval, Announce: announce, Pinger: pinger})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "migrated %s %s → %s; probed from %s: %s\n", r.Workload, r.From, r.To, r.Pinger, r.Probe)
			return nil
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "destination node")
	cmd.Flags().DurationVar(&interval, "interval", 10*time.Millisecond, "probe interval")
	cmd.Flags().StringVar(&announce, "announce", lab.AnnounceGARP, "how the workload announces itself on arrival: garp (MAC and IP), rarp (MAC only, as QEMU/KubeVirt) or none (silent)")
	cmd.Flags().StringVar(&pinger, "pinger", "", "who probes during the move: a workload, or an external host (ext-red) for routed traffic through the L3VNI (default: a workload of the segment on a third node)")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func labDemoCmd(name *string) *cobra.Command {
	var start labStart
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Bring a lab up, run scripted checks, print the results table, take it down",
		Args:  cobra.NoArgs,
		RunE: start.runE(name, func(ctx context.Context, cmd *cobra.Command, o lab.Options) error {
			return lab.Demo(ctx, o, cmd.OutOrStdout())
		}),
	}
	start.flags(cmd, "only the lab with tenant VRFs, here (needs a kernel with VRF; without --l3 the demo picks)")
	return cmd
}

func labKubectlCmd(name *string) *cobra.Command {
	var cluster string
	cmd := &cobra.Command{
		Use:   "kubectl [--cluster C] -- ARGS...",
		Short: "Run kubectl against a Kubernetes-mode lab (its kubeconfig, namespace weft-system)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := lab.Load(*name)
			if err != nil {
				return err
			}
			kc, err := st.Kubeconfig(cluster)
			if err != nil {
				return err
			}
			kubectl, err := st.Kubectl()
			if err != nil {
				return err
			}
			c := exec.Command(kubectl, append([]string{"--kubeconfig", kc}, args...)...)
			return runAttached(cmd, c)
		},
	}
	cmd.Flags().StringVar(&cluster, "cluster", "", "the cluster whose API server to reach (needed when the lab has more than one)")
	return cmd
}

// clusterFlag is the --cluster flag that names cluster in a command, when the lab needs it.
func clusterFlag(st *lab.State, cluster string) string {
	if len(st.Clusters) < 2 {
		return ""
	}
	return " --cluster " + cluster
}

// runAttached runs c on the command's terminal and exits with c's exit code.
func runAttached(cmd *cobra.Command, c *exec.Cmd) error {
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, cmd.OutOrStdout(), cmd.ErrOrStderr()
	if err := c.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return &exitError{ee.ExitCode(), fmt.Errorf("")}
		}
		return err
	}
	return nil
}

func labApplyCmd(name *string) *cobra.Command {
	var files, nodes, clusters []string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR [-f ...] [--node NODE]... [--cluster C]...",
		Short: "Put weft objects where the lab's agents read them (host mode: every node's config directory)",
		Long: `apply puts the objects of YAML files (or of the *.yaml, *.yml, *.json files of a
directory) where the lab's agents read them: in host mode a copy of each file in the config
directory of every node (or of the --node ones, or of the --cluster ones' nodes), replacing a
file of the same name; in Kubernetes mode kubectl apply against the API server of every
cluster (or of the --cluster ones). An Underlay whose VTEP or router-ID network overlaps
another cluster's VTEP network is refused, and then nothing is applied. Remove an object by removing its
file from the config directories (weft lab status shows them) or with weft lab kubectl --
delete. What each agent made of it: weft status --lab NAME --node NODE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := lab.Load(*name)
			if err != nil {
				return err
			}
			done, err := lab.Apply(cmd.Context(), st, files, nodes, clusters)
			for _, a := range done {
				if a.Kubectl != "" {
					fmt.Fprintln(cmd.OutOrStdout(), a.Kubectl)
				} else {
					fmt.Fprintf(cmd.OutOrStdout(), "%s → %s\n", a.File, strings.Join(a.Nodes, ", "))
				}
			}
			return err
		},
	}
	cmd.Flags().StringArrayVarP(&files, "filename", "f", nil, "YAML file or directory (repeatable)")
	cmd.Flags().StringArrayVar(&nodes, "node", nil, "only this node's config directory (repeatable; host mode)")
	cmd.Flags().StringArrayVar(&clusters, "cluster", nil, "only this cluster: its nodes' config directories, or its API server (repeatable)")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// bfdSummary is "<up>/<peers> up" and the other peers' states, or "-" without BFD.
func bfdSummary(peers []lab.BFDPeer) string {
	if len(peers) == 0 {
		return "-"
	}
	up := 0
	var other []string
	for _, p := range peers {
		if p.Status == "up" {
			up++
		} else {
			other = append(other, p.Peer+" "+p.Status)
		}
	}
	s := fmt.Sprintf("%d/%d up", up, len(peers))
	if len(other) > 0 {
		s += " (" + strings.Join(other, ", ") + ")"
	}
	return s
}
