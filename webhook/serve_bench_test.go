package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/gitgate/gitgate/audit"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// The bodies of ../shared/perf/peer.sh (its gen, one Deployment): Git's
// manifest, and AdmissionReviews of 6.6 KB as the API server sends them.
const serveTestdata = "testdata/serve/"

// servePath is one request class of the whole path, from request bytes to
// response bytes.
type servePath struct {
	name    string
	body    []byte
	allowed bool
}

// serveClasses are the agent's UPDATE, a person's matching and drifting
// UPDATE, a person's CREATE of the declared object (as the API server
// would create it) and a person's DELETE of it.
func serveClasses(tb testing.TB) []servePath {
	tb.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(serveTestdata + name + ".json")
		if err != nil {
			tb.Fatal(err)
		}
		return b
	}
	match := read("match")
	return []servePath{
		{"agent", read("agent"), true},
		{"match", match, true},
		{"drift", read("drift"), false},
		{"create", reshape(tb, match, "CREATE", "object"), true},
		{"delete", reshape(tb, match, "DELETE", "oldObject"), false},
	}
}

// reshape turns an UPDATE body into op, keeping only the named object;
// a CREATE's object carries no field owners of the stored one.
func reshape(tb testing.TB, body []byte, op, keep string) []byte {
	tb.Helper()
	var review map[string]any
	if err := json.Unmarshal(body, &review); err != nil {
		tb.Fatal(err)
	}
	req := review["request"].(map[string]any)
	req["operation"] = op
	if op == "CREATE" {
		// The stored object's field owners are no create's: the API server
		// records the creator's own (a forged entry is managed-fields).
		meta := req[keep].(map[string]any)["metadata"].(map[string]any)
		delete(meta, "managedFields")
	}
	for _, f := range []string{"object", "oldObject"} {
		if f != keep {
			delete(req, f)
		}
	}
	out, err := json.Marshal(review)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// serveHandler is gitgate serve's /validate over serveTestHandler.
func serveHandler(tb testing.TB) (http.Handler, func()) {
	h, stop := serveTestHandler(tb)
	return NewHTTPHandler(h, DefaultMaxRequestBytes), stop
}

// serveTestHandler decides against a snapshot of the one declared
// Deployment, with the audit trail writing JSON log lines (to io.Discard)
// on its own goroutine.
func serveTestHandler(tb testing.TB) (*Handler, func()) {
	return serveTestHandlerN(tb, 1)
}

// serveName is the declared Deployment's name in the testdata; copy i of
// it is named serveCopy(i).
const serveName = "svc-00000"

func serveCopy(i int) string { return fmt.Sprintf("svc-%05d", i) }

// serveTestHandlerN is serveTestHandler over n copies of the declared
// Deployment, named serveCopy(0) to serveCopy(n-1).
func serveTestHandlerN(tb testing.TB, n int) (*Handler, func()) {
	tb.Helper()
	manifest, err := os.ReadFile(serveTestdata + "manifest.json")
	if err != nil {
		tb.Fatal(err)
	}
	ix := &provenance.Indexer{Scope: provenancetest.Scope{"Deployment.apps": true, "Namespace": false}, DefaultNamespace: "default"}
	// The namespace, declared with its mode, as a fleet repository
	// declares it.
	files := []provenance.File{{Path: "apps/team-00/namespace.yaml", Objects: provenancetest.Objects(tb,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-00","labels":{"gitgate.dev/mode":"enforce","team":"team-00"}}}`)}}
	for i := range n {
		m := strings.ReplaceAll(string(manifest), serveName, serveCopy(i))
		files = append(files, provenance.File{Path: "apps/team-00/" + serveCopy(i) + ".json", Objects: provenancetest.Objects(tb, m)})
	}
	snap, err := ix.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("c", 40)}, files)
	if err != nil {
		tb.Fatal(err)
	}
	store := &provenance.Store{}
	store.Swap(snap.Snapshot())
	a := audit.New(audit.Options{Log: audit.NewLog(io.Discard)})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = a.Start(ctx) }()
	// As gitgate serve builds them: one cache of decoded manifests.
	decoded := provenance.NewDecodedCache(provenance.DefaultDecodedEntries, provenance.DefaultDecodedBytes)
	ignores, err := provenance.CompileIgnores(nil) // the built-in rules
	if err != nil {
		tb.Fatal(err)
	}
	controllers := ControllerChecker(ignores)
	controllers.Decoded = decoded
	h := &Handler{
		Identities:  DefaultIdentities(),
		Skip:        DefaultSkip(),
		Snapshots:   store,
		Checker:     &provenance.Checker{Fields: provenance.FieldsStrict, Ignores: ignores, Decoded: decoded},
		Controllers: controllers,
		Repo:        Repo{URL: "https://git.example/fleet.git"},
		Modes:       NewGitModes(Enforce),
		BreakGlass:  grantStore(),
		Audit:       a,
		Defaults:    newDeclaredDefaults(tb),
	}
	return h, func() { cancel(); <-a.Done() }
}

// declaredDefaults answers the dry run with Git's manifest as the API
// server creates it, decoded once and shared, as dryrun's cache answers.
type declaredDefaults struct{ obj map[string]any }

func newDeclaredDefaults(tb testing.TB) declaredDefaults {
	tb.Helper()
	body, err := os.ReadFile(serveTestdata + "match.json")
	if err != nil {
		tb.Fatal(err)
	}
	var review struct {
		Request struct {
			Object json.RawMessage `json:"object"`
		} `json:"request"`
	}
	if err := json.Unmarshal(body, &review); err != nil {
		tb.Fatal(err)
	}
	obj, err := provenance.DecodeObject(review.Request.Object)
	if err != nil {
		tb.Fatal(err)
	}
	return declaredDefaults{obj: obj}
}

func (d declaredDefaults) Defaulted(context.Context, *provenance.Entry, provenance.Revision) (map[string]any, error) {
	return d.obj, nil
}

// postReview posts body with a Content-Type and returns the response.
func postReview(h http.Handler, body []byte, contentType string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// BenchmarkServe is the whole path of one request per class, from request
// bytes to response bytes: body limit, decoding, identity, the Git
// check, policy, audit record, response encoding.
func BenchmarkServe(b *testing.B) {
	// gitgate serve's logger (zap, JSON), so building log values costs
	// what it costs in production.
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	h, stop := serveHandler(b)
	defer stop()
	for _, c := range serveClasses(b) {
		b.Run(c.name, func(b *testing.B) {
			want := []byte(`"allowed":false`)
			if c.allowed {
				want = []byte(`"allowed":true`)
			}
			if w := postReview(h, c.body, "application/json"); !bytes.Contains(w.Body.Bytes(), want) {
				b.Fatalf("want %s, got %s", want, w.Body.Bytes())
			}
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				postReview(h, c.body, "application/json")
			}
		})
	}
}

// BenchmarkServeSpread is BenchmarkServe with the working set of
// peer.sh's load: 600 declared Deployments, each request naming the next
// one, so the declared manifests and the decoded ones are not all in the
// CPU's caches as one object's are.
func BenchmarkServeSpread(b *testing.B) {
	const n = 600
	logf.SetLogger(zap.New(zap.WriteTo(io.Discard)))
	th, stop := serveTestHandlerN(b, n)
	defer stop()
	h := NewHTTPHandler(th, DefaultMaxRequestBytes)
	for _, c := range serveClasses(b)[:3] {
		b.Run(c.name, func(b *testing.B) {
			bodies := make([][]byte, n)
			for i := range bodies {
				bodies[i] = bytes.ReplaceAll(c.body, []byte(serveName), []byte(serveCopy(i)))
			}
			want := []byte(`"allowed":false`)
			if c.allowed {
				want = []byte(`"allowed":true`)
			}
			for _, body := range bodies {
				if w := postReview(h, body, "application/json"); !bytes.Contains(w.Body.Bytes(), want) {
					b.Fatalf("want %s, got %s", want, w.Body.Bytes())
				}
			}
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				postReview(h, bodies[i], "application/json")
				i = (i + 1) % n
			}
		})
	}
}
