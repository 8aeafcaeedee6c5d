package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/plan"
)

// l2 is an L2VNI document.
func l2(name string, vni int) string {
	return "apiVersion: network.weft.dev/v1alpha1\nkind: L2VNI\nmetadata:\n  name: " + name + "\nspec:\n  vni: " + strconv.Itoa(vni) + "\n"
}

// loadDir writes files into cfg/ under a new working directory and loads cfg, so that
// messages hold the short paths "cfg/<file>".
func loadDir(t *testing.T, files map[string]string) Result {
	t.Helper()
	return loadDirWith(t, &Cache{KeepFirst: true}, files)
}

// loadDirWith loads files through c (Cache{} is the host-mode agent's loader).
func loadDirWith(t *testing.T, c *Cache, files map[string]string) Result {
	t.Helper()
	t.Chdir(t.TempDir())
	if err := os.Mkdir("cfg", 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join("cfg", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := c.Load("cfg")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func refs(res Result) []string {
	var out []string
	for _, o := range res.Objects {
		out = append(out, o.Ref.String())
	}
	return out
}

func lines(errs []plan.ResourceError) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func secret(name, ns string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %q}\nstringData: {password: x}\n", name, ns)
}

// checkInvalid says res rejected exactly the documents of want, in order (Error(), exactly).
func checkInvalid(t *testing.T, res Result, want []string) {
	t.Helper()
	if got := lines(res.Invalid); !slices.Equal(got, want) {
		t.Errorf("Invalid:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// checkLoaded says res loaded exactly the objects of want (kind/namespace/name), in order.
func checkLoaded(t *testing.T, res Result, want []string) {
	t.Helper()
	if got := refs(res); !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
}
