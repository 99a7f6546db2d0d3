// Package manifests_test proves that the shipped ValidatingWebhookConfiguration
// agrees with gitgate's Go defaults: its matchConditions, evaluated with
// cel-go as the API server would, skip exactly the requests that gitgate
// serve with no identity or --skip-resource flag allows without a Git
// check, and send everything else (persons, controllers, EndpointSlices)
// to gitgate. The Go side cannot know that a CEL expression equals a glob:
// this table is the proof. Tokens are the one exception to "agents are never
// judged": a token for an agent's service account is refused to everyone
// but exempt identities. The same proof runs on the Helm chart's render,
// for its default values and for a full values file with custom agents,
// controllers, exempt identities and skipped resources: its gitgate is
// configured with the flags the chart wrote into the Deployment, so flags
// and CEL cannot drift apart.
package manifests_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/cel-go/cel"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/test/harness"
	"github.com/gitgate/gitgate/webhook"
)

type identity struct {
	user   string
	groups []string
	class  webhook.Class
}

var (
	sa = func(ns string) []string {
		return []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}
	}
	identities = []identity{
		{"system:apiserver", []string{"system:authenticated", "system:masters"}, webhook.Exempt},
		{"system:kube-controller-manager", []string{"system:authenticated"}, webhook.Exempt},
		{"system:kube-scheduler", []string{"system:authenticated"}, webhook.Exempt},
		{"system:serviceaccount:kube-system:deployment-controller", sa("kube-system"), webhook.Exempt},
		{"system:serviceaccount:kube-system:generic-garbage-collector", nil, webhook.Exempt},
		{"system:node:worker-1", []string{"system:nodes", "system:authenticated"}, webhook.Exempt},
		{"system:bootstrap:abcdef", []string{"system:bootstrappers", "system:bootstrappers:kubeadm:default-node-token"}, webhook.Exempt},
		{"someone", []string{"system:serviceaccounts:kube-system"}, webhook.Exempt},

		{"system:serviceaccount:flux-system:kustomize-controller", sa("flux-system"), webhook.Agent},
		{"system:serviceaccount:flux-system:source-controller", sa("flux-system"), webhook.Agent},
		{"system:serviceaccount:flux-system:notification-controller", sa("flux-system"), webhook.Agent},
		{"system:serviceaccount:flux-system:helm-controller", sa("flux-system"), webhook.Agent},
		{"system:serviceaccount:argocd:argocd-application-controller", sa("argocd"), webhook.Agent},

		// Argo CD's ApplicationSet and notifications controllers are
		// controllers, scoped; argocd-server writes for people.
		{"system:serviceaccount:argocd:argocd-applicationset-controller", sa("argocd"), webhook.Controller},
		{"system:serviceaccount:argocd:argocd-notifications-controller", sa("argocd"), webhook.Controller},
		{"system:serviceaccount:argocd:argocd-server", sa("argocd"), webhook.Person},
		{"system:serviceaccount:argocd:argocd-server-x", sa("argocd"), webhook.Controller},
		{"system:serviceaccount:cert-manager:cert-manager", sa("cert-manager"), webhook.Controller},
		{"system:serviceaccount:team-a:flux-reconciler", sa("team-a"), webhook.Controller},
		{"system:serviceaccount:flux-system-x:kustomize-controller", sa("flux-system-x"), webhook.Controller},
		{"system:serviceaccount:kube-systemx:deployment-controller", sa("kube-systemx"), webhook.Controller},
		{"system:serviceaccount:argocd:argocd-application-controller-x", sa("argocd"), webhook.Controller},

		{"dev-user", []string{"system:masters", "system:authenticated"}, webhook.Person},
		{"dev-user", nil, webhook.Person},
		{"system:kube-scheduler-impostor", []string{"system:authenticated"}, webhook.Person},
		{"system:apiserverx", nil, webhook.Person},
		{"system:serviceaccount", []string{"system:serviceaccounts"}, webhook.Person},
		{"mallory", []string{"system:nodes-x", "system:bootstrappers-x", "flux-system"}, webhook.Person},
		{"", nil, webhook.Person},
	}
	// customIdentities exercise charts/gitgate/ci/full-values.yaml: globs
	// with a * inside, agent, controller and exempt groups, and service
	// accounts that are no controller there.
	customIdentities = []identity{
		{"backup-robot", nil, webhook.Exempt},
		{"system:serviceaccount:velero:velero", sa("velero"), webhook.Exempt},
		{"alice", []string{"platform-admins"}, webhook.Exempt},
		{"system:serviceaccount:team-a:gitops-reconciler", sa("team-a"), webhook.Agent},
		{"argo.cd:controller", nil, webhook.Agent},
		{"bob", []string{"gitops-agents"}, webhook.Agent},
		{"system:serviceaccount:ops:operator", sa("ops"), webhook.Controller},
		{"carol", []string{"operators"}, webhook.Controller},
		{"system:serviceaccount:monitoring:prometheus", sa("monitoring"), webhook.Controller},
		{"system:serviceaccount:team-b:app", sa("team-b"), webhook.Person},
		{"system:serviceaccount:ops:web-ui", sa("ops"), webhook.Person},
		{"system:serviceaccount:ops:generator", sa("ops"), webhook.Controller},
		{"console-eu", []string{"operators"}, webhook.Person},
		{"system:serviceaccount:team-a:gitops-reconciler-x", sa("team-a"), webhook.Person},
	}
	resources = []struct {
		group, version, resource, subresource string
		// namespace and name of the object; default shop/x.
		namespace, name string
	}{
		{"", "v1", "configmaps", "", "", ""},
		{"", "v1", "secrets", "", "", ""},
		{"", "v1", "namespaces", "", "", ""},
		{"", "v1", "services", "", "", ""},
		{"", "v1", "pods", "", "", ""},
		{"", "v1", "endpoints", "", "", ""},
		{"", "v1", "nodes", "", "", ""},
		{"", "v1", "events", "", "", ""},
		{"", "v1", "leases", "", "", ""},
		{"apps", "v1", "deployments", "", "", ""},
		{"apps", "v1", "deployments", "scale", "", ""},
		{"apps", "v1", "deployments", "status", "", ""},
		{"", "v1", "pods", "status", "", ""},
		{"", "v1", "pods", "ephemeralcontainers", "", ""},
		{"", "v1", "pods", "resize", "", ""},
		{"", "v1", "serviceaccounts", "token", "", ""},
		{"", "v1", "serviceaccounts", "token", "flux-system", "kustomize-controller"},
		{"", "v1", "serviceaccounts", "token", "flux-system", "anything"},
		{"", "v1", "serviceaccounts", "token", "argocd", "argocd-application-controller"},
		{"", "v1", "serviceaccounts", "token", "argocd", "argocd-server"},
		{"", "v1", "serviceaccounts", "token", "argocd", "argocd-applicationset-controller"},
		{"", "v1", "serviceaccounts", "token", "argocd", "argocd-notifications-controller"},
		{"", "v1", "serviceaccounts", "token", "kube-system", "deployment-controller"},
		{"", "v1", "serviceaccounts", "token", "flux-system-x", "kustomize-controller"},
		{"discovery.k8s.io", "v1", "endpointslices", "", "", ""},
		{"certificates.k8s.io", "v1", "certificatesigningrequests", "", "", ""},
		{"certificates.k8s.io", "v1", "certificatesigningrequests", "approval", "", ""},
		{"events.k8s.io", "v1", "events", "", "", ""},
		{"coordination.k8s.io", "v1", "leases", "", "", ""},
		{"coordination.k8s.io", "v1beta1", "leasecandidates", "", "", ""},
		{"authentication.k8s.io", "v1", "tokenreviews", "", "", ""},
		{"authentication.k8s.io", "v1", "selfsubjectreviews", "", "", ""},
		{"authorization.k8s.io", "v1", "subjectaccessreviews", "", "", ""},
		{"authorization.k8s.io", "v1", "selfsubjectaccessreviews", "", "", ""},
		{"authorization.k8s.io", "v1", "localsubjectaccessreviews", "", "", ""},
		{"example.com", "v1", "nodes", "", "", ""},
		{"example.com", "v1", "events", "", "", ""},
		{"example.com", "v1", "widgets", "", "", ""},
		{"example.com", "v1", "widgets", "status", "", ""},
		{"", "v1", "serviceaccounts", "token", "team-a", "gitops-reconciler"},
		{"", "v1", "serviceaccounts", "token", "velero", "velero"},
		{"", "v1", "serviceaccounts", "token", "ops", "operator"},
		{"", "v1", "serviceaccounts", "token", "monitoring", "prometheus"},
		{"", "v1", "serviceaccounts", "token", "team-b", "app"},
		{"", "v1", "serviceaccounts", "token", "ops", "generator"},
		{"", "v1", "serviceaccounts", "token", "ops", "web-ui"},
	}
)

