package webhook

import (
	"context"
	"errors"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/provenance"
)

// Declared objects whose protected fields Git leaves out, and the Service
// as the API server stores it.
const (
	declaredService = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},
		"spec":{"selector":{"app":"web"},"ports":[{"port":80,"targetPort":8080}]}}`
	storedService = `{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"shop"},
		"spec":{"type":"ClusterIP","sessionAffinity":"None","clusterIP":"10.0.0.17","clusterIPs":["10.0.0.17"],
		"selector":{"app":"web"},"ports":[{"port":80,"protocol":"TCP","targetPort":8080}]}}`
	declaredCronJob = `{"apiVersion":"batch/v1","kind":"CronJob","metadata":{"name":"report","namespace":"shop"},
		"spec":{"schedule":"0 * * * *","jobTemplate":{"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"report","image":"report:1"}]}}}}}}`
	declaredPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"tools","namespace":"shop"},
		"spec":{"containers":[{"name":"tools","image":"busybox:1.36"}]}}`
	declaredDockerCluster = `{"apiVersion":"infrastructure.cluster.x-k8s.io/v1beta1","kind":"DockerCluster","metadata":{"name":"dev","namespace":"shop"},"spec":{}}`
)

var (
	serviceChange = change{version: "v1", kind: "Service", resource: "services", obj: storedService, namespace: "shop", name: "web"}
	cronJobChange = change{group: "batch", version: "v1", kind: "CronJob", resource: "cronjobs", obj: declaredCronJob, namespace: "shop", name: "report"}
	podChange     = change{version: "v1", kind: "Pod", resource: "pods", obj: declaredPod, namespace: "shop", name: "tools"}
	clusterChange = change{group: "infrastructure.cluster.x-k8s.io", version: "v1beta1", kind: "DockerCluster", resource: "dockerclusters",
		obj: declaredDockerCluster, namespace: "shop", name: "dev"}
)

// protectedSnapshot declares the shop's Deployment, Namespace, Service,
// CronJob, bare Pod and a Cluster API infrastructure cluster.
func protectedSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	var objs []map[string]any
	for _, js := range []string{declaredDeployment, declaredNamespace, declaredService, declaredCronJob, declaredPod, declaredDockerCluster} {
		objs = append(objs, object(t, js))
	}
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{{Path: "shop/all.yaml", Objects: objs}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Snapshot()
}

// The --ignore rules docs/operations.md ships for Stakater Reloader (either
// reloadStrategy) and for Cluster API's ownerReferences.
var operatorIgnores = []string{
	"apps/Deployment=/spec/template/metadata/annotations/reloader.stakater.com~1*,/spec/template/spec/containers/*/env/name=STAKATER_*",
	"infrastructure.cluster.x-k8s.io/DockerCluster=/metadata/ownerReferences",
}

func compiledIgnores(t *testing.T, flags ...string) *provenance.Ignores {
	t.Helper()
	var rules []provenance.IgnoreRule
	for _, f := range flags {
		r, err := provenance.ParseIgnoreFlag(f)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	ig, err := provenance.CompileIgnores(rules)
	if err != nil {
		t.Fatal(err)
	}
	return ig
}

func serviceSpec(m map[string]any) map[string]any { return m["spec"].(map[string]any) }

func templateMeta(m map[string]any, path ...string) map[string]any {
	node := m
	for _, f := range path {
		node = node[f].(map[string]any)
	}
	meta, _ := node["metadata"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
		node["metadata"] = meta
	}
	return meta
}

func reloaderEnv(m map[string]any) {
	c := m["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)
	c["env"] = []any{map[string]any{"name": "STAKATER_WEB_CONFIG_CONFIGMAP", "value": "3f2c9a"}}
}

func ownedByCluster(m map[string]any) {
	m["metadata"].(map[string]any)["ownerReferences"] = []any{map[string]any{
		"apiVersion": "cluster.x-k8s.io/v1beta1", "kind": "Cluster", "name": "dev", "uid": "c-uid"}}
}

// protectedCases are changes to fields a controller may not set or change
// on a declared object even where Git does not declare them, next to
// those it may, with and without the operators' --ignore rules.
func protectedCases() []struct {
	name        string
	change      change
	ignores     bool
	wantAllowed bool
	wantMessage string
} {
	set := func(f func(map[string]any)) func(map[string]any) { return f }
	return []struct {
		name        string
		change      change
		ignores     bool
		wantAllowed bool
		wantMessage string
	}{
		{name: "externalIPs on a declared Service (CVE-2020-8554)", change: serviceChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["externalIPs"] = []any{"1.2.3.4"}
		})), wantMessage: "spec.externalIPs"},
		{name: "a declared Service made a LoadBalancer", change: serviceChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["type"] = "LoadBalancer"
		})), wantMessage: "spec.type"},
		{name: "source ranges on a declared Service", change: serviceChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["loadBalancerSourceRanges"] = []any{"0.0.0.0/0"}
		})), wantMessage: "spec.loadBalancerSourceRanges"},
		{name: "a load balancer class", change: serviceChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["loadBalancerClass"] = "evil.example/lb"
		})), wantMessage: "spec.loadBalancerClass"},
		{name: "an external name", change: serviceChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["externalName"] = "evil.example"
		})), wantMessage: "spec.externalName"},
		{name: "session affinity", change: serviceChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["sessionAffinity"] = "ClientIP"
		})), wantMessage: "spec.sessionAffinity"},
		{name: "an annotation on a declared Service", change: serviceChange.with(admissionv1.Update, annotate), wantAllowed: true},
		{name: "a label on a declared Pod template", change: deploymentChange.with(admissionv1.Update, set(func(m map[string]any) {
			templateMeta(m, "spec", "template")["labels"] = map[string]any{"app": "web", "mesh": "off"}
		})), wantMessage: "spec.template.metadata.labels.mesh"},
		{name: "Reloader's annotation without the --ignore", change: deploymentChange.with(admissionv1.Update, restartAnnotation),
			wantMessage: "spec.template.metadata.annotations"},
		{name: "Reloader's annotation with the --ignore", change: deploymentChange.with(admissionv1.Update, restartAnnotation), ignores: true, wantAllowed: true},
		{name: "Reloader's env var without the --ignore", change: deploymentChange.with(admissionv1.Update, reloaderEnv),
			wantMessage: "containers[name=web].env"},
		{name: "Reloader's env var with the --ignore", change: deploymentChange.with(admissionv1.Update, reloaderEnv), ignores: true, wantAllowed: true},
		{name: "kubectl rollout restart's restartedAt", change: deploymentChange.with(admissionv1.Update, set(func(m map[string]any) {
			templateMeta(m, "spec", "template")["annotations"] = map[string]any{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
		})), wantAllowed: true},
		{name: "a declared Deployment paused", change: deploymentChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["paused"] = true
		})), wantMessage: "spec.paused"},
		{name: "an annotation on a CronJob's Pod template", change: cronJobChange.with(admissionv1.Update, set(func(m map[string]any) {
			templateMeta(m, "spec", "jobTemplate", "spec", "template")["annotations"] = map[string]any{"sidecar.istio.io/inject": "false"}
		})), wantMessage: "spec.jobTemplate.spec.template.metadata.annotations"},
		{name: "a declared bare Pod's spec", change: podChange.with(admissionv1.Update, set(func(m map[string]any) {
			serviceSpec(m)["activeDeadlineSeconds"] = 1.0
		})), wantMessage: "spec.activeDeadlineSeconds"},
		{name: "a label on a declared bare Pod", change: podChange.with(admissionv1.Update, set(func(m map[string]any) {
			m["metadata"].(map[string]any)["labels"] = map[string]any{"tier": "debug"}
		})), wantAllowed: true},
		{name: "Cluster API's ownerReference without the --ignore", change: clusterChange.with(admissionv1.Update, ownedByCluster), wantMessage: "metadata.ownerReferences"},
		{name: "Cluster API's ownerReference with the --ignore", change: clusterChange.with(admissionv1.Update, ownedByCluster), ignores: true, wantAllowed: true},
	}
}

// TestControllerProtectedFields drives the protected fields through
// Handle as a controller, in both --fields modes: the mode of people
// never loosens the controller rule.
func TestControllerProtectedFields(t *testing.T) {
	snapshot := protectedSnapshot(t)
	for _, tt := range protectedCases() {
		for _, fields := range []provenance.FieldMode{provenance.FieldsStrict, provenance.FieldsDeclared} {
			t.Run(tt.name+"/"+string(fields), func(t *testing.T) {
				ig := compiledIgnores(t)
				if tt.ignores {
					ig = compiledIgnores(t, operatorIgnores...)
				}
				recs := &records{}
				h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
					Checker: &provenance.Checker{Fields: fields, Ignores: ig}, Controllers: ControllerChecker(ig),
					Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs}
				reason := provenance.ReasonUndeclared
				if tt.wantAllowed {
					reason = provenance.ReasonMatchesGit
				}
				var want []string
				if tt.wantMessage != "" {
					want = []string{tt.wantMessage, "judged as a controller", "gitgate protects this field even where Git does not declare it", "--ignore"}
				}
				checkControllerCase(t, h, recs, tt.change.admissionRequest(t, operator), tt.wantAllowed, reason, want)
			})
		}
	}
}

// TestPersonRolloutRestartStaysAllowed: kubectl rollout restart by a
// person, in either --fields mode, is allowed as before.
func TestPersonRolloutRestartStaysAllowed(t *testing.T) {
	restart := func(m map[string]any) {
		templateMeta(m, "spec", "template")["annotations"] = map[string]any{"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z"}
	}
	for _, fields := range []provenance.FieldMode{provenance.FieldsStrict, provenance.FieldsDeclared} {
		ig := compiledIgnores(t)
		h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{protectedSnapshot(t)}, Checker: &provenance.Checker{Fields: fields, Ignores: ig},
			Controllers: ControllerChecker(ig), Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: &records{}}
		if resp := h.Handle(context.Background(), deploymentChange.with(admissionv1.Update, restart).admissionRequest(t, "dev-user")); !resp.Allowed {
			t.Errorf("%s: %s", fields, resp.Result.Message)
		}
	}
}

// TestEarlyCreateOfProtectedFields: a create of a declared object before
// the agent is held to the dry run of Git's manifest: a controller's in
// the fields it may not set where Git is silent, a person's in every
// field, allocated ones included. A controller creating a declared object
// with none of those fields needs no dry run.
func TestEarlyCreateOfProtectedFields(t *testing.T) {
	snapshot := protectedSnapshot(t)
	failing := fakeDefaults{err: errDryRunForbidden}
	asStored := func(js string, edit func(map[string]any)) fakeDefaults {
		return fakeDefaults{obj: decode(t, live(t, js, edit))}
	}
	headless := func(m map[string]any) {
		serviceSpec(m)["clusterIP"], serviceSpec(m)["clusterIPs"] = "None", []any{"None"}
	}
	tests := []struct {
		name        string
		user        string
		change      change
		defaults    Defaulter
		wantAllowed bool
		wantReason  provenance.Reason
	}{
		{name: "controller, a declared Deployment with hostPID", user: operator, change: deploymentChange.with(admissionv1.Create, hostPID),
			defaults: asStored(declaredDeployment, nil), wantReason: provenance.ReasonUndeclared},
		{name: "controller, a declared Service with externalIPs", user: operator, change: serviceChange.with(admissionv1.Create, func(m map[string]any) {
			serviceSpec(m)["externalIPs"] = []any{"1.2.3.4"}
		}), defaults: asStored(storedService, nil), wantReason: provenance.ReasonUndeclared},
		{name: "controller, a declared Deployment as the dry run makes it, annotated", user: operator, change: deploymentChange.with(admissionv1.Create, annotate),
			defaults: asStored(declaredDeployment, nil), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller, a declared Service on another address", user: operator, change: serviceChange.with(admissionv1.Create, nil),
			defaults: asStored(storedService, func(m map[string]any) {
				serviceSpec(m)["clusterIP"], serviceSpec(m)["clusterIPs"] = "10.0.0.99", []any{"10.0.0.99"}
			}),
			wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller, a declared Namespace, no dry run needed", user: operator, change: namespaceChange.with(admissionv1.Create, annotate),
			defaults: failing, wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "controller, a declared Deployment without its dry run", user: operator, change: deploymentChange.with(admissionv1.Create, nil),
			defaults: failing, wantReason: reasonNoDefaults},
		{name: "person, a declared Service headless", user: "dev-user", change: serviceChange.with(admissionv1.Create, headless),
			defaults: asStored(storedService, nil), wantReason: provenance.ReasonUndeclared},
		{name: "person, a declared Service on a chosen address", user: "dev-user", change: serviceChange.with(admissionv1.Create, func(m map[string]any) {
			m["metadata"].(map[string]any)["managedFields"] = []any{map[string]any{"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
				"fieldsType": "FieldsV1", "fieldsV1": map[string]any{"f:spec": map[string]any{"f:clusterIP": map[string]any{}}}}}
		}), defaults: asStored(storedService, nil), wantReason: provenance.ReasonUndeclared},
		{name: "person, a declared Service as the dry run makes it", user: "dev-user", change: serviceChange.with(admissionv1.Create, nil),
			defaults: asStored(storedService, nil), wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ig := compiledIgnores(t)
			recs := &records{}
			h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snapshot},
				Checker: &provenance.Checker{Ignores: ig}, Controllers: ControllerChecker(ig), Defaults: tt.defaults,
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: recs}
			checkControllerCase(t, h, recs, tt.change.admissionRequest(t, tt.user), tt.wantAllowed, tt.wantReason, nil)
		})
	}
}

var errDryRunForbidden = errors.New("dry run forbidden")
