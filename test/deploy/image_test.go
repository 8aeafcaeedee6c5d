package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/frrtest"
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

// inEveryDebianImage are packages debian:bookworm-slim has before anything is installed (libc,
// and what bash and login need): the image's FRR may link them without installing them.
var inEveryDebianImage = []string{"libc6", "libcrypt1", "libtinfo6"}

// TestImageHasTheLibrariesOfItsFRR: every shared library that the FRR the tests run links
// (its daemons, vtysh and their libraries, as ldd resolves them), outside its own prefix,
// comes from a package the Dockerfile's final stage installs, or from the base image, so the
// image's FRR starts.
func TestImageHasTheLibrariesOfItsFRR(t *testing.T) {
	inst := frrtest.Version(t, "10")
	frrtest.Require(t, inst)
	prefix := filepath.Dir(filepath.Dir(inst.DaemonDir))
	docker, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// The final stage's apt-get install: the last one in the file.
	installs := regexp.MustCompile(`(?s)apt-get install (.*?)\n[^\n]*&& rm -rf`).FindAllStringSubmatch(string(docker), -1)
	if len(installs) == 0 {
		t.Fatal("the Dockerfile installs no package")
	}
	var shipped []string
	for _, f := range strings.Fields(installs[len(installs)-1][1]) {
		if !strings.HasPrefix(f, "-") && f != "\\" {
			shipped = append(shipped, f)
		}
	}
	shipped = append(shipped, inEveryDebianImage...)
	bins := []string{inst.Vtysh}
	for _, d := range []string{"zebra", "bgpd", "bfdd", "mgmtd", "staticd", "watchfrr"} {
		bins = append(bins, inst.Daemon(d))
	}
	libs := map[string]bool{}
	for _, b := range bins {
		out, err := exec.Command("ldd", b).CombinedOutput()
		if err != nil {
			t.Fatalf("ldd %s: %v: %s", b, err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			f := strings.Fields(l)
			if len(f) >= 3 && f[1] == "=>" {
				if f[2] == "not" {
					t.Errorf("%s: %s is not found", b, f[0])
				} else if !strings.HasPrefix(f[2], prefix+"/") {
					libs[f[2]] = true
				}
			}
		}
	}
	if len(libs) == 0 {
		t.Fatal("ldd found no system library: the check would pass whatever the Dockerfile says")
	}
	for lib := range libs {
		out, err := exec.Command("dpkg", "-S", lib).Output()
		if err != nil {
			// /lib is /usr/lib here (merged /usr): dpkg knows one of the two paths.
			out, err = exec.Command("dpkg", "-S", "/usr"+lib).Output()
		}
		if err != nil {
			t.Errorf("no package has %s", lib)
			continue
		}
		pkg := strings.SplitN(string(out), ":", 2)[0]
		if !slices.Contains(shipped, pkg) {
			t.Errorf("FRR links %s from package %s, which the Dockerfile's image does not install (it installs %v)", lib, pkg, shipped)
		}
	}
}

// TestFRRStartKeepsKernelRoutes: the image's and the systemd unit's FRR entry point starts
// zebra with the -K that frrinstall (and so the lab and its measurements) uses, attached.
func TestFRRStartKeepsKernelRoutes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), "hack", "frr-start.sh"))
	if err != nil {
		t.Fatal(err)
	}
	want := frrinstall.Debian12.GracefulRestartArgs("zebra")
	if len(want) != 1 || !regexp.MustCompile(`(?m)^\s*sed -i 's/\^zebra_options="\\\(\.\*\\\)"/zebra_options="\\1 `+regexp.QuoteMeta(want[0])+`"/'`).Match(b) {
		t.Errorf("hack/frr-start.sh does not add %v to zebra_options", want)
	}
}
