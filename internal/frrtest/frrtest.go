// Package frrtest runs a throwaway FRR for tests: zebra, bgpd and bfdd (staticd on request) in
// a network namespace and pathspace of their own, removed again when the test ends, passed or
// failed. It needs root and the Debian frr package (frr-pythontools for frr-reload.py).
//
// Instances are named weft-t-<pid>-<random>; Start also removes instances left behind by test
// processes that no longer exist (a test binary killed by a timeout runs no cleanup).
package frrtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/frrproc"
)

// namePrefix starts every instance's namespace and pathspace name.
const namePrefix = "weft-t-"

// Timeouts. Daemons start in ~0.1 s and stop in ~1.2 s on the reference machine; the limits are
// generous so a loaded CI machine does not flake.
const (
	startTimeout = 15 * time.Second
	stopTimeout  = 10 * time.Second
	cmdTimeout   = 60 * time.Second
	pollInterval = 5 * time.Millisecond
)

// Options select what Start runs.
type Options struct {
	// Staticd also starts staticd.
	Staticd bool
	// Profile is passed to the daemons with -F ("traditional", "datacenter"); empty keeps the
	// build's default, which is what weft renders for.
	Profile string
	// Install is the FRR to run; the zero value is frrinstall.Select() ($WEFT_FRR, FRR 10
	// by default).
	Install frrinstall.Install
}

// FRR is one running instance.
type FRR struct {
	tb      testing.TB
	name    string
	opts    Options
	inst    frrinstall.Install
	daemons []string
	stopped bool
}

// Installed returns the FRR the tests run by default (frrinstall.Select: $WEFT_FRR, FRR 10
// unless it says 8), or skips the test when it is missing (fails it when CI is set).
func Installed(tb testing.TB) frrinstall.Install {
	tb.Helper()
	inst, err := frrinstall.Select()
	if err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatal(err)
		}
		tb.Skip(err)
	}
	return inst
}

// Versions are the major versions every golden file must satisfy: FRR 8.4 (Debian 12) and
// FRR 10 (the image).
var Versions = []string{"8", "10"}

// Version returns FRR major version v, or skips the test when it is missing (fails it when
// CI is set).
func Version(tb testing.TB, v string) frrinstall.Install {
	tb.Helper()
	tb.Setenv("WEFT_FRR", v)
	return Installed(tb)
}

// Require skips the test when FRR cannot run here (not root, binaries missing), or fails it
// when the environment variable CI is set: CI machines must run these tests.
func Require(tb testing.TB, inst frrinstall.Install) {
	tb.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	if err := inst.Check(); err != nil {
		missing = append(missing, err.Error())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		missing = append(missing, "ip (iproute2)")
	}
	if _, err := user.Lookup("frr"); err != nil {
		missing = append(missing, "user frr")
	}
	if len(missing) == 0 {
		return
	}
	msg := "FRR tests need " + strings.Join(missing, ", ")
	if os.Getenv("CI") != "" {
		tb.Fatal(msg)
	}
	tb.Skip(msg)
}

// Start starts an instance and registers its removal with tb.Cleanup. It fails the test when
// the instance cannot start, and skips it when FRR cannot run here (see Require).
func Start(tb testing.TB, opts Options) *FRR {
	tb.Helper()
	if opts.Install.DaemonDir == "" {
		opts.Install = Installed(tb)
	}
	Require(tb, opts.Install)
	sweep(tb)
	suffix := make([]byte, 3)
	if _, err := rand.Read(suffix); err != nil {
		tb.Fatal(err)
	}
	f := &FRR{
		tb:      tb,
		name:    fmt.Sprintf("%s%d-%s", namePrefix, os.Getpid(), hex.EncodeToString(suffix)),
		opts:    opts,
		inst:    opts.Install,
		daemons: opts.Install.Daemons("bgpd", "bfdd"),
	}
	if opts.Staticd {
		f.daemons = append(f.daemons, "staticd")
	}
	// Registered before anything is created, so a half-made instance is removed too.
	tb.Cleanup(f.cleanup)
	if err := f.create(); err != nil {
		tb.Fatalf("frrtest: %v", err)
	}
	if err := f.startDaemons(); err != nil {
		tb.Fatalf("frrtest: %v\n%s", err, f.logs())
	}
	return f
}

