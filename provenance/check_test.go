package provenance_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

var scope = provenancetest.Scope{"Pod": true, "PersistentVolumeClaim": true, "DaemonSet.apps": true, "CustomResourceDefinition.apiextensions.k8s.io": false, "ConfigMap": true, "Secret": true, "Service": true, "Deployment.apps": true, "Namespace": false, "ClusterRole.rbac.authorization.k8s.io": false}

var (
	mustObjects = provenancetest.Objects
	toMap       = testyaml.ToMap
)

const repo = `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: shop}
data: {a: "1"}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: defaulted}
data: {b: "2"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: shop}
stringData: {password: hunter2}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: viewer, namespace: ignored}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  template:
    spec:
      containers: [{name: app, image: "shop:1"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: free, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: app, image: "shop:1"}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle, namespace: shop}
spec:
  replicas: 0
  template:
    spec:
      containers: [{name: app, image: "shop:1"}]
---
apiVersion: v1
kind: Secret
metadata: {name: wrapped, namespace: shop}
data:
  cert: |
    YWJjZGVmZ2hp
    amtsbW5vcA==
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: shop}
spec:
  template:
    spec:
      containers: [{name: agent, image: "agent:2"}]
---
apiVersion: v1
kind: Pod
metadata: {name: tools, namespace: shop}
spec:
  containers: [{name: tools, image: "tools:1"}]
  tolerations: [{key: dedicated, operator: Exists}]
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: shop}
spec: {size: 3}
---
` + widgetCRD

// widgetCRD declares the namespaced custom resource Widget.example.com.
const widgetCRD = provenancetest.WidgetCRD

func buildSnapshot(t testing.TB) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	idx, err := ix.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("a", 40)}, []provenance.File{{Path: "apps/all.yaml", Objects: mustObjects(t, repo)}})
	if err != nil {
		t.Fatal(err)
	}
	return idx.Snapshot()
}

func TestIndexer(t *testing.T) {
	snap := buildSnapshot(t)
	for _, tc := range []struct {
		key  provenance.Key
		want bool
	}{
		{provenance.Key{Kind: "ConfigMap", Namespace: "shop", Name: "conf"}, true},
		{provenance.Key{Kind: "ConfigMap", Namespace: "default", Name: "defaulted"}, true}, // --default-namespace
		{provenance.Key{Kind: "ConfigMap", Name: "defaulted"}, false},
		{provenance.Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "viewer"}, true}, // namespace dropped
		{provenance.Key{Kind: "Namespace", Name: "shop"}, true},
		{provenance.Key{Group: "example.com", Kind: "Widget", Namespace: "shop", Name: "w"}, true}, // scope from the CRD in the revision
		{provenance.Key{Kind: "ConfigMap", Namespace: "shop", Name: "missing"}, false},
	} {
		if got := snap.Lookup(tc.key) != nil; got != tc.want {
			t.Errorf("Lookup(%s) found = %v, want %v", tc.key, got, tc.want)
		}
	}
	secret := snap.Lookup(provenance.Key{Kind: "Secret", Namespace: "shop", Name: "creds"})
	if _, ok := secret.Object()["stringData"]; ok || secret.Object()["data"].(map[string]any)["password"] != "aHVudGVyMg==" {
		t.Errorf("stringData not folded into base64 data: %v", secret.Object())
	}
	if !snap.NamespaceHoldsManaged("shop") || snap.NamespaceHoldsManaged("other") {
		t.Error("NamespaceHoldsManaged wrong")
	}
	if len(snap.Unresolved()) != 0 {
		t.Errorf("unresolved = %v", snap.Unresolved())
	}
}

