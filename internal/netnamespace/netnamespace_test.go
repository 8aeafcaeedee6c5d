package netnamespace

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netns"
)

// TestNoThreadStaysBehind runs code in a throwaway namespace many times and then checks
// every thread of this process: none may be left in that namespace. A thread that stayed
// there (the main thread, which the runtime parks instead of retiring) puts this process in
// `ip netns pids` of the namespace, and the lab kills what it finds there.
func TestNoThreadStaysBehind(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root to create a network namespace, and CI is set: not skipping")
		}
		t.Skip("SKIPPED, NOT RUN: needs root to create a network namespace")
	}
	name := fmt.Sprintf("weft-nstest-%d", os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	target, err := netns.GetFromName(name)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	ran := 0
	for range 500 {
		if err := Do(name, func() error {
			here, err := netns.Get()
			if err != nil {
				return err
			}
			defer here.Close()
			if !here.Equal(target) {
				return fmt.Errorf("f ran outside %s", name)
			}
			ran++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if ran != 500 {
		t.Fatalf("f ran %d times, want 500", ran)
	}
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/ns/net", os.Getpid()))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("list threads: %v", err)
	}
	for _, p := range tasks {
		h, err := netns.GetFromPath(p)
		if err != nil {
			continue // the thread exited meanwhile
		}
		if h.Equal(target) {
			t.Errorf("thread %s is still in %s", p, name)
		}
		h.Close()
	}
}
