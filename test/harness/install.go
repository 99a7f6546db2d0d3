package harness

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// Manifests is a rendered kustomization: the objects, in kustomize's order.
type Manifests []*unstructured.Unstructured

// RenderManifests renders a directory under manifests/ (e.g.
// "overlays/self-managed") with kubectl's built-in kustomize.
func (k *Kubectl) RenderManifests(dir string) (Manifests, error) {
	r := k.Run("", "kustomize", filepath.Join(RepoRoot(), "manifests", dir))
	if r.Failed() {
		return nil, fmt.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return DecodeManifests([]byte(r.Stdout))
}

// DecodeManifests splits multi-document YAML into objects.
func DecodeManifests(data []byte) (Manifests, error) {
	var out Manifests
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, err
		}
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
}

// Find returns the first object of kind (and name, if not empty).
func (m Manifests) Find(kind, name string) *unstructured.Unstructured {
	for _, o := range m {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

// YAML renders the objects as one multi-document stream for kubectl.
func (m Manifests) YAML() (string, error) {
	var b strings.Builder
	for _, o := range m {
		y, err := yaml.Marshal(o.Object)
		if err != nil {
			return "", err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String(), nil
}

// PointWebhooksAt rewrites every webhook of the ValidatingWebhookConfigurations
// to call url instead of the in-cluster Service, for a gitgate that runs
// outside the cluster. Rules, selectors and matchConditions stay as shipped.
func (m Manifests) PointWebhooksAt(url string) error {
	for _, o := range m {
		if o.GetKind() != "ValidatingWebhookConfiguration" {
			continue
		}
		hooks, _, err := unstructured.NestedSlice(o.Object, "webhooks")
		if err != nil {
			return err
		}
		for _, h := range hooks {
			h.(map[string]any)["clientConfig"] = map[string]any{"url": url}
		}
		if err := unstructured.SetNestedSlice(o.Object, hooks, "webhooks"); err != nil {
			return err
		}
	}
	return nil
}

// CertManagerCRDs returns the directory of cert-manager's CRDs in the Go
// module cache (the module gitgate already depends on). They are plain
// YAML in v1.21.2; should a later version template them for Helm, this
// fails loudly instead of applying half-rendered files.
func CertManagerCRDs() (string, error) {
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/cert-manager/cert-manager")
	cmd.Dir = RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("locate cert-manager module: %w", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "deploy", "crds")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("no CRDs in %s", dir)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		if bytes.Contains(data, []byte("{{")) {
			return "", fmt.Errorf("%s is templated; render it before applying", f)
		}
	}
	return dir, nil
}

// ImpersonatingKubeconfig writes a copy of kubeconfig that acts as user
// with groups, e.g. a ServiceAccount, so a process gets exactly the RBAC
// the manifests grant that identity.
func ImpersonatingKubeconfig(kubeconfig, path, user string, groups ...string) error {
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return err
	}
	for _, ai := range cfg.AuthInfos {
		ai.Impersonate = user
		ai.ImpersonateGroups = groups
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// ServiceAccountGroups are the groups the API server gives a ServiceAccount.
func ServiceAccountGroups(namespace string) []string {
	return []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}
