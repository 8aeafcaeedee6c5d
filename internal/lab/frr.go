package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/umltest"
)

const (
	frrRunDir = frrinstall.RunRoot
	frrEtcDir = frrinstall.ConfRoot
)

// nodeDaemons are the routing daemons of every weft node's FRR instance.
func nodeDaemons(inst frrinstall.Install) []string { return inst.Daemons("bgpd", "bfdd") }

// routerDaemons are the daemons of the fabric's routers, which run no BFD: a bfdd there
// would only log every non-BFD line of the integrated configuration as an unknown command.
func routerDaemons(inst frrinstall.Install) []string { return inst.Daemons("bgpd") }

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
	run := filepath.Join(frrRunDir, ns)
	etc := filepath.Join(frrEtcDir, ns)
	for _, d := range []string{run, etc} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := chownFRR(d); err != nil {
			return err
		}
	}
	if inst.Major >= 10 {
		// Best effort: a user-mode-linux guest's root is read-only, and FRR runs without it.
		if st := filepath.Join(frrinstall.StateRoot, ns); os.MkdirAll(st, 0o755) == nil {
			_ = chownFRR(st)
		}
	}
	conf := filepath.Join(etc, "frr.conf")
	if err := os.WriteFile(conf, []byte(config), 0o640); err != nil {
		return err
	}
	if err := chownFRR(conf); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(etc, "vtysh.conf"), nil, 0o640); err != nil {
		return err
	}
	for _, d := range daemons {
		var args []string
		if inst.TakesConfigFile(d) {
			args = append(args, "-f", conf)
		}
		if dir := os.Getenv("WEFT_LAB_FRR_LOG"); dir != "" {
			// Debugging the lab: every daemon logs to <dir>/<namespace>-<daemon>.log.
			args = append(args, "--log", "file:"+filepath.Join(dir, ns+"-"+d+".log"), "--log-level", "debug")
		}
		if d == "bfdd" && inst.Major < 10 {
			// FRR 8.4's bfdd needs its own control socket per pathspace (FRR 10's puts it in
			// the pathspace's run directory and has no --bfdctl).
			args = append(args, "--bfdctl", filepath.Join(run, "bfdd.sock"))
		}
		if err := inst.StartDaemon(ctx, ns, ns, d, args...); err != nil {
			return err
		}
	}
	return poll(ctx, 10*time.Second, func() error {
		_, err := runCmd(ctx, inst.Vtysh, "-N", ns, "-c", "show version")
		return err
	})
}

func runCmd(ctx context.Context, name string, args ...string) (string, error) {
	return run(ctx, name, args...)
}

// stopFRR kills the daemons of pathspace ns (every one with a pid file, whatever the FRR
// version started) and waits for them to exit.
func stopFRR(ns string) error {
	var errs []error
	pidFiles, _ := filepath.Glob(filepath.Join(frrRunDir, ns, "*.pid"))
	for _, pidFile := range pidFiles {
		if err := killPidFile(pidFile, ns); err != nil {
			errs = append(errs, err)
		}
	}
	_ = os.RemoveAll(filepath.Join(frrRunDir, ns))
	_ = os.RemoveAll(filepath.Join(frrEtcDir, ns))
	_ = os.RemoveAll(filepath.Join(frrinstall.StateRoot, ns))
	return errors.Join(errs...)
}

// killPidFile terminates the process named by a pid file, if it runs and its command line
// or environment has mark, and waits for it.
func killPidFile(path, mark string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 1 {
		return nil
	}
	return killPid(pid, mark)
}

// ours reports whether process pid is still the lab's: mark (a namespace or directory name
// of the lab) is in its command line or environment. A recorded pid may have been reused by
// an unrelated process since the lab's process died; that one must not be killed.
func ours(pid int, mark string) bool {
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err == nil && strings.Contains(string(b), mark) {
			return true
		}
	}
	return false
}

// killPid sends SIGTERM, then SIGKILL after 5 s, and waits until the process is gone. It
// leaves alone a process that is not the lab's any more (see ours); mark "" skips that check
// (the process was found inside one of the lab's namespaces).
func killPid(pid int, mark string) error {
	if mark != "" && !ours(pid, mark) {
		return nil
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // already gone
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if p.Signal(syscall.Signal(0)) != nil || isZombie(pid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = p.Signal(syscall.SIGKILL)
	// A process inside a long netlink call (bulk deletion of devices holds the kernel for
	// seconds) dies only when the call returns.
	deadline = time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if p.Signal(syscall.Signal(0)) != nil || isZombie(pid) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("process %d does not exit", pid)
}

func isZombie(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	rest := string(data)
	if i := strings.LastIndexByte(rest, ')'); i >= 0 {
		rest = rest[i+1:]
	}
	f := strings.Fields(rest)
	return len(f) > 0 && f[0] == "Z"
}

func chownFRR(path string) error {
	_, err := exec.LookPath("chown")
	if err != nil {
		return err
	}
	_, err = run(context.Background(), "chown", "frr:frr", path)
	return err
}

// guestSlowdown scales the lab's deadlines inside a user-mode-linux guest, where every
// process runs far slower: an agent's first pass takes 17.5 s there against 1.3 s natively
// (frr-reload.py alone 12.8 s against 1.2 s), and more when the host is busy.
const guestSlowdown = 4

// poll calls f until it succeeds or the timeout passes (guestSlowdown times longer inside a
// user-mode-linux guest); it returns f's last error.
func poll(ctx context.Context, timeout time.Duration, f func() error) error {
	if umltest.InGuest() {
		timeout *= guestSlowdown
	}
	deadline := time.Now().Add(timeout)
	var err error
	for {
		if err = f(); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %v: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
