package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
)

// Status returns the last report and the pass in progress, read together.
func (a *Agent) Status() agentapi.Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := agentapi.Status{Node: a.Node.Name, Report: a.last}
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
