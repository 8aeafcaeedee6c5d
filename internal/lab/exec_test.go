package lab

import (
	"slices"
	"strings"
	"testing"
)

// TestExecArgsReachesFRR: vtysh in a lab target gets the pathspace of that target's FRR (a
// node's router for NODE and NODE-rt), other commands run as given, and a target without FRR
// or a pathspace the user chose is left alone.
func TestExecArgsReachesFRR(t *testing.T) {
	s := &State{Name: "x", Spine: "x-spine", Leaves: []Leaf{{Name: "leaf1", Netns: "x-leaf1"}},
		Nodes:     []Node{{Name: "node1", Netns: "x-node1", RouterNetns: "x-node1-rt"}},
		Workloads: []Workload{{Name: "web1", Netns: "x-web1"}}}
	tests := []struct {
		target string
		argv   []string
		want   string // the command line, or the error's text
	}{
		{"node1", []string{"vtysh", "-c", "show bgp summary"}, "ip netns exec x-node1 /usr/bin/vtysh -N x-node1-rt -c show bgp summary"},
		{"node1-rt", []string{"vtysh"}, "ip netns exec x-node1-rt /usr/bin/vtysh -N x-node1-rt"},
		{"leaf1", []string{"/usr/bin/vtysh", "-c", "show ip route"}, "ip netns exec x-leaf1 /usr/bin/vtysh -N x-leaf1 -c show ip route"},
		{"spine", []string{"vtysh", "-c", "show bgp l2vpn evpn"}, "ip netns exec x-spine /usr/bin/vtysh -N x-spine -c show bgp l2vpn evpn"},
		{"node1", []string{"vtysh", "-N", "x-node1", "-c", "show bgp summary"}, "ip netns exec x-node1 /usr/bin/vtysh -N x-node1 -c show bgp summary"},
		{"node1", []string{"ip", "link"}, "ip netns exec x-node1 ip link"},
		{"web1", []string{"vtysh"}, `"web1" runs no FRR`},
		{"nope", []string{"ip", "link"}, `no node, workload or external host "nope"`},
		{"node1", nil, "no command given"},
	}
	for _, tt := range tests {
		got, err := s.ExecArgs(tt.target, tt.argv)
		if err != nil {
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s %v: error %v, want %q", tt.target, tt.argv, err, tt.want)
			}
			continue
		}
		if line := strings.Join(got, " "); line != tt.want {
			t.Errorf("%s %v: %q, want %q", tt.target, tt.argv, line, tt.want)
		}
		if slices.Equal(got, tt.argv) {
			t.Errorf("%s: argv not wrapped", tt.target)
		}
	}
}
