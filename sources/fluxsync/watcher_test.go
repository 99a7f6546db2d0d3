package fluxsync

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
	"github.com/gitgate/gitgate/test/harness"
)

const (
	ns       = "flux-system"
	gitUser  = "flux"
	gitPass  = "s3cr3t-passw0rd"
	authName = "fleet-auth"
)

func configMap(name, namespace, value string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: %s\ndata:\n  v: %q\n", name, namespace, value)
}

// fixture is a repository with two folders, each its own Kustomization.
var fixture = map[string]string{
	"apps/cm.yaml":  configMap("web", "apps", "${greeting:=hello}"),
	"infra/cm.yaml": configMap("dns", "infra", "1"),
	"apps/secret.yaml": `apiVersion: v1
kind: Secret
metadata: {name: db, namespace: apps}
stringData:
  password: "ENC[AES256_GCM,data:abc,type:str]"
`,
}

func startGit(t *testing.T, files map[string]string) *harness.GitServer {
	t.Helper()
	log.SetOutput(io.Discard) // gittestserver logs every request
	dir := t.TempDir()
	provenancetest.WriteFiles(t, dir, files)
	g, err := harness.StartGitServer(harness.GitServerOptions{Fixture: dir, Username: gitUser, Password: gitPass})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

func gitRepository(name, url, secret string) *sourcev1.GitRepository {
	gr := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: sourcev1.GitRepositorySpec{URL: url, Interval: metav1.Duration{Duration: time.Nanosecond}, Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}}
	if secret != "" {
		gr.Spec.SecretRef = &meta.LocalObjectReference{Name: secret}
	}
	return gr
}

func kustomization(name, path, source string, edit ...func(*kustomizev1.Kustomization)) *kustomizev1.Kustomization {
	ks := &kustomizev1.Kustomization{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Generation: 1},
		Spec: kustomizev1.KustomizationSpec{Path: path, Interval: metav1.Duration{Duration: time.Minute}, Prune: true,
			SourceRef: kustomizev1.CrossNamespaceSourceReference{Kind: "GitRepository", Name: source}}}
	for _, e := range edit {
		e(ks)
	}
	return ks
}

func substituteFrom(name string, optional bool) func(*kustomizev1.Kustomization) {
	return func(ks *kustomizev1.Kustomization) {
		ks.Spec.PostBuild = &kustomizev1.PostBuild{SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: "ConfigMap", Name: name, Optional: optional}}}
	}
}

func authSecret() *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: authName},
		Data: map[string][]byte{"username": []byte(gitUser), "password": []byte(gitPass)}}
}

// logLines collects what a logger writes.
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

func (l *logLines) find(subs ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, line := range l.lines {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		return true
	}
	return false
}

