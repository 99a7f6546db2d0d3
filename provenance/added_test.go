package provenance_test

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/compare"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// Git's new revision, which the agent has not applied yet: container web
// gains a securityContext, a container metrics and Pod template
// annotations are new, and the NetworkPolicy gains an ingress rule.
const addedRevision = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  template:
    metadata: {annotations: {prometheus.io/scrape: "true"}}
    spec:
      containers:
      - {name: web, image: "nginx:1.27", securityContext: {runAsNonRoot: true}}
      - {name: metrics, image: "exporter:2"}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: db, namespace: shop}
spec:
  podSelector: {matchLabels: {app: db}}
  ingress:
  - from: [{podSelector: {matchLabels: {app: web}}}]
  - from: [{podSelector: {matchLabels: {app: jobs}}}]
`

// The objects as the agent stored Git's previous revision, and as the API
// server makes Git's new one (its dry run, and a person's identical apply).
const (
	webBefore = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, uid: u},
  spec: {template: {spec: {containers: [{name: web, image: "nginx:1.27", imagePullPolicy: IfNotPresent}]}}}}`
	webAfter = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: shop, uid: u},
  spec: {template: {metadata: {annotations: {prometheus.io/scrape: "true"}}, spec: {containers: [
    {name: web, image: "nginx:1.27", imagePullPolicy: IfNotPresent, securityContext: {runAsNonRoot: true}},
    {name: metrics, image: "exporter:2", imagePullPolicy: IfNotPresent}]}}}}`
	dbBefore = `{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: db, namespace: shop, uid: u},
  spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress], ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}}`
	dbAfter = `{apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: db, namespace: shop, uid: u},
  spec: {podSelector: {matchLabels: {app: db}}, policyTypes: [Ingress], ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}, {from: [{podSelector: {matchLabels: {app: jobs}}}]}]}}`
)

// TestCheckAddedSubtree: Check leaves an update that adds a subtree below
// Git's declared fields, and sets there what Git does not declare, to the
// API server's defaults (needs-defaults); CheckAdded holds it to them.
// An update that adds nothing Git leaves out needs no defaults.
func TestCheckAddedSubtree(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.Scope{"Deployment.apps": true, "NetworkPolicy.networking.k8s.io": true},
		provenancetest.Revision("b"), map[string]string{"shop.yaml": addedRevision})
	person := &provenance.Checker{}
	controller := &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true}
	tests := []struct {
		name            string
		checker         *provenance.Checker
		kind, group     string
		old, obj        string
		want, wantAdded provenance.Reason // Check's reason; CheckAdded's with the defaults
		wantPaths       []string          // CheckAdded's diffs
	}{
		{name: "identical apply of Git's new revision", checker: person, kind: "Deployment", group: "apps", old: webBefore, obj: webAfter,
			want: provenance.ReasonNeedsDefaults, wantAdded: provenance.ReasonMatchesGit},
		{name: "privileges beside Git's runAsNonRoot", checker: person, kind: "Deployment", group: "apps", old: webBefore,
			obj:  strings.Replace(webAfter, "{runAsNonRoot: true}", "{runAsNonRoot: true, allowPrivilegeEscalation: true, capabilities: {add: [SYS_ADMIN]}}", 1),
			want: provenance.ReasonNeedsDefaults, wantAdded: provenance.ReasonUndeclared,
			wantPaths: []string{"spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation", "spec.template.spec.containers[name=web].securityContext.capabilities"}},
		{name: "a command and privileged in Git's new container", checker: person, kind: "Deployment", group: "apps", old: webBefore,
			obj:  strings.Replace(webAfter, `{name: metrics, image: "exporter:2",`, `{name: metrics, image: "exporter:2", command: [sh], securityContext: {privileged: true},`, 1),
			want: provenance.ReasonNeedsDefaults, wantAdded: provenance.ReasonUndeclared,
			wantPaths: []string{"spec.template.spec.containers[name=metrics].command", "spec.template.spec.containers[name=metrics].securityContext"}},
		{name: "an annotation beside Git's new Pod template annotations", checker: person, kind: "Deployment", group: "apps", old: webBefore,
			obj:  strings.Replace(webAfter, `{prometheus.io/scrape: "true"}`, `{prometheus.io/scrape: "true", sidecar.istio.io/inject: "false"}`, 1),
			want: provenance.ReasonNeedsDefaults, wantAdded: provenance.ReasonUndeclared,
			wantPaths: []string{`spec.template.metadata.annotations["sidecar.istio.io/inject"]`}},
		{name: "a controller's privileges beside Git's runAsNonRoot", checker: controller, kind: "Deployment", group: "apps", old: webBefore,
			obj:  strings.Replace(webAfter, "{runAsNonRoot: true}", "{runAsNonRoot: true, privileged: true}", 1),
			want: provenance.ReasonNeedsDefaults, wantAdded: provenance.ReasonUndeclared,
			wantPaths: []string{"spec.template.spec.containers[name=web].securityContext.privileged"}},
		{name: "an image changed too: refused without the defaults", checker: person, kind: "Deployment", group: "apps", old: webBefore,
			obj:  strings.Replace(strings.Replace(webAfter, "{runAsNonRoot: true}", "{runAsNonRoot: true, privileged: true}", 1), "exporter:2", "miner:1", 1),
			want: provenance.ReasonFieldMismatch, wantAdded: provenance.ReasonFieldMismatch,
			wantPaths: []string{"spec.template.spec.containers[name=metrics].image", "spec.template.spec.containers[name=web].securityContext.privileged"}},
		{name: "NetworkPolicy rule Git adds, as Git has it", checker: person, kind: "NetworkPolicy", group: "networking.k8s.io", old: dbBefore, obj: dbAfter,
			want: provenance.ReasonMatchesGit, wantAdded: provenance.ReasonMatchesGit},
		{name: "namespaceSelector on every peer as Git adds a rule", checker: person, kind: "NetworkPolicy", group: "networking.k8s.io", old: dbBefore,
			obj:  strings.ReplaceAll(dbAfter, "}}}]", "}}, namespaceSelector: {}}]"),
			want: provenance.ReasonNeedsDefaults, wantAdded: provenance.ReasonUndeclared,
			wantPaths: []string{"spec.ingress[0].from[0].namespaceSelector", "spec.ingress[1].from[0].namespaceSelector"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: provenance.Update, Group: tc.group, Version: "v1", Kind: tc.kind, Namespace: "shop",
				Name: map[string]string{"Deployment": "web", "NetworkPolicy": "db"}[tc.kind], OldObject: toMap(t, tc.old), Object: toMap(t, tc.obj)}
			if res := tc.checker.Check(snap, req); res.Reason != tc.want || res.Allowed != (tc.want == provenance.ReasonMatchesGit) {
				t.Fatalf("Check = %s (allowed %v) %v, want %s", res.Reason, res.Allowed, paths(res.Diffs), tc.want)
			}
			defaults := map[string]string{"Deployment": webAfter, "NetworkPolicy": dbAfter}[tc.kind]
			res := tc.checker.CheckAdded(snap, req, snap.Lookup(req.Key()), toMap(t, defaults))
			if res.Reason != tc.wantAdded || strings.Join(paths(res.Diffs), " ") != strings.Join(tc.wantPaths, " ") {
				t.Errorf("CheckAdded = %s %v, want %s %v", res.Reason, paths(res.Diffs), tc.wantAdded, tc.wantPaths)
			}
		})
	}
}

func paths(diffs []compare.Diff) []string {
	var out []string
	for _, d := range diffs {
		out = append(out, d.Path.String())
	}
	return out
}