func TestMatchConditionsSkipExactlyWhatGitgateAllowsUnjudged(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("base", "webhook.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	conditions := compileMatchConditions(t, decodeWebhook(t, base))
	// The table's classes are gitgate's defaults.
	for _, id := range identities {
		if got, _ := unsyncedHandler(webhook.DefaultIdentities(), webhook.DefaultSkip()).Identities.Classify(
			authenticationv1.UserInfo{Username: id.user, Groups: id.groups}); got != id.class {
			t.Errorf("%q %v is %s in Go, the table says %s", id.user, id.groups, got, id.class)
		}
	}
	proveAgainstGo(t, conditions, unsyncedHandler(webhook.DefaultIdentities(), webhook.DefaultSkip()), identities)
}

// TestChartMatchConditionsSkipExactlyWhatItsFlagsAllowUnjudged renders the
// chart and runs the proof with a gitgate configured by the flags the
// chart wrote into its Deployment.
func TestChartMatchConditionsSkipExactlyWhatItsFlagsAllowUnjudged(t *testing.T) {
	for name, values := range map[string][]string{
		"default values": nil,
		"full values":    {filepath.Join(harness.ChartDir(), "ci", "full-values.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := harness.RenderChart("gitgate-system", values...)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(m.Find("ValidatingWebhookConfiguration", "gitgate").Object)
			if err != nil {
				t.Fatal(err)
			}
			conditions := compileMatchConditions(t, decodeWebhook(t, raw))
			ids, skip := flagsOf(t, m.Find("Deployment", "gitgate"))
			proveAgainstGo(t, conditions, unsyncedHandler(ids, skip), append(slices.Clone(identities), customIdentities...))
		})
	}
}

// proveAgainstGo evaluates the conditions for every identity on every
// resource, and on a status write that keeps the metadata, and fails
// where they call gitgate for a request it would allow unjudged, or skip
// one it would judge.
func proveAgainstGo(t *testing.T, conditions matchConditions, h *webhook.Handler, ids []identity) {
	t.Helper()
	called := map[webhook.Class]int{}
	agentTokens := 0
	for _, id := range ids {
		class, _ := h.Identities.Classify(authenticationv1.UserInfo{Username: id.user, Groups: id.groups})
		for _, r := range resources {
			name := fmt.Sprintf("%s %v on %s/%s", id.user, id.groups, r.group, r.resource)
			if r.subresource != "" {
				name += "/" + r.subresource
			}
			if r.namespace != "" {
				name += " " + r.namespace + "/" + r.name
			}
			req := admissionRequest(id, r.group, r.version, r.resource, r.subresource, r.namespace, r.name)
			celCalls := conditions.call(t, req)
			// Nothing is synced, so whatever gitgate judges is refused:
			// allowed means allowed without a look at Git.
			goJudges := !h.Handle(context.Background(), req).Allowed
			if celCalls != goJudges {
				t.Errorf("%s: matchConditions call gitgate = %v, gitgate judges it = %v", name, celCalls, goJudges)
			}
			if celCalls && r.subresource != "token" {
				called[class]++
			}
			if celCalls && r.subresource == "token" && class == webhook.Agent {
				agentTokens++
			}
		}
		req := admissionRequest(id, "apps", "v1", "deployments", "status", "", "")
		req.Operation = admissionv1.Update
		req.OldObject = req.Object
		if celCalls, goJudges := conditions.call(t, req), !h.Handle(context.Background(), req).Allowed; celCalls != goJudges {
			t.Errorf("%s %v: status update: matchConditions call gitgate = %v, gitgate judges it = %v", id.user, id.groups, celCalls, goJudges)
		}
	}
	// The table must exercise both sides for the classes that are judged;
	// agents reach gitgate only to mint an agent's token.
	if called[webhook.Person] == 0 || called[webhook.Controller] == 0 || called[webhook.Exempt] != 0 || called[webhook.Agent] != 0 || agentTokens == 0 {
		t.Errorf("requests sent to gitgate by class = %v, agents' token requests %d; want persons and controllers, and agents for tokens only", called, agentTokens)
	}
}

// flagsOf reads the identity and --skip-resource flags of the Deployment's
// gitgate container as gitgate serve does (cli/identity.go): exempt
// users and groups add to the built-in ones; --agent, --controller and
// --skip-resource replace the defaults when given.
func flagsOf(t *testing.T, d *unstructured.Unstructured) (webhook.Identities, webhook.Resources) {
	t.Helper()
	if d == nil {
		t.Fatal("no Deployment gitgate in the render")
	}
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	flags := map[string][]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(strings.TrimPrefix(a, "--"), "="); ok {
			flags[k] = append(flags[k], v)
		}
	}
	or := func(v, def []string) []string {
		if v == nil {
			return def
		}
		return v
	}
	ids := webhook.Identities{
		ExemptUsers:      append(slices.Clone(webhook.DefaultExemptUsers), flags["exempt-user"]...),
		ExemptGroups:     append(slices.Clone(webhook.DefaultExemptGroups), flags["exempt-group"]...),
		AgentUsers:       or(flags["agent"], webhook.DefaultAgents),
		AgentGroups:      flags["agent-group"],
		ControllerUsers:  or(flags["controller"], webhook.DefaultControllers),
		ControllerGroups: flags["controller-group"],
		PeopleProxies:    or(flags["people-proxy"], webhook.DefaultPeopleProxies),
	}
	var err error
	if ids.AgentFor, err = webhook.ParseScopes(or(flags["agent-for"], webhook.DefaultAgentFor)); err != nil {
		t.Fatal(err)
	}
	if ids.Annotators, err = webhook.ParseScopes(or(flags["annotator"], webhook.DefaultAnnotators)); err != nil {
		t.Fatal(err)
	}
	if err := ids.Validate(); err != nil {
		t.Fatal(err)
	}
	var skip webhook.Resources
	for _, s := range or(flags["skip-resource"], webhook.DefaultSkipResources) {
		r, err := webhook.ParseResource(s)
		if err != nil {
			t.Fatal(err)
		}
		skip = append(skip, r)
	}
	return ids, skip
}

