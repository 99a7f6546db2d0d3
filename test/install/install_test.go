package install

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/test/harness"
)

func mustRun(t *testing.T, stdin string, args ...string) harness.Result {
	t.Helper()
	r := env.kubectl.Run(stdin, args...)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r
}

func TestOverlaysApplyWithServerDryRun(t *testing.T) {
	crds, err := harness.CertManagerCRDs()
	if err != nil {
		t.Fatal(err)
	}
	// Server-side: the Certificate CRD is too large for client-side apply's
	// last-applied annotation.
	mustRun(t, "", "apply", "--server-side", "-f", crds)
	mustRun(t, "", "wait", "--for=condition=established", "--timeout=60s", "crd/certificates.cert-manager.io", "crd/issuers.cert-manager.io")
	// What a dry run creates must not exist yet.
	uninstall(t)
	// A dry-run Namespace is not stored, and the objects in it would be
	// refused for a namespace that does not exist: gitgate's, its
	// sandbox, and those the driver overlays bind roles in.
	for _, ns := range []string{namespace, dryRunNamespace, "flux-system", "argocd"} {
		mustRun(t, `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"`+ns+`"}}`, "apply", "-f", "-")
	}
	for _, dir := range append([]string{"base", "overlays/cert-manager", "overlays/self-managed"}, driverOverlays...) {
		t.Run(dir, func(t *testing.T) {
			r := mustRun(t, "", "apply", "--dry-run=server", "-k", filepath.Join(harness.RepoRoot(), "manifests", dir))
			for _, want := range []string{"validatingwebhookconfiguration.admissionregistration.k8s.io/gitgate created (server dry run)", "deployment.apps/gitgate created (server dry run)"} {
				if !strings.Contains(r.Stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.Stdout)
				}
			}
			for _, role := range driverRoles[dir] {
				if want := "clusterrole.rbac.authorization.k8s.io/" + role + " created (server dry run)"; !strings.Contains(r.Stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.Stdout)
				}
			}
			if dir == "overlays/cert-manager" && !strings.Contains(r.Stdout, "certificate.cert-manager.io/gitgate-serving created (server dry run)") {
				t.Errorf("the cert-manager overlay did not create its Certificate:\n%s", r.Stdout)
			}
		})
	}
}

// driverOverlays follow Flux, Argo CD, or both (--source=flux,argocd)
// instead of the base's repository.
var driverOverlays = []string{"overlays/flux", "overlays/argocd", "overlays/flux-argocd"}

// driverRoles are the ClusterRoles each driver overlay adds.
var driverRoles = map[string][]string{
	"overlays/flux":        {"gitgate-flux", "gitgate-flux-refs"},
	"overlays/argocd":      {"gitgate-argocd"},
	"overlays/flux-argocd": {"gitgate-flux", "gitgate-flux-refs", "gitgate-argocd"},
}