// Netns is the instance's network namespace.
func (f *FRR) Netns() string { return f.name }

// Install is the FRR installation the instance runs.
func (f *FRR) Install() frrinstall.Install { return f.inst }

// Pathspace is the instance's FRR pathspace (vtysh -N, frr-reload.py -N).
func (f *FRR) Pathspace() string { return f.name }

// RunDir holds the instance's sockets, pid files and daemon logs.
func (f *FRR) RunDir() string { return frrproc.RunDir(f.name) }

// ConfDir is the pathspace's configuration directory (vtysh.conf, the integrated frr.conf).
func (f *FRR) ConfDir() string { return frrproc.ConfDir(f.name) }

// Vtysh runs vtysh against the instance with each argument as one command (-c), e.g.
// Vtysh("configure", "router bgp 65000"). The error carries vtysh's output.
func (f *FRR) Vtysh(commands ...string) (string, error) {
	args := []string{"-N", f.name}
	for _, c := range commands {
		args = append(args, "-c", c)
	}
	return run(f.inst.Vtysh, args...)
}

// RunningConfig returns "show running-config".
func (f *FRR) RunningConfig() (string, error) {
	return f.Vtysh("show running-config")
}

// Load pushes conf into the running instance with "vtysh -f". vtysh exits 0 on some refused
// commands (it only warns), so callers should still compare the running configuration.
func (f *FRR) Load(conf string) error {
	path := filepath.Join(f.RunDir(), "load.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(path)
	out, err := run(f.inst.Vtysh, "-N", f.name, "-f", path)
	if err != nil {
		return fmt.Errorf("vtysh -f: %w", err)
	}
	// vtysh reports refused lines on its output even when it exits 0.
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "% Unknown command") || strings.Contains(l, "Failure to communicate") || strings.Contains(l, "% Configuration failed") {
			return fmt.Errorf("vtysh -f refused a line: %s\n%s", l, out)
		}
	}
	return nil
}

