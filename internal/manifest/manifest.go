// Package manifest reads weft's API kinds from YAML files exactly as a user would
// `kubectl apply` them: multi-document files, directories of files, v1 Lists, and Secrets for
// neighbor passwords. Host mode, the lab and `weft render` share it.
//
// It reads like the API server: field names are exact and case-sensitive, unknown fields and
// duplicate keys are rejected, and an object without metadata.namespace is in "default" (as
// kubectl apply with the default context puts it). A document that cannot be read is reported
// on its own, located as "<file>: document N", and never stops the others; a document of a
// kind weft does not read is reported too, never silently dropped. Two objects with the same
// kind, namespace and name are both rejected: which one a user meant is not for weft to guess.
package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/weftnet/weft/internal/plan"
)

// DefaultNamespace is the namespace of an object whose metadata.namespace is empty.
const DefaultNamespace = "default"

// Result is what a set of files holds.
type Result struct {
	Resources plan.Resources
	// Objects locates every object of Resources, in load order: files in the order given
	// (a directory's files by name), then documents, then the items of a List.
	Objects []Object
	// Invalid lists the documents that could not be read into an object (Source is set) and
	// the objects defined more than once; none of them is in Resources.
	Invalid []plan.ResourceError

	// notYAML are the entries of Invalid for documents that are not YAML (Parse's error).
	notYAML []plan.ResourceError
}

// Object locates one object of a Result.
type Object struct {
	plan.Ref
	// Source is "<file>: document N", or "<file>: document N item M" for an item of a List.
	Source string
}

// Load reads the given files and directories (non-recursively: *.yaml, *.yml, *.json, in name
// order). It fails only when a path cannot be read (missing, permissions); whatever a file
// holds, its readable documents are loaded and the others are reported in Invalid. Load
// order is age order here (weft render): of an object defined twice, the first copy is
// applied and the later ones are rejected.
func Load(paths ...string) (Result, error) {
	c := Cache{KeepFirst: true}
	return c.Load(paths...)
}

// Parse reads one file's content; name locates its documents in messages. Like Load, it
// reports every document it cannot read in Invalid and loads the others; its error joins the
// documents that are not YAML at all (nil when every document is YAML), for a caller that
// refuses a file no reader could use.
func Parse(name string, data []byte) (Result, error) {
	res := parseFile(name, data)
	res.rejectDuplicates(true)
	errs := make([]error, len(res.notYAML))
	for i, e := range res.notYAML {
		errs[i] = e
	}
	return res, errors.Join(errs...)
}

func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", quoteFile(p), err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", quoteFile(p), err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && IsManifest(e.Name()) {
			out = append(out, filepath.Join(p, e.Name()))
		}
	}
	slices.Sort(out)
	return out, nil
}

// IsManifest reports whether a directory entry named name is read by Load: *.yaml, *.yml
// and *.json, except hidden files (editors' and tools' temporary files start with a dot).
func IsManifest(name string) bool {
	if strings.HasPrefix(name, ".") {
		return false
	}
	switch filepath.Ext(name) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// Cache is Load for a caller that reads the same files again and again (the host-mode
// agent, on every change of its config directory): a file whose size, modification time and
// inode are unchanged is not parsed again. The zero value is ready to use; it is not safe
// for concurrent use.
type Cache struct {
	// KeepFirst applies the first copy of an object defined twice (load order is age
	// order); without it no copy is applied (see rejectDuplicates).
	KeepFirst bool

	files map[string]cachedFile
}

type cachedFile struct {
	size, ino uint64
	mtime     int64
	res       Result
}

// Load is Load with the cache: the result is the same, built from the files' parsed contents.
// A file is cached with what it held, readable or not: once it changes, it is read again.
func (c *Cache) Load(paths ...string) (Result, error) {
	seen := map[string]cachedFile{}
	var res Result
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return Result{}, err
		}
		for _, f := range files {
			cf, err := c.file(f)
			if err != nil {
				return Result{}, err
			}
			seen[f] = cf
			res.merge(cf.res)
		}
	}
	c.files = seen
	res.rejectDuplicates(c.KeepFirst)
	return res, nil
}

// file is the parsed content of file f, from the cache when f is unchanged.
func (c *Cache) file(f string) (cachedFile, error) {
	st, err := os.Stat(f)
	if err != nil {
		return cachedFile{}, fmt.Errorf("read %s: %w", quoteFile(f), err)
	}
	key := cachedFile{size: uint64(st.Size()), mtime: st.ModTime().UnixNano()}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		key.ino = sys.Ino
	}
	if cf, ok := c.files[f]; ok && cf.size == key.size && cf.mtime == key.mtime && cf.ino == key.ino {
		return cf, nil
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return cachedFile{}, fmt.Errorf("read %s: %w", quoteFile(f), err)
	}
	key.res = parseFile(f, data)
	return key, nil
}

// merge appends o to res; the slices are res's own, so callers never share a cached file's.
func (res *Result) merge(o Result) {
	r := &res.Resources
	r.Underlays = append(r.Underlays, o.Resources.Underlays...)
	r.L3VNIs = append(r.L3VNIs, o.Resources.L3VNIs...)
	r.L2VNIs = append(r.L2VNIs, o.Resources.L2VNIs...)
	r.L3Passthroughs = append(r.L3Passthroughs, o.Resources.L3Passthroughs...)
	r.Secrets = append(r.Secrets, o.Resources.Secrets...)
	res.Objects = append(res.Objects, o.Objects...)
	res.Invalid = append(res.Invalid, o.Invalid...)
}