// TestOnlyTheBaseHoldsMatchConditions: overlays patch the base's webhook
// but must not repeat (and drift from) its matchConditions. The sandbox's
// ValidatingAdmissionPolicy (base/dryrun.yaml) has conditions of its own,
// which test/install's TestSandboxTakesDryRunsOnly checks.
func TestOnlyTheBaseHoldsMatchConditions(t *testing.T) {
	own := map[string]bool{filepath.Join("base", "webhook.yaml"): true, filepath.Join("base", "dryrun.yaml"): true}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") || own[path] {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(data), "matchConditions") {
			t.Errorf("%s holds matchConditions; keep them in base/webhook.yaml only, where the test checks them", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// unsyncedHandler is gitgate with these identity classes and skipped
// resources and no Git revision loaded: it refuses whatever it judges.
func unsyncedHandler(ids webhook.Identities, skip webhook.Resources) *webhook.Handler {
	return &webhook.Handler{
		Identities: ids,
		Skip:       skip,
		Snapshots:  &provenance.Store{},
		Checker:    &provenance.Checker{Fields: provenance.FieldsStrict},
		Kinds:      anyKind{},
	}
}

// anyKind resolves every resource, for the scale subresource.
type anyKind struct{}

func (anyKind) KindFor(r schema.GroupVersionResource) (schema.GroupVersionKind, error) {
	return schema.GroupVersionKind{Group: r.Group, Version: r.Version, Kind: "Thing"}, nil
}

func admissionRequest(id identity, group, version, resource, subresource, namespace, name string) admission.Request {
	if namespace == "" {
		namespace, name = "shop", "x"
	}
	obj := fmt.Sprintf(`{"apiVersion":%q,"kind":"Thing","metadata":{"name":%q,"namespace":%q}}`, strings.TrimPrefix(group+"/"+version, "/"), name, namespace)
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID:         "uid-1",
		Kind:        metav1.GroupVersionKind{Group: group, Version: version, Kind: "Thing"},
		Resource:    metav1.GroupVersionResource{Group: group, Version: version, Resource: resource},
		SubResource: subresource,
		Namespace:   namespace,
		Name:        name,
		Operation:   admissionv1.Create,
		UserInfo:    authenticationv1.UserInfo{Username: id.user, Groups: id.groups},
		Object:      runtime.RawExtension{Raw: []byte(obj)},
	}}
}

