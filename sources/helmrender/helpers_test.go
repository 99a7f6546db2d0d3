package helmrender_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// podinfo is a small chart shaped like stefanprodan/podinfo's: helpers,
// a Deployment and a Service from values, a hook and a test.
var podinfo = map[string]string{
	"Chart.yaml":  "apiVersion: v2\nname: podinfo\nversion: 6.5.0\nappVersion: 6.5.0\n",
	"values.yaml": "replicaCount: 1\nimage:\n  repository: ghcr.io/stefanprodan/podinfo\n  tag: 6.5.0\nservice:\n  port: 9898\nui:\n  message: hello\n",
	"templates/_helpers.tpl": `{{- define "podinfo.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- define "podinfo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
`,
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "podinfo.fullname" . }}
  labels:
    {{- include "podinfo.labels" . | nindent 4 }}
  annotations:
    revision: {{ .Release.Revision | quote }}
    upgrade: {{ .Release.IsUpgrade | quote }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector:
    matchLabels:
      app.kubernetes.io/name: {{ .Chart.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: {{ .Chart.Name }}
    spec:
      containers:
        - name: podinfo
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          env:
            - name: PODINFO_UI_MESSAGE
              value: {{ .Values.ui.message | quote }}
`,
	"templates/service.yaml": `apiVersion: v1
kind: Service
metadata:
  name: {{ include "podinfo.fullname" . }}
spec:
  ports:
    - port: {{ .Values.service.port }}
  selector:
    app.kubernetes.io/name: {{ .Chart.Name }}
`,
	"templates/hook.yaml": `apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "podinfo.fullname" . }}-migrate
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: migrate
          image: busybox
`,
	"templates/tests/test.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ include "podinfo.fullname" . }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers:
    - name: curl
      image: curlimages/curl
`,
	"templates/NOTES.txt": "Thanks for installing {{ .Chart.Name }}.\n",
}

// chartOf loads a chart from files as Helm's loader does.
func chartOf(t testing.TB, files map[string]string, extra ...map[string]string) *chart.Chart {
	t.Helper()
	all := map[string]string{}
	for _, m := range append([]map[string]string{files}, extra...) {
		for k, v := range m {
			all[k] = v
		}
	}
	var bf []*archive.BufferedFile
	for name, data := range all {
		bf = append(bf, &archive.BufferedFile{Name: name, Data: []byte(data)})
	}
	c, err := loader.LoadFiles(bf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// release builds a HelmRelease from YAML (spec and status).
func release(t testing.TB, y string) *helmv2.HelmRelease {
	t.Helper()
	hr := &helmv2.HelmRelease{}
	if err := yaml.UnmarshalStrict([]byte(y), hr); err != nil {
		t.Fatal(err)
	}
	if hr.Name == "" {
		hr.Name, hr.Namespace = "podinfo", "apps"
	}
	return hr
}

func withValues(hr *helmv2.HelmRelease, v map[string]any) *helmv2.HelmRelease {
	raw, _ := json.Marshal(v)
	hr.Spec.Values = &apiextensionsv1.JSON{Raw: raw}
	return hr
}

var caps = helmrender.Capabilities{Version: "v1.33.4", Major: "1", Minor: "33", APIVersions: []string{"v1", "apps/v1", "batch/v1", "apps/v1/Deployment"}}

// renderOf renders hr with c as an install (or t.Target), with the
// values of hr.spec.values.
func renderOf(t testing.TB, hr *helmv2.HelmRelease, c *chart.Chart, target helmrender.Target) *helmrender.Result {
	t.Helper()
	res, err := tryRender(hr, c, target)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func tryRender(hr *helmv2.HelmRelease, c *chart.Chart, target helmrender.Target) (*helmrender.Result, error) {
	return tryRenderIn(hr, c, target, provenancetest.AnyKind{})
}

func tryRenderIn(hr *helmv2.HelmRelease, c *chart.Chart, target helmrender.Target, scope provenance.Scope) (*helmrender.Result, error) {
	vals, err := helmrender.ComposeValues(context.Background(), nil, hr)
	if err != nil {
		return nil, err
	}
	if target.Revision == 0 {
		target = helmrender.Target{Revision: 1}
	}
	return helmrender.Render(context.Background(), helmrender.Input{
		HelmRelease:  hr,
		Chart:        c,
		Values:       vals,
		Target:       target,
		Capabilities: caps,
		Scope:        scope,
	})
}

// find returns the object of kind and name, or fails.
func find(t testing.TB, objs []helmrender.Object, kind, name string) helmrender.Object {
	t.Helper()
	for _, o := range objs {
		meta, _ := o.Object["metadata"].(map[string]any)
		if o.Object["kind"] == kind && meta["name"] == name {
			return o
		}
	}
	t.Fatalf("no %s %s in %d objects: %s", kind, name, len(objs), names(objs))
	return helmrender.Object{}
}

func names(objs []helmrender.Object) string {
	var out []string
	for _, o := range objs {
		meta, _ := o.Object["metadata"].(map[string]any)
		out = append(out, o.Object["kind"].(string)+"/"+meta["name"].(string))
	}
	return strings.Join(out, ",")
}

func field(o map[string]any, path ...string) any {
	var cur any = o
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

var _ = metav1.Now
