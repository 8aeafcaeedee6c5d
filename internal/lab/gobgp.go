package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// A second EVPN implementation in the fabric: GoBGP (Debian's gobgpd) in a namespace of its
// own behind the spine, an iBGP route-reflector client of it in IPv4 unicast and L2VPN EVPN,
// as a leaf of another vendor would be. It has a VTEP address (GoBGPVTEP, announced in IPv4
// unicast so the nodes resolve it) but no data plane: it stands in for the control plane of
// a foreign VTEP, whose routes weft must read and which must read weft's.
const (
	gobgpName      = "gobgp"
	gobgpSpinePort = "x-gobgp"
	gobgpSpineAddr = "10.3.0.0"
	gobgpAddr      = "10.3.0.1"
	// GoBGPVTEP is GoBGP's VTEP address and router ID, beside the fabric routers' loopbacks.
	GoBGPVTEP = "10.255.0.9"
	// gobgpAPI is gobgpd's gRPC address inside its namespace, where the gobgp CLI finds it.
	gobgpAPI = "127.0.0.1:50051"
)

// gobgpBinaries are the programs StartGoBGP runs: the daemon and its CLI.
var gobgpBinaries = []string{"gobgpd", "gobgp"}

// gobgpConfig is gobgpd's configuration: one neighbor, the spine, with the lab's timers.
func gobgpConfig() string {
	return fmt.Sprintf(`[global.config]
  as = %d
  router-id = %q

[[neighbors]]
  [neighbors.config]
    neighbor-address = %q
    peer-as = %d
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = 9
    keepalive-interval = 3
  [neighbors.transport.config]
    local-address = %q
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "l2vpn-evpn"
`, fabricASN, GoBGPVTEP, gobgpSpineAddr, fabricASN, gobgpAddr)
}

// spineGoBGPCommands are the vtysh commands that make GoBGP a route-reflector client of the
// spine (or, with remove, forget it).
func spineGoBGPCommands(remove bool) []string {
	cmds := []string{"configure terminal", fmt.Sprintf("router bgp %d", fabricASN)}
	if remove {
		return append(cmds, "no neighbor "+gobgpAddr)
	}
	return append(cmds,
		fmt.Sprintf("neighbor %s remote-as %d", gobgpAddr, fabricASN),
		fmt.Sprintf("neighbor %s timers 3 9", gobgpAddr),
		fmt.Sprintf("neighbor %s timers connect 2", gobgpAddr),
		"address-family ipv4 unicast",
		"neighbor "+gobgpAddr+" activate",
		"neighbor "+gobgpAddr+" route-reflector-client",
		"neighbor "+gobgpAddr+" next-hop-self force",
		"exit-address-family",
		"address-family l2vpn evpn",
		"neighbor "+gobgpAddr+" activate",
		"neighbor "+gobgpAddr+" route-reflector-client",
	)
}

