// Package umltest runs programs — typically a compiled Go test binary — inside a
// user-mode-linux kernel (Debian's user-mode-linux package), for kernel features the build
// machine lacks (VRF, 8021q, dummy, openvswitch) and cannot load (no module support).
//
// The guest boots in about two seconds with the host's / as a read-only hostfs root under a
// tmpfs overlay, so it sees the same binaries, Go toolchain output and source tree; writes
// stay in guest memory. Output and exit code come back through a hostfs-mounted directory.
//
// A test that needs such a feature calls Need; when the running kernel lacks it, the test
// re-runs itself in the guest and reports that run's result as its own.
package umltest

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Kernel is the user-mode-linux kernel binary.
const Kernel = "/usr/bin/linux.uml"

// ModulesDir holds the UML kernel's modules (with modules.dep) per kernel release.
const ModulesDir = "/usr/lib/uml/modules"

// GuestEnv is set to "1" in the environment of programs running inside the guest.
const GuestEnv = "WEFT_UML_GUEST"

//go:embed guest/*.sh
var scripts embed.FS

// Config says how to run one program in the guest.
type Config struct {
	// Modules are loaded with modprobe before the program starts.
	Modules []string
	// MemoryMB is the guest's memory; 512 when 0.
	MemoryMB int
	// Timeout bounds the whole run, boot included; 5 minutes when 0.
	Timeout time.Duration
	// Dir is the program's working directory; the caller's when empty.
	Dir string
	// Env is added to the program's environment (GuestEnv=1 always is).
	Env []string
}

// Output is the result of a program that ran in the guest.
type Output struct {
	// ExitCode is the program's exit status.
	ExitCode int
	// Output is the program's combined stdout and stderr.
	Output []byte
	// Console is the kernel console, for diagnosing a guest that failed to boot.
	Console []byte
}

// InGuest reports whether this process runs inside the UML guest.
func InGuest() bool { return os.Getenv(GuestEnv) == "1" }

// Available returns nil when a guest can be started here.
func Available() error {
	if _, err := os.Stat(Kernel); err != nil {
		return fmt.Errorf("user-mode-linux is not installed (apt-get install user-mode-linux kmod): %w", err)
	}
	if _, err := os.Stat(ModulesDir); err != nil {
		return fmt.Errorf("uml modules missing: %w", err)
	}
	if _, err := exec.LookPath("modprobe"); err != nil {
		return fmt.Errorf("modprobe missing (apt-get install kmod): %w", err)
	}
	return nil
}

// Run boots a guest, runs argv in it and returns its exit code and output. The error is
// non-nil only when the guest could not run the program (boot failure, timeout); a program
// that fails is a non-zero ExitCode. No process or temporary file outlives Run.
func Run(ctx context.Context, cfg Config, argv ...string) (Output, error) {
	var out Output
	if len(argv) == 0 {
		return out, errors.New("no program to run")
	}
	if err := Available(); err != nil {
		return out, err
	}
	if cfg.MemoryMB == 0 {
		cfg.MemoryMB = 512
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Minute
	}
	if cfg.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return out, err
		}
		cfg.Dir = wd
	}
	dir, err := os.MkdirTemp("", "weft-uml-")
	if err != nil {
		return out, err
	}
	defer os.RemoveAll(dir)
	if err := prepare(dir, cfg, argv); err != nil {
		return out, fmt.Errorf("prepare guest: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	cmd := exec.Command(Kernel,
		fmt.Sprintf("mem=%dM", cfg.MemoryMB),
		"root=/dev/root", "rootfstype=hostfs", "rootflags=/", "ro",
		"init="+filepath.Join(dir, "init.sh"),
		"umid=weft", "uml_dir="+filepath.Join(dir, "uml"),
		"con=null", "con0=null,fd:1", "quiet",
	)
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + dir}
	// UML runs as several host processes; a process group lets a timeout kill all of them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return out, fmt.Errorf("start %s: %w", Kernel, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	// Always sweep the group: after a clean power-off it is empty, after a timeout this is
	// what stops the guest.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if ctx.Err() != nil {
		<-done
	}
	waitGroupGone(cmd.Process.Pid)
	out.Console = console.Bytes()
	out.Output, _ = os.ReadFile(filepath.Join(dir, "out", "output"))
	rc, err := os.ReadFile(filepath.Join(dir, "out", "rc"))
	if err != nil {
		if ctx.Err() != nil {
			return out, fmt.Errorf("uml guest timed out after %v:\n%s\n--- the program's output so far ---\n%s", cfg.Timeout, tail(out.Console), tail(out.Output))
		}
		return out, fmt.Errorf("uml guest did not run the program:\n%s", tail(out.Console))
	}
	out.ExitCode, err = strconv.Atoi(strings.TrimSpace(string(rc)))
	if err != nil {
		return out, fmt.Errorf("bad exit code %q from guest", rc)
	}
	return out, nil
}

