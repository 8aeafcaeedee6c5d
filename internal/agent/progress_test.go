package agent

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
)

// blockingFRR's Apply waits until release is closed. The real FRR's reloads are driven by the
// Kubernetes-mode test and the e2e suite; this one only holds a pass in its frr step.
type blockingFRR struct {
	entered chan struct{}
	release chan struct{}
}

func (f *blockingFRR) Apply(ctx context.Context, _ string) (bool, error) {
	close(f.entered)
	select {
	case <-f.release:
		return true, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

func (f *blockingFRR) Sessions(context.Context) ([]frr.Session, error) { return nil, nil }

// TestPassInProgress: while a pass is stuck in a step, /status names the step and the log
// says so every slowPassEvery; afterwards, no pass is reported running.
func TestPassInProgress(t *testing.T) {
	f := &blockingFRR{entered: make(chan struct{}), release: make(chan struct{})}
	var logs syncLog
	a := &Agent{Source: staticSource{}, FRR: f, Kernel: fakeKernel{}, slowPassEvery: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	srv := httptest.NewServer(a.Handler(prometheus.NewRegistry()))
	defer srv.Close()
	status := func() (st struct {
		Generation int64
		Running    *agentapi.Progress
	}) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "/status")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := status(); st.Running != nil {
		t.Fatalf("before any pass: running %+v", st.Running)
	}
	done := make(chan agentapi.Report)
	go func() { done <- a.Reconcile(context.Background()) }()
	<-f.entered
	st := status()
	if st.Running == nil || st.Running.Phase != "frr" || st.Generation != 0 {
		t.Fatalf("pass in its frr step: generation %d, running %+v", st.Generation, st.Running)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(logs.String(), `msg="reconcile pass still running" phase=frr `) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line about the pass in progress:\n%s", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(f.release)
	<-done
	if st := status(); st.Running != nil || st.Generation != 1 {
		t.Fatalf("after the pass: generation %d, running %+v", st.Generation, st.Running)
	}
}