// StartGoBGP adds GoBGP to the fabric (see GoBGPVTEP) and waits until its session to the spine
// is up; it announces its VTEP. StopGoBGP removes it again; weft lab down does too.
func StartGoBGP(ctx context.Context, s *State) (err error) {
	for _, b := range gobgpBinaries {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s is not installed (hack/install-deps.sh installs Debian's gobgpd): %w", b, err)
		}
	}
	if err := checkGoBGPFabric(s.fabric()); err != nil {
		return err
	}
	ns := s.ns(gobgpName)
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err == nil || s.GoBGP {
		return fmt.Errorf("GoBGP is already in lab %s (namespace %s)", s.Name, ns)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, StopGoBGP(context.Background(), s))
		}
	}()
	if err := addNS(ctx, ns); err != nil {
		return fmt.Errorf("gobgp: %w", err)
	}
	s.GoBGP = true
	if err := s.save(); err != nil {
		return err
	}
	for _, args := range [][]string{
		{"link", "add", gobgpSpinePort, "netns", s.Spine, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"-n", s.Spine, "addr", "add", gobgpSpineAddr + "/31", "dev", gobgpSpinePort},
		{"-n", s.Spine, "link", "set", gobgpSpinePort, "up"},
		{"-n", ns, "addr", "add", gobgpAddr + "/31", "dev", "eth0"},
		{"-n", ns, "addr", "add", GoBGPVTEP + "/32", "dev", "lo"},
		{"-n", ns, "link", "set", "eth0", "up"},
	} {
		if err := ip(ctx, args...); err != nil {
			return err
		}
	}
	conf := filepath.Join(Dir(s.Name), "gobgpd.toml")
	if err := os.WriteFile(conf, []byte(gobgpConfig()), 0o644); err != nil {
		return err
	}
	if err := startGoBGPD(s, ns, conf); err != nil {
		return err
	}
	if err := s.spineConfig(ctx, spineGoBGPCommands(false)); err != nil {
		return err
	}
	if err := poll(ctx, 30*time.Second, func() error {
		out, err := s.GoBGPCLI(ctx, "neighbor", gobgpSpineAddr)
		if err == nil && !strings.Contains(strings.ToLower(out), "bgp state = established") {
			err = fmt.Errorf("GoBGP's session to the spine is not established:\n%s", out)
		}
		return err
	}); err != nil {
		return err
	}
	_, err = s.GoBGPCLI(ctx, "global", "rib", "-a", "ipv4", "add", GoBGPVTEP+"/32", "nexthop", gobgpAddr)
	return err
}

// startGoBGPD starts gobgpd in namespace ns with configuration conf, logging into the lab's
// directory; weft lab down stops it with the namespace's other processes.
func startGoBGPD(s *State, ns, conf string) error {
	logf, err := os.OpenFile(filepath.Join(Dir(s.Name), "gobgpd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, "gobgpd", "-f", conf, "-p", "--api-hosts", gobgpAPI, "--pprof-disable")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start gobgpd: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

// GoBGPCLI runs the gobgp CLI against the lab's gobgpd.
func (s *State) GoBGPCLI(ctx context.Context, args ...string) (string, error) {
	host, port, _ := strings.Cut(gobgpAPI, ":")
	return inNS(ctx, s.ns(gobgpName), append([]string{"gobgp", "-u", host, "-p", port}, args...)...)
}

// checkGoBGPFabric refuses a fabric GoBGP does not join: it is an iBGP client of the spine.
func checkGoBGPFabric(fabric string) error {
	if fabric != FabricIBGPRR && fabric != FabricDualToR {
		return fmt.Errorf("GoBGP joins an iBGP fabric (%s, %s), not %s", FabricIBGPRR, FabricDualToR, fabric)
	}
	return nil
}

// StopGoBGP removes GoBGP from the fabric, whatever of it exists: the spine's neighbor and
// its end of the link, the daemon and its namespace.
func StopGoBGP(ctx context.Context, s *State) error {
	var errs []error
	ns := s.ns(gobgpName)
	if _, err := os.Stat(filepath.Join("/run/netns", ns)); err != nil {
		if !s.GoBGP {
			return nil
		}
		s.GoBGP = false
		return s.save()
	}
	if err := s.spineConfig(ctx, spineGoBGPCommands(true)); err != nil {
		errs = append(errs, err)
	}
	// The spine's end goes now, not whenever the kernel destroys the deleted namespace: a
	// StartGoBGP right after must be able to make it again.
	if out, err := run(ctx, "ip", "-n", s.Spine, "link", "del", gobgpSpinePort); err != nil && !strings.Contains(out+err.Error(), "Cannot find device") {
		errs = append(errs, err)
	}
	if err := stopProcessesIn(ctx, ns); err != nil {
		errs = append(errs, err)
	}
	if err := ip(ctx, "netns", "del", ns); err != nil {
		errs = append(errs, err)
	}
	s.GoBGP = false
	return errors.Join(append(errs, s.save())...)
}
