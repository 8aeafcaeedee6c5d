package frrinstall

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestDaemons(t *testing.T) {
	ten := Built("/opt/frr")
	if got := ten.Daemons("bgpd", "bfdd"); !slices.Equal(got, []string{"mgmtd", "zebra", "bgpd", "bfdd"}) {
		t.Errorf("FRR 10 daemons = %v; mgmtd must start first", got)
	}
	if got := Debian12.Daemons("bgpd"); !slices.Equal(got, []string{"zebra", "bgpd"}) {
		t.Errorf("FRR 8.4 daemons = %v", got)
	}
	if ten.TakesConfigFile("mgmtd") || ten.TakesConfigFile("staticd") || !ten.TakesConfigFile("bgpd") {
		t.Error("FRR 10: mgmtd and staticd take no -f, the others do")
	}
	if !Debian12.TakesConfigFile("staticd") {
		t.Error("FRR 8.4's staticd takes -f")
	}
	if ten.Vtysh != "/opt/frr/bin/vtysh" || ten.Daemon("bgpd") != "/opt/frr/lib/frr/bgpd" || ten.ReloadScript != "/opt/frr/lib/frr/frr-reload.py" {
		t.Errorf("paths: %+v", ten)
	}
}

func TestSelect(t *testing.T) {
	prefix := t.TempDir()
	for _, p := range []string{"lib/frr/zebra", "lib/frr/bgpd", "lib/frr/bfdd", "lib/frr/frr-reload.py", "bin/vtysh"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(prefix, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(prefix, p), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("WEFT_FRR10_PREFIX", prefix)
	t.Setenv("WEFT_FRR", "")
	got, err := Select()
	if err != nil || got != Built(prefix) {
		t.Errorf("default: %+v, %v; want FRR 10 at %s", got, err, prefix)
	}
	if env := got.Env(); !slices.Contains(env, "WEFT_FRR10_PREFIX="+prefix) {
		t.Errorf("Env() = %v; a guest must find the same prefix", env)
	}
	t.Setenv("WEFT_FRR", "9")
	if _, err := Select(); err == nil || !strings.Contains(err.Error(), "want 10 or 8") {
		t.Errorf("WEFT_FRR=9: %v", err)
	}
	t.Setenv("WEFT_FRR", "10")
	t.Setenv("WEFT_FRR10_PREFIX", filepath.Join(prefix, "none"))
	if _, err := Select(); err == nil || !strings.Contains(err.Error(), "hack/build-frr10.sh") {
		t.Errorf("missing FRR 10: %v; want a hint to build it", err)
	}
}

// TestGracefulRestartArgs: zebra gets -K with ZebraKeepSeconds attached (FRR 10 takes -K's
// value as optional: "-K", "120" would be -K without a value), the other daemons nothing.
func TestGracefulRestartArgs(t *testing.T) {
	for _, i := range []Install{Debian12, Built("/opt/frr")} {
		if got, want := i.GracefulRestartArgs("zebra"), []string{"-K" + strconv.Itoa(ZebraKeepSeconds)}; !slices.Equal(got, want) {
			t.Errorf("%s: zebra %v, want %v", i, got, want)
		}
		for _, d := range []string{"bgpd", "bfdd", "mgmtd", "staticd"} {
			if got := i.GracefulRestartArgs(d); got != nil {
				t.Errorf("%s: %s %v, want none", i, d, got)
			}
		}
	}
}
