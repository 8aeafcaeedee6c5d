// Package linediff finds the first line where two texts differ, for the failure messages of
// golden-file tests; each test words the message itself.
package linediff

import "strings"

// First returns the 1-based number of the first line where got differs from want, with that
// line of each; a text that has ended reads as past there. n is 0 when no line differs.
func First(want, got, past string) (n int, wantLine, gotLine string) {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		wl, gl := past, past
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return i + 1, wl, gl
		}
	}
	return 0, "", ""
}