// matchConditions are compiled CEL programs; the API server calls the
// webhook only when every one of them is true.
type matchConditions []struct {
	name string
	prg  cel.Program
}

// decodeWebhook decodes a ValidatingWebhookConfiguration (YAML or JSON),
// refusing unknown fields.
func decodeWebhook(t *testing.T, data []byte) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		t.Fatal(err)
	}
	return &cfg
}

func compileMatchConditions(t *testing.T, cfg *admissionregistrationv1.ValidatingWebhookConfiguration) matchConditions {
	t.Helper()
	if len(cfg.Webhooks) != 1 || len(cfg.Webhooks[0].MatchConditions) == 0 {
		t.Fatalf("%s: want one webhook with matchConditions", cfg.Name)
	}
	env, err := cel.NewEnv(
		cel.Variable("request", cel.MapType(cel.StringType, cel.DynType)),
		cel.Variable("object", cel.DynType), cel.Variable("oldObject", cel.DynType))
	if err != nil {
		t.Fatal(err)
	}
	var out matchConditions
	for _, mc := range cfg.Webhooks[0].MatchConditions {
		ast, iss := env.Compile(mc.Expression)
		if iss.Err() != nil {
			t.Fatalf("matchCondition %s: %v", mc.Name, iss.Err())
		}
		prg, err := env.Program(ast)
		if err != nil {
			t.Fatalf("matchCondition %s: %v", mc.Name, err)
		}
		out = append(out, struct {
			name string
			prg  cel.Program
		}{mc.Name, prg})
	}
	return out
}

