package provenance_test

import (
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// TestNoControllerRuleFreesGitOpsMetadata: no controller rule frees any of
// a GitOps object, its metadata included: neither a jsonPointers rule nor
// a managedFieldsManagers rule frees a declared annotation of a child
// Application (a notifications subscription).
func TestNoControllerRuleFreesGitOpsMetadata(t *testing.T) {
	const git = `
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop, namespace: argocd, annotations: {notifications.argoproj.io/subscribe.on-sync-failed.slack: security-alerts}}
spec: {project: default, destination: {server: "https://kubernetes.default.svc", namespace: shop}, source: {repoURL: "https://git.example/shop.git", path: ., targetRevision: main}}
`
	const op = "kube-controller-manager"
	const liveApp = `{"apiVersion":"argoproj.io/v1alpha1","kind":"Application","metadata":{"name":"shop","namespace":"argocd","resourceVersion":"5","annotations":{"notifications.argoproj.io/subscribe.on-sync-failed.slack":"security-alerts"}},"spec":{"project":"default","destination":{"server":"https://kubernetes.default.svc","namespace":"shop"},"source":{"repoURL":"https://git.example/shop.git","path":".","targetRevision":"main"}}}`
	f := `{"f:metadata":{"f:annotations":{"f:notifications.argoproj.io/subscribe.on-sync-failed.slack":{}}}}`
	silence := func(o map[string]any) {
		o["metadata"].(map[string]any)["annotations"] = map[string]any{"notifications.argoproj.io/subscribe.on-sync-failed.slack": "dev-null"}
	}
	for _, rule := range []provenance.IgnoreRule{
		{Group: "argoproj.io", Kind: "Application", JSONPointers: []string{"/metadata/annotations"}},
		{Group: "argoproj.io", Kind: "Application", ManagedFieldsManagers: []string{op}},
	} {
		ix := &provenance.Indexer{Scope: scope, Root: provenance.Root{Name: "Application argocd/apps"}}
		idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "apps.yaml", Objects: provenancetest.Objects(t, git), ControllerIgnores: []provenance.IgnoreRule{rule}}})
		if err != nil {
			t.Fatal(err)
		}
		c := webhookLikeChecker(t, true)
		req := &provenance.Request{Operation: provenance.Update, Group: "argoproj.io", Version: "v1alpha1", Kind: "Application", Namespace: "argocd", Name: "shop",
			OldObjectRaw: liveObject(t, liveApp, []map[string]any{mf("argocd-controller", "", "argoproj.io/v1alpha1", f)}, nil),
			ObjectRaw:    liveObject(t, liveApp, []map[string]any{mf(op, "", "argoproj.io/v1alpha1", f)}, silence),
			Options:      []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"` + op + `"}`)}
		decodeRaw(t, req)
		got := c.Check(idx.Snapshot(), req)
		t.Logf("rule pointers=%v managers=%v: allowed=%v reason=%s", rule.JSONPointers, rule.ManagedFieldsManagers, got.Allowed, got.Reason)
		if got.Allowed {
			t.Errorf("a controller rule (%+v) freed a declared annotation of a GitOps object", rule)
		}
	}
}
