package fluxlocal_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxlocal"
	"github.com/gitgate/gitgate/sources/helmchart/charttest"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// webChart is a small chart: a Deployment whose replicas, image tag and
// greeting come from values, a ConfigMap with a random token (an
// indeterminate field), and a pre-install hook.
var webChart = map[string]string{
	"Chart.yaml":  "apiVersion: v2\nname: web\nversion: 1.2.0\n",
	"values.yaml": "replicaCount: 1\ntag: \"1.0\"\ngreeting: hello\n",
	"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: {{ .Values.replicaCount }}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: "registry.example.com/web:{{ .Values.tag }}"
        env:
        - {name: GREETING, value: {{ .Values.greeting | quote }}}
        - {name: REVISION, value: "{{ .Release.Revision }}"}
`,
	"templates/token.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-token
data:
  token: {{ randAlphaNum 16 | quote }}
  fixed: "yes"
`,
	"templates/hooks/ping.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-ping
  annotations: {"helm.sh/hook": pre-install}
spec:
  containers: [{name: ping, image: busybox}]
`,
}

// chartFiles puts a chart's files under dir, as committed to Git.
func chartFiles(dir string, chart map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range chart {
		out[dir+"/"+k] = v
	}
	return out
}

// helmRepo serves a Helm repository of webChart (versions 1.2.0 and
// 1.3.0) with an index built by Helm's repo package, as `helm repo
// index` writes it.
func helmRepo(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	for _, v := range []string{"1.2.0", "1.3.0"} {
		files := map[string]string{}
		for k, d := range webChart {
			files[k] = d
		}
		files["Chart.yaml"] = "apiVersion: v2\nname: web\nversion: " + v + "\n"
		if _, err := charttest.Package(dir, files); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(charttest.Repository(dir, "/", "", ""))
	t.Cleanup(srv.Close)
	if err := charttest.WriteIndex(dir, srv.URL); err != nil {
		t.Fatal(err)
	}
	return srv
}

// render renders path of files with the default options.
func render(t *testing.T, files map[string]string, path string, opts ...func(*fluxlocal.Options)) *fluxlocal.Result {
	t.Helper()
	src := fstest.MapFS{}
	for p, body := range files {
		src[p] = &fstest.MapFile{Data: []byte(body)}
	}
	o := fluxlocal.Options{
		Files: src, Revision: provenance.Revision{Hash: strings.Repeat("ab", 20)}, Path: path,
		Capabilities: helmrender.DefaultCapabilities(),
	}
	for _, f := range opts {
		f(&o)
	}
	res, err := fluxlocal.Render(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// rootNamed is the root of that name, or fails.
func rootNamed(t *testing.T, res *fluxlocal.Result, name string) *fluxlocal.Root {
	t.Helper()
	for _, rt := range res.Roots {
		if rt.String() == name {
			return rt
		}
	}
	t.Fatalf("no root %s among %s", name, rootNames(res))
	return nil
}

func rootNames(res *fluxlocal.Result) string {
	var out []string
	for _, rt := range res.Roots {
		out = append(out, rt.String())
	}
	return strings.Join(out, ", ")
}

// objectNames lists a root's objects as Kind/name.
func objectNames(rt *fluxlocal.Root) []string {
	var out []string
	for _, o := range rt.Objects {
		meta, _ := o.Object["metadata"].(map[string]any)
		out = append(out, o.Object["kind"].(string)+"/"+meta["name"].(string))
	}
	return out
}

func objectOf(t *testing.T, rt *fluxlocal.Root, kind, name string) fluxlocal.Object {
	t.Helper()
	for _, o := range rt.Objects {
		meta, _ := o.Object["metadata"].(map[string]any)
		if o.Object["kind"] == kind && meta["name"] == name {
			return o
		}
	}
	t.Fatalf("%s declares no %s %s: %v", rt, kind, name, objectNames(rt))
	return fluxlocal.Object{}
}

// field reads a value at a path of maps and list indexes.
func field(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// Manifests of a fleet laid out like flux2-kustomize-helm-example.
const (
	gitRepository = `apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 1m
  url: https://git.example.com/fleet.git
  ref: {branch: main}
`
	fluxSystemKs = `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: flux-system, namespace: flux-system}
spec:
  interval: 10m
  path: ./clusters/prod
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`
)

// kustomization is a Flux Kustomization of path from the flux-system
// GitRepository.
func kustomization(name, path string) string {
	return `apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: ` + name + `, namespace: flux-system}
spec:
  interval: 10m
  path: ` + path + `
  prune: true
  sourceRef: {kind: GitRepository, name: flux-system}
`
}

func configMap(name, ns string, data string) string {
	return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + "}\ndata:\n" + data
}
