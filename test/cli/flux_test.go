package cli

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/test/harness"
)

// fluxFleet copies testdata/flux into a temporary directory and completes
// it: the podinfo chart committed under charts/podinfo, and the
// HelmRepository of a chart repository served on loopback that holds the
// same chart. It returns the directory and the repository.
func fluxFleet(t *testing.T) (string, *harness.HelmRepo) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join("testdata", "flux")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return writeFile(filepath.Join(dir, rel), string(data))
	})
	if err != nil {
		t.Fatal(err)
	}
	chart, err := harness.ChartFiles(harness.ChartFixture("podinfo"), "charts/podinfo")
	if err != nil {
		t.Fatal(err)
	}
	repo, err := harness.StartHelmRepo()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(repo.Close)
	if _, err := repo.Add(harness.ChartFixture("podinfo")); err != nil {
		t.Fatal(err)
	}
	chart["infrastructure/controllers/repository.yaml"] = repo.HelmRepository("flux-system", "charts")
	for p, body := range chart {
		if err := writeFile(filepath.Join(dir, p), body); err != nil {
			t.Fatal(err)
		}
	}
	return dir, repo
}

func writeFile(p, body string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(body), 0o600)
}

// TestRenderSourceFluxIsHelmTemplate renders a fleet laid out like
// flux2-kustomize-helm-example with gitgate render --source flux: every
// Kustomization and HelmRelease is a root, the HelmRelease of a chart in
// Git prints exactly the Deployment `helm template` (the real Helm v4)
// prints for the same chart and values plus what helm-controller adds
// (its labels, Helm's ownership metadata), and the HelmRelease of the
// loopback HelmRepository renders from a chart gitgate fetched. gitgate
// check over the same directory allows that Deployment as it is and
// denies a changed copy, naming the HelmRelease.
func TestRenderSourceFluxIsHelmTemplate(t *testing.T) {
	dir, repo := fluxFleet(t)
	flux := []string{"--source", "flux", "--local", dir, "--path", "clusters/production", "--kube-version", harness.ChartKubeVersion}
	code, stdout, stderr := gitgate(t, append([]string{"render"}, flux...)...)
	if code != 0 {
		t.Fatalf("gitgate render: exit %d\n%s\n%s", code, stderr, stdout)
	}
	for _, root := range []string{
		"# root Kustomization flux-system/flux-system (from GitRepository flux-system/flux-system)\n",
		"# root Kustomization flux-system/apps (from GitRepository flux-system/flux-system, declared by Kustomization flux-system/flux-system)\n",
		"# root Kustomization flux-system/infra-controllers (",
		"# root HelmRelease podinfo/podinfo (from GitRepository flux-system/flux-system, declared by Kustomization flux-system/apps)\n# chart podinfo version 6.9.2, config digest sha256:",
		"# root HelmRelease infra/cache (from HelmRepository flux-system/charts, declared by Kustomization flux-system/infra-controllers)\n# chart podinfo version 6.9.2,",
		"---\n# Deployment.apps infra/cache-podinfo from podinfo/templates/deployment.yaml\n",
	} {
		if !strings.Contains(stdout, root) {
			t.Errorf("render output lacks %q", root)
		}
	}
	if reqs := strings.Join(repo.Requests(), ","); !strings.Contains(reqs, "GET /index.yaml") || !strings.Contains(reqs, "GET /podinfo-6.9.2.tgz") {
		t.Errorf("the chart repository served %s, want its index and podinfo-6.9.2.tgz", reqs)
	}
	printed := printedObject(t, stdout, "Deployment.apps podinfo/podinfo")
	if want := helmTemplateDeployment(t, dir); !reflect.DeepEqual(printed, want) {
		gotY, _ := yaml.Marshal(printed)
		wantY, _ := yaml.Marshal(want)
		t.Fatalf("the printed Deployment differs from helm template's with helm-controller's metadata\ngitgate:\n%s\nhelm:\n%s", gotY, wantY)
	}
	checkFluxDeployment(t, flux, printed)
}

// helmTemplateDeployment is podinfo's Deployment as `helm template`
// renders it for the HelmRelease podinfo/podinfo of the fleet (its
// valuesFrom ConfigMap, then spec.values as the production patch leaves
// them), with what helm-controller adds before it applies.
func helmTemplateDeployment(t *testing.T, dir string) map[string]any {
	t.Helper()
	tmp := t.TempDir()
	fromConfigMap := filepath.Join(dir, "apps", "production", "podinfo-configmap-values.yaml")
	spec := filepath.Join(tmp, "spec-values.yaml")
	if err := writeFile(spec, "replicaCount: 2\nui:\n  message: production\n"); err != nil {
		t.Fatal(err)
	}
	r := harness.Helm("template", "podinfo", filepath.Join(dir, "charts", "podinfo"), "--namespace", "podinfo",
		"--kube-version", harness.ChartKubeVersion, "--values", fromConfigMap, "--values", spec)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	objs, err := harness.DecodeManifests([]byte(r.Stdout))
	if err != nil {
		t.Fatal(err)
	}
	d := objs.Find("Deployment", "podinfo")
	if d == nil {
		t.Fatalf("helm template printed no Deployment podinfo:\n%s", r.Stdout)
	}
	labels := d.GetLabels()
	labels["helm.toolkit.fluxcd.io/name"], labels["helm.toolkit.fluxcd.io/namespace"] = "podinfo", "podinfo"
	labels["app.kubernetes.io/managed-by"] = "Helm"
	d.SetLabels(labels)
	annotations := d.GetAnnotations()
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations["meta.helm.sh/release-name"], annotations["meta.helm.sh/release-namespace"] = "podinfo", "podinfo"
	d.SetAnnotations(annotations)
	return d.Object
}

