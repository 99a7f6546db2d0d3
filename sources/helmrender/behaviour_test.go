package helmrender_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// TestIndeterminate: fields a second render changes are marked, even
// where luck would hide them (a year, a coin toss), and nothing else.
func TestIndeterminate(t *testing.T) {
	secret := `apiVersion: v1
kind: Secret
metadata:
  name: creds
stringData:
  password: {{ randAlphaNum 16 | quote }}
  year: {{ now | date "2006" | quote }}
  coin: {{ randInt 0 2 | quote }}
  fixed: {{ date "2006" 0 | quote }}
  uuid-name: fixed
`
	named := `apiVersion: v1
kind: ConfigMap
metadata:
  name: cm-{{ randAlpha 5 | lower }}
data: {a: b}
`
	hr := release(t, "spec: {interval: 1m}")
	for _, tc := range []struct {
		name, file string
		kind, obj  string
		want       []string
	}{
		{name: "random, clock, coin", file: secret, kind: "Secret", obj: "creds", want: []string{"/stringData/coin", "/stringData/password", "/stringData/year"}},
		{name: "random name", file: named, kind: "ConfigMap", want: []string{"/metadata/name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The coin agrees by chance half of the time: render often.
			for i := 0; i < 8; i++ {
				res := renderOf(t, hr, chartOf(t, podinfo, map[string]string{"templates/x.yaml": tc.file}), helmrender.Target{})
				var o helmrender.Object
				for _, c := range res.Objects {
					if c.Source == "podinfo/templates/x.yaml" {
						o = c
					}
				}
				if !reflect.DeepEqual(o.Indeterminate, tc.want) {
					t.Fatalf("Indeterminate = %q, want %q", o.Indeterminate, tc.want)
				}
				if d := find(t, res.Objects, "Deployment", "podinfo-podinfo"); d.Indeterminate != nil {
					t.Fatalf("Deployment Indeterminate = %q, want none", d.Indeterminate)
				}
			}
		})
	}
}

// TestLookup: lookup finds nothing, as in a dry run, and marks the objects
// of the file that called it (also through a helper), not the others.
func TestLookup(t *testing.T) {
	c := chartOf(t, podinfo, map[string]string{
		"templates/_lookup.tpl": `{{- define "existing" -}}{{- $s := lookup "v1" "Secret" .Release.Namespace "creds" -}}{{- if $s -}}{{ index $s.data "password" }}{{- else -}}{{ "bmV3" }}{{- end -}}{{- end -}}`,
		"templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\ndata:\n  password: {{ include \"existing\" . }}\n",
	})
	res := renderOf(t, release(t, "spec: {interval: 1m}"), c, helmrender.Target{})
	if !res.Lookup {
		t.Fatal("Result.Lookup = false")
	}
	s := find(t, res.Objects, "Secret", "creds")
	if !s.Lookup || field(s.Object, "data", "password") != "bmV3" {
		t.Errorf("Secret Lookup = %v, data = %v: want marked, rendered as if nothing exists", s.Lookup, field(s.Object, "data"))
	}
	if d := find(t, res.Objects, "Deployment", "podinfo-podinfo"); d.Lookup {
		t.Error("the Deployment's template never called lookup, but it is marked")
	}
}

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {kind: Widget, plural: widgets}
  versions:
  - {name: v1, served: true, storage: true}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-crd}
