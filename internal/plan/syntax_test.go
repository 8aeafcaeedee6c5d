package plan

import (
	"math/rand/v2"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation"
)

// TestDNS1123Subdomain checks that the fast name check accepts exactly what Kubernetes'
// validation.IsDNS1123Subdomain accepts, on chosen edge cases and on random strings over an
// alphabet that reaches every rule.
func TestDNS1123Subdomain(t *testing.T) {
	cases := []string{"", "a", "a.b", "a-b", "-a", "a-", "a..b", ".a", "a.", "A", "a_b", "0", "0-0.1",
		"web", "seg-1000", "x.-y", "x.y-", strings.Repeat("a", 253), strings.Repeat("a", 254),
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63), strings.Repeat("a", 64), "é"}
	cases = append(cases, randomStrings(1, "ab09-.A_ ", 10)...)
	for _, s := range cases {
		if got, want := isDNS1123Subdomain(s), len(validation.IsDNS1123Subdomain(s)) == 0; got != want {
			t.Errorf("%q: fast check %v, validation %v", s, got, want)
		}
	}
}

// TestNamesOf checks that the names cut from one string are the ones the exported functions
// give, for VNIs of every length.
func TestNamesOf(t *testing.T) {
	for _, vni := range []uint32{0, 1, 9, 10, 99, 100, 4096, 65535, 1234567, 16777215} {
		got := namesOf(vni)
		want := vniNames{BridgeName(vni), VXLANName(vni), RouterVethName(vni), HostVethName(vni), ManagedHostBridgeName(vni)}
		if got != want {
			t.Errorf("VNI %d: %+v, want %+v", vni, got, want)
		}
	}
}

// randomStrings returns 50 000 strings shorter than maxLen over alphabet, the same for the
// same seed.
func randomStrings(seed uint64, alphabet string, maxLen int) []string {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]string, 50000)
	for i := range out {
		b := make([]byte, r.IntN(maxLen))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		out[i] = string(b)
	}
	return out
}
