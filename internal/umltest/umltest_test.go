package umltest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func requireUML(t *testing.T) {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

func TestRun(t *testing.T) {
	requireUML(t)
	tests := []struct {
		name    string
		modules []string
		argv    []string
		code    int
		output  string
	}{
		{"exit code", nil, []string{"/bin/sh", "-c", "echo hello from $(uname -r); exit 3"}, 3, "hello from 6."},
		{"vrf module", []string{"vrf"}, []string{"/bin/sh", "-c", "ip link add red type vrf table 10 && ip -d link show red"}, 0, "vrf table 10"},
		{"guest env and dir", nil, []string{"/bin/sh", "-c", "echo $" + GuestEnv + " $(pwd)"}, 0, "1 /"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := ""
			if tc.name == "guest env and dir" {
				dir = "/"
			}
			out, err := Run(context.Background(), Config{Modules: tc.modules, Dir: dir}, tc.argv...)
			if err != nil {
				t.Fatal(err)
			}
			if out.ExitCode != tc.code || !strings.Contains(string(out.Output), tc.output) {
				t.Fatalf("exit %d, output %q; want exit %d and %q", out.ExitCode, out.Output, tc.code, tc.output)
			}
		})
	}
}

func TestRunPattern(t *testing.T) {
	if got := runPattern("TestA/b c.d"); got != `^TestA$/^b c\.d$` {
		t.Fatal(got)
	}
}

// TestNeed re-runs itself in UML because "the kernel lacks" what it pretends to need outside
// the guest.
func TestNeed(t *testing.T) {
	if !Need(t, InGuest) {
		return
	}
	if !InGuest() {
		t.Fatal("body ran outside the guest")
	}
}

func TestRunTimeoutLeavesNothing(t *testing.T) {
	requireUML(t)
	_, err := Run(context.Background(), Config{Timeout: 4 * time.Second}, "/bin/sleep", "600")
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("want a timeout, got %v", err)
	}
	if b, _ := exec.Command("pgrep", "-f", "weft-uml-").Output(); len(b) != 0 {
		t.Fatalf("uml processes left behind:\n%s", b)
	}
}
