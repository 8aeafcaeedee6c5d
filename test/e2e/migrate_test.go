package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
)

// TestMigrationMACIPFollows: after a migration, whatever the workload announces (a gratuitous
// ARP, a RARP as QEMU sends, or nothing), its MAC+IP route is re-originated by the new node:
// `weft trace <IP>` on every other node finds it behind the new VTEP, and the workload
// answers. The workload then migrates back within seconds (MAC mobility sequence numbers,
// duplicate-address detection at 10 moves in 60 s).
func TestMigrationMACIPFollows(t *testing.T) {
	ctx := context.Background()
	w := workload(t, "web2")
	// Before: every other node finds the workload's MAC+IP behind its node's VTEP. The
	// workload announces itself first: earlier tests removed and re-created its segment,
	// and a layer-2 segment's router bridge learns an address only from what the workload
	// says (a gratuitous ARP, an ARP reply); an idle workload on a re-created segment stays
	// unknown until then (a known gap, see the issue notes).
	if err := lab.Announce(st, w.Name); err != nil {
		t.Fatal(err)
	}
	traced := func(node, ip, vtep, what string) {
		t.Helper()
		poll(t, 20*time.Second, fmt.Sprintf("weft trace %s on %s %s", ip, node, what), func() error {
			out, err := exec.Command(weftBin, "trace", ip, "--lab", st.Name, "--node", node).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "behind VTEP "+vtep) {
				return fmt.Errorf("exit %v; want the MAC+IP behind %s:\n%s", err, vtep, out)
			}
			return nil
		})
	}
	home := node(t, w.Node)
	for _, n := range st.Nodes {
		if n.Name != w.Node {
			traced(n.Name, addr(w.IP), home.VTEP, "before the migrations")
		}
	}
	for _, announce := range []string{lab.AnnounceRARP, lab.AnnounceNone, lab.AnnounceGARP} {
		var to string
		for _, n := range st.Nodes {
			if n.Name != w.Node {
				to = n.Name
				break
			}
		}
		r, err := lab.MigrateWith(ctx, st, w.Name, to, lab.MigrateOptions{Interval: 10 * time.Millisecond, Announce: announce})
		if err != nil {
			t.Fatalf("migrate %s (%s): %v", w.Name, announce, err)
		}
		t.Logf("%s %s → %s, announcing %s: %s", w.Name, r.From, r.To, announce, r.Probe)
		dst := node(t, to)
		ip := addr(w.IP)
		for _, n := range st.Nodes {
			if n.Name != to {
				traced(n.Name, ip, dst.VTEP, "after a migration announcing "+announce)
			}
		}
		if err := ping(ctx, workload(t, "web3"), ip); err != nil {
			t.Errorf("web3 → %s after the migration announcing %s: %v", w.Name, announce, err)
		}
		w = workload(t, w.Name)
	}
}
