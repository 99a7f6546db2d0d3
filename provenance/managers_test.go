package provenance_test

import (
	"encoding/json"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/compare"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// managedGit is what Git declares for TestManagedFieldsManagers: an
// Application's objects, with Argo CD's tracking on the ConfigMap.
const managedGit = `
apiVersion: v1
kind: ConfigMap
metadata:
  name: conf
  namespace: shop
  annotations: {argocd.argoproj.io/tracking-id: "shop:/ConfigMap:shop/conf"}
data: {mode: git, level: "1"}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: "shop:1"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
`

// Field sets of managedFields entries for TestManagedFieldsManagers.
const (
	confAgentFields = `{"f:metadata":{"f:annotations":{".":{},"f:argocd.argoproj.io/tracking-id":{}}},"f:data":{".":{},"f:level":{},"f:mode":{}}}`
	confAgentNoMode = `{"f:metadata":{"f:annotations":{".":{},"f:argocd.argoproj.io/tracking-id":{}}},"f:data":{".":{},"f:level":{}}}`
	confAgentNoData = `{"f:metadata":{"f:annotations":{".":{},"f:argocd.argoproj.io/tracking-id":{}}},"f:data":{".":{}}}`
	confModeFields  = `{"f:data":{"f:mode":{}}}`
	confDataFields  = `{"f:data":{"f:level":{},"f:mode":{}}}`
	confLevelFields = `{"f:data":{"f:level":{}}}`
	confTracking    = `{"f:metadata":{"f:annotations":{"f:argocd.argoproj.io/tracking-id":{}}}}`
	svcAgentFields  = `{"f:spec":{"f:selector":{},"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{},"f:targetPort":{}}}}}`
	svcAgentNoTP    = `{"f:spec":{"f:selector":{},"f:ports":{".":{},"k:{\"port\":80,\"protocol\":\"TCP\"}":{".":{},"f:name":{},"f:port":{}}}}}`
	svcTargetPort   = `{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{"f:targetPort":{}}}}}`
	svcOtherPort    = `{"f:spec":{"f:ports":{"k:{\"port\":81,\"protocol\":\"TCP\"}":{"f:targetPort":{}}}}}`
	webAgentFields  = `{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	webAgentNoRepl  = `{"f:spec":{"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:image":{},"f:name":{}}}}}}}`
	webAgentNoImage = `{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{},"f:name":{}}}}}}}`
	webImage        = `{"f:spec":{"f:template":{"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{"f:image":{}}}}}}}`
	webReplicas     = `{"f:spec":{"f:replicas":{}}}`
	webStatus       = `{"f:status":{".":{},"f:replicas":{}}}`
	webNote         = `{"f:metadata":{"f:annotations":{".":{},"f:note":{}}}}`
	roleAgentFields = `{"f:rules":{}}`
)

// mf is one managedFields entry of an object of apiVersion.
func mf(manager, subresource, apiVersion, fields string) map[string]any {
	e := map[string]any{"manager": manager, "operation": "Update", "apiVersion": apiVersion, "fieldsType": "FieldsV1", "time": "2026-12-06T06:00:00Z"}
	if subresource != "" {
		e["subresource"] = subresource
	}
	var f map[string]any
	if err := json.Unmarshal([]byte(fields), &f); err != nil {
		panic(err)
	}
	e["fieldsV1"] = f
	return e
}

// liveObject is obj (JSON) with the managedFields entries, edited by edit.
func liveObject(t *testing.T, obj string, entries []map[string]any, edit func(o map[string]any)) []byte {
	t.Helper()
	o := toMap(t, obj)
	list := make([]any, len(entries))
	for i, e := range entries {
		list[i] = e
	}
	o["metadata"].(map[string]any)["managedFields"] = list
	if edit != nil {
		edit(o)
	}
	raw, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

const (
	liveConf = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"conf","namespace":"shop","resourceVersion":"5",` +
		`"annotations":{"argocd.argoproj.io/tracking-id":"shop:/ConfigMap:shop/conf"}},"data":{"mode":"git","level":"1"}}`
	liveSvc = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop","resourceVersion":"5"},` +
		`"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"protocol":"TCP","targetPort":8080}]}}`
	liveWebDeploy = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","resourceVersion":"5"},` +
		`"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"app","image":"shop:1"}]}}}}`
	liveRole = `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole","metadata":{"name":"reader","resourceVersion":"5"},` +
		`"rules":[{"apiGroups":[""],"resources":["pods"],"verbs":["get"]}]}`
)

func setData(k, v string) func(o map[string]any) {
	return func(o map[string]any) { o["data"].(map[string]any)[k] = v }
}

// TestManagedFieldsManagers: an Application's
// ignoreDifferences.managedFieldsManagers free, for a controller's write
// only, the declared values a listed field manager owns in the written
// object, as Argo CD's diff ignores them; never a person's write, an
// unlisted or empty manager's field, a removal, what a controller may
// never change, nor Argo CD's tracking.
func TestManagedFieldsManagers(t *testing.T) {
	const op = "some-operator"
	rules := []provenance.IgnoreRule{
		{Kind: "ConfigMap", ManagedFieldsManagers: []string{op, "", "kubectl-edit"}},
		{Kind: "Service", Name: "web", ManagedFieldsManagers: []string{op}},
		{Group: "apps", Kind: "Deployment", ManagedFieldsManagers: []string{op, "kube-controller-manager"}},
		{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", ManagedFieldsManagers: []string{op}},
	}
	objs := provenancetest.Objects(t, managedGit)
	ix := &provenance.Indexer{Scope: scope, Root: provenance.Root{Name: "Application argocd/shop"}}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "shop.yaml", Objects: objs, ControllerIgnores: rules}})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	agent := func(apiVersion, fields string) map[string]any { return mf("argocd-controller", "", apiVersion, fields) }
	for _, tc := range []struct {
		name     string
		person   bool
		manager  string // the request's field manager ("" names none)
		kind     string
		create   bool
		old, obj []byte
		want     provenance.Reason
	}{
		{name: "a listed manager's field, controller", manager: op, kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonMatchesGit},
		{name: "a listed manager's field, person", person: true, manager: op, kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonManagedFields},
		{name: "a listed kubectl manager's field, person", person: true, manager: "kubectl-edit", kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf("kubectl-edit", "", "v1", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonFieldMismatch},
		{name: "a listed kubectl manager's field, controller", manager: "kubectl-edit", kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf("kubectl-edit", "", "v1", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonMatchesGit},
		{name: "an unlisted manager's field", manager: "other", kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf("other", "", "v1", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonFieldMismatch},
		{name: "a listed manager's field left as it was, another's changed", manager: "other", kind: "ConfigMap",
			old: liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confModeFields)}, setData("mode", "operator")),
			obj: liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoData), mf(op, "", "v1", confModeFields), mf("other", "", "v1", confLevelFields)}, func(o map[string]any) {
				setData("mode", "operator")(o)
				setData("level", "9")(o)
			}),
			want: provenance.ReasonFieldMismatch},
		{name: "a listed manager's field left as it was, an undeclared one changed", manager: "other", kind: "ConfigMap",
			old: liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confModeFields)}, setData("mode", "operator")),
			obj: liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confModeFields), mf("other", "", "v1", `{"f:data":{"f:extra":{}}}`)}, func(o map[string]any) {
				setData("mode", "operator")(o)
				setData("extra", "x")(o)
			}),
			want: provenance.ReasonMatchesGit},
		{name: "a declared field removed", manager: op, kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confDataFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v1", confLevelFields)}, func(o map[string]any) { delete(o["data"].(map[string]any), "mode") }),
			want: provenance.ReasonFieldMismatch},
		{name: "an empty manager", kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf("", "", "v1", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonFieldMismatch},
		{name: "an entry of another version (ownership refuses first)", manager: op, kind: "ConfigMap",
			old:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentFields)}, nil),
			obj:  liveObject(t, liveConf, []map[string]any{agent("v1", confAgentNoMode), mf(op, "", "v2", confModeFields)}, setData("mode", "operator")),
			want: provenance.ReasonManagedFields},
		{name: "Argo CD's tracking", manager: op, kind: "ConfigMap",
			old: liveObject(t, liveConf, []map[string]any{agent("v1", confDataFields)}, nil),
			obj: liveObject(t, liveConf, []map[string]any{agent("v1", confDataFields), mf(op, "", "v1", confTracking)}, func(o map[string]any) {
				o["metadata"].(map[string]any)["annotations"] = map[string]any{"argocd.argoproj.io/tracking-id": "other:/ConfigMap:shop/conf"}
			}),
			want: provenance.ReasonAgentMark},
		{name: "a create by a listed manager", create: true, manager: op, kind: "ConfigMap",
			obj:  liveObject(t, liveConf, []map[string]any{mf(op, "", "v1", confAgentFields)}, setData("mode", "operator")),
			want: provenance.ReasonMatchesGit},
		{name: "a Service's port stays Git's", manager: op, kind: "Service",
			old: liveObject(t, liveSvc, []map[string]any{agent("v1", svcAgentFields)}, nil),
			obj: liveObject(t, liveSvc, []map[string]any{agent("v1", svcAgentNoTP), mf(op, "", "v1", svcTargetPort)}, func(o map[string]any) {
				o["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["targetPort"] = 9090
			}),
			want: provenance.ReasonFieldMismatch},
		{name: "a keyed list item of another key (ownership refuses first)", manager: op, kind: "Service",
			old: liveObject(t, liveSvc, []map[string]any{agent("v1", svcAgentFields)}, nil),
			obj: liveObject(t, liveSvc, []map[string]any{agent("v1", svcAgentFields), mf(op, "", "v1", svcOtherPort)}, func(o map[string]any) {
				o["spec"].(map[string]any)["ports"].([]any)[0].(map[string]any)["targetPort"] = 9090
			}),
			want: provenance.ReasonManagedFields},
		{name: "RBAC stays Git's", manager: op, kind: "ClusterRole",
			old: liveObject(t, liveRole, []map[string]any{agent("rbac.authorization.k8s.io/v1", roleAgentFields)}, nil),
			obj: liveObject(t, liveRole, []map[string]any{mf(op, "", "rbac.authorization.k8s.io/v1", roleAgentFields)}, func(o map[string]any) {
				o["rules"].([]any)[0].(map[string]any)["verbs"] = []any{"list"}
			}),
			want: provenance.ReasonFieldMismatch},
		{name: "a workload's pod template", manager: op, kind: "Deployment",
			old: liveObject(t, liveWebDeploy, []map[string]any{agent("apps/v1", webAgentFields)}, nil),
			obj: liveObject(t, liveWebDeploy, []map[string]any{agent("apps/v1", webAgentNoImage), mf(op, "", "apps/v1", webImage)}, func(o map[string]any) {
				o["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"] = "evil:1"
			}),
			want: provenance.ReasonFieldMismatch},
		{name: "a scale-subresource entry of a listed manager", manager: "other", kind: "Deployment",
			old: liveObject(t, liveWebDeploy, []map[string]any{agent("apps/v1", webAgentNoRepl), mf("kube-controller-manager", "scale", "apps/v1", webReplicas)}, scaleTo(5)),
			obj: liveObject(t, liveWebDeploy, []map[string]any{agent("apps/v1", webAgentNoRepl), mf("kube-controller-manager", "scale", "apps/v1", webReplicas), mf("other", "", "apps/v1", webNote)}, func(o map[string]any) {
				scaleTo(5)(o)
				o["metadata"].(map[string]any)["annotations"] = map[string]any{"note": "x"}
			}),
			want: provenance.ReasonMatchesGit},
		{name: "a status-subresource entry of a listed manager", manager: "other", kind: "Deployment",
			old:  liveObject(t, liveWebDeploy, []map[string]any{agent("apps/v1", webAgentFields), mf(op, "status", "apps/v1", webStatus)}, nil),
			obj:  liveObject(t, liveWebDeploy, []map[string]any{agent("apps/v1", webAgentNoRepl), mf(op, "status", "apps/v1", webStatus), mf("other", "", "apps/v1", webReplicas)}, scaleTo(5)),
			want: provenance.ReasonFieldMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webhookLikeChecker(t, !tc.person)
			req := &provenance.Request{Operation: provenance.Update, Kind: tc.kind, Namespace: "shop", Name: "conf", ObjectRaw: tc.obj, OldObjectRaw: tc.old}
			switch tc.kind {
			case "Service":
				req.Version, req.Name = "v1", "web"
			case "Deployment":
				req.Group, req.Version, req.Name = "apps", "v1", "web"
			case "ClusterRole":
				req.Group, req.Version, req.Namespace, req.Name = "rbac.authorization.k8s.io", "v1", "", "reader"
			default:
				req.Version = "v1"
			}
			if tc.create {
				req.Operation = provenance.Create
			}
			if tc.manager != "" {
				req.Options = []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"` + tc.manager + `"}`)
			}
			decodeRaw(t, req)
			if got := c.Check(snap, req); got.Reason != tc.want {
				t.Errorf("Check = %s (%s) %v, want %s", got.Reason, got.Detail, got.Diffs, tc.want)
			}
		})
	}
}

func scaleTo(n int) func(o map[string]any) {
	return func(o map[string]any) { o["spec"].(map[string]any)["replicas"] = n }
}

// webhookLikeChecker is the webhook's checker for a controller
// (webhook.ControllerChecker) or a person (strict).
func webhookLikeChecker(t *testing.T, controller bool) *provenance.Checker {
	if controller {
		return &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true, Ignores: builtinIgnores(t)}
	}
	return &provenance.Checker{Ignores: builtinIgnores(t)}
}

// TestManagersOnlyForControllerRules: a rule for everyone (--ignore, a
// HelmRelease's) may not carry field managers.
func TestManagersOnlyForControllerRules(t *testing.T) {
	if _, err := provenance.CompileIgnores([]provenance.IgnoreRule{{Kind: "ConfigMap", JSONPointers: []string{"/data"}, ManagedFieldsManagers: []string{"x"}}}); err == nil {
		t.Fatal("CompileIgnores accepted managedFieldsManagers")
	}
}

// TestOwnsValue: which changed value of a compared path a managedFields
// field set owns, as structured-merge-diff sees the change: a field
// itself, a keyed element's field by its key values, a list without keys
// owned whole; never a map or set owned for its existence only ("." with
// fields of it apart), nor an element itself.
func TestOwnsValue(t *testing.T) {
	obj := toMap(t, `{"spec":{"ports":[{"port":80,"protocol":"TCP","targetPort":8080},{"port":80,"protocol":"UDP","targetPort":53}],`+
		`"args":["a","b"],"labels":{"app":"web","team":"x"},"finalizers":["f"]}}`)
	field := func(f string) compare.Step { return compare.Step{Field: f, Index: -1} }
	port := func(i int) compare.Step { return compare.Step{KeyName: "port", KeyValue: "80", Index: i} }
	at := func(i int) compare.Step { return compare.Step{Index: i} }
	for _, tc := range []struct {
		name   string
		fields string
		path   compare.Path
		want   bool
	}{
		{"a field", `{"f:spec":{"f:labels":{"f:app":{}}}}`, compare.Path{field("spec"), field("labels"), field("app")}, true},
		{"another field", `{"f:spec":{"f:labels":{"f:app":{}}}}`, compare.Path{field("spec"), field("labels"), field("team")}, false},
		{"a map owned for its existence", `{"f:spec":{"f:labels":{".":{},"f:app":{}}}}`, compare.Path{field("spec"), field("labels"), field("team")}, false},
		{"a map with fields of it apart", `{"f:spec":{"f:labels":{".":{},"f:app":{}}}}`, compare.Path{field("spec"), field("labels")}, false},
		{"a keyed element's field", `{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{"f:targetPort":{}}}}}`, compare.Path{field("spec"), field("ports"), port(0), field("targetPort")}, true},
		{"the other element of the key", `{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{"f:targetPort":{}}}}}`, compare.Path{field("spec"), field("ports"), port(1), field("targetPort")}, false},
		{"a keyed element before others owned", `{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{"f:targetPort":{}},"k:{\"port\":80,\"protocol\":\"UDP\"}":{"f:targetPort":{}}}}}`, compare.Path{field("spec"), field("ports"), port(0), field("targetPort")}, true},
		{"a keyed element itself", `{"f:spec":{"f:ports":{"k:{\"port\":80,\"protocol\":\"TCP\"}":{}}}}`, compare.Path{field("spec"), field("ports"), port(0)}, false},
		{"a list without keys owned whole", `{"f:spec":{"f:args":{}}}`, compare.Path{field("spec"), field("args"), at(1)}, true},
		{"a list without keys, whole", `{"f:spec":{"f:args":{}}}`, compare.Path{field("spec"), field("args")}, true},
		{"a set owned by its values", `{"f:spec":{"f:finalizers":{".":{},"v:\"f\"":{}}}}`, compare.Path{field("spec"), field("finalizers"), at(0)}, false},
		{"a list by index", `{"f:spec":{"f:args":{"i:1":{}}}}`, compare.Path{field("spec"), field("args"), at(1)}, false},
		{"nothing", `{}`, compare.Path{field("spec"), field("labels"), field("app")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := provenance.OwnsValue(tc.fields, obj, tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("OwnsValue = %v, want %v", got, tc.want)
			}
		})
	}
}
