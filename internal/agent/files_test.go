package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weftnet/weft/internal/agentapi"
	"github.com/weftnet/weft/internal/plan"
)

const fsUnderlay = `apiVersion: network.weft.dev/v1alpha1
kind: Underlay
metadata: {name: fabric}
spec:
  asn: 64514
  neighbors: [{address: 192.168.11.1, type: External}]
  tunnelEndpoint: {cidrs: [100.65.0.0/24]}
`

func fsL2(name string, vni int) string {
	return fmt.Sprintf("apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata: {name: %s}\nspec: {vni: %d}\n", name, vni)
}

// writeConfig replaces a file of dir the way tools do: a temporary file renamed into place.
func writeConfig(t *testing.T, dir, name, body string) {
	t.Helper()
	tmp := filepath.Join(dir, ".tmp-"+name)
	if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

// ticking is a clock that moves a minute per reading.
func ticking() func() time.Time {
	t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { t = t.Add(time.Minute); return t }
}

var fsNode = plan.Node{Name: "node1", Index: 0}

func l2Ref(name string) plan.Ref { return plan.Ref{Kind: "L2VNI", Namespace: "default", Name: name} }

// planOf loads src and plans node1 from it.
func planOf(t *testing.T, src *FileSource) (applied []plan.Ref, failed []plan.ResourceError) {
	t.Helper()
	d, err := src.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, errs := plan.Build(d.Resources, fsNode)
	return p.Applied, append(d.Invalid, errs...)
}

// checkClaim says web (or whoever) holds VNI 110 and the other is in conflict.
func checkClaim(t *testing.T, src *FileSource, winner, loser string) {
	t.Helper()
	applied, failed := planOf(t, src)
	if !slices.Contains(applied, l2Ref(winner)) {
		t.Errorf("%s is not applied: applied %v, failed %v", winner, applied, failed)
	}
	if loser == "" {
		return
	}
	i := slices.IndexFunc(failed, func(e plan.ResourceError) bool { return e.Ref() == l2Ref(loser) })
	if i < 0 || failed[i].Reason != plan.ReasonConflict {
		t.Errorf("%s is not in conflict: failed %v", loser, failed)
	}
}

// TestFileSourceOldestWins: objects keep the age the agent first saw them at, across passes
// and restarts (the state file): a newcomer named "aaa" that claims the VNI of a working
// L2VNI "web" is the one in conflict. An object that disappears is forgotten: back, it is
// a newcomer.
func TestFileSourceOldestWins(t *testing.T) {
	dir, state := t.TempDir(), filepath.Join(t.TempDir(), "state", "first-seen.json")
	clock := ticking()
	newSource := func() *FileSource {
		return &FileSource{Dir: dir, StateFile: state, Log: slog.New(slog.DiscardHandler), now: clock}
	}
	writeConfig(t, dir, "underlay.yaml", fsUnderlay)
	writeConfig(t, dir, "web.yaml", fsL2("web", 110))
	src := newSource()
	checkClaim(t, src, "web", "")

	// "0-aaa.yaml" is read first and "aaa" sorts first: only its age says it is the newcomer.
	writeConfig(t, dir, "0-aaa.yaml", fsL2("aaa", 110))
	checkClaim(t, src, "web", "aaa")
	checkClaim(t, src, "web", "aaa")

	// A restarted agent reads the ages from the state file.
	checkClaim(t, newSource(), "web", "aaa")
	// Without them, both would be new and the first read (aaa) would win: the state matters.
	checkClaim(t, &FileSource{Dir: dir, Log: slog.New(slog.DiscardHandler)}, "aaa", "web")

	// web deleted: aaa takes the VNI and web is forgotten; web back is the newcomer.
	if err := os.Remove(filepath.Join(dir, "web.yaml")); err != nil {
		t.Fatal(err)
	}
	src = newSource()
	checkClaim(t, src, "aaa", "")
	if b, err := os.ReadFile(state); err != nil || strings.Contains(string(b), `"web"`) {
		t.Errorf("the state file still holds web (%v):\n%s", err, b)
	}
	writeConfig(t, dir, "web.yaml", fsL2("web", 110))
	checkClaim(t, src, "aaa", "web")
}

// TestFileSourceKeepsAgeOfBrokenFile: an object whose file is briefly unreadable keeps its
// age: once fixed, it is still older than a newcomer that arrived meanwhile.
func TestFileSourceKeepsAgeOfBrokenFile(t *testing.T) {
	dir := t.TempDir()
	src := &FileSource{Dir: dir, Log: slog.New(slog.DiscardHandler), now: ticking()}
	writeConfig(t, dir, "underlay.yaml", fsUnderlay)
	writeConfig(t, dir, "web.yaml", fsL2("web", 110))
	checkClaim(t, src, "web", "")
	writeConfig(t, dir, "web.yaml", strings.Replace(fsL2("web", 110), "vni:", "vnii:", 1))
	writeConfig(t, dir, "0-aaa.yaml", fsL2("aaa", 110))
	checkClaim(t, src, "aaa", "")
	writeConfig(t, dir, "web.yaml", fsL2("web", 110))
	checkClaim(t, src, "web", "aaa")
}

// TestFileSourceBadFiles: with good and bad files in the directory, the agent applies every
// good object and reports each bad document, located, in its report and on /status; a fix
// of the bad file is picked up by the next pass.
func TestFileSourceBadFiles(t *testing.T) {
	dir := t.TempDir()
	writeConfig(t, dir, "good.yaml", fsUnderlay+"---\n"+fsL2("web", 110))
	writeConfig(t, dir, "bad.yaml", "{not: [yaml")
	writeConfig(t, dir, "typo.yaml", strings.Replace(fsL2("db", 120), "kind: L2VNI", "kind: l2vni", 1))
	writeConfig(t, dir, "dup.yaml", fsL2("app", 130)+"---\n"+fsL2("app", 131))
	reg := prometheus.NewRegistry()
	a := &Agent{Node: fsNode, Source: &FileSource{Dir: dir, Log: slog.New(slog.DiscardHandler)}, FRR: &fakeFRR{}, Kernel: fakeKernel{},
		Metrics: NewMetrics(reg), Log: slog.New(slog.DiscardHandler)}

	r := a.Reconcile(context.Background())
	if r.Error != "" {
		t.Fatalf("pass failed: %s", r.Error)
	}
	for _, want := range []plan.Ref{{Kind: "Underlay", Namespace: "default", Name: "fabric"}, l2Ref("web")} {
		if !slices.Contains(r.Applied, want) {
			t.Errorf("%s not applied: %v", want, r.Applied)
		}
	}
	wantFailed := []string{
		filepath.Join(dir, "bad.yaml") + ": document 1: line 1: did not find expected ',' or ']'",
		filepath.Join(dir, "dup.yaml") + ": document 1 (L2VNI/default/app): metadata.name: also defined in " + filepath.Join(dir, "dup.yaml") + ": document 2; no copy is applied",
		filepath.Join(dir, "dup.yaml") + ": document 2 (L2VNI/default/app): metadata.name: also defined in " + filepath.Join(dir, "dup.yaml") + ": document 1; no copy is applied",
		filepath.Join(dir, "typo.yaml") + `: document 1 (l2vni/default/db): kind: "l2vni" is not a kind weft reads; did you mean "L2VNI"?`,
	}
	checkFailed(t, r.Failed, wantFailed)

	// /status serves the same, with each document's source.
	srv := httptest.NewServer(a.Handler(reg))
	defer srv.Close()
	st, err := agentapi.GetStatus(context.Background(), srv.Client(), strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	checkFailed(t, st.Failed, wantFailed)
	for _, f := range st.Failed {
		if f.Source == "" {
			t.Errorf("/status: %s has no source", f.Error())
		}
	}

	// Fixed files are read again: their objects apply, their errors are gone.
	writeConfig(t, dir, "bad.yaml", fsL2("db2", 140))
	writeConfig(t, dir, "typo.yaml", fsL2("db", 120))
	r = a.Reconcile(context.Background())
	for _, want := range []plan.Ref{l2Ref("db"), l2Ref("db2"), l2Ref("web")} {
		if !slices.Contains(r.Applied, want) {
			t.Errorf("after the fix: %s not applied: %v", want, r.Applied)
		}
	}
	checkFailed(t, r.Failed, wantFailed[1:3])
}

// checkFailed says failed holds one error per want, each starting with it.
func checkFailed(t *testing.T, failed []plan.ResourceError, want []string) {
	t.Helper()
	var got []string
	for _, f := range failed {
		got = append(got, f.Error())
	}
	slices.Sort(got)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = strings.HasPrefix(got[i], want[i])
	}
	if !ok {
		t.Errorf("failed:\n  %s\nwant (prefixes):\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
