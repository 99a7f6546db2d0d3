package gitgate_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitgate/gitgate/test/harness"
)

// TestConnectIsJudged: every render sends kubectl exec, attach and
// port-forward (CONNECT) to gitgate, passes --connect from its value, and
// lets gitgate get Pods, to learn whom one runs as, with the drift scan
// off too; never list or watch them, nor any Pod subresource.
func TestConnectIsJudged(t *testing.T) {
	scanOff := filepath.Join(t.TempDir(), "scan-off.yaml")
	if err := os.WriteFile(scanOff, []byte("driftScan:\n  interval: \"0\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ values, connect string }{
		{"", "deny-people"}, {fullValues, "judge"}, {fluxValues, "deny-people"}, {scanOff, "deny-people"},
	} {
		t.Run(filepath.Base(tc.values), func(t *testing.T) {
			var files []string
			if tc.values != "" {
				files = append(files, tc.values)
			}
			m, err := harness.RenderChart("gitgate-system", files...)
			if err != nil {
				t.Fatal(err)
			}
			if args := containerArgs(m.Find("Deployment", "gitgate")); !slices.Contains(args, "--connect="+tc.connect) {
				t.Errorf("args %v lack --connect=%s", args, tc.connect)
			}
			if !sendsConnect(m.Find("ValidatingWebhookConfiguration", "gitgate")) {
				t.Error("the webhook does not send CONNECT of pods/exec, pods/attach and pods/portforward")
			}
			role := m.Find("ClusterRole", "gitgate")
			if !hasRule(role, "pods", "get") {
				t.Error("ClusterRole gitgate may not get pods: every exec would be refused as pod-unknown")
			}
			for _, verb := range []string{"list", "watch", "create", "update", "patch", "delete"} {
				if hasRule(role, "pods", verb) {
					t.Errorf("ClusterRole gitgate may %s pods; get is all it needs", verb)
				}
			}
			for _, sub := range []string{"pods/exec", "pods/attach", "pods/portforward", "pods/log", "pods/*", "*"} {
				if hasRule(role, sub, "get") || hasRule(role, sub, "create") {
					t.Errorf("ClusterRole gitgate grants %s", sub)
				}
			}
		})
	}
	r := harness.Helm("template", "gitgate", ".", "--kube-version", harness.ChartKubeVersion, "--set", "connect=deny")
	if want := `connect "deny": want deny-people, judge or allow`; !r.Failed() || !strings.Contains(r.Stderr, want) {
		t.Errorf("%s: err %v, stderr %q; want a failure saying %q", r.CommandLine(), r.Err, r.Stderr, want)
	}
}

// sendsConnect reports a rule of the webhook with CONNECT on the three
// Pod subresources of the core group.
func sendsConnect(vwc *unstructured.Unstructured) bool {
	webhooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	for _, w := range webhooks {
		rules, _, _ := unstructured.NestedSlice(w.(map[string]any), "rules")
		for _, r := range rules {
			rule := r.(map[string]any)
			ops, _, _ := unstructured.NestedStringSlice(rule, "operations")
			groups, _, _ := unstructured.NestedStringSlice(rule, "apiGroups")
			res, _, _ := unstructured.NestedStringSlice(rule, "resources")
			if slices.Contains(ops, "CONNECT") && (slices.Contains(groups, "") || slices.Contains(groups, "*")) &&
				slices.Contains(res, "pods/exec") && slices.Contains(res, "pods/attach") && slices.Contains(res, "pods/portforward") {
				return true
			}
		}
	}
	return false
}
