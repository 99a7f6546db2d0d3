package provenance_test

import (
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
