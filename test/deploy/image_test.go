package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/testenv"
)

// TestImageShipsTheTestedFRR: the FRR the image installs is the FRR the tests build and run
// (the same version in the Dockerfile, in hack/build-frr10.sh and in frrinstall, and the
// Dockerfile builds it with that very script), so what is shipped is what is tested.
func TestImageShipsTheTestedFRR(t *testing.T) {
	root := testenv.RepoRoot()
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for _, c := range []struct{ file, re string }{
		{"Dockerfile", `(?m)^ARG FRR_VERSION=(\S+)$`},
		{"hack/build-frr10.sh", `(?m)^FRR_VERSION=\$\{WEFT_FRR10_VERSION:-(\S+)\}$`},
	} {
		m := regexp.MustCompile(c.re).FindStringSubmatch(read(c.file))
		if m == nil {
			t.Errorf("%s: no FRR version found (%s)", c.file, c.re)
			continue
		}
		if m[1] != frrinstall.FRR10Release {
			t.Errorf("%s has FRR %s; the tests run %s (frrinstall.FRR10Release)", c.file, m[1], frrinstall.FRR10Release)
		}
	}
	docker := read("Dockerfile")
	if !regexp.MustCompile(`(?m)^RUN WEFT_FRR10_VERSION=\$\{FRR_VERSION\} \S+ /src/hack/build-frr10.sh`).MatchString(docker) {
		t.Error("the Dockerfile does not build FRR ${FRR_VERSION} with hack/build-frr10.sh")
	}
	if regexp.MustCompile(`(?m)apt-get install[^&]*\bfrr\b`).MatchString(docker) {
		t.Error("the Dockerfile installs a packaged frr besides the one it builds")
	}
}
