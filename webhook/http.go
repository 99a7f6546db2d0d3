package webhook

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/audit"
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

// DefaultMaxRequestBytes admits an AdmissionReview carrying an object and
// an oldObject each at the API server's own request limit (3 MiB).
const DefaultMaxRequestBytes = 6 << 20

// requestUID finds the request's uid near the start of an AdmissionReview,
// where the API server writes it, without decoding the rest.
var requestUID = regexp.MustCompile(`"request"\s*:\s*\{\s*"uid"\s*:\s*"([^"\\]{1,128})"`)

// LimitBody refuses an AdmissionReview over max bytes before anything
// decodes it: decoding holds many times the body in memory, so the bound
// comes first. The refusal is an admission denial carrying the request's
// uid, which the API server shows the caller; without a uid, HTTP 413.
func LimitBody(next http.Handler, limit int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := readBody(r, limit)
		if err != nil {
			http.Error(w, "read request: "+err.Error(), http.StatusBadRequest)
			return
		}
		if int64(len(body)) <= limit {
			r.Body = http.NoBody // controller-runtime refuses an empty body as such
			if len(body) > 0 {
				r.Body = &bufferedBody{Reader: bytes.NewReader(body), b: body}
			}
			next.ServeHTTP(w, r)
			return
		}
		// Refused before any admission.Request exists, so before Handle:
		// the one answer whose Decision LimitBody makes and observes.
		d := Decision{Outcome: string(audit.Denied), Reason: reasonTooLarge, Class: Person, Code: http.StatusRequestEntityTooLarge}
		observe(nil, &d, time.Now())
		head := body[:min(len(body), 4096)]
		m := requestUID.FindSubmatch(head)
		if m == nil {
			http.Error(w, tooLargeHTTPMessage(limit), http.StatusRequestEntityTooLarge)
			return
		}
		d.Message = tooLargeMessage(limit)
		writeTooLarge(w, string(m[1]), &d)
	})
}

// readBody reads at most limit+1 bytes of r's body: into one buffer of
// Content-Length when the client sent one (the API server does), rather
// than a buffer grown by doubling.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	body := io.LimitReader(r.Body, limit+1)
	if r.ContentLength < 0 || r.ContentLength > limit {
		return io.ReadAll(body)
	}
	buf := make([]byte, r.ContentLength+1)
	n, err := io.ReadFull(body, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		err = nil // the expected end: the body is Content-Length long
	}
	if err != nil {
		return nil, err
	}
	if int64(n) == r.ContentLength+1 {
		// More than announced: read on, up to the limit.
		rest, err := io.ReadAll(body)
		return append(buf, rest...), err
	}
	return buf[:n], nil
}

// writeTooLarge answers the refusal d of the request uid, as an
// AdmissionReview the API server shows the caller.
func writeTooLarge(w http.ResponseWriter, uid string, d *Decision) {
	resp := d.response()
	resp.UID = types.UID(uid)
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Response: &resp.AdmissionResponse,
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(review)
}

// bufferedBody is a request body LimitBody has read: the fast path reads
// the bytes, the reference path the Reader.
type bufferedBody struct {
	*bytes.Reader
	b []byte
}

func (*bufferedBody) Close() error { return nil }

// NewHTTPHandler is what gitgate serves at /validate: h behind the body
// limit. A request the one-pass reader takes (readReview) is decoded once
// and answered directly; any other goes through controller-runtime's
// admission.Webhook, which answers undecodable requests with their HTTP
// status (WithHTTPStatus). Both paths end in the same Handle.
func NewHTTPHandler(h *Handler, maxRequestBytes int64) http.Handler {
	wh := &admission.Webhook{Handler: h, LogConstructor: requestLogger}
	return LimitBody(&reviewServer{webhook: wh, reference: WithHTTPStatus(wh)}, maxRequestBytes)
}

// referenceHTTPHandler is NewHTTPHandler without the fast path: every
// request through controller-runtime's decoder. Tests hold the two to
// the same answers.
func referenceHTTPHandler(h *Handler, maxRequestBytes int64) http.Handler {
	return LimitBody(WithHTTPStatus(&admission.Webhook{Handler: h, LogConstructor: requestLogger}), maxRequestBytes)
}

// reviewServer serves the AdmissionReviews readReview reads, and hands
// every other request to reference.
type reviewServer struct {
	webhook   *admission.Webhook
	reference http.Handler
}

func (rs *reviewServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, buffered := r.Body.(*bufferedBody)
	var req admission.Request
	ok := false
	if buffered && r.Header.Get("Content-Type") == "application/json" {
		req, ok = readReview(body.b)
	}
	if !ok {
		rs.reference.ServeHTTP(w, r)
		return
	}
	// Handle recovers a panic into a 500 answer and sets the uid, as on
	// the reference path.
	writeReview(w, rs.webhook.Handle(r.Context(), req))
}

var reviewBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// writeReview writes resp as controller-runtime does: the same encoder,
// so the same bytes.
func writeReview(w http.ResponseWriter, resp admission.Response) {
	buf := reviewBuffers.Get().(*bytes.Buffer)
	defer reviewBuffers.Put(buf)
	buf.Reset()
	if plainAllowed(&resp) {
		// Most answers: the bytes the encoder below writes for them, without
		// reflection (TestFastPathAnswersAsReference holds them equal).
		buf.WriteString(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"`)
		buf.WriteString(string(resp.UID))
		buf.WriteString(`","allowed":true,"status":{"metadata":{},"code":200}}}` + "\n")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(buf.Bytes())
		return
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"},
		Response: &resp.AdmissionResponse,
	}
	if err := json.NewEncoder(buf).Encode(review); err != nil {
		http.Error(w, "encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK) // as WithHTTPStatus does
	_, _ = w.Write(buf.Bytes())
}

// plainAllowed reports an answer that only allows: code 200, no message,
// warning, patch or annotation, and a uid that JSON writes as it is.
func plainAllowed(resp *admission.Response) bool {
	r := &resp.AdmissionResponse
	return r.Allowed && r.Result != nil && *r.Result == (metav1.Status{Code: http.StatusOK}) && r.Patch == nil &&
		r.PatchType == nil && len(r.AuditAnnotations) == 0 && len(r.Warnings) == 0 && len(resp.Patches) == 0 &&
		plainUID(string(r.UID))
}

// plainUID reports a uid as the API server makes them, which JSON needs no
// escape for.
func plainUID(uid string) bool {
	for i := 0; i < len(uid); i++ {
		c := uid[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '.' || c == '_' || c == ':') {
			return false
		}
	}
	return uid != "" && len(uid) <= 128
}
