package toolcache

import "testing"

// TestDir: $XDG_CACHE_HOME wins; without it the home directory's .cache, as
// hack/install-deps.sh and hack/envtest-assets.sh use.
func TestDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/var/cache/x")
	if got := Dir(); got != "/var/cache/x/weft" {
		t.Errorf("with XDG_CACHE_HOME: %s", got)
	}
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv("HOME", "/home/someone")
	if got := Dir(); got != "/home/someone/.cache/weft" {
		t.Errorf("with HOME: %s", got)
	}
}
