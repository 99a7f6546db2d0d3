package harness

import (
	"strings"
	"testing"
)

// WantDenied checks that gitgate, not the API server, refused the kubectl
// run r, and that the denial carries each of want.
func WantDenied(t testing.TB, r Result, want ...string) {
	t.Helper()
	if !r.Failed() {
		t.Fatalf("%s: want denied, got allowed:\n%s", r.CommandLine(), r.Stdout)
	}
	if !strings.Contains(r.Stderr, `admission webhook "validate.gitgate.dev" denied the request`) {
		t.Fatalf("%s: failed, but not by gitgate:\n%s", r.CommandLine(), r.Stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.Stderr, w) {
			t.Errorf("%s: denial lacks %q:\n%s", r.CommandLine(), w, r.Stderr)
		}
	}
}
