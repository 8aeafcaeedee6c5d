package manifest

import (
	"encoding/json"
	"strconv"
)

// pathAt is the field path (as joinPath and indices write it: "spec.neighbors[0].asn",
// `metadata.labels["a/b"]`) of the innermost value of js that holds byte offset off, or ""
// when js cannot be scanned. encoding/json reports a value of the wrong type by its offset
// and a path without list indices or map keys; this gives the full one.
func pathAt(js []byte, off int) string {
	s := jsonScanner{js: js, target: off}
	s.value("")
	return s.found
}

// jsonScanner walks valid JSON (the output of the YAML conversion). It never loops on bad
// input: every step consumes a byte or stops.
type jsonScanner struct {
	js     []byte
	i      int
	target int
	found  string
	done   bool
}

func (s *jsonScanner) value(path string) {
	s.space()
	start := s.i
	if s.i >= len(s.js) {
		return
	}
	switch s.js[s.i] {
	case '{':
		s.i++
		s.object(path)
	case '[':
		s.i++
		s.array(path)
	case '"':
		s.str()
	default:
		for s.i < len(s.js) && !isDelim(s.js[s.i]) {
			s.i++
		}
	}
	if !s.done && start <= s.target && s.target < s.i {
		s.found, s.done = path, true
	}
}

func (s *jsonScanner) object(path string) {
	for s.space(); s.i < len(s.js) && s.js[s.i] != '}'; s.space() {
		key, ok := s.str()
		if s.space(); !ok || s.i >= len(s.js) || s.js[s.i] != ':' {
			s.i = len(s.js)
			return
		}
		s.i++
		s.value(joinPath(path, key))
		if s.space(); s.i < len(s.js) && s.js[s.i] == ',' {
			s.i++
		}
	}
	s.i++
}

func (s *jsonScanner) array(path string) {
	for n := 0; ; n++ {
		if s.space(); s.i >= len(s.js) || s.js[s.i] == ']' {
			break
		}
		at := s.i
		s.value(path + "[" + strconv.Itoa(n) + "]")
		if s.space(); s.i < len(s.js) && s.js[s.i] == ',' {
			s.i++
		} else if s.i == at {
			s.i = len(s.js)
		}
	}
	s.i++
}

// str reads a string at s.i.
func (s *jsonScanner) str() (string, bool) {
	if s.i >= len(s.js) || s.js[s.i] != '"' {
		return "", false
	}
	start := s.i
	for s.i++; s.i < len(s.js) && s.js[s.i] != '"'; s.i++ {
		if s.js[s.i] == '\\' {
			s.i++
		}
	}
	s.i++
	if s.i > len(s.js) {
		return "", false
	}
	var out string
	err := json.Unmarshal(s.js[start:s.i], &out)
	return out, err == nil
}

func (s *jsonScanner) space() {
	for s.i < len(s.js) && (s.js[s.i] == ' ' || s.js[s.i] == '\t' || s.js[s.i] == '\n' || s.js[s.i] == '\r') {
		s.i++
	}
}

func isDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ' ', '\t', '\n', '\r', ':':
		return true
	}
	return false
}
