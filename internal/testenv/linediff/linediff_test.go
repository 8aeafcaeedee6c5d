package linediff

import "testing"

func TestFirst(t *testing.T) {
	for _, tc := range []struct {
		name, want, got, past string
		n                     int
		wantLine, gotLine     string
	}{
		{"equal", "a\nb", "a\nb", "", 0, "", ""},
		{"second line", "a\nb\nc", "a\nx\nc", "", 2, "b", "x"},
		{"got shorter", "a\nb", "a", "<end>", 2, "b", "<end>"},
		{"want shorter", "a", "a\nb", "<end>", 2, "<end>", "b"},
		// Read as "", an empty last line is not told from an ended text.
		{"trailing newline hidden", "a\n", "a", "", 0, "", ""},
		{"trailing newline shown", "a\n", "a", "<end>", 2, "", "<end>"},
	} {
		n, w, g := First(tc.want, tc.got, tc.past)
		if n != tc.n || w != tc.wantLine || g != tc.gotLine {
			t.Errorf("%s: First = %d, %q, %q; want %d, %q, %q", tc.name, n, w, g, tc.n, tc.wantLine, tc.gotLine)
		}
	}
}