func TestIndexerRefusesBadRevisions(t *testing.T) {
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	cm := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: default}\n"
	tests := []struct {
		name  string
		files []provenance.File
		want  string
	}{
		{name: "object declared twice", files: []provenance.File{{Path: "a.yaml", Objects: mustObjects(t, cm)}, {Path: "b.yaml", Objects: mustObjects(t, cm)}}, want: "declared twice: ConfigMap default/a in a.yaml and b.yaml"},
		{name: "namespace defaulted into a duplicate", files: []provenance.File{{Path: "a.yaml", Objects: mustObjects(t, cm)}, {Path: "b.yaml", Objects: mustObjects(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")}}, want: "declared twice"},
		{name: "object without a name", files: []provenance.File{{Path: "d.yaml", Objects: []map[string]any{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{}}}}}, want: "d.yaml: v1 object without a kind or metadata.name"},
		{name: "object without metadata", files: []provenance.File{{Path: "e.yaml", Objects: []map[string]any{{"apiVersion": "v1", "kind": "ConfigMap", "metadata": "x"}}}}, want: "e.yaml: v1 object without"},
		{name: "object without a kind", files: []provenance.File{{Path: "f.yaml", Objects: []map[string]any{{"apiVersion": "v1", "metadata": map[string]any{"name": "a"}}}}}, want: "not a Kubernetes object"},
		{name: "bad apiVersion", files: []provenance.File{{Path: "c.yaml", Objects: mustObjects(t, "apiVersion: a/b/c\nkind: X\nmetadata: {name: a}\n")}}, want: "c.yaml: apiVersion"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ix.Build(provenance.Revision{Hash: "x"}, tc.files)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestIndexerUnknownKindIsResolvedLater(t *testing.T) {
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	snap, err := ix.Build(provenance.Revision{Hash: "x"}, []provenance.File{{Path: "x.yaml", Objects: mustObjects(t, "apiVersion: other.io/v1\nkind: Gadget\nmetadata: {name: g}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := snap.Unresolved(); len(got) != 1 || got[0] != "Gadget.other.io" {
		t.Errorf("unresolved = %v", got)
	}
}

// What the ServiceAccount and DefaultTolerationSeconds admission plugins
// add to a Pod, as a real API server stores it.
const (
	tokenVolume = `{"name":"kube-api-access-x7k2p","projected":{"defaultMode":420,"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}},` +
		`{"configMap":{"name":"kube-root-ca.crt","items":[{"key":"ca.crt","path":"ca.crt"}]}},` +
		`{"downwardAPI":{"items":[{"path":"namespace","fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"}}]}}]}}`
	tokenMount         = `{"name":"kube-api-access-x7k2p","mountPath":"/var/run/secrets/kubernetes.io/serviceaccount","readOnly":true}`
	defaultTolerations = `{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300},` +
		`{"key":"node.kubernetes.io/unreachable","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}`
)

// admittedPod is Git's Pod tools with a volume, a mount and tolerations
// added after Git's own.
func admittedPod(volume, mount, tolerations string) string {
	return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tools","namespace":"shop"},"spec":{"serviceAccountName":"default",` +
		`"volumes":[` + volume + `],"containers":[{"name":"tools","image":"tools:1","volumeMounts":[` + mount + `]}],` +
		`"tolerations":[{"key":"dedicated","operator":"Exists"},` + tolerations + `]}}`
}

// conf is Git's ConfigMap shop/conf as a person would apply it.
const conf = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf, namespace: shop}\ndata: {a: '1'}"

// claim is Git's PersistentVolumeClaim shop/data.
const claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: shop}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}"

func confReq(op provenance.Operation) provenance.Request {
	return provenance.Request{Operation: op, Kind: "ConfigMap", Namespace: "shop", Name: "conf"}
}

// withOwner adds an ownerReference to a ConfigMap named owner.
func withOwner(y, owner string) string {
	return strings.Replace(y, "metadata: {", "metadata: {ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: "+owner+", uid: u-"+owner+"}], ", 1)
}

// withFinalizers adds finalizers to a one-line-metadata manifest.
func withFinalizers(y string, fs ...string) string {
	return strings.Replace(y, "metadata: {", "metadata: {finalizers: ["+strings.Join(fs, ", ")+"], ", 1)
}

// terminating marks a manifest as being deleted, with finalizers fs.
func terminating(y string, fs ...string) string {
	return strings.Replace(withFinalizers(y, fs...), "metadata: {", "metadata: {deletionTimestamp: '2026-11-26T12:00:00Z', ", 1)
}

func TestCheck(t *testing.T) {
	snap := buildSnapshot(t)
	ignores, err := provenance.CompileIgnores([]provenance.IgnoreRule{{Group: "apps", Kind: "Deployment", Name: "free", JSONPointers: []string{"/spec/replicas"}}})
	if err != nil {
		t.Fatal(err)
	}
	web := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop, resourceVersion: '1'}\nspec: {replicas: 2, template: {spec: {containers: [{name: app, image: 'shop:1', imagePullPolicy: Always}]}}}"
	scale := func(n string) string {
		return "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: web, namespace: shop}\nspec: {replicas: " + n + "}"
	}
	tests := []struct {
		name   string
		fields provenance.FieldMode
		// controller judges with the controller rule's checker.
		controller  bool
		req         provenance.Request
		obj, old    string
		wantAllowed bool
		wantReason  provenance.Reason
	}{
		{name: "create declared and matching", req: provenance.Request{Operation: provenance.Create, Kind: "ConfigMap", Namespace: "shop", Name: "conf"},
			obj: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf, namespace: shop}\ndata: {a: '1'}", wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "create undeclared", req: provenance.Request{Operation: provenance.Create, Kind: "ConfigMap", Namespace: "shop", Name: "other"},
			obj: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}", wantReason: provenance.ReasonNotInGit},
		{name: "create with a different value", req: provenance.Request{Operation: provenance.Create, Kind: "ConfigMap", Namespace: "shop", Name: "conf"},
			obj: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf, namespace: shop}\ndata: {a: '2'}", wantReason: provenance.ReasonFieldMismatch},
		{name: "secret from stringData matches base64 data", req: provenance.Request{Operation: provenance.Create, Kind: "Secret", Namespace: "shop", Name: "creds"},
			obj: "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: shop}\ntype: Opaque\ndata: {password: aHVudGVyMg==}", wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "update changing an undeclared default, strict", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: web, obj: strings.Replace(web, "Always", "Never", 1), wantReason: provenance.ReasonUndeclared},
		{name: "terminating: finalizer removed", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: terminating(web, "a", "b"), obj: terminating(web, "a"), wantAllowed: true, wantReason: provenance.ReasonFinishingDeletion},
		{name: "terminating: last finalizer removed", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: terminating(web, "a"), obj: terminating(web), wantAllowed: true, wantReason: provenance.ReasonFinishingDeletion},
		{name: "terminating: finalizer removed and a field changed", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: terminating(web, "a"), obj: terminating(strings.Replace(web, "Always", "Never", 1)), wantReason: provenance.ReasonUndeclared},
		{name: "terminating: finalizer swapped for another", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: terminating(web, "a"), obj: terminating(web, "b"), wantReason: provenance.ReasonUndeclared},
		{name: "not terminating: finalizer removed", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: withFinalizers(web, "a"), obj: web, wantReason: provenance.ReasonUndeclared},
		{name: "terminating undeclared object: finalizer removed", req: provenance.Request{Operation: provenance.Update, Kind: "ConfigMap", Namespace: "shop", Name: "other"},
			old: terminating("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}", "a"), obj: terminating("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: shop}"), wantAllowed: true, wantReason: provenance.ReasonFinishingDeletion},
		{name: "flux reconcile request on a declared object, strict", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: web, obj: strings.Replace(web, "resourceVersion: '1'", "resourceVersion: '1', annotations: {reconcile.fluxcd.io/requestedAt: '2026-11-26T12:00:00Z'}", 1), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "argo refresh request on a declared object, strict", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: web, obj: strings.Replace(web, "resourceVersion: '1'", "resourceVersion: '1', annotations: {argocd.argoproj.io/refresh: hard}", 1), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "same update, declared mode", fields: provenance.FieldsDeclared, req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: web, obj: strings.Replace(web, "Always", "Never", 1), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "other API version is not compared", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			old: web, obj: strings.Replace(web, "apps/v1", "apps/v2", 1), wantReason: provenance.ReasonVersionMismatch},
		{name: "delete declared", req: provenance.Request{Operation: provenance.Delete, Kind: "Service", Namespace: "shop", Name: "x"}, wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "delete managed", req: provenance.Request{Operation: provenance.Delete, Kind: "ConfigMap", Namespace: "shop", Name: "conf"},
			old: "metadata: {name: conf}", wantReason: provenance.ReasonManagedDelete},
		{name: "delete of an object already terminating", req: provenance.Request{Operation: provenance.Delete, Kind: "ConfigMap", Namespace: "shop", Name: "conf"},
			old: "metadata: {name: conf, deletionTimestamp: '2026-01-01T00:00:00Z'}", wantAllowed: true, wantReason: provenance.ReasonTerminating},
		{name: "delete an undeclared namespace holding managed objects", req: provenance.Request{Operation: provenance.Delete, Kind: "Namespace", Name: "default"},
			old: "metadata: {name: default}", wantReason: provenance.ReasonManagedNSDelete},
		{name: "delete an unmanaged namespace", req: provenance.Request{Operation: provenance.Delete, Kind: "Namespace", Name: "scratch"},
			old: "metadata: {name: scratch}", wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "scale to the declared replicas", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web", Subresource: "scale"},
			old: scale("5"), obj: scale("2"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "scale of an object Git does not declare", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "helm-made", Subresource: "scale"},
			old: strings.Replace(scale("1"), "web", "helm-made", 1), obj: strings.Replace(scale("4"), "web", "helm-made", 1), wantReason: provenance.ReasonNotInGit},
		{name: "scale away from Git", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web", Subresource: "scale"},
			old: scale("2"), obj: scale("5"), wantReason: provenance.ReasonFieldMismatch},
		{name: "scale without declared replicas, strict", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "free", Subresource: "scale"},
			old: strings.Replace(scale("1"), "web", "free", 1), obj: strings.Replace(scale("4"), "web", "free", 1), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "mode label on a managed Namespace, declared mode", fields: provenance.FieldsDeclared, req: provenance.Request{Operation: provenance.Update, Kind: "Namespace", Name: "shop"},
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}", obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {gitgate.dev/mode: audit}}", wantReason: provenance.ReasonUndeclared},
		{name: "other label on a managed Namespace, declared mode", fields: provenance.FieldsDeclared, req: provenance.Request{Operation: provenance.Update, Kind: "Namespace", Name: "shop"},
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}", obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {team: x}}", wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "create a declared Namespace with the mode label, declared mode", fields: provenance.FieldsDeclared, req: provenance.Request{Operation: provenance.Create, Kind: "Namespace", Name: "shop"},
			obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {gitgate.dev/mode: warn}}", wantReason: provenance.ReasonUndeclared},
		{name: "create with a container Git does not declare, strict", req: provenance.Request{Operation: provenance.Create, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"},
			obj: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 2, template: {spec: {containers: [{name: app, image: 'shop:1'}, {name: evil, image: x}]}}}", wantReason: provenance.ReasonUndeclared},
		{name: "mode label on a declared Namespace, strict create", req: provenance.Request{Operation: provenance.Create, Kind: "Namespace", Name: "shop"},
			obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop, labels: {gitgate.dev/mode: audit}}", wantReason: provenance.ReasonUndeclared},
		{name: "scale to zero as Git declares", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "idle", Subresource: "scale"},
			old: strings.Replace(scale("1"), "web", "idle", 1), obj: "apiVersion: autoscaling/v1\nkind: Scale\nmetadata: {name: idle, namespace: shop}\nspec: {}", wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "secret with base64 wrapped over lines in Git", req: provenance.Request{Operation: provenance.Create, Kind: "Secret", Namespace: "shop", Name: "wrapped"},
			obj: "apiVersion: v1\nkind: Secret\nmetadata: {name: wrapped, namespace: shop}\ntype: Opaque\ndata: {cert: YWJjZGVmZ2hpamtsbW5vcA==}", wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "daemonset template generation bumped by the API server", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "DaemonSet", Namespace: "shop", Name: "agent"},
			old: "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: shop, annotations: {deprecated.daemonset.template.generation: '1'}}\nspec: {template: {spec: {containers: [{name: agent, image: 'agent:1'}]}}}",
			obj: "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: agent, namespace: shop, annotations: {deprecated.daemonset.template.generation: '2'}}\nspec: {template: {spec: {containers: [{name: agent, image: 'agent:2'}]}}}", wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "pod created with what admission plugins add", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj: admittedPod(tokenVolume, tokenMount, defaultTolerations), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "pod created with a hostPath volume named like the token volume", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj: admittedPod(`{"name":"kube-api-access-root","hostPath":{"path":"/"}}`, tokenMount, defaultTolerations), wantReason: provenance.ReasonUndeclared},
		{name: "pod created with a token volume that also mounts a Secret", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj: admittedPod(strings.Replace(tokenVolume, `]`, `,{"secret":{"name":"db"}}]`, 1), tokenMount, defaultTolerations), wantReason: provenance.ReasonUndeclared},
		{name: "pod created with a writable token mount", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj: admittedPod(tokenVolume, strings.Replace(tokenMount, `"readOnly":true`, `"readOnly":false`, 1), defaultTolerations), wantReason: provenance.ReasonUndeclared},
		{name: "pod created with a not-ready toleration that never expires", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj: admittedPod(tokenVolume, tokenMount, `{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoSchedule"}`), wantReason: provenance.ReasonUndeclared},
		{name: "pod created with a container Git does not declare", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj:        `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tools","namespace":"shop"},"spec":{"containers":[{"name":"tools","image":"tools:1"},{"name":"evil","image":"x","securityContext":{"privileged":true}}],"tolerations":[{"key":"dedicated","operator":"Exists"}]}}`,
			wantReason: provenance.ReasonUndeclared},
		{name: "pod created with a hostPath volume Git does not declare", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "tools"},
			obj:        `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tools","namespace":"shop"},"spec":{"volumes":[{"name":"host","hostPath":{"path":"/"}}],"containers":[{"name":"tools","image":"tools:1"}],"tolerations":[{"key":"dedicated","operator":"Exists"}]}}`,
			wantReason: provenance.ReasonUndeclared},
		{name: "person adds an ownerReference, declared mode", fields: provenance.FieldsDeclared, req: confReq(provenance.Update),
			old: conf, obj: strings.Replace(conf, "metadata: {", "metadata: {ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: doomed, uid: u1}], ", 1), wantReason: provenance.ReasonUndeclared},
		{name: "person adds a finalizer, declared mode", fields: provenance.FieldsDeclared, req: confReq(provenance.Update),
			old: conf, obj: withFinalizers(conf, "example.com/hold"), wantReason: provenance.ReasonUndeclared},
		{name: "person creates a declared object with an ownerReference, strict", req: confReq(provenance.Create),
			obj: strings.Replace(conf, "metadata: {", "metadata: {ownerReferences: [{apiVersion: v1, kind: ConfigMap, name: doomed, uid: u1}], ", 1), wantReason: provenance.ReasonUndeclared},
		{name: "person creates a declared object with a finalizer, declared mode", fields: provenance.FieldsDeclared, req: confReq(provenance.Create),
			obj: withFinalizers(conf, "example.com/hold"), wantReason: provenance.ReasonUndeclared},
		{name: "person changes another annotation, finalizers untouched, declared mode", fields: provenance.FieldsDeclared, req: confReq(provenance.Update),
			old: withFinalizers(conf, "example.com/hold"), obj: withFinalizers(strings.Replace(conf, "metadata: {", "metadata: {annotations: {note: x}, ", 1), "example.com/hold"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller adds a finalizer", controller: true, req: confReq(provenance.Update),
			old: conf, obj: withFinalizers(conf, "example.com/hold"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller adds an ownerReference", controller: true, req: confReq(provenance.Update),
			old: conf, obj: withOwner(conf, "doomed"), wantReason: provenance.ReasonUndeclared},
		{name: "controller changes an ownerReference", controller: true, req: confReq(provenance.Update),
			old: withOwner(conf, "owner"), obj: withOwner(conf, "doomed"), wantReason: provenance.ReasonUndeclared},
		{name: "controller removes an ownerReference", controller: true, req: confReq(provenance.Update),
			old: withOwner(conf, "owner"), obj: conf, wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "person creates a declared ConfigMap with the PVC protection finalizer", req: confReq(provenance.Create),
			obj: withFinalizers(conf, "kubernetes.io/pvc-protection"), wantReason: provenance.ReasonUndeclared},
		{name: "claim created with the protection finalizer admission adds", req: provenance.Request{Operation: provenance.Create, Kind: "PersistentVolumeClaim", Namespace: "shop", Name: "data"},
			obj: withFinalizers(claim, "kubernetes.io/pvc-protection"), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "person writes the status of a declared object", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web", Subresource: "status"},
			old: web, obj: web, wantReason: provenance.ReasonStatusWrite},
		{name: "person writes the status of an undeclared Deployment (a kubectl plugin)", req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "helm-made", Subresource: "status"},
			old: web, obj: web, wantAllowed: true, wantReason: provenance.ReasonSubresource},
		{name: "person writes the status of an undeclared Service (its load-balancer address)", req: provenance.Request{Operation: provenance.Update, Kind: "Service", Namespace: "shop", Name: "helm-made", Subresource: "status"},
			old: "apiVersion: v1\nkind: Service\nmetadata: {name: helm-made, namespace: shop}", obj: "apiVersion: v1\nkind: Service\nmetadata: {name: helm-made, namespace: shop}\nstatus: {loadBalancer: {ingress: [{ip: 203.0.113.9}]}}", wantReason: provenance.ReasonStatusWrite},
		{name: "person writes the status of an undeclared Ingress", req: provenance.Request{Operation: provenance.Update, Group: "networking.k8s.io", Kind: "Ingress", Namespace: "shop", Name: "helm-made", Subresource: "status"},
			old: "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: helm-made, namespace: shop}", obj: "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: helm-made, namespace: shop}", wantReason: provenance.ReasonStatusWrite},
		{name: "controller writes the status of an undeclared object", controller: true, req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "helm-made", Subresource: "status"},
			old: web, obj: web, wantAllowed: true, wantReason: provenance.ReasonSubresource},
		{name: "person finalizes a declared Namespace", req: provenance.Request{Operation: provenance.Update, Kind: "Namespace", Name: "shop", Subresource: "finalize"},
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nspec: {finalizers: [kubernetes]}", obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nspec: {finalizers: []}", wantReason: provenance.ReasonNamespaceFinalize},
		{name: "person finishes the deletion of an undeclared Namespace", req: provenance.Request{Operation: provenance.Update, Kind: "Namespace", Name: "scratch", Subresource: "finalize"},
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\nspec: {finalizers: [kubernetes]}", obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\nspec: {finalizers: []}", wantAllowed: true, wantReason: provenance.ReasonSubresource},
		{name: "controller finalizes a declared Namespace", controller: true, req: provenance.Request{Operation: provenance.Update, Kind: "Namespace", Name: "shop", Subresource: "finalize"},
			old: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nspec: {finalizers: [kubernetes]}", obj: "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\nspec: {finalizers: []}", wantAllowed: true, wantReason: provenance.ReasonSubresource},
		{name: "controller writes the status of a declared object", controller: true, req: provenance.Request{Operation: provenance.Update, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web", Subresource: "status"},
			old: web, obj: web, wantAllowed: true, wantReason: provenance.ReasonSubresource},
		{name: "person adds an ephemeral container", req: provenance.Request{Operation: provenance.Update, Kind: "Pod", Namespace: "shop", Name: "any-pod", Subresource: "ephemeralcontainers"},
			old: admittedPod(tokenVolume, tokenMount, defaultTolerations), obj: admittedPod(tokenVolume, tokenMount, defaultTolerations), wantReason: provenance.ReasonEphemeralContainer},
		{name: "person resizes a Pod", req: provenance.Request{Operation: provenance.Update, Kind: "Pod", Namespace: "shop", Name: "any-pod", Subresource: "resize"},
			old: admittedPod(tokenVolume, tokenMount, defaultTolerations), obj: admittedPod(tokenVolume, tokenMount, defaultTolerations), wantReason: provenance.ReasonPodResize},
		{name: "person evicts a Pod", req: provenance.Request{Operation: provenance.Create, Kind: "Pod", Namespace: "shop", Name: "any-pod", Subresource: "eviction"},
			obj: "apiVersion: policy/v1\nkind: Eviction\nmetadata: {name: any-pod, namespace: shop}", wantAllowed: true, wantReason: provenance.ReasonSubresource},
		{name: "custom resource compared generically", req: provenance.Request{Operation: provenance.Create, Group: "example.com", Kind: "Widget", Namespace: "shop", Name: "w"},
			obj: "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 4}", wantReason: provenance.ReasonFieldMismatch},
	}
	decoded := provenance.NewDecodedCache(provenance.DefaultDecodedEntries, provenance.DefaultDecodedBytes)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fields := tc.fields
			switch {
			case tc.controller:
				fields = provenance.FieldsDeclared // as webhook.ControllerChecker
			case fields == "":
				fields = provenance.FieldsStrict
			}
			c := &provenance.Checker{Fields: fields, Ignores: ignores, Controller: tc.controller, StrictLists: tc.controller, Decoded: decoded}
			req := tc.req
			req.Object, req.OldObject = toMap(t, tc.obj), toMap(t, tc.old)
			res := c.Check(snap, &req)
			if res.Allowed != tc.wantAllowed || res.Reason != tc.wantReason {
				t.Errorf("Check = allowed %v reason %s (diffs %v), want allowed %v reason %s", res.Allowed, res.Reason, res.Diffs, tc.wantAllowed, tc.wantReason)
			}
			if res.Entry != nil && !reflect.DeepEqual(provenance.Declared(decoded, res.Entry), res.Entry.Object()) {
				t.Errorf("Check changed the declared manifest decisions share: %v", provenance.Declared(decoded, res.Entry))
			}
		})
	}
}

