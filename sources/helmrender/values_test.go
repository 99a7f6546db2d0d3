package helmrender_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/sources/helmrender"
)

const secretMarker = "hunter2-do-not-print"

func valuesReader(t testing.TB) client.Reader {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "base"}, Data: map[string]string{
			"values.yaml": "replicaCount: 2\nimage:\n  tag: 6.5.0\n  pullPolicy: IfNotPresent\nlist: [a, b]\n",
			"host":        "podinfo.example.com",
			"other.yaml":  "replicaCount: 5\n",
			"quoted":      `"007"`,
			"number":      "42",
			"braces":      "{a,b}",
		}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "creds"}, Data: map[string][]byte{
			"values.yaml": []byte("auth:\n  password: hunter2\n"),
			"broken":      []byte("auth: [" + secretMarker + "\n  : x"),
			"password":    []byte(secretMarker),
			"commas":      []byte("x," + secretMarker),
		}},
	).Build()
}

// TestComposeValues: valuesFrom in order, then spec.values, as
// chartutil.ChartValuesFromReferences merges them.
func TestComposeValues(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       string
		secret     bool
	}{
		{name: "spec values only", spec: `values: {replicaCount: 3}`, want: `replicaCount: 3`},
		{name: "valuesFrom then values", spec: `
valuesFrom: [{kind: ConfigMap, name: base}]
values: {replicaCount: 3, image: {tag: 6.5.1}}`,
			want: `{replicaCount: 3, image: {tag: 6.5.1, pullPolicy: IfNotPresent}, list: [a, b]}`},
		{name: "later reference wins", spec: `
valuesFrom: [{kind: ConfigMap, name: base}, {kind: ConfigMap, name: base, valuesKey: other.yaml}]`,
			want: `{replicaCount: 5, image: {tag: 6.5.0, pullPolicy: IfNotPresent}, list: [a, b]}`},
		{name: "targetPath with strvals", spec: `
valuesFrom: [{kind: ConfigMap, name: base, valuesKey: host, targetPath: "ingress.hosts[0].host"}]`,
			want: `{ingress: {hosts: [{host: podinfo.example.com}]}}`},
		{name: "targetPath types a number, quotes keep a string", spec: `
valuesFrom:
- {kind: ConfigMap, name: base, valuesKey: number, targetPath: a}
- {kind: ConfigMap, name: base, valuesKey: quoted, targetPath: b}`,
			want: `{a: 42, b: "007"}`},
		{name: "literal keeps braces and commas", spec: `
valuesFrom: [{kind: ConfigMap, name: base, valuesKey: braces, targetPath: a, literal: true}]`,
			want: `{a: "{a,b}"}`},
		{name: "spec values over a targetPath of the same key", spec: `
valuesFrom: [{kind: ConfigMap, name: base, valuesKey: host, targetPath: host}]
values: {host: mine}`,
			want: `{host: mine}`},
		{name: "optional missing skipped, secret noted", spec: `
valuesFrom: [{kind: Secret, name: creds}, {kind: Secret, name: nope, optional: true}]`,
			want: `{auth: {password: hunter2}}`, secret: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hr := release(t, "spec:\n  interval: 1m\n"+indent(tc.spec))
			v, err := helmrender.ComposeValues(context.Background(), valuesReader(t), hr)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := yaml.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			got, _ := yaml.Marshal(v.Map)
			wantY, _ := yaml.Marshal(want)
			if string(got) != string(wantY) {
				t.Errorf("values =\n%s\nwant\n%s", got, wantY)
			}
			if v.FromSecret != tc.secret {
				t.Errorf("FromSecret = %v, want %v", v.FromSecret, tc.secret)
			}
		})
	}
}

