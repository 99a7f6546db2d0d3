package install

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

const (
	// helmNamespace and helmDryRun keep the Helm release's namespaced
	// objects apart from the overlay's: a deleted Namespace stays
	// Terminating here (no namespace controller runs).
	helmNamespace = "gitgate-helm"
	helmDryRun    = "gitgate-helm-dryrun"
)

// helmRun runs the real helm (hack/build-helm.sh: Helm v4) against the
// test API server as its admin.
func helmRun(t *testing.T, args ...string) harness.Result {
	t.Helper()
	r := harness.Helm(append(args, "--kubeconfig", env.cp.Kubeconfig)...)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
	}
	return r
}

// TestHelmInstallsUpgradesAndUninstallsTheChart installs charts/gitgate
// with Helm v4, which applies server-side on install and upgrade: every
// object goes in under Helm's field manager, and an upgrade keeps the
// caBundle another manager wrote (gitgate in self-managed mode, or
// cert-manager's cainjector), as docs/operations.md "Upgrades" promises.
// Nothing answers the webhook's Service here (gitgate runs outside the
// cluster in these tests), so the release's webhook ignores failures and
// waits one second at most.
func TestHelmInstallsUpgradesAndUninstallsTheChart(t *testing.T) {
	uninstall(t) // the overlay's cluster-scoped objects have the chart's names
	t.Cleanup(func() {
		mustRun(t, "", "delete", "validatingwebhookconfiguration", webhookName, "--ignore-not-found")
		harness.Helm("uninstall", "gitgate", "-n", helmNamespace, "--ignore-not-found", "--kubeconfig", env.cp.Kubeconfig)
	})
	helmRun(t, "install", "gitgate", harness.ChartDir(), "-n", helmNamespace, "--create-namespace",
		"--set", "source.repo.url="+env.git.HTTPURL(), "--set", "certificates.mode=self-managed",
		"--set", "dryRun.namespace="+helmDryRun, "--set", "webhook.failurePolicy=Ignore", "--set", "webhook.timeoutSeconds=1")
	for _, obj := range []string{"deployment/gitgate", "service/gitgate", "configmap/gitgate-sync"} {
		if m := managers(t, obj, "-n", helmNamespace); m["helm"] != "Apply" {
			t.Errorf("%s: managers %v, want helm's server-side apply", obj, m)
		}
	}
	ca := base64.StdEncoding.EncodeToString([]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	mustRun(t, "", "patch", "validatingwebhookconfiguration", webhookName, "--type", "json", "--field-manager", "gitgate",
		"-p", `[{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"`+ca+`"}]`)

	helmRun(t, "upgrade", "gitgate", harness.ChartDir(), "-n", helmNamespace, "--reuse-values", "--set", "replicas=3")
	if r := mustRun(t, "", "get", "deployment", "gitgate", "-n", helmNamespace, "-o", "jsonpath={.spec.replicas}"); r.Stdout != "3" {
		t.Errorf("replicas after helm upgrade: %q, want 3", r.Stdout)
	}
	r := mustRun(t, "", "get", "validatingwebhookconfiguration", webhookName, "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}")
	if r.Stdout != ca {
		t.Errorf("caBundle after helm upgrade: %q, want the one gitgate wrote (%q)", r.Stdout, ca)
	}

	helmRun(t, "uninstall", "gitgate", "-n", helmNamespace)
	for _, obj := range []string{"validatingwebhookconfiguration/" + webhookName, "clusterrole/gitgate"} {
		if r := mustRun(t, "", "get", obj, "--ignore-not-found"); strings.TrimSpace(r.Stdout) != "" {
			t.Errorf("%s is still there after helm uninstall:\n%s", obj, r.Stdout)
		}
	}
}

// managers maps each field manager of the object to its operation
// ("Apply", "Update").
func managers(t *testing.T, args ...string) map[string]string {
	t.Helper()
	r := mustRun(t, "", append([]string{"get", "--show-managed-fields", "-o", "json"}, args...)...)
	var obj struct {
		Metadata struct {
			ManagedFields []struct{ Manager, Operation string } `json:"managedFields"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &obj); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, f := range obj.Metadata.ManagedFields {
		m[f.Manager] = f.Operation
	}
	return m
}
