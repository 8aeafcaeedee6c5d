package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/lab"
	"github.com/weftnet/weft/internal/trace"
)

// A MAC and IP behind GoBGP's VTEP in the web segment: what a VM behind a leaf of another
// vendor would be.
const (
	gobgpMAC = "02:00:00:00:99:01"
	gobgpIP  = "192.168.110.99"
)

// TestGoBGPInterop: GoBGP, a second EVPN implementation, joins the fabric as a client of the
// spine. It receives every node's type-2 and type-3 routes with the RD and route targets the
// node's FRR uses, the VNI as label, VXLAN encapsulation and the node's VTEP as next hop
// (TestL3 checks type-5 routes and router MACs the same way); and a MAC/IP route it
// originates is programmed on every weft node at GoBGP's VTEP, with GoBGP's VTEP in the
// flood list, until GoBGP withdraws both: then the MAC and the flood entry are gone.
func TestGoBGPInterop(t *testing.T) {
	ctx := context.Background()
	t.Cleanup(func() {
		if err := lab.StopGoBGP(context.Background(), st); err != nil {
			t.Errorf("remove GoBGP: %v", err)
		}
	})
	if err := lab.StartGoBGP(ctx, st); err != nil {
		t.Fatal(err)
	}
	// A second start is refused and leaves the running GoBGP alone (the check below needs it).
	if err := lab.StartGoBGP(ctx, st); err == nil || !strings.Contains(err.Error(), "already") {
		t.Errorf("a second StartGoBGP: %v, want it refused as already there", err)
	}
	if err := lab.CheckGoBGPReceives(ctx, st); err != nil {
		t.Fatal(err)
	}
	web := workload(t, "web1").VNI
	if err := lab.GoBGPAnnounceMAC(ctx, st, web, gobgpMAC, gobgpIP, false); err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		poll(t, 30*time.Second, fmt.Sprintf("weft trace %s on %s names GoBGP's VTEP", gobgpMAC, n.Name), func() error {
			r, code, err := traceMAC(ctx, &n, gobgpMAC)
			if err != nil {
				return err
			}
			if code != 0 || len(r.MACs) != 1 || len(r.MACs[0].EVPN) != 1 || r.MACs[0].EVPN[0].RemoteVTEP != lab.GoBGPVTEP || r.MACs[0].EVPN[0].VNI != uint32(web) {
				return fmt.Errorf("exit %d, want 0 and %s remote in VNI %d behind %s:\n%s", code, gobgpMAC, web, lab.GoBGPVTEP, r.Text())
			}
			return nil
		})
		poll(t, 30*time.Second, fmt.Sprintf("GoBGP's VTEP in %s's flood list", n.Name), func() error {
			out, err := exec.Command("ip", "netns", "exec", n.RouterNetns, "bridge", "fdb", "show", "dev", fmt.Sprintf("vni%d", web)).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "00:00:00:00:00:00 dst "+lab.GoBGPVTEP+" ") {
				return fmt.Errorf("%v: no flood entry to %s:\n%s", err, lab.GoBGPVTEP, out)
			}
			return nil
		})
	}
	if err := lab.GoBGPAnnounceMAC(ctx, st, web, gobgpMAC, gobgpIP, true); err != nil {
		t.Fatal(err)
	}
	for _, n := range st.Nodes {
		poll(t, 30*time.Second, fmt.Sprintf("%s forgets %s once GoBGP withdraws it", n.Name, gobgpMAC), func() error {
			r, code, err := traceMAC(ctx, &n, gobgpMAC)
			if err != nil {
				return err
			}
			for _, m := range r.MACs {
				if len(m.EVPN) > 0 || len(m.Kernel) > 0 {
					return fmt.Errorf("exit %d, want 2 and the MAC gone from EVPN and the kernel:\n%s", code, r.Text())
				}
			}
			if code != 2 {
				return fmt.Errorf("exit %d, want 2 (not found):\n%s", code, r.Text())
			}
			return nil
		})
		poll(t, 30*time.Second, fmt.Sprintf("GoBGP's VTEP gone from %s's flood list", n.Name), func() error {
			out, err := exec.Command("ip", "netns", "exec", n.RouterNetns, "bridge", "fdb", "show", "dev", fmt.Sprintf("vni%d", web)).CombinedOutput()
			if err != nil || strings.Contains(string(out), " dst "+lab.GoBGPVTEP+" ") {
				return fmt.Errorf("%v: still an entry to %s:\n%s", err, lab.GoBGPVTEP, out)
			}
			return nil
		})
	}
}

// traceMAC runs weft trace -o json for mac on node n: the result and the exit code.
func traceMAC(ctx context.Context, n *lab.Node, mac string) (trace.Result, int, error) {
	var r trace.Result
	cmd := exec.CommandContext(ctx, weftBin, "trace", mac, "--router-netns", n.RouterNetns, "--vtysh", st.FRRInstall().Vtysh, "-o", "json")
	out, err := cmd.Output()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		return r, 0, err
	}
	if code == 1 {
		return r, code, fmt.Errorf("weft trace on %s: %s", n.Name, exit.Stderr)
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return r, code, fmt.Errorf("weft trace on %s: %w: %s", n.Name, err, out)
	}
	return r, code, nil
}
