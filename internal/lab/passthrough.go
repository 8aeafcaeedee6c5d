package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/ipam"
	"github.com/weftnet/weft/internal/plan"
)

// A passthrough on a node of the lab: an L3Passthrough (a host session in the router's default
// VRF, the underlay's) for the node, a BGP speaker on the node's host that announces
// PassthroughPrefix (and PassthroughFilteredPrefix, which the session's toReceive leaves out),
// and an external host in the underlay behind the spine (ext-under, on
// passthroughExtNet.0/24, which the spine announces into the fabric). It shows host routes
// going into the fabric and fabric routes coming to the host, with no VRF: the layer-2 lab
// runs it natively.
const (
	PassthroughFile           = "l3passthrough-lab.yaml"
	PassthroughPrefix         = "10.50.1.0/24"
	PassthroughPrefixIP       = "10.50.1.1"
	PassthroughFilteredPrefix = "10.98.1.0/24"
	passthroughFilteredIP     = "10.98.1.1"
	passthroughLocalCIDR      = "192.169.20.0/24"
	passthroughHostASN        = 64700
	passthroughExtNet         = "172.20.0"
	passthroughSpinePort      = "x-under"
	// PassthroughExternal is the external host's name (weft lab exec, CheckPing).
	PassthroughExternal = "ext-under"
)

// passthroughObject is the L3Passthrough of node: it selects the node by hostname.
func passthroughObject(node string) string {
	return fmt.Sprintf(`apiVersion: network.weft.dev/v1alpha1
kind: L3Passthrough
metadata:
  name: %s-default
  namespace: %s
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: %s
  hostSession:
    hostASN: %d
    localCIDR:
      ipv4: %s
    toReceive:
      mode: Filtered
      prefixes:
        - prefix: 10.50.0.0/16
          le: 24
`, node, KubeNamespace, node, passthroughHostASN, passthroughLocalCIDR)
}

// passthroughSpeakerConfig is the host speaker's FRR configuration: it peers with the router
// side of the passthrough veth and announces both prefixes.
func passthroughSpeakerConfig(routerIP, hostIP string) string {
	return speakerConfig(passthroughHostASN, hostIP, routerIP, PassthroughPrefix, PassthroughFilteredPrefix)
}

// spineNetwork has the spine announce (or, with withdraw, stop announcing) prefix in IPv4
// unicast.
func (s *State) spineNetwork(ctx context.Context, prefix string, withdraw bool) error {
	cmd := "network " + prefix
	if withdraw {
		cmd = "no " + cmd
	}
	return s.spineConfig(ctx, []string{"configure terminal", fmt.Sprintf("router bgp %d", fabricASN), "address-family ipv4 unicast", cmd})
}

// StartPassthrough gives node a passthrough (see PassthroughFile): the external host and the
// spine's announcement, the L3Passthrough in the node's config directory, and the host
// speaker once weft has made the host side of the veth. Host mode only. StopPassthrough
// removes it all again.
func StartPassthrough(ctx context.Context, s *State, node string) (err error) {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	if s.Kubernetes || n.ConfigDir == "" {
		return errors.New("a passthrough is put into a node's config directory: host mode only")
	}
	if !s.numbered() || s.ipv6Only() {
		return fmt.Errorf("a passthrough needs the spine's IPv4 unicast to the nodes, which the %s fabric does not have", s.fabric())
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, StopPassthrough(context.Background(), s, node))
		}
	}()
	ext := s.ns(PassthroughExternal)
	if err := addNS(ctx, ext); err != nil {
		return err
	}
	s.External = append(s.External, External{Name: PassthroughExternal, Netns: ext, IP: passthroughExtNet + ".10/24", VRF: "default"})
	if err := s.save(); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"link", "add", passthroughSpinePort, "netns", s.Spine, "type", "veth", "peer", "name", "eth0", "netns", ext},
		{"-n", s.Spine, "addr", "add", passthroughExtNet + ".1/24", "dev", passthroughSpinePort},
		{"-n", s.Spine, "link", "set", passthroughSpinePort, "up"},
		{"-n", ext, "addr", "add", passthroughExtNet + ".10/24", "dev", "eth0"},
		{"-n", ext, "link", "set", "eth0", "up"},
		{"-n", ext, "route", "add", "default", "via", passthroughExtNet + ".1"},
	} {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	if err := s.spineNetwork(ctx, passthroughExtNet+".0/24", false); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(n.ConfigDir, PassthroughFile), []byte(passthroughObject(n.Name))); err != nil {
		return err
	}
	cidr := netip.MustParsePrefix(passthroughLocalCIDR)
	hostSide, err := ipam.HostSide(cidr, n.Index)
	if err != nil {
		return err
	}
	routerIP := cidr.Masked().Addr().Next()
	if err := poll(ctx, 30*time.Second, func() error {
		out, err := run(ctx, "ip", "-n", n.Netns, "-br", "addr", "show", "dev", plan.PassthroughHostVeth)
		if err == nil && !strings.Contains(out, hostSide.String()) {
			err = fmt.Errorf("no %s yet: %s", hostSide, out)
		}
		return err
	}); err != nil {
		return fmt.Errorf("host side of %s's passthrough veth: %w", n.Name, err)
	}
	for _, a := range []string{PassthroughPrefixIP, passthroughFilteredIP} {
		if err := ip(ctx, "-n", n.Netns, "addr", "add", a+"/24", "dev", "lo"); err != nil {
			return err
		}
	}
	return startFRR(ctx, s.frr(), n.Netns, passthroughSpeakerConfig(routerIP.String(), hostSide.Addr().String()), speakerDaemons(s.frr()))
}