// call evaluates the conditions on req as the API server does: the
// webhook is called only when all are true.
func (mcs matchConditions) call(t *testing.T, req admission.Request) bool {
	t.Helper()
	userInfo := map[string]any{"username": req.UserInfo.Username}
	if len(req.UserInfo.Groups) > 0 {
		// Like the request's JSON, groups is absent when empty (omitempty).
		groups := make([]any, len(req.UserInfo.Groups))
		for i, g := range req.UserInfo.Groups {
			groups[i] = g
		}
		userInfo["groups"] = groups
	}
	request := map[string]any{
		"operation": string(req.Operation),
		"resource":  map[string]any{"group": req.Resource.Group, "version": req.Resource.Version, "resource": req.Resource.Resource},
		"namespace": req.Namespace,
		"name":      req.Name,
		"userInfo":  userInfo,
	}
	if req.SubResource != "" {
		// Absent for the object itself (omitempty), hence has().
		request["subResource"] = req.SubResource
	}
	vars := map[string]any{"request": request, "object": decoded(t, req.Object.Raw), "oldObject": decoded(t, req.OldObject.Raw)}
	for _, mc := range mcs {
		out, _, err := mc.prg.Eval(vars)
		if err != nil {
			t.Fatalf("matchCondition %s: %v", mc.name, err)
		}
		b, ok := out.Value().(bool)
		if !ok {
			t.Fatalf("matchCondition %s returned %v, not a bool", mc.name, out)
		}
		if !b {
			return false
		}
	}
	return true
}

