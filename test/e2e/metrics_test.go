package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/weftnet/weft/internal/lab"
)

// agentMetrics are the metrics docs/metrics.md lists with the labels of their series (a
// histogram's buckets add "le", which the parsed family does not show).
var agentMetrics = map[string][]string{
	"weft_bgp_session_up":                {"peer", "vrf"},
	"weft_bgp_session_uptime_seconds":    {"peer", "vrf"},
	"weft_bgp_prefixes_received":         {"afi", "peer", "vrf"},
	"weft_bfd_peer_up":                   {"peer"},
	"weft_evpn_vnis":                     {"type"},
	"weft_evpn_routes":                   {"type"},
	"weft_evpn_macs":                     {"origin", "vni"},
	"weft_frr_reload_duration_seconds":   nil,
	"weft_frr_reload_failures_total":     nil,
	"weft_kernel_apply_duration_seconds": nil,
	"weft_resources":                     {"kind", "state"},
	"weft_frr_scrape_errors_total":       {"query"},
	// Those from before.
	"weft_reconcile_total":            {"result"},
	"weft_reconcile_duration_seconds": nil,
	"weft_resource_errors":            nil,
	"weft_resources_applied":          nil,
	"weft_frr_reloads_total":          nil,
	"weft_kernel_writes_total":        nil,
	"weft_bgp_sessions":               {"state"},
}

// sample finds the series of family name whose labels include want and returns its value (a
// histogram's sample count).
func sample(families map[string]*dto.MetricFamily, name string, want map[string]string) (float64, error) {
	f := families[name]
	if f == nil {
		return 0, fmt.Errorf("no %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), nil
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), nil
		case m.GetHistogram() != nil:
			return float64(m.GetHistogram().GetSampleCount()), nil
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), nil
		}
	}
	return 0, fmt.Errorf("no %s among %d series", fmtSeries(name, want), len(f.GetMetric()))
}

// fmtSeries writes a series as PromQL does: name{label="value",...}.
func fmtSeries(name string, labels map[string]string) string {
	var l []string
	for k, v := range labels {
		l = append(l, fmt.Sprintf("%s=%q", k, v))
	}
	slices.Sort(l)
	return name + "{" + strings.Join(l, ",") + "}"
}

