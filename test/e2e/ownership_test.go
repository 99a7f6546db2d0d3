package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestOwnershipRewritesAreDenied: who owns a declared object's fields
// (metadata.managedFields) and what kubectl's last-applied-configuration
// records decide which fields a later removal from Git leaves behind. A
// person may not rewrite either: not a reset or a renamed field manager
// through kubectl patch --type=json, not a server-side apply under a field
// manager the agent does not take back, not another last-applied record.
// Their identical re-apply of Git's manifest, client-side or server-side
// with kubectl's own field manager, passes.
func TestOwnershipRewritesAreDenied(t *testing.T) {
	applyShop(t)
	for _, args := range [][]string{
		{"apply", "--as", person, "-f", env.fixture},
		{"apply", "--server-side", "--force-conflicts", "--as", person, "-f", env.fixture},
		{"apply", "--as", person, "-f", env.fixture},
	} {
		if r := env.kubectl.Run("", args...); r.Failed() || strings.Contains(r.Stderr, "Warning") {
			t.Errorf("%s: want allowed, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
	}
	before := jsonpath(t, "deployment/web", "{.metadata.managedFields}")

	reset := `[{"op":"replace","path":"/metadata/managedFields","value":[{}]}]`
	r := env.kubectl.Run("", "-n", "shop", "patch", "deployment", "web", "--type", "json", "-p", reset, "--as", person)
	wantDenied(t, r, "[managed-fields]", "web.yaml", "Neither the mode nor break-glass changes this")

	renamed := renameManagers(t, before, "evil")
	r = env.kubectl.Run("", "-n", "shop", "patch", "deployment", "web", "--type", "json",
		"-p", `[{"op":"replace","path":"/metadata/managedFields","value":`+renamed+`}]`, "--as", person)
	wantDenied(t, r, "[managed-fields]", `field manager "evil"`)

	r = env.kubectl.Run("", "apply", "--server-side", "--force-conflicts", "--field-manager", "dev", "--as", person, "-f", env.fixture)
	wantDenied(t, r, "[managed-fields]", `field manager "dev" (Apply) would own`, "which Git declares")

	r = env.kubectl.Run("", "-n", "shop", "annotate", "deployment", "web", "--overwrite", "--as", person,
		`kubectl.kubernetes.io/last-applied-configuration={"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"}}`)
	wantDenied(t, r, "[last-applied]", "records another manifest than Git's")
	r = env.kubectl.Run("", "-n", "shop", "annotate", "deployment", "web", "kubectl.kubernetes.io/last-applied-configuration-", "--as", person)
	wantDenied(t, r, "[last-applied]", "removes kubectl's kubectl.kubernetes.io/last-applied-configuration")

	if after := jsonpath(t, "deployment/web", "{.metadata.managedFields}"); after != before {
		t.Errorf("managedFields changed by denied requests:\nbefore %s\nafter  %s", before, after)
	}
}

// renameManagers is managedFields (JSON) with every entry's manager
// renamed to name.
func renameManagers(t *testing.T, managedFields, name string) string {
	t.Helper()
	var entries []map[string]any
	if err := json.Unmarshal([]byte(managedFields), &entries); err != nil || len(entries) == 0 {
		t.Fatalf("managedFields %q: %v", managedFields, err)
	}
	for _, e := range entries {
		e["manager"] = name
	}
	out, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
