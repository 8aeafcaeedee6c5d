package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftnet/weft/internal/manifest"
	"github.com/weftnet/weft/internal/plan"
	"github.com/weftnet/weft/internal/testenv/linediff"
	"github.com/weftnet/weft/internal/webhook"
)

// corpusDir holds the bad-input corpus (issue 9): base/ is a valid set of objects, bad/ one
// bad object per file.
const corpusDir = "../../test/corpus"

// corpusNode is the node every case is rendered for; the base's Underlay selects it by rack.
var corpusNode = plan.Node{Name: "worker-1", Index: 2, Labels: map[string]string{
	"kubernetes.io/hostname": "worker-1",
	"weft.dev/rack":          "r1",
}}

// corpusKinds must all appear in the corpus.
var corpusKinds = []string{"Underlay", "L3VNI", "L2VNI", "L3Passthrough", "Secret"}

// corpusCase is one file of bad/, with its header:
//
//	# want: <Kind>/<namespace>/<name>: <field>
//	# want: {file}: document <N> (<Kind>/<namespace>/<name>): <field>
//	# webhook: skip: <why the webhook cannot see it>
//
// The first form is for an object that decodes and that the plan must reject, the second for
// a document the loader cannot turn into an object ({file} is the path given to render).
// Either way, the error line is the want text, ": " and a message.
type corpusCase struct {
	path        string
	want        string
	document    bool // the want is of the file-and-document form
	kind        string
	webhookSkip string
}

func readCorpusCase(path string) (corpusCase, error) {
	c := corpusCase{path: path}
	f, err := os.Open(path)
	if err != nil {
		return c, err
	}
	defer f.Close()
	var wants []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if w, ok := strings.CutPrefix(line, "# want: "); ok {
			wants = append(wants, w)
		}
		if w, ok := strings.CutPrefix(line, "# webhook: skip: "); ok {
			c.webhookSkip = w
		}
	}
	if err := sc.Err(); err != nil {
		return c, err
	}
	if len(wants) != 1 || wants[0] == "" {
		return c, fmt.Errorf("%s: want exactly one non-empty '# want: ' line, got %d", path, len(wants))
	}
	w := wants[0]
	if rest, ok := strings.CutPrefix(w, "{file}"); ok {
		c.document = true
		c.want = path + rest
		if _, ref, ok := strings.Cut(rest, " ("); ok {
			c.kind, _, _ = strings.Cut(ref, "/")
		}
	} else {
		c.want = w
		c.kind, _, _ = strings.Cut(w, "/")
	}
	return c, nil
}

// TestCorpus runs every case of test/corpus/bad through `weft render` (base + the case, the
// base files first so that they are the older objects) and through the admission webhook's
// check: each must be rejected on one line that names the object and the field, and the
// base must render byte for byte as it does alone.
func TestCorpus(t *testing.T) {
	base := filepath.Join(corpusDir, "base")
	outputs := []string{"frr", "plan"}
	baseOut := map[string]string{}
	for _, o := range outputs {
		var out, errOut bytes.Buffer
		err := render(&out, &errOut, corpusNode, []string{base}, o)
		if code := exitCode(err); code != 0 || errOut.Len() > 0 {
			t.Fatalf("the base set does not render cleanly (-o %s): exit %d (%v), stderr:\n%s", o, code, err, errOut.String())
		}
		baseOut[o] = out.String()
	}
	loaded, err := manifest.Load(base)
	if err != nil {
		t.Fatalf("load the base set: %v", err)
	}
	if len(loaded.Invalid) > 0 {
		t.Fatalf("the base set has invalid documents: %v", loaded.Invalid)
	}
	baseRes := loaded.Resources

	files, err := filepath.Glob(filepath.Join(corpusDir, "bad", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []corpusCase
	kinds := map[string]int{}
	for _, f := range files {
		c, err := readCorpusCase(f)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
		kinds[c.kind]++
	}
	if len(cases) < 200 {
		t.Errorf("the corpus has %d cases; want at least 200", len(cases))
	}
	for _, k := range corpusKinds {
		if kinds[k] == 0 {
			t.Errorf("the corpus has no case of kind %s", k)
		}
	}
	t.Logf("%d cases: %v", len(cases), kinds)
	// The webhook judges the typed objects; the others (Secrets, undecodable documents,
	// duplicates) are not its to see. Most cases must still go through it.
	judged := 0
	for _, c := range cases {
		if webhookJudges(c) == "" {
			judged++
		}
	}
	if judged < len(cases)*2/3 {
		t.Errorf("the webhook judges %d of %d cases; want at least two thirds", judged, len(cases))
	}

	for _, c := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(c.path), ".yaml"), func(t *testing.T) {
			alone, err := manifest.Load(c.path)
			if err != nil {
				t.Fatalf("case: %s\nload: %v", c.path, err)
			}
			if n := len(alone.Objects) + len(alone.Invalid); n != 1 {
				t.Fatalf("case: %s\nholds %d objects and unreadable documents; a case is one bad object", c.path, n)
			}
			for _, o := range outputs {
				checkRenderCase(t, c, o, base, baseOut[o])
			}
			if why := webhookJudges(c); why != "" {
				t.Logf("webhook: not its case: %s", why)
				return
			}
			t.Run("webhook", func(t *testing.T) { checkWebhookCase(t, c, baseRes) })
		})
	}
}

