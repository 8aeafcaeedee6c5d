package frrrules

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestTwoPartsShape: a route target is refused for its shape exactly when it does not match
// ^[0-9.]+:[0-9]+$ (the numbers are checked after the shape).
func TestTwoPartsShape(t *testing.T) {
	shape := regexp.MustCompile(`^([0-9.]+):([0-9]+)$`)
	cases := []string{"", ":", "1:", ":1", "1:1", "1.2.3.4:5", "1::2", "1:2:3", "a:1", "1:a", " 1:1"}
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "019.:a "
	for range 50000 {
		b := make([]byte, r.IntN(8))
		for j := range b {
			b[j] = alphabet[r.IntN(len(alphabet))]
		}
		cases = append(cases, string(b))
	}
	for _, s := range cases {
		err := RouteTarget(s)
		shapeErr := err != nil && strings.Contains(err.Error(), "is not a route target of the form")
		if shape.MatchString(s) == shapeErr {
			t.Errorf("%q: shape match %v, RouteTarget %v", s, shape.MatchString(s), err)
		}
	}
}

// TestRouteDistinguisher: the three shapes bgpd takes, in the canonical form it prints.
func TestRouteDistinguisher(t *testing.T) {
	for s, ok := range map[string]bool{
		"65000:100": true, "4200000000:100": true, "4200000000:70000": false, "65000:4294967295": true,
		"10.0.0.1:100": true, "10.0.0.1:70000": false, "10.0.0:1": false, "::1:5": false,
		"065000:1": false, "65000:01": false, "4294967296:1": false, "65000": false,
	} {
		if err := RouteDistinguisher(s); (err == nil) != ok {
			t.Errorf("RouteDistinguisher(%q) = %v, want ok %v", s, err, ok)
		}
	}
}

// TestRanges: the bounds are inclusive, and the hold time allows 0 but not 1 or 2.
func TestRanges(t *testing.T) {
	for _, c := range []struct {
		r    Range
		v    int64
		good bool
	}{
		{EBGPMultihop, 0, false}, {EBGPMultihop, 1, true}, {EBGPMultihop, 255, true}, {EBGPMultihop, 256, false},
		{BFDInterval, 9, false}, {BFDInterval, 10, true}, {BFDInterval, 60000, true}, {BFDInterval, 60001, false},
		{BFDMultiplier, 1, false}, {BFDMultiplier, 2, true}, {BFDMinimumTTL, 255, false},
		{ASN, 0, false}, {ASN, 4294967295, true}, {ASN, 4294967296, false},
	} {
		if err := c.r.Check(c.v); (err == nil) != c.good {
			t.Errorf("%v.Check(%d) = %v, want ok %v", c.r, c.v, err, c.good)
		}
	}
	for h, ok := range map[int64]bool{0: true, 1: false, 2: false, 3: true, 65535: true, 65536: false} {
		if err := HoldTime(h); (err == nil) != ok {
			t.Errorf("HoldTime(%d) = %v, want ok %v", h, err, ok)
		}
	}
}