// Reload runs frr-reload.py against the instance with the given arguments (for example
// "--test", file) and returns its standard output (the diff of --test); -N is added. Its log
// goes to standard error and into the error when it fails.
func (f *FRR) Reload(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "python3", append([]string{f.inst.ReloadScript, "-N", f.name, "--stdout", "--bindir", filepath.Dir(f.inst.Vtysh)}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("frr-reload.py %s: %w\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// Reset brings the instance back to an empty configuration: it deletes every top-level block
// it knows through vtysh (fast), and restarts the daemons when something else is left.
func (f *FRR) Reset() error {
	rc, err := f.RunningConfig()
	if err != nil {
		return err
	}
	if cmds, ok := resetCommands(rc); ok {
		if len(cmds) > 0 {
			if _, err := f.Vtysh(append([]string{"configure"}, cmds...)...); err != nil {
				return f.Restart()
			}
		}
		if rc, err = f.RunningConfig(); err == nil && IsEmptyConfig(rc) {
			return nil
		}
	}
	return f.Restart()
}

// Restart stops and starts the daemons; the namespace and directories stay.
func (f *FRR) Restart() error {
	if err := f.stopDaemons(); err != nil {
		return err
	}
	if err := f.startDaemons(); err != nil {
		return fmt.Errorf("%w\n%s", err, f.logs())
	}
	return nil
}

// Stop stops the daemons and removes the namespace and directories. It runs by itself at the
// end of the test; calling it earlier is allowed, and a second call does nothing.
func (f *FRR) Stop() {
	f.tb.Helper()
	if f.stopped {
		return
	}
	f.stopped = true
	var errs []error
	if err := f.stopDaemons(); err != nil {
		errs = append(errs, err)
	}
	if out, err := exec.Command("ip", "netns", "del", f.name).CombinedOutput(); err != nil && !strings.Contains(string(out), "No such file") {
		errs = append(errs, fmt.Errorf("ip netns del %s: %v: %s", f.name, err, out))
	}
	for _, d := range []string{f.RunDir(), f.ConfDir(), frrproc.StateDir(f.name)} {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		f.tb.Errorf("frrtest: stop %s: %v", f.name, err)
	}
}

func (f *FRR) cleanup() {
	if f.tb.Failed() && !f.stopped {
		f.tb.Logf("frrtest: daemon logs of %s:\n%s", f.name, f.logs())
	}
	f.Stop()
}

func (f *FRR) create() error {
	if out, err := exec.Command("ip", "netns", "add", f.name).CombinedOutput(); err != nil {
		return fmt.Errorf("ip netns add %s: %v: %s", f.name, err, out)
	}
	if out, err := exec.Command("ip", "-n", f.name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		return fmt.Errorf("set lo up in %s: %v: %s", f.name, err, out)
	}
	// Integrated configuration, as in production: "write" (which frr-reload.py runs) saves
	// one frr.conf in ConfDir instead of one file per daemon.
	return frrproc.Prepare(f.inst, f.name, "", "service integrated-vtysh-config\n")
}

func (f *FRR) startDaemons() error {
	for _, d := range f.daemons {
		args := []string{"--log", "file:" + filepath.Join(f.RunDir(), d+".log"), "--log-level", "info"}
		if f.inst.TakesConfigFile(d) {
			// An empty configuration: the tests push theirs with vtysh.
			args = append(args, "-f", "/dev/null")
		}
		if f.opts.Profile != "" {
			args = append(args, "-F", f.opts.Profile)
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		err := f.inst.StartDaemon(ctx, f.name, f.name, d, args...)
		cancel()
		if err != nil {
			return err
		}
		// bgpd and bfdd talk to zebra; waiting for each daemon keeps start-up ordered.
		if err := f.waitStarted(d); err != nil {
			return err
		}
	}
	return nil
}

// waitStarted polls until the daemon's pid file names a live process and its vty socket exists.
func (f *FRR) waitStarted(d string) error {
	deadline := time.Now().Add(startTimeout)
	sock := filepath.Join(f.RunDir(), d+".vty")
	for {
		pid, err := frrproc.ReadPID(frrproc.PIDFile(f.name, d))
		if err == nil && frrproc.Alive(pid) {
			if _, err := os.Stat(sock); err == nil {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not start within %v", d, startTimeout)
		}
		time.Sleep(pollInterval)
	}
}

// stopDaemons sends SIGTERM to every daemon of the instance, waits for them to exit and uses
// SIGKILL on the ones that do not.
func (f *FRR) stopDaemons() error {
	var pids []int
	for _, d := range f.daemons {
		if pid, err := frrproc.ReadPID(frrproc.PIDFile(f.name, d)); err == nil && frrproc.DaemonOf(pid, f.name) {
			pids = append(pids, pid)
		}
	}
	return frrproc.Stop(pids, stopTimeout, stopTimeout)
}

// logs returns the tail of every daemon log, for a failing test's output.
func (f *FRR) logs() string {
	var b strings.Builder
	for _, d := range f.daemons {
		data, err := os.ReadFile(filepath.Join(f.RunDir(), d+".log"))
		if err != nil {
			continue
		}
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s.log\n%s", d, data)
	}
	return b.String()
}

// sweep removes instances whose test process is gone: their daemons, namespace and
// directories. Instances of live processes (parallel test binaries) are left alone.
func sweep(tb testing.TB) {
	tb.Helper()
	seen := map[string]bool{}
	for _, root := range []string{frrinstall.RunRoot, frrinstall.ConfRoot, frrinstall.StateRoot, "/run/netns"} {
		entries, _ := os.ReadDir(root)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), namePrefix) {
				seen[e.Name()] = true
			}
		}
	}
	for name := range seen {
		ownerStr, _, ok := strings.Cut(strings.TrimPrefix(name, namePrefix), "-")
		owner, err := strconv.Atoi(ownerStr)
		if !ok || err != nil || frrproc.Alive(owner) {
			continue
		}
		if err := frrproc.Remove(name); err != nil {
			tb.Logf("frrtest: sweep %s: %v", name, err)
			continue
		}
		_ = exec.Command("ip", "netns", "del", name).Run()
		tb.Logf("frrtest: removed %s left behind by process %d", name, owner)
	}
}

// run executes a command with a timeout and returns its combined output; the error includes it.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}
