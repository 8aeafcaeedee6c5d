package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frrproc"
)

// waitFirstPass waits until node n's agent has finished a reconcile pass, whatever its
// outcome (later waits hold the lab to the result), and fails at once when the agent exits.
func (s *State) waitFirstPass(ctx context.Context, n *Node) error {
	err := pollWhileRunning(ctx, firstPassTimeout, "the agent of "+n.Name, n.AgentPID, func() error {
		raw, err := AgentStatus(ctx, s, n.Name)
		if err != nil {
			return err
		}
		var r agentapi.Status
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("agent of %s: /status: %w", n.Name, err)
		}
		switch {
		case r.Generation > 0:
			return nil
		case r.Running != nil:
			return fmt.Errorf("agent of %s: its first pass has run for %v, in step %s for %v", n.Name,
				time.Since(r.Running.Started).Round(time.Millisecond), r.Running.Phase, time.Since(r.Running.PhaseStarted).Round(time.Millisecond))
		default:
			return fmt.Errorf("agent of %s: its first pass has not started", n.Name)
		}
	})
	if err != nil {
		return fmt.Errorf("waiting for the first reconcile of %s's agent: %w", n.Name, err)
	}
	return nil
}

// LogTails returns the last n lines of every agent log of lab name, for error reports.
func LogTails(name string, n int) string {
	paths, _ := filepath.Glob(filepath.Join(Dir(name), "*", "agent.log"))
	routers, _ := filepath.Glob(filepath.Join(Dir(name), "*-frr.log"))
	paths = append(paths, routers...)
	kube, _ := filepath.Glob(filepath.Join(Dir(name), kubeDir, "*", "*.log"))
	paths = append(paths, kube...)
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "\n--- %s (last %d lines) ---\n%s", p, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// SegmentsFile is where node's agent lists its applied L2VNIs for weft-cni.
func SegmentsFile(s *State, node string) string {
	return filepath.Join(Dir(s.Name), node, "segments.json")
}

func startAgent(bin string, s *State, n *Node, extra ...string) (int, error) {
	logPath := filepath.Join(Dir(s.Name), n.Name, "agent.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	source := []string{"--mode", "host", "--node-name", n.Name, "--node-index", fmt.Sprint(n.Index), "--config-dir", n.ConfigDir}
	if s.Kubernetes {
		source = kubeAgentArgs(n)
	}
	args := append([]string{"netns", "exec", n.Netns, bin}, source...)
	args = append(args,
		"--router-netns", n.RouterNetns,
		"--frr-pathspace", n.RouterNetns,
		"--frr-config", filepath.Join(frrproc.ConfDir(n.RouterNetns), "frr.conf"),
		"--state-dir", filepath.Join(Dir(s.Name), n.Name, "state"),
		"--last-applied-file", filepath.Join(Dir(s.Name), n.Name, "last-applied.json"),
		"--status-addr", fmt.Sprintf("127.0.0.1:%d", agentPort),
		"--resync", "30s",
		"--segments-file", SegmentsFile(s, n.Name),
		"--vtysh", s.frr().Vtysh,
		"--frr-reload-script", s.frr().ReloadScript,
	)
	if s.KernelLayout != "" {
		args = append(args, "--kernel-layout", s.KernelLayout)
	}
	cmd := exec.Command("ip", append(args, extra...)...)
	if s.Kubernetes {
		c, err := s.clusterOf(n)
		if err != nil {
			return 0, err
		}
		cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: the agent outlives `weft lab up` and a Ctrl-C in the terminal.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start agent on %s: %w", n.Name, err)
	}
	// Reap it when it exits while this process still runs (the demo, the e2e suite), so no
	// zombie waits for us; after `weft lab up` exits, init does.
	go func() { _ = cmd.Wait() }()
	return cmd.Process.Pid, nil
}
