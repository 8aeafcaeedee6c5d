// Package frrinstall says where an FRR installation keeps its daemons, vtysh and
// frr-reload.py, and how its daemons are started. weft supports two: Debian 12's FRR 8.4 (the
// frr package, for host mode on Debian 12) and FRR 10, which the image ships and the tests and
// lab run by default (10.7.1, built from Debian's sources by hack/build-frr10.sh into a
// cache outside the repository, as the Dockerfile builds it). Both use Debian's run and configuration directories
// (/var/run/frr/<pathspace>, /etc/frr/<pathspace>), so the agent and the lab find an instance
// the same way whichever version runs it.
package frrinstall

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/weftnet/weft/internal/toolcache"
)

// Install is one FRR installation.
type Install struct {
	// Major is FRR's major version (8 or 10).
	Major int `json:"major"`
	// DaemonDir holds zebra, bgpd, bfdd (and mgmtd, staticd on FRR ≥ 10).
	DaemonDir string `json:"daemonDir"`
	// Vtysh and ReloadScript are the installation's vtysh and frr-reload.py.
	Vtysh        string `json:"vtysh"`
	ReloadScript string `json:"reloadScript"`
}

// Run, configuration and state roots: -N appends the pathspace to each. FRR 10 keeps state
// there (bgpd's graceful-restart information); Debian 12 does not create StateRoot.
const (
	RunRoot   = "/var/run/frr"
	ConfRoot  = "/etc/frr"
	StateRoot = "/var/lib/frr"
)

// Debian12 is Debian 12's frr and frr-pythontools packages: FRR 8.4.
var Debian12 = Install{Major: 8, DaemonDir: "/usr/lib/frr", Vtysh: "/usr/bin/vtysh", ReloadScript: "/usr/lib/frr/frr-reload.py"}

// FRR10Release is the FRR 10 release weft is tested with and the image ships: the sources of
// Debian's frr at this version, which hack/build-frr10.sh builds here and in the Dockerfile
// (TestImageShipsTheTestedFRR keeps the three equal).
const FRR10Release = "10.7.1-6"

// ZebraKeepSeconds is zebra's -K: after a restart, zebra keeps the routes it finds in the
// kernel this long (as stale) instead of flushing them, until bgpd has installed them again.
// It is what makes the "preserve-fw-state" (F bit) that weft renders with graceful restart
// true: the node forwards on while FRR restarts. 120 s is bgpd's default restart time.
const ZebraKeepSeconds = 120

// GracefulRestartArgs are the arguments that start daemon d in graceful-restart mode, as
// weft's FRR entry points do (hack/frr-start.sh): zebra keeps the kernel's routes for
// ZebraKeepSeconds (-K). The value must be attached ("-K120"): FRR 10's -K takes it as
// optional, so a separate "120" would be no value at all. (bgpd -K, which makes bgpd defer
// its best paths as a restarting speaker, made no difference to the lab's FRR crash: see
// docs/design.md.)
func (i Install) GracefulRestartArgs(d string) []string {
	if d == "zebra" {
		return []string{"-K" + strconv.Itoa(ZebraKeepSeconds)}
	}
	return nil
}

// Built is FRR 10 as hack/build-frr10.sh installs it under prefix.
func Built(prefix string) Install {
	return Install{
		Major:        10,
		DaemonDir:    filepath.Join(prefix, "lib", "frr"),
		Vtysh:        filepath.Join(prefix, "bin", "vtysh"),
		ReloadScript: filepath.Join(prefix, "lib", "frr", "frr-reload.py"),
	}
}

// BuiltPrefix is where hack/build-frr10.sh installs FRR 10: $WEFT_FRR10_PREFIX, or
// $XDG_CACHE_HOME/weft/frr-<version> (~/.cache when unset).
func BuiltPrefix() string {
	if p := os.Getenv("WEFT_FRR10_PREFIX"); p != "" {
		return p
	}
	return filepath.Join(toolcache.Dir(), "frr-"+strings.SplitN(FRR10Release, "-", 2)[0])
}

// Select returns the installation the tests and the lab run: $WEFT_FRR names the major
// version, 10 (the default) or 8.
func Select() (Install, error) {
	switch v := os.Getenv("WEFT_FRR"); v {
	case "", "10":
		i := Built(BuiltPrefix())
		if err := i.Check(); err != nil {
			return Install{}, fmt.Errorf("FRR 10: %w (build it with hack/build-frr10.sh, or set WEFT_FRR=8 for Debian's FRR 8.4)", err)
		}
		return i, nil
	case "8":
		if err := Debian12.Check(); err != nil {
			return Install{}, fmt.Errorf("FRR 8.4: %w (apt-get install frr frr-pythontools)", err)
		}
		return Debian12, nil
	default:
		return Install{}, fmt.Errorf("WEFT_FRR=%q: want 10 or 8", v)
	}
}

// Check reports a missing binary.
func (i Install) Check() error {
	for _, p := range []string{i.Daemon("zebra"), i.Daemon("bgpd"), i.Daemon("bfdd"), i.Vtysh, i.ReloadScript} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s is missing", p)
		}
	}
	return nil
}

// Daemon is the path of daemon d.
func (i Install) Daemon(d string) string { return filepath.Join(i.DaemonDir, d) }

// Daemons lists the daemons to start, in order, for an instance that runs the given
// routing daemons (e.g. bgpd, bfdd): zebra first, and on FRR ≥ 10 mgmtd before it (zebra
// and the others take their configuration through it).
func (i Install) Daemons(routing ...string) []string {
	var out []string
	if i.Major >= 10 {
		out = append(out, "mgmtd")
	}
	return append(append(out, "zebra"), routing...)
}

// TakesConfigFile reports whether daemon d accepts -f: FRR 10's mgmtd and staticd do not
// (mgmtd holds their configuration).
func (i Install) TakesConfigFile(d string) bool {
	return i.Major < 10 || (d != "mgmtd" && d != "staticd")
}

// Env is the installation as environment variables, for processes that select it again
// (the lab's agents, the UML guest).
func (i Install) Env() []string {
	if i == Debian12 {
		return []string{"WEFT_FRR=8"}
	}
	return []string{"WEFT_FRR=10", "WEFT_FRR10_PREFIX=" + filepath.Dir(filepath.Dir(i.DaemonDir))}
}

// String names the installation.
func (i Install) String() string {
	return "FRR " + strconv.Itoa(i.Major) + " (" + i.DaemonDir + ")"
}

// StartDaemon starts daemon d of the installation in network namespace netns, daemonized
// (-d) with pathspace pathspace, with the extra arguments (-f, --log …; -f is the caller's
// to give, see TakesConfigFile), and returns once the daemon has forked. Its output goes to
// a file, not a pipe: a daemonized FRR daemon keeps the stdout it was given open, so a
// caller reading a pipe would wait for ever (FRR 10's mgmtd does).
func (i Install) StartDaemon(ctx context.Context, netns, pathspace, d string, extra ...string) error {
	out, err := os.CreateTemp("", "weft-frr-start-*")
	if err != nil {
		return err
	}
	defer os.Remove(out.Name())
	defer out.Close()
	args := append([]string{"netns", "exec", netns, i.Daemon(d), "-d", "-N", pathspace, "-P", "0"}, extra...)
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(out.Name())
		return fmt.Errorf("start %s in %s: %w: %s", d, netns, err, strings.TrimSpace(string(msg)))
	}
	return nil
}
