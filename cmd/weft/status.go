package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/netnamespace"
)

func statusCmd() *cobra.Command {
	var addr, netns, output string
	var ln labNode
	cmd := &cobra.Command{
		Use:   "status [--addr HOST:PORT] [--netns NAME] [-o text|json]",
		Short: "Show what this node's agent applied, what failed and its BGP sessions",
		Long: `status asks this node's weft-agent (its --status-addr) for its last reconcile: the
resources it applied, the ones that failed and why, the state of every BGP session, where the
pass spent its time, and the pass in progress if one runs. --netns connects from inside a
network namespace; --lab NAME --node NODE asks a node of a running lab (the agent listens
in the node's namespace, NODE, not in its router's, NODE-rt).
The exit code is 0 when the last pass converged with no failed resource, 2 when it did not
(or no pass has finished yet), and 1 when the agent cannot be asked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkTextOrJSON(output); err != nil {
				return err
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return &exitError{1, fmt.Errorf("--addr %q: %w", addr, err)}
			}
			tr := &http.Transport{DisableKeepAlives: true}
			if _, n, err := ln.resolve(); err != nil {
				return err
			} else if n != nil {
				if netns != "" {
					return &exitError{1, fmt.Errorf("--netns and --lab/--node both name where to ask; give one")}
				}
				netns = n.Netns
			}
			if netns != "" {
				if err := checkNetns("--netns", netns); err != nil {
					return err
				}
				tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
					return netnamespace.Dial(ctx, netns, network, a)
				}
			}
			hc := &http.Client{Timeout: 15 * time.Second, Transport: tr}
			st, err := agentapi.GetStatus(cmd.Context(), hc, addr)
			if err != nil {
				if strings.HasSuffix(netns, "-rt") {
					err = fmt.Errorf("%w (%s looks like a router namespace; the agent listens in the node's own: --netns %s, or --lab/--node)", err, netns, strings.TrimSuffix(netns, "-rt"))
				}
				return &exitError{1, err}
			}
			// The report's sessions are those of the last pass; show FRR's current view.
			live := true
			if s, err := agentapi.GetSessions(cmd.Context(), hc, addr); err == nil {
				st.Sessions = s
			} else {
				live = false
				fmt.Fprintf(cmd.ErrOrStderr(), "weft: BGP sessions are those of the last pass: %v\n", err)
			}
			text := func(w io.Writer) { printStatus(w, st, live, time.Now()) }
			return emit(cmd.OutOrStdout(), output, st, text, st.Generation != 0 && st.Error == "" && len(st.Failed) == 0)
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:9489", "the agent's --status-addr")
	f.StringVar(&netns, "netns", "", "connect from inside this network namespace (/run/netns/NAME)")
	f.StringVarP(&output, "output", "o", "text", "text or json (the agent's /status, with the sessions read now)")
	ln.flags(cmd)
	return cmd
}

// printStatus writes an agent's status for people. live says whether st.Sessions were read
// from FRR just now (else they are the last pass's); now dates the pass in progress.
func printStatus(w io.Writer, st agentapi.Status, live bool, now time.Time) {
	node := st.Node
	if node == "" {
		node = "(unnamed)"
	}
	switch {
	case st.Generation == 0:
		fmt.Fprintf(w, "node %s: no pass has finished yet\n", node)
	case st.Error != "":
		fmt.Fprintf(w, "node %s: pass %d at %s took %v: NOT CONVERGED: %s\n", node, st.Generation, st.Time.Format(time.TimeOnly), st.Duration.Round(time.Millisecond), st.Error)
	default:
		fmt.Fprintf(w, "node %s: pass %d at %s took %v: converged\n", node, st.Generation, st.Time.Format(time.TimeOnly), st.Duration.Round(time.Millisecond))
	}
	for _, warning := range st.Kernel.Warnings {
		fmt.Fprintf(w, "warning: %s\n", oneLine(warning))
	}
	if r := st.Running; r != nil {
		fmt.Fprintf(w, "pass in progress for %v, in step %s for %v\n", now.Sub(r.Started).Round(time.Millisecond), r.Phase, now.Sub(r.PhaseStarted).Round(time.Millisecond))
	}
	if st.Generation == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nRESOURCE\tSTATE\tDETAIL")
	for _, f := range st.Failed {
		detail := f.Reason + ": "
		if f.Field != "" {
			detail += f.Field + ": "
		}
		what := f.Ref().String()
		switch {
		case f.Source != "" && f.Kind != "":
			what = oneLine(f.Source) + " (" + what + ")"
		case f.Source != "":
			what = oneLine(f.Source)
		}
		fmt.Fprintf(tw, "%s\tfailed\t%s\n", what, detail+oneLine(f.Message))
	}
	for _, a := range st.Applied {
		fmt.Fprintf(tw, "%s\tapplied\t\n", a)
	}
	if len(st.Sessions) > 0 {
		when := "now"
		if !live {
			when = "at pass " + fmt.Sprint(st.Generation)
		}
		fmt.Fprintf(tw, "\nVRF\tNEIGHBOR\tSTATE (%s)\n", when)
		for _, s := range st.Sessions {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", s.VRF, s.Neighbor, s.State)
		}
	}
	_ = tw.Flush()
	p := st.Phases
	fmt.Fprintf(w, "\nsteps: load %v, plan %v, frr %v, kernel %v, zebra %v, sessions %v (alongside); frr reloaded: %t; kernel writes: %d\n",
		p.Load.Round(time.Microsecond), p.Plan.Round(time.Microsecond), p.FRR.Round(time.Microsecond), p.Kernel.Round(time.Microsecond),
		p.Zebra.Round(time.Microsecond), p.Sessions.Round(time.Microsecond), st.FRRChanged, st.Kernel.Writes)
	if st.FRRVersion != "" {
		fmt.Fprintf(w, "FRR %s\n", st.FRRVersion)
	}
}

// oneLine keeps a table row on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
