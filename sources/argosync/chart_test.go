package argosync

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/argorender/argorendertest"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/helmchart/charttest"
)

var chartVersions = []string{"1.0.0", "1.2.0", "1.3.0-rc.1", "2.0.0"}

// packageChart writes a chart archive as `helm package` does: a CRD, a
// ConfigMap naming the release, its namespace, the version and a value.
func packageChart(t *testing.T, dir, version string) string {
	t.Helper()
	p, err := charttest.Package(dir, map[string]string{
		"Chart.yaml":        "apiVersion: v2\nname: podinfo\nversion: " + version + "\n",
		"values.yaml":       "color: blue\n",
		"values-prod.yaml":  "color: red\n",
		"crds/crd.yaml":     "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  names: {kind: Widget, plural: widgets}\n  scope: Namespaced\n  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]\n",
		"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-podinfo\n  namespace: {{ .Release.Namespace }}\ndata:\n  version: {{ .Chart.Version | quote }}\n  color: {{ .Values.color | quote }}\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// helmRepo serves a Helm repository (index built with Helm's repo
// package) behind basic auth; it returns the server and each version's
// archive.
func helmRepo(t *testing.T) (*httptest.Server, map[string]string) {
	dir := t.TempDir()
	paths := map[string]string{}
	for _, v := range chartVersions {
		paths[v] = packageChart(t, dir, v)
	}
	if err := charttest.WriteIndex(dir, ""); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(charttest.Repository(dir, "/charts/", "argo", "s3cret"))
	t.Cleanup(srv.Close)
	return srv, paths
}

// ociRegistry runs go-containerregistry's registry over TLS with the
// charts pushed as Helm pushes them, reached as example.com (the test
// certificate's name) through the returned transport.
func ociRegistry(t *testing.T, paths map[string]string) http.RoundTripper {
	srv := httptest.NewTLSServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if strings.HasPrefix(addr, "example.com:") {
			addr = srv.Listener.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	for version, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ref := "example.com/charts/podinfo:" + strings.ReplaceAll(version, "+", "_")
		if _, err := charttest.Push(ref, charttest.HelmConfig, charttest.HelmLayer, data, remote.WithTransport(tr)); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// renderApp reads an Application's sources as the Watcher does (a chart
// source with readChart, any other from values, standing for its Git
// repository) and renders it.
func renderApp(t *testing.T, w *Watcher, y string, values fs.FS) (*argorender.Result, error) {
	t.Helper()
	app, err := argorender.DecodeApplication(testyaml.ToMap(t, y))
	if err != nil {
		t.Fatal(err)
	}
	in := argorender.Input{App: app}
	for _, s := range app.Spec.AllSources() {
		if s.Chart == "" {
			in.Sources = append(in.Sources, argorender.Source{Files: values, Revision: testCommit})
			continue
		}
		r := &repo{}
		if err := w.read(context.Background(), sourceKey(s), r); err != nil {
			return nil, err
		}
		in.Sources = append(in.Sources, argorender.Source{Files: r.files, Revision: r.version})
	}
	return argorender.Render(context.Background(), in)
}

const testCommit = "0123456789abcdef0123456789abcdef01234567"

func chartApp(repoURL, revision, helm string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: ns}
  source: {repoURL: "` + repoURL + `", chart: podinfo, targetRevision: "` + revision + `"` + helm + `}
`
}

// TestChartSources: a chart source of an HTTP Helm repository (with the
// URL's basic-auth credentials) or an OCI registry, at targetRevision
// resolved as Argo CD resolves it, renders as `helm template` renders the
// version it resolved; a version the repository lacks fails the root.
func TestChartSources(t *testing.T) {
	srv, paths := helmRepo(t)
	tr := ociRegistry(t, paths)
	creds := func(_ context.Context, url string) (transport.AuthMethod, []byte, error) {
		if strings.HasPrefix(url, srv.URL) {
			return &githttp.BasicAuth{Username: "argo", Password: "s3cret"}, nil, nil
		}
		return nil, nil, nil
	}
	w := &Watcher{Credentials: creds, Charts: &helmchart.Fetcher{Transport: tr}}
	for _, repoURL := range []string{srv.URL + "/charts", "oci://example.com/charts", "example.com/charts"} {
		for _, tc := range []struct {
			name, revision, want, err string
		}{
			{name: "exact", revision: "1.2.0", want: "1.2.0"},
			{name: "exact pre-release", revision: "1.3.0-rc.1", want: "1.3.0-rc.1"},
			{name: "range", revision: "^1.0.0", want: "1.2.0"},
			{name: "range with pre-releases", revision: ">=1.3.0-0 <2", want: "1.3.0-rc.1"},
			{name: "star", revision: "*", want: "2.0.0"},
			{name: "missing version", revision: "1.9.9", err: "1.9.9"},
			{name: "no match", revision: "^3", err: "version matching constraint not found"},
			{name: "not a version", revision: "main", err: "semver constraint"},
		} {
			t.Run(repoURL+"/"+tc.name, func(t *testing.T) {
				res, err := renderApp(t, w, chartApp(repoURL, tc.revision, ""), nil)
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("err = %v, want one naming %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := objectsOf(t, res)
				want := helmTemplate(t, paths[tc.want])
				if !reflect.DeepEqual(got, want) {
					t.Errorf("render differs from helm template:\n got %s\nwant %s", got, want)
				}
			})
		}
	}
	t.Run("no credentials", func(t *testing.T) {
		anon := &Watcher{}
		_, err := renderApp(t, anon, chartApp(srv.URL+"/charts", "1.2.0", ""), nil)
		if err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v, want the repository's 401", err)
		}
	})
	t.Run("ssh credentials", func(t *testing.T) {
		sshCreds := &Watcher{Credentials: func(context.Context, string) (transport.AuthMethod, []byte, error) {
			return &gitSSHStub{}, nil, nil
		}}
		_, err := renderApp(t, sshCreds, chartApp(srv.URL+"/charts", "1.2.0", ""), nil)
		if !errors.Is(err, argorender.ErrUnsupported) {
			t.Fatalf("err = %v, want ErrUnsupported", err)
		}
	})
}

type gitSSHStub struct{}

func (gitSSHStub) Name() string   { return "ssh-public-keys" }
func (gitSSHStub) String() string { return "ssh" }

// TestChartSourceWithRef: a chart of a Helm repository with value files
// of a Git source by $ref, and a value file of the chart itself.
func TestChartSourceWithRef(t *testing.T) {
	srv, paths := helmRepo(t)
	creds := func(context.Context, string) (transport.AuthMethod, []byte, error) {
		return &githttp.BasicAuth{Username: "argo", Password: "s3cret"}, nil, nil
	}
	w := &Watcher{Credentials: creds}
	values := fstest.MapFS{"envs/prod.yaml": {Data: []byte("color: green\n")}}
	for _, tc := range []struct {
		name, valueFile, color string
	}{
		{name: "$ref value file", valueFile: "$values/envs/prod.yaml", color: "green"},
		{name: "chart's own value file", valueFile: "values-prod.yaml", color: "red"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: web, namespace: argocd}
spec:
  project: default
  destination: {server: https://kubernetes.default.svc, namespace: ns}
  sources:
  - {repoURL: "` + srv.URL + `/charts", chart: podinfo, targetRevision: "~1.2", helm: {valueFiles: ["` + tc.valueFile + `"]}}
  - {repoURL: https://git.example.com/values.git, targetRevision: main, ref: values}
`
			res, err := renderApp(t, w, y, values)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			vf := filepath.Join(dir, "values.yaml")
			if err := os.WriteFile(vf, []byte("color: "+tc.color+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if got, want := objectsOf(t, res), helmTemplate(t, paths["1.2.0"], "--values", vf); !reflect.DeepEqual(got, want) {
				t.Errorf("render differs from helm template:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// helmTemplate runs helm v4 (.cache/bin/helm) with Argo CD's arguments
// on a chart archive and returns its objects, canonical and sorted.
func helmTemplate(t *testing.T, chartPath string, extra ...string) []string {
	t.Helper()
	bin, err := filepath.Abs(filepath.Join("..", "..", ".cache", "bin", "helm"))
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		t.Skipf("helm not built (hack/build-helm.sh): %v", err)
	}
	args := append([]string{"template", "web", chartPath, "--namespace", "ns", "--include-crds"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	var objs []map[string]any
	dec := utilyaml.NewYAMLOrJSONDecoder(&out, 4096)
	for {
		var o map[string]any
		if err := dec.Decode(&o); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if o != nil {
			objs = append(objs, o)
		}
	}
	return canonical(t, objs)
}

func objectsOf(t *testing.T, res *argorender.Result) []string {
	objs := make([]map[string]any, 0, len(res.Objects))
	for _, o := range res.Objects {
		objs = append(objs, o.Object)
	}
	return canonical(t, objs)
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
