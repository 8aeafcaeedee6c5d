// Package agentapi is what weft-agent's status server serves, and a client for it: the
// report of a pass as JSON, read by the CLI, the lab and the tests without importing the
// agent itself.
package agentapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/hostnet"
	"github.com/weftnet/weft/internal/plan"
)

// Status is what /status serves.
type Status struct {
	Node string `json:"node"`
	Report
	// Running is the pass in progress, if one runs.
	Running *Progress `json:"running,omitempty"`
}

// Report is the outcome of one reconcile; it is what /status serves.
type Report struct {
	Time     time.Time     `json:"time"`
	Duration time.Duration `json:"durationNanoseconds"`
	// Error is the reason the pass did not converge, empty when it did.
	Error string `json:"error,omitempty"`
	// Applied lists the resources in the plan; Failed the ones left out or not programmed.
	Applied []plan.Ref           `json:"applied"`
	Failed  []plan.ResourceError `json:"failed"`
	// Kept lists the failed resources whose last applied version stays in force (their
	// kernel and FRR state is unchanged until they are fixed or deleted).
	Kept []plan.Ref `json:"kept,omitempty"`
	// HostPorts are the workload ports of each host bridge, as this pass found them: the
	// baseline a bridge that comes back without them is compared with (Detached).
	HostPorts map[string][]string `json:"hostPorts,omitempty"`
	// FRRChanged says whether FRR's configuration was reloaded in this pass.
	FRRChanged bool `json:"frrChanged"`
	// FRRVersion is the release of the node's FRR, as last read (empty until then).
	FRRVersion string `json:"frrVersion,omitempty"`
	// Kernel is what the kernel layer did.
	Kernel   hostnet.Result `json:"kernel"`
	Sessions []frr.Session  `json:"sessions"`
	// Phases says where the pass spent its time.
	Phases Phases `json:"phases"`
	// Generation counts reconciles since start.
	Generation int64 `json:"generation"`
	// NeighbourProbes counts, since the agent started, the STALE neighbour entries of silent
	// workloads the refresher asked the kernel to confirm.
	NeighbourProbes int64 `json:"neighbourProbes"`
}

// Phases are the durations of a pass's steps, in nanoseconds in JSON.
type Phases struct {
	Load   time.Duration `json:"loadNanoseconds"`
	Plan   time.Duration `json:"planNanoseconds"` // plan.Build and frr.Render
	FRR    time.Duration `json:"frrNanoseconds"`
	Kernel time.Duration `json:"kernelNanoseconds"`
	Zebra  time.Duration `json:"zebraNanoseconds"`
	// Sessions runs alongside Kernel and Zebra.
	Sessions time.Duration `json:"sessionsNanoseconds"`
}

// Progress describes the pass in progress: since when it runs and which step it is in.
type Progress struct {
	Started time.Time `json:"started"`
	// Phase is the step, as named in Phases: load, plan, frr, kernel, zebra or sessions.
	Phase        string    `json:"phase"`
	PhaseStarted time.Time `json:"phaseStarted"`
}

// Get performs a GET of path on the status server of the agent at addr (host:port).
func Get(ctx context.Context, hc *http.Client, addr, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("agent at %s: %s: %w", addr, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("agent at %s: %s: %s: %s", addr, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// GetStatus reads the /status of the agent listening on addr (host:port) through hc.
func GetStatus(ctx context.Context, hc *http.Client, addr string) (Status, error) {
	var st Status
	return st, getJSON(ctx, hc, addr, "/status", &st)
}

// GetSessions reads the BGP sessions as FRR reports them now from the agent on addr.
func GetSessions(ctx context.Context, hc *http.Client, addr string) ([]frr.Session, error) {
	var s []frr.Session
	return s, getJSON(ctx, hc, addr, "/sessions", &s)
}

func getJSON(ctx context.Context, hc *http.Client, addr, path string, v any) error {
	body, err := Get(ctx, hc, addr, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("agent at %s: %s: %w", addr, path, err)
	}
	return nil
}
