package frrproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// start runs sleep with mark in its environment; the test reaps it at the end.
func start(t *testing.T, mark string) *exec.Cmd {
	t.Helper()
	c := exec.Command("sleep", "60")
	c.Env = append(os.Environ(), "WEFT_TEST_MARK="+mark)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	return c
}

// TestStopMarkedLeavesOthersAlone: a pid that does not carry the owner's mark is someone
// else's process (the pid was reused) and survives; a marked one is stopped.
func TestStopMarkedLeavesOthersAlone(t *testing.T) {
	mine, other := start(t, "weft-test-mine"), start(t, "weft-test-other")
	if !Marked(mine.Process.Pid, "weft-test-mine") || Marked(other.Process.Pid, "weft-test-mine") {
		t.Fatal("Marked does not tell the two processes apart")
	}
	// Reap the stopped child as soon as it exits, as its parent would.
	done := make(chan struct{})
	go func() { _ = mine.Wait(); close(done) }()
	if err := StopMarked(mine.Process.Pid, "weft-test-mine"); err != nil {
		t.Fatal(err)
	}
	if err := StopMarked(other.Process.Pid, "weft-test-mine"); err != nil {
		t.Fatal(err)
	}
	<-done
	if !Alive(other.Process.Pid) {
		t.Error("a process without the mark was stopped")
	}
}

// TestZombieIsNotAlive: an exited child nobody reaped is gone for Alive, so Stop does not
// wait for it until its deadline.
func TestZombieIsNotAlive(t *testing.T) {
	c := exec.Command("true")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Wait() }()
	pid := c.Process.Pid
	deadline := time.Now().Add(10 * time.Second)
	for Alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("pid %d still alive after it exited", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join("/proc", itoa(pid))); err != nil {
		t.Fatalf("the zombie should still be in /proc until reaped: %v", err)
	}
	if err := Stop([]int{pid}, time.Second, time.Second); err != nil {
		t.Errorf("Stop waits for a zombie: %v", err)
	}
	if live := start(t, "weft-test-live"); !Alive(live.Process.Pid) {
		t.Error("a running process is not alive")
	}
}

// TestReadPID: a pid file holds one pid above 1; anything else is an error, not pid 0 or 1.
func TestReadPID(t *testing.T) {
	dir := t.TempDir()
	for content, ok := range map[string]bool{"1234\n": true, "1": false, "0": false, "x": false, "": false, "-5": false} {
		p := filepath.Join(dir, "d.pid")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		pid, err := ReadPID(p)
		if (err == nil) != ok || (ok && pid != 1234) {
			t.Errorf("ReadPID(%q) = %d, %v", content, pid, err)
		}
	}
	if _, err := ReadPID(filepath.Join(dir, "missing.pid")); err == nil {
		t.Error("a missing pid file reads")
	}
}

// TestDaemonOf: only an FRR daemon binary started with -N <pathspace> is that instance's.
func TestDaemonOf(t *testing.T) {
	c := start(t, "weft-test-daemon")
	if DaemonOf(c.Process.Pid, "weft-test-daemon") {
		t.Error("sleep is taken for an FRR daemon")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
