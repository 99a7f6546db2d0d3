package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// ChartDir is gitgate's Helm chart.
func ChartDir() string { return filepath.Join(RepoRoot(), "charts", "gitgate") }

// ChartKubeVersion is the Kubernetes version helm template renders for:
// the control plane's (hack/build-control-plane.sh).
const ChartKubeVersion = "1.37.2"

// HelmPath is the helm hack/build-helm.sh builds ($GITGATE_BIN_DIR or
// .cache/bin).
func HelmPath() (string, error) {
	dir := os.Getenv("GITGATE_BIN_DIR")
	if dir == "" {
		dir = filepath.Join(RepoRoot(), ".cache", "bin")
	}
	p := filepath.Join(dir, "helm")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("helm missing in %s: run hack/build-helm.sh first", dir)
	}
	return p, nil
}

// Helm runs the real helm with args, with its caches and configuration
// in a fresh directory so nothing of the user's setup takes part.
func Helm(args ...string) Result {
	r := Result{Args: args, Command: "helm"}
	p, err := HelmPath()
	if err != nil {
		r.Err = err
		return r
	}
	home, err := os.MkdirTemp("", "gitgate-helm-")
	if err != nil {
		r.Err = err
		return r
	}
	defer os.RemoveAll(home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p, args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+home, "HELM_CONFIG_HOME="+home, "HELM_DATA_HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	r.Err = cmd.Run()
	r.Stdout, r.Stderr = out.String(), errb.String()
	return r
}

// RenderChart runs helm template on gitgate's chart into namespace, with
// the values files given, and decodes the objects.
func RenderChart(namespace string, valuesFiles ...string) (Manifests, error) {
	args := []string{"template", "gitgate", ChartDir(), "--namespace", namespace, "--kube-version", ChartKubeVersion}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	r := Helm(args...)
	if r.Failed() {
		return nil, fmt.Errorf("%s: %w\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	m, err := DecodeManifests([]byte(r.Stdout))
	if err == nil && len(m) == 0 {
		err = errors.New("helm template rendered nothing")
	}
	return m, err
}
