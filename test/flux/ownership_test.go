package flux

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFluxTakesBackKubectlsFields: a person's server-side apply of Git's
// manifest with kubectl's own field manager passes, and the real
// kustomize-controller takes the entry back into its own at its next apply
// (the rule gitgate's ownership check rests on). Under a field manager
// Flux keeps, the same apply is refused, as is dropping Flux's ownership.
func TestFluxTakesBackKubectlsFields(t *testing.T) {
	settings := filepath.Join("testdata", "fleet", "settings.yaml")
	// The answer of the apply itself: Flux reconciles every two seconds,
	// and may take the entry back before a later read.
	r := env.kubectl.Run("", "apply", "--server-side", "-f", settings, "-o", "jsonpath={.metadata.managedFields}", "--as", person)
	if r.Failed() {
		t.Fatalf("server-side apply of Git's manifest: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if got := managerList(t, r.Stdout); !strings.Contains(got, "kubectl/Apply") {
		t.Fatalf("managers after kubectl's apply: %s", got)
	}
	requestReconcile(t)
	for deadline := time.Now().Add(applyTimeout); strings.Contains(managers(t), "kubectl/Apply"); time.Sleep(250 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("kustomize-controller did not take kubectl's entry back: %s", managers(t))
		}
	}

	r = env.kubectl.Run("", "apply", "--server-side", "--field-manager", "me", "-f", settings, "--as", person)
	expectDenied(t, r, "[managed-fields]", `field manager "me" (Apply) would own`)
	r = env.kubectl.Run("", "-n", "shop", "patch", "configmap", "settings", "--type", "json",
		"-p", `[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]`, "--as", person)
	expectDenied(t, r, "[managed-fields]", `from field manager "kustomize-controller" (Apply)`)
	if got := managers(t); !strings.Contains(got, "kustomize-controller/Apply") || strings.Contains(got, "me/") {
		t.Errorf("managers after denied rewrites: %s", got)
	}
}

// managers lists the settings ConfigMap's field managers as manager/operation.
func managers(t *testing.T) string {
	t.Helper()
	return managerList(t, get(t, "configmap/settings", "{.metadata.managedFields}"))
}

// managerList lists the field managers of managedFields (JSON).
func managerList(t *testing.T, managedFields string) string {
	t.Helper()
	var entries []struct{ Manager, Operation string }
	if err := json.Unmarshal([]byte(managedFields), &entries); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Manager+"/"+e.Operation)
	}
	return strings.Join(out, " ")
}
