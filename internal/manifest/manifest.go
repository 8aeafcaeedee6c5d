// Package manifest reads weft's API kinds from YAML files exactly as a user would
// `kubectl apply` them: multi-document files, directories of files, and Secrets for neighbor
// passwords. Host mode, the lab and `weft render` share it.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/api/v1alpha1"
	"github.com/weftnet/weft/internal/plan"
)

// Result is what a set of files holds.
type Result struct {
	Resources plan.Resources
	// Invalid lists documents of weft kinds that could not be decoded (unknown fields, wrong
	// types); they are left out of Resources, like any other invalid resource.
	Invalid []plan.ResourceError
	// Ignored lists documents of other kinds, as "path: apiVersion/kind name".
	Ignored []string
}

// Load reads the given files and directories (non-recursively: *.yaml, *.yml, *.json, in name
// order). It fails only when a file cannot be read or is not YAML at all.
func Load(paths ...string) (Result, error) {
	var c Cache
	return c.Load(paths...)
}

func expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", p, err)
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

// Parse decodes one file's content; name is used in messages.
func Parse(name string, data []byte) (Result, error) {
	var res Result
	err := res.add(name, data)
	return res, err
}

// Cache is Load for a caller that reads the same files again and again (the host-mode
// agent, on every change of its config directory): a file whose size, modification time and
// inode are unchanged is not parsed again. The zero value is ready to use; it is not safe
// for concurrent use.
type Cache struct {
	files map[string]cachedFile
}

type cachedFile struct {
	size, ino uint64
	mtime     int64
	res       Result
}

// Load is Load with the cache: the result is the same, built from the files' parsed contents.
func (c *Cache) Load(paths ...string) (Result, error) {
	seen := map[string]cachedFile{}
	var res Result
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return Result{}, err
		}
		for _, f := range files {
			st, err := os.Stat(f)
			if err != nil {
				return Result{}, fmt.Errorf("read %s: %w", f, err)
			}
			key := cachedFile{size: uint64(st.Size()), mtime: st.ModTime().UnixNano()}
			if sys, ok := st.Sys().(*syscall.Stat_t); ok {
				key.ino = sys.Ino
			}
			cf, ok := c.files[f]
			if !ok || cf.size != key.size || cf.mtime != key.mtime || cf.ino != key.ino {
				data, err := os.ReadFile(f)
				if err != nil {
					return Result{}, fmt.Errorf("read %s: %w", f, err)
				}
				key.res = Result{}
				if err := key.res.add(f, data); err != nil {
					return Result{}, err
				}
				cf = key
			}
			seen[f] = cf
			res.merge(cf.res)
		}
	}
	c.files = seen
	return res, nil
}

// merge appends o to res; the slices are res's own, so callers never share a cached file's.
func (res *Result) merge(o Result) {
	r := &res.Resources
	r.Underlays = append(r.Underlays, o.Resources.Underlays...)
	r.L3VNIs = append(r.L3VNIs, o.Resources.L3VNIs...)
	r.L2VNIs = append(r.L2VNIs, o.Resources.L2VNIs...)
	r.L3Passthroughs = append(r.L3Passthroughs, o.Resources.L3Passthroughs...)
	r.Secrets = append(r.Secrets, o.Resources.Secrets...)
	res.Invalid = append(res.Invalid, o.Invalid...)
	res.Ignored = append(res.Ignored, o.Ignored...)
}

func (res *Result) add(file string, data []byte) error {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", file, i+1, err)
		}
		if len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null" {
			continue
		}
		var tm struct {
			metav1.TypeMeta
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(js, &tm); err != nil {
			return fmt.Errorf("%s: document %d: not an object: %w", file, i+1, err)
		}
		res.decode(file, i+1, tm.APIVersion, tm.Kind, tm.Metadata.Name, js)
	}
}

func (res *Result) decode(file string, doc int, apiVersion, kind, name string, js []byte) {
	var target any
	switch {
	case apiVersion == v1alpha1.GroupVersion.String() && kind == v1alpha1.KindUnderlay:
		target = &v1alpha1.Underlay{}
	case apiVersion == v1alpha1.GroupVersion.String() && kind == v1alpha1.KindL3VNI:
		target = &v1alpha1.L3VNI{}
	case apiVersion == v1alpha1.GroupVersion.String() && kind == v1alpha1.KindL2VNI:
		target = &v1alpha1.L2VNI{}
	case apiVersion == v1alpha1.GroupVersion.String() && kind == v1alpha1.KindL3Passthrough:
		target = &v1alpha1.L3Passthrough{}
	case apiVersion == "v1" && kind == "Secret":
		target = &corev1.Secret{}
	default:
		res.Ignored = append(res.Ignored, fmt.Sprintf("%s: document %d: %s/%s %s", file, doc, apiVersion, kind, name))
		return
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(target); err != nil {
		res.Invalid = append(res.Invalid, plan.ResourceError{
			Kind: kind, Name: name, Reason: plan.ReasonInvalid,
			Message: fmt.Sprintf("%s: document %d: %s", file, doc, strings.TrimPrefix(err.Error(), "json: ")),
		})
		return
	}
	r := &res.Resources
	switch o := target.(type) {
	case *v1alpha1.Underlay:
		r.Underlays = append(r.Underlays, *o)
	case *v1alpha1.L3VNI:
		r.L3VNIs = append(r.L3VNIs, *o)
	case *v1alpha1.L2VNI:
		r.L2VNIs = append(r.L2VNIs, *o)
	case *v1alpha1.L3Passthrough:
		r.L3Passthroughs = append(r.L3Passthroughs, *o)
	case *corev1.Secret:
		r.Secrets = append(r.Secrets, *o)
	}
}
