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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("agent at %s: %w", addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("agent at %s: %s: %s: %s", addr, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
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
		_ = enc.Encode(Status{Node: a.Node.Name, Report: a.Last(), Running: a.Running()})
	})
	mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, r *http.Request) {
		// Read from FRR now: the report's sessions are as old as the last pass.
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		sessions, err := a.FRR.Sessions(ctx)
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