// checkRenderCase renders base + the case: exit code 2, exactly one stderr line (the want,
// ": " and a message) and the base's output unchanged.
func checkRenderCase(t *testing.T, c corpusCase, output, base, want string) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := render(&out, &errOut, corpusNode, []string{base, c.path}, output)
	code := exitCode(err)
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if errOut.Len() == 0 {
		lines = nil
	}
	var problems []string
	if code != 2 {
		problems = append(problems, fmt.Sprintf("exit code %d (%v), want 2", code, err))
	}
	switch {
	case len(lines) != 1:
		problems = append(problems, fmt.Sprintf("%d stderr lines, want 1", len(lines)))
	default:
		msg, ok := strings.CutPrefix(lines[0], c.want+": ")
		if !ok || strings.TrimSpace(msg) == "" {
			problems = append(problems, "the stderr line is not the want text, ': ' and a message")
		}
	}
	if out.String() != want {
		problems = append(problems, "stdout differs from the base's alone: "+firstDiff(want, out.String()))
	}
	if len(problems) > 0 {
		t.Errorf("render -o %s\ncase: %s\nwant: %s\ngot:  %s\nstderr:\n%s", output, c.path, c.want,
			strings.Join(problems, "; "), indent(errOut.String()))
	}
}

// webhookJudges says why the webhook does not see case c, or "" when it does.
func webhookJudges(c corpusCase) string {
	switch {
	case c.webhookSkip != "":
		return c.webhookSkip
	case c.kind == "Secret":
		return "the webhook admits the four weft kinds; a Secret is checked where an Underlay uses it"
	case c.document:
		return "the document does not decode: the API server rejects it before admission"
	}
	return ""
}

// checkWebhookCase runs webhook.Check on the case's object with the base in the cluster: it
// must reject it with an error that starts with the want text.
func checkWebhookCase(t *testing.T, c corpusCase, baseRes plan.Resources) {
	got, err := manifest.Load(c.path)
	if err != nil {
		t.Fatalf("case: %s\nload: %v", c.path, err)
	}
	var objs []any
	r := &got.Resources
	for i := range r.Underlays {
		objs = append(objs, &r.Underlays[i])
	}
	for i := range r.L3VNIs {
		objs = append(objs, &r.L3VNIs[i])
	}
	for i := range r.L2VNIs {
		objs = append(objs, &r.L2VNIs[i])
	}
	for i := range r.L3Passthroughs {
		objs = append(objs, &r.L3Passthroughs[i])
	}
	if len(objs) != 1 || len(got.Invalid) > 0 {
		t.Fatalf("case: %s\nwant: %s\ngot:  %d objects, invalid documents %v; the want says one object that decodes", c.path, c.want, len(objs), got.Invalid)
	}
	werr := webhook.Check(baseRes, []plan.Node{corpusNode}, objs[0])
	if werr == nil || !strings.HasPrefix(werr.Error(), c.want+": ") {
		t.Errorf("webhook.Check\ncase: %s\nwant: %s\ngot:  %v", c.path, c.want, werr)
	}
}

// firstDiff describes where b first differs from a, line by line.
func firstDiff(a, b string) string {
	n, x, y := linediff.First(a, b, "<end>")
	if n == 0 {
		return "no line differs"
	}
	return fmt.Sprintf("line %d is %q, want %q", n, y, x)
}

func indent(s string) string {
	if s == "" {
		return "  <empty>"
	}
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	return "  " + strings.Join(lines, "\n  ")
}
