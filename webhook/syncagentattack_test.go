package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// A PreSync hook RoleBinding (Helm charts' job-patch pattern) and a bare
// Pod hook, rendered by the Application; Argo CD's default delete policy
// (BeforeHookCreation) leaves them live, in the app's resource tree, so
// argocd-server's PatchResource reaches them as the impersonated account.
const (
	hookRB = `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"migrate","namespace":"shop","annotations":{"argocd.argoproj.io/hook":"PreSync"}},
	"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"migrate"},"subjects":[{"kind":"ServiceAccount","name":"migrate","namespace":"shop"}]}`
	hookPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"smoke","namespace":"shop","annotations":{"argocd.argoproj.io/hook":"PostSync"}},
	"spec":{"restartPolicy":"Never","containers":[{"name":"t","image":"smoke:1"}]}}`
	argoSecret = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"app-config","namespace":"shop"},"data":{"k":"dg=="}}`
)

var (
	hookRBChange     = change{group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", resource: "rolebindings", obj: hookRB, namespace: "shop", name: "migrate"}
	hookPodChange    = change{version: "v1", kind: "Pod", resource: "pods", obj: hookPod, namespace: "shop", name: "smoke"}
	argoSecretChange = change{version: "v1", kind: "Secret", resource: "secrets", obj: argoSecret, namespace: "shop", name: "app-config"}
)

// agentsHandler judges with snap as TestRootAgent and the sync agent tests
// do: strict fields, every identity at its default.
func agentsHandler(snap *provenance.Snapshot) *Handler {
	return &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snap},
		Checker: &provenance.Checker{Fields: provenance.FieldsStrict}, Controllers: ControllerChecker(nil),
		Audit: &records{}, Now: func() time.Time { return t0 }, Kinds: serviceAccountKinds{}}
}

// TestSyncAgentHookContent: a hook is the sync agent's only as Git declares
// it: argocd-server's patch of a live hook (a RoleBinding's subjects, a
// Pod's image) and a create with another spec are refused.
func TestSyncAgentHookContent(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetSyncAgents(impersonatedRoot, []string{deployer})
	ix := &provenance.Indexer{Scope: clusterScope{}, Root: impersonatedRoot}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
		// as sources/argosync/render.go files hooks: transient, full content
		{Path: "hooks", Transient: true, Objects: []map[string]any{object(t, hookRB), object(t, hookPod), object(t, hookJob)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: idx})
	snap := c.Store.Load()
	addMe := setPath([]string{"subjects"}, []any{
		map[string]any{"kind": "ServiceAccount", "name": "migrate", "namespace": "shop"},
		map[string]any{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "mallory"}})
	evilImage := setPath([]string{"spec", "containers"}, []any{map[string]any{"name": "t", "image": "evil:1"}})
	evilJob := setPath([]string{"spec", "template", "spec", "containers"}, []any{map[string]any{"name": "m", "image": "evil:1", "securityContext": map[string]any{"privileged": true}}})
	for _, tc := range []struct {
		name string
		req  change
	}{
		{"argocd-server patches a hook RoleBinding's subjects", hookRBChange.with(admissionv1.Update, addMe)},
		{"argocd-server patches a hook Pod's image", hookPodChange.with(admissionv1.Update, evilImage)},
		{"a hook Job created with another spec than Git's", hookChange.with(admissionv1.Create, evilJob)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := agentsHandler(snap).Decide(context.Background(), tc.req.admissionRequest(t, deployer))
			if d.Allowed {
				t.Errorf("allowed (reason %s class %s): a hook's content is not Git's, yet the sync agent (so a person through argocd-server) writes it", d.Reason, d.Class)
			}
		})
	}
}

