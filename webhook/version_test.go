package webhook

import (
	"context"
	"errors"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// kindConversions fakes provenance.Conversions: kinds by "Kind.group".
type kindConversions map[string]provenance.Conversion

func (c kindConversions) Conversion(gk schema.GroupKind) provenance.Conversion { return c[gk.String()] }

// storedObjects fakes StoredReader with one answer, and counts the reads.
type storedObjects struct {
	obj   string
	err   error
	reads *int
}

func (s storedObjects) Stored(_ context.Context, gvk schema.GroupVersionKind, _, _ string) (map[string]any, error) {
	*s.reads++
	if s.err != nil {
		return nil, s.err
	}
	return provenance.DecodeObject([]byte(strings.Replace(s.obj, "autoscaling/v2", gvk.GroupVersion().String(), 1)))
}

const (
	gitHPA = `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"shop"},
		"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10,
		"metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"Utilization","averageUtilization":80}}}]}}`
	storedHPA = `{"apiVersion":"autoscaling/v2","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"shop","resourceVersion":"7"},
		"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10,
		"metrics":[{"type":"Resource","resource":{"name":"memory","target":{"type":"Utilization","averageUtilization":80}}}]}}`
	// v1HPA is the stored HPA as autoscaling/v1 serves it: the memory
	// metric rides in an annotation.
	v1HPA = `{"apiVersion":"autoscaling/v1","kind":"HorizontalPodAutoscaler","metadata":{"name":"web","namespace":"shop","resourceVersion":"7",
		"annotations":{"autoscaling.alpha.kubernetes.io/metrics":"[{\"type\":\"Resource\",\"resource\":{\"name\":\"memory\",\"target\":{\"type\":\"Utilization\",\"averageUtilization\":80}}}]"ANN}},
		"spec":{"scaleTargetRef":{"apiVersion":"apps/v1","kind":"Deployment","name":"web"},"minReplicas":2,"maxReplicas":10}}`
	gitKustomization = `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1beta2","kind":"Kustomization","metadata":{"name":"apps","namespace":"shop"},
		"spec":{"interval":"10m","path":"./apps","prune":true,"sourceRef":{"kind":"GitRepository","name":"fleet"}}}`
	v1Kustomization = `{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","metadata":{"name":"apps","namespace":"shop","resourceVersion":"7"ANN},
		"spec":{"interval":"10m","path":"./apps","prune":true,"sourceRef":{"kind":"GitRepository","name":"fleet"}}}`
)

func versionSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: clusterScope{}, DefaultNamespace: "default"}
	s, err := ix.Build(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"}, []provenance.File{
		{Path: "shop/hpa.yaml", Objects: []map[string]any{object(t, gitHPA)}},
		{Path: "shop/flux.yaml", Objects: []map[string]any{object(t, gitKustomization)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s.Snapshot()
}

// v1Update is a person's UPDATE through group/v1 from old to obj.
func v1Update(group, kind, resource, old, obj string) admission.Request {
	return admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
		UID: "uid-1", Operation: admissionv1.Update, Namespace: "shop", Name: "web",
		Kind:      metav1.GroupVersionKind{Group: group, Version: "v1", Kind: kind},
		Resource:  metav1.GroupVersionResource{Group: group, Version: "v1", Resource: resource},
		UserInfo:  authenticationv1.UserInfo{Username: "dev-user", Groups: []string{"system:authenticated"}},
		OldObject: runtime.RawExtension{Raw: []byte(old)},
		Object:    runtime.RawExtension{Raw: []byte(obj)},
	}}
}

