package lab

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"
	"time"
)

// Check is one line of the demo's results table.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Demo brings a lab up, runs the scripted checks, prints a table of results and takes the lab
// down again (also when a check fails). It returns an error if any check failed.
func Demo(ctx context.Context, o Options, out io.Writer) error {
	t0 := time.Now()
	fmt.Fprintf(out, "weft lab demo: starting lab %q with %d nodes...\n", o.Name, o.Nodes)
	st, err := Up(ctx, o)
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	defer func() {
		if err := Down(context.Background(), o.Name); err != nil {
			fmt.Fprintf(out, "lab down: %v\n", err)
		}
	}()
	fmt.Fprintf(out, "lab up in %.1f s\n\n", time.Since(t0).Seconds())
	checks := RunChecks(ctx, st)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tRESULT\tDETAIL")
	failed := 0
	for _, c := range checks {
		res := "ok"
		if !c.OK {
			res = "FAIL"
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, res, c.Detail)
	}
	_ = tw.Flush()
	if failed > 0 {
		return fmt.Errorf("%d of %d checks failed", failed, len(checks))
	}
	fmt.Fprintf(out, "\nall %d checks passed in %.1f s\n", len(checks), time.Since(t0).Seconds())
	return nil
}

// RunChecks runs the demo's checks against a running lab.
func RunChecks(ctx context.Context, st *State) []Check {
	var checks []Check
	add := func(name string, err error, detail string) {
		c := Check{Name: name, OK: err == nil, Detail: detail}
		if err != nil {
			c.Detail = err.Error()
		}
		checks = append(checks, c)
	}

	for _, n := range st.Nodes {
		out, err := inNS(ctx, n.RouterNetns, "vtysh", "-N", n.RouterNetns, "-c", "show bgp summary")
		if err == nil && !strings.Contains(out, "10.0.") {
			err = fmt.Errorf("no session in:\n%s", out)
		}
		add(fmt.Sprintf("%s: BGP session to the spine", n.Name), err, "established (iBGP, EVPN + IPv4)")
	}

	w1, w2 := st.Workloads[0], st.Workloads[1]
	_, err := inNS(ctx, w1.Netns, "ping", "-c", "3", "-i", "0.2", "-W", "1", addrOf(w2.IP))
	add(fmt.Sprintf("L2VNI %d: %s (%s) pings %s (%s)", w1.VNI, w1.Name, w1.Node, w2.Name, w2.Node), err, "3/3 replies across VXLAN")

	out, err := inNS(ctx, st.Nodes[0].RouterNetns, "vtysh", "-N", st.Nodes[0].RouterNetns, "-c", "show bgp l2vpn evpn route type macip")
	if err == nil {
		for _, w := range st.Workloads[1:] {
			if !strings.Contains(out, w.MAC) {
				err = fmt.Errorf("no type-2 route for %s (%s) on %s", w.Name, w.MAC, st.Nodes[0].Name)
				break
			}
		}
	}
	add(fmt.Sprintf("EVPN type-2 routes for remote workloads on %s", st.Nodes[0].Name), err, fmt.Sprintf("%d remote MACs learned", len(st.Workloads)-1))

	if len(st.Nodes) >= 3 {
		r, err := Migrate(ctx, st, w1.Name, st.Nodes[1].Name, 10*time.Millisecond)
		detail := ""
		if err == nil {
			detail = r.Probe.String() + " from " + r.Pinger
			if r.Probe.Received == 0 {
				err = fmt.Errorf("no reply at all: %s", r.Probe)
			}
		}
		add(fmt.Sprintf("migrate %s %s → %s, keeping MAC and IP", w1.Name, r.From, r.To), err, detail)
		if err == nil {
			p, err := Probe(ctx, st.Workloads[2].Netns, netip.MustParsePrefix(w1.IP).Addr(), 10*time.Millisecond, 500*time.Millisecond)
			if err == nil && p.Lost > 0 {
				err = fmt.Errorf("after the migration: %s", p)
			}
			add(fmt.Sprintf("%s reachable on its new node", w1.Name), err, "0 of 50 probes lost")
		}
	}
	return checks
}

func addrOf(cidr string) string { return strings.Split(cidr, "/")[0] }
