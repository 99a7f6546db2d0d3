package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	gort "runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
)

// largeConfigMap is a ConfigMap of about size bytes of data in 500-byte
// values.
func largeConfigMap(size int) map[string]any {
	data := map[string]any{}
	for i := 0; i*500 < size; i++ {
		data[fmt.Sprintf("key-%05d", i)] = strings.Repeat("v", 490) + fmt.Sprintf("%010d", i)
	}
	return map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "big", "namespace": "shop"}, "data": data}
}

// BenchmarkLargeObject is a person's UPDATE of a 1 MB ConfigMap Git
// declares, sent back unchanged (it matches Git): the whole path from the
// request's bytes to the response's, as the API server sends it (object and
// oldObject, 2 MB). B/op bounds the memory one such request holds.
func BenchmarkLargeObject(b *testing.B) {
	server, body := largeObjectServer(b)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serveOnce(b, server, body)
	}
	b.ReportMetric(float64(len(body)), "body-bytes")
}

// largeObjectServer is the webhook's HTTP path over a snapshot declaring a
// 1 MB ConfigMap, and an AdmissionReview updating it unchanged.
func largeObjectServer(b *testing.B) (http.Handler, []byte) {
	const size = 1 << 20
	ix := &provenance.Indexer{Scope: namespacedScope{}, DefaultNamespace: "default"}
	snap, err := ix.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("c", 40)}, []provenance.File{{Path: "big.yaml", Objects: []map[string]any{largeConfigMap(size)}}})
	if err != nil {
		b.Fatal(err)
	}
	store := &provenance.Store{}
	store.Swap(snap.Snapshot())
	h := &Handler{Identities: DefaultIdentities(), Skip: DefaultSkip(), Snapshots: store, Checker: &provenance.Checker{}, Repo: Repo{URL: "https://git.example/fleet.git"}}
	obj, err := json.Marshal(largeConfigMap(size))
	if err != nil {
		b.Fatal(err)
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "u-1", Operation: admissionv1.Update, Namespace: "shop", Name: "big",
			Kind:     metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"},
			UserInfo: authenticationv1.UserInfo{Username: "dev-user"},
			Object:   runtime.RawExtension{Raw: obj}, OldObject: runtime.RawExtension{Raw: obj},
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return LimitBody(WithHTTPStatus(&admission.Webhook{Handler: h}), DefaultMaxRequestBytes), body
}

func serveOnce(b *testing.B, server http.Handler, body []byte) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	server.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
		b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
	}
}

// BenchmarkLargeObjectPeakHeap estimates the memory one 1 MB request holds
// at once: with the garbage collector at GOGC=10, the heap stays close to
// what is live, and a sampler records its highest point above the heap
// before the request. It reports peak-bytes and peak-x-body.
func BenchmarkLargeObjectPeakHeap(b *testing.B) {
	server, body := largeObjectServer(b)
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	for i := 0; i < b.N; i++ {
		gort.GC()
		metrics.Read(sample)
		base := sample[0].Value.Uint64()
		done := make(chan struct{})
		top := base
		go func() {
			s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
			for {
				select {
				case <-done:
					return
				default:
				}
				metrics.Read(s)
				if v := s[0].Value.Uint64(); v > top {
					top = v
				}
			}
		}()
		serveOnce(b, server, body)
		close(done)
		if top-base > peak {
			peak = top - base
		}
	}
	b.ReportMetric(float64(peak), "peak-bytes")
	b.ReportMetric(float64(peak)/float64(len(body)), "peak-x-body")
}
