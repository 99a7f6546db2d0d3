package gitsync

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/receiver"
	"github.com/gitgate/gitgate/test/harness"
)

// generatedRepo is n Deployments (about 900 bytes each) in 100 directories.
func generatedRepo(n int) map[string]string { return generatedRepoIn(n, 100) }

// generatedRepoIn is n Deployments in dirs directories apps/team-NN.
func generatedRepoIn(n, dirs int) map[string]string {
	files := make(map[string]string, n)
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("svc-%05d", i)
		files[fmt.Sprintf("apps/team-%02d/%s.yaml", i%dirs, name)] = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ` + name + `
  namespace: team-` + fmt.Sprintf("%02d", i%dirs) + `
  labels: {app: ` + name + `, tier: backend}
spec:
  replicas: 2
  selector:
    matchLabels: {app: ` + name + `}
  template:
    metadata:
      labels: {app: ` + name + `, tier: backend}
    spec:
      containers:
      - name: app
        image: registry.example.com/` + name + `:1.0.0
        ports:
        - containerPort: 8080
        env:
        - {name: LOG_LEVEL, value: info}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 256Mi}
        readinessProbe:
          httpGet: {path: /healthz, port: 8080}
`
	}
	return files
}

func benchColdIndex(b *testing.B, n int) {
	g := startGitServer(b, generatedRepo(n))
	creds := basicAuthFiles(b, testUser, testPass)
	// Generating the fixture costs far more memory than syncing it; give
	// that back and restart the peak count, so peak-RSS-MB is the sync's.
	debug.FreeOSMemory()
	resetPeakRSS := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := newTestSyncer(newTestSource(b, g.HTTPURL(), gitsource.Ref{Branch: "main"}, creds, ""))
		snap := mustSync(b, s)
		if snap.Len() != n {
			b.Fatalf("indexed %d objects, want %d", snap.Len(), n)
		}
	}
	b.StopTimer()
	if resetPeakRSS {
		b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
	}
}

// peakRSSMB reads VmHWM, the process's peak resident set since the last
// reset through /proc/self/clear_refs.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkColdIndex10k: fetch (shallow, over loopback HTTP), parse and
// index a repository of 10,000 manifests from nothing. Target: under 5 s.
func BenchmarkColdIndex10k(b *testing.B) { benchColdIndex(b, 10000) }

// BenchmarkColdIndex1k: the same for a revision of 1,000 manifests.
// Target (issue 2): under 1 s.
func BenchmarkColdIndex1k(b *testing.B) { benchColdIndex(b, 1000) }

// BenchmarkOneFileChange: in a synced 10,000-manifest repository, one file
// changes; time from the sync starting to the new snapshot being stored
// (ls-remote, incremental fetch, re-parse of the one blob, index).
// Target: under 200 ms. The commit is made outside the timer.
func BenchmarkOneFileChange(b *testing.B) {
	g := startGitServer(b, generatedRepo(10000))
	s := newTestSyncer(newTestSource(b, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(b, testUser, testPass), ""))
	mustSync(b, s)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mustCommit(b, g, harness.Change{Write: map[string]string{"apps/team-07/svc-00007.yaml": strings.Replace(generatedRepo(8)["apps/team-07/svc-00007.yaml"], "1.0.0", fmt.Sprintf("1.0.%d", i+1), 1)}})
		b.StartTimer()
		mustSync(b, s)
		if s.stats.Parsed != 1 {
			b.Fatalf("parsed %d files, want 1", s.stats.Parsed)
		}
	}
}

// BenchmarkPushToEnforced: a running Syncer and receiver; time from
// sending a signed push notification to the new revision being in the
// provenance.Store (what the webhook reads), for a 1,000-manifest repository on
// loopback. Target: under 1 s.
func BenchmarkPushToEnforced(b *testing.B) {
	g := startGitServer(b, generatedRepo(1000))
	s := newTestSyncer(newTestSource(b, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(b, testUser, testPass), ""))
	// Iterations come faster than the production rate limit allows; the
	// first notification after a quiet second is never delayed by it.
	s.TriggerMinInterval = time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Start(ctx) }()
	secret := []byte("bench-secret-0123456789")
	srv := httptest.NewServer(&receiver.Handler{Secret: secret, Trigger: s, Log: logr.Discard()})
	defer srv.Close()
	for s.Composer.Store.Load() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	body := []byte(`{"ref":"refs/heads/main"}`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		hash := mustCommit(b, g, harness.Change{Write: map[string]string{"apps/team-01/svc-00001.yaml": strings.Replace(generatedRepo(2)["apps/team-01/svc-00001.yaml"], "1.0.0", fmt.Sprintf("1.0.%d", i+1), 1)}})
		b.StartTimer()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(string(body)))
		req.Header.Set(receiver.HeaderGitHubSignature, receiver.Sign(body, secret))
		req.Header.Set(receiver.HeaderGitHubEvent, "push")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		for s.Revision() != "main@sha1:"+hash {
			time.Sleep(time.Millisecond)
		}
	}
}

// teamRoots are the paths apps/team-00 … apps/team-(n-1).
func teamRoots(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("apps/team-%02d", i)
	}
	return out
}

// BenchmarkColdIndex50Roots10k: 10,000 manifests in 50 roots (--path
// apps/team-00 … apps/team-49, 200 each) fetched, rendered and indexed
// root by root from nothing, and composed into one snapshot.
func BenchmarkColdIndex50Roots10k(b *testing.B) {
	g := startGitServer(b, generatedRepoIn(10000, 50))
	creds := basicAuthFiles(b, testUser, testPass)
	debug.FreeOSMemory()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := newTestSyncer(newTestSource(b, g.HTTPURL(), gitsource.Ref{Branch: "main"}, creds, ""), teamRoots(50)...)
		snap := mustSync(b, s)
		if snap.Len() != 10000 || len(snap.Roots()) != 50 {
			b.Fatalf("indexed %d objects in %d roots, want 10000 in 50", snap.Len(), len(snap.Roots()))
		}
	}
}

// BenchmarkOneFileChange50Roots: in a synced repository of 50 roots over
// 10,000 manifests, one file of one root changes; from the sync starting
// to the recomposed snapshot being stored. Every root moves to the new
// revision, but from its own Indexer's cache: one file is parsed.
func BenchmarkOneFileChange50Roots(b *testing.B) {
	g := startGitServer(b, generatedRepoIn(10000, 50))
	s := newTestSyncer(newTestSource(b, g.HTTPURL(), gitsource.Ref{Branch: "main"}, basicAuthFiles(b, testUser, testPass), ""), teamRoots(50)...)
	mustSync(b, s)
	const file = "apps/team-07/svc-00007.yaml"
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		mustCommit(b, g, harness.Change{Write: map[string]string{file: strings.Replace(generatedRepoIn(8, 50)[file], "1.0.0", fmt.Sprintf("1.0.%d", i+1), 1)}})
		b.StartTimer()
		mustSync(b, s)
		if s.stats.Parsed != 1 {
			b.Fatalf("parsed %d of %d files, want 1", s.stats.Parsed, s.stats.Files)
		}
	}
}
