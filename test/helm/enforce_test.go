package helm

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/test/harness"
)

// renderLog is gitgate's log line for a HelmRelease it rendered as
// helm-controller's latest release and now enforces.
type renderLog struct {
	Msg          string `json:"msg"`
	Root         string `json:"root"`
	Release      string `json:"release"`
	Version      int    `json:"version"`
	Chart        string `json:"chart"`
	ChartVersion string `json:"chartVersion"`
	ConfigDigest string `json:"configDigest"`
}

// enforced waits until helm-controller has released r as history[0] and
// gitgate enforces that release: it logged the render of that version.
// It returns the HelmRelease's status and gitgate's line.
func enforced(t *testing.T, r release) (harness.FluxStatus, renderLog) {
	t.Helper()
	installed(t, r)
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := env.flux.FluxStatus("helmrelease", shop, r.name)
		if err != nil {
			t.Fatal(err)
		}
		if l, ok := renderedAs(r, st); ok {
			return st, l
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitgate does not enforce the latest release of HelmRelease shop/%s (status %+v)", r.name, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// renderedAs finds gitgate's render line for the latest release of st.
func renderedAs(r release, st harness.FluxStatus) (renderLog, bool) {
	if len(st.History) == 0 {
		return renderLog{}, false
	}
	for _, line := range strings.Split(env.gitgate.Logs(), "\n") {
		var l renderLog
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "HelmRelease rendered as its latest release" {
			continue
		}
		if l.Root == "HelmRelease shop/"+r.name && l.Version == st.History[0].Version {
			return l, true
		}
	}
	return renderLog{}, false
}

// TestGitgateRendersWhatHelmControllerReleased: for each HelmRelease,
// gitgate's render is the release helm-controller made: its chart
// version and the digest of its values are history[0]'s.
func TestGitgateRendersWhatHelmControllerReleased(t *testing.T) {
	for _, r := range env.releases {
		t.Run(r.name, func(t *testing.T) {
			st, l := enforced(t, r)
			h := st.History[0]
			if l.Chart != h.ChartName || l.ChartVersion != h.ChartVersion || l.ConfigDigest != h.ConfigDigest || l.Release != h.Name {
				t.Errorf("gitgate rendered %+v, helm-controller released %+v", l, h)
			}
		})
	}
}

// TestDriftFindsNothingButUnverifiable: once helm-controller has
// released every HelmRelease and gitgate enforces them, gitgate serve's
// drift scan finds nothing missing or different; the random token, the
// hook and Helm's release records are unverifiable, never "matches".
func TestDriftFindsNothingButUnverifiable(t *testing.T) {
	for _, r := range env.releases {
		enforced(t, r)
	}
	since := time.Now().UTC().Truncate(time.Second)
	var summary, drifted string
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		res := env.kubectl.Run("", "get", "configmap", "gitgate-drift", "-n", harness.GitgateNamespace, "-o", "jsonpath={.data.scannedAt}|{.data.summary}|{.data.drifted}")
		parts := strings.SplitN(res.Stdout, "|", 3)
		if len(parts) == 3 {
			at, err := time.Parse(time.RFC3339, parts[0])
			summary, drifted = parts[1], parts[2]
			if err == nil && !at.Before(since.Add(time.Second)) {
				break
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	for _, w := range []string{"differs=0", "missing=0", "unreadable=0"} {
		if !strings.Contains(summary, w) {
			t.Errorf("drift summary %q lacks %s; drifted: %s", summary, w, drifted)
		}
	}
	if strings.Contains(summary, "unverifiable=0") || !strings.Contains(summary, "unverifiable=") {
		t.Errorf("drift summary %q: want the random token, hooks and release records unverifiable", summary)
	}
	if drifted != "null" && drifted != "[]" {
		t.Errorf("drifted objects: %s", drifted)
	}
}

// TestPersonIdenticalServerSideApplyAllowed: a person who applies, server
// side, exactly what the cluster holds of a HelmRelease's objects (the
// random token included, left as helm-controller wrote it) is allowed.
func TestPersonIdenticalServerSideApplyAllowed(t *testing.T) {
	for _, r := range env.releases {
		enforced(t, r)
		objs := [][]string{{"deployment", r.deployment}}
		if r.chart == "shopfront" {
			objs = append(objs, []string{"secret", r.name + "-session"}, []string{"configmap", r.name + "-config"})
		}
		for _, o := range objs {
			t.Run(r.name+"/"+o[0], func(t *testing.T) {
				live := liveForApply(t, o[0], o[1])
				res := env.kubectl.Run(live, "apply", "--server-side", "--force-conflicts", "-f", "-", "--as", person)
				if res.Failed() {
					t.Errorf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
				}
			})
		}
	}
}

// liveForApply is the live object as a person would apply it back: its
// fields, without what the API server alone writes.
func liveForApply(t *testing.T, kind, name string) string {
	t.Helper()
	var obj map[string]any
	getJSON(t, &obj, kind, name, "-n", shop)
	delete(obj, "status")
	meta := obj["metadata"].(map[string]any)
	for _, f := range []string{"managedFields", "resourceVersion", "uid", "creationTimestamp", "generation"} {
		delete(meta, f)
	}
	out, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestPersonWriteOfRandomTokenRefused: the token shopfront's chart makes
// with randAlphaNum is nobody's to choose but helm-controller's: a
// person's write of it is refused as indeterminate, naming the
// HelmRelease and the field, never a value.
func TestPersonWriteOfRandomTokenRefused(t *testing.T) {
	r := env.releases[1]
	enforced(t, r)
	var secret struct {
		Data map[string]string `json:"data"`
	}
	getJSON(t, &secret, "secret", r.name+"-session", "-n", shop)
	res := env.kubectl.Run("", "patch", "secret", r.name+"-session", "-n", shop, "--type", "merge",
		"-p", `{"data":{"token":"bWluZW1pbmVtaW5lbWluZW1pbmVtaW5l"}}`, "--as", person)
	harness.WantDenied(t, res, "[indeterminate]", "HelmRelease shop/"+r.name, "data.token", "only the GitOps agent, which renders it")
	if strings.Contains(res.Stderr, "bWluZW1pbmVtaW5l") || strings.Contains(res.Stderr, secret.Data["token"]) {
		t.Errorf("the denial shows a token:\n%s", res.Stderr)
	}
}

// TestUnsupportedSourceFailsAlone: the HelmRelease whose chart comes from
// a Bucket fails alone, logged and counted, while gitgate stays ready and
// the other HelmReleases are enforced (TestPersonEditOfRenderedDeploymentRefused).
func TestUnsupportedSourceFailsAlone(t *testing.T) {
	for _, r := range env.releases {
		enforced(t, r)
	}
	root := "HelmRelease shop/" + bucketRelease
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(env.gitgate.Logs(), fmt.Sprintf(`"root":%q`, root)) || !logHas("root failed", root, "Bucket") {
		if time.Now().After(deadline) {
			t.Fatalf("gitgate logged no failure of %s", root)
		}
		time.Sleep(200 * time.Millisecond)
	}
	metrics, err := env.gitgate.Metrics()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(metrics, fmt.Sprintf(`gitgate_root_sync_failures_total{root=%q,source=%q}`, root, root)) {
		t.Errorf("no gitgate_root_sync_failures_total of %s", root)
	}
	if err := env.gitgate.WaitReady(5 * time.Second); err != nil {
		t.Errorf("gitgate not ready: %v", err)
	}
}

// logHas reports a line of gitgate's log holding every one of subs.
func logHas(subs ...string) bool {
next:
	for _, line := range strings.Split(env.gitgate.Logs(), "\n") {
		for _, s := range subs {
			if !strings.Contains(line, s) {
				continue next
			}
		}
		return true
	}
	return false
}

// TestForgedReleaseRecordRefused: Helm takes the Secret labelled
// owner=helm, name=<release> of the highest version for the release as
// it is, whatever its name; a controller (any service account) that
// writes one would tell helm-controller what it released, and what to
// delete at its next upgrade. gitgate refuses it: Helm's records of a
// release it enforces are the agent's alone.
func TestForgedReleaseRecordRefused(t *testing.T) {
	r := env.releases[0]
	enforced(t, r)
	forged := `{"apiVersion":"v1","kind":"Secret","type":"helm.sh/release.v1","metadata":{"name":"forged","namespace":"shop",
		"labels":{"owner":"helm","name":"` + r.name + `","status":"deployed","version":"99"}},"data":{"release":"Zm9yZ2Vk"}}`
	// An operator of shop: a service account RBAC lets write Secrets.
	const binding = `{"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding","metadata":{"name":"shop-operator","namespace":"shop"},
		"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
		"subjects":[{"kind":"ServiceAccount","name":"operator","namespace":"shop"}]}`
	if res := env.kubectl.Run(binding, "apply", "-f", "-", "--as", harness.ExemptController); res.Failed() {
		t.Fatalf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
	}
	res := env.kubectl.Run(forged, "create", "-f", "-", "--as", "system:serviceaccount:shop:operator")
	harness.WantDenied(t, res, "[agent-only]", "HelmRelease shop/"+r.name+" claims this object", "Helm's records of release "+r.name)
}