// StopPassthrough removes what StartPassthrough made on node, whatever of it exists: the host
// speaker and its addresses, the L3Passthrough (and waits until weft removed the veth), the
// spine's announcement and the external host.
func StopPassthrough(ctx context.Context, s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	var errs []error
	if err := stopFRR(n.Netns); err != nil {
		errs = append(errs, err)
	}
	for _, a := range []string{PassthroughPrefixIP, passthroughFilteredIP} {
		_ = ip(ctx, "-n", n.Netns, "addr", "del", a+"/24", "dev", "lo")
	}
	if err := os.Remove(filepath.Join(n.ConfigDir, PassthroughFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	if err := poll(ctx, 30*time.Second, func() error {
		if _, err := run(ctx, "ip", "-n", n.Netns, "link", "show", "dev", plan.PassthroughHostVeth); err == nil {
			return fmt.Errorf("%s still has %s", n.Name, plan.PassthroughHostVeth)
		}
		return nil
	}); err != nil {
		errs = append(errs, err)
	}
	if err := s.spineNetwork(ctx, passthroughExtNet+".0/24", true); err != nil && !strings.Contains(err.Error(), "Can't find") {
		errs = append(errs, err)
	}
	ext := s.ns(PassthroughExternal)
	s.External = slices.DeleteFunc(s.External, func(e External) bool { return e.Name == PassthroughExternal })
	if err := s.save(); err != nil {
		errs = append(errs, err)
	}
	if _, err := os.Stat(filepath.Join("/run/netns", ext)); err == nil {
		// The spine's end of the veth goes with the namespace of the other end.
		if err := ip(ctx, "netns", "del", ext); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CheckPassthrough checks node's passthrough: the host's prefix reaches the spine and the
// external host reaches an address in it; the fabric's route to the external host's subnet
// reaches the host; the prefix outside toReceive reaches neither the node's router nor the
// spine.
func CheckPassthrough(ctx context.Context, s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	if err := poll(ctx, convergeTimeout, func() error {
		out, err := inNS(ctx, s.Spine, s.frr().Vtysh, "-N", s.Spine, "-c", "show bgp ipv4 unicast "+PassthroughPrefix)
		if err == nil && !strings.Contains(out, "best") {
			err = fmt.Errorf("spine has no best path to %s:\n%s", PassthroughPrefix, out)
		}
		return err
	}); err != nil {
		return err
	}
	extNet := passthroughExtNet + ".0/24"
	if err := poll(ctx, convergeTimeout, func() error {
		out, err := run(ctx, "ip", "-n", n.Netns, "route", "show", extNet)
		if err == nil && !strings.Contains(out, "dev "+plan.PassthroughHostVeth) {
			err = fmt.Errorf("host of %s has no route to %s over %s: %q", n.Name, extNet, plan.PassthroughHostVeth, out)
		}
		return err
	}); err != nil {
		return err
	}
	if err := CheckPing(ctx, s, PassthroughExternal, PassthroughPrefixIP); err != nil {
		return err
	}
	out, err := inNS(ctx, n.Netns, s.frr().Vtysh, "-N", n.Netns, "-c", "show bgp ipv4 unicast "+PassthroughFilteredPrefix)
	if err != nil || !strings.Contains(out, "best") {
		return fmt.Errorf("the positive control of toReceive: the host speaker of %s does not announce %s (%v):\n%s", n.Name, PassthroughFilteredPrefix, err, out)
	}
	for _, ns := range []string{n.RouterNetns, s.Spine} {
		out, err := inNS(ctx, ns, s.frr().Vtysh, "-N", ns, "-c", "show bgp ipv4 unicast "+PassthroughFilteredPrefix)
		if err == nil && !strings.Contains(out, "not in table") {
			return fmt.Errorf("%s has %s, which toReceive leaves out:\n%s", ns, PassthroughFilteredPrefix, out)
		}
	}
	return nil
}
