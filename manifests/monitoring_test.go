package manifests_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// rule is one alert of manifests/monitoring/prometheusrule.yaml.
type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// TestAlertsAreWellFormed checks the shipped alerts without a Prometheus:
// every expression is balanced, every duration parses, every alert has a
// severity and a summary, and an annotation names only labels its
// expression keeps (by (...)). promtool is not available here; test/install
// checks that every metric name is one gitgate exports.
func TestAlertsAreWellFormed(t *testing.T) {
	rules := loadRules(t)
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Alert] {
			t.Errorf("alert %s defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if err := balanced(r.Expr); err != "" || strings.TrimSpace(r.Expr) == "" {
			t.Errorf("%s: expression %q: %s", r.Alert, r.Expr, err)
		}
		if _, err := time.ParseDuration(r.For); r.For != "" && err != nil {
			t.Errorf("%s: for %q: %v", r.Alert, r.For, err)
		}
		if !slices.Contains([]string{"critical", "warning", "info"}, r.Labels["severity"]) || r.Annotations["summary"] == "" {
			t.Errorf("%s: want a severity (critical, warning, info) and a summary, have %v %v", r.Alert, r.Labels, r.Annotations)
		}
		for _, m := range regexp.MustCompile(`\$labels\.(\w+)`).FindAllStringSubmatch(strings.Join(mapValues(r.Annotations), " "), -1) {
			if !regexp.MustCompile(`by \([^)]*\b` + m[1] + `\b`).MatchString(r.Expr) {
				t.Errorf("%s: an annotation uses $labels.%s, which the expression drops", r.Alert, m[1])
			}
		}
	}
}

// TestIssueAlerts: the alerts issue 14 asks for watch the right metrics.
func TestIssueAlerts(t *testing.T) {
	rules := map[string]rule{}
	for _, r := range loadRules(t) {
		rules[r.Alert] = r
	}
	for alert, metric := range map[string]string{
		"GitgateSlowDecisions":       "gitgate_admission_decision_duration_seconds_bucket",
		"GitgateAuditRecordsDropped": "gitgate_audit_records_dropped_total",
		"GitgateBreakGlassUsed":      "gitgate_break_glass_uses_total",
	} {
		if !strings.Contains(rules[alert].Expr, metric) {
			t.Errorf("alert %s: expression %q does not use %s", alert, rules[alert].Expr, metric)
		}
	}
	if r := rules["GitgateBreakGlassUsed"]; r.For != "" {
		t.Errorf("GitgateBreakGlassUsed waits %s: a single use must fire it", r.For)
	}
}

// TestDashboardPanels: the Grafana dashboard is valid JSON with a panel for
// each thing issue 14 names, and balanced queries.
func TestDashboardPanels(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("monitoring", "gitgate-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	metrics := map[string]string{}
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if err := balanced(tg.Expr); err != "" {
				t.Errorf("panel %q: %q: %s", p.Title, tg.Expr, err)
			}
			metrics[p.Title] += tg.Expr + " "
		}
	}
	for title, want := range map[string]string{
		"Decisions by reason":       `sum by (decision, reason) (rate(gitgate_admission_decisions_total`,
		"Decisions by class":        `sum by (class, decision) (rate(gitgate_admission_decisions_total`,
		"Decision latency":          "gitgate_admission_decision_duration_seconds_bucket",
		"Git revision age per root": "by (root) (gitgate_git_last_sync_success_timestamp_seconds)",
		"Break-glass uses":          "gitgate_break_glass_uses_total",
		"Drift":                     "gitgate_drift_objects",
		"Audit drops":               "gitgate_audit_records_dropped_total",
	} {
		if !strings.Contains(metrics[title], want) {
			t.Errorf("panel %q: queries %q lack %q", title, metrics[title], want)
		}
	}
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		APIVersion string         `json:"apiVersion"`
		Kind       string         `json:"kind"`
		Metadata   map[string]any `json:"metadata"`
		Spec       struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []rule `json:"rules"`
			} `json:"groups"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(data, &doc); err != nil {
		t.Fatal(err)
	}
	var out []rule
	for _, g := range doc.Spec.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) < 8 {
		t.Fatalf("only %d rules", len(out))
	}
	return out
}

// balanced reports the first unbalanced bracket of a PromQL expression,
// outside its string literals, or "".
func balanced(expr string) string {
	var stack []rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for _, c := range expr {
		switch {
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case pairs[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return "unbalanced " + string(c)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inString || len(stack) > 0 {
		return "unclosed bracket or string"
	}
	return ""
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
