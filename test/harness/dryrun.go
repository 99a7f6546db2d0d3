package harness

import (
	"fmt"
	"os"
	"path/filepath"
)

// DryRunNamespace is gitgate's dry-run sandbox (serve's default for
// --dry-run-namespace).
const DryRunNamespace = "gitgate-dryrun"

// CreateDryRunNamespace creates the sandbox Namespace exactly as
// manifests/base/dryrun.yaml declares it, so that gitgate can learn the
// defaults of a declared object a person creates before the agent.
func CreateDryRunNamespace(k *Kubectl) error {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "manifests", "base", "dryrun.yaml"))
	if err != nil {
		return err
	}
	m, err := DecodeManifests(data)
	if err != nil {
		return err
	}
	ns := m.Find("Namespace", DryRunNamespace)
	if ns == nil {
		return fmt.Errorf("manifests/base/dryrun.yaml declares no Namespace %s", DryRunNamespace)
	}
	y, err := Manifests{ns}.YAML()
	if err != nil {
		return err
	}
	if r := k.Run(y, "apply", "-f", "-"); r.Failed() {
		return fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return nil
}
