package lab

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// MigrationResult is what `weft lab migrate` prints.
type MigrationResult struct {
	Workload string      `json:"workload"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Pinger   string      `json:"pinger"`
	Probe    ProbeResult `json:"probe"`
}

// Migrate moves a workload to another node keeping its MAC and IP (its port is removed on the
// old node and recreated on the new one, then it announces itself with a gratuitous ARP, as
// a live-migrated VM does), while a workload on a third node probes it every interval.
func Migrate(ctx context.Context, s *State, workload, to string, interval time.Duration) (MigrationResult, error) {
	w, err := s.Workload(workload)
	if err != nil {
		return MigrationResult{}, err
	}
	dst, err := s.Node(to)
	if err != nil {
		return MigrationResult{}, err
	}
	if w.Node == to {
		return MigrationResult{}, fmt.Errorf("%s already runs on %s", workload, to)
	}
	src, err := s.Node(w.Node)
	if err != nil {
		return MigrationResult{}, err
	}
	pinger := pickPinger(s, w, to)
	if pinger == nil {
		return MigrationResult{}, fmt.Errorf("no other workload on VNI %d can probe %s", w.VNI, workload)
	}
	target := netip.MustParsePrefix(w.IP).Addr()
	res := MigrationResult{Workload: workload, From: src.Name, To: to, Pinger: pinger.Name}

	const lead, tail = time.Second, 2 * time.Second
	type probeOut struct {
		r   ProbeResult
		err error
	}
	ch := make(chan probeOut, 1)
	go func() {
		r, err := Probe(ctx, pinger.Netns, target, interval, lead+tail)
		ch <- probeOut{r, err}
	}()
	select {
	case <-ctx.Done():
		return res, ctx.Err()
	case <-time.After(lead):
	}
	if err := ip(ctx, "-n", src.Netns, "link", "del", w.Port); err != nil {
		return res, fmt.Errorf("remove %s from %s: %w", workload, src.Name, err)
	}
	if err := s.attach(ctx, w, dst); err != nil {
		return res, fmt.Errorf("attach %s to %s: %w", workload, to, err)
	}
	if err := s.save(); err != nil {
		return res, err
	}
	p := <-ch
	if p.err != nil {
		return res, p.err
	}
	res.Probe = p.r
	return res, nil
}

// pickPinger prefers a workload of the same VNI on a node that is neither the source nor the
// destination (the case where EVPN convergence, not local flooding, ends the outage).
func pickPinger(s *State, w *Workload, to string) *Workload {
	var fallback *Workload
	for i := range s.Workloads {
		o := &s.Workloads[i]
		if o.Name == w.Name || o.VNI != w.VNI {
			continue
		}
		if o.Node != w.Node && o.Node != to {
			return o
		}
		if fallback == nil {
			fallback = o
		}
	}
	return fallback
}

// Exec runs a command in a lab target's namespace.
func Exec(ctx context.Context, s *State, target string, argv []string) (string, error) {
	ns, err := s.Target(target)
	if err != nil {
		return "", err
	}
	if len(argv) == 0 {
		return "", fmt.Errorf("no command given")
	}
	out, err := inNS(ctx, ns, argv...)
	return strings.TrimRight(out, "\n"), err
}
