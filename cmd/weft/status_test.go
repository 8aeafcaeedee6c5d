package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/weftnet/weft/internal/agent"
	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/frr"
	"github.com/weftnet/weft/internal/plan"
)

// TestStatus checks weft status's contract on canned agent answers (the e2e suite's TestCLI
// asks a real agent): exit 0 for a converged pass without failures, 2 for a failed
// resource, a failed pass or no pass yet, 1 when the agent cannot be asked; failed resources
// are listed with reason, field and message; the live sessions replace the last pass's.
func TestStatus(t *testing.T) {
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	converged := agentapi.Status{Node: "node1", Report: agentapi.Report{Time: at, Duration: 90 * time.Millisecond, Generation: 7,
		Applied:  []plan.Ref{{Kind: "Underlay", Name: "fabric"}, {Kind: "L2VNI", Name: "web"}},
		Sessions: []frr.Session{{VRF: "default", Neighbor: "10.0.1.0", State: "Active"}}}}
	failed := converged
	failed.Failed = []plan.ResourceError{{Kind: "L2VNI", Name: "db", Field: "spec.vni", Reason: "Conflict", Message: "VNI 110 is already\nused by L2VNI/web"}}
	unreadable := converged
	unreadable.Failed = []plan.ResourceError{
		{Source: "cfg/bad.yaml: document 2", Kind: "L2VNI", Namespace: "default", Name: "x", Field: "spec.vni", Reason: "Invalid", Message: "cannot unmarshal string"},
		{Source: "cfg/junk.yaml: document 1", Reason: "Invalid", Message: "not YAML"},
	}
	kept := converged
	kept.Failed = []plan.ResourceError{{Kind: "L2VNI", Namespace: "weft-system", Name: "web", Field: "spec.mtu", Reason: "Invalid", Message: "100 is outside 576..9216" + agent.KeptNote}}
	warned := converged
	warned.Kernel.Warnings = []string{"L2VNI 110: External host bridge br-legacy has addresses (10.0.0.1/24)"}
	broken := converged
	broken.Error = "apply frr config (the running configuration is kept): frr-reload.py --reload failed"
	broken.Running = &agentapi.Progress{Started: time.Now().Add(-20 * time.Second), Phase: "frr", PhaseStarted: time.Now().Add(-12 * time.Second)}
	tests := []struct {
		name     string
		status   agentapi.Status
		sessions int // HTTP status of /sessions
		code     int
		want     []string
	}{
		{"converged", converged, http.StatusOK, 0, []string{"node node1: pass 7 at 10:00:00 took 90ms: converged", "Underlay/fabric  applied", "default  10.0.1.0  Established", "STATE (now)"}},
		{"failed resource", failed, http.StatusOK, 2, []string{"L2VNI/db         failed   Conflict: spec.vni: VNI 110 is already used by L2VNI/web"}},
		{"failed pass, one in progress", broken, http.StatusOK, 2, []string{"NOT CONVERGED: apply frr config", "pass in progress for 20", "in step frr for 12"}},
		{"warning, still converged", warned, http.StatusOK, 0, []string{"converged", "warning: L2VNI 110: External host bridge br-legacy has addresses (10.0.0.1/24)"}},
		{"no pass yet", agentapi.Status{Node: "node1"}, http.StatusOK, 2, []string{"node node1: no pass has finished yet"}},
		{"unreadable documents", unreadable, http.StatusOK, 2, []string{"cfg/bad.yaml: document 2 (L2VNI/default/x)  failed   Invalid: spec.vni: cannot unmarshal string", "cfg/junk.yaml: document 1"}},
		{"failed, last good kept", kept, http.StatusOK, 2, []string{"L2VNI/weft-system/web", "Invalid: spec.mtu: 100 is outside 576..9216; the last applied version stays in force"}},
		{"sessions unreadable", converged, http.StatusServiceUnavailable, 0, []string{"default  10.0.1.0  Active", "STATE (at pass 7)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) { _ = json.NewEncoder(w).Encode(tt.status) })
			mux.HandleFunc("GET /sessions", func(w http.ResponseWriter, _ *http.Request) {
				if tt.sessions != http.StatusOK {
					http.Error(w, "vtysh failed", tt.sessions)
					return
				}
				_ = json.NewEncoder(w).Encode([]frr.Session{{VRF: "default", Neighbor: "10.0.1.0", State: "Established"}})
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			out, code := runStatus(t, "--addr", strings.TrimPrefix(srv.URL, "http://"))
			if code != tt.code {
				t.Errorf("exit code %d, want %d:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
	t.Run("unreachable", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		addr := strings.TrimPrefix(srv.URL, "http://")
		srv.Close()
		if out, code := runStatus(t, "--addr", addr); code != 1 || !strings.Contains(out, "connection refused") {
			t.Errorf("exit code %d, want 1 and the reason:\n%s", code, out)
		}
	})
	t.Run("bad flags", func(t *testing.T) {
		for _, args := range [][]string{{"--addr", "localhost"}, {"-o", "yaml"}, {"--netns", "../../proc/1/ns/net"}} {
			if out, code := runStatus(t, args...); code != 1 || !strings.Contains(out, args[0]) {
				t.Errorf("%v: exit code %d, want 1 and the flag named:\n%s", args, code, out)
			}
		}
	})
}

// runStatus runs `weft status args...` in this process: combined output and exit code.
func runStatus(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := statusCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	if err != nil && err.Error() != "" {
		out.WriteString(err.Error())
	}
	return out.String(), exitCode(err)
}