// TestManifestArgsAreRealFlags parses the gitgate arguments of each
// overlay, and of the Helm chart with its default and full values, with
// the real binary: an unknown flag exits 2 before --help is reached.
func TestManifestArgsAreRealFlags(t *testing.T) {
	bin, err := harness.BuildGitgate()
	if err != nil {
		t.Fatal(err)
	}
	renders := map[string]func() (harness.Manifests, error){
		"chart, default values": func() (harness.Manifests, error) { return harness.RenderChart(namespace) },
		"chart, full values": func() (harness.Manifests, error) {
			return harness.RenderChart(namespace, filepath.Join(harness.ChartDir(), "ci", "full-values.yaml"))
		},
	}
	for _, dir := range append([]string{"overlays/cert-manager", "overlays/self-managed"}, driverOverlays...) {
		renders[dir] = func() (harness.Manifests, error) { return env.kubectl.RenderManifests(dir) }
	}
	for name, render := range renders {
		m, err := render()
		if err != nil {
			t.Fatal(err)
		}
		args := containerArgs(t, m)
		out, err := exec.Command(bin, append(args, "--help")...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: gitgate %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
	}
}

func containerArgs(t *testing.T, m harness.Manifests) []string {
	t.Helper()
	d := m.Find("Deployment", "gitgate")
	if d == nil {
		t.Fatal("no Deployment gitgate")
	}
	var dep struct {
		Spec struct {
			Template struct {
				Spec corev1.PodSpec `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	b, _ := json.Marshal(d.Object)
	if err := json.Unmarshal(b, &dep); err != nil {
		t.Fatal(err)
	}
	return dep.Spec.Template.Spec.Containers[0].Args
}

func webhookURL() string { return "https://" + env.proxy.Addr() + "/validate" }

// installSelfManaged applies the self-managed overlay for real, with the
// webhook pointed at the proxy in front of the gitgate processes.
func installSelfManaged(t *testing.T) {
	t.Helper()
	m, err := env.kubectl.RenderManifests("overlays/self-managed")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.PointWebhooksAt(webhookURL()); err != nil {
		t.Fatal(err)
	}
	y, err := m.YAML()
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, y, "apply", "-f", "-")
}

// uninstall deletes what the self-managed overlay creates, webhook
// configuration first, so nothing calls a gitgate that is gone. The
// Namespace stays: no namespace controller runs here to empty it.
func uninstall(t *testing.T) {
	t.Helper()
	mustRun(t, "", "delete", "validatingwebhookconfiguration", webhookName, "--ignore-not-found")
	m, err := env.kubectl.RenderManifests("overlays/self-managed")
	if err != nil {
		t.Fatal(err)
	}
	var keep harness.Manifests
	for _, o := range m {
		if o.GetKind() != "Namespace" {
			keep = append(keep, o)
		}
	}
	y, err := keep.YAML()
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, y, "delete", "--ignore-not-found", "--wait=false", "-f", "-")
}

// install is a fresh self-managed install: the overlay applied with the
// webhook pointed at the proxy, no certificate Secret yet, and n gitgate
// replicas behind the proxy, each running as gitgate's ServiceAccount with
// only the manifests' RBAC. When the test ends the replicas stop, logging
// their output if it failed, and the webhook configuration goes, so that
// no later test is locked out by a webhook nobody answers.
func install(t *testing.T, n int, extra ...string) []*harness.Gitgate {
	t.Helper()
	mustRun(t, "", "delete", "secret", secretName, "-n", namespace, "--ignore-not-found")
	// A Lease left by an earlier test's replica would hold the drift scan
	// until it expires.
	mustRun(t, "", "delete", "lease", "gitgate-drift", "-n", namespace, "--ignore-not-found")
	installSelfManaged(t)
	args := append([]string{"--branch", "main", "--interval", "1s",
		"--cert-mode=self-managed", "--cert-namespace=" + namespace, "--cert-host=127.0.0.1"}, extra...)
	gs := make([]*harness.Gitgate, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			gs[i], errs[i] = harness.StartGitgate(harness.GitgateOptions{Kubeconfig: env.saKubeconfig, RepoURL: env.git.HTTPURL(), Args: args})
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		env.proxy.SetBackends()
		for i, g := range gs {
			if g == nil {
				continue
			}
			g.Stop()
			if t.Failed() {
				t.Logf("replica %d: gitgate logs (last 100 lines):\n%s", i, harness.Tail(g.Logs(), 100))
			}
		}
		mustRun(t, "", "delete", "validatingwebhookconfiguration", webhookName, "--ignore-not-found")
	})
	var backends []string
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		backends = append(backends, "127.0.0.1:"+strconv.Itoa(gs[i].Port))
	}
	env.proxy.SetBackends(backends...)
	return gs
}

func TestSelfManagedInstallServesTheAPIServer(t *testing.T) {
	install(t, 1)

	secret := getSecret(t)
	if secret.Type != corev1.SecretTypeTLS || len(secret.Data["ca.crt"]) == 0 || len(secret.Data["tls.key"]) == 0 {
		t.Fatalf("secret %s: type %q, keys %v; want kubernetes.io/tls with ca.crt", secretName, secret.Type, keys(secret.Data))
	}
	if bundle := caBundle(t); !bytes.Equal(bundle, secret.Data["ca.crt"]) {
		t.Fatalf("caBundle is not the Secret's CA:\n%s\nwant\n%s", bundle, secret.Data["ca.crt"])
	}
	r := env.kubectl.Run("", "create", "configmap", "by-hand", "-n", "default", "--from-literal=a=b", "--as", harness.Person)
	if !r.Failed() || !strings.Contains(r.Stderr, `admission webhook "validate.gitgate.dev" denied the request`) || !strings.Contains(r.Stderr, "Git does not declare this object") {
		t.Fatalf("%s: want gitgate's denial through the API server, got err=%v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "", "apply", "--as", harness.Agent, "-f", env.fixture)
}

func TestMatchConditionsKeepLeasesAndEventsAway(t *testing.T) {
	g := install(t, 1)[0]
	t.Cleanup(func() {
		mustRun(t, "", "delete", "-n", "default", "--ignore-not-found", "lease/mc-lease", "event/mc-event", "event/mc-event2",
			"endpoints/mc-ep", "endpointslice/mc-eps", "configmap/mc-ctrl", "configmap/mc-node", "configmap/mc-person")
	})
	before := webhookRequests(t, g)
	now := time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	skipped := []struct {
		name     string
		manifest string
		as       []string
	}{
		{"lease", `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"mc-lease","namespace":"default"},"spec":{"holderIdentity":"x"}}`, nil},
		{"core event", `{"apiVersion":"v1","kind":"Event","metadata":{"name":"mc-event","namespace":"default"},"involvedObject":{"kind":"ConfigMap","name":"x","namespace":"default"},"reason":"Test","message":"m"}`, nil},
		{"events.k8s.io event", `{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"mc-event2","namespace":"default"},"eventTime":"` + now + `","reportingController":"test/x","reportingInstance":"x","type":"Normal","action":"Test","reason":"Test","regarding":{"kind":"ConfigMap","name":"x","namespace":"default"}}`, nil},
		{"configmap by a kube-system controller", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mc-ctrl","namespace":"default"}}`, []string{"--as", harness.ExemptController}},
		{"configmap by a kubelet", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mc-node","namespace":"default"}}`, []string{"--as", "system:node:n1", "--as-group", "system:nodes"}},
	}
	for _, s := range skipped {
		as := s.as
		if as == nil {
			as = []string{"--as", harness.Person}
		}
		r := env.kubectl.Run(s.manifest, append([]string{"create", "-f", "-"}, as...)...)
		if r.Failed() {
			t.Errorf("%s: want allowed without asking gitgate, got %v\n%s", s.name, r.Err, r.Stderr)
		}
	}
	if r := env.kubectl.Run("", "auth", "can-i", "create", "pods", "--as", harness.Person); r.Failed() {
		t.Errorf("SelfSubjectAccessReview: %v\n%s", r.Err, r.Stderr)
	}
	if after := webhookRequests(t, g); after != before {
		t.Fatalf("gitgate was called %d times for leases, events, reviews and exempt identities, want 0", after-before)
	}
	// The same metric does count the requests gitgate must see: a person's
	// ConfigMap, and Endpoints and EndpointSlices, which are judged (one
	// added to a declared Service redirects its traffic).
	judged := []string{
		`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"mc-person","namespace":"default"}}`,
		`{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"mc-ep","namespace":"default"}}`,
		`{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"mc-eps","namespace":"default"},"addressType":"IPv4","endpoints":[]}`,
	}
	for _, manifest := range judged {
		env.kubectl.Run(manifest, "create", "-f", "-", "--as", harness.Person)
	}
	if after := webhookRequests(t, g); after != before+len(judged) {
		t.Fatalf("webhook requests went from %d to %d for %d checked requests, want +%d", before, after, len(judged), len(judged))
	}
}

