package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/ipam"
	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
)

func renderCmd() *cobra.Command {
	var (
		node   plan.Node
		labels string
		files  []string
		output string
	)
	cmd := &cobra.Command{
		Use:   "render --node NAME --node-index N -f PATH [-f PATH]...",
		Short: "Print a node's frr.conf (or kernel plan) from API YAML files, offline",
		Long: `render reads the API kinds from YAML files or directories, exactly as you would
kubectl apply them, builds the plan of one node and prints its frr.conf (or, with
--output plan, the kernel plan as YAML).

Files are read in the order given (a directory's *.yaml, *.yml and *.json files by name),
and that order is their age: where two objects claim the same thing (a VNI, a VRF, a host
bridge), the one read first wins, as the older object would in Kubernetes. A
metadata.creationTimestamp written in a file is ignored (file order is the only age), so no
object can backdate itself. An object without metadata.namespace is in "default".

Every object or document that is rejected is reported on stderr in one line, and the rest
is rendered: "<Kind>/<namespace>/<name>: <field>: <message>", or, for a document that could
not be read, "<file>: document <N> (<Kind>/<namespace>/<name>): <field>: <message>". Of an
object defined twice (same kind, namespace and name), the first copy is rendered and every
later copy is rejected, naming the first.

Exit codes:
  0  every object is valid and rendered
  2  some objects or documents were rejected (one stderr line each); the rest is rendered
  1  nothing could be rendered: no valid Underlay selects the node, a path cannot be read,
     or a flag is wrong`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			l, err := plan.ParseLabels(labels)
			if err != nil {
				return &exitError{1, fmt.Errorf("--node-labels: %w", err)}
			}
			node.Labels = l
			if _, ok := node.Labels["kubernetes.io/hostname"]; !ok {
				node.Labels["kubernetes.io/hostname"] = node.Name
			}
			return render(cmd.OutOrStdout(), cmd.ErrOrStderr(), node, files, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&node.Name, "node", "", "node name (required)")
	f.IntVar(&node.Index, "node-index", -1, "node index (required)")
	f.StringVar(&labels, "node-labels", "", "node labels, k=v,k=v")
	f.StringArrayVarP(&files, "filename", "f", nil, "YAML file or directory (repeatable)")
	f.StringVarP(&output, "output", "o", "frr", "what to print: frr or plan")
	_ = cmd.MarkFlagRequired("node")
	_ = cmd.MarkFlagRequired("node-index")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

// loadOrderEpoch is the creation time render gives the first object read; the next ones are
// a second younger each.
var loadOrderEpoch = time.Unix(0, 0).UTC()

func render(stdout, stderr io.Writer, node plan.Node, files []string, output string) error {
	if output != "frr" && output != "plan" {
		return &exitError{1, fmt.Errorf("--output %q: must be frr or plan", output)}
	}
	if err := ipam.CheckNodeIndex(node.Index); err != nil {
		return &exitError{1, fmt.Errorf("--node-index: %w", err)}
	}
	loaded, err := manifest.Load(files...)
	if err != nil {
		return &exitError{1, err}
	}
	// File order is age order: the first object read wins a contested claim.
	loaded.StampLoadOrder(loadOrderEpoch)
	p, errs := plan.Build(loaded.Resources, node)
	errs = append(loaded.Invalid, errs...)
	for _, e := range errs {
		fmt.Fprintln(stderr, e.Error())
	}
	if !p.HasUnderlay {
		return &exitError{1, fmt.Errorf("no valid Underlay selects node %s; nothing to render", node.Name)}
	}
	switch output {
	case "plan":
		out, err := yaml.Marshal(p.Kernel)
		if err != nil {
			return &exitError{1, fmt.Errorf("print plan: %w", err)}
		}
		if _, err := stdout.Write(out); err != nil {
			return &exitError{1, err}
		}
	default:
		conf, err := frr.Render(&p.FRR, plan.Passwords(loaded.Resources.Secrets))
		if err != nil {
			return &exitError{1, fmt.Errorf("render frr.conf: %w", err)}
		}
		if _, err := io.WriteString(stdout, conf); err != nil {
			return &exitError{1, err}
		}
	}
	if len(errs) > 0 {
		return &exitError{2, fmt.Errorf("%d invalid resource(s) left out", len(errs))}
	}
	return nil
}
