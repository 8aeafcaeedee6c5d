package segments

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteReadFind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "segments.json")
	f := File{Node: "node1", Segments: []Segment{
		{Namespace: "b", Name: "web", VNI: 120, Bridge: "br-hs-120", HostVeth: "host-120"},
		{Namespace: "a", Name: "web", VNI: 110, Bridge: "br-hs-110", HostVeth: "host-110", MTU: 1400},
		{Namespace: "a", Name: "db", VNI: 130, Bridge: "br-legacy", HostVeth: "host-130"},
	}}
	if wrote, err := Write(path, f); err != nil || !wrote {
		t.Fatalf("first write: %v %v", wrote, err)
	}
	if wrote, err := Write(path, f); err != nil || wrote {
		t.Fatalf("second write of the same content wrote (%v, %v)", wrote, err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := got.Find("a", "web"); err != nil || s.VNI != 110 || s.MTU != 1400 {
		t.Errorf("a/web: %+v %v", s, err)
	}
	if s, err := got.Find("", "db"); err != nil || s.Bridge != "br-legacy" {
		t.Errorf("db: %+v %v", s, err)
	}
	if _, err := got.Find("", "web"); err == nil || !strings.Contains(err.Error(), "several namespaces") {
		t.Errorf("web without a namespace: %v", err)
	}
	if _, err := got.Find("a", "nope"); err == nil || !strings.Contains(err.Error(), `"a/nope" is not applied on node "node1"`) || !strings.Contains(err.Error(), "a/db, a/web, b/web") {
		t.Errorf("missing: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "none.json")); err == nil || !strings.Contains(err.Error(), "--segments-file") {
		t.Errorf("missing file: %v", err)
	}
}
