package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/internal/frr"
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
--output plan, the kernel plan as YAML). Invalid resources are reported on stderr, one line
each, and left out; the exit code is then 2. Unreadable input or no Underlay for the node
exits with 1.`,
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

func render(stdout, stderr io.Writer, node plan.Node, files []string, output string) error {
	if output != "frr" && output != "plan" {
		return &exitError{1, fmt.Errorf("--output %q: must be frr or plan", output)}
	}
	if node.Index < 0 {
		return &exitError{1, fmt.Errorf("--node-index %d: must be 0 or more", node.Index)}
	}
	loaded, err := manifest.Load(files...)
	if err != nil {
		return &exitError{1, err}
	}
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
