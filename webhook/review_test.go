package webhook

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/api/admission/v1beta1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/gitgate/gitgate/provenance"
)

// referenceDecode decodes body as controller-runtime's admission.Webhook
// does: the API machinery's universal deserializer into an AdmissionReview.
func referenceDecode(body []byte) (*admissionv1.AdmissionRequest, error) {
	scheme := runtime.NewScheme()
	_ = admissionv1.AddToScheme(scheme)
	_ = v1beta1.AddToScheme(scheme)
	var ar admissionv1.AdmissionReview
	ar.Request = &admissionv1.AdmissionRequest{}
	ar.SetGroupVersionKind(admissionv1.SchemeGroupVersion.WithKind("AdmissionReview"))
	if _, _, err := serializer.NewCodecFactory(scheme).UniversalDeserializer().Decode(body, nil, &ar); err != nil {
		return nil, err
	}
	return ar.Request, nil
}

// reviewCorpus are the bodies both paths must answer alike: peer.sh's
// classes for several callers, and the odd corners of JSON and of the
// AdmissionReview that the one-pass reader must read exactly or leave to
// the reference.
func reviewCorpus(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, c := range serveClasses(tb) {
		out = append(out, c.body)
		for _, user := range []string{"system:serviceaccount:shop:operator", "system:kube-scheduler", "dev-user", `dev\"user`, "dévé"} {
			out = append(out, []byte(strings.Replace(string(c.body), `"username":"dev-user"`, `"username":`+jsonString(user), 1)))
		}
	}
	match := string(serveClasses(tb)[1].body)
	edits := [][2]string{
		{`"dryRun":false`, `"dryRun":true`},
		{`"dryRun":false`, `"dryRun":null`},
		{`"dryRun":false`, `"dryRun":"yes"`},
		{`"groups":["system:authenticated"]`, `"groups":[],"extra":{"authentication.kubernetes.io/credential-id":["JTI=1"],"empty":[],"none":null}`},
		{`"groups":["system:authenticated"]`, `"groups":null,"uid":"u-1","extra":{"a":["x"],"a":["y"]}`},
		{`"operation":"UPDATE"`, `"operation":"UPDATE","subResource":"scale"`},
		{`"operation":"UPDATE"`, `"operation":"UPDATE","subResource":"status"`},
		{`"operation":"UPDATE"`, `"operation":"UPDATE","operation":"DELETE"`},
		{`"operation":"UPDATE"`, `"operation":"UPD\u0041TE","Operation":"DELETE"`},
		{`"apiVersion":"admission.k8s.io/v1"`, `"apiVersion":"admission.k8s.io/v1beta1"`},
		{`"apiVersion":"admission.k8s.io/v1",`, ``},
		{`"kind":"AdmissionReview"`, `"kind":"AdmissionReview","Kind":"Pod"`},
		{`"uid":"m-0"`, `"uid":""`},
		{`"uid":"m-0"`, `"uid":null`},
		{`"uid":"m-0"`, `"uid":7`},
		{`"uid":"m-0"`, `"uid":"m-\u00e9\ud800"`},
		{`"namespace":"team-00"`, `"namespace":"team-00","unknown":{"deep":[1,2.5e3,-0,true,null,"\n"]}`},
		{`"requestKind":{`, `"requestKind":null,"x":{`},
		{`"oldObject":{`, `"oldObject":null,"y":{`},
		{`"object":{`, `"object":[],"z":{`},
		{`"image":"registry.example.com/team-00/svc-00000:1.0.0"`, `"image":"registry.example.com/team-00/svc-00000:1.0.0","bad":01`},
		{`"image":"registry.example.com/team-00/svc-00000:1.0.0"`, `"image":"\u00e9\ud83d\ude00\x"`},
	}
	for _, e := range edits {
		out = append(out, []byte(strings.Replace(match, e[0], e[1], 1)))
	}
	return append(out, []byte(match+" "), []byte(match+"{}"), []byte(" \n"+match), []byte("{}"), []byte(`{"request":null}`),
		[]byte("null"), []byte(`[]`), []byte("apiVersion: admission.k8s.io/v1\nkind: AdmissionReview\n"), []byte(match[:len(match)/2]))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestReadReviewMatchesReference: whatever the one-pass reader takes, it
// reads as controller-runtime's decoder does, field by field.
func TestReadReviewMatchesReference(t *testing.T) {
	taken := 0
	for _, body := range reviewCorpus(t) {
		if checkReadReview(t, body) {
			taken++
		}
	}
	if taken < 30 {
		t.Errorf("the fast path took %d bodies of the corpus, want at least 30", taken)
	}
}

// checkReadReview reports whether readReview took body, failing t when it
// read it differently from the reference.
func checkReadReview(t *testing.T, body []byte) bool {
	t.Helper()
	got, ok := readReview(body)
	if !ok {
		return false
	}
	want, err := referenceDecode(body)
	if err != nil {
		t.Fatalf("readReview took a body the reference refuses (%v): %.300s", err, body)
	}
	if !reflect.DeepEqual(&got.AdmissionRequest, want) {
		t.Fatalf("readReview differs from the reference on %.300s:\n got %+v\nwant %+v", body, got.AdmissionRequest, *want)
	}
	return true
}

// TestFastPathAnswersAsReference: the whole path, request bytes to
// response bytes, answers every body of the corpus exactly as the
// reference path does: status, headers and body.
func TestFastPathAnswersAsReference(t *testing.T) {
	fast, ref, stop := bothPaths(t)
	defer stop()
	for _, body := range reviewCorpus(t) {
		compareAnswers(t, fast, ref, body)
	}
}

func bothPaths(tb testing.TB) (fast, ref http.Handler, stop func()) {
	tb.Helper()
	h, stop := serveTestHandler(tb)
	return NewHTTPHandler(h, DefaultMaxRequestBytes), referenceHTTPHandler(h, DefaultMaxRequestBytes), stop
}

func compareAnswers(t *testing.T, fast, ref http.Handler, body []byte) {
	t.Helper()
	for _, ct := range []string{"application/json", "text/plain"} {
		f, r := postReview(fast, body, ct), postReview(ref, body, ct)
		if f.Code != r.Code || !bytes.Equal(f.Body.Bytes(), r.Body.Bytes()) || !reflect.DeepEqual(f.Header(), r.Header()) {
			t.Fatalf("fast and reference paths differ on %.300s (%s):\nfast %d %v %s\nref  %d %v %s", body, ct,
				f.Code, f.Header(), f.Body.Bytes(), r.Code, r.Header(), r.Body.Bytes())
		}
	}
}

// FuzzReadReview holds the fast path to the reference on mutated bodies.
//
//	go test -run '^$' -fuzz FuzzReadReview -fuzztime 60s ./webhook/
func FuzzReadReview(f *testing.F) {
	for _, body := range reviewCorpus(f) {
		f.Add(body)
	}
	fast, ref, stop := bothPaths(f)
	defer stop()
	f.Fuzz(func(t *testing.T, body []byte) {
		checkReadReview(t, body)
		compareAnswers(t, fast, ref, body)
	})
}

// TestNoOpUpdateAnswersAsTwoDecodes: an UPDATE whose object and oldObject
// are the same bytes is decoded once; the answer is the one two decodes
// give (oldObject written with one more space, so it is decoded apart).
func TestNoOpUpdateAnswersAsTwoDecodes(t *testing.T) {
	fast, _, stop := bothPaths(t)
	defer stop()
	var review map[string]any
	if err := json.Unmarshal(serveClasses(t)[2].body, &review); err != nil { // drift
		t.Fatal(err)
	}
	req := review["request"].(map[string]any)
	req["oldObject"] = req["object"] // a no-op update of a drifted object: denied
	drifted, err := json.Marshal(review)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		body []byte
		want string
	}{{serveClasses(t)[1].body, `"allowed":true`}, {drifted, `"allowed":false`}} {
		body := tc.body
		apart := bytes.Replace(body, []byte(`"oldObject":{`), []byte(`"oldObject": {`), 1)
		if bytes.Equal(apart, body) {
			t.Fatal("no oldObject to set apart")
		}
		once, twice := postReview(fast, body, "application/json"), postReview(fast, apart, "application/json")
		if !bytes.Contains(once.Body.Bytes(), []byte(tc.want)) {
			t.Errorf("want %s, got %s", tc.want, once.Body.Bytes())
		}
		if !bytes.Equal(once.Body.Bytes(), twice.Body.Bytes()) {
			t.Errorf("one decode answers\n%s\ntwo decodes answer\n%s", once.Body.Bytes(), twice.Body.Bytes())
		}
	}
}

// TestDecodedCacheAnswersAsFreshDecodes: deciding with Git's side kept
// decoded (as gitgate serve does) answers every body of the corpus as
// decoding it afresh does, on the first pass and on the second, which
// reads the kept maps.
func TestDecodedCacheAnswersAsFreshDecodes(t *testing.T) {
	h, stop := serveTestHandler(t)
	defer stop()
	if h.Checker.(*provenance.Checker).Decoded == nil {
		t.Fatal("the test handler keeps no decoded manifests")
	}
	fresh := *h
	fresh.Checker = &provenance.Checker{Fields: provenance.FieldsStrict}
	fresh.Controllers = ControllerChecker(nil)
	cached, uncached := NewHTTPHandler(h, DefaultMaxRequestBytes), NewHTTPHandler(&fresh, DefaultMaxRequestBytes)
	for range 2 {
		for _, body := range reviewCorpus(t) {
			compareAnswers(t, cached, uncached, body)
		}
	}
}