func newWatcher(t *testing.T, logs *logLines, objs ...client.Object) (*Watcher, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{clientgoscheme.AddToScheme, sourcev1.AddToScheme, kustomizev1.AddToScheme} {
		if err := add(s); err != nil {
			t.Fatal(err)
		}
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build()
	composer := &provenance.Composer{Store: &provenance.Store{}, Log: logs.logger()}
	return &Watcher{
		Reader: c, APIReader: c, Composer: composer, InsecureHTTP: true,
		Indexer:     &provenance.Indexer{Scope: provenancetest.AnyKind{}, DefaultNamespace: "default"},
		MinInterval: time.Nanosecond, Log: logs.logger(),
	}, c
}

func lookup(w *Watcher, namespace, name string) *provenance.Entry {
	snap := w.Composer.Store.Load()
	if snap == nil {
		return nil
	}
	return snap.Lookup(provenance.Key{Kind: "ConfigMap", Namespace: namespace, Name: name})
}

// failures reads gitgate_root_sync_failures_total of one root.
func failures(t *testing.T, rootName string) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != "gitgate_root_sync_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "root" && l.GetValue() == rootName {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// TestBadRootFailsAlone: a Kustomization that cannot be rendered fails
// with a log line and a metric naming it; the good one next to it loads.
func TestBadRootFailsAlone(t *testing.T) {
	g := startGit(t, fixture)
	for _, tc := range []struct {
		name string
		objs []client.Object
		want string
	}{
		{name: "missing GitRepository", objs: []client.Object{kustomization("bad", "infra", "nowhere")}, want: "GitRepository flux-system/nowhere: source not found"},
		{name: "unreadable secretRef", objs: []client.Object{gitRepository("locked", g.HTTPURL(), "no-such-secret"), kustomization("bad", "infra", "locked")}, want: "secretRef: read Secret flux-system/no-such-secret"},
		{name: "missing substituteFrom", objs: []client.Object{kustomization("bad", "infra", "fleet", substituteFrom("vars", false))}, want: "substituteFrom not found: ConfigMap flux-system/vars"},
		{name: "unsupported source kind", objs: []client.Object{kustomization("bad", "infra", "fleet", func(ks *kustomizev1.Kustomization) { ks.Spec.SourceRef.Kind = "Bucket" })}, want: "sourceRef kind Bucket"},
		{name: "path not in the source", objs: []client.Object{kustomization("bad", "nope", "fleet")}, want: "kustomization path not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs := &logLines{}
			objs := append([]client.Object{authSecret(), gitRepository("fleet", g.HTTPURL(), authName), kustomization("apps", "apps", "fleet")}, tc.objs...)
			w, _ := newWatcher(t, logs, objs...)
			bad := "Kustomization flux-system/bad"
			before := failures(t, bad)
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			if lookup(w, "apps", "web") == nil {
				t.Error("the good Kustomization did not load")
			}
			if lookup(w, "infra", "dns") != nil {
				t.Error("the bad Kustomization declares objects")
			}
			err := w.Composer.Ready()
			if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Ready = %v, want it to name %s and %q", err, bad, tc.want)
			}
			if !logs.find("root failed", bad, tc.want) {
				t.Errorf("no log line names %s and %q:\n%s", bad, tc.want, strings.Join(logs.lines, "\n"))
			}
			if got := failures(t, bad) - before; got != 1 {
				t.Errorf("failures counted for %s: %v, want 1", bad, got)
			}
			if strings.Contains(strings.Join(logs.lines, "\n"), gitPass) {
				t.Error("a log line holds the Git password")
			}
		})
	}
}

// TestOptionalSubstituteFrom: a missing optional substituteFrom is no
// failure; its default applies, as in Flux.
func TestOptionalSubstituteFrom(t *testing.T) {
	g := startGit(t, fixture)
	logs := &logLines{}
	w, _ := newWatcher(t, logs, authSecret(), gitRepository("fleet", g.HTTPURL(), authName), kustomization("apps", "apps", "fleet", substituteFrom("vars", true), func(ks *kustomizev1.Kustomization) {
		ks.Spec.PostBuild.Substitute = map[string]string{"unrelated": "1"} // substitution runs only with some variable
	}))
	if err := w.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Composer.Ready(); err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(logs.lines, "\n"))
	}
	if e := lookup(w, "apps", "web"); e == nil || e.Object()["data"].(map[string]any)["v"] != "hello" {
		t.Errorf("web = %v, want v=hello", e)
	}
}