`

// TestCRDPolicy: crds/ by install.crds (default Create) and upgrade.crds
// (default Skip); server-side apply makes Create apply, else create-only.
func TestCRDPolicy(t *testing.T) {
	c := chartOf(t, podinfo, map[string]string{
		"crds/widget.yaml":      crd,
		"templates/widget.yaml": "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  annotations:\n    served: {{ .Capabilities.APIVersions.Has \"example.com/v1/Widget\" | quote }}\n",
	})
	for _, tc := range []struct {
		name, spec string
		target     helmrender.Target
		crd        bool // declared
		createOnly bool
		served     string
	}{
		{name: "install default", spec: "{}", target: helmrender.Target{Revision: 1}, crd: true, served: "true"},
		{name: "install without SSA", spec: "{install: {serverSideApply: false}}", target: helmrender.Target{Revision: 1}, crd: true, createOnly: true, served: "true"},
		{name: "install Skip", spec: "{install: {crds: Skip}}", target: helmrender.Target{Revision: 1}, served: "false"},
		{name: "upgrade default Skip", spec: "{}", target: helmrender.Target{Revision: 2, Upgrade: true}, served: "false"},
		{name: "upgrade CreateReplace", spec: "{upgrade: {crds: CreateReplace}}", target: helmrender.Target{Revision: 2, Upgrade: true}, crd: true, served: "true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := release(t, "spec: "+strings.Replace(tc.spec, "{", "{interval: 1m, ", 1))
			if tc.spec == "{}" {
				hr = release(t, "spec: {interval: 1m}")
			}
			res := renderOf(t, hr, c, tc.target)
			var got *helmrender.Object
			for i, o := range res.Objects {
				if o.Object["kind"] == "ConfigMap" && o.Source == "podinfo/crds/widget.yaml" {
					t.Fatal("a ConfigMap of crds/ was kept; helm-controller drops non-CRDs there")
				}
				if o.Object["kind"] == "CustomResourceDefinition" {
					got = &res.Objects[i]
				}
			}
			if (got != nil) != tc.crd {
				t.Fatalf("CRD declared = %v, want %v", got != nil, tc.crd)
			}
			if got != nil {
				if got.CreateOnly != tc.createOnly || field(got.Object, "metadata", "labels", "helm.toolkit.fluxcd.io/name") != "podinfo" {
					t.Errorf("CRD = %+v, want CreateOnly %v and the origin labels", got, tc.createOnly)
				}
				if field(got.Object, "metadata", "labels", "app.kubernetes.io/managed-by") != nil {
					t.Error("CRD has Helm's managed-by label; crds/ is applied outside the release")
				}
			}
			w := find(t, res.Objects, "Widget", "w")
			if served := field(w.Object, "metadata", "annotations", "served"); served != tc.served {
				t.Errorf(".Capabilities has the CRD: %v, want %s", served, tc.served)
			}
			if tc.crd && field(w.Object, "metadata", "namespace") != "apps" {
				t.Errorf("Widget namespace = %v, want the release namespace (the CRD says Namespaced)", field(w.Object, "metadata", "namespace"))
			}
		})
	}
}

// TestPostRender: kustomize patches and images, commonMetadata, and the
// origin labels that win over a common label of the same key.
func TestPostRender(t *testing.T) {
	hr := release(t, `
spec:
  interval: 1m
  commonMetadata:
    labels: {team: web, helm.toolkit.fluxcd.io/name: spoofed}
    annotations: {owner: me}
  postRenderers:
  - kustomize:
      images: [{name: ghcr.io/stefanprodan/podinfo, newTag: 6.5.1}]
      patches:
      - target: {kind: Deployment}
        patch: |
          - op: replace
            path: /spec/replicas
            value: 3
`)
	res := renderOf(t, hr, chartOf(t, podinfo), helmrender.Target{})
	d := find(t, res.Objects, "Deployment", "podinfo-podinfo")
	if r := field(d.Object, "spec", "replicas"); r != int64(3) {
		t.Errorf("replicas = %v, want the patch's 3", r)
	}
	cs := field(d.Object, "spec", "template", "spec", "containers").([]any)
	if img := cs[0].(map[string]any)["image"]; img != "ghcr.io/stefanprodan/podinfo:6.5.1" {
		t.Errorf("image = %v", img)
	}
	labels := field(d.Object, "metadata", "labels").(map[string]any)
	if labels["team"] != "web" || labels["helm.toolkit.fluxcd.io/name"] != "podinfo" {
		t.Errorf("labels = %v: want the common label and the origin label winning", labels)
	}
	if field(d.Object, "spec", "selector", "matchLabels", "team") != nil {
		t.Error("a common label reached the selector; helm-controller sets metadata.labels only")
	}
	if field(d.Object, "metadata", "annotations", "owner") != "me" {
		t.Errorf("annotations = %v", field(d.Object, "metadata", "annotations"))
	}
	t.Run("nohooks leaves hooks alone", func(t *testing.T) {
		hr := hr.DeepCopy()
		hr.Spec.PostRenderStrategy = "nohooks"
		job := find(t, renderOf(t, hr, chartOf(t, podinfo), helmrender.Target{}).Hooks, "Job", "podinfo-podinfo-migrate")
		if field(job.Object, "metadata", "labels", "team") != nil {
			t.Error("nohooks: a hook was post-rendered")
		}
	})
}

// TestRenderFailsClosed: a broken template, a panicking function, an
// unknown kind, another cluster or preserved values fail the render with
// an error, never the process.
func TestRenderFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name, spec, file string
		target           helmrender.Target
		want             error
	}{
		{name: "division by zero", file: "{{ div 1 0 }}", want: helmrender.ErrRender},
		{name: "bad YAML", file: "kind: [", want: helmrender.ErrRender},
		{name: "unknown kind", file: "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n", want: helmrender.ErrUnknownKind},
		{name: "duplicate in post-render", file: "apiVersion: v1\nkind: Service\nmetadata: {name: podinfo-podinfo}\n", want: helmrender.ErrRender},
		{name: "kubeConfig", spec: "{interval: 1m, kubeConfig: {secretRef: {name: remote}}}", want: helmrender.ErrOtherCluster},
		{name: "preserveValues", spec: "{interval: 1m, upgrade: {preserveValues: true}}", target: helmrender.Target{Revision: 2, Upgrade: true}, want: helmrender.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tc.spec
			if spec == "" {
				spec = "{interval: 1m}"
			}
			files := map[string]string{}
			if tc.file != "" {
				files["templates/x.yaml"] = tc.file
			}
			scope := provenancetest.Scope{"Deployment.apps": true, "Service": true, "Job.batch": true, "Pod": true}
			_, err := tryRenderIn(release(t, "spec: "+spec), chartOf(t, podinfo, files), tc.target, scope)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestUpgradeTarget: .Release.Revision and IsUpgrade of the target.
func TestUpgradeTarget(t *testing.T) {
	res := renderOf(t, release(t, "spec: {interval: 1m}"), chartOf(t, podinfo), helmrender.Target{Revision: 4, Upgrade: true})
	d := find(t, res.Objects, "Deployment", "podinfo-podinfo")
	if a := field(d.Object, "metadata", "annotations").(map[string]any); a["revision"] != "4" || a["upgrade"] != "true" {
		t.Errorf("annotations = %v, want revision 4 and an upgrade", a)
	}
	if len(res.Hooks) != 1 {
		t.Errorf("hooks = %s, want the Job (tests are off)", names(res.Hooks))
	}
	res = renderOf(t, release(t, "spec: {interval: 1m, upgrade: {disableHooks: true}}"), chartOf(t, podinfo), helmrender.Target{Revision: 4, Upgrade: true})
	if len(res.Hooks) != 0 {
		t.Errorf("hooks = %s, want none with upgrade.disableHooks", names(res.Hooks))
	}
}

// TestIgnoreRules: driftDetection.ignore, resolved with helm-controller's
// selector to the objects it targets.
func TestIgnoreRules(t *testing.T) {
	hr := release(t, `