// TestUpdateInAnotherVersion: an update through another version than
// Git's is judged in Git's version where gitgate can convert it, and
// refused as version-mismatch, saying why, where it cannot.
func TestUpdateInAnotherVersion(t *testing.T) {
	snap := versionSnapshot(t)
	hpa := func(old, obj string) admission.Request {
		r := v1Update("autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", old, obj)
		return r
	}
	ks := func(old, obj string) admission.Request {
		r := v1Update("kustomize.toolkit.fluxcd.io", "Kustomization", "kustomizations", old, obj)
		r.Name = "apps"
		return r
	}
	plain := strings.Replace(v1HPA, "ANN", "", 1)
	annotated := strings.Replace(v1HPA, "ANN", `,"reconcile.fluxcd.io/requestedAt":"now"`, 1)
	builtin := kindConversions{"HorizontalPodAutoscaler.autoscaling": provenance.ConversionBuiltin, "Kustomization.kustomize.toolkit.fluxcd.io": provenance.ConversionNone}
	for _, tc := range []struct {
		name        string
		req         admission.Request
		conversions provenance.Conversions
		stored      storedObjects
		wantAllowed bool
		wantReason  provenance.Reason
		wantMessage string
		wantReads   int
	}{
		{name: "an annotation through autoscaling/v1, judged in v2", req: hpa(plain, annotated), conversions: builtin,
			stored: storedObjects{obj: storedHPA}, wantAllowed: true, wantReason: provenance.ReasonMatchesGit, wantReads: 1},
		{name: "v2's metric changed through v1's annotation", req: hpa(plain, strings.Replace(plain, `\"memory\"`, `\"cpu\"`, 1)), conversions: builtin,
			stored: storedObjects{obj: storedHPA}, wantReason: provenance.ReasonVersionMismatch, wantReads: 1,
			wantMessage: "annotation autoscaling.alpha.kubernetes.io/metrics carries fields of another version); resend it as autoscaling/v2"},
		{name: "a spec change through v1", req: hpa(plain, strings.Replace(plain, `"maxReplicas":10`, `"maxReplicas":50`, 1)), conversions: builtin,
			stored: storedObjects{obj: storedHPA}, wantReason: provenance.ReasonVersionMismatch, wantReads: 1, wantMessage: "changes metadata the conversion copies unchanged"},
		{name: "the object cannot be read in Git's version", req: hpa(plain, annotated), conversions: builtin,
			stored: storedObjects{err: errors.New("forbidden")}, wantReason: provenance.ReasonVersionMismatch, wantReads: 1, wantMessage: "(forbidden)"},
		{name: "a kind gitgate cannot convert", req: hpa(plain, annotated), conversions: kindConversions{},
			stored: storedObjects{obj: storedHPA}, wantReason: provenance.ReasonVersionMismatch, wantMessage: "does not know how the API server converts this kind"},
		{name: "flux reconcile through v1 of a Kustomization Git declares as v1beta2", conversions: builtin,
			req:    ks(strings.Replace(v1Kustomization, "ANN", "", 1), strings.Replace(v1Kustomization, "ANN", `,"annotations":{"reconcile.fluxcd.io/requestedAt":"now"}`, 1)),
			stored: storedObjects{obj: storedHPA}, wantAllowed: true, wantReason: provenance.ReasonMatchesGit},
		{name: "a Kustomization's spec through v1", conversions: builtin,
			req:    ks(strings.Replace(v1Kustomization, "ANN", "", 1), strings.Replace(strings.Replace(v1Kustomization, "ANN", "", 1), `"prune":true`, `"prune":false`, 1)),
			stored: storedObjects{obj: storedHPA}, wantReason: reasonAgentToken, wantMessage: "tells the GitOps agent what to apply"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ig, err := provenance.CompileIgnores(nil)
			if err != nil {
				t.Fatal(err)
			}
			reads := 0
			tc.stored.reads = &reads
			h := &Handler{
				Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: fixedSnap{snap},
				Checker:     &provenance.Checker{Ignores: ig, Conversions: tc.conversions},
				Conversions: tc.conversions, Stored: tc.stored,
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: &records{},
			}
			d := h.Decide(context.Background(), tc.req)
			if d.Allowed != tc.wantAllowed || d.Reason != tc.wantReason {
				t.Errorf("Decide = %v %s, want %v %s\n%s", d.Allowed, d.Reason, tc.wantAllowed, tc.wantReason, d.Message)
			}
			if !strings.Contains(d.Message, tc.wantMessage) {
				t.Errorf("message lacks %q:\n%s", tc.wantMessage, d.Message)
			}
			if reads != tc.wantReads {
				t.Errorf("read the stored object %d times, want %d", reads, tc.wantReads)
			}
		})
	}
}
