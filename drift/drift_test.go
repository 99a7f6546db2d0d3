package drift

import (
	"context"
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// fakeLive serves objects by key string.
type fakeLive struct {
	objects map[string]map[string]any
	err     error
}

func (f *fakeLive) Get(_ context.Context, e *provenance.Entry) (map[string]any, error) {
	return f.objects[e.Key.String()], f.err
}

func (f *fakeLive) List(_ context.Context, gvk schema.GroupVersionKind, ns string) ([]map[string]any, error) {
	var out []map[string]any
	for k, o := range f.objects {
		if strings.HasPrefix(k, gvk.GroupKind().String()+" "+ns+"/") {
			out = append(out, o)
		}
	}
	return out, f.err
}

const git = `
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: shop}
data: {k: v}
---
apiVersion: v1
kind: Secret
metadata: {name: s, namespace: shop}
stringData: {password: hunter2}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: b, namespace: shop}
`

func live(t *testing.T, y string) map[string]any { return testyaml.ToMap(t, y) }

func TestCompare(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	cmA := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop, resourceVersion: '1', uid: x}\ndata: {k: v}\n"
	tests := []struct {
		name       string
		objects    map[string]string
		undeclared bool
		namespace  string
		want       []string // state key fields
		drifted    bool
	}{
		{name: "all as in Git", objects: map[string]string{
			"ConfigMap shop/a": cmA,
			"Secret shop/s":    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: aHVudGVyMg==}\n",
			"ConfigMap shop/b": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n",
		}, want: []string{"matches ConfigMap shop/a", "matches ConfigMap shop/b", "matches Secret shop/s"}},
		{name: "changed, missing, and a Secret's value changed", objects: map[string]string{
			"ConfigMap shop/a": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: w}\n",
			"Secret shop/s":    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: c2VjcmV0}\n",
		}, want: []string{"differs ConfigMap shop/a data.k", "missing ConfigMap shop/b", "differs Secret shop/s data.password"}, drifted: true},
		{name: "undeclared objects of declared kinds, not owned ones", undeclared: true, objects: map[string]string{
			"ConfigMap shop/a":                cmA,
			"ConfigMap shop/b":                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n",
			"Secret shop/s":                   "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: aHVudGVyMg==}\n",
			"ConfigMap shop/extra":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: shop}\n",
			"ConfigMap shop/kube-root-ca.crt": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-root-ca.crt, namespace: shop}\n",
			"ConfigMap shop/owned":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: owned, namespace: shop, ownerReferences: [{kind: X, name: y}]}\n",
		}, want: []string{"matches ConfigMap shop/a", "matches ConfigMap shop/b", "matches Secret shop/s", "undeclared ConfigMap shop/extra"}, drifted: true},
		{name: "finalizers a controller added are not drift", objects: map[string]string{
			"ConfigMap shop/a": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop, finalizers: [example.com/keep]}\ndata: {k: v}\n",
			"Secret shop/s":    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: aHVudGVyMg==}\n",
			"ConfigMap shop/b": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n",
		}, want: []string{"matches ConfigMap shop/a", "matches ConfigMap shop/b", "matches Secret shop/s"}},
		{name: "a key Git does not declare is not drift: defaults look the same", objects: map[string]string{
			"ConfigMap shop/a": cmA,
			"Secret shop/s":    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: aHVudGVyMg==, extra: eA==}\n",
			"ConfigMap shop/b": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n",
		}, want: []string{"matches ConfigMap shop/a", "matches ConfigMap shop/b", "matches Secret shop/s"}},
		{name: "another namespace only", namespace: "other", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLive{objects: map[string]map[string]any{}}
			for k, y := range tc.objects {
				f.objects[k] = live(t, y)
			}
			r, err := Compare(context.Background(), snap, f, Options{Checker: &provenance.Checker{}, Undeclared: tc.undeclared, Namespace: tc.namespace})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range r.Objects {
				got = append(got, strings.TrimSpace(string(o.State)+" "+o.Key().String()+" "+strings.Join(o.Fields, ",")))
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("report:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if r.Drifted() != tc.drifted {
				t.Errorf("Drifted() = %v, want %v", r.Drifted(), tc.drifted)
			}
		})
	}
}

func TestCompareFailsOnReadError(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	_, err := Compare(context.Background(), snap, &fakeLive{err: errors.New("forbidden")}, Options{Checker: &provenance.Checker{}})
	if err == nil || !strings.Contains(err.Error(), "forbidden") {
		t.Errorf("err = %v, want the read error", err)
	}
}

func TestCompareKeyedListElementAdded(t *testing.T) {
	const deployment = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    spec:
      containers:
      - {name: app, image: shop:1}
`
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"web.yaml": deployment})
	f := &fakeLive{objects: map[string]map[string]any{"Deployment.apps shop/web": live(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 1
  template:
    spec:
      containers:
      - {name: app, image: shop:1, imagePullPolicy: IfNotPresent}
      - {name: miner, image: evil:1}
`)}}
	// In both field modes: a container nobody declared is drift.
	for fields, want := range map[provenance.FieldMode]State{provenance.FieldsStrict: Differs, provenance.FieldsDeclared: Differs} {
		r, err := Compare(context.Background(), snap, f, Options{Checker: &provenance.Checker{Fields: fields}})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Objects[0]; got.State != want {
			t.Errorf("--fields %s: %s %v, want %s", fields, got.State, got.Fields, want)
		}
	}
}
