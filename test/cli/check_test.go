package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

// request is one request of the corpus: what a person sends with kubectl,
// and the same request for gitgate check.
type request struct {
	name string
	// prepare returns the kubectl arguments (with -f FILE) and the check
	// arguments (-f, --old, --operation) for the same request.
	prepare func(t *testing.T, dir string) (kubectl, check []string)
	// denied is whether the webhook refuses it; the texts must agree
	// either way.
	denied bool
}

var corpus = []request{
	{name: "create an undeclared ConfigMap", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		f := writeYAML(t, dir, "extra.yaml", map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "extra", "namespace": "shop"}, "data": map[string]any{"a": "b"}})
		return []string{"create", "-f", f}, []string{"-f", f, "--operation", "create"}
	}},
	{name: "change a declared value", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		obj := live(t, "configmap", "web-config", "-n", "shop")
		old := writeYAML(t, dir, "old.yaml", obj)
		set(obj, "data.greeting", "hi")
		f := writeYAML(t, dir, "new.yaml", obj)
		return []string{"replace", "-f", f}, []string{"-f", f, "--old", old, "--operation", "update"}
	}},
	{name: "change an image", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		obj := live(t, "deployment", "web", "-n", "shop")
		old := writeYAML(t, dir, "old.yaml", obj)
		containers := obj["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)
		containers[0].(map[string]any)["image"] = "registry.example.com/shop:latest"
		f := writeYAML(t, dir, "new.yaml", obj)
		return []string{"replace", "-f", f}, []string{"-f", f, "--old", old, "--operation", "update"}
	}},
	{name: "add an undeclared label", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		obj := live(t, "deployment", "web", "-n", "shop")
		old := writeYAML(t, dir, "old.yaml", obj)
		set(obj, "metadata.labels.owner", "me")
		f := writeYAML(t, dir, "new.yaml", obj)
		return []string{"replace", "-f", f}, []string{"-f", f, "--old", old, "--operation", "update"}
	}},
	{name: "delete a declared ConfigMap", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		f := writeYAML(t, dir, "live.yaml", live(t, "configmap", "web-config", "-n", "shop"))
		return []string{"delete", "-f", f, "--wait=false"}, []string{"-f", f, "--operation", "delete"}
	}},
	{name: "delete the managed namespace", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		f := writeYAML(t, dir, "live.yaml", live(t, "namespace", "shop"))
		return []string{"delete", "-f", f, "--wait=false"}, []string{"-f", f, "--operation", "delete"}
	}},
	// kubectl replace rewrites an object's last-applied record to the
	// object it sends, here the whole live object, which the next
	// client-side apply would act on: refused (last-applied). check is
	// given the record kubectl writes.
	{name: "replace a declared object unchanged, kubectl rewriting its last-applied record", denied: true, prepare: func(t *testing.T, dir string) ([]string, []string) {
		obj := live(t, "service", "web", "-n", "shop")
		old := writeYAML(t, dir, "old.yaml", obj)
		f := writeYAML(t, dir, "new.yaml", withRecordOfItself(t, obj))
		return []string{"replace", "-f", f}, []string{"-f", f, "--old", old, "--operation", "update"}
	}},
	{name: "replace a declared object unchanged, without a last-applied record", prepare: func(t *testing.T, dir string) ([]string, []string) {
		mustRun(t, "-n", "shop", "annotate", "service", "web", "kubectl.kubernetes.io/last-applied-configuration-", "--as", agent)
		obj := live(t, "service", "web", "-n", "shop")
		old := writeYAML(t, dir, "old.yaml", obj)
		f := writeYAML(t, dir, "new.yaml", obj)
		return []string{"replace", "-f", f}, []string{"-f", f, "--old", old, "--operation", "update"}
	}},
}

// TestCheckGivesTheWebhooksVerdict sends each request of the corpus
// through the API server to the webhook, and the same request through
// gitgate check over the repository the webhook follows: the verdict and
// its text must be identical.
func TestCheckGivesTheWebhooksVerdict(t *testing.T) {
	for _, tc := range corpus {
		t.Run(tc.name, func(t *testing.T) {
			applyShop(t)
			kubectlArgs, checkArgs := tc.prepare(t, t.TempDir())
			r := env.kubectl.Run("", append(kubectlArgs, "--as", person)...)
			webhookDenied, webhookMsg := denial(r.Stderr)
			if r.Failed() && !webhookDenied {
				t.Fatalf("%s failed, but not by gitgate:\n%s", r.CommandLine(), r.Stderr)
			}
			if webhookDenied != tc.denied {
				t.Fatalf("%s: webhook denied = %v, want %v\n%s", r.CommandLine(), webhookDenied, tc.denied, r.Stderr)
			}
			args := append(append([]string{"check"}, source()...), append(checkArgs, "--as", person, "-o", "json")...)
			code, stdout, stderr := gitgate(t, args...)
			var verdicts []struct {
				Allowed bool   `json:"allowed"`
				Reason  string `json:"reason"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(stdout), &verdicts); err != nil || len(verdicts) != 1 {
				t.Fatalf("gitgate %v: exit %d, %v\n%s\n%s", args, code, err, stdout, stderr)
			}
			v := verdicts[0]
			if wantCode := map[bool]int{true: 1, false: 0}[tc.denied]; code != wantCode {
				t.Errorf("check exit code %d, want %d", code, wantCode)
			}
			if v.Allowed == webhookDenied || v.Message != webhookMsg {
				t.Errorf("check and webhook disagree:\ncheck   (allowed %v, %s): %s\nwebhook (denied %v): %s", v.Allowed, v.Reason, v.Message, webhookDenied, webhookMsg)
			}
		})
	}
	applyShop(t)
}

// denial finds gitgate's denial in kubectl's stderr.
func denial(stderr string) (bool, string) {
	_, msg, found := strings.Cut(stderr, `admission webhook "validate.gitgate.dev" denied the request: `)
	msg, _, _ = strings.Cut(msg, "\n")
	return found, msg
}

// withRecordOfItself is obj with kubectl's last-applied record set to obj
// itself, as kubectl replace writes it.
func withRecordOfItself(t *testing.T, obj map[string]any) map[string]any {
	t.Helper()
	meta := obj["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	delete(ann, "kubectl.kubernetes.io/last-applied-configuration")
	record, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	if ann == nil {
		ann = map[string]any{}
		meta["annotations"] = ann
	}
	ann["kubectl.kubernetes.io/last-applied-configuration"] = string(record) + "\n"
	return obj
}