// decoded is an object as CEL sees it: JSON, or null when absent.
func decoded(t *testing.T, raw []byte) any {
	t.Helper()
	if len(raw) == 0 {
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestMatchConditionsOnSubresourceUpdates: a controller's write through
// status (and the like) skips gitgate only while the metadata stays as it
// was; a label, annotation, ownerReference or finalizer written through it
// is judged, as Go judges it.
func TestMatchConditionsOnSubresourceUpdates(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("base", "webhook.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	conditions := compileMatchConditions(t, decodeWebhook(t, base))
	h := unsyncedHandler(webhook.DefaultIdentities(), webhook.DefaultSkip())
	controller := identity{"system:serviceaccount:cert-manager:cert-manager", sa("cert-manager"), webhook.Controller}
	person := identity{"dev-user", nil, webhook.Person}
	old := `{"apiVersion":"v1","kind":"Thing","metadata":{"name":"x","namespace":"shop","labels":{"app":"web"},"ownerReferences":[{"uid":"1"}]},"status":{"a":1}}`
	tests := []struct {
		name        string
		who         identity
		subresource string
		obj         string
		wantCalled  bool
	}{
		{name: "status only", who: controller, subresource: "status", obj: strings.Replace(old, `"a":1`, `"a":2`, 1)},
		{name: "resize, metadata as it was", who: controller, subresource: "resize", obj: old},
		{name: "finalize, metadata as it was", who: controller, subresource: "finalize", obj: old},
		{name: "a label through status", who: controller, subresource: "status", obj: strings.Replace(old, `"app":"web"`, `"app":"web","gitgate.dev/mode":"audit"`, 1), wantCalled: true},
		{name: "an annotation through status", who: controller, subresource: "status", obj: strings.Replace(old, `"labels"`, `"annotations":{"a":"b"},"labels"`, 1), wantCalled: true},
		{name: "an ownerReference through status", who: controller, subresource: "status", obj: strings.Replace(old, `{"uid":"1"}`, `{"uid":"1"},{"uid":"2"}`, 1), wantCalled: true},
		{name: "a finalizer through finalize", who: controller, subresource: "finalize", obj: strings.Replace(old, `"labels"`, `"finalizers":["x"],"labels"`, 1), wantCalled: true},
		{name: "labels removed through status", who: controller, subresource: "status", obj: strings.Replace(old, `"labels":{"app":"web"},`, ``, 1), wantCalled: true},
		{name: "a person's status write", who: person, subresource: "status", obj: old, wantCalled: true},
		// An ephemeral container may mount the Pod's service account
		// token: gitgate looks at whose Pod it is.
		{name: "a controller's ephemeral container, metadata as it was", who: controller, subresource: "ephemeralcontainers", obj: old, wantCalled: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := admissionRequest(tc.who, "", "v1", "things", tc.subresource, "", "")
			req.Operation = admissionv1.Update
			req.Object, req.OldObject = runtime.RawExtension{Raw: []byte(tc.obj)}, runtime.RawExtension{Raw: []byte(old)}
			called := conditions.call(t, req)
			judged := !h.Handle(context.Background(), req).Allowed
			if called != tc.wantCalled || judged != tc.wantCalled {
				t.Errorf("matchConditions call gitgate = %v, gitgate judges it = %v, want %v", called, judged, tc.wantCalled)
			}
		})
	}
}

// TestSandboxPolicyNamesTheSandboxAndGitgate: the dry-run sandbox's
// ValidatingAdmissionPolicy matches by the sandbox's name and gitgate's
// user name, written out as text; renamed elsewhere and not there, it
// would silently match nothing. Its behaviour is test/install's
// TestSandboxTakesDryRunsOnly.
func TestSandboxPolicyNamesTheSandboxAndGitgate(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("base", "dryrun.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := harness.DecodeManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	ns := objs.Find("Namespace", "")
	binding := objs.Find("RoleBinding", "")
	policy := objs.Find("ValidatingAdmissionPolicy", "")
	if ns == nil || binding == nil || policy == nil || objs.Find("ValidatingAdmissionPolicyBinding", policy.GetName()) == nil {
		t.Fatal("base/dryrun.yaml: want the Namespace, the RoleBinding, the policy and its binding")
	}
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	if len(subjects) != 1 {
		t.Fatalf("RoleBinding subjects %v, want gitgate's service account", subjects)
	}
	sub := subjects[0].(map[string]any)
	user := fmt.Sprintf("system:serviceaccount:%s:%s", sub["namespace"], sub["name"])
	conds, _, _ := unstructured.NestedSlice(policy.Object, "spec", "matchConditions")
	var exprs []string
	for _, c := range conds {
		exprs = append(exprs, c.(map[string]any)["expression"].(string))
	}
	all := strings.Join(exprs, "\n")
	for _, want := range []string{`request.userInfo.username == "` + user + `"`, `request.namespace == "` + ns.GetName() + `"`} {
		if !strings.Contains(all, want) {
			t.Errorf("the policy's matchConditions do not hold %s:\n%s", want, all)
		}
	}
	sel, _, _ := unstructured.NestedString(policy.Object, "spec", "matchConstraints", "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name")
	if sel != ns.GetName() {
		t.Errorf("namespaceSelector names %q, want the sandbox %q", sel, ns.GetName())
	}
}

// TestWebhookSendsCarriedObjects: the shipped webhook (the base, and the
// chart's default render) sends gitgate what the rules on carried
// objects judge: a person's or controller's delete of a GitOps object (an
// agent may have made it), and every write of a ConfigMap or Secret (a
// root's render may read it), in flux-system as elsewhere.
func TestWebhookSendsCarriedObjects(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("base", "webhook.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := harness.RenderChart("gitgate-system")
	if err != nil {
		t.Fatal(err)
	}
	chart, err := json.Marshal(m.Find("ValidatingWebhookConfiguration", "gitgate").Object)
	if err != nil {
		t.Fatal(err)
	}
	requests := []struct {
		op                       admissionv1.Operation
		group, version, resource string
	}{
		{admissionv1.Delete, "kustomize.toolkit.fluxcd.io", "v1", "kustomizations"},
		{admissionv1.Delete, "helm.toolkit.fluxcd.io", "v2", "helmreleases"},
		{admissionv1.Delete, "argoproj.io", "v1alpha1", "applications"},
		{admissionv1.Delete, "", "v1", "namespaces"},
	}
	for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete} {
		for _, r := range []string{"configmaps", "secrets"} {
			requests = append(requests, struct {
				op                       admissionv1.Operation
				group, version, resource string
			}{op, "", "v1", r})
		}
	}
	for name, raw := range map[string][]byte{"base": base, "chart": chart} {
		cfg := decodeWebhook(t, raw)
		conditions := compileMatchConditions(t, cfg)
		for _, who := range []identity{{"dev-user", nil, webhook.Person}, {"system:serviceaccount:cert-manager:cert-manager", sa("cert-manager"), webhook.Controller}} {
			for _, r := range requests {
				req := admissionRequest(who, r.group, r.version, r.resource, "", "flux-system", "x")
				req.Operation = r.op
				switch r.op {
				case admissionv1.Update:
					req.OldObject = req.Object
				case admissionv1.Delete:
					req.OldObject, req.Object = req.Object, runtime.RawExtension{}
				}
				if !ruleMatches(cfg.Webhooks[0], r.op, r.group, r.resource, "flux-system") || !conditions.call(t, req) {
					t.Errorf("%s: %s of %s.%s by %s is not sent to gitgate", name, r.op, r.resource, r.group, who.user)
				}
			}
		}
	}
}

// ruleMatches reports whether the webhook's rules and namespaceSelector
// (by kubernetes.io/metadata.name) take op of group/resource in
// namespace.
func ruleMatches(w admissionregistrationv1.ValidatingWebhook, op admissionv1.Operation, group, resource, namespace string) bool {
	for _, e := range w.NamespaceSelector.MatchExpressions {
		if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn && slices.Contains(e.Values, namespace) {
			return false
		}
	}
	for _, r := range w.Rules {
		ops := slices.ContainsFunc(r.Operations, func(o admissionregistrationv1.OperationType) bool {
			return o == admissionregistrationv1.OperationAll || string(o) == string(op)
		})
		if ops && (slices.Contains(r.APIGroups, "*") || slices.Contains(r.APIGroups, group)) &&
			(slices.Contains(r.Resources, "*") || slices.Contains(r.Resources, resource)) {
			return true
		}
	}
	return false
}