spec:
  interval: 1m
  serviceAccountName: deployer
  driftDetection:
    mode: enabled
    ignore:
    - paths: [/spec/replicas]
      target: {kind: Deploy.*}
    - paths: [/metadata/annotations/x]
`)
	res := renderOf(t, hr, chartOf(t, podinfo), helmrender.Target{})
	want := []provenance.IgnoreRule{
		{Group: "apps", Kind: "Deployment", Namespace: "apps", Name: "podinfo-podinfo", JSONPointers: []string{"/spec/replicas"}},
	}
	for _, o := range res.Objects {
		u := o.Object["metadata"].(map[string]any)
		group := ""
		if o.Object["kind"] == "Deployment" {
			group = "apps"
		}
		want = append(want, provenance.IgnoreRule{Group: group, Kind: o.Object["kind"].(string), Namespace: "apps", Name: u["name"].(string), JSONPointers: []string{"/metadata/annotations/x"}})
	}
	if !reflect.DeepEqual(res.Ignore, want) {
		t.Errorf("Ignore = %+v\nwant %+v", res.Ignore, want)
	}
	if res.ServiceAccountName != "deployer" {
		t.Errorf("ServiceAccountName = %q", res.ServiceAccountName)
	}
}

// TestFileDependency: a chart of a Git source with a file:// dependency,
// built by sources/helmchart, renders the dependency's templates with its
// values scoped as Helm scopes them.
func TestFileDependency(t *testing.T) {
	src := fstest.MapFS{
		"app/Chart.yaml":        {Data: []byte("apiVersion: v2\nname: app\nversion: 1.0.0\ndependencies:\n- {name: lib, version: 0.1.0, repository: file://../lib}\n")},
		"app/values.yaml":       {Data: []byte("lib: {greeting: hi}\n")},
		"lib/Chart.yaml":        {Data: []byte("apiVersion: v2\nname: lib\nversion: 0.1.0\n")},
		"lib/templates/cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\ndata: {greeting: {{ .Values.greeting }}}\n")},
	}
	c, err := helmchart.FromGit(src, sourcev1.HelmChartSpec{Chart: "app"}, 1, "main@sha1:0123456789abcdef0123456789abcdef01234567")
	if err != nil {
		t.Fatal(err)
	}
	res := renderOf(t, release(t, "spec: {interval: 1m}"), c.Chart, helmrender.Target{})
	cm := find(t, res.Objects, "ConfigMap", "lib")
	if field(cm.Object, "data", "greeting") != "hi" || cm.Source != "app/charts/lib/templates/cm.yaml" {
		t.Errorf("ConfigMap = %v from %s", cm.Object, cm.Source)
	}
}
