package provenance_test

import (
	"errors"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// conversions fakes provenance.Conversions: kinds by "Kind.group".
type conversions map[string]provenance.Conversion

func (c conversions) Conversion(gk schema.GroupKind) provenance.Conversion { return c[gk.String()] }

// fluxVersions declares a Kustomization as v1beta2 (older repositories
// still do) and an HPA as autoscaling/v2 with a memory metric, which
// autoscaling/v1 can only carry in an annotation.
const fluxVersions = `
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: fleet}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 10
  metrics: [{type: Resource, resource: {name: memory, target: {type: Utilization, averageUtilization: 80}}}]
`

// ks is the Kustomization as the API server serves it in version v.
func ks(v, annotations, prune string) string {
	return "apiVersion: kustomize.toolkit.fluxcd.io/" + v + "\nkind: Kustomization\n" +
		"metadata: {name: apps, namespace: flux-system, resourceVersion: '7'" + annotations + "}\n" +
		"spec: {interval: 10m, path: ./apps, prune: " + prune + ", sourceRef: {kind: GitRepository, name: fleet}}"
}

const requestedAt = ", annotations: {reconcile.fluxcd.io/requestedAt: '2026-11-26T12:00:00Z'}"

func TestCheckAcrossVersions(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"flux.yaml": fluxVersions})
	none := conversions{"Kustomization.kustomize.toolkit.fluxcd.io": provenance.ConversionNone}
	ksReq := provenance.Request{Operation: provenance.Update, Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Kind: "Kustomization", Namespace: "flux-system", Name: "apps"}
	create := ksReq
	create.Operation = provenance.Create
	for _, tc := range []struct {
		name        string
		conversions provenance.Conversions
		req         provenance.Request
		old, obj    string
		wantReason  provenance.Reason
	}{
		{"flux reconcile through v1, versions differ in apiVersion alone", none, ksReq,
			ks("v1", "", "true"), ks("v1", requestedAt, "true"), provenance.ReasonMatchesGit},
		{"a spec change through v1 is still compared", none, ksReq,
			ks("v1", "", "true"), ks("v1", "", "false"), provenance.ReasonFieldMismatch},
		{"a field Git declares, missing in v1, is missing", none, ksReq,
			ks("v1", "", "true"), strings.Replace(ks("v1", "", "true"), "path: ./apps, ", "", 1), provenance.ReasonFieldMismatch},
		{"a create through v1 holds to Git's manifest", none, create,
			"", ks("v1", "", "true"), provenance.ReasonMatchesGit},
		{"without conversions, refused", nil, ksReq,
			ks("v1", "", "true"), ks("v1", requestedAt, "true"), provenance.ReasonVersionMismatch},
		{"a CRD with a conversion webhook is not rewritten", conversions{"Kustomization.kustomize.toolkit.fluxcd.io": provenance.ConversionWebhook}, ksReq,
			ks("v1", "", "true"), ks("v1", requestedAt, "true"), provenance.ReasonVersionMismatch},
		{"a kind gitgate knows nothing of", conversions{}, ksReq,
			ks("v1", "", "true"), ks("v1", requestedAt, "true"), provenance.ReasonVersionMismatch},
		{"Git's own version needs no conversion", nil, ksReq,
			ks("v1beta2", "", "true"), ks("v1beta2", requestedAt, "true"), provenance.ReasonMatchesGit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &provenance.Checker{Conversions: tc.conversions, Ignores: builtinIgnores(t)}
			req := tc.req
			req.Object = toMap(t, tc.obj)
			if tc.old != "" {
				req.OldObject = toMap(t, tc.old)
			}
			if got := c.Check(snap, &req); got.Reason != tc.wantReason || got.Allowed != (tc.wantReason == provenance.ReasonMatchesGit) {
				t.Errorf("Check = %v %s %v, want %s", got.Allowed, got.Reason, got.Diffs, tc.wantReason)
			}
		})
	}
}

func TestCheckDefaultsAcrossVersions(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"flux.yaml": fluxVersions})
	entry := snap.Lookup(provenance.Key{Group: "kustomize.toolkit.fluxcd.io", Kind: "Kustomization", Namespace: "flux-system", Name: "apps"})
	defaulted := toMap(t, ks("v1beta2", "", "true"))
	for _, tc := range []struct {
		name string
		conv provenance.Conversion
		obj  string
		want provenance.Reason
	}{
		{"versions differ in apiVersion alone", provenance.ConversionNone, ks("v1", "", "true"), provenance.ReasonMatchesGit},
		{"an addition through v1 is still one", provenance.ConversionNone, strings.Replace(ks("v1", "", "true"), "prune: true", "prune: true, suspend: true", 1), provenance.ReasonUndeclared},
		{"versions converted field by field", provenance.ConversionWebhook, ks("v1", "", "true"), provenance.ReasonVersionMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &provenance.Checker{Conversions: conversions{"Kustomization.kustomize.toolkit.fluxcd.io": tc.conv}, Ignores: builtinIgnores(t)}
			if got := c.CheckDefaults(entry, defaulted, toMap(t, tc.obj)); got.Reason != tc.want {
				t.Errorf("CheckDefaults = %s %v, want %s", got.Reason, got.Diffs, tc.want)
			}
		})
	}
}

// hpaV1 is Git's HPA as autoscaling/v1 serves it: the memory metric, which
// v1 has no field for, rides in an annotation.
func hpaV1(annotations, target string) string {
	return `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"shop","resourceVersion":"9",` +
		`"annotations":{"autoscaling.alpha.kubernetes.io/metrics":"[{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]"` + annotations + `}},` +
		`"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10` + target + `}}`
}

