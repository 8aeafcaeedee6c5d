package lab

// Tearing a lab down: every process and namespace it made, even half-built or twice.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/weftnet/weft/internal/frrproc"
)

// leftovers lists namespaces carrying the lab's prefix.
func leftovers(ctx context.Context, name string) []string {
	out, _ := run(ctx, "ip", "netns", "list")
	var left []string
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && strings.HasPrefix(f[0], name+"-") {
			left = append(left, f[0])
		}
	}
	return left
}

// Down stops every process of the lab and removes its namespaces and files. It is safe to
// run on a half-built lab or twice.
func Down(ctx context.Context, name string) error {
	if err := CheckName(name); err != nil {
		return err
	}
	var errs []error
	st, err := Load(name)
	if err == nil {
		for _, n := range st.Nodes {
			if n.AgentPID > 0 {
				if err := frrproc.StopMarked(n.AgentPID, n.RouterNetns); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	if err := downKubernetes(ctx, name, st); err != nil {
		errs = append(errs, err)
	}
	for _, ns := range leftovers(ctx, name) {
		if err := stopFRR(ns); err != nil {
			errs = append(errs, err)
		}
		// Processes still inside the namespace (a workload's prober, a stray daemon) go too.
		_ = stopProcessesIn(ctx, ns)
		if err := ip(ctx, "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(Dir(name)); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// stopProcessesIn stops every process inside namespace ns but this one: its main thread is
// listed when a namespace helper left it there (see netnamespace.Isolated).
func stopProcessesIn(ctx context.Context, ns string) error {
	out, _ := run(ctx, "ip", "netns", "pids", ns)
	var errs []error
	for _, f := range strings.Fields(out) {
		var pid int
		if _, err := fmt.Sscan(f, &pid); err == nil && pid != os.Getpid() {
			errs = append(errs, frrproc.StopMarked(pid, ""))
		}
	}
	return errors.Join(errs...)
}