// TestSyncAgentNoClaim: an Application's account may not turn a Secret its
// Application declares into a HelmRelease's release record.
func TestSyncAgentNoClaim(t *testing.T) {
	const deployer2 = "system:serviceaccount:shop:argo-deployer"
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetAgents(helmRoot, []string{deployer})
	c.SetClaims(helmRoot, []provenance.Claim{{Kind: "Secret", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "podinfo"}, Via: "Helm's records of release podinfo"}})
	c.SetSyncAgents(impersonatedRoot, []string{deployer2})
	hix := &provenance.Indexer{Scope: clusterScope{}, Root: helmRoot}
	hidx, err := hix.Build(provenance.Revision{Label: helmLabel}, []provenance.File{
		{Path: "podinfo/templates/deployment.yaml", Objects: []map[string]any{object(t, releaseDeployment)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	aix := &provenance.Indexer{Scope: clusterScope{}, Root: impersonatedRoot}
	aidx, err := aix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
		{Path: "shop/secret.yaml", Objects: []map[string]any{object(t, argoSecret)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: hidx}, provenance.Part{Index: aidx})
	snap := c.Store.Load()
	forge := func(m map[string]any) {
		md := m["metadata"].(map[string]any)
		md["labels"] = map[string]any{"owner": "helm", "name": "podinfo", "version": "99", "status": "deployed"}
		m["type"] = "helm.sh/release.v1"
		m["data"] = map[string]any{"release": "Zm9yZ2Vk"}
	}
	d := agentsHandler(snap).Decide(context.Background(), argoSecretChange.with(admissionv1.Update, forge).admissionRequest(t, deployer2))
	if d.Allowed {
		t.Errorf("allowed (reason %s class %s): the Application's account forged a release record the HelmRelease claims", d.Reason, d.Class)
	}
}

// TestSyncAgentOneDeclaration: an object two Applications of one account
// declare, one as a hook, is compared with both, whichever comes first.
func TestSyncAgentOneDeclaration(t *testing.T) {
	hookDep := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"podinfo","namespace":"shop","annotations":{"argocd.argoproj.io/hook":"PreSync"}},
		"spec":{"selector":{"matchLabels":{"app":"podinfo"}},"template":{"metadata":{"labels":{"app":"podinfo"}},"spec":{"containers":[{"name":"podinfo","image":"podinfo:6.5.0"}]}}}}`
	for _, names := range [][2]string{{"Application argocd/a", "Application argocd/b"}, {"Application argocd/b", "Application argocd/a"}} {
		t.Run(names[0]+" hooks", func(t *testing.T) {
			hookRoot, fullRoot := provenance.Root{Name: names[0]}, provenance.Root{Name: names[1]}
			c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
			c.SetSyncAgents(hookRoot, []string{deployer})
			c.SetSyncAgents(fullRoot, []string{deployer})
			rev := provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}
			i1, err := (&provenance.Indexer{Scope: clusterScope{}, Root: hookRoot}).Build(rev, []provenance.File{{Path: "hooks", Transient: true, Objects: []map[string]any{object(t, hookDep)}}})
			if err != nil {
				t.Fatal(err)
			}
			i2, err := (&provenance.Indexer{Scope: clusterScope{}, Root: fullRoot}).Build(rev, []provenance.File{{Path: "dep.yaml", Objects: []map[string]any{object(t, releaseDeployment)}}})
			if err != nil {
				t.Fatal(err)
			}
			c.Update(provenance.Part{Index: i1}, provenance.Part{Index: i2})
			snap := c.Store.Load()
			evil := setPath([]string{"spec", "template", "spec", "containers"}, []any{map[string]any{"name": "podinfo", "image": "evil:1"}})
			d := agentsHandler(snap).Decide(context.Background(), releaseChange.with(admissionv1.Update, evil).admissionRequest(t, deployer))
			if d.Allowed {
				t.Errorf("allowed (reason %s class %s match?): %s declares image podinfo:6.5.0", d.Reason, d.Class, names[1])
			}
		})
	}
}

// TestSyncAgentWholeIndeterminate: an object the render cannot reproduce at
// all is not the sync agent's to change (argocd-server's patch).
func TestSyncAgentWholeIndeterminate(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetSyncAgents(impersonatedRoot, []string{deployer})
	ix := &provenance.Indexer{Scope: clusterScope{}, Root: impersonatedRoot}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
		{Path: "shop/deployment.yaml", Objects: []map[string]any{object(t, releaseDeployment)}, Indeterminate: []string{""}},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: idx})
	evil := setPath([]string{"spec", "template", "spec", "containers"}, []any{map[string]any{"name": "podinfo", "image": "evil:1", "securityContext": map[string]any{"privileged": true}}})
	d := agentsHandler(c.Store.Load()).Decide(context.Background(), releaseChange.with(admissionv1.Update, evil).admissionRequest(t, deployer))
	if d.Allowed {
		t.Errorf("allowed (reason %s class %s): a privileged Pod template through argocd-server", d.Reason, d.Class)
	}
}