// waitGroupGone polls until no process of the group is left (UML's helper processes are
// reparented when the kernel process dies and may take a moment to be reaped).
func waitGroupGone(pgid int) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func prepare(dir string, cfg Config, argv []string) error {
	for _, d := range []string{"out", "uml", "modroot/lib"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	// modprobe -d <root> looks in <root>/lib/modules/<release>.
	if err := os.Symlink(ModulesDir, filepath.Join(dir, "modroot/lib/modules")); err != nil {
		return err
	}
	for _, name := range []string{"init.sh", "guest.sh"} {
		b, err := scripts.ReadFile("guest/" + name)
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte("@DIR@"), []byte(dir))
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o755); err != nil {
			return err
		}
	}
	var job strings.Builder
	job.WriteString("modprobe -d " + quote(filepath.Join(dir, "modroot")) + " -a overlay")
	for _, m := range cfg.Modules {
		job.WriteString(" " + quote(m))
	}
	job.WriteString(" || exit 125\n")
	job.WriteString("cd " + quote(cfg.Dir) + " || exit 125\n")
	job.WriteString("export " + GuestEnv + "=1")
	for _, e := range cfg.Env {
		job.WriteString(" " + quote(e))
	}
	job.WriteString("\nexec")
	for _, a := range argv {
		job.WriteString(" " + quote(a))
	}
	job.WriteString("\n")
	return os.WriteFile(filepath.Join(dir, "job.sh"), []byte(job.String()), 0o755)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func tail(b []byte) string {
	const n = 4000
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// Need returns true when the calling test can go on in this process: have() says the
// kernel has what the test needs. Otherwise it runs the same test (same binary,
// -test.run ^Name$) inside a UML guest with modules loaded, reports that run as this test's
// result (failure, skip or pass, with its output) and returns false: the caller returns.
// Without user-mode-linux the test fails when CI is set and is skipped, loudly, otherwise.
func Need(t *testing.T, have func() bool, modules ...string) bool {
	t.Helper()
	if have() {
		return true
	}
	if InGuest() {
		t.Fatalf("the kernel lacks what this test needs even inside UML (modules %v)", modules)
		return false
	}
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("needs a kernel feature this kernel lacks, and cannot run it in UML: %v", err)
		}
		t.Skipf("SKIPPED, NOT RUN: needs a kernel feature this kernel lacks, and cannot run it in UML: %v", err)
		return false
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find test binary: %v", err)
	}
	// The test in the guest times out a little before the guest does, so that a hang ends
	// with Go's dump of every goroutine in the output instead of a killed guest. Both are
	// far above what the guest's tests take (TestL3: 60-130 s) so that the tests' own
	// deadlines, which are longer in the guest (the lab's poll), fire first and explain.
	const guestTimeout = 12 * time.Minute
	args := []string{exe, "-test.run", runPattern(t.Name()), "-test.v", "-test.count=1", "-test.timeout", (guestTimeout - 30*time.Second).String()}
	start := time.Now()
	out, err := Run(t.Context(), Config{Modules: modules, Env: ForwardedEnv(), MemoryMB: 1024, Timeout: guestTimeout}, args...)
	if err != nil {
		t.Fatalf("run %s in UML: %v", t.Name(), err)
	}
	t.Logf("ran in UML (%v, modules %v)", time.Since(start).Round(time.Millisecond), modules)
	text := string(out.Output)
	name := regexp.QuoteMeta(t.Name())
	switch {
	case out.ExitCode != 0:
		t.Fatalf("in UML: exit %d:\n%s", out.ExitCode, text)
	case regexp.MustCompile(`--- SKIP: ` + name + ` `).MatchString(text):
		t.Skipf("skipped in UML:\n%s", text)
	case !regexp.MustCompile(`--- PASS: ` + name + ` `).MatchString(text):
		t.Fatalf("in UML: the test did not run:\n%s", text)
	case testing.Verbose():
		t.Logf("in UML:\n%s", text)
	}
	return false
}

// ForwardedEnv is the part of this process's environment a guest inherits: CI (so a guest
// fails instead of skipping where the host would), every WEFT_* variable, and HOME and
// XDG_CACHE_HOME (the guest shares the host's filesystem, and the tools cached there: FRR 10,
// the envtest binaries). The guest starts from a clean environment otherwise.
func ForwardedEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CI=") || strings.HasPrefix(kv, "WEFT_") || strings.HasPrefix(kv, "HOME=") || strings.HasPrefix(kv, "XDG_CACHE_HOME=") {
			env = append(env, kv)
		}
	}
	return env
}

// runPattern matches exactly one (sub)test name in -test.run syntax.
func runPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
