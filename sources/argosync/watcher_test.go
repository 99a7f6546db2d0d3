package argosync

import (
	"context"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gitgate/gitgate/internal/testyaml"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/test/harness"
)

func configMap(name, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n  v: %q\n", name, value)
}

var fixture = map[string]string{
	"plain/cm.yaml":           configMap("web", "hello"),
	"kust/kustomization.yaml": "resources: [cm.yaml]\n",
	"kust/cm.yaml":            configMap("api", "1"),
	"other/cm.yaml":           configMap("other", "x"),
}

func startGit(t *testing.T) *harness.GitServer {
	t.Helper()
	log.SetOutput(io.Discard) // gittestserver logs every request
	dir := t.TempDir()
	provenancetest.WriteFiles(t, dir, fixture)
	g, err := harness.StartGitServer(harness.GitServerOptions{Fixture: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func application(t *testing.T, name, dest, source string) *unstructured.Unstructured {
	t.Helper()
	y := fmt.Sprintf(`apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: %s, namespace: argocd, generation: 1}
spec:
  project: default
  destination: {%s, namespace: %s}
  source: %s
`, name, dest, name, source)
	return &unstructured.Unstructured{Object: testyaml.ToMap(t, y)}
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, prefix+" "+args)
	}, funcr.Options{})
}

func newWatcher(t *testing.T, logs *logLines, objs ...client.Object) (*Watcher, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	return &Watcher{
		Reader: c, APIReader: c, Composer: &provenance.Composer{Store: &provenance.Store{}, Log: logs.logger()},
		Indexer:      &provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default"},
		ClusterNames: []string{"gitgate-test"}, MinInterval: time.Nanosecond, Log: logs.logger(),
	}, c
}

func lookup(w *Watcher, namespace, name string) *provenance.Entry {
	snap := w.Composer.Store.Load()
	if snap == nil {
		return nil
	}
	return snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: namespace, Name: name})
}

// TestApplicationsAsRoots: each Application syncing here is a root named
// after it, declaring its render with Argo CD's tracking; one with an
// unsupported source fails alone; one for another cluster declares
// nothing; a commit re-renders only the Application whose inputs changed.
func TestApplicationsAsRoots(t *testing.T) {
	g := startGit(t)
	url := g.HTTPURL()
	plain := application(t, "plain", "name: in-cluster", fmt.Sprintf("{repoURL: %q, path: plain, targetRevision: main}", url))
	kust := application(t, "kust", "name: gitgate-test", fmt.Sprintf("{repoURL: %q, path: kust}", url))
	bad := application(t, "bad", "server: 'https://kubernetes.default.svc'", fmt.Sprintf("{repoURL: %q, path: plain, plugin: {name: x}}", url))
	away := application(t, "away", "server: 'https://elsewhere:6443'", fmt.Sprintf("{repoURL: %q, path: other}", url))
	logs := &logLines{}
	w, _ := newWatcher(t, logs, plain, kust, bad, away)
	ctx := context.Background()
	if w.Listed() == nil {
		t.Error("Listed() passes before the first pass")
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Listed(); err != nil {
		t.Errorf("Listed() = %v after the first pass", err)
	}
	web := lookup(w, "plain", "web")
	if web == nil {
		t.Fatalf("plain's ConfigMap is not declared:\n%s", strings.Join(logs.lines, "\n"))
	}
	snap := w.Composer.Store.Load()
	if got := snap.RootOf(web).Root.Name; got != "Application argocd/plain" {
		t.Errorf("root %q", got)
	}
	ann, _ := web.Object()["metadata"].(map[string]any)["annotations"].(map[string]any)
	if ann["argocd.argoproj.io/tracking-id"] != "plain:/ConfigMap:plain/web" {
		t.Errorf("annotations %v", ann)
	}
	if lookup(w, "kust", "api") == nil {
		t.Error("kust's ConfigMap is not declared")
	}
	if lookup(w, "away", "other") != nil {
		t.Error("an Application of another cluster declares objects")
	}
	if err := w.Composer.Ready(); err == nil || !strings.Contains(err.Error(), "Application argocd/bad") || !strings.Contains(err.Error(), "plugin") {
		t.Errorf("Ready = %v, want the bad Application's plugin failure", err)
	}
	renders := w.renders
	if _, err := g.Commit(harness.Change{Message: "change plain", Write: map[string]string{"plain/cm.yaml": configMap("web", "bye")}}); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := w.renders - renders; got != 1 {
		t.Errorf("%d renders after a commit to plain/, want 1", got)
	}
	if e := lookup(w, "plain", "web"); e == nil || e.Object()["data"].(map[string]any)["v"] != "bye" {
		t.Errorf("web = %v, want the new commit's", e)
	}
	if e := lookup(w, "kust", "api"); e == nil || snap.RootOf(e) == nil {
		t.Error("kust lost its objects")
	}
}
