package manifest

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// yamlProblems finds what sigs.k8s.io/yaml, and so kubectl, accepts silently or reports
// without a path: a duplicate key (the last one wins there), an infinite number or NaN
// (.inf, .nan: no JSON number holds them) and content after a "..." end-of-document marker
// (dropped there). A document that yaml.v3 cannot parse has none: the conversion to JSON
// reports it.
func yamlProblems(doc []byte) []problem {
	var out []problem
	if p := afterDocumentEnd(doc); p != nil {
		out = append(out, *p)
	}
	var n yaml3.Node
	if err := yaml3.Unmarshal(doc, &n); err != nil {
		return out
	}
	walkYAML(&n, "", &out)
	return out
}

// afterDocumentEnd finds a "..." line followed by more than blank lines and comments.
func afterDocumentEnd(doc []byte) *problem {
	end := 0
	for i, line := range bytes.Split(doc, []byte("\n")) {
		line = bytes.TrimRight(line, " \t\r")
		switch {
		case end == 0 && (string(line) == "..." || bytes.HasPrefix(line, []byte("... #"))):
			end = i + 1
		case end > 0 && len(bytes.TrimSpace(line)) > 0 && !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")):
			return &problem{msg: fmt.Sprintf(`line %d: "..." ends the document, but line %d holds more; separate documents with "---"`, end, i+1)}
		}
	}
	return nil
}

// walkYAML reports duplicate keys and non-finite numbers under n, at path. Aliases are not
// followed: the anchored node is checked where it is defined, and a chain of aliases cannot
// make the walk explode.
func walkYAML(n *yaml3.Node, path string, out *[]problem) {
	switch n.Kind {
	case yaml3.DocumentNode:
		for _, c := range n.Content {
			walkYAML(c, path, out)
		}
	case yaml3.MappingNode:
		lines := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml3.ScalarNode || k.ShortTag() == "!!merge" {
				walkYAML(v, path, out)
				continue
			}
			p := joinPath(path, k.Value)
			if first, dup := lines[k.Value]; dup {
				*out = append(*out, problem{field: p, msg: fmt.Sprintf("duplicate key (lines %d and %d)", first, k.Line)})
			} else {
				lines[k.Value] = k.Line
			}
			walkYAML(v, p, out)
		}
	case yaml3.SequenceNode:
		for i, c := range n.Content {
			walkYAML(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case yaml3.ScalarNode:
		if v := strings.ToLower(strings.TrimLeft(n.Value, "+-")); n.ShortTag() == "!!float" && (v == ".inf" || v == ".nan") {
			*out = append(*out, problem{field: path, msg: fmt.Sprintf("%s is not a number JSON can hold (infinite or NaN)", strconv.Quote(n.Value))})
		}
	}
}

// joinPath appends a mapping key to a field path: ".key" for a plain key, `["key"]`
// otherwise (a map key such as a label is user text).
func joinPath(path, key string) string {
	plain := key != ""
	for _, c := range key {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + strconv.Quote(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}