func TestCompileIgnoresReportsEveryInvalidRule(t *testing.T) {
	_, err := provenance.CompileIgnores([]provenance.IgnoreRule{
		{Kind: "Deployment", JSONPointers: []string{"spec/replicas"}},
		{JSONPointers: []string{"/spec"}},
		{Kind: "Service"},
	})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"rule 0", "must start with /", "rule 1", "kind is required", "rule 2", "jsonPointers is empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestParseIgnoreFlag(t *testing.T) {
	tests := []struct {
		in      string
		want    provenance.IgnoreRule
		wantErr bool
	}{
		{in: "apps/Deployment=/spec/replicas", want: provenance.IgnoreRule{Group: "apps", Kind: "Deployment", JSONPointers: []string{"/spec/replicas"}}},
		{in: "ConfigMap:shop/conf=/data/a,/data/b", want: provenance.IgnoreRule{Kind: "ConfigMap", Namespace: "shop", Name: "conf", JSONPointers: []string{"/data/a", "/data/b"}}},
		{in: "/Namespace:/shop=/metadata/labels", want: provenance.IgnoreRule{Kind: "Namespace", Name: "shop", JSONPointers: []string{"/metadata/labels"}}},
		{in: "apps/Deployment", wantErr: true},
		{in: "apps/Deployment:web=/spec", wantErr: true},
	}
	for _, tc := range tests {
		got, err := provenance.ParseIgnoreFlag(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("ParseIgnoreFlag(%q) err = %v", tc.in, err)
			continue
		}
		if !tc.wantErr && (got.Group != tc.want.Group || got.Kind != tc.want.Kind || got.Namespace != tc.want.Namespace || got.Name != tc.want.Name || strings.Join(got.JSONPointers, " ") != strings.Join(tc.want.JSONPointers, " ")) {
			t.Errorf("ParseIgnoreFlag(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestIndexerReusesEntriesOfUnchangedFiles(t *testing.T) {
	cm := func(name, v string) []map[string]any {
		return mustObjects(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: "+name+", namespace: default}\ndata: {v: '"+v+"'}\n")
	}
	crd := func(scope string) []map[string]any {
		return mustObjects(t, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: gadgets.other.io}\nspec: {group: other.io, scope: "+scope+", names: {kind: Gadget, plural: gadgets}, versions: [{name: v1}]}\n")
	}
	gadget := func() []map[string]any {
		return mustObjects(t, "apiVersion: other.io/v1\nkind: Gadget\nmetadata: {name: g, namespace: team}\n")
	}
	ix := &provenance.Indexer{Scope: scope, DefaultNamespace: "default"}
	first, err := ix.Build(provenance.Revision{Hash: "1"}, []provenance.File{
		{Path: "a.yaml", ID: "a1", Objects: cm("a", "1")},
		{Path: "b.yaml", ID: "b1", Objects: cm("b", "1")},
		{Path: "crd.yaml", ID: "c1", Objects: crd("Namespaced")},
		{Path: "g.yaml", ID: "g1", Objects: gadget()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !ix.Cached("a.yaml", "a1") || ix.Cached("a.yaml", "a2") || ix.Cached("a.yaml", "") {
		t.Fatal("Cached answers wrong")
	}
	// b changes; a, the CRD and the Gadget are passed by identity only.
	second, err := ix.Build(provenance.Revision{Hash: "2"}, []provenance.File{
		{Path: "a.yaml", ID: "a1"},
		{Path: "b.yaml", ID: "b2", Objects: cm("b", "2")},
		{Path: "crd.yaml", ID: "c1"},
		{Path: "g.yaml", ID: "g1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := provenance.Key{Kind: "ConfigMap", Namespace: "default", Name: "a"}
	b := provenance.Key{Kind: "ConfigMap", Namespace: "default", Name: "b"}
	g := provenance.Key{Group: "other.io", Kind: "Gadget", Namespace: "team", Name: "g"}
	if second.Lookup(a) != first.Lookup(a) || second.Lookup(g) != first.Lookup(g) {
		t.Error("entries of unchanged files were rebuilt")
	}
	if second.Lookup(b).Object()["data"].(map[string]any)["v"] != "2" {
		t.Error("changed file not re-indexed")
	}
	// The CRD becomes cluster-scoped: the Gadget's entry depends on it.
	_, err = ix.Build(provenance.Revision{Hash: "3"}, []provenance.File{
		{Path: "a.yaml", ID: "a1"},
		{Path: "crd.yaml", ID: "c2", Objects: crd("Cluster")},
		{Path: "g.yaml", ID: "g1"},
	})
	if !errors.Is(err, provenance.ErrIndexCacheStale) {
		t.Fatalf("err = %v, want provenance.ErrIndexCacheStale", err)
	}
	ix.Reset()
	third, err := ix.Build(provenance.Revision{Hash: "3"}, []provenance.File{
		{Path: "a.yaml", ID: "a1", Objects: cm("a", "1")},
		{Path: "crd.yaml", ID: "c2", Objects: crd("Cluster")},
		{Path: "g.yaml", ID: "g1", Objects: gadget()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if third.Lookup(provenance.Key{Group: "other.io", Kind: "Gadget", Name: "g"}) == nil {
		t.Error("Gadget not re-indexed as cluster-scoped")
	}
}

// TestCheckCRDDelete: deleting a CRD deletes every custom resource of its
// kind, so it is a managed delete when Git declares any, even if the CRD
// itself is not in Git.
func TestCheckCRDDelete(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.Scope{"Gadget.other.io": true}, provenancetest.Revision("c"), map[string]string{
		"gadget.yaml": "apiVersion: other.io/v1\nkind: Gadget\nmetadata: {name: g, namespace: team}\n",
	})
	crd := func(name, group, kind string) map[string]any {
		return toMap(t, "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: "+name+"}\nspec: {group: "+group+", names: {kind: "+kind+", plural: x}, scope: Namespaced}")
	}
	tests := []struct {
		name        string
		crdName     string
		old         map[string]any
		wantAllowed bool
		wantReason  provenance.Reason
	}{
		{name: "CRD of a declared kind", crdName: "gadgets.other.io", old: crd("gadgets.other.io", "other.io", "Gadget"), wantReason: provenance.ReasonManagedDelete},
		{name: "CRD of another kind in the same group", crdName: "gizmos.other.io", old: crd("gizmos.other.io", "other.io", "Gizmo"), wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "CRD of another group", crdName: "gadgets.else.io", old: crd("gadgets.else.io", "else.io", "Gadget"), wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "no stored object: the name's group is declared", crdName: "gizmos.other.io", wantReason: provenance.ReasonManagedDelete},
		{name: "no stored object: another group", crdName: "gizmos.else.io", wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "terminating already", crdName: "gadgets.other.io", old: terminatingMap(crd("gadgets.other.io", "other.io", "Gadget")), wantAllowed: true, wantReason: provenance.ReasonTerminating},
	}
	c := &provenance.Checker{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: provenance.Delete, Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition", Name: tc.crdName, OldObject: tc.old}
			got := c.Check(snap, req)
			if got.Allowed != tc.wantAllowed || got.Reason != tc.wantReason {
				t.Errorf("Check = allowed %v reason %s, want %v %s", got.Allowed, got.Reason, tc.wantAllowed, tc.wantReason)
			}
		})
	}
}

func terminatingMap(m map[string]any) map[string]any {
	m["metadata"].(map[string]any)["deletionTimestamp"] = "2026-11-26T12:00:00Z"
	return m
}

// TestCheckDeadline: an object too large to compare by the request's
// deadline is refused, not allowed.
func TestCheckDeadline(t *testing.T) {
	var env strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&env, "{name: V%d, value: '1'},", i)
	}
	deploy := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: big, namespace: shop}\nspec: {template: {spec: {containers: [{name: app, env: [" + env.String() + "]}]}}}"
	snap := provenancetest.Snapshot(t, provenancetest.Scope{"Deployment.apps": true}, provenancetest.Revision("d"), map[string]string{"big.yaml": deploy})
	for _, tc := range []struct {
		name     string
		deadline time.Time
		want     provenance.Reason
	}{
		{name: "in time", deadline: time.Now().Add(time.Hour), want: provenance.ReasonMatchesGit},
		{name: "past the deadline", deadline: time.Now().Add(-time.Second), want: provenance.ReasonDeadline},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: provenance.Create, Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "big", Object: toMap(t, deploy), Deadline: tc.deadline}
			res := (&provenance.Checker{}).Check(snap, req)
			if res.Reason != tc.want || res.Allowed != (tc.want == provenance.ReasonMatchesGit) {
				t.Errorf("Check = allowed %v reason %s, want %s", res.Allowed, res.Reason, tc.want)
			}
		})
	}
}

// TestCheckAgentOnly: an object whose values Git holds encrypted is
// refused to everyone the Checker judges, even a request that repeats its
// identity exactly; only a deletion already under way may finish.
func TestCheckAgentOnly(t *testing.T) {
	const secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\n"
	ix := &provenance.Indexer{Scope: scope, Root: provenance.Root{Name: "Kustomization flux-system/apps"}}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "apps", Kustomize: true, Objects: mustObjects(t, secret), AgentOnly: true}})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	if e := snap.Lookup(provenance.Key{Kind: "Secret", Namespace: "shop", Name: "db"}); e == nil || !e.AgentOnly {
		t.Fatalf("entry = %+v, want an agent-only entry", e)
	}
	withData := secret + "data: {password: aHVudGVyMg==}\n"
	terminating := "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop, deletionTimestamp: '2026-01-01T00:00:00Z', finalizers: [x]}\n"
	released := "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop, deletionTimestamp: '2026-01-01T00:00:00Z'}\n"
	for _, tc := range []struct {
		name     string
		op       provenance.Operation
		old, obj string
		want     provenance.Reason
	}{
		{name: "create with values", op: provenance.Create, obj: withData, want: provenance.ReasonAgentOnly},
		{name: "create of the identity alone", op: provenance.Create, obj: secret, want: provenance.ReasonAgentOnly},
		{name: "update", op: provenance.Update, old: withData, obj: secret + "data: {password: b3RoZXI=}\n", want: provenance.ReasonAgentOnly},
		{name: "no-op update", op: provenance.Update, old: withData, obj: withData, want: provenance.ReasonAgentOnly},
		{name: "delete", op: provenance.Delete, old: withData, want: provenance.ReasonAgentOnly},
		{name: "delete of a terminating one", op: provenance.Delete, old: terminating, want: provenance.ReasonTerminating},
		{name: "finalizer removal while terminating", op: provenance.Update, old: terminating, obj: released, want: provenance.ReasonFinishingDeletion},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: tc.op, Kind: "Secret", Version: "v1", Namespace: "shop", Name: "db"}
			if tc.old != "" {
				req.OldObject = toMap(t, tc.old)
			}
			if tc.obj != "" {
				req.Object = toMap(t, tc.obj)
			}
			for _, c := range []*provenance.Checker{{}, {Fields: provenance.FieldsDeclared, Controller: true}} {
				res := c.Check(snap, req)
				if res.Reason != tc.want || res.Allowed != (tc.want != provenance.ReasonAgentOnly) {
					t.Errorf("controller %v: Check = allowed %v reason %s, want %s", c.Controller, res.Allowed, res.Reason, tc.want)
				}
				if len(res.Diffs) > 0 {
					t.Errorf("an agent-only verdict lists differences (values could show): %v", res.Diffs)
				}
			}
		})
	}
}

