package webhook

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func TestLimitBody(t *testing.T) {
	const max = 1024
	review := func(pad int) string {
		return `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-42","object":{"data":"` + strings.Repeat("x", pad) + `"}}}`
	}
	tests := []struct {
		name       string
		body       string
		wantNext   bool
		wantStatus int
		wantUID    string // a denial in the body carries it
		// length overrides Content-Length: -1 unknown, or a lie.
		length int64
	}{
		{name: "under the limit", body: review(10), wantNext: true, wantStatus: http.StatusOK},
		{name: "exactly at the limit", body: review(max - len(review(0))), wantNext: true, wantStatus: http.StatusOK},
		{name: "over the limit", body: review(max), wantStatus: http.StatusOK, wantUID: "u-42"},
		{name: "over the limit, length unknown", body: review(max), length: -1, wantStatus: http.StatusOK, wantUID: "u-42"},
		{name: "under the limit, length unknown", body: review(10), length: -1, wantNext: true, wantStatus: http.StatusOK},
		{name: "over the limit, length understated", body: review(max), length: 100, wantStatus: http.StatusOK, wantUID: "u-42"},
		{name: "over the limit, no uid to answer", body: `{"request":{"kind":"` + strings.Repeat("x", max) + `"}}`, wantStatus: http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called = true
				b := make([]byte, len(tc.body)+1)
				n, _ := r.Body.Read(b)
				if string(b[:n]) != tc.body {
					t.Errorf("next got a different body")
				}
			})
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodPost, "/validate", strings.NewReader(tc.body))
			if tc.length != 0 {
				req.ContentLength = tc.length
			}
			LimitBody(next, max).ServeHTTP(rec, req)
			if called != tc.wantNext || rec.Code != tc.wantStatus {
				t.Fatalf("next called %v, status %d; want %v, %d", called, rec.Code, tc.wantNext, tc.wantStatus)
			}
			if tc.wantUID == "" {
				return
			}
			var got admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.Response == nil || string(got.Response.UID) != tc.wantUID || got.Response.Allowed || got.Response.Result.Code != http.StatusRequestEntityTooLarge ||
				!strings.Contains(got.Response.Result.Message, "--max-request-bytes") {
				t.Errorf("response = %+v", got.Response)
			}
		})
	}
}

// TestPlainAllowedKnowsEveryField: plainAllowed names each field of an
// answer that must be empty for the answer to be written by hand. A field
// a later k8s.io/api or controller-runtime adds must be named there too;
// this fails until it is.
func TestPlainAllowedKnowsEveryField(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[admissionv1.AdmissionResponse](), []string{"UID", "Allowed", "Result", "Patch", "PatchType", "AuditAnnotations", "Warnings"}},
		{reflect.TypeFor[admission.Response](), []string{"Patches", "AdmissionResponse"}},
	} {
		var got []string
		for f := range tc.typ.Fields() {
			got = append(got, f.Name)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s has fields %v; plainAllowed knows %v", tc.typ, got, tc.want)
		}
	}
}
