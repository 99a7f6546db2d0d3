package drift

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// fakeLive serves objects by key string, and counts its reads.
type fakeLive struct {
	objects map[string]map[string]any
	err     error
	// getErr and listErr fail Get of these keys, and List of these
	// "Kind namespace".
	getErr, listErr map[string]error
	gets, lists     int
}

func (f *fakeLive) Get(_ context.Context, e *provenance.Entry) (map[string]any, error) {
	f.gets++
	if err := f.getErr[e.Key.String()]; err != nil {
		return nil, err
	}
	return f.objects[e.Key.String()], f.err
}

func (f *fakeLive) List(_ context.Context, gvk schema.GroupVersionKind, ns string) ([]map[string]any, error) {
	f.lists++
	if err := f.listErr[gvk.GroupKind().String()+" "+ns]; err != nil {
		return nil, err
	}
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

// TestCompareReadErrors: one LIST per kind and namespace; where LIST is
// refused, a GET per object; an object gitgate may not read is
// unreadable, and the others are still compared. Only the end of the
// scan's time fails it.
func TestCompareReadErrors(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"shop.yaml": git})
	objects := map[string]string{
		"ConfigMap shop/a": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: shop}\ndata: {k: v}\n",
		"ConfigMap shop/b": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: shop}\n",
		"Secret shop/s":    "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: shop}\ndata: {password: aHVudGVyMg==}\n",
	}
	forbidden := apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "", errors.New("RBAC"))
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name            string
		ctx             context.Context
		listErr, getErr map[string]error
		want            []string
		gets, lists     int
		wantErr         bool
	}{
		{name: "all listed", want: []string{"matches", "matches", "matches"}, lists: 2},
		{name: "list of Secrets refused, get allowed", listErr: map[string]error{"Secret shop": forbidden},
			want: []string{"matches", "matches", "matches"}, lists: 2, gets: 1},
		{name: "Secrets unreadable", listErr: map[string]error{"Secret shop": forbidden}, getErr: map[string]error{"Secret shop/s": forbidden},
			want: []string{"matches", "matches", "unreadable Forbidden"}, lists: 2, gets: 1},
		{name: "scan out of time", ctx: canceled, wantErr: true, lists: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeLive{objects: map[string]map[string]any{}, listErr: tc.listErr, getErr: tc.getErr}
			for k, y := range objects {
				f.objects[k] = live(t, y)
			}
			if tc.ctx == nil {
				tc.ctx = context.Background()
			}
			r, err := Compare(tc.ctx, snap, f, Options{Checker: &provenance.Checker{}})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want an error: %v", err, tc.wantErr)
			}
			if f.lists != tc.lists || f.gets != tc.gets {
				t.Errorf("%d lists and %d gets, want %d and %d", f.lists, f.gets, tc.lists, tc.gets)
			}
			if err != nil {
				return
			}
			var got []string
			for _, o := range r.Objects {
				got = append(got, strings.TrimSpace(string(o.State)+" "+o.Reason))
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("states %v, want %v", got, tc.want)
			}
		})
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

// TestCompareUnverifiable: what Git cannot say is never "matches": an
// object whose indeterminate fields the live object holds, one the render
// cannot reproduce at all, and one only the agent writes are
// unverifiable (not drift); a transient one the agent removed is not
// reported; what Git can say is still compared.
func TestCompareUnverifiable(t *testing.T) {
	root := provenance.Root{Name: "HelmRelease shop/app", Source: "HelmRelease shop/app"}
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
	objs := func(y string) []map[string]any { return provenancetest.Objects(t, y) }
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{
		{Path: "app/templates/secret.yaml", Objects: objs("apiVersion: v1\nkind: Secret\nmetadata: {name: session, namespace: shop}\ndata: {token: cmVuZGVy, fixed: eWVz}\n"), Indeterminate: []string{"/data/token"}},
		{Path: "app/templates/found.yaml", Objects: objs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: found, namespace: shop}\ndata: {k: v}\n"), Indeterminate: []string{""}},
		{Path: "app/templates/hook.yaml", Objects: objs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hook, namespace: shop}\n"), Transient: true},
		{Path: "app/templates/gone.yaml", Objects: objs("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone, namespace: shop}\n"), Transient: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLive{objects: map[string]map[string]any{
		"Secret shop/session":  live(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: session, namespace: shop}\ndata: {token: YWdlbnQ=, fixed: eWVz}\n"),
		"ConfigMap shop/found": live(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: found, namespace: shop}\ndata: {k: from-the-cluster}\n"),
		"ConfigMap shop/hook":  live(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: hook, namespace: shop}\ndata: {anything: x}\n"),
	}}
	for _, tc := range []struct {
		fixed   string
		want    []string
		drifted bool
	}{
		{fixed: "eWVz", want: []string{"unverifiable ConfigMap shop/found", "unverifiable ConfigMap shop/hook", "unverifiable Secret shop/session data.token"}},
		{fixed: "bm8=", want: []string{"unverifiable ConfigMap shop/found", "unverifiable ConfigMap shop/hook", "differs Secret shop/session data.fixed"}, drifted: true},
	} {
		f.objects["Secret shop/session"]["data"].(map[string]any)["fixed"] = tc.fixed
		r, err := Compare(context.Background(), idx.Snapshot(), f, Options{Checker: &provenance.Checker{}})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, o := range r.Objects {
			got = append(got, strings.TrimSpace(string(o.State)+" "+o.Key().String()+" "+strings.Join(o.Fields, ",")))
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") || r.Drifted() != tc.drifted {
			t.Errorf("report (drifted %v):\n%s\nwant (drifted %v):\n%s", r.Drifted(), strings.Join(got, "\n"), tc.drifted, strings.Join(tc.want, "\n"))
		}
	}
}
