package flux

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// After the real kustomize-controller applied Git (server-side apply, its
// own labels and managed fields), gitgate drift finds every declared
// object as Git declares it: what Flux adds is not drift.
func TestDriftAfterFluxApplied(t *testing.T) {
	head, err := env.git.Head()
	if err != nil {
		t.Fatal(err)
	}
	waitApplied(t, head)
	bin, err := harness.BuildGitgate()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "drift", "--kubeconfig", env.kubectl.Kubeconfig, "--repo-url", env.git.HTTPURL(), "--branch", "main", "-o", "json")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	var report struct {
		Objects []struct {
			Kind, Namespace, Name, State string
			Fields                       []string
		}
	}
	if err := json.Unmarshal(out.Bytes(), &report); err != nil {
		t.Fatalf("%v\n%s\n%s", err, out.String(), stderr.String())
	}
	var kinds []string
	for _, o := range report.Objects {
		kinds = append(kinds, o.Kind)
		if o.State != "matches" {
			t.Errorf("%s %s/%s: %s %v, want matches", o.Kind, o.Namespace, o.Name, o.State, o.Fields)
		}
	}
	for _, k := range []string{"Namespace", "ConfigMap", "Deployment", "GitRepository", "Kustomization"} {
		if !strings.Contains(strings.Join(kinds, " "), k) {
			t.Errorf("the report has no %s: %v", k, kinds)
		}
	}
	if err != nil {
		t.Errorf("drift exited with %v, want 0\n%s", err, stderr.String())
	}
}
