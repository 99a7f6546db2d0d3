package cli

import (
	"strings"
	"testing"
)

// TestRenderPrintsWhatTheWebhookEnforces renders the repository the webhook
// follows with gitgate render; a person applying exactly that output is
// allowed (it is what Git declares, namespaces defaulted as gitgate places
// them), and the same output with one value changed is denied.
func TestRenderPrintsWhatTheWebhookEnforces(t *testing.T) {
	applyShop(t)
	code, stdout, stderr := gitgate(t, append([]string{"render"}, source()...)...)
	if code != 0 {
		t.Fatalf("gitgate render: exit %d\n%s", code, stderr)
	}
	if !strings.HasPrefix(stdout, "# revision main@sha1:") || !strings.Contains(stdout, "# Deployment.apps shop/web from web.yaml") {
		t.Fatalf("render output lacks the revision or the Deployment's origin:\n%.600s", stdout)
	}
	// Not a dry run: this stack only warns on those (--dry-run-action warn).
	if r := env.kubectl.Run(stdout, "apply", "--server-side", "--force-conflicts", "-f", "-", "--as", person); r.Failed() || strings.Contains(r.Stderr, "gitgate would deny") {
		t.Fatalf("a person's apply of what render printed: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	changed := strings.Replace(stdout, "image: registry.example.com/shop:1.4.2", "image: registry.example.com/shop:latest", 1)
	if changed == stdout {
		t.Fatal("the rendered Deployment lacks image registry.example.com/shop:1.4.2")
	}
	r := env.kubectl.Run(changed, "apply", "--server-side", "--force-conflicts", "-f", "-", "--as", person)
	if found, msg := denial(r.Stderr); !r.Failed() || !found || !strings.Contains(msg, "[field-mismatch]") {
		t.Fatalf("a changed image: want a field-mismatch denial, got %v\n%s", r.Err, r.Stderr)
	}
}
