// Package frrproc is one FRR instance in a network namespace, as processes and directories:
// where pathspace <p> keeps its pid files, sockets and configuration, how its directories
// are made for daemons that drop privileges to frr, whether a recorded pid is still that
// instance's process, and how processes are stopped. The agent, the lab, the FRR test harness
// and the end-to-end tests all go through it, so they agree on what is theirs to kill.
package frrproc

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weftnet/weft/internal/frrinstall"
)

// RunDir holds pathspace's pid files and vty sockets.
func RunDir(pathspace string) string { return filepath.Join(frrinstall.RunRoot, pathspace) }

// ConfDir holds pathspace's frr.conf and vtysh.conf.
func ConfDir(pathspace string) string { return filepath.Join(frrinstall.ConfRoot, pathspace) }

// StateDir holds pathspace's state (FRR ≥ 10's bgpd keeps graceful-restart data there).
func StateDir(pathspace string) string { return filepath.Join(frrinstall.StateRoot, pathspace) }

// PIDFile is where daemon d of pathspace writes its pid.
func PIDFile(pathspace, d string) string { return filepath.Join(RunDir(pathspace), d+".pid") }

// Prepare creates pathspace's run and configuration directories (and, for FRR ≥ 10, its
// state directory, best effort: a user-mode-linux guest's root is read-only and FRR runs
// without it), owned by the frr user the daemons drop privileges to, and writes frr.conf
// (owned by frr, mode 0640) and vtysh.conf.
func Prepare(inst frrinstall.Install, pathspace, frrConf, vtyshConf string) error {
	uid, gid, err := frrUser()
	if err != nil {
		return err
	}
	for _, d := range []string{RunDir(pathspace), ConfDir(pathspace)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return err
		}
	}
	if inst.Major >= 10 {
		if st := StateDir(pathspace); os.MkdirAll(st, 0o755) == nil {
			_ = os.Chown(st, uid, gid)
		}
	}
	conf := filepath.Join(ConfDir(pathspace), "frr.conf")
	if err := os.WriteFile(conf, []byte(frrConf), 0o640); err != nil {
		return err
	}
	if err := os.Chown(conf, uid, gid); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(ConfDir(pathspace), "vtysh.conf"), []byte(vtyshConf), 0o640)
}

// Chown gives path to the frr user (a log file the daemons must write).
func Chown(path string) error {
	uid, gid, err := frrUser()
	if err != nil {
		return err
	}
	return os.Chown(path, uid, gid)
}

func frrUser() (uid, gid int, err error) {
	u, err := user.Lookup("frr")
	if err != nil {
		return 0, 0, fmt.Errorf("the frr user: %w", err)
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, nil
}

// ReadPID reads a pid file: the pid, or an error when the file is missing or holds no pid
// above 1.
func ReadPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0, fmt.Errorf("%s: no pid in %q", path, b)
	}
	return pid, nil
}

// Alive says whether pid is a running process. A zombie counts as gone: it has exited, and
// its parent (often not the caller) has not reaped it yet.
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// Marked says whether pid's command line or environment contains mark (a namespace or
// directory name of its owner). A recorded pid may have been reused by an unrelated process
// since the owner's died; that one must not be killed.
func Marked(pid int, mark string) bool {
	for _, f := range []string{"cmdline", "environ"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, f))
		if err == nil && strings.Contains(string(b), mark) {
			return true
		}
	}
	return false
}

// DaemonOf says whether pid is an FRR daemon (of any installation: FRR 8.4's in
// /usr/lib/frr, FRR 10's in the build cache) started with pathspace -N pathspace.
func DaemonOf(pid int, pathspace string) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	args := strings.Split(string(b), "\x00")
	if len(args) == 0 || !strings.Contains(args[0], "/lib/frr/") {
		return false
	}
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-N" && args[i+1] == pathspace {
			return true
		}
	}
	return false
}

// Stop sends SIGTERM to every pid, waits up to grace for them to exit, then sends SIGKILL
// and waits up to killWait (a process inside a long netlink call, such as a bulk deletion
// of devices, dies only when the call returns).
func Stop(pids []int, grace, killWait time.Duration) error {
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGTERM)
	}
	if waitGone(pids, grace) {
		return nil
	}
	for _, p := range pids {
		_ = syscall.Kill(p, syscall.SIGKILL)
	}
	if waitGone(pids, killWait) {
		return nil
	}
	var left []int
	for _, p := range pids {
		if Alive(p) {
			left = append(left, p)
		}
	}
	return fmt.Errorf("processes %v do not exit", left)
}

// pollInterval is how often Stop looks whether the processes are gone.
const pollInterval = 20 * time.Millisecond

func waitGone(pids []int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		gone := true
		for _, p := range pids {
			if Alive(p) {
				gone = false
				break
			}
		}
		if gone {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
}

// Grace and KillWait are Remove's waits: FRR's daemons exit within a second of SIGTERM.
const (
	Grace    = 5 * time.Second
	KillWait = 60 * time.Second
)

// Remove stops every daemon of pathspace that has a pid file (whichever FRR version started
// it; a pid that is no longer that instance's daemon is left alone) and deletes the
// instance's directories.
func Remove(pathspace string) error {
	var pids []int
	files, _ := filepath.Glob(filepath.Join(RunDir(pathspace), "*.pid"))
	for _, f := range files {
		if pid, err := ReadPID(f); err == nil && DaemonOf(pid, pathspace) {
			pids = append(pids, pid)
		}
	}
	err := Stop(pids, Grace, KillWait)
	return errors.Join(err, os.RemoveAll(RunDir(pathspace)), os.RemoveAll(ConfDir(pathspace)), os.RemoveAll(StateDir(pathspace)))
}

// StopMarked stops process pid (as Stop does) unless mark is set and the process does not
// carry it (see Marked): the pid was recorded earlier and may belong to someone else now.
func StopMarked(pid int, mark string) error {
	if mark != "" && !Marked(pid, mark) {
		return nil
	}
	return Stop([]int{pid}, Grace, KillWait)
}
