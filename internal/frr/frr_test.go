package frr

import (
	"cmp"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/frrinstall"
	"github.com/weftnet/weft/internal/frrtest"
)

// TestGoldenAcceptedByFRR loads every golden file into a real FRR 8.4.4 and FRR 10 (both
// versions weft supports) and checks that FRR
// prints it back line for line, and that frr-reload.py finds nothing to change. A string
// compare of golden files cannot catch a line FRR refuses, ignores or prints differently.
//
// Two differences are expected and allowed:
//   - "ip forwarding" and "ipv6 forwarding": zebra prints only the negative form. Rendering
//     them anyway is deliberate (see the template); frr-reload.py lists them as additions,
//     which re-applies a no-op.
//   - the order of "vni N" blocks: bgpd keeps them in a hash table and prints them in hash
//     order, which no renderer can reproduce; the blocks themselves must match.
//
// and frr-reload.py always proposes "no hostname <machine>" (vtysh's own hostname line).
func TestGoldenAcceptedByFRR(t *testing.T) {
	for _, v := range frrtest.Versions {
		t.Run("frr"+v, func(t *testing.T) { goldenAcceptedBy(t, frrtest.Version(t, v)) })
	}
}

func goldenAcceptedBy(t *testing.T, inst frrinstall.Install) {
	f := frrtest.Start(t, frrtest.Options{Install: inst})
	for _, name := range scenarioNames(t) {
		t.Run(name, func(t *testing.T) {
			if err := f.Reset(); err != nil {
				t.Fatalf("reset: %v", err)
			}
			golden := readGolden(t, name)
			if err := f.Load(golden); err != nil {
				t.Fatalf("load: %v", err)
			}
			rc, err := f.RunningConfig()
			if err != nil {
				t.Fatal(err)
			}
			want := sortVNIBlocks(withoutPositiveForwarding(golden))
			got := sortVNIBlocks(frrtest.StripHeader(rc))
			if inst.Major >= 10 {
				// FRR 10 prints the same lines in another order (filters before the BGP
				// instances, BFD profiles by byte order) and drops ebgp-multihop's default
				// 255; weft renders FRR 8.4's order. What counts is that every line is
				// there: compare each top-level block's lines as a set, and frr-reload.py
				// below proves nothing would change.
				want, got = canonicalBlocks(want), canonicalBlocks(strings.ReplaceAll(got, " ebgp-multihop\n", " ebgp-multihop 255\n"))
			}
			if got != want {
				t.Fatalf("FRR prints the golden file differently:\n%s\n--- FRR:\n%s", lineDiff(want, got), rc)
			}

			out, err := f.Reload("--test", goldenPath(name))
			if err != nil {
				t.Fatalf("frr-reload.py --test: %v", err)
			}
			del, add := frrtest.ReloadDiff(out)
			for _, l := range del {
				if !strings.HasPrefix(l, "no hostname ") {
					t.Errorf("frr-reload.py would delete %q", l)
				}
			}
			for _, l := range add {
				if (l != "ip forwarding" && l != "ipv6 forwarding") || !slices.Contains(strings.Split(golden, "\n"), l) {
					t.Errorf("frr-reload.py would add %q", l)
				}
			}
		})
	}
}

func readGolden(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(goldenPath(name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// withoutPositiveForwarding drops the forwarding lines zebra does not print back.
// canonicalBlocks sorts a configuration's top-level blocks and the lines inside each: the
// same lines in any order give the same text.
func canonicalBlocks(conf string) string {
	var blocks []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			body := slices.Clone(cur[1:])
			slices.Sort(body)
			blocks = append(blocks, strings.Join(append([]string{cur[0]}, body...), "\n"))
		}
		cur = nil
	}
	for _, l := range strings.Split(conf, "\n") {
		if l == "" || l == "!" {
			continue
		}
		if !strings.HasPrefix(l, " ") && l != "exit" && l != "exit-vrf" {
			flush()
		}
		cur = append(cur, l)
	}
	flush()
	slices.Sort(blocks)
	return strings.Join(blocks, "\n") + "\n"
}

func withoutPositiveForwarding(conf string) string {
	lines := strings.SplitAfter(conf, "\n")
	lines = slices.DeleteFunc(lines, func(l string) bool { return l == "ip forwarding\n" || l == "ipv6 forwarding\n" })
	return strings.Join(lines, "")
}

// sortVNIBlocks sorts every run of "  vni N … exit-vni" blocks by VNI.
func sortVNIBlocks(conf string) string {
	lines := strings.Split(conf, "\n")
	var out []string
	for i := 0; i < len(lines); {
		if !strings.HasPrefix(lines[i], "  vni ") {
			out = append(out, lines[i])
			i++
			continue
		}
		var blocks [][]string
		for i < len(lines) && strings.HasPrefix(lines[i], "  vni ") {
			j := i
			for j < len(lines) && lines[j] != "  exit-vni" {
				j++
			}
			blocks = append(blocks, lines[i:min(j+1, len(lines))])
			i = j + 1
		}
		slices.SortStableFunc(blocks, func(a, b []string) int {
			va, _ := strconv.Atoi(strings.TrimPrefix(a[0], "  vni "))
			vb, _ := strconv.Atoi(strings.TrimPrefix(b[0], "  vni "))
			return cmp.Compare(va, vb)
		})
		for _, b := range blocks {
			out = append(out, b...)
		}
	}
	return strings.Join(out, "\n")
}
