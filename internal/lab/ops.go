package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/weftnet/weft/internal/frrproc"
)

// RestartAgent stops a node's agent gracefully (the data plane stays as it is) and starts a
// new one, with the extra flags given (e.g. --neighbour-refresh=false).
func RestartAgent(ctx context.Context, s *State, node, agentBinary string, extra ...string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	if err := frrproc.StopMarked(n.AgentPID, n.RouterNetns); err != nil {
		return err
	}
	pid, err := startAgent(agentBinary, s, n, extra...)
	if err != nil {
		return err
	}
	n.AgentPID = pid
	return s.save()
}

// KillFRR kills a node's FRR daemons with SIGKILL, as a crash would.
func KillFRR(s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	for _, d := range nodeDaemons(s.frr()) {
		pid, err := frrproc.ReadPID(frrproc.PIDFile(n.RouterNetns, d))
		if err != nil || !frrproc.DaemonOf(pid, n.RouterNetns) {
			continue
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if err := frrproc.Stop([]int{pid}, frrproc.Grace, frrproc.KillWait); err != nil {
			return err
		}
	}
	return nil
}

// StartFRR starts a node's FRR daemons again with an empty startup configuration (a
// supervisor that keeps no configuration); the node's agent restores it. StartFRRSaved is
// the restart that FRR's own supervisors do.
func StartFRR(ctx context.Context, s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	for _, d := range nodeDaemons(s.frr()) {
		_ = os.Remove(frrproc.PIDFile(n.RouterNetns, d))
	}
	return startFRR(ctx, s.frr(), n.RouterNetns, "", nodeDaemons(s.frr()))
}

// StartFRRSaved starts a node's FRR daemons again with the configuration the agent last
// saved (the integrated frr.conf that frr-reload.py writes), as FRR's own supervisors do:
// watchfrr restarts a crashed daemon, which reads it, and hack/frr-start.sh keeps it.
func StartFRRSaved(ctx context.Context, s *State, node string) error {
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	saved, err := os.ReadFile(filepath.Join(frrproc.ConfDir(n.RouterNetns), "frr.conf"))
	if err != nil {
		return err
	}
	for _, d := range nodeDaemons(s.frr()) {
		_ = os.Remove(frrproc.PIDFile(n.RouterNetns, d))
	}
	return startFRR(ctx, s.frr(), n.RouterNetns, string(saved), nodeDaemons(s.frr()))
}

// Vtysh runs a vtysh command against a node's FRR.
func Vtysh(ctx context.Context, s *State, node, command string) (string, error) {
	n, err := s.Node(node)
	if err != nil {
		return "", err
	}
	return inNS(ctx, n.RouterNetns, s.frr().Vtysh, "-N", n.RouterNetns, "-c", command)
}

// WriteConfig writes (or, with an empty body, removes) a file in every node's config dir.
func WriteConfig(s *State, file, body string) error {
	if filepath.Base(file) != file {
		return fmt.Errorf("%q must be a plain file name", file)
	}
	if s.Kubernetes {
		return fmt.Errorf("lab %s runs in Kubernetes mode: its objects are in the API server (weft lab kubectl)", s.Name)
	}
	for _, n := range s.Nodes {
		p := filepath.Join(n.ConfigDir, file)
		var err error
		if body == "" {
			err = os.Remove(p)
			if os.IsNotExist(err) {
				err = nil
			}
		} else {
			tmp := p + ".tmp"
			if err = os.WriteFile(tmp, []byte(body), 0o644); err == nil {
				err = os.Rename(tmp, p)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Reattach plugs a workload back into its node's host bridge (after the bridge was removed
// and recreated, as a CNI plugin would on the next pod start).
func Reattach(ctx context.Context, s *State, workload string) error {
	w, err := s.Workload(workload)
	if err != nil {
		return err
	}
	n, err := s.Node(w.Node)
	if err != nil {
		return err
	}
	return plugPort(ctx, n.Netns, w.Port, fmt.Sprintf("br-hs-%d", w.VNI))
}