// TestRendersOnlyWhatChanged: a commit renders the Kustomizations whose
// inputs it changed; the others move to the new revision without a
// render; a changed substituteFrom or spec renders again; a deleted
// Kustomization's objects are no longer declared.
func TestRendersOnlyWhatChanged(t *testing.T) {
	g := startGit(t, fixture)
	vars := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vars"}, Data: map[string]string{"greeting": "hi"}}
	infra := kustomization("infra", "infra", "fleet")
	w, c := newWatcher(t, &logLines{}, authSecret(), vars, gitRepository("fleet", g.HTTPURL(), authName),
		kustomization("apps", "apps", "fleet", substituteFrom("vars", false), func(ks *kustomizev1.Kustomization) {
			ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops"}
		}), infra)
	ctx := context.Background()
	step := func(name string, wantRenders int, check func(*provenance.Snapshot)) {
		t.Helper()
		if err := w.SyncOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if w.renders != wantRenders {
			t.Errorf("%s: %d renders in all, want %d", name, w.renders, wantRenders)
		}
		check(w.Composer.Store.Load())
	}
	value := func(namespace, name string) any {
		e := lookup(w, namespace, name)
		if e == nil {
			return nil
		}
		return e.Object()["data"].(map[string]any)["v"]
	}
	atHead := func(snap *provenance.Snapshot, sha string) {
		t.Helper()
		for _, r := range snap.Roots() {
			if r.Revision.Hash != sha {
				t.Errorf("%s at %s, want %s", r.Root.Name, r.Revision, sha)
			}
		}
	}
	step("cold", 2, func(snap *provenance.Snapshot) {
		if value("apps", "web") != "hi" || value("infra", "dns") != "1" {
			t.Errorf("web %v, dns %v", value("apps", "web"), value("infra", "dns"))
		}
		if e := snap.Lookup(provenance.Key{Kind: "Secret", Namespace: "apps", Name: "db"}); e == nil || !e.AgentOnly || e.Object()["stringData"] != nil {
			t.Errorf("the Secret is not agent-only without data: %+v", e)
		}
	})
	step("nothing changed", 2, func(*provenance.Snapshot) {})
	sha, err := g.Commit(harness.Change{Write: map[string]string{"infra/cm.yaml": configMap("dns", "infra", "2")}, Message: "infra"})
	if err != nil {
		t.Fatal(err)
	}
	step("infra changed", 3, func(snap *provenance.Snapshot) {
		if value("infra", "dns") != "2" {
			t.Errorf("dns = %v, want 2", value("infra", "dns"))
		}
		atHead(snap, sha)
	})
	vars.Data["greeting"] = "hey"
	if err := c.Update(ctx, vars); err != nil {
		t.Fatal(err)
	}
	step("substituteFrom changed", 4, func(*provenance.Snapshot) {
		if value("apps", "web") != "hey" {
			t.Errorf("web = %v, want hey", value("apps", "web"))
		}
	})
	if err := c.Get(ctx, client.ObjectKeyFromObject(infra), infra); err != nil {
		t.Fatal(err)
	}
	infra.Spec.TargetNamespace = "dns"
	if err := c.Update(ctx, infra); err != nil {
		t.Fatal(err)
	}
	step("spec changed", 5, func(*provenance.Snapshot) {
		if value("dns", "dns") != "2" || value("infra", "dns") != nil {
			t.Errorf("targetNamespace not applied: dns/dns %v, infra/dns %v", value("dns", "dns"), value("infra", "dns"))
		}
	})
	if err := c.Delete(ctx, infra); err != nil {
		t.Fatal(err)
	}
	step("deleted", 5, func(snap *provenance.Snapshot) {
		if value("dns", "dns") != nil || len(snap.Roots()) != 1 {
			t.Errorf("the deleted Kustomization still declares: roots %d", len(snap.Roots()))
		}
	})
}

