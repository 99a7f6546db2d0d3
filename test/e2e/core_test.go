package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/test/harness"
)

// Each test below starts from the shop as Git declares it (applyShop) or,
// for the first, from no shop at all, and undoes what it changes beyond
// that, so that any of them runs alone.

func TestAgentCreatesEverythingInGit(t *testing.T) {
	removeShop(t)
	r := env.kubectl.Run("", "apply", "--as", agent, "-f", env.fixture)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	for _, obj := range []string{"namespace/shop created", "deployment.apps/web created", "service/web created", "configmap/web-config created"} {
		if !strings.Contains(r.Stdout, obj) {
			t.Errorf("agent apply output lacks %q:\n%s", obj, r.Stdout)
		}
	}
}

func TestPersonReappliesIdenticalManifests(t *testing.T) {
	applyShop(t)
	for _, args := range [][]string{
		{"apply", "--as", person, "-f", env.fixture},
		// Server-side apply always sends the objects, so the webhook sees an
		// UPDATE per object even though nothing changes.
		// --force-conflicts: client-side apply recorded cpu "0.5", the API
		// server stores 500m, and server-side apply calls that a conflict.
		// kubectl's own field manager: the agent takes its fields back (a
		// field manager of the person's own is refused,
		// TestOwnershipRewritesAreDenied).
		{"apply", "--server-side", "--force-conflicts", "--as", person, "-f", env.fixture},
	} {
		if r := env.kubectl.Run("", args...); r.Failed() {
			t.Errorf("%s: want allowed, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
	}
}

func TestPersonSetImageIsDenied(t *testing.T) {
	applyShop(t)
	r := env.kubectl.Run("", "set", "image", "deployment/web", "app=registry.example.com/shop:latest", "-n", "shop", "--as", person)
	wantDenied(t, r, "UPDATE", "web.yaml", "spec.template.spec.containers[name=app].image",
		`Git has "registry.example.com/shop:1.4.2", request has "registry.example.com/shop:latest"`, person)
	if !regexp.MustCompile(`\[field-mismatch\] gitgate denied .* at main@sha1:[0-9a-f]{40}, file web.yaml`).MatchString(r.Stderr) {
		t.Errorf("denial does not name the revision:\n%s", r.Stderr)
	}
	if img := jsonpath(t, "deployment/web", "{.spec.template.spec.containers[0].image}"); img != "registry.example.com/shop:1.4.2" {
		t.Errorf("image after denied set image = %q, want it unchanged", img)
	}
}

func TestPersonLabelIsDenied(t *testing.T) {
	applyShop(t)
	r := env.kubectl.Run("", "label", "deployment/web", "-n", "shop", "owner=me", "--as", person)
	wantDenied(t, r, "UPDATE", "web.yaml", `metadata.labels.owner: Git does not declare it`)
}

func TestPersonCreateUndeclaredConfigMapIsDenied(t *testing.T) {
	applyShop(t)
	r := env.kubectl.Run("", "create", "configmap", "extra", "-n", "shop", "--from-literal=a=b", "--as", person)
	wantDenied(t, r, "CREATE", "ConfigMap shop/extra", "Git does not declare this object")
}

func TestPersonDeleteManagedServiceIsDenied(t *testing.T) {
	applyShop(t)
	r := env.kubectl.Run("", "delete", "service", "web", "-n", "shop", "--as", person)
	wantDenied(t, r, "DELETE", "web.yaml", "To delete it, remove it from")
	if r := env.kubectl.Run("", "get", "service", "web", "-n", "shop"); r.Failed() {
		t.Errorf("service gone after a denied delete: %s", r.Stderr)
	}
}

func TestExemptControllerUpdatesManagedDeployment(t *testing.T) {
	applyShop(t)
	r := env.kubectl.Run("", "annotate", "deployment/web", "-n", "shop", "example.com/rolled=1", "--as", exemptController)
	if r.Failed() {
		t.Fatalf("%s: want allowed, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "annotate", "deployment/web", "-n", "shop", "example.com/rolled-", "--as", exemptController)
}

func TestNewCommitIsEnforcedWithinInterval(t *testing.T) {
	applyShop(t)
	web, err := os.ReadFile(filepath.Join(env.fixture, "web.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	newWeb := strings.Replace(string(web), "shop:1.4.2", "shop:1.5.0", 1)
	hash, err := env.stack.Git.Commit(harness.Change{Write: map[string]string{"web.yaml": newWeb}, Message: "web 1.5.0"})
	if err != nil {
		t.Fatal(err)
	}
	// Put Git and the shop back as the fixture declares them.
	t.Cleanup(func() {
		back, err := env.stack.Git.Commit(harness.Change{Write: map[string]string{"web.yaml": string(web)}, Message: "web 1.4.2"})
		if err != nil {
			t.Fatal(err)
		}
		waitForRevision(t, back)
		applyShop(t)
	})
	waitForRevision(t, hash)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "web.yaml"), []byte(newWeb), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := env.kubectl.Run("", "apply", "--as", person, "-f", filepath.Join(dir, "web.yaml")); r.Failed() {
		t.Fatalf("applying the new revision's manifest: want allowed, got %v\n%s", r.Err, r.Stderr)
	}
	r := env.kubectl.Run("", "apply", "--as", person, "-f", filepath.Join(env.fixture, "web.yaml"))
	wantDenied(t, r, "UPDATE", hash[:7], `Git has "registry.example.com/shop:1.5.0", request has "registry.example.com/shop:1.4.2"`)
}

func TestGitServerDownKeepsLastRevision(t *testing.T) {
	applyShop(t)
	failedBefore := strings.Count(env.stack.Gitgate.Logs(), "sync failed")
	env.stack.Git.Stop()
	t.Cleanup(func() { followGit(t) })
	// Let a poll fail.
	deadline := time.Now().Add(30 * time.Second)
	for strings.Count(env.stack.Gitgate.Logs(), "sync failed") <= failedBefore {
		if time.Now().After(deadline) {
			t.Fatal("gitgate did not notice the Git server going away")
		}
		time.Sleep(200 * time.Millisecond)
	}
	r := env.kubectl.Run("", "set", "image", "deployment/web", "app=registry.example.com/shop:evil", "-n", "shop", "--as", person)
	wantDenied(t, r, "UPDATE", "spec.template.spec.containers[name=app].image")
	if r := env.kubectl.Run("", "label", "deployment/web", "-n", "shop", "synced-by=flux", "--as", agent); r.Failed() {
		t.Errorf("agent with Git down: want allowed, got %v\n%s", r.Err, r.Stderr)
	} else {
		mustRun(t, "label", "deployment/web", "-n", "shop", "synced-by-", "--as", agent)
	}
}

func TestMalformedBodyGets400AndServerKeepsAnswering(t *testing.T) {
	for _, body := range []string{"{not json", `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"x","object":{"raw`, ""} {
		status, resp, err := env.stack.Gitgate.Post("application/json", []byte(body))
		if err != nil {
			t.Fatalf("post %q: %v", body, err)
		}
		if status != http.StatusBadRequest {
			t.Errorf("post %q: HTTP %d, want 400; body %s", body, status, resp)
		}
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("valid-after-garbage"),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "ConfigMap"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"},
			Namespace: "shop", Name: "web-config", Operation: admissionv1.Create,
			UserInfo: authenticationv1.UserInfo{Username: person},
			Object:   runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"web-config","namespace":"shop"},"data":{"greeting":"hello","currency":"EUR"}}`)},
		},
	}
	body, _ := json.Marshal(review)
	status, resp, err := env.stack.Gitgate.Post("application/json", body)
	if err != nil || status != http.StatusOK {
		t.Fatalf("valid request after garbage: HTTP %d, %v: %s", status, err, resp)
	}
	var got admissionv1.AdmissionReview
	if err := json.Unmarshal(resp, &got); err != nil || got.Response == nil {
		t.Fatalf("decode response: %v: %s", err, resp)
	}
	if got.Response.UID != "valid-after-garbage" || !got.Response.Allowed {
		t.Errorf("response = uid %q allowed %v, want the declared ConfigMap allowed", got.Response.UID, got.Response.Allowed)
	}
}

// applyShop applies the fixture as the agent: the shop exists and holds
// what Git declares (fields others added stay, as with any apply).
func applyShop(t *testing.T) {
	t.Helper()
	mustRun(t, "apply", "--as", agent, "-f", env.fixture)
}

// removeShop deletes the shop namespace and the objects Git puts in it, so
// that the agent creates them anew. No namespace controller runs here, so
// the namespace is finalized by hand once its objects are gone.
func removeShop(t *testing.T) {
	t.Helper()
	if r := mustRun(t, "get", "namespace", "shop", "--ignore-not-found", "-o", "name"); r.Stdout == "" {
		return
	}
	mustRun(t, "delete", "--as", agent, "--ignore-not-found", "--wait=false", "-f", env.fixture)
	finalize := `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"shop"},"spec":{"finalizers":[]}}`
	if r := env.kubectl.Run(finalize, "replace", "--raw", "/api/v1/namespaces/shop/finalize", "-f", "-"); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "wait", "--for=delete", "--timeout=30s", "namespace/shop")
}

func mustRun(t *testing.T, args ...string) harness.Result {
	t.Helper()
	r := env.kubectl.Run("", args...)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r
}

func wantDenied(t *testing.T, r harness.Result, want ...string) {
	t.Helper()
	harness.WantDenied(t, r, want...)
	_, msg, _ := strings.Cut(r.Stderr, "denied the request: ")
	msg, _, _ = strings.Cut(msg, "\n")
	if len(msg) >= 1024 {
		t.Errorf("denial is %d bytes, want under 1 KB:\n%s", len(msg), msg)
	}
}

func jsonpath(t *testing.T, obj, path string) string {
	t.Helper()
	r := env.kubectl.Run("", "get", obj, "-n", "shop", "-o", "jsonpath="+path)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r.Stdout
}

func waitForRevision(t *testing.T, hash string) {
	t.Helper()
	want := fmt.Sprintf(`gitgate_git_revision_info{revision="main@sha1:%s"} 1`, hash)
	deadline := time.Now().Add(30 * time.Second)
	for {
		m, err := env.stack.Gitgate.Metrics()
		if err == nil && strings.Contains(m, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("gitgate did not load %s within 30s", hash)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