// printedObject decodes the object render printed under "# <key> from".
func printedObject(t *testing.T, stdout, key string) map[string]any {
	t.Helper()
	for _, doc := range strings.Split(stdout, "\n---\n") {
		if strings.HasPrefix(doc, "# "+key+" from ") {
			objs, err := harness.DecodeManifests([]byte(doc))
			if err != nil || len(objs) != 1 {
				t.Fatalf("decode %s: %v (%d objects)\n%s", key, err, len(objs), doc)
			}
			return objs[0].Object
		}
	}
	t.Fatalf("render printed no %s", key)
	return nil
}

// checkFluxDeployment runs gitgate check --source flux on an update of
// the printed Deployment: unchanged it is allowed, with another image it
// is denied and the denial names the HelmRelease.
func checkFluxDeployment(t *testing.T, flux []string, printed map[string]any) {
	t.Helper()
	tmp := t.TempDir()
	old := writeYAML(t, tmp, "old.yaml", printed)
	args := append([]string{"check"}, flux...)
	args = append(args, "--as", person, "--operation", "update", "--old", old)
	if code, stdout, stderr := gitgate(t, append(args, "-f", old)...); code != 0 || !strings.Contains(stdout, "allowed UPDATE Deployment.apps podinfo/podinfo") {
		t.Fatalf("check of the printed Deployment: exit %d\n%s%s", code, stdout, stderr)
	}
	var changed map[string]any
	data, _ := yaml.Marshal(printed)
	if err := yaml.Unmarshal(data, &changed); err != nil {
		t.Fatal(err)
	}
	containers := changed["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
	containers[0].(map[string]any)["image"] = "ghcr.io/stefanprodan/podinfo:latest"
	f := writeYAML(t, tmp, "new.yaml", changed)
	code, stdout, stderr := gitgate(t, append(args, "-f", f)...)
	if code != 1 || !strings.Contains(stdout, "denied UPDATE Deployment.apps podinfo/podinfo (field-mismatch)") ||
		!strings.Contains(stdout, "HelmRelease podinfo/podinfo of GitRepository flux-system/flux-system") {
		t.Fatalf("check of a changed image: exit %d, want a field-mismatch denial naming the HelmRelease\n%s%s", code, stdout, stderr)
	}
}

// TestDriftSourceFlux: gitgate drift --source flux holds the live cluster
// to the same render, with the cluster's discovery for kinds: the
// agent's apply of podinfo's Deployment matches, its Service (not
// applied) is missing, and a Deployment changed past gitgate differs.
func TestDriftSourceFlux(t *testing.T) {
	dir, _ := fluxFleet(t)
	flux := []string{"--source", "flux", "--local", dir, "--path", "clusters/production", "--kube-version", harness.ChartKubeVersion}
	code, stdout, stderr := gitgate(t, append([]string{"render"}, flux...)...)
	if code != 0 {
		t.Fatalf("gitgate render: exit %d\n%s", code, stderr)
	}
	mustRun(t, "create", "namespace", "podinfo", "--as", agent)
	t.Cleanup(func() { env.kubectl.Run("", "delete", "namespace", "podinfo", "--wait=false", "--as", agent) })
	dep := writeYAML(t, t.TempDir(), "deployment.yaml", printedObject(t, stdout, "Deployment.apps podinfo/podinfo"))
	mustRun(t, "apply", "--server-side", "-f", dep, "--as", agent)
	stateOf := func() map[string]string {
		args := append(append([]string{"drift", "--kubeconfig", env.kubectl.Kubeconfig}, flux...), "-n", "podinfo", "-o", "json")
		code, stdout, stderr := gitgate(t, args...)
		var report struct {
			Objects []driftObject `json:"objects"`
		}
		if err := json.Unmarshal([]byte(stdout), &report); err != nil || code != 1 {
			t.Fatalf("gitgate drift: exit %d (want 1: the Service is missing), %v\n%s\n%s", code, err, stdout, stderr)
		}
		out := map[string]string{}
		for _, o := range report.Objects {
			out[o.Kind+" "+o.Name] = o.State + " " + strings.Join(o.Fields, ",")
		}
		return out
	}
	if got := stateOf(); got["Deployment podinfo"] != "matches " || got["Service podinfo"] != "missing " {
		t.Fatalf("drift after the agent's apply: %v", got)
	}
	mustRun(t, "set", "image", "deployment/podinfo", "-n", "podinfo", "podinfo=ghcr.io/stefanprodan/podinfo:latest", "--as", exemptController)
	if got := stateOf()["Deployment podinfo"]; !strings.HasPrefix(got, "differs ") || !strings.Contains(got, "image") {
		t.Fatalf("drift after a change past gitgate: Deployment %q, want differs on the image", got)
	}
}
