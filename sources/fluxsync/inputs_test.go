package fluxsync

import (
	"context"
	"strings"
	"testing"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gitgate/gitgate/provenance"
)

// readers names the roots whose render reads the object, as the
// webhook sees it.
func readers(w *Watcher, kind, name string) string {
	var out []string
	for _, in := range w.Composer.Store.Load().InputOf(provenance.Key{Kind: kind, Namespace: ns, Name: name}) {
		out = append(out, in.Root.Name+" "+in.Via)
	}
	return strings.Join(out, ",")
}

// TestInputsReachTheComposer: every Kustomization's substituteFrom
// ConfigMaps and Secrets, optional and missing ones included, are its
// root's inputs in the snapshot, also while the root fails to render;
// they follow its spec, and go with it.
func TestInputsReachTheComposer(t *testing.T) {
	g := startGit(t, fixture)
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"}, Data: map[string]string{"greeting": "hi"}}
	optionalSecret := func(ks *kustomizev1.Kustomization) {
		ks.Spec.PostBuild.SubstituteFrom = append(ks.Spec.PostBuild.SubstituteFrom, kustomizev1.SubstituteReference{Kind: "Secret", Name: "extra", Optional: true})
	}
	apps := kustomization("apps", "apps", "fleet", substituteFrom("vars", false), optionalSecret)
	bad := kustomization("bad", "infra", "fleet", substituteFrom("missing", false))
	w, c := newWatcher(t, &logLines{}, authSecret(), vars, gitRepository("fleet", g.HTTPURL(), authName), apps, bad)
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	const via = " spec.postBuild.substituteFrom"
	for _, tc := range []struct{ kind, name, want string }{
		{"ConfigMap", "vars", "Kustomization flux-system/apps" + via},
		{"Secret", "extra", "Kustomization flux-system/apps" + via},
		{"ConfigMap", "missing", "Kustomization flux-system/bad" + via},
		{"ConfigMap", "extra", ""},
		{"Secret", authName, ""},
	} {
		if got := readers(w, tc.kind, tc.name); got != tc.want {
			t.Errorf("%s %s is read by %q, want %q", tc.kind, tc.name, got, tc.want)
		}
	}
	apps.Spec.PostBuild = nil
	if err := c.Update(ctx, apps); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, bad); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vars", "missing"} {
		if got := readers(w, "ConfigMap", name); got != "" {
			t.Errorf("ConfigMap %s is still read by %q", name, got)
		}
	}
}
