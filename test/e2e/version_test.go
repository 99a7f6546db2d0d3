package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/test/harness"
)

// declaredKustomizationV1beta2 is a Flux Kustomization as older
// repositories still declare it.
const declaredKustomizationV1beta2 = `apiVersion: kustomize.toolkit.fluxcd.io/v1beta2
kind: Kustomization
metadata:
  name: apps
  namespace: shop
spec:
  interval: 10m
  path: ./apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: fleet
    namespace: flux-system
`

// TestFluxReconcileThroughAnotherVersion: Git declares a Kustomization as
// kustomize.toolkit.fluxcd.io/v1beta2, which its CRD serves next to v1
// with conversion None (as Flux's CRDs did until v2.7). `flux reconcile`
// writes its requestedAt annotation through v1, and passes: the two
// versions differ in apiVersion alone. A spec change through v1 is still
// compared, and refused.
func TestFluxReconcileThroughAnotherVersion(t *testing.T) {
	applyShop(t)
	installFluxCRDs(t)
	serveKustomizationV1beta2(t)
	declare(t, "apps-kustomization.yaml", declaredKustomizationV1beta2)
	applyAsAgent(t, declaredKustomizationV1beta2)
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "shop", "delete", "kustomizations.v1.kustomize.toolkit.fluxcd.io", "apps", "--as", agent, "--wait=false")
	})

	v1 := "kustomizations.v1.kustomize.toolkit.fluxcd.io/apps"
	now := "reconcile.fluxcd.io/requestedAt=" + time.Now().Format(time.RFC3339Nano)
	if r := env.kubectl.Run("", "-n", "shop", "annotate", v1, now, "--overwrite", "--as", person); r.Failed() {
		t.Errorf("flux reconcile through v1: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	r := env.kubectl.Run("", "-n", "shop", "patch", v1, "--type", "merge", "-p", `{"spec":{"path":"./evil"}}`, "--as", person)
	wantDenied(t, r, "Kustomization shop/apps")
	r = env.kubectl.Run("", "-n", "shop", "patch", v1, "--type", "merge", "-p", `{"spec":{"interval":"1h"}}`, "--as", person)
	wantDenied(t, r, "Kustomization shop/apps")
	if got := jsonpathIn(t, "shop", v1, "{.spec.path} {.spec.interval}"); got != "./apps 10m" {
		t.Errorf("Kustomization path and interval %q after denied changes", got)
	}
}

// serveKustomizationV1beta2 has the Kustomization CRD serve v1beta2 next to
// v1, with v1's schema and no conversion webhook, as Flux's CRDs did
// before v2.7 dropped the beta versions.
func serveKustomizationV1beta2(t *testing.T) {
	t.Helper()
	dir, err := harness.FluxBinDir()
	if err != nil {
		t.Skip(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "flux-crds", "kustomize.toolkit.fluxcd.io_kustomizations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	spec := crd["spec"].(map[string]any)
	versions := spec["versions"].([]any)
	beta := map[string]any{}
	for k, v := range versions[0].(map[string]any) {
		beta[k] = v
	}
	beta["name"], beta["storage"], beta["deprecated"] = "v1beta2", false, true
	spec["versions"] = append(versions, beta)
	out, err := yaml.Marshal(crd)
	if err != nil {
		t.Fatal(err)
	}
	if r := env.kubectl.Run(string(out), "apply", "--server-side", "--force-conflicts", "-f", "-", "--as", exemptController); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	mustRun(t, "wait", "--for=condition=Established", "--timeout=60s", "crd/kustomizations.kustomize.toolkit.fluxcd.io")
	// kubectl's discovery cache learns the new version on its first miss.
	for i := 0; ; i++ {
		r := env.kubectl.Run("", "get", "kustomizations.v1beta2.kustomize.toolkit.fluxcd.io", "-A")
		if !r.Failed() {
			return
		}
		if i == 50 {
			t.Fatalf("v1beta2 not served: %s", r.Stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// applyAsAgent applies manifest as the GitOps agent.
func applyAsAgent(t *testing.T, manifest string) {
	t.Helper()
	if r := env.kubectl.Run(manifest, "apply", "-f", "-", "--as", agent); r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

// declaredHPA is an HPA on a memory metric, which autoscaling/v1 can carry
// only in its autoscaling.alpha.kubernetes.io/metrics annotation.
const declaredHPA = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: web
  namespace: shop
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: web
  minReplicas: 2
  maxReplicas: 10
  metrics:
  - type: Resource
    resource:
      name: memory
      target:
        type: Utilization
        averageUtilization: 80
`

// TestHPAThroughAnotherVersion: Git declares an HPA as autoscaling/v2; a
// request through autoscaling/v1, which the API server converts field by
// field, is judged on the HPA read in v2. A request annotation passes;
// v2's metric rewritten through v1's annotation, or a v1 field, is refused.
func TestHPAThroughAnotherVersion(t *testing.T) {
	applyShop(t)
	declare(t, "web-hpa.yaml", declaredHPA)
	applyAsAgent(t, declaredHPA)
	t.Cleanup(func() {
		env.kubectl.Run("", "-n", "shop", "delete", "horizontalpodautoscalers.v2.autoscaling", "web", "--as", agent, "--wait=false")
	})

	v1 := "horizontalpodautoscalers.v1.autoscaling/web"
	now := "reconcile.fluxcd.io/requestedAt=" + time.Now().Format(time.RFC3339Nano)
	if r := env.kubectl.Run("", "-n", "shop", "annotate", v1, now, "--overwrite", "--as", person); r.Failed() {
		t.Errorf("annotation through autoscaling/v1: %s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	metrics := jsonpathIn(t, "shop", v1, `{.metadata.annotations.autoscaling\.alpha\.kubernetes\.io/metrics}`)
	if !strings.Contains(metrics, "memory") {
		t.Fatalf("autoscaling/v1 carries no memory metric: %q", metrics)
	}
	// The memory target, which only v2 has a field for, lowered through
	// v1's annotation.
	lowered := "autoscaling.alpha.kubernetes.io/metrics=" + strings.Replace(metrics, ":80", ":10", 1)
	r := env.kubectl.Run("", "-n", "shop", "annotate", v1, lowered, "--overwrite", "--as", person)
	wantDenied(t, r, "[version-mismatch]", "autoscaling.alpha.kubernetes.io/metrics carries fields of another version", "resend it as autoscaling/v2")
	// A CPU metric, which v1 turns into its own field.
	cpu := "autoscaling.alpha.kubernetes.io/metrics=" + strings.Replace(metrics, "memory", "cpu", 1)
	r = env.kubectl.Run("", "-n", "shop", "annotate", v1, cpu, "--overwrite", "--as", person)
	wantDenied(t, r, "[version-mismatch]", "resend it as autoscaling/v2")
	r = env.kubectl.Run("", "-n", "shop", "patch", v1, "--type", "merge", "-p", `{"spec":{"targetCPUUtilizationPercentage":50}}`, "--as", person)
	wantDenied(t, r, "[version-mismatch]")
	if got := jsonpathIn(t, "shop", "horizontalpodautoscalers.v2.autoscaling/web", "{.spec.metrics[*].resource.name} {.spec.metrics[*].resource.target.averageUtilization}"); got != "memory 80" {
		t.Errorf("HPA metrics %q after denied changes, want memory 80", got)
	}
}
