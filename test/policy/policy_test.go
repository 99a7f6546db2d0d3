package policy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitgate/gitgate/test/harness"
)

// Each test below applies the fleet as the agent, removes the owner label
// and the break-glass grants it adds, and reads only the audit records,
// API server audit events and Events written since it started, so that
// any of them runs alone.

func TestAgentAppliesFleet(t *testing.T) {
	applyFleet(t)
}

func TestWarnModeAllowsWithWarning(t *testing.T) {
	applyFleet(t)
	// shop-warn has no label: gitgate's --mode warn applies.
	since := time.Now()
	removeOwnerLabelAfter(t, "shop-warn")
	r := env.kubectl.Run("", "label", "configmap", "web-config", "-n", "shop-warn", "owner=me", "--as", person)
	if r.Failed() {
		t.Fatalf("%s: want allowed in warn mode, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	want := "Warning: [undeclared-change] gitgate would deny (warn mode) UPDATE of ConfigMap shop-warn/web-config by dev-user"
	if !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "metadata.labels: Git does not declare it") {
		t.Errorf("kubectl stderr lacks the warning %q:\n%s", want, r.Stderr)
	}
	if got := get(t, "shop-warn", "{.metadata.labels.owner}"); got != "me" {
		t.Errorf("label after warn = %q, want it stored", got)
	}
	waitRecord(t, since, "warned", "shop-warn", "web-config", "undeclared-change")
}

func TestAuditModeAllowsSilently(t *testing.T) {
	applyFleet(t)
	// shop-audit is labelled gitgate.dev/mode=audit in Git.
	since := time.Now()
	removeOwnerLabelAfter(t, "shop-audit")
	r := env.kubectl.Run("", "label", "configmap", "web-config", "-n", "shop-audit", "owner=me", "--as", person)
	if r.Failed() {
		t.Fatalf("%s: want allowed in audit mode, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if strings.Contains(r.Stderr, "Warning") {
		t.Errorf("audit mode must be silent, kubectl printed:\n%s", r.Stderr)
	}
	if got := get(t, "shop-audit", "{.metadata.labels.owner}"); got != "me" {
		t.Errorf("label after audit = %q, want it stored", got)
	}
	rec := waitRecord(t, since, "audited", "shop-audit", "web-config", "undeclared-change")
	if rec["mode"] != "audit" || rec["user"] != person || !strings.HasPrefix(fmt.Sprint(rec["revision"]), "main@sha1:") || rec["file"] != "shop-audit.yaml" {
		t.Errorf("audit record = %v", rec)
	}
}

func TestEnforceDeniesAndAuditsEverywhere(t *testing.T) {
	applyFleet(t)
	// shop is labelled enforce in Git, overriding --mode warn.
	since := time.Now()
	eventsBefore := deniedEvents(t)
	removeOwnerLabelAfter(t, "shop")
	r := env.kubectl.Run("", "label", "configmap", "web-config", "-n", "shop", "owner=me", "--as", person)
	if !r.Failed() || !strings.Contains(r.Stderr, `admission webhook "validate.gitgate.dev" denied the request`) {
		t.Fatalf("%s: want denied by gitgate, got %v\n%s%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
	}
	rec := waitRecord(t, since, "denied", "shop", "web-config", "undeclared-change")
	if fmt.Sprint(rec["fields"]) != "[metadata.labels]" || rec["operation"] != "UPDATE" || rec["dryRun"] != false {
		t.Errorf("denial record = %v", rec)
	}

	// The API server's own audit log carries gitgate's auditAnnotations.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ann, ok := apiServerAnnotations(t, since, "shop", "web-config", "validate.gitgate.dev/decision", "denied")
		if ok {
			if ann["validate.gitgate.dev/reason"] != "undeclared-change" || !strings.HasPrefix(ann["validate.gitgate.dev/revision"], "main@sha1:") {
				t.Errorf("API server audit annotations = %v", ann)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("API server audit log has no gitgate decision for the denied request")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// And a Warning Event on the object, written off the hot path. Repeated
	// denials alike count up one Event, so look for a higher count.
	deadline = time.Now().Add(30 * time.Second)
	for deniedEvents(t) <= eventsBefore {
		if time.Now().After(deadline) {
			t.Fatalf("no new GitProvenanceDenied event: %d before, %d now", eventsBefore, deniedEvents(t))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// deniedEvents counts the Warning Events gitgate wrote for denied updates
// of shop/web-config by dev-user.
func deniedEvents(t *testing.T) int {
	t.Helper()
	r := env.kubectl.Run("", "get", "events", "-n", "shop", "--field-selector", "reason=GitProvenanceDenied,involvedObject.name=web-config",
		"-o", "jsonpath={range .items[*]}{.count} {.type} {.message}{\"\\n\"}{end}")
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	n := 0
	for _, line := range strings.Split(r.Stdout, "\n") {
		count, rest, _ := strings.Cut(line, " ")
		if strings.HasPrefix(rest, "Warning gitgate denied UPDATE by dev-user: undeclared-change") {
			c, err := strconv.Atoi(count)
			if err != nil {
				t.Fatalf("event count %q: %v", count, err)
			}
			n += c
		}
	}
	return n
}

func TestBreakGlassGrantIgnoresMalformedEntries(t *testing.T) {
	applyFleet(t)
	removeOwnerLabelAfter(t, "shop")
	clearGrantsAfter(t)
	now := time.Now().UTC()
	setGrants(t, map[string]string{
		"inc-1":      grant([]string{person}, []string{"shop"}, "INC-1 checkout down", now, now.Add(30*time.Minute)),
		"broken":     "{users: [dev-user], reason: no expiry}",
		"too-long":   grant([]string{person}, nil, "forever", now, now.Add(24*time.Hour)),
		"zz-unknown": "users: [dev-user]\nreason: x\nexpires: tomorrow\n",
	})
	r := waitAllowed(t, "label", "configmap", "web-config", "-n", "shop", "--overwrite", "owner=incident", "--as", person)
	want := "Warning: break-glass grant inc-1 (INC-1 checkout down) used; commit this change to Git or the GitOps agent will revert it"
	if !strings.Contains(r.Stderr, want) {
		t.Errorf("kubectl stderr lacks %q:\n%s", want, r.Stderr)
	}
	if got := get(t, "shop", "{.metadata.labels.owner}"); got != "incident" {
		t.Errorf("label after break-glass = %q, want incident", got)
	}
	rec := waitRecord(t, now, "break-glass", "shop", "web-config", "undeclared-change")
	if rec["grant"] != "inc-1" {
		t.Errorf("break-glass record = %v", rec)
	}
	m := metrics(t)
	for _, w := range []string{"gitgate_break_glass_invalid_grants 3", "gitgate_break_glass_active_grants 1", `gitgate_break_glass_uses_total{kind="grant"}`} {
		if !strings.Contains(m, w) {
			t.Errorf("metrics lack %q", w)
		}
	}
	if logs := env.stack.Gitgate.Logs(); !strings.Contains(logs, "invalid break-glass grant ignored") || !strings.Contains(logs, `"grant":"too-long"`) {
		t.Errorf("gitgate did not log the invalid grants")
	}
	// Removing the grant takes effect through the watch, without a restart.
	setGrants(t, map[string]string{})
	waitDenied(t, "label", "configmap", "web-config", "-n", "shop", "--overwrite", "owner=after", "--as", person)
}

func TestShortGrantStopsAtExpiryWithoutRestart(t *testing.T) {
	applyFleet(t)
	removeOwnerLabelAfter(t, "shop")
	clearGrantsAfter(t)
	now := time.Now().UTC()
	expires := now.Add(6 * time.Second)
	setGrants(t, map[string]string{"brief": grant([]string{person}, nil, "INC-2 two-minute fix", now, expires)})
	r := waitAllowed(t, "label", "configmap", "web-config", "-n", "shop", "--overwrite", "owner=brief", "--as", person)
	if !strings.Contains(r.Stderr, "break-glass grant brief") {
		t.Errorf("no break-glass warning:\n%s", r.Stderr)
	}
	time.Sleep(time.Until(expires) + 200*time.Millisecond)
	r = env.kubectl.Run("", "label", "configmap", "web-config", "-n", "shop", "--overwrite", "owner=late", "--as", person)
	if !r.Failed() || !strings.Contains(r.Stderr, "denied the request") {
		t.Fatalf("after expiry: want denied, got %v\n%s%s", r.Err, r.Stdout, r.Stderr)
	}
	if !strings.Contains(metrics(t), "gitgate_break_glass_active_grants 0") {
		t.Error("an expired grant still counts as active")
	}
}

func TestBreakglassCommandGrantsAndRevokes(t *testing.T) {
	applyFleet(t)
	removeOwnerLabelAfter(t, "shop")
	clearGrantsAfter(t)
	setGrants(t, map[string]string{})
	bin, err := harness.BuildGitgate()
	if err != nil {
		t.Fatal(err)
	}
	cli := func(args ...string) string {
		t.Helper()
		args = append(args, "--kubeconfig", env.stack.ControlPlane.Kubeconfig, "--gitgate-namespace", gitgateNS)
		out, err := exec.Command(bin, append([]string{"breakglass"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("gitgate breakglass %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cli("grant", "cli-1", "--user", person, "--for", "10m", "--reason", "INC-3 via cli")
	r := waitAllowed(t, "label", "configmap", "web-config", "-n", "shop", "--overwrite", "owner=cli", "--as", person)
	if !strings.Contains(r.Stderr, "break-glass grant cli-1 (INC-3 via cli) used") {
		t.Errorf("no break-glass warning:\n%s", r.Stderr)
	}
	if out := cli("list"); !regexp.MustCompile(`cli-1\s+active\s+dev-user`).MatchString(out) {
		t.Errorf("list does not show the grant active:\n%s", out)
	}
	cli("revoke", "cli-1")
	waitDenied(t, "label", "configmap", "web-config", "-n", "shop", "--overwrite", "owner=revoked", "--as", person)

	// A grant over --max-break-glass is refused before it is written.
	out, err := exec.Command(bin, "breakglass", "grant", "long", "--user", person, "--for", "5h", "--reason", "x",
		"--kubeconfig", env.stack.ControlPlane.Kubeconfig, "--gitgate-namespace", gitgateNS).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "longer than the maximum") {
		t.Errorf("5h grant: want refused, got %v\n%s", err, out)
	}
}

func TestThousandDenialsOneRecordEach(t *testing.T) {
	applyFleet(t)
	// Names of this run only; the audit files hold every earlier record.
	prefix := fmt.Sprintf("bulk-%d-", time.Now().UnixMilli())
	_, filesBefore := readAudit(t)
	cfg := rest.CopyConfig(env.stack.ControlPlane.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: person}
	cfg.QPS, cfg.Burst = 2000, 2000
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n, workers = 1000, 16
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var unexpected []string
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s%04d", prefix, i), Namespace: "shop"}, Data: map[string]string{"i": fmt.Sprint(i)}}
				_, err := kube.CoreV1().ConfigMaps("shop").Create(context.Background(), cm, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
				if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "gitgate denied CREATE") {
					mu.Lock()
					unexpected = append(unexpected, fmt.Sprintf("%s: %v", cm.Name, err))
					mu.Unlock()
				}
			}
		}()
	}
	start := time.Now()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d denials in %s", n, time.Since(start).Round(time.Millisecond))
	if len(unexpected) > 0 {
		t.Fatalf("%d requests were not denied by gitgate, e.g. %s", len(unexpected), unexpected[0])
	}

	var seen map[string]int
	var files int
	deadline := time.Now().Add(30 * time.Second)
	for {
		var recs []map[string]any
		recs, files = readAudit(t)
		seen = map[string]int{}
		for _, r := range recs {
			if name, _ := r["name"].(string); strings.HasPrefix(name, prefix) {
				seen[name]++
				if r["decision"] != "denied" || r["reason"] != "not-in-git" || r["dryRun"] != true || r["uid"] == "" {
					t.Fatalf("bulk record = %v", r)
				}
			}
		}
		if len(seen) == n || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(seen) != n {
		t.Fatalf("audit files hold records for %d of %d denials", len(seen), n)
	}
	for name, c := range seen {
		if c != 1 {
			t.Errorf("%s recorded %d times", name, c)
		}
	}
	if files <= filesBefore {
		t.Errorf("audit file never rotated (%d files before, %d after)", filesBefore, files)
	}
	if m := metrics(t); !strings.Contains(m, "gitgate_audit_records_dropped_total 0") {
		t.Errorf("records were dropped")
	}
}

// applyFleet applies the fleet as the agent: the namespaces and ConfigMaps
// exist as Git declares them.
func applyFleet(t *testing.T) {
	t.Helper()
	if r := env.kubectl.Run("", "apply", "--as", agent, "-f", env.fixture); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// removeOwnerLabelAfter removes, as the agent, the owner label the test
// puts on web-config in ns: the next test labels it without --overwrite.
func removeOwnerLabelAfter(t *testing.T, ns string) {
	t.Helper()
	t.Cleanup(func() {
		if get(t, ns, "{.metadata.labels.owner}") == "" {
			return
		}
		if r := env.kubectl.Run("", "label", "configmap", "web-config", "-n", ns, "owner-", "--as", agent); r.Failed() {
			t.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
	})
}

// clearGrantsAfter empties the grants ConfigMap once the test is done and
// waits until gitgate counts no active grant, so that no grant outlives
// the test that wrote it, even a failed one.
func clearGrantsAfter(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		setGrants(t, map[string]string{})
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(metrics(t), "gitgate_break_glass_active_grants 0") {
			if time.Now().After(deadline) {
				t.Fatal("gitgate still counts an active grant 10s after they were removed")
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// grant renders one ConfigMap entry.
func grant(users, namespaces []string, reason string, granted, expires time.Time) string {
	out, _ := json.Marshal(map[string]any{"users": users, "namespaces": namespaces, "reason": reason,
		"grantedAt": granted.Format(time.RFC3339Nano), "expiresAt": expires.Format(time.RFC3339Nano)})
	return string(out)
}

// setGrants replaces the grants ConfigMap's data, as an operator with
// kubectl would.
func setGrants(t *testing.T, data map[string]string) {
	t.Helper()
	cm := map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "gitgate-break-glass", "namespace": gitgateNS}, "data": data}
	body, _ := json.Marshal(cm)
	if r := env.kubectl.Run("", "delete", "configmap", "gitgate-break-glass", "-n", gitgateNS, "--ignore-not-found"); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	if r := env.kubectl.Run(string(body), "create", "-f", "-"); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// waitAllowed retries a kubectl command until gitgate lets it through
// (a grant reaches gitgate through a watch, within moments).
func waitAllowed(t *testing.T, args ...string) harness.Result {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := env.kubectl.Run("", args...)
		if !r.Failed() {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still denied after 10s: %s", r.CommandLine(), r.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitDenied(t *testing.T, args ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := env.kubectl.Run("", args...)
		if r.Failed() && strings.Contains(r.Stderr, "denied the request") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still allowed after 10s: %s%s", r.CommandLine(), r.Stdout, r.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(t *testing.T, ns, path string) string {
	t.Helper()
	r := env.kubectl.Run("", "get", "configmap", "web-config", "-n", ns, "-o", "jsonpath="+path)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}

func metrics(t *testing.T) string {
	t.Helper()
	m, err := env.stack.Gitgate.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readAudit reads gitgate's audit file and its rotated backups; every line
// must be exactly one JSON record.
func readAudit(t *testing.T) ([]map[string]any, int) {
	t.Helper()
	files, err := filepath.Glob(env.auditFile + "*")
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			var r map[string]any
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				fh.Close()
				t.Fatalf("%s: a line is not one JSON record: %v: %q", f, err, sc.Text())
			}
			recs = append(recs, r)
		}
		fh.Close()
	}
	return recs, len(files)
}

// waitRecord waits for gitgate's audit files to hold a record written
// since then and returns it.
func waitRecord(t *testing.T, since time.Time, decision, ns, name, reason string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs, _ := readAudit(t)
		for i := len(recs) - 1; i >= 0; i-- {
			r := recs[i]
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(r["time"]))
			if err != nil {
				t.Fatalf("audit record time: %v: %v", err, r)
			}
			if !at.Before(since) && r["decision"] == decision && r["namespace"] == ns && r["name"] == name && r["reason"] == reason {
				return r
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s record for %s/%s (%s) in %s", decision, ns, name, reason, env.auditFile)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiServerAnnotations finds a request since then in the API server's
// audit log whose annotation key has value want.
func apiServerAnnotations(t *testing.T, since time.Time, ns, name, key, want string) (map[string]string, bool) {
	t.Helper()
	f, err := os.Open(env.apiAuditLog)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var ev struct {
			ObjectRef struct {
				Namespace, Name string
			} `json:"objectRef"`
			Annotations    map[string]string `json:"annotations"`
			StageTimestamp time.Time         `json:"stageTimestamp"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		// The log keeps microseconds.
		if ev.StageTimestamp.Before(since.Truncate(time.Microsecond)) {
			continue
		}
		if ev.ObjectRef.Namespace == ns && ev.ObjectRef.Name == name && ev.Annotations[key] == want {
			return ev.Annotations, true
		}
	}
	return nil, false
}