// TestPrometheusRuleUsesRealMetricNames checks that every gitgate_ and
// controller_runtime_ metric the shipped alerts use is one gitgate exports
// (declared in gitgate's code, or present on a running replica).
func TestPrometheusRuleUsesRealMetricNames(t *testing.T) {
	rule, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "manifests", "monitoring", "prometheusrule.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(rule, &doc); err != nil {
		t.Fatal(err)
	}
	known := declaredMetrics(t)
	text, err := install(t, 1)[0].Metrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^# TYPE (\S+)`).FindAllStringSubmatch(text, -1) {
		known[m[1]] = true
	}
	used := regexp.MustCompile(`\b(?:gitgate|controller_runtime)_[a-z0-9_]+`).FindAllString(string(rule), -1)
	if len(used) < 5 {
		t.Fatalf("found only %d metric names in the rules", len(used))
	}
	for _, name := range used {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if !known[name] && !known[base] {
			t.Errorf("alert uses %s, which gitgate does not export", name)
		}
	}
}

func declaredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	known := map[string]bool{}
	re := regexp.MustCompile(`Name:\s+"(gitgate_[a-z0-9_]+)"`)
	err := filepath.WalkDir(harness.RepoRoot(), func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".cache" || d.Name() == ".git" || d.Name() == "test") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllSubmatch(src, -1) {
			known[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return known
}

func TestWebhookDownKubeSystemStillWritable(t *testing.T) {
	install(t, 1)[0].Stop()
	t.Cleanup(func() {
		// Nothing answers the webhook: take it away before deleting.
		mustRun(t, "", "delete", "validatingwebhookconfiguration", webhookName, "--ignore-not-found")
		mustRun(t, "", "delete", "configmap", "during-outage", "-n", "kube-system", "--ignore-not-found")
		mustRun(t, "", "delete", "configmap", "during-outage", "-n", namespace, "--ignore-not-found")
		mustRun(t, "", "delete", "configmap,lease", "during-outage", "-n", "default", "--ignore-not-found")
	})
	mustRun(t, "", "create", "configmap", "during-outage", "-n", "kube-system", "--as", harness.Person)
	mustRun(t, "", "create", "configmap", "during-outage", "-n", namespace, "--as", harness.Person)
	mustRun(t, `{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"during-outage","namespace":"default"}}`, "create", "-f", "-", "--as", harness.Person)
	r := env.kubectl.Run("", "create", "configmap", "during-outage", "-n", "default", "--as", harness.Person)
	if !r.Failed() || !strings.Contains(r.Stderr, "failed calling webhook") {
		t.Fatalf("%s with gitgate down: want failurePolicy Fail to refuse it, got err=%v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	// Lockout recovery: webhook configurations are never sent to webhooks,
	// so deleting it always works; then writes go through again.
	mustRun(t, "", "delete", "validatingwebhookconfiguration", webhookName)
	mustRun(t, "", "create", "configmap", "during-outage", "-n", "default", "--as", harness.Person)
	installSelfManaged(t) // back as shipped, with an empty caBundle
}

func TestTwoReplicasStartTogetherShareOneCA(t *testing.T) {
	// Start from nothing (install removes the Secret): the replicas race to
	// create it.
	gs := install(t, 2, "--cert-lifetime=30s")
	creators := 0
	for _, g := range gs {
		creators += strings.Count(g.Logs(), "created certificate secret with a new CA")
	}
	if creators != 1 {
		t.Errorf("%d replicas created the Secret, want exactly 1", creators)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caBundle(t)) {
		t.Fatal("caBundle holds no certificate")
	}
	// Both serve the Secret's certificate; retry across a promotion.
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, b := servedLeaf(t, gs[0], pool), servedLeaf(t, gs[1], pool)
		if a.Equal(b) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the two replicas serve different certificates")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRotationWithoutFailedAdmissionRequests(t *testing.T) {
	// The requests below are a person's dry-run updates of shop/web-config
	// as Git declares it: gitgate judges and admits each one. (The agent's
	// requests would never reach gitgate: matchConditions skip them.)
	mustRun(t, "", "apply", "--as", harness.Agent, "-f", env.fixture)
	gs := install(t, 2, "--cert-lifetime=30s")
	cfg := rest.CopyConfig(env.cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: harness.Person}
	cfg.QPS, cfg.Burst = 500, 500
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	declared, err := client.CoreV1().ConfigMaps("shop").Get(context.Background(), "web-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()

	var ok, failed, notReady atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
				_, err := client.CoreV1().ConfigMaps("shop").Update(rctx, declared.DeepCopy(), metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
				rcancel()
				switch {
				case err == nil:
					ok.Add(1)
				case ctx.Err() == nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	// Watch the rotation happen: the Secret's CA changes, and every replica
	// stays ready throughout.
	seen := [][]byte{getSecret(t).Data["ca.crt"]}
	for len(seen) < 3 && ctx.Err() == nil {
		for _, g := range gs {
			if !ready(g) {
				notReady.Add(1)
			}
		}
		if ca := getSecret(t).Data["ca.crt"]; !bytes.Equal(ca, seen[len(seen)-1]) {
			seen = append(seen, ca)
			t.Logf("CA rotated (%d so far); %d requests admitted, %d failed", len(seen)-1, ok.Load(), failed.Load())
		}
		time.Sleep(250 * time.Millisecond)
	}
	// One more lifetime third, so the first retired CA expires and leaves
	// the bundle while requests go on.
	time.Sleep(8 * time.Second)
	cancel()
	wg.Wait()

	if len(seen) < 3 {
		t.Fatalf("saw %d rotations in 150s with a 30s lifetime, want 2", len(seen)-1)
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d admission requests failed during rotation; first: %v", failed.Load(), failed.Load()+ok.Load(), firstErr.Load())
	}
	if ok.Load() < 100 {
		t.Errorf("only %d requests admitted; the client did not keep up", ok.Load())
	}
	if notReady.Load() > 0 {
		t.Errorf("a replica was not ready %d times during rotation", notReady.Load())
	}
	for i, g := range gs {
		if n := webhookRequests(t, g); n == 0 {
			t.Errorf("replica %d got no requests; the proxy should spread them", i)
		}
	}
	t.Logf("%d admission requests during %d rotations, %d failed", ok.Load(), len(seen)-1, failed.Load())
}

func getSecret(t *testing.T) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := env.cp.Client.Get(context.Background(), clientKey(namespace, secretName), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func caBundle(t *testing.T) []byte {
	t.Helper()
	r := mustRun(t, "", "get", "validatingwebhookconfiguration", webhookName, "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}")
	b, err := base64.StdEncoding.DecodeString(r.Stdout)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func servedLeaf(t *testing.T, g *harness.Gitgate, pool *x509.CertPool) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", "127.0.0.1:"+strconv.Itoa(g.Port), &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatalf("TLS to a replica with the caBundle as roots: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func ready(g *harness.Gitgate) bool {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + g.HealthAddr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// webhookRequests is controller-runtime's count of requests to /validate.
func webhookRequests(t *testing.T, g *harness.Gitgate) int {
	t.Helper()
	text, err := g.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "controller_runtime_webhook_requests_total{") && strings.Contains(line, `webhook="/validate"`) {
			f := strings.Fields(line)
			v, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatal(err)
			}
			total += int(v)
		}
	}
	return total
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func clientKey(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

// TestOneReplicaScansForDrift: two replicas, running as the service
// account with the manifests' RBAC, stand for the drift scan's Lease; one
// scans, the other does not, and when the scanning one stops the other
// takes over once the Lease expires.
func TestOneReplicaScansForDrift(t *testing.T) {
	gs := install(t, 2, "--drift-scan-interval=1s", "--drift-status-namespace="+namespace)
	var leader, other *harness.Gitgate
	waitUntil(t, 30*time.Second, "one replica scans for drift", func() bool {
		for i, g := range gs {
			if driftLeader(t, g) && driftScans(t, g) > 0 {
				leader, other = g, gs[1-i]
				return true
			}
		}
		return false
	})
	time.Sleep(3 * time.Second) // three scan intervals
	if driftLeader(t, other) || driftScans(t, other) > 0 {
		t.Fatalf("both replicas scan: the other reports leader=%v and %v scans", driftLeader(t, other), driftScans(t, other))
	}
	if driftScans(t, leader) < 2 {
		t.Fatalf("the leader scanned %v times in three intervals", driftScans(t, leader))
	}
	holder := env.kubectl.Run("", "get", "lease", "gitgate-drift", "-n", namespace, "-o", "jsonpath={.spec.holderIdentity}")
	if holder.Failed() || holder.Stdout == "" {
		t.Fatalf("Lease gitgate-drift has no holder: %q %s", holder.Stdout, holder.Stderr)
	}
	leader.Stop()
	// The Lease expires 30 s after the last renewal; the other replica
	// retries every 5 s.
	waitUntil(t, 60*time.Second, "the other replica takes over the scan", func() bool {
		return driftLeader(t, other) && driftScans(t, other) > 0
	})
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s", timeout, what)
		}
	}
}

// driftLeader reads gitgate_drift_scan_leader.
func driftLeader(t *testing.T, g *harness.Gitgate) bool {
	t.Helper()
	return metricValue(t, g, "gitgate_drift_scan_leader ") == 1
}

// driftScans reads gitgate_drift_scans_total{result="success"}.
func driftScans(t *testing.T, g *harness.Gitgate) float64 {
	t.Helper()
	return metricValue(t, g, `gitgate_drift_scans_total{result="success"} `)
}

// metricValue is the value of the sample line starting with prefix, 0 if
// there is none.
func metricValue(t *testing.T, g *harness.Gitgate, prefix string) float64 {
	t.Helper()
	text, err := g.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			v, err := strconv.ParseFloat(rest, 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			return v
		}
	}
	return 0
}
