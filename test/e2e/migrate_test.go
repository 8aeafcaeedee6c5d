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
		dst, err := st.Node(to)
		if err != nil {
			t.Fatal(err)
		}
		ip := addr(w.IP)
		for _, n := range st.Nodes {
			if n.Name == to {
				continue
			}
			poll(t, 20*time.Second, fmt.Sprintf("weft trace %s on %s after a migration announcing %s", ip, n.Name, announce), func() error {
				out, err := exec.Command(weftBin, "trace", ip, "--lab", st.Name, "--node", n.Name).CombinedOutput()
				if err != nil || !strings.Contains(string(out), "behind VTEP "+dst.VTEP) {
					return fmt.Errorf("exit %v; want the MAC+IP behind %s (%s):\n%s", err, dst.VTEP, to, out)
				}
				return nil
			})
		}
		if err := ping(ctx, workload(t, "web3"), ip); err != nil {
			t.Errorf("web3 → %s after the migration announcing %s: %v", w.Name, announce, err)
		}
		w = workload(t, w.Name)
	}
}
