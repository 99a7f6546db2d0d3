package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

type driftObject struct {
	Kind      string   `json:"kind"`
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	State     string   `json:"state"`
	Fields    []string `json:"fields"`
}

func drift(t *testing.T, args ...string) (int, []driftObject, string) {
	t.Helper()
	all := append(append([]string{"drift", "--kubeconfig", env.kubectl.Kubeconfig}, source()...), append(args, "-o", "json")...)
	code, stdout, stderr := gitgate(t, all...)
	var report struct {
		Objects []driftObject `json:"objects"`
	}
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("gitgate %v: exit %d, %v\n%s\n%s", all, code, err, stdout, stderr)
	}
	return code, report.Objects, stderr
}

func states(objs []driftObject) string {
	var out []string
	for _, o := range objs {
		out = append(out, o.State+" "+o.Kind+" "+o.Namespace+"/"+o.Name+" "+strings.Join(o.Fields, ","))
	}
	return strings.Join(out, "\n")
}

func TestDriftSeesChangesMadePastGitgate(t *testing.T) {
	applyShop(t)
	code, objs, stderr := drift(t, "--undeclared")
	want := "matches ConfigMap shop/web-config \nmatches Deployment shop/web \nmatches Namespace /shop \nmatches Service shop/web "
	if code != 0 || states(objs) != want {
		t.Fatalf("after the agent applied Git: exit %d, report:\n%s\nwant exit 0 and:\n%s\nstderr: %s", code, states(objs), want, stderr)
	}

	// An exempt identity changes what gitgate does not judge.
	mustRun(t, "-n", "shop", "patch", "configmap", "web-config", "--type", "merge", "-p", `{"data":{"greeting":"hi"}}`, "--as", exemptController)
	mustRun(t, "-n", "shop", "delete", "service", "web", "--as", exemptController)
	mustRun(t, "-n", "shop", "create", "configmap", "extra", "--from-literal=a=b", "--as", exemptController)
	defer func() {
		mustRun(t, "-n", "shop", "delete", "configmap", "extra", "--ignore-not-found", "--as", exemptController)
		applyShop(t)
	}()

	code, objs, _ = drift(t, "--undeclared")
	want = "differs ConfigMap shop/web-config data.greeting\nmatches Deployment shop/web \nmatches Namespace /shop \nmissing Service shop/web \nundeclared ConfigMap shop/extra "
	if code != 1 || states(objs) != want {
		t.Errorf("after changes: exit %d, report:\n%s\nwant exit 1 and:\n%s", code, states(objs), want)
	}
	// Without --undeclared, the extra ConfigMap is not reported.
	if _, objs, _ = drift(t); strings.Contains(states(objs), "extra") {
		t.Errorf("without --undeclared the report lists the extra ConfigMap:\n%s", states(objs))
	}
	code, stdout, _ := gitgate(t, append([]string{"drift", "--kubeconfig", env.kubectl.Kubeconfig, "-n", "shop"}, source()...)...)
	for _, w := range []string{"STATE", "differs", "data.greeting", "missing"} {
		if code != 1 || !strings.Contains(stdout, w) {
			t.Errorf("table output (exit %d) lacks %q:\n%s", code, w, stdout)
		}
	}
}
