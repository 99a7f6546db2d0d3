package argorender

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/sources/argorender/argorendertest"
)

// The reference tests run the real kustomize (v5.8.2, hack/build-argocd.sh)
// and helm (hack/build-helm.sh) with the exact arguments Argo CD v3.6.2's
// repo server passes, on a copy of the fixture, and want gitgate's render
// to hold the same objects, Argo CD's tracking aside. The destination
// namespace is empty, so no namespace is added on either side.

// tool is the path of a built tool, or the test is skipped.
func tool(t *testing.T, name string) string {
	t.Helper()
	dir := os.Getenv("GITGATE_BIN_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", ".cache", "bin")
	}
	p, err := filepath.Abs(filepath.Join(dir, name))
	if err == nil {
		if _, err = os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("%s not built (hack/build-argocd.sh, hack/build-helm.sh): %v", name, err)
	return ""
}

// copyFixtures copies testdata/argocd to a temporary folder, as the repo
// server's checkout.
func copyFixtures(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.CopyFS(root, fixtures); err != nil {
		t.Fatal(err)
	}
	return root
}

// runTool runs a tool in dir and returns its standard output.
func runTool(t *testing.T, dir, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", bin, strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}

// canonical is each object as JSON without Argo CD's tracking, sorted
// (argorendertest.Canonical).
func canonical(t *testing.T, objs []map[string]any) []string {
	t.Helper()
	out, err := argorendertest.Canonical(objs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func parseOutput(t *testing.T, out []byte) []map[string]any {
	t.Helper()
	objs, err := splitYAML(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return objs
}

func rendered(res *Result) []map[string]any {
	var out []map[string]any
	for _, o := range append(append([]Object{}, res.Objects...), res.Hooks...) {
		out = append(out, o.Object)
	}
	return out
}

func sameObjects(t *testing.T, got, want []string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gitgate's render differs from the tool's:\ngitgate: %s\ntool:    %s", strings.Join(got, "\n         "), strings.Join(want, "\n         "))
	}
}

// TestKustomizeMatchesKustomize: the Application's kustomize overrides
// applied by the real `kustomize edit`, in the app's folder, then
// `kustomize build <app path>` from the repository's root.
func TestKustomizeMatchesKustomize(t *testing.T) {
	bin := tool(t, "kustomize")
	for _, c := range []struct {
		name, path, kustomize string
		edits                 [][]string
	}{
		{name: "plain", path: "guestbook"},
		{name: "prefix suffix images replicas", path: "guestbook",
			kustomize: `{namePrefix: pre-, nameSuffix: -suf, images: ["quay.io/argoprojlabs/argocd-e2e-container=nginx:1.27"], replicas: [{name: guestbook-ui, count: "3"}]}`,
			edits: [][]string{{"set", "nameprefix", "--", "pre-"}, {"set", "namesuffix", "--", "-suf"},
				{"set", "image", "quay.io/argoprojlabs/argocd-e2e-container=nginx:1.27"}, {"set", "replicas", "guestbook-ui=3"}}},
		{name: "labels annotations namespace", path: "guestbook",
			kustomize: `{commonLabels: {team: shop}, commonAnnotations: {owner: "$ARGOCD_APP_NAME"}, commonAnnotationsEnvsubst: true, namespace: shop}`,
			edits:     [][]string{{"add", "label", "team:shop"}, {"add", "annotation", "owner:labels-annotations-namespace"}, {"set", "namespace", "--", "shop"}}},
		{name: "labels without selector", path: "kustomize",
			kustomize: `{commonLabels: {tier: web}, labelWithoutSelector: true, forceCommonLabels: true}`,
			edits:     [][]string{{"add", "label", "--force", "--without-selector", "tier:web"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := copyFixtures(t)
			for _, e := range c.edits {
				runTool(t, filepath.Join(root, c.path), bin, append([]string{"edit"}, e...)...)
			}
			want := canonical(t, parseOutput(t, runTool(t, root, bin, "build", filepath.Join(root, c.path))))
			src := "  source: {repoURL: r, path: " + c.path
			if c.kustomize != "" {
				src += ", kustomize: " + c.kustomize
			}
			a := app(t, appYAML(strings.ReplaceAll(c.name, " ", "-"), "", src+"}\n"))
			sameObjects(t, canonical(t, rendered(mustRender(t, a))), want)
		})
	}
}

// TestHelmMatchesHelm: `helm template . --name-template <app> --namespace
// <ns> … --include-crds` in the chart's folder.
func TestHelmMatchesHelm(t *testing.T) {
	bin := tool(t, "helm")
	t.Logf("helm: %s", strings.TrimSpace(string(runTool(t, ".", bin, "version", "--short"))))
	for _, c := range []struct {
		name, path, helm string
		args             []string
	}{
		{name: "guestbook", path: "helm-guestbook"},
		{name: "values", path: "helm-values", helm: `{values: "foo: baz", parameters: [{name: extra, value: "a,b"}]}`,
			args: []string{"--set", `extra=a\,b`, "--values", "$VALUES"}},
		{name: "release name and crds", path: "helm-crd", helm: `{releaseName: crds}`},
		{name: "skip crds", path: "helm-crd", helm: `{skipCrds: true}`},
		{name: "kube version", path: "helm-kube-version", helm: `{kubeVersion: "1.31.2"}`, args: []string{"--kube-version", "1.31.2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := copyFixtures(t)
			name := strings.ReplaceAll(c.name, " ", "-")
			release := name
			if strings.Contains(c.helm, "releaseName") {
				release = "crds"
			}
			args := []string{"template", ".", "--name-template", release, "--namespace", "shop"}
			for _, a := range c.args {
				if a == "$VALUES" {
					f := filepath.Join(t.TempDir(), "values.yaml")
					if err := os.WriteFile(f, []byte("foo: baz"), 0o600); err != nil {
						t.Fatal(err)
					}
					a = f
				}
				args = append(args, a)
			}
			if !strings.Contains(c.helm, "skipCrds") {
				args = append(args, "--include-crds")
			}
			want := canonical(t, parseOutput(t, runTool(t, filepath.Join(root, c.path), bin, args...)))
			src := "  source: {repoURL: r, path: " + c.path
			if c.helm != "" {
				src += ", helm: " + c.helm
			}
			a := app(t, appYAML(name, "shop", src+"}\n"))
			// The destination namespace (shop) is Helm's namespace; the
			// tool's output leaves namespaced objects without one, the
			// controller gives them shop: strip it on gitgate's side.
			sameObjects(t, canonical(t, stripNamespace(rendered(mustRender(t, a)), "shop")), want)
		})
	}
}

func stripNamespace(objs []map[string]any, ns string) []map[string]any {
	for _, o := range objs {
		if meta, _ := o["metadata"].(map[string]any); meta != nil && meta["namespace"] == ns {
			delete(meta, "namespace")
		}
	}
	return objs
}
