package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
)

// WithHTTPStatus answers requests that could not be decoded at all with the
// HTTP status of the error, not 200. controller-runtime writes every answer
// as HTTP 200 with the code inside the AdmissionReview; the API server reads
// that, but a client that posted garbage deserves a plain 400. Answers to
// decodable requests carry their uid and pass through unchanged.
func WithHTTPStatus(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &recorder{header: w.Header()}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		// Only an answer without a uid can be one to an undecodable request;
		// the cheap byte check keeps the hot path from decoding every answer.
		if status == http.StatusOK && bytes.Contains(rec.body.Bytes(), []byte(`"uid":""`)) {
			var review admissionv1.AdmissionReview
			if err := json.Unmarshal(rec.body.Bytes(), &review); err == nil && review.Response != nil &&
				review.Response.UID == "" && review.Response.Result != nil && review.Response.Result.Code >= 400 {
				status = int(review.Response.Result.Code)
			}
		}
		w.WriteHeader(status)
		_, _ = w.Write(rec.body.Bytes())
	})
}

type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(status int)      { r.status = status }