// TestCheckGitOpsObjectSpec: the spec of a declared Kustomization tells the
// agent what to apply, so it is held to Git field by field for controllers
// and in declared mode too; its metadata and other kinds' specs keep the
// usual rules.
func TestCheckGitOpsObjectSpec(t *testing.T) {
	const ks = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: fleet}}\n"
	const deploy = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {replicas: 2}\n"
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "flux.yaml", Objects: mustObjects(t, ks+"---\n"+deploy)}})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	controller := &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true}
	declared := &provenance.Checker{Fields: provenance.FieldsDeclared}
	for _, tc := range []struct {
		name        string
		checker     *provenance.Checker
		group, kind string
		old, obj    string
		wantAllowed bool
	}{
		{name: "controller points the Kustomization at another cluster", checker: controller, group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization",
			old: ks, obj: strings.Replace(ks, "prune: true", "prune: true, kubeConfig: {secretRef: {name: elsewhere}}", 1)},
		{name: "controller adds an image override", checker: controller, group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization",
			old: ks, obj: strings.Replace(ks, "prune: true", "prune: true, images: [{name: web, newTag: evil}]", 1)},
		{name: "declared mode: a person suspends it", checker: declared, group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization",
			old: ks, obj: strings.Replace(ks, "prune: true", "prune: true, suspend: true", 1)},
		{name: "controller annotates it (flux reconcile)", checker: controller, group: "kustomize.toolkit.fluxcd.io", kind: "Kustomization",
			old: ks, obj: strings.Replace(ks, "namespace: flux-system}", "namespace: flux-system, annotations: {reconcile.fluxcd.io/requestedAt: now}}", 1), wantAllowed: true},
		{name: "declared mode: a field Git leaves out of a Deployment's spec stays free", checker: declared, group: "apps", kind: "Deployment",
			old: deploy, obj: strings.Replace(deploy, "replicas: 2", "replicas: 2, paused: true", 1), wantAllowed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := toMap(t, tc.obj)
			meta := obj["metadata"].(map[string]any)
			req := &provenance.Request{Operation: provenance.Update, Group: tc.group, Kind: tc.kind, Version: "v1",
				Namespace: meta["namespace"].(string), Name: meta["name"].(string), OldObject: toMap(t, tc.old), Object: obj}
			if res := tc.checker.Check(snap, req); res.Allowed != tc.wantAllowed {
				t.Errorf("Check = allowed %v (%s %v), want %v", res.Allowed, res.Reason, res.Diffs, tc.wantAllowed)
			}
		})
	}
}
