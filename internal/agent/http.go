package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weftnet/weft/internal/frr"
)

// Status is what /status serves.
type Status struct {
	Node string `json:"node"`
	Report
	// Running is the pass in progress, if one runs.
	Running *Progress `json:"running,omitempty"`
}

// Status returns the last report and the pass in progress, read together.
func (a *Agent) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := Status{Node: a.Node.Name, Report: a.last}
	if a.running != nil {
		p := *a.running
		st.Running = &p
	}
	return st
}

// sessionsMaxAge is how long a live read of the BGP sessions serves later /sessions requests.
const sessionsMaxAge = time.Second

// liveSessions reads the BGP sessions from FRR now (the report's are as old as the last
// pass). Requests are served one at a time and a read less than sessionsMaxAge old is
// reused: /sessions listens where /metrics does, and each read starts a vtysh.
func (a *Agent) liveSessions(ctx context.Context) ([]frr.Session, error) {
	a.sessionsMu.Lock()
	defer a.sessionsMu.Unlock()
	if !a.sessionsAt.IsZero() && time.Since(a.sessionsAt) < sessionsMaxAge {
		return a.sessions, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	s, err := a.FRR.Sessions(ctx)
	if err != nil {
		return nil, err
	}
	a.sessions, a.sessionsAt = s, time.Now()
	return s, nil
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

// Handler serves /healthz (the process is alive), /readyz (the last reconcile converged),
// /status (the last report as JSON, with the pass in progress if one runs), /sessions (the
// BGP sessions as FRR reports them now) and /metrics.
func (a *Agent) Handler(gatherer prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := a.Last()
		switch {
		case r.Generation == 0:
			http.Error(w, "no reconcile has finished yet", http.StatusServiceUnavailable)
		case r.Error != "":
			http.Error(w, "last reconcile failed: "+r.Error, http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok\n"))
		}
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(a.Status())
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		sessions, err := a.liveSessions(r.Context())
		if err != nil {
			http.Error(w, "read BGP sessions: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(sessions)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{}))
	return mux
}
