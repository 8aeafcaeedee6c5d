package lab

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/umltest"
)

// Check is one line of the demo's results table.
type Check struct {
	Name   string
	OK     bool
	Detail string
}

// Demo brings a lab up, runs the scripted checks, prints a table of results and takes the lab
// down again (also when a check fails). It returns an error if any check failed.
//
// On a kernel with VRF everything runs here. Without VRF, the layer-2 lab runs here and the
// routed part (o.L3) runs in a second lab inside a user-mode-linux kernel, which has VRF;
// the demo says so and prints that lab's table too.
func Demo(ctx context.Context, o Options, out io.Writer) error {
	if o.L3 || hostnet.HasVRF() {
		o.L3 = true
		return demoOnce(ctx, o, out)
	}
	err := demoOnce(ctx, o, out)
	fmt.Fprintf(out, "\nThis kernel has no VRF devices: the L3 checks (tenant VRFs, type-5 routes, host session,\n"+
		"symmetric IRB, isolation) run in a second lab inside a user-mode-linux kernel (about four minutes here)...\n\n")
	if uerr := demoInUML(ctx, o, out); uerr != nil {
		if err != nil {
			return fmt.Errorf("%w; in user-mode-linux: %w", err, uerr)
		}
		return fmt.Errorf("in user-mode-linux: %w", uerr)
	}
	return err
}

// demoInUML runs `weft lab demo --l3` in a user-mode-linux guest and copies its output.
func demoInUML(ctx context.Context, o Options, out io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	res, err := umltest.Run(ctx, umltest.Config{
		Modules:  []string{"vrf", "bridge", "vxlan", "veth"},
		MemoryMB: 2048,
		Timeout:  12 * time.Minute, // the lab's deadlines in the guest must fire first
		Env:      umltest.ForwardedEnv(),
	}, self, "lab", "demo", "--l3", "--nodes", "2", "--name", o.Name, "--agent-bin", o.AgentBinary)
	if err != nil {
		return err
	}
	_, _ = out.Write(res.Output)
	if res.ExitCode != 0 {
		return fmt.Errorf("the L3 demo exited with %d", res.ExitCode)
	}
	return nil
}

func demoOnce(ctx context.Context, o Options, out io.Writer) error {
	t0 := time.Now()
	kind := "layer-2 lab"
	if o.L3 {
		kind = "lab with tenant VRFs"
	}
	where := ""
	if umltest.InGuest() {
		where = " (inside user-mode-linux)"
	}
	fmt.Fprintf(out, "weft lab demo: starting %s %q with %d nodes%s...\n", kind, o.Name, o.Nodes, where)
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
		first, _, _ := strings.Cut(c.Detail, "\n")
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, res, first)
	}
	_ = tw.Flush()
	// A failure's whole story (diagnoses run over several lines) comes after the table.
	for _, c := range checks {
		if !c.OK && strings.Contains(c.Detail, "\n") {
			fmt.Fprintf(out, "\n--- %s ---\n%s\n", c.Name, c.Detail)
		}
	}
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
		add(fmt.Sprintf("%s: BGP session to %s", n.Name, n.Leaf), CheckSession(ctx, st, n.Name), "established (iBGP, EVPN + IPv4)")
	}
	w1, w2 := st.Workloads[0], st.Workloads[1]
	add(fmt.Sprintf("L2VNI %d: %s (%s) pings %s (%s)", w1.VNI, w1.Name, w1.Node, w2.Name, w2.Node),
		CheckPing(ctx, st, w1.Name, addrOf(w2.IP)), "bridged across VXLAN")
	add(fmt.Sprintf("EVPN type-2 routes for the VNI %d workloads on %s", w1.VNI, st.Nodes[0].Name),
		CheckType2Routes(ctx, st, st.Nodes[0].Name, w1.VNI), "MACs of every workload learned")

	if st.L3 {
		db, _ := st.Workload("db2")
		iso, _ := st.Workload("iso1")
		add(fmt.Sprintf("L3VNI red: ext-red reaches %s by its own IP %s", w1.Name, addrOf(w1.IP)),
			CheckPing(ctx, st, "ext-red", addrOf(w1.IP)), "routed by EVPN type-5/type-2, no NAT")
		add(fmt.Sprintf("L3VNI blue: ext-blue reaches %s", iso.Name), CheckPing(ctx, st, "ext-blue", addrOf(iso.IP)), "a second tenant")
		add(fmt.Sprintf("symmetric IRB: %s (VNI %d) reaches %s (VNI %d) via the anycast gateway", w1.Name, w1.VNI, db.Name, db.VNI),
			CheckPing(ctx, st, w1.Name, addrOf(db.IP)), "routed in VRF red across nodes")
		add(fmt.Sprintf("host session on %s learns the tenant's routes", st.Nodes[0].Name),
			CheckHostSessionLearns(ctx, st, st.Nodes[0].Name), fmt.Sprintf("%s.0/24 via %s", tenants[0].extNet, hostRouterIP))
		add(fmt.Sprintf("host session: %s announced by the host reaches the fabric", hostPrefix),
			CheckHostPrefixInFabric(ctx, st), "ext-red pings "+hostPrefixIP)
		add("isolation: VRF red and VRF blue do not reach each other", CheckIsolation(ctx, st), "and no tenant route in any main table")
	}

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
