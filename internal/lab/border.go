package lab

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// buildBorder makes the spine the border VTEP of the tenant VRFs: per tenant a VRF, an L3VNI
// bridge and VXLAN device, and an external host on a subnet of the VRF.
func (s *State) buildBorder(ctx context.Context) error {
	sp := s.Spine
	steps := [][]string{}
	for _, t := range tenants {
		br, vx := fmt.Sprintf("br-%d", t.vni), fmt.Sprintf("vx-%d", t.vni)
		steps = append(steps,
			[]string{"-n", sp, "link", "add", t.vrf, "type", "vrf", "table", fmt.Sprint(t.table)},
			[]string{"-n", sp, "link", "set", t.vrf, "up"},
			[]string{"-n", sp, "link", "add", br, "type", "bridge"},
			[]string{"-n", sp, "link", "set", br, "master", t.vrf, "addrgenmode", "none"},
			[]string{"-n", sp, "link", "add", vx, "type", "vxlan", "id", fmt.Sprint(t.vni), "local", spineLo, "dstport", "4789", "nolearning"},
			[]string{"-n", sp, "link", "set", vx, "master", br, "addrgenmode", "none"},
			[]string{"-n", sp, "link", "set", vx, "type", "bridge_slave", "neigh_suppress", "on", "learning", "off"},
			[]string{"-n", sp, "link", "set", vx, "up"},
			[]string{"-n", sp, "link", "set", br, "up"},
		)
		e := External{Name: "ext-" + t.vrf, Netns: s.ns("ext-" + t.vrf), IP: t.extNet + ".10/24", VRF: t.vrf}
		if err := addNS(ctx, e.Netns); err != nil {
			return err
		}
		s.External = append(s.External, e)
		if err := s.save(); err != nil {
			return err
		}
		steps = append(steps,
			[]string{"link", "add", t.spinePort, "netns", sp, "type", "veth", "peer", "name", "eth0", "netns", e.Netns},
			[]string{"-n", sp, "link", "set", t.spinePort, "master", t.vrf},
			[]string{"-n", sp, "addr", "add", t.extNet + ".1/24", "dev", t.spinePort},
			[]string{"-n", sp, "link", "set", t.spinePort, "up"},
			[]string{"-n", e.Netns, "addr", "add", e.IP, "dev", "eth0"},
			[]string{"-n", e.Netns, "link", "set", "eth0", "up"},
			[]string{"-n", e.Netns, "route", "add", "default", "via", t.extNet + ".1"},
		)
		if t.filteredNet != "" {
			steps = append(steps, []string{"-n", sp, "addr", "add", t.filteredNet + ".1/24", "dev", t.spinePort})
		}
	}
	for _, args := range steps {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// startHostSpeaker runs a BGP speaker on node n's host (FRR with pathspace = the node's
// namespace) once weft has given the host its end of VRF red's veth.
func (s *State) startHostSpeaker(ctx context.Context, n *Node) error {
	for _, a := range []string{hostPrefixIP, hostFilteredPrefixIP} {
		if err := ip(ctx, "-n", n.Netns, "addr", "add", a+"/24", "dev", "lo"); err != nil {
			return err
		}
	}
	if err := poll(ctx, 30*time.Second, func() error {
		out, err := run(ctx, "ip", "-n", n.Netns, "-br", "addr", "show", "dev", "host-100")
		if err == nil && !strings.Contains(out, "192.169.10.") {
			err = fmt.Errorf("no address yet: %s", out)
		}
		return err
	}); err != nil {
		return fmt.Errorf("host side of VRF red's veth on %s: %w", n.Name, err)
	}
	return startFRR(ctx, s.frr(), n.Netns, hostFRRConfig(), speakerDaemons(s.frr()))
}
