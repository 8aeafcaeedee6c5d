// Package toolcache says where weft's tools keep what they build or fetch outside the
// repository (FRR 10, the envtest binaries, controller-gen): $XDG_CACHE_HOME/weft, else
// ~/.cache/weft, the directory hack/install-deps.sh fills.
package toolcache

import (
	"os"
	"os/user"
	"path/filepath"
)

// Dir is the cache directory. A user-mode-linux guest starts with a bare environment (no
// HOME, or HOME=/): the home directory then comes from the password database, as the shell's
// would.
func Dir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "/" {
			if u, uerr := user.Current(); uerr == nil {
				home = u.HomeDir
			}
		}
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "weft")
}
