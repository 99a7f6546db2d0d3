package fluxrender

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/fstest"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// varsubFiles are kustomize-controller's TestKustomizationReconciler_Varsub
// manifests.
var varsubFiles = map[string]string{
	"service-account.yaml": `apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
  namespace: shop
  labels:
    environment: ${env:=dev}
    region: "${_Region}"
    zone: "${zone}"
`,
	"secret.yaml": `apiVersion: v1
kind: Secret
metadata:
  name: zone
  namespace: shop
stringData:
  zone: ${zone}
`,
}

func saWant(zone string) string {
	return `
apiVersion: v1
kind: ServiceAccount
metadata:
  name: sa
  namespace: shop
  creationTimestamp: null
  labels: {environment: dev, region: eu-central-1, zone: "` + zone + `", ` + ownerInline + `}
`
}

// zoneSecretWant: kustomize-controller moves stringData to data before it
// applies (fluxcd/pkg/ssa normalize, kubernetes#108008).
func zoneSecretWant(b64 string) string {
	return `
apiVersion: v1
kind: Secret
metadata: {name: zone, namespace: shop, creationTimestamp: null, labels: {` + ownerInline + `}}
data: {zone: "` + b64 + `"}
`
}

func withPostBuild(sub map[string]string, from ...kustomizev1.SubstituteReference) kustomizev1.KustomizationSpec {
	return kustomizev1.KustomizationSpec{Path: "./", PostBuild: &kustomizev1.PostBuild{Substitute: sub, SubstituteFrom: from}}
}

// TestRenderSubstitution: postBuild.substitute and substituteFrom, with
// the values of kustomize-controller's varsub tests: a later source wins,
// new lines are dropped from values, ${var:=default} applies.
func TestRenderSubstitution(t *testing.T) {
	region := map[string]string{"_Region": "eu-central-1"}
	cm := kustomizev1.SubstituteReference{Kind: "ConfigMap", Name: "vars"}
	secret := kustomizev1.SubstituteReference{Kind: "Secret", Name: "secret-vars"}
	vars := []client.Object{cmObject("vars", map[string]string{"zone": "\naz-1a\n"}), secretObject("secret-vars", map[string]string{"zone": "\naz-1b\n"})}
	disabled := `apiVersion: v1
kind: ConfigMap
metadata:
  name: raw
  namespace: shop
  annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}
data: {zone: "${zone}"}
`
	runRenderCases(t, []renderCase{{
		name: "substitute", files: varsubFiles,
		spec: withPostBuild(map[string]string{"_Region": "eu-central-1", "zone": "az-0"}),
		want: saWant("az-0") + "---" + zoneSecretWant("YXotMA=="),
	}, {
		name: "substituteFrom a ConfigMap", files: varsubFiles, vars: vars,
		spec: withPostBuild(region, cm),
		want: saWant("az-1a") + "---" + zoneSecretWant("YXotMWE="),
	}, {
		name: "substituteFrom a ConfigMap and a Secret: the later wins", files: varsubFiles, vars: vars,
		spec: withPostBuild(region, cm, secret),
		want: saWant("az-1b") + "---" + zoneSecretWant("YXotMWI="),
	}, {
		name: "inline substitute wins over substituteFrom", files: varsubFiles, vars: vars,
		spec: withPostBuild(map[string]string{"_Region": "eu-central-1", "zone": "inline"}, secret),
		want: saWant("inline") + "---" + zoneSecretWant("aW5saW5l"),
	}, {
		name:  "optional and missing: skipped, an unset variable is empty",
		files: map[string]string{"service-account.yaml": varsubFiles["service-account.yaml"]},
		spec:  withPostBuild(region, kustomizev1.SubstituteReference{Kind: "ConfigMap", Name: "absent", Optional: true}),
		want:  saWant(""),
	}, {
		name: "not optional and missing: an error naming it", files: varsubFiles,
		spec:    withPostBuild(region, kustomizev1.SubstituteReference{Kind: "Secret", Name: "cluster-secrets"}),
		wantErr: `substitute from 'Secret/cluster-secrets' error: secrets "cluster-secrets" not found`,
	}, {
		name:  "substitution disabled by annotation",
		files: map[string]string{"raw.yaml": disabled, "service-account.yaml": varsubFiles["service-account.yaml"]},
		spec:  withPostBuild(map[string]string{"_Region": "eu-central-1", "zone": "az-0"}),
		want: saWant("az-0") + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: raw, namespace: shop, creationTimestamp: null, " +
			"annotations: {kustomize.toolkit.fluxcd.io/substitute: disabled}, labels: {" + ownerInline + "}}\ndata: {zone: \"${zone}\"}\n",
	}, {
		name:  "substitution disabled by label",
		files: map[string]string{"raw.yaml": strings.Replace(disabled, "annotations:", "labels:", 1)},
		spec:  withPostBuild(map[string]string{"zone": "az-0"}),
		want: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: raw, namespace: shop, creationTimestamp: null, " +
			"labels: {kustomize.toolkit.fluxcd.io/substitute: disabled, " + ownerInline + "}}\ndata: {zone: \"${zone}\"}\n",
	}, {
		// kustomize-controller TestKustomizationReconciler_VarsubAlways.
		name:  "no variables: nothing substituted unless the strategy is Always",
		files: map[string]string{"cm.yaml": configMapYAML("env", "shop", `  env: "${env:=dev}"`)},
		spec:  withPostBuild(nil),
		want:  cmWant("env", "shop", "", `env: "${env:=dev}"`),
	}, {
		name:  "strategy Always substitutes defaults",
		files: map[string]string{"cm.yaml": configMapYAML("env", "shop", `  env: "${env:=dev}"`)},
		spec: kustomizev1.KustomizationSpec{Path: "./", PostBuild: &kustomizev1.PostBuild{
			SubstituteStrategy: kustomizev1.SubstituteStrategyAlways}},
		want: cmWant("env", "shop", "", "env: dev"),
	}})
}

