package provenance_test

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// allocatedRepo declares Services and a claim whose allocated fields Git
// leaves to the API server, and one headless Service Git pins.
const allocatedRepo = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: peers, namespace: shop}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: shop}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
`

// What the API server makes of allocatedRepo's manifests (a dry run): the
// addresses and ports it allocated for them.
const (
	webDefaulted = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  type: ClusterIP
  sessionAffinity: None
  clusterIP: 10.0.0.17
  clusterIPs: [10.0.0.17]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  internalTrafficPolicy: Cluster
  selector: {app: web}
  ports: [{port: 80, protocol: TCP, targetPort: 8080}]
`
	peersDefaulted = `
apiVersion: v1
kind: Service
metadata: {name: peers, namespace: shop}
spec:
  type: ClusterIP
  sessionAffinity: None
  clusterIP: None
  clusterIPs: [None]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  internalTrafficPolicy: Cluster
  selector: {app: db}
  ports: [{port: 5432, protocol: TCP, targetPort: 5432}]
`
	edgeDefaulted = `
apiVersion: v1
kind: Service
metadata: {name: edge, namespace: shop}
spec:
  type: NodePort
  sessionAffinity: None
  externalTrafficPolicy: Cluster
  clusterIP: 10.0.0.18
  clusterIPs: [10.0.0.18]
  ipFamilies: [IPv4]
  ipFamilyPolicy: SingleStack
  internalTrafficPolicy: Cluster
  selector: {app: web}
  ports: [{port: 80, protocol: TCP, targetPort: 8080, nodePort: 30001}]
`
	dataDefaulted = `
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: shop}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, volumeMode: Filesystem}
`
)

// TestCreateLeavesAllocatedFieldsToTheAPIServer: a person's create before
// the agent may not choose what the API server allocates and never lets
// go of (a headless Service, an address, a node port, a bound volume)
// where Git leaves it to the API server; another allocation than the dry
// run's is no difference.
func TestCreateLeavesAllocatedFieldsToTheAPIServer(t *testing.T) {
	snap := provenancetest.Snapshot(t, scope, provenancetest.Revision("a"), map[string]string{"shop.yaml": allocatedRepo})
	ignores, err := provenance.CompileIgnores(nil)
	if err != nil {
		t.Fatal(err)
	}
	checker := &provenance.Checker{Ignores: ignores}
	tests := []struct {
		name      string
		defaulted string
		// edit rewrites the dry run's object into the request.
		edit func(string) string
		// sent is the request's managedFields' fieldsV1: what the caller
		// sent, as the API server records it before allocating.
		sent     string
		wantPath string // "" wants the create allowed
	}{
		{name: "another address than the dry run's", defaulted: webDefaulted,
			edit: func(s string) string { return strings.ReplaceAll(s, "10.0.0.17", "10.0.0.99") }},
		{name: "left to the API server, as kubectl create records it", defaulted: webDefaulted,
			sent: `{"f:spec": {"f:selector": {}, "f:ports": {}}}`},
		{name: "headless where Git allocates", defaulted: webDefaulted, wantPath: "spec.clusterIP",
			edit: func(s string) string { return strings.ReplaceAll(s, "10.0.0.17", "None") }},
		{name: "a chosen address", defaulted: webDefaulted, wantPath: "spec.clusterIP",
			sent: `{"f:spec": {"f:clusterIP": {}}}`},
		{name: "chosen addresses", defaulted: webDefaulted, wantPath: "spec.clusterIPs",
			sent: `{"f:spec": {"f:clusterIPs": {}}}`},
		{name: "headless as Git declares", defaulted: peersDefaulted},
		{name: "another node port than the dry run's", defaulted: edgeDefaulted,
			edit: func(s string) string { return strings.ReplaceAll(s, "30001", "31999") }},
		{name: "a chosen node port", defaulted: edgeDefaulted, wantPath: "nodePort",
			sent: `{"f:spec": {"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {"f:nodePort": {}}}}}`},
		{name: "a health check node port the dry run has not", defaulted: edgeDefaulted, wantPath: "spec.healthCheckNodePort",
			edit: func(s string) string {
				return strings.Replace(s, "type: NodePort", "type: NodePort\n  healthCheckNodePort: 32000", 1)
			}},
		{name: "a claim as the dry run makes it", defaulted: dataDefaulted},
		{name: "a claim bound to a chosen volume", defaulted: dataDefaulted, wantPath: "spec.volumeName",
			edit: func(s string) string {
				return strings.Replace(s, "volumeMode: Filesystem", "volumeMode: Filesystem, volumeName: pv-of-another", 1)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defaulted := toMap(t, tt.defaulted)
			req := tt.defaulted
			if tt.edit != nil {
				req = tt.edit(req)
			}
			obj := toMap(t, req)
			meta := obj["metadata"].(map[string]any)
			if tt.sent != "" {
				meta["managedFields"] = []any{map[string]any{"manager": "kubectl-create", "operation": "Update", "fieldsType": "FieldsV1",
					"fieldsV1": toMap(t, tt.sent)}}
			}
			entry := snap.Lookup(provenance.Key{Kind: obj["kind"].(string), Namespace: "shop", Name: meta["name"].(string)})
			if entry == nil {
				t.Fatal("not declared")
			}
			res := checker.CheckDefaults(entry, defaulted, obj)
			if tt.wantPath == "" {
				if !res.Allowed {
					t.Fatalf("refused: %s %v", res.Reason, res.Diffs)
				}
				return
			}
			if res.Allowed || res.Reason != provenance.ReasonUndeclared || len(res.Diffs) == 0 || !strings.Contains(res.Diffs[0].Path.String(), tt.wantPath) {
				t.Fatalf("result = %v %s %v, want undeclared-change at %s", res.Allowed, res.Reason, res.Diffs, tt.wantPath)
			}
		})
	}
}
