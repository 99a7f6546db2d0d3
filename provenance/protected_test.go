package provenance_test

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

const protectedRepo = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "migrate:1"}]
`

// TestControllerProtectedPaths: the controller rule refuses a change of a
// protected field Git does not declare, also below a part of the path
// Git leaves out (a Job's Pod template without metadata), and leaves the
// rest of a declared object to the controller.
func TestControllerProtectedPaths(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.Scope{"Service": true, "Job.batch": true}, provenancetest.Revision("p"), map[string]string{"shop.yaml": protectedRepo})
	controller := &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true}
	const storedService = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {type: ClusterIP, clusterIP: 10.0.0.3, selector: {app: web}, ports: [{port: 80, protocol: TCP}]}
`
	const storedJob = `
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: "migrate:1"}]
`
	tests := []struct {
		name, group, kind, old, obj string
		wantAllowed                 bool
	}{
		{name: "externalIPs", kind: "Service", old: storedService,
			obj: `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {type: ClusterIP, clusterIP: 10.0.0.3, externalIPs: [1.2.3.4], selector: {app: web}, ports: [{port: 80, protocol: TCP}]}}`},
		{name: "type removed", kind: "Service", old: storedService,
			obj: `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop}, spec: {clusterIP: 10.0.0.3, selector: {app: web}, ports: [{port: 80, protocol: TCP}]}}`},
		{name: "an annotation", kind: "Service", old: storedService, wantAllowed: true,
			obj: `{apiVersion: v1, kind: Service, metadata: {name: web, namespace: shop, annotations: {a: b}}, spec: {type: ClusterIP, clusterIP: 10.0.0.3, selector: {app: web}, ports: [{port: 80, protocol: TCP}]}}`},
		{name: "a label on a Pod template Git gives no metadata", group: "batch", kind: "Job", old: storedJob,
			obj: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, namespace: shop}, spec: {template: {metadata: {labels: {a: b}}, spec: {restartPolicy: Never, containers: [{name: migrate, image: "migrate:1"}]}}}}`},
		{name: "a Job's own label", group: "batch", kind: "Job", old: storedJob, wantAllowed: true,
			obj: `{apiVersion: batch/v1, kind: Job, metadata: {name: migrate, namespace: shop, labels: {a: b}}, spec: {template: {spec: {restartPolicy: Never, containers: [{name: migrate, image: "migrate:1"}]}}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := toMap(t, tt.obj)
			name := obj["metadata"].(map[string]any)["name"].(string)
			res := controller.Check(snap, &provenance.Request{Operation: provenance.Update, Group: tt.group, Version: "v1", Kind: tt.kind,
				Namespace: "shop", Name: name, OldObject: toMap(t, tt.old), Object: obj})
			if res.Allowed != tt.wantAllowed || !tt.wantAllowed && res.Reason != provenance.ReasonUndeclared {
				t.Fatalf("result = %v %s %v, want allowed %v (or undeclared-change)", res.Allowed, res.Reason, res.Diffs, tt.wantAllowed)
			}
		})
	}
}

const gitOpsRepo = `
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: fleet}}
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: shop, namespace: argocd}
spec: {project: default, source: {repoURL: "https://git.example/fleet.git", path: shop}, destination: {namespace: shop}}
`

// TestControllerCreateOfGitOpsObject: a controller's create of a declared
// GitOps object is held to the dry run of Git's manifest in every field
// but metadata and status, not only in a workload's protected fields.
func TestControllerCreateOfGitOpsObject(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("g"), map[string]string{"flux.yaml": gitOpsRepo})
	controller := &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true}
	const (
		ks  = `{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, metadata: {name: apps, namespace: flux-system}, spec: {interval: 10m, path: ./apps, prune: true, force: false, sourceRef: {kind: GitRepository, name: fleet}}}`
		app = `{apiVersion: argoproj.io/v1alpha1, kind: Application, metadata: {name: shop, namespace: argocd}, spec: {project: default, source: {repoURL: "https://git.example/fleet.git", path: shop}, destination: {namespace: shop}}}`
	)
	tests := []struct {
		name, kind, defaulted, obj string
		wantPath                   string // "" wants the create allowed
	}{
		{name: "as the dry run makes it", kind: "Kustomization", defaulted: ks, obj: ks},
		{name: "annotated, with a status", kind: "Kustomization", defaulted: ks,
			obj: `{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, metadata: {name: apps, namespace: flux-system, annotations: {a: b}}, spec: {interval: 10m, path: ./apps, prune: true, force: false, sourceRef: {kind: GitRepository, name: fleet}}, status: {observedGeneration: 1}}`},
		{name: "spec.patches", kind: "Kustomization", defaulted: ks, wantPath: "spec.patches",
			obj: `{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, metadata: {name: apps, namespace: flux-system}, spec: {interval: 10m, path: ./apps, prune: true, force: false, sourceRef: {kind: GitRepository, name: fleet}, patches: [{patch: "x"}]}}`},
		{name: "spec.postBuild", kind: "Kustomization", defaulted: ks, wantPath: "spec.postBuild",
			obj: `{apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, metadata: {name: apps, namespace: flux-system}, spec: {interval: 10m, path: ./apps, prune: true, force: false, sourceRef: {kind: GitRepository, name: fleet}, postBuild: {substitute: {a: b}}}}`},
		{name: "operation.sync.manifests", kind: "Application", defaulted: app, wantPath: "operation",
			obj: `{apiVersion: argoproj.io/v1alpha1, kind: Application, metadata: {name: shop, namespace: argocd}, spec: {project: default, source: {repoURL: "https://git.example/fleet.git", path: shop}, destination: {namespace: shop}}, operation: {sync: {manifests: ["kind: Pod"]}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := toMap(t, tt.obj)
			meta := obj["metadata"].(map[string]any)
			group, _, _ := strings.Cut(obj["apiVersion"].(string), "/")
			entry := snap.Lookup(provenance.Key{Group: group, Kind: tt.kind, Namespace: meta["namespace"].(string), Name: meta["name"].(string)})
			if entry == nil {
				t.Fatal("not declared")
			}
			res := controller.CheckDefaults(entry, toMap(t, tt.defaulted), obj)
			if tt.wantPath == "" {
				if !res.Allowed {
					t.Fatalf("refused: %s %v", res.Reason, res.Diffs)
				}
				return
			}
			if res.Allowed || res.Reason != provenance.ReasonUndeclared || len(res.Diffs) == 0 || !strings.HasPrefix(res.Diffs[0].Path.String(), tt.wantPath) {
				t.Fatalf("result = %v %s %v, want undeclared-change at %s", res.Allowed, res.Reason, res.Diffs, tt.wantPath)
			}
		})
	}
}