// checkLabels says which of agentMetrics are missing or have series with other labels.
func checkLabels(families map[string]*dto.MetricFamily) error {
	var bad []string
	for name, want := range agentMetrics {
		f := families[name]
		if f == nil || len(f.GetMetric()) == 0 {
			bad = append(bad, name+" missing")
			continue
		}
		for _, m := range f.GetMetric() {
			var have []string
			for _, l := range m.GetLabel() {
				have = append(have, l.GetName())
			}
			slices.Sort(have)
			if !slices.Equal(have, want) {
				bad = append(bad, fmt.Sprintf("%s has labels %v, want %v", name, have, want))
				break
			}
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	return nil
}

// TestMetrics scrapes node1's agent: every metric is there with its labels; cutting the BGP
// session at the leaf shows as weft_bgp_session_up 0 and then 1 again; a new L2VNI raises
// the VNI and resource counts. The lab is left as it was.
// Long: one scrape, then each change and the metric it moves.
func TestMetrics(t *testing.T) {
	ctx := context.Background()
	n := &st.Nodes[0]
	peer := fmt.Sprintf("10.0.%d.0", n.Link) // the node's leaf, as the node sees it
	scrape := func() (map[string]*dto.MetricFamily, error) { return lab.AgentMetrics(ctx, st, n.Name) }
	// value polls until the series exists and cond holds for its value.
	value := func(t *testing.T, what, name string, labels map[string]string, cond func(float64) bool) float64 {
		t.Helper()
		var v float64
		poll(t, 60*time.Second, what, func() error {
			fams, err := scrape()
			if err != nil {
				return err
			}
			if v, err = sample(fams, name, labels); err != nil {
				return err
			}
			if !cond(v) {
				return fmt.Errorf("%s = %v", fmtSeries(name, labels), v)
			}
			return nil
		})
		return v
	}

	t.Run("AllMetricsWithTheirLabels", func(t *testing.T) {
		// The lab runs no BFD: a BFD peer configured in node1's bfdd by hand stands in for
		// one of an Underlay's bfdProfile. (Removing a bfdProfile again would leave "neighbor
		// X bfd" running until FRR's next reload: frr-reload.py of FRR 8.4 deletes "neighbor
		// X bfd" before "neighbor X bfd profile P", and the latter turns BFD back on.) The
		// leaf runs no bfdd, so the session stays down, which does not affect BGP.
		rc, err := nodeVtysh(ctx, n, "show running-config")
		if err != nil {
			t.Fatal(err)
		}
		hadBFD := strings.Contains(rc, "\nbfd\n")
		bfdPeer := "peer " + peer
		if _, err := nodeVtysh(ctx, n, "configure", "bfd", bfdPeer); err != nil {
			t.Fatal(err)
		}
		restored := false
		restore := func() {
			if restored {
				return
			}
			restored = true
			cmds := []string{"configure", "bfd", "no " + bfdPeer}
			if !hadBFD {
				cmds = []string{"configure", "no bfd"}
			}
			if _, err := nodeVtysh(ctx, n, cmds...); err != nil {
				t.Error(err)
				return
			}
			poll(t, 30*time.Second, "BFD session removed again", func() error {
				out, err := lab.Vtysh(ctx, st, n.Name, "show bfd peers json")
				if err != nil {
					return err
				}
				var peers []json.RawMessage
				if err := json.Unmarshal([]byte(out), &peers); err != nil || len(peers) > 0 {
					return fmt.Errorf("bfd peers: %v %s", err, out)
				}
				return nil
			})
		}
		t.Cleanup(restore)

		// Traffic between the workloads, so that the MACs are learned (a quiet lab ages them
		// out) and there are type-2 routes and remote MACs to count.
		for _, a := range st.Workloads {
			for _, b := range st.Workloads {
				if a.VNI == b.VNI && a.Name != b.Name {
					if err := ping(ctx, &a, addr(b.IP)); err != nil {
						t.Logf("%s → %s: %v", a.Name, b.Name, err)
					}
				}
			}
		}
		checks := []struct {
			name   string
			labels map[string]string
			ok     func(float64) bool
		}{
			{"weft_bgp_session_up", map[string]string{"vrf": "default", "peer": peer}, func(v float64) bool { return v == 1 }},
			{"weft_bgp_session_uptime_seconds", map[string]string{"vrf": "default", "peer": peer}, func(v float64) bool { return v > 0 }},
			{"weft_bgp_prefixes_received", map[string]string{"vrf": "default", "peer": peer, "afi": "l2VpnEvpn"}, func(v float64) bool { return v > 0 }},
			{"weft_bgp_prefixes_received", map[string]string{"vrf": "default", "peer": peer, "afi": "ipv4Unicast"}, func(v float64) bool { return v > 0 }},
			{"weft_bfd_peer_up", map[string]string{"peer": peer}, func(v float64) bool { return v == 0 }},
			{"weft_evpn_vnis", map[string]string{"type": "l2"}, func(v float64) bool { return v >= 1 }},
			{"weft_evpn_vnis", map[string]string{"type": "l3"}, func(v float64) bool { return v == 0 }},
			{"weft_evpn_routes", map[string]string{"type": "2"}, func(v float64) bool { return v > 0 }},
			{"weft_evpn_routes", map[string]string{"type": "3"}, func(v float64) bool { return v >= float64(len(st.Nodes)) }},
			{"weft_evpn_routes", map[string]string{"type": "5"}, func(v float64) bool { return v == 0 }},
			{"weft_evpn_macs", map[string]string{"vni": "110", "origin": "remote"}, func(v float64) bool { return v > 0 }},
			{"weft_resources", map[string]string{"kind": "Underlay", "state": "applied"}, func(v float64) bool { return v == 1 }},
			{"weft_resources", map[string]string{"kind": "L2VNI", "state": "applied"}, func(v float64) bool { return v >= 1 }},
			{"weft_resources", map[string]string{"kind": "L2VNI", "state": "failed"}, func(v float64) bool { return v == 0 }},
			// The agent's first pass reloaded FRR.
			{"weft_frr_reload_duration_seconds", nil, func(v float64) bool { return v >= 1 }},
			{"weft_kernel_apply_duration_seconds", nil, func(v float64) bool { return v >= 1 }},
		}
		poll(t, 60*time.Second, "every metric on "+n.Name, func() error {
			fams, err := scrape()
			if err != nil {
				return err
			}
			if err := checkLabels(fams); err != nil {
				return err
			}
			var bad []string
			for _, c := range checks {
				v, err := sample(fams, c.name, c.labels)
				if err != nil {
					bad = append(bad, err.Error())
				} else if !c.ok(v) {
					bad = append(bad, fmt.Sprintf("%s = %v", fmtSeries(c.name, c.labels), v))
				}
			}
			if len(bad) > 0 {
				return fmt.Errorf("%s", strings.Join(bad, "; "))
			}
			return nil
		})
		restore()
	})

	t.Run("SessionDownAndUp", func(t *testing.T) {
		var leafNS string
		for _, l := range st.Leaves {
			if l.Name == n.Leaf {
				leafNS = l.Netns
			}
		}
		if leafNS == "" {
			t.Fatalf("no leaf %q", n.Leaf)
		}
		// node1 as the leaf sees it.
		neighbor := fmt.Sprintf("10.0.%d.1", n.Link)
		asn := leafASN(t, n.Leaf, leafNS)
		shut := func(no string) error {
			_, err := lab.Exec(ctx, st, n.Leaf, []string{"vtysh", "-N", leafNS, "-c", "configure",
				"-c", "router bgp " + asn, "-c", strings.TrimSpace(no + " neighbor " + neighbor + " shutdown")})
			return err
		}
		t.Cleanup(func() {
			if err := shut("no"); err != nil {
				t.Errorf("bring the session back: %v", err)
			}
			if err := lab.CheckSession(ctx, st, n.Name); err != nil {
				t.Error(err)
			}
		})
		value(t, "session up before", "weft_bgp_session_up", map[string]string{"vrf": "default", "peer": peer}, func(v float64) bool { return v == 1 })
		if err := shut(""); err != nil {
			t.Fatal(err)
		}
		value(t, "session down", "weft_bgp_session_up", map[string]string{"vrf": "default", "peer": peer}, func(v float64) bool { return v == 0 })
		value(t, "uptime 0 while down", "weft_bgp_session_uptime_seconds", map[string]string{"vrf": "default", "peer": peer}, func(v float64) bool { return v == 0 })
		if err := shut("no"); err != nil {
			t.Fatal(err)
		}
		value(t, "session up again", "weft_bgp_session_up", map[string]string{"vrf": "default", "peer": peer}, func(v float64) bool { return v == 1 })
	})

	t.Run("NewL2VNICounts", func(t *testing.T) {
		const vni, file = 190, "l2vni-metrics.yaml"
		vnis := value(t, "L2 VNIs before", "weft_evpn_vnis", map[string]string{"type": "l2"}, func(float64) bool { return true })
		applied := value(t, "applied L2VNIs before", "weft_resources", map[string]string{"kind": "L2VNI", "state": "applied"}, func(float64) bool { return true })
		t.Cleanup(func() {
			if err := lab.WriteConfig(st, file, ""); err != nil {
				t.Error(err)
			}
			if err := lab.CheckVNIRemoved(ctx, st, vni); err != nil {
				t.Errorf("devices of VNI %d: %v", vni, err)
			}
			value(t, "L2 VNIs back", "weft_evpn_vnis", map[string]string{"type": "l2"}, func(v float64) bool { return v == vnis })
		})
		if err := lab.WriteConfig(st, file, fmt.Sprintf(`apiVersion: network.weft.dev/v1alpha1
kind: L2VNI
metadata:
  name: metrics
  namespace: weft-system
spec:
  vni: %d
`, vni)); err != nil {
			t.Fatal(err)
		}
		value(t, "L2VNI applied", "weft_resources", map[string]string{"kind": "L2VNI", "state": "applied"}, func(v float64) bool { return v == applied+1 })
		value(t, "zebra knows the VNI", "weft_evpn_vnis", map[string]string{"type": "l2"}, func(v float64) bool { return v == vnis+1 })
		value(t, "its MAC series", "weft_evpn_macs", map[string]string{"vni": fmt.Sprint(vni), "origin": "local"}, func(v float64) bool { return v == 0 })
	})
}

// nodeVtysh runs vtysh commands (each a -c) against a node's FRR.
func nodeVtysh(ctx context.Context, n *lab.Node, commands ...string) (string, error) {
	argv := []string{"vtysh", "-N", n.RouterNetns}
	for _, c := range commands {
		argv = append(argv, "-c", c)
	}
	return lab.Exec(ctx, st, n.Name+"-rt", argv)
}

// leafASN reads the AS number of a leaf's BGP instance.
func leafASN(t *testing.T, leaf, ns string) string {
	t.Helper()
	out, err := lab.Exec(context.Background(), st, leaf, []string{"vtysh", "-N", ns, "-c", "show bgp summary json"})
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		IPv4 struct {
			AS int64 `json:"as"`
		} `json:"ipv4Unicast"`
	}
	if err := json.Unmarshal([]byte(out), &s); err != nil || s.IPv4.AS == 0 {
		t.Fatalf("AS of %s: %v\n%s", leaf, err, out)
	}
	return fmt.Sprint(s.IPv4.AS)
}
