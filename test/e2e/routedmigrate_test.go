package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// testRoutedMigration: a workload live-migrates while it is reached by routed traffic, from
// the external host through the L3VNI and then from another segment (symmetric IRB), and
// the second time it lands silent. After each move its MAC+IP route is behind the new
// node's VTEP on the other node and it answers the external host. make bench-lab runs the
// pair of moves $WEFT_MIGRATION_RUNS times (once otherwise) and prints each case's outages.
func testRoutedMigration(t *testing.T, l3 *lab.State, w, other *lab.Workload) {
	ctx := context.Background()
	home := w.Node
	var away string
	for _, n := range l3.Nodes {
		if n.Name != home {
			away = n.Name
			break
		}
	}
	ip := addr(w.IP)
	runs := migrationRuns(t)
	cases := []struct{ to, pinger, announce, what string }{
		{away, "ext-red", lab.AnnounceGARP, "routed from the external host through the L3VNI"},
		{home, other.Name, lab.AnnounceNone, "routed from another segment (symmetric IRB), silent VM"},
	}
	outages := make([][]float64, len(cases))
	for i := range runs * len(cases) {
		m := cases[i%len(cases)]
		r, err := lab.MigrateWith(ctx, l3, w.Name, m.to, lab.MigrateOptions{Interval: 10 * time.Millisecond, Announce: m.announce, Pinger: m.pinger})
		if err != nil {
			t.Fatalf("migrate %s to %s: %v", w.Name, m.to, err)
		}
		t.Logf("%s %s → %s, probed by %s, announcing %s: %s", w.Name, r.From, r.To, m.pinger, m.announce, r.Probe)
		outages[i%len(cases)] = append(outages[i%len(cases)], float64(r.Probe.Outage.Microseconds())/1000)
		dst, err := l3.Node(m.to)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range l3.Nodes {
			if n.Name == m.to {
				continue
			}
			poll(t, 60*time.Second, fmt.Sprintf("weft trace %s on %s after the move to %s", ip, n.Name, m.to), func() error {
				out, err := exec.Command(weftBin, "trace", ip, "--router-netns", n.RouterNetns, "--vtysh", l3.FRRInstall().Vtysh).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "behind VTEP "+dst.VTEP) {
					return fmt.Errorf("exit %v; want the MAC+IP behind %s:\n%s", err, dst.VTEP, out)
				}
				return nil
			})
		}
		if err := lab.CheckPing(ctx, l3, "ext-red", ip); err != nil {
			t.Errorf("ext-red → %s after the move to %s: %v", w.Name, m.to, err)
		}
	}
	for i, c := range cases {
		t.Logf("migration outage, %s: %s", c.what, spread(outages[i]))
	}
}

// migrationRuns is how often the migration tests repeat their moves: $WEFT_MIGRATION_RUNS
// (make bench-lab sets it to print outage figures), once otherwise.
func migrationRuns(t *testing.T) int {
	t.Helper()
	v := os.Getenv("WEFT_MIGRATION_RUNS")
	if v == "" {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("WEFT_MIGRATION_RUNS=%q: want a positive number", v)
	}
	return n
}