// TestRenderSubstituteFromNeedsReader: with substituteFrom and no reader,
// Render fails rather than render without the cluster's values.
func TestRenderSubstituteFromNeedsReader(t *testing.T) {
	src := fstest.MapFS{"sa.yaml": {Data: []byte(varsubFiles["service-account.yaml"])}}
	for _, optional := range []bool{false, true} {
		ks := &kustomizev1.Kustomization{Spec: withPostBuild(nil, kustomizev1.SubstituteReference{Kind: "ConfigMap", Name: "vars", Optional: optional})}
		if _, err := Render(context.Background(), src, ks, nil); !errors.Is(err, errNoReader) {
			t.Errorf("optional=%v: error %v, want %v", optional, err, errNoReader)
		}
	}
}

// TestRenderDecryption: with spec.decryption every Secret, and any object
// SOPS encrypted as a whole, is the agent's alone; Render keeps its
// identity and none of its data. decrypt: disabled opts out, as in
// kustomize-controller's decryptor.
func TestRenderDecryption(t *testing.T) {
	files := map[string]string{
		"secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n  labels: {app: db}\ntype: Opaque\ndata:\n  password: RU5DW0FFUzI1Nl9HQ00sZGF0YTpzZWNyZXRd\n",
		"plain.yaml":  "apiVersion: v1\nkind: Secret\nmetadata:\n  name: plain\n  namespace: shop\n  annotations: {kustomize.toolkit.fluxcd.io/decrypt: disabled}\ndata:\n  token: dG9rZW4=\n",
		"sops.yaml":   "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: enc\n  namespace: shop\ndata:\n  key: ENC[AES256_GCM,data:x]\nsops:\n  mac: ENC[AES256_GCM,data:y]\n",
		"cm.yaml":     configMapYAML("cm", "shop", "  key: a"),
	}
	sops := &kustomizev1.Decryption{Provider: "sops"}
	runRenderCases(t, []renderCase{{
		name: "decryption: Secrets and SOPS documents are agent-only", files: files,
		spec:      kustomizev1.KustomizationSpec{Path: "./", Decryption: sops},
		agentOnly: []string{"enc", "db"},
		want: `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop, creationTimestamp: null, labels: {app: db, ` + ownerInline + `}}
---
apiVersion: v1
kind: Secret
metadata: {name: plain, namespace: shop, creationTimestamp: null, annotations: {kustomize.toolkit.fluxcd.io/decrypt: disabled}, labels: {` + ownerInline + `}}
data: {token: dG9rZW4=}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: enc, namespace: shop, creationTimestamp: null, labels: {` + ownerInline + `}}
---` + cmWant("cm", "shop", "", "key: a"),
	}, {
		name: "no decryption: nothing is agent-only", files: map[string]string{"secret.yaml": files["secret.yaml"]},
		spec: kustomizev1.KustomizationSpec{Path: "./"},
		want: `
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: shop, creationTimestamp: null, labels: {app: db, ` + ownerInline + `}}
type: Opaque
data: {password: RU5DW0FFUzI1Nl9HQ00sZGF0YTpzZWNyZXRd}
`,
	}})
}
