package v1alpha1

import "testing"

func TestNodeIndex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{{"0", 0, true}, {"17", 17, true}, {"-1", 0, false}, {"007", 0, false}, {"x", 0, false}, {"16777216", 0, false}} {
		got, ok := NodeIndex(map[string]string{NodeIndexAnnotation: tc.in})
		if got != tc.want || ok != tc.ok {
			t.Errorf("NodeIndex(%q) = %d, %v; want %d, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := NodeIndex(nil); ok {
		t.Error("NodeIndex(nil) found an index")
	}
}
