package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/lab"
)

// labNode is the --lab/--node pair that weft status and weft trace share: a node of a running
// lab, so nobody has to know which namespace holds the agent (NODE's) and which the router
// (NODE-rt).
type labNode struct{ lab, node string }

func (l *labNode) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&l.lab, "lab", "", "a running lab (weft lab up); with --node, instead of the namespace flags")
	cmd.Flags().StringVar(&l.node, "node", "", "a node of --lab (node1, node2, …)")
}

// resolve returns the lab node, or nil when neither flag is given.
func (l *labNode) resolve() (*lab.State, *lab.Node, error) {
	if l.lab == "" && l.node == "" {
		return nil, nil, nil
	}
	if l.node == "" {
		return nil, nil, &exitError{1, fmt.Errorf("--lab %s: also give --node NODE (weft lab status --name %s lists them)", l.lab, l.lab)}
	}
	name := l.lab
	if name == "" {
		name = "lab"
	}
	st, err := lab.Load(name)
	if err != nil {
		return nil, nil, &exitError{1, err}
	}
	n, err := st.Node(strings.TrimSuffix(l.node, "-rt"))
	if err != nil {
		return nil, nil, &exitError{1, fmt.Errorf("--node %q: %w", l.node, err)}
	}
	return st, n, nil
}

// checkNetns rejects a namespace name that is not one, or that does not exist, naming the flag.
func checkNetns(flag, name string) error {
	if err := hostnet.CheckNamespaceName(name); err != nil {
		return &exitError{1, fmt.Errorf("%s: %w", flag, err)}
	}
	if _, err := os.Stat(filepath.Join("/run/netns", name)); err != nil {
		hint := "ip netns list shows them"
		if running := lab.Running(); len(running) > 0 {
			hint = fmt.Sprintf("for a lab node use --lab %s --node NODE", running[0])
		}
		return &exitError{1, fmt.Errorf("%s %q: no such network namespace (%s)", flag, name, hint)}
	}
	return nil
}