// hpaV2 is the same HPA read as autoscaling/v2, with metric m.
func hpaV2(rv, m string) string {
	return `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"shop","resourceVersion":"` + rv + `"},` +
		`"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10,` +
		`"metrics":[{"type":"Resource","resource":{"name":"` + m + `","target":{"type":"Utilization","averageUtilization":80}}}]}}`
}

func TestInStoredVersion(t *testing.T) {
	snap := provenancetest.Snapshot(t, provenancetest.AnyKind{}, provenancetest.Revision("a"), map[string]string{"flux.yaml": fluxVersions})
	hpa := provenance.Request{Operation: provenance.Update, Group: "autoscaling", Version: "v1", Kind: "HorizontalPodAutoscaler", Namespace: "shop", Name: "web"}
	const annotate = `,"reconcile.fluxcd.io/requestedAt":"now"`
	for _, tc := range []struct {
		name     string
		conv     provenance.Conversion
		op       provenance.Operation
		old, obj string
		stored   string
		wantErr  error
		// want is the verdict on the update in Git's version.
		want provenance.Reason
	}{
		{name: "an annotation through v1 is judged in v2", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: hpaV1(annotate, ""), stored: hpaV2("9", "memory"), want: provenance.ReasonMatchesGit},
		{name: "a label through v1 is a label in v2", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: strings.Replace(hpaV1("", ""), `"resourceVersion":"9",`, `"resourceVersion":"9","labels":{"team":"x"},`, 1), stored: hpaV2("9", "memory"), want: provenance.ReasonUndeclared},
		{name: "the object drifted from Git in v2: refused as through v2", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: hpaV1(annotate, ""), stored: hpaV2("9", "cpu"), want: provenance.ReasonFieldMismatch},
		{name: "v2's metrics smuggled through v1's annotation", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: strings.Replace(hpaV1("", ""), `\"memory\"`, `\"cpu\"`, 1), stored: hpaV2("9", "memory"), wantErr: provenance.ErrNotConvertible},
		{name: "v2's metrics dropped through v1's annotation", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"shop","resourceVersion":"9"},"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10}}`,
			stored: hpaV2("9", "memory"), wantErr: provenance.ErrNotConvertible},
		{name: "a v1 field: targetCPUUtilizationPercentage", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: hpaV1("", `,"targetCPUUtilizationPercentage":50`), stored: hpaV2("9", "memory"), wantErr: provenance.ErrNotConvertible},
		{name: "the object changed in between", conv: provenance.ConversionBuiltin,
			old: hpaV1("", ""), obj: hpaV1(annotate, ""), stored: hpaV2("10", "memory"), wantErr: provenance.ErrStoredChanged},
		{name: "a create has nothing stored", conv: provenance.ConversionBuiltin, op: provenance.Create,
			obj: hpaV1("", ""), stored: hpaV2("9", "memory"), wantErr: provenance.ErrNotConvertible},
		{name: "a conversion webhook may read annotations", conv: provenance.ConversionWebhook,
			old: hpaV1("", ""), obj: hpaV1(annotate, ""), stored: hpaV2("9", "memory"), wantErr: provenance.ErrNotConvertible},
		{name: "a conversion webhook keeps finalizers", conv: provenance.ConversionWebhook,
			old:    strings.Replace(hpaV1("", ""), `"resourceVersion":"9",`, `"resourceVersion":"9","deletionTimestamp":"2026-01-01T00:00:00Z","finalizers":["x"],`, 1),
			obj:    strings.Replace(hpaV1("", ""), `"resourceVersion":"9",`, `"resourceVersion":"9","deletionTimestamp":"2026-01-01T00:00:00Z",`, 1),
			stored: strings.Replace(hpaV2("9", "memory"), `"resourceVersion":"9"`, `"resourceVersion":"9","deletionTimestamp":"2026-01-01T00:00:00Z","finalizers":["x"]`, 1), want: provenance.ReasonFinishingDeletion},
		{name: "unknown conversion", conv: provenance.ConversionUnknown,
			old: hpaV1("", ""), obj: hpaV1(annotate, ""), stored: hpaV2("9", "memory"), wantErr: provenance.ErrNotConvertible},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := hpa
			if tc.op != "" {
				req.Operation = tc.op
			}
			req.Object = toMap(t, tc.obj)
			if tc.old != "" {
				req.OldObject = toMap(t, tc.old)
			}
			if got := (&provenance.Checker{}).Check(snap, &req); got.Reason != provenance.ReasonVersionMismatch {
				t.Fatalf("through v1 without the stored object: %s, want version-mismatch", got.Reason)
			}
			inGit, err := provenance.InStoredVersion(&req, toMap(t, tc.stored), tc.conv)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("InStoredVersion error = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if inGit.Version != "v2" || apiVersion(inGit.Object) != "autoscaling/v2" {
				t.Errorf("converted request is %s / %s, want v2", inGit.Version, apiVersion(inGit.Object))
			}
			if got := (&provenance.Checker{Ignores: builtinIgnores(t)}).Check(snap, inGit); got.Reason != tc.want {
				t.Errorf("Check in Git's version = %s %v, want %s", got.Reason, got.Diffs, tc.want)
			}
		})
	}
}

func builtinIgnores(t *testing.T) *provenance.Ignores {
	t.Helper()
	ig, err := provenance.CompileIgnores(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ig
}

func apiVersion(obj map[string]any) string {
	v, _ := obj["apiVersion"].(string)
	return v
}
