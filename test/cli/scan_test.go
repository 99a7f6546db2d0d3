package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// gitgate serve's background scan exports the drift it finds as
// gitgate_drift_objects and writes it to its status ConfigMap.
func TestServeScansForDrift(t *testing.T) {
	if r := env.kubectl.Run("", "get", "namespace", harness.GitgateNamespace); r.Failed() {
		mustRun(t, "create", "namespace", harness.GitgateNamespace, "--as", exemptController)
	}
	applyShop(t)
	mustRun(t, "-n", "shop", "patch", "configmap", "web-config", "--type", "merge", "-p", `{"data":{"greeting":"scan"}}`, "--as", exemptController)
	defer applyShop(t)

	const metric = `gitgate_drift_objects{kind="ConfigMap",state="differs"} 1`
	var metrics, status string
	// Wait for a scan after the change; the scan runs every second.
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		m, err := env.stack.Gitgate.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		metrics = m
		status = env.kubectl.Run("", "get", "configmap", "gitgate-drift", "-n", harness.GitgateNamespace, "-o", "jsonpath={.data.summary} {.data.drifted}").Stdout
		if strings.Contains(metrics, metric) && strings.Contains(status, "web-config") {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, w := range []string{metric, `gitgate_drift_objects{kind="Deployment.apps",state="matches"} 1`, `gitgate_drift_scans_total{result="success"}`, `gitgate_build_info{commit=`} {
		if !strings.Contains(metrics, w) {
			t.Errorf("metrics lack %s", w)
		}
	}
	for _, w := range []string{"differs=1", `"name":"web-config"`, `"fields":["data.greeting"]`} {
		if !strings.Contains(status, w) {
			t.Errorf("status ConfigMap lacks %s: %s", w, status)
		}
	}
	if t.Failed() {
		t.Logf("gitgate_drift lines:\n%s", grep(metrics, "gitgate_drift"))
	}
}

func grep(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
