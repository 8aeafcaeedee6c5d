package lab

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/frrproc"
)

// nodeDaemons are the routing daemons of every weft node's FRR instance.
func nodeDaemons(inst frrinstall.Install) []string { return inst.Daemons("bgpd", "bfdd") }

// speakerDaemons are the daemons of a BGP speaker without BFD (the host speakers): a bfdd
// there would only log every non-BFD line of the integrated configuration as an unknown
// command.
func speakerDaemons(inst frrinstall.Install) []string { return inst.Daemons("bgpd") }

// routerDaemons are the daemons of the fabric's routers: bfdd too where the fabric runs BFD.
func (s *State) routerDaemons() []string {
	if s.Fabric == FabricDualToR && !s.WithoutBFD {
		return s.frr().Daemons("bgpd", "bfdd")
	}
	return speakerDaemons(s.frr())
}

// FRRInstall is the FRR installation the lab runs.
func (s *State) FRRInstall() frrinstall.Install { return s.frr() }

// frr is the FRR installation the lab runs (FRR 8.4 for a lab started before the lab
// recorded it).
func (s *State) frr() frrinstall.Install {
	if s.FRR.DaemonDir == "" {
		return frrinstall.Debian12
	}
	return s.FRR
}

// startFRR starts FRR in namespace ns with pathspace ns and the given integrated config
// (empty for weft nodes: their agent pushes the config). It starts the given daemons and
// waits until vtysh answers.
func startFRR(ctx context.Context, inst frrinstall.Install, ns, config string, daemons []string) error {
	if err := frrproc.Prepare(inst, ns, config, ""); err != nil {
		return err
	}
	conf := filepath.Join(frrproc.ConfDir(ns), "frr.conf")
	for _, d := range daemons {
		var args []string
		if inst.TakesConfigFile(d) {
			args = append(args, "-f", conf)
		}
		if dir := os.Getenv("WEFT_LAB_FRR_LOG"); dir != "" {
			// Debugging the lab: every daemon logs to <dir>/<namespace>-<daemon>.log.
			args = append(args, "--log", "file:"+filepath.Join(dir, ns+"-"+d+".log"), "--log-level", "debug")
		}
		args = append(args, inst.GracefulRestartArgs(d)...)
		if d == "bfdd" && inst.Major < 10 {
			// FRR 8.4's bfdd needs its own control socket per pathspace (FRR 10's puts it in
			// the pathspace's run directory and has no --bfdctl).
			args = append(args, "--bfdctl", filepath.Join(frrproc.RunDir(ns), "bfdd.sock"))
		}
		if err := inst.StartDaemon(ctx, ns, ns, d, args...); err != nil {
			return err
		}
	}
	err := poll(ctx, 10*time.Second, func() error {
		_, err := run(ctx, inst.Vtysh, "-N", ns, "-c", "show version")
		return err
	})
	if err != nil || inst.Major < 10 || config == "" {
		return err
	}
	// FRR 10's mgmtd owns the VRF and interface configuration (a VRF's "vni") and reads no
	// -f; zebra reading the file skips those lines ("No such command"), so a fabric router
	// would have VRF red without its L3VNI and import no type-5 route. vtysh -b loads the
	// integrated configuration into every daemon, as frrinit.sh does at boot.
	_, err = run(ctx, inst.Vtysh, "-N", ns, "-b")
	return err
}

// stopFRR kills the daemons of pathspace ns and removes its directories.
func stopFRR(ns string) error { return frrproc.Remove(ns) }

// spineConfig runs vtysh configuration commands on the spine.
func (s *State) spineConfig(ctx context.Context, cmds []string) error {
	args := []string{s.frr().Vtysh, "-N", s.Spine}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	_, err := inNS(ctx, s.Spine, args...)
	return err
}
