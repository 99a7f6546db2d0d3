package helmchart_test

import (
	"errors"
	"testing"
	"testing/fstest"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/sources/helmchart"
)

func files(m map[string]string) fstest.MapFS {
	fs := fstest.MapFS{}
	for k, v := range m {
		fs[k] = &fstest.MapFile{Data: []byte(v)}
	}
	return fs
}

var gitSource = map[string]string{
	"charts/app/Chart.yaml": `apiVersion: v2
name: app
version: 1.2.0
dependencies:
- {name: lib, version: ">=0.1.0", repository: "file://../lib"}
- {name: common, version: 2.0.0, repository: ""}
`,
	"charts/app/values.yaml":              "replicaCount: 1\nmessage: base\n",
	"charts/app/templates/cm.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n",
	"charts/app/templates/.hidden.yaml":   "ignored by Helm's default rules",
	"charts/app/.helmignore":              "secret.txt\n",
	"charts/app/secret.txt":               "left out",
	"charts/app/charts/common/Chart.yaml": "apiVersion: v2\nname: common\nversion: 2.0.0\n",
	"charts/lib/Chart.yaml":               "apiVersion: v2\nname: lib\nversion: 0.3.0\n",
	"charts/lib/templates/lib.yaml":       "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: lib}\n",
	"env/prod.yaml":                       "replicaCount: 3\n",
	"env/team.yaml":                       "message: team\n",
}

const commit = "main@sha1:0123456789abcdef0123456789abcdef01234567"

// TestFromGit: the chart of a GitRepository as source-controller builds it.
func TestFromGit(t *testing.T) {
	src := files(gitSource)
	for _, tc := range []struct {
		name    string
		spec    sourcev1.HelmChartSpec
		version string
		values  string
	}{
		{name: "plain", spec: sourcev1.HelmChartSpec{Chart: "./charts/app"}, version: "1.2.0", values: "{message: base, replicaCount: 1}"},
		{name: "values files", spec: sourcev1.HelmChartSpec{Chart: "charts/app", ValuesFiles: []string{"charts/app/values.yaml", "env/prod.yaml", "env/team.yaml"}},
			version: "1.2.0+7", values: "{message: team, replicaCount: 3}"},
		{name: "values files replace values.yaml", spec: sourcev1.HelmChartSpec{Chart: "charts/app", ValuesFiles: []string{"env/prod.yaml"}},
			version: "1.2.0+7", values: "{replicaCount: 3}"},
		{name: "revision strategy", spec: sourcev1.HelmChartSpec{Chart: "charts/app", ReconcileStrategy: sourcev1.ReconcileStrategyRevision},
			version: "1.2.0+0123456789ab", values: "{message: base, replicaCount: 1}"},
		{name: "revision strategy and values files", spec: sourcev1.HelmChartSpec{Chart: "charts/app", ReconcileStrategy: sourcev1.ReconcileStrategyRevision, ValuesFiles: []string{"env/prod.yaml", "env/missing.yaml"}, IgnoreMissingValuesFiles: true},
			version: "1.2.0+0123456789ab.7", values: "{replicaCount: 3}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := helmchart.FromGit(src, tc.spec, 7, commit)
			if err != nil {
				t.Fatal(err)
			}
			if c.Chart.Metadata.Version != tc.version || c.Revision != tc.version {
				t.Errorf("version = %s, revision %s, want %s", c.Chart.Metadata.Version, c.Revision, tc.version)
			}
			var want map[string]any
			_ = yaml.Unmarshal([]byte(tc.values), &want)
			got, _ := yaml.Marshal(c.Chart.Values)
			wantY, _ := yaml.Marshal(want)
			if string(got) != string(wantY) {
				t.Errorf("values = %s, want %s", got, wantY)
			}
			deps := map[string]string{}
			for _, d := range c.Chart.Dependencies() {
				deps[d.Name()] = d.Metadata.Version
			}
			if len(deps) != 2 || deps["lib"] != "0.3.0" || deps["common"] != "2.0.0" {
				t.Errorf("dependencies = %v, want the file:// lib and the vendored common", deps)
			}
			for _, f := range append(c.Chart.Files, c.Chart.Templates...) {
				if f.Name == "secret.txt" || f.Name == "templates/.hidden.yaml" {
					t.Errorf("%s was loaded; .helmignore and Helm's defaults leave it out", f.Name)
				}
			}
		})
	}
}

// TestFromGitRefuses: what gitgate cannot build from the source alone.
func TestFromGitRefuses(t *testing.T) {
	remote := map[string]string{}
	for k, v := range gitSource {
		remote[k] = v
	}
	remote["charts/app/Chart.yaml"] += "- {name: redis, version: 1.x, repository: https://charts.example.com}\n"
	for _, tc := range []struct {
		name string
		src  map[string]string
		spec sourcev1.HelmChartSpec
		want error
	}{
		{name: "remote dependency", src: remote, spec: sourcev1.HelmChartSpec{Chart: "charts/app"}, want: helmchart.ErrRemoteDependency},
		{name: "bucket", src: gitSource, spec: sourcev1.HelmChartSpec{Chart: "charts/app", SourceRef: sourcev1.LocalHelmChartSourceReference{Kind: sourcev1.BucketKind}}, want: helmchart.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := helmchart.FromGit(files(tc.src), tc.spec, 1, commit); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("missing values file", func(t *testing.T) {
		_, err := helmchart.FromGit(files(gitSource), sourcev1.HelmChartSpec{Chart: "charts/app", ValuesFiles: []string{"nope.yaml"}}, 1, commit)
		if err == nil {
			t.Fatal("a missing values file was accepted")
		}
	})
}

// TestCheckHelmChart: the HelmChart must have built the same chart, at
// the same version, from the commit gitgate fetched.
func TestCheckHelmChart(t *testing.T) {
	c, err := helmchart.FromGit(files(gitSource), sourcev1.HelmChartSpec{Chart: "charts/app"}, 1, commit)
	if err != nil {
		t.Fatal(err)
	}
	hc := func(chart, version, rev string) *sourcev1.HelmChart {
		return &sourcev1.HelmChart{Status: sourcev1.HelmChartStatus{
			ObservedChartName: chart, ObservedSourceArtifactRevision: rev,
			Artifact: &meta.Artifact{Revision: version, Digest: "sha256:whatever-repackaged"},
		}}
	}
	for _, tc := range []struct {
		name string
		hc   *sourcev1.HelmChart
		ok   bool
	}{
		{name: "same", hc: hc("app", "1.2.0", commit), ok: true},
		{name: "older commit, same version", hc: hc("app", "1.2.0", "main@sha1:ffffffffffffffffffffffffffffffffffffffff")},
		{name: "other version", hc: hc("app", "1.1.0", commit)},
		{name: "other chart", hc: hc("lib", "1.2.0", commit)},
		{name: "no artifact", hc: &sourcev1.HelmChart{}},
	} {
		err := c.CheckHelmChart(tc.hc)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, helmchart.ErrArtifactMismatch)) {
			t.Errorf("%s: CheckHelmChart = %v", tc.name, err)
		}
	}
}