// TestRenderFailureKeepsLastGood: a commit that breaks one Kustomization
// leaves it at its last good revision while the other moves on.
func TestRenderFailureKeepsLastGood(t *testing.T) {
	g := startGit(t, fixture)
	w, _ := newWatcher(t, &logLines{}, authSecret(), gitRepository("fleet", g.HTTPURL(), authName),
		kustomization("apps", "apps", "fleet"), kustomization("infra", "infra", "fleet"))
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	first := w.Composer.Store.Load().Roots()[0].Revision
	sha, err := g.Commit(harness.Change{Write: map[string]string{"infra/kustomization.yaml": "resources: [missing.yaml]\n", "apps/cm.yaml": configMap("web", "apps", "2")}, Message: "break infra"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range w.Composer.Store.Load().Roots() {
		want := sha
		if r.Root.Name == "Kustomization flux-system/infra" {
			want = first.Hash
		}
		if r.Revision.Hash != want {
			t.Errorf("%s at %s, want %s", r.Root.Name, r.Revision, want)
		}
	}
	if lookup(w, "infra", "dns") == nil {
		t.Error("infra lost its last good objects")
	}
}

// TestLaterKustomizations: readiness waits for the Kustomizations of the
// first list only. One created later is enforced once it loads, and a
// broken one fails alone without taking readiness away.
func TestLaterKustomizations(t *testing.T) {
	g := startGit(t, fixture)
	w, c := newWatcher(t, &logLines{}, authSecret(), gitRepository("fleet", g.HTTPURL(), authName), kustomization("apps", "apps", "fleet"))
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
	for _, ks := range []*kustomizev1.Kustomization{kustomization("infra", "infra", "fleet"), kustomization("broken", "nope", "fleet")} {
		if err := c.Create(ctx, ks); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if err := w.Composer.Ready(); err != nil {
		t.Errorf("Ready() = %v: a Kustomization created later holds readiness", err)
	}
	if lookup(w, "infra", "dns") == nil {
		t.Error("a Kustomization created later is not enforced")
	}
	if got := failures(t, "Kustomization flux-system/broken"); got < 1 {
		t.Error("the broken newcomer's failure is not counted")
	}
}

// TestVerify: with spec.verify, an unsigned head changes no root (the
// last verified revision stays), and a head signed by a key of the verify
// Secret loads.
func TestVerify(t *testing.T) {
	g := startGit(t, fixture)
	key, keyring, err := harness.NewPGPKey(t.TempDir(), "release")
	if err != nil {
		t.Fatal(err)
	}
	armored, err := os.ReadFile(keyring)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := g.CommitSigned(map[string]string{"apps/cm.yaml": configMap("web", "apps", "signed")}, key)
	if err != nil {
		t.Fatal(err)
	}
	gr := gitRepository("fleet", g.HTTPURL(), authName)
	gr.Spec.Verification = &sourcev1.GitRepositoryVerification{Mode: sourcev1.ModeGitHEAD, SecretRef: meta.LocalObjectReference{Name: "keys"}}
	keys := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"}, Data: map[string][]byte{"release.asc": armored}}
	logs := &logLines{}
	w, _ := newWatcher(t, logs, authSecret(), keys, gr, kustomization("apps", "apps", "fleet"))
	ctx := context.Background()
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if e := lookup(w, "apps", "web"); e == nil || e.Object()["data"].(map[string]any)["v"] != "signed" {
		t.Fatalf("the signed head did not load: %v", e)
	}
	if _, err := g.Commit(harness.Change{Write: map[string]string{"apps/cm.yaml": configMap("web", "apps", "unsigned")}, Message: "unsigned"}); err != nil {
		t.Fatal(err)
	}
	if err := w.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if e := lookup(w, "apps", "web"); e.Object()["data"].(map[string]any)["v"] != "signed" {
		t.Error("an unsigned head was enforced")
	}
	if r := w.Composer.Store.Load().Roots()[0]; r.Revision.Hash != signed {
		t.Errorf("apps at %s, want the signed %s", r.Revision, signed)
	}
	if !logs.find("root failed", "Kustomization flux-system/apps", "verify revision") {
		t.Errorf("no log line for the refused head:\n%s", strings.Join(logs.lines, "\n"))
	}
}

// TestSecretVariablesHideValues: a Kustomization that takes variables from a
// Secret may put their values anywhere, so its objects' values are never
// shown in denials; one that takes them from a ConfigMap shows them.
func TestSecretVariablesHideValues(t *testing.T) {
	for _, tc := range []struct {
		kind string
		want bool
	}{{"ConfigMap", false}, {"Secret", true}} {
		t.Run(tc.kind, func(t *testing.T) {
			g := startGit(t, fixture)
			w, _ := newWatcher(t, &logLines{}, authSecret(), gitRepository("fleet", g.HTTPURL(), authName), kustomization("apps", "apps", "fleet", func(ks *kustomizev1.Kustomization) {
				ks.Spec.PostBuild = &kustomizev1.PostBuild{Substitute: map[string]string{"unrelated": "1"},
					SubstituteFrom: []kustomizev1.SubstituteReference{{Kind: tc.kind, Name: "vars", Optional: true}}}
			}))
			if err := w.SyncOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			e := lookup(w, "apps", "web")
			if e == nil || e.HideValues != tc.want {
				t.Fatalf("web = %+v, want HideValues %v", e, tc.want)
			}
		})
	}
}