// TestSecretValuesNotLeaked: neither a Secret's unparsable values nor a
// template error over values from a Secret carry the Secret's text.
func TestSecretValuesNotLeaked(t *testing.T) {
	r := valuesReader(t)
	for _, tc := range []struct{ name, spec string }{
		{name: "unparsable values.yaml", spec: `valuesFrom: [{kind: Secret, name: creds, valuesKey: broken}]`},
		{name: "unparsable targetPath", spec: `valuesFrom: [{kind: Secret, name: creds, valuesKey: commas, targetPath: a}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := helmrender.ComposeValues(context.Background(), r, release(t, "spec:\n  interval: 1m\n  "+tc.spec))
			if err == nil || strings.Contains(err.Error(), secretMarker) || !errors.Is(err, helmrender.ErrSecretValues) {
				t.Fatalf("err = %v, want an error without the Secret's text", err)
			}
			if !strings.Contains(err.Error(), "apps/creds") {
				t.Errorf("err = %v, want it to name the Secret", err)
			}
		})
	}
	t.Run("template fails on a secret value", func(t *testing.T) {
		hr := release(t, "spec:\n  interval: 1m\n  valuesFrom: [{kind: Secret, name: creds, valuesKey: password, targetPath: password}]\n")
		vals, err := helmrender.ComposeValues(context.Background(), r, hr)
		if err != nil {
			t.Fatal(err)
		}
		c := chartOf(t, podinfo, map[string]string{"templates/fail.yaml": `{{ fail (printf "bad password %s" .Values.password) }}`})
		_, err = helmrender.Render(context.Background(), helmrender.Input{HelmRelease: hr, Chart: c, Values: vals, Target: helmrender.Target{Revision: 1}, Capabilities: caps})
		if err == nil || strings.Contains(err.Error(), secretMarker) || !errors.Is(err, helmrender.ErrRender) || !errors.Is(err, helmrender.ErrSecretValues) {
			t.Fatalf("err = %v, want ErrRender without the Secret's text", err)
		}
	})
	t.Run("the same failure without a Secret keeps Helm's message", func(t *testing.T) {
		hr := withValues(release(t, "spec:\n  interval: 1m\n"), map[string]any{"password": "plain"})
		c := chartOf(t, podinfo, map[string]string{"templates/fail.yaml": `{{ fail (printf "bad password %s" .Values.password) }}`})
		if _, err := tryRender(hr, c, helmrender.Target{}); err == nil || !strings.Contains(err.Error(), "bad password plain") {
			t.Fatalf("err = %v, want Helm's message", err)
		}
	})
}

// TestConfigDigest: the digest helm-controller v1.6.3 records for the same
// values. The expected value was computed outside this repository by a
// throwaway module running helm-controller's own code path
// (fluxcd/pkg/chartutil v1.27.1 ChartValuesFromReferences over the
// ConfigMap and Secret of valuesReader, then
// chartutil.DigestValues(digest.Canonical, values), with Helm v4.2.4 and
// go-digest at the commit helm-controller's go.mod replaces it with).
func TestConfigDigest(t *testing.T) {
	hr := release(t, `
spec:
  interval: 1m
  valuesFrom:
  - {kind: ConfigMap, name: base}
  - {kind: ConfigMap, name: base, valuesKey: host, targetPath: "ingress.hosts[0].host"}
  - {kind: Secret, name: creds}
  - {kind: Secret, name: missing, optional: true}
  values: {"replicaCount":3,"image":{"tag":"6.5.1"},"resources":{"limits":{"cpu":"100m"}},"ratio":0.5,"big":12345678901}
`)
	v, err := helmrender.ComposeValues(context.Background(), valuesReader(t), hr)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v.ConfigDigest(), "sha256:040241864fe0a5f4c86799ccc136c49272f5227a1c7a258014c30515069a5632"; got != want {
		t.Errorf("ConfigDigest = %s, want %s", got, want)
	}
	// No values: the digest of the empty input, as chartutil.DigestValues.
	if got, want := (helmrender.Values{}).ConfigDigest(), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("empty ConfigDigest = %s, want %s", got, want)
	}
	if !reflect.DeepEqual(v.Map["ingress"], map[string]any{"hosts": []any{map[string]any{"host": "podinfo.example.com"}}}) {
		t.Errorf("ingress = %#v", v.Map["ingress"])
	}
}

func indent(s string) string {
	lines := strings.Split(strings.TrimPrefix(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "  " + l
	}
	return strings.Join(lines, "\n") + "\n"
}
