package provenance_test

import (
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// TestManagersKeepIdentityAndRouting: Argo CD's documented rule for every
// kind with kube-controller-manager frees no workload identity (a
// ServiceAccount's role annotation), no routing (an Ingress) and nothing
// in kube-system (EKS's aws-auth).
func TestManagersKeepIdentityAndRouting(t *testing.T) {
	const git = `
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop, annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::1:role/app"}}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  rules: [{host: shop.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: aws-auth, namespace: kube-system}
data: {mapRoles: "- rolearn: arn:aws:iam::1:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes]\n"}
`
	const op = "kube-controller-manager"
	rules := []provenance.IgnoreRule{
		{Kind: "ServiceAccount", ManagedFieldsManagers: []string{op}},
		{Group: "networking.k8s.io", Kind: "Ingress", ManagedFieldsManagers: []string{op}},
		{Kind: "ConfigMap", ManagedFieldsManagers: []string{op}},
	}
	ix := &provenance.Indexer{Scope: scope, Root: provenance.Root{Name: "Application argocd/shop"}}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "shop.yaml", Objects: provenancetest.Objects(t, git), ControllerIgnores: rules}})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	for _, tc := range []struct {
		name, group, kind, ns, nm, live, agentF, opF string
		edit                                         func(o map[string]any)
	}{
		{"ServiceAccount role-arn", "", "ServiceAccount", "shop", "app",
			`{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"app","namespace":"shop","resourceVersion":"5","annotations":{"eks.amazonaws.com/role-arn":"arn:aws:iam::1:role/app"}}}`,
			`{"f:metadata":{"f:annotations":{"f:eks.amazonaws.com/role-arn":{}}}}`, `{"f:metadata":{"f:annotations":{"f:eks.amazonaws.com/role-arn":{}}}}`,
			func(o map[string]any) {
				o["metadata"].(map[string]any)["annotations"] = map[string]any{"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/admin"}
			}},
		{"Ingress rules", "networking.k8s.io", "Ingress", "shop", "web",
			`{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"web","namespace":"shop","resourceVersion":"5"},"spec":{"rules":[{"host":"shop.example","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}`,
			`{"f:spec":{"f:rules":{}}}`, `{"f:spec":{"f:rules":{}}}`,
			func(o map[string]any) {
				o["spec"].(map[string]any)["rules"].([]any)[0].(map[string]any)["http"].(map[string]any)["paths"].([]any)[0].(map[string]any)["backend"] =
					map[string]any{"service": map[string]any{"name": "attacker", "port": map[string]any{"number": 80}}}
			}},
		{"aws-auth mapRoles", "", "ConfigMap", "kube-system", "aws-auth",
			`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"aws-auth","namespace":"kube-system","resourceVersion":"5"},"data":{"mapRoles":"- rolearn: arn:aws:iam::1:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes]\n"}}`,
			`{"f:data":{"f:mapRoles":{}}}`, `{"f:data":{"f:mapRoles":{}}}`,
			func(o map[string]any) {
				o["data"].(map[string]any)["mapRoles"] = "- rolearn: arn:aws:iam::1:role/mallory\n  username: mallory\n  groups: [system:masters]\n"
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := webhookLikeChecker(t, true)
			apiVersion := "v1"
			if tc.group != "" {
				apiVersion = tc.group + "/v1"
			}
			req := &provenance.Request{Operation: provenance.Update, Group: tc.group, Version: "v1", Kind: tc.kind, Namespace: tc.ns, Name: tc.nm,
				OldObjectRaw: liveObject(t, tc.live, []map[string]any{mf("argocd-controller", "", apiVersion, tc.agentF)}, nil),
				ObjectRaw:    liveObject(t, tc.live, []map[string]any{mf(op, "", apiVersion, tc.opF)}, tc.edit),
				Options:      []byte(`{"kind":"UpdateOptions","apiVersion":"meta.k8s.io/v1","fieldManager":"` + op + `"}`)}
			decodeRaw(t, req)
			if got := c.Check(snap, req); got.Allowed {
				t.Errorf("Check = %s: a controller calling itself %s changed %s", got.Reason, op, tc.name)
			}
		})
	}
}
