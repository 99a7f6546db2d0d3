package helmrender_test

import (
	"testing"

	"github.com/gitgate/gitgate/sources/helmrender"
)

// TestRenderPodinfo: the release manifest with what Helm and
// helm-controller add before applying, hooks and tests apart.
func TestRenderPodinfo(t *testing.T) {
	hr := release(t, `
spec:
  interval: 5m
  targetNamespace: web
  test: {enable: true}
  chart: {spec: {chart: podinfo, sourceRef: {kind: HelmRepository, name: podinfo}}}
`)
	res := renderOf(t, hr, chartOf(t, podinfo), helmrender.Target{})
	if res.ReleaseName != "web-podinfo" || res.Namespace != "web" {
		t.Fatalf("release = %s/%s, want web/web-podinfo", res.Namespace, res.ReleaseName)
	}
	if len(res.Objects) != 2 {
		t.Fatalf("objects = %s, want a Deployment and a Service", names(res.Objects))
	}
	d := find(t, res.Objects, "Deployment", "web-podinfo-podinfo")
	for k, want := range map[string]string{
		"app.kubernetes.io/managed-by":     "Helm",
		"helm.toolkit.fluxcd.io/name":      "podinfo",
		"helm.toolkit.fluxcd.io/namespace": "apps",
		"helm.sh/chart":                    "podinfo-6.5.0",
	} {
		if got := field(d.Object, "metadata", "labels", k); got != want {
			t.Errorf("label %s = %v, want %s", k, got, want)
		}
	}
	for k, want := range map[string]string{
		"meta.helm.sh/release-name":      "web-podinfo",
		"meta.helm.sh/release-namespace": "web",
		"revision":                       "1",
		"upgrade":                        "false",
	} {
		if got := field(d.Object, "metadata", "annotations", k); got != want {
			t.Errorf("annotation %s = %v, want %s", k, got, want)
		}
	}
	if ns := field(d.Object, "metadata", "namespace"); ns != "web" {
		t.Errorf("namespace = %v, want the release namespace", ns)
	}
	if r := field(d.Object, "spec", "replicas"); r != int64(1) {
		t.Errorf("replicas = %#v, want int64 1", r)
	}
	if d.Source != "podinfo/templates/deployment.yaml" {
		t.Errorf("source = %q", d.Source)
	}
	if len(res.Hooks) != 2 {
		t.Fatalf("hooks = %s, want the Job and the test Pod", names(res.Hooks))
	}
	job := find(t, res.Hooks, "Job", "web-podinfo-podinfo-migrate")
	if field(job.Object, "metadata", "labels", "helm.toolkit.fluxcd.io/name") != "podinfo" {
		t.Errorf("hook labels = %v: the combined post-render strategy labels hooks too", field(job.Object, "metadata", "labels"))
	}
	if field(job.Object, "metadata", "labels", "app.kubernetes.io/managed-by") != nil {
		t.Errorf("hook has Helm's managed-by label; Helm sets it on the manifest only")
	}
}
