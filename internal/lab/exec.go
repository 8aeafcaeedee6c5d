package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// run executes a command and returns its combined output; the error names the command.
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// ip runs iproute2; the lab plumbs its fabric with the same commands an operator would type.
func ip(ctx context.Context, args ...string) error {
	_, err := run(ctx, "ip", args...)
	return err
}

// inNS runs a command inside a network namespace.
func inNS(ctx context.Context, ns string, args ...string) (string, error) {
	return run(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// ExecArgs is the command line that runs argv in target's namespace: `ip netns exec NS argv...`.
// A vtysh there reaches the target's FRR: a node (NODE or NODE-rt) its router's, a leaf
// (leafN) or the spine their own. Every FRR of the lab runs in a pathspace named after its
// namespace, which vtysh needs (-N) and a user cannot guess, so ExecArgs adds it unless argv
// names one already (-N or --pathspace: the L3 lab's host speaker runs in NODE's namespace,
// pathspace NODE's namespace).
func (s *State) ExecArgs(target string, argv []string) ([]string, error) {
	if len(argv) == 0 {
		return nil, errors.New("no command given (weft lab exec TARGET -- CMD...)")
	}
	ns, err := s.Target(target)
	if err != nil {
		return nil, err
	}
	if argv[0] == "vtysh" {
		// The lab's FRR's own vtysh (FRR 10's lives in the build cache, not on PATH).
		argv = append([]string{s.frr().Vtysh}, argv[1:]...)
	}
	if filepath.Base(argv[0]) == "vtysh" && !slices.ContainsFunc(argv[1:], func(a string) bool {
		return a == "-N" || strings.HasPrefix(a, "--pathspace") || (strings.HasPrefix(a, "-N") && len(a) > 2)
	}) {
		pathspace, err := s.pathspace(target)
		if err != nil {
			return nil, err
		}
		argv = append([]string{argv[0], "-N", pathspace}, argv[1:]...)
	}
	return append([]string{"ip", "netns", "exec", ns}, argv...), nil
}

// pathspace is the FRR pathspace of target's router.
func (s *State) pathspace(target string) (string, error) {
	if target == spineName {
		return s.Spine, nil
	}
	if l := s.leaf(target); l != nil {
		return l.Netns, nil
	}
	if n, err := s.Node(strings.TrimSuffix(target, "-rt")); err == nil {
		return n.RouterNetns, nil
	}
	return "", fmt.Errorf("%q runs no FRR: vtysh reaches the nodes (NODE, NODE-rt), the leaves and the spine", target)
}
