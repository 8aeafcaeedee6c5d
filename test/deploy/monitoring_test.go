package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"sigs.k8s.io/yaml"

	"github.com/weftnet/weft/internal/agent"
	"github.com/weftnet/weft/internal/testenv"
)

// The chart's monitoring files: Prometheus rules and a Grafana dashboard.
const (
	alertsFile    = "charts/weft/monitoring/alerts.yaml"
	dashboardFile = "charts/weft/monitoring/dashboard.json"
)

// ruleFile is Prometheus's rule file format (and a PrometheusRule's spec).
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert,omitempty"`
	Record      string            `json:"record,omitempty"`
	Expr        string            `json:"expr"`
	For         string            `json:"for,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// promtool finds the promtool hack/install-deps.sh builds (make deps). Without it the test
// skips, unless CI is set: then it fails, so CI cannot pass without checking the rules.
func promtool(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("WEFT_BIN_DIR")
	if dir == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(cache, "weft", "bin")
	}
	p := filepath.Join(dir, "promtool")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("promtool is missing (%v) and CI is set: run make deps", err)
		}
		t.Skipf("SKIPPED, NOT RUN: promtool is missing (%v): make deps builds it", err)
	}
	return p
}

func readRules(t *testing.T) ruleFile {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), alertsFile))
	if err != nil {
		t.Fatal(err)
	}
	var rf ruleFile
	if err := yaml.UnmarshalStrict(data, &rf); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return rf
}

// dashboardExprs returns the PromQL of every panel target and query variable of the
// dashboard, by where it is.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(), dashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr  string `json:"expr"`
				RefID string `json:"refId"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("dashboard panel %q target %s has no expr", p.Title, tg.RefID)
			}
			out[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	// label_values(metric, label) and query_result(expr) are Grafana's, around PromQL.
	varQuery := regexp.MustCompile(`^(?:label_values\((.*),\s*\w+\)|query_result\((.*)\))$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		sub := varQuery.FindStringSubmatch(q)
		if sub == nil {
			t.Errorf("dashboard variable %s: query %q is neither label_values(metric, label) nor query_result(expr)", v.Name, q)
			continue
		}
		out["variable "+v.Name] = sub[1] + sub[2]
	}
	if len(out) == 0 {
		t.Fatal("the dashboard has no queries")
	}
	return out
}

// grafanaVars are Grafana's variables in a query: ranges become a duration, others (label
// values in matchers) a regular expression.
var (
	grafanaRange = regexp.MustCompile(`\$(?:__rate_interval|__interval|__range)\b|\$\{(?:__rate_interval|__interval|__range)\}`)
	grafanaVar   = regexp.MustCompile(`\$\{?\w+\}?`)
)

func withoutGrafanaVars(expr string) string {
	return grafanaVar.ReplaceAllString(grafanaRange.ReplaceAllString(expr, "5m"), ".*")
}

// PromQL pieces that are not metric names, for metricNames.
var (
	promqlStrings  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promqlRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promqlGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promqlIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promqlCall     = regexp.MustCompile(`^\s*\(`)
	promqlKeywords = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "atan2", "start", "end"}
)

// metricNames lists the metric names an expression selects. It is no PromQL parser (that is
// promtool's job, which checks the syntax); it drops strings, label matchers, ranges and
// grouping labels, then takes every identifier that is neither a function call nor a keyword.
func metricNames(expr string) []string {
	e := promqlStrings.ReplaceAllString(expr, `""`)
	e = promqlMatchers.ReplaceAllString(e, " ")
	e = promqlRanges.ReplaceAllString(e, " ")
	e = promqlGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promqlIdent.FindAllStringIndex(e, -1) {
		// Part of a number (5m, 1e3), of a longer name or of a variable ($1)?
		if before := rune(e[max(loc[0]-1, 0)]); loc[0] > 0 && (unicode.IsLetter(before) || unicode.IsDigit(before) || strings.ContainsRune(".$_:", before)) {
			continue
		}
		name := e[loc[0]:loc[1]]
		if promqlCall.MatchString(e[loc[1]:]) || slices.Contains(promqlKeywords, strings.ToLower(name)) || slices.Contains(out, name) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func TestMetricNamesOfPromQL(t *testing.T) {
	for expr, want := range map[string][]string{
		`weft_bgp_session_up == 0`: {"weft_bgp_session_up"},
		`increase(weft_frr_reload_failures_total{job="x", le=~"a|b"}[10m]) >= 3`:                                {"weft_frr_reload_failures_total"},
		`histogram_quantile(0.95, sum by (instance, le) (rate(weft_kernel_apply_duration_seconds_bucket[5m])))`: {"weft_kernel_apply_duration_seconds_bucket"},
		`sum(a_total) by (instance) / on (instance) group_left(node) b_info offset 5m > bool 1e3`:               {"a_total", "b_info"},
		`count(weft_bgp_session_up{instance=~".*"} == 0) or vector(0)`:                                          {"weft_bgp_session_up"},
		`label_replace(up, "dst", "$1", "src", "(.*)") unless absent(x:recorded:rate5m)`:                        {"up", "x:recorded:rate5m"},
		`{__name__="not_extracted"} and weft_resources`:                                                         {"weft_resources"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%q) = %q, want %q", expr, got, want)
		}
	}
}

// TestAlertRules checks charts/weft/monitoring: the rules parse as Prometheus rule groups and
// their expressions as PromQL (promtool), the dashboard's queries as PromQL, and every metric
// either uses is one weft-agent exports.
func TestAlertRules(t *testing.T) {
	root := testenv.RepoRoot()
	exported := agent.MetricNames()
	rf := readRules(t)

	// The alerts the chart promises, each with a severity and a summary.
	var alerts []string
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("group %s: rule %q is not an alert", g.Name, r.Expr)
				continue
			}
			alerts = append(alerts, r.Alert)
			if r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("alert %s needs a severity label and a summary", r.Alert)
			}
			names := metricNames(r.Expr)
			if strings.Contains(r.Expr, "__name__") {
				t.Errorf("alert %s selects by __name__, which this check cannot follow: name the metric", r.Alert)
			}
			if len(names) == 0 {
				t.Errorf("alert %s: no metric in %q", r.Alert, r.Expr)
			}
			for _, n := range names {
				if !slices.Contains(exported, n) {
					t.Errorf("alert %s uses %s, which weft-agent does not export (agent.MetricNames: %v)", r.Alert, n, exported)
				}
			}
		}
	}
	for _, want := range []string{"WeftBGPSessionDown", "WeftBFDPeerDown", "WeftResourceNotApplied", "WeftFRRReloadFailing"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("%s lacks alert %s (has %v)", alertsFile, want, alerts)
		}
	}

	// The dashboard's queries, as recording rules promtool checks like the alerts.
	var dash ruleFile
	dash.Groups = append(dash.Groups, struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	}{Name: "dashboard"})
	exprs := dashboardExprs(t)
	for _, where := range slices.Sorted(maps.Keys(exprs)) {
		expr := withoutGrafanaVars(exprs[where])
		dash.Groups[0].Rules = append(dash.Groups[0].Rules, rule{Record: fmt.Sprintf("dashboard:query%d", len(dash.Groups[0].Rules)), Expr: expr})
		names := metricNames(expr)
		if strings.Contains(expr, "__name__") {
			t.Errorf("dashboard %s selects by __name__, which this check cannot follow: name the metric", where)
		}
		if len(names) == 0 {
			t.Errorf("dashboard %s: no metric in %q", where, expr)
		}
		for _, n := range names {
			if !slices.Contains(exported, n) {
				t.Errorf("dashboard %s uses %s, which weft-agent does not export", where, n)
			}
		}
	}
	dashRules, err := yaml.Marshal(dash)
	if err != nil {
		t.Fatal(err)
	}
	dashPath := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(dashPath, dashRules, 0o600); err != nil {
		t.Fatal(err)
	}

	pt := promtool(t)
	for _, f := range []string{filepath.Join(root, alertsFile), dashPath} {
		out, err := exec.Command(pt, "check", "rules", f).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules %s: %v\n%s", filepath.Base(f), err, out)
		}
	}
	// The alerts fire as their names say (promtool's rule unit tests on made-up series).
	out, err := exec.Command(pt, "test", "rules", filepath.Join(root, "test/deploy/testdata/alerts_test.yaml")).CombinedOutput()
	if err != nil {
		t.Errorf("promtool test rules: %v\n%s", err, out)
	}
}

// TestChartMonitoring renders the opt-in PrometheusRule and dashboard ConfigMap: they carry
// the monitoring files unchanged, and nothing renders by default.
func TestChartMonitoring(t *testing.T) {
	h := helm(t)
	root := testenv.RepoRoot()
	if got := kinds(run(t, h, "template", "weft", "charts/weft", "--kube-version", "1.34.4")); got["PrometheusRule"] != 0 || got["ConfigMap"] != 0 {
		t.Errorf("by default the chart renders %d PrometheusRules and %d ConfigMaps; want none", got["PrometheusRule"], got["ConfigMap"])
	}
	manifests := run(t, h, "template", "weft", "charts/weft", "--namespace", testenv.Namespace, "--kube-version", "1.34.4",
		"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.labels.release=prometheus",
		"--set", "metrics.dashboard.enabled=true")
	var rule struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Spec ruleFile `json:"spec"`
	}
	var cm struct {
		Metadata struct {
			Labels map[string]string `json:"labels"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
	}
	for _, doc := range strings.Split(string(manifests), "\n---") {
		var m struct{ Kind string }
		if yaml.Unmarshal([]byte(doc), &m) != nil {
			continue
		}
		var err error
		switch m.Kind {
		case "PrometheusRule":
			err = yaml.Unmarshal([]byte(doc), &rule)
		case "ConfigMap":
			err = yaml.Unmarshal([]byte(doc), &cm)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", m.Kind, err, doc)
		}
	}
	if want := readRules(t); !equalJSON(t, rule.Spec, want) {
		t.Errorf("the PrometheusRule's spec is not %s:\n%+v", alertsFile, rule.Spec)
	}
	if rule.Metadata.Labels["release"] != "prometheus" {
		t.Errorf("metrics.prometheusRule.labels not applied: %v", rule.Metadata.Labels)
	}
	dash, err := os.ReadFile(filepath.Join(root, dashboardFile))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(cm.Data["weft.json"]) != strings.TrimSpace(string(dash)) {
		t.Errorf("the dashboard ConfigMap does not carry %s", dashboardFile)
	}
	if cm.Metadata.Labels["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard ConfigMap lacks the sidecar's label: %v", cm.Metadata.Labels)
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
