package manifests_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// TestAPIServerIngressComponent renders the base with and without the
// apiserver-ingress component: with it, port 9443 admits only the listed
// sources, and nothing else in the NetworkPolicy changes.
func TestAPIServerIngressComponent(t *testing.T) {
	base := networkPolicySpec(t, "resources: [%[1]s/base]")
	narrowed := networkPolicySpec(t, "resources: [%[1]s/base]\ncomponents: [%[1]s/components/apiserver-ingress]")

	baseIngress := base["ingress"].([]any)
	ingress := narrowed["ingress"].([]any)
	if len(ingress) != len(baseIngress) {
		t.Fatalf("the component changed the number of ingress rules: %d, base has %d", len(ingress), len(baseIngress))
	}
	webhook := ingress[0].(map[string]any)
	if got := webhook["ports"]; !reflect.DeepEqual(got, baseIngress[0].(map[string]any)["ports"]) {
		t.Errorf("webhook rule ports = %v, want the base's %v", got, baseIngress[0].(map[string]any)["ports"])
	}
	if _, open := baseIngress[0].(map[string]any)["from"]; open {
		t.Fatal("the base's webhook rule has sources; the test expects it open (the component narrows it)")
	}
	from, _ := webhook["from"].([]any)
	if len(from) != 2 {
		t.Fatalf("webhook rule sources = %v, want the control-plane ipBlock and the Konnectivity agents", from)
	}
	if _, ok := from[0].(map[string]any)["ipBlock"]; !ok {
		t.Errorf("first source %v is not an ipBlock", from[0])
	}
	agents := from[1].(map[string]any)
	if agents["namespaceSelector"] == nil || agents["podSelector"] == nil {
		t.Errorf("second source %v must select Pods in kube-system, not every Pod of a namespace", agents)
	}
	for _, field := range []string{"podSelector", "policyTypes", "egress"} {
		if !reflect.DeepEqual(narrowed[field], base[field]) {
			t.Errorf("%s changed: %v, base has %v", field, narrowed[field], base[field])
		}
	}
	if !reflect.DeepEqual(ingress[1:], baseIngress[1:]) {
		t.Errorf("other ingress rules changed: %v, base has %v", ingress[1:], baseIngress[1:])
	}
}

// networkPolicySpec builds a kustomization whose body is format with the
// manifests directory as %[1]s, and returns the gitgate NetworkPolicy's spec.
func networkPolicySpec(t *testing.T, format string) map[string]any {
	t.Helper()
	manifests, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// Kustomize takes only relative paths to other kustomizations.
	rel, err := filepath.Rel(dir, manifests)
	if err != nil {
		t.Fatal(err)
	}
	body := "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n" + fmt.Sprintf(format, rel)
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build: %v", err)
	}
	for _, r := range res.Resources() {
		if r.GetKind() == "NetworkPolicy" && r.GetName() == "gitgate" {
			m, err := r.Map()
			if err != nil {
				t.Fatal(err)
			}
			return m["spec"].(map[string]any)
		}
	}
	t.Fatal("no NetworkPolicy gitgate in the build")
	return nil
}

// TestAPIServerIngressPlaceholderIsRefused: the component's CIDR is a
// placeholder no API server accepts, so a copy applied unchanged fails
// instead of admitting the wrong addresses (and locking the API server out).
func TestAPIServerIngressPlaceholderIsRefused(t *testing.T) {
	spec := networkPolicySpec(t, "resources: [%[1]s/base]\ncomponents: [%[1]s/components/apiserver-ingress]")
	from := spec["ingress"].([]any)[0].(map[string]any)["from"].([]any)
	cidr, _ := from[0].(map[string]any)["ipBlock"].(map[string]any)["cidr"].(string)
	if _, _, err := net.ParseCIDR(cidr); err == nil {
		t.Errorf("ipBlock cidr %q is a valid CIDR; the shipped component must not guess the control plane's addresses", cidr)
	}
}
