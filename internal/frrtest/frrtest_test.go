package frrtest

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frrproc"
)

func TestStartResetStop(t *testing.T) {
	f := Start(t, Options{Staticd: true})
	out, err := f.Vtysh("show daemons")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"zebra", "bgpd", "bfdd", "staticd"} {
		if !strings.Contains(out, d) {
			t.Errorf("show daemons %q lacks %s", out, d)
		}
	}
	if out, err := exec.Command("ip", "netns", "exec", f.Netns(), "ip", "-o", "link", "show", "lo").CombinedOutput(); err != nil || !strings.Contains(string(out), "UP") {
		t.Errorf("lo in %s: %v %s", f.Netns(), err, out)
	}

	steps := []struct {
		name, conf string
	}{
		// Everything resetCommands knows: deleted through vtysh.
		{"known blocks", "vrf red\n vni 100\nexit-vrf\nrouter bgp 65000\n neighbor 10.0.0.1 remote-as 65001\nexit\n" +
			"router bgp 65000 vrf red\nexit\nip prefix-list p seq 5 permit 10.0.0.0/8\nipv6 prefix-list q seq 5 permit ::/0\n" +
			"route-map m permit 10\nexit\nbfd\n profile x\n exit\nexit\n"},
		// An interface block is not: Reset restarts the daemons.
		{"unknown block", "interface lo\n description test\nexit\n"},
	}
	for _, s := range steps {
		if err := f.Load(s.conf); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if rc, _ := f.RunningConfig(); IsEmptyConfig(rc) {
			t.Fatalf("%s: configuration did not load:\n%s", s.name, rc)
		}
		if err := f.Reset(); err != nil {
			t.Fatalf("%s: reset: %v", s.name, err)
		}
		if rc, _ := f.RunningConfig(); !IsEmptyConfig(rc) {
			t.Fatalf("%s: not empty after reset:\n%s", s.name, rc)
		}
	}
	if err := f.Load("router bgp 1\n bogus\nexit\n"); err == nil {
		t.Error("Load accepted an unknown command")
	}

	f.Stop()
	f.Stop() // a second call does nothing
	assertGone(t, f.Netns())
}

func TestSweepRemovesOrphans(t *testing.T) {
	Require(t, Installed(t))
	// An instance whose test process is gone: a pid that has just exited.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("%s%d-orphan", namePrefix, cmd.Process.Pid)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, d := range []string{frrproc.RunDir(name), frrproc.ConfDir(name)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	Start(t, Options{})
	assertGone(t, name)
}

func assertGone(t *testing.T, name string) {
	t.Helper()
	if out, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(out), name) {
		t.Errorf("netns %s is still there", name)
	}
	for _, d := range []string{frrproc.RunDir(name), frrproc.ConfDir(name)} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s is still there", d)
		}
	}
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if pid, err := strconv.Atoi(p.Name()); err == nil && frrproc.Alive(pid) && frrproc.DaemonOf(pid, name) {
			t.Errorf("daemon %d of %s still runs", pid, name)
		}
	}
}

func TestReloadDiff(t *testing.T) {
	out := "\nLines To Delete\n===============\nno hostname vm\n\nLines To Add\n============\nip forwarding\nrouter bgp 1\n neighbor x activate\n"
	del, add := ReloadDiff(out)
	if strings.Join(del, "|") != "no hostname vm" || strings.Join(add, "|") != "ip forwarding|router bgp 1| neighbor x activate" {
		t.Errorf("del %q add %q", del, add)
	}
}

func TestStripHeader(t *testing.T) {
	rc := "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\nfrr defaults traditional\nhostname vm\n" +
		"service integrated-vtysh-config\nno ip forwarding\n!\nrouter bgp 1\nexit\n!\nend\n"
	if got, want := StripHeader(rc), "no ip forwarding\n!\nrouter bgp 1\nexit\n!\n"; got != want {
		t.Errorf("StripHeader = %q, want %q", got, want)
	}
}

// TestCleanupAfterFailure runs a test that starts FRR and then fails (or panics) in a child
// process, and checks that nothing of its instance is left.
func TestCleanupAfterFailure(t *testing.T) {
	Require(t, Installed(t))
	for _, mode := range []string{"fatal", "panic"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFailingTest$", "-test.v")
			cmd.Env = append(os.Environ(), "FRRTEST_HELPER="+mode)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the helper test passed:\n%s", out)
			}
			_, rest, ok := strings.Cut(string(out), "instance=")
			if !ok {
				t.Fatalf("the helper did not start FRR:\n%s", out)
			}
			name, _, _ := strings.Cut(rest, "\n")
			assertGone(t, strings.TrimSpace(name))
		})
	}
}

// TestHelperFailingTest is run by TestCleanupAfterFailure only.
func TestHelperFailingTest(t *testing.T) {
	mode := os.Getenv("FRRTEST_HELPER")
	if mode == "" {
		t.Skip("helper for TestCleanupAfterFailure")
	}
	f := Start(t, Options{})
	fmt.Printf("instance=%s\n", f.Netns())
	if mode == "panic" {
		panic("helper panics on purpose")
	}
	t.Fatal("helper fails on purpose")
}
