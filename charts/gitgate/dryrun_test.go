package gitgate_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/test/harness"
)

// env is the API server the renders are applied to (server-side dry run).
var env struct {
	kubectl *harness.Kubectl
}

func TestMain(m *testing.M) { os.Exit(harness.Main(m, "chart", setup)) }

// setup starts a control plane with the CRDs the chart's optional objects
// need: cert-manager's (from its Go module) and stand-ins for the
// Prometheus Operator's ServiceMonitor and PrometheusRule, whose CRDs are
// not in any module gitgate has (they accept any spec; the rules are
// checked by TestMonitoringEqualsManifests and manifests/monitoring_test.go).
func setup(r *harness.Running) error {
	cp, err := harness.StartControlPlane(harness.ControlPlaneOptions{})
	if err != nil {
		return err
	}
	r.Cleanup(func() { _ = cp.Stop() })
	if env.kubectl, err = harness.NewKubectl(cp.Kubeconfig); err != nil {
		return err
	}
	crds, err := harness.CertManagerCRDs()
	if err != nil {
		return err
	}
	steps := []struct {
		stdin string
		args  []string
	}{
		{"", []string{"apply", "--server-side", "-f", crds}},
		{prometheusOperatorStandIns, []string{"apply", "--server-side", "-f", "-"}},
		{"", []string{"wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"}},
		{"", []string{"create", "namespace", "gitgate-system"}},
		{"", []string{"create", "namespace", "gate"}},
		// Where Flux lives: the flux values bind gitgate-flux-refs there.
		{"", []string{"create", "namespace", "flux-system"}},
	}
	for _, s := range steps {
		if res := env.kubectl.Run(s.stdin, s.args...); res.Failed() {
			return fmt.Errorf("%s: %v\n%s", res.CommandLine(), res.Err, res.Stderr)
		}
	}
	return nil
}

// TestRenderAppliesServerSideDryRun: the API server accepts every object
// of the default and the full render with strict field validation, the
// matchConditions' CEL included (compiled and cost-checked on create).
func TestRenderAppliesServerSideDryRun(t *testing.T) {
	for _, tc := range []struct {
		namespace string
		values    []string
	}{
		{"gitgate-system", nil},
		{"gate", []string{fullValues}},
		{"gitgate-system", []string{fluxValues}},
	} {
		t.Run(strings.Join(append([]string{tc.namespace}, tc.values...), " "), func(t *testing.T) {
			m, err := harness.RenderChart(tc.namespace, tc.values...)
			if err != nil {
				t.Fatal(err)
			}
			y, err := m.YAML()
			if err != nil {
				t.Fatal(err)
			}
			r := env.kubectl.Run(y, "apply", "--server-side", "--dry-run=server", "--field-manager=helm", "--validate=strict", "-f", "-")
			if r.Failed() {
				t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
			}
			if got := strings.Count(r.Stdout, "(server dry run)"); got != len(m) {
				t.Errorf("%d of %d objects applied:\n%s", got, len(m), r.Stdout)
			}
		})
	}
}

// prometheusOperatorStandIns are CRDs of the Prometheus Operator's kinds
// that accept any spec.
const prometheusOperatorStandIns = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: ServiceMonitor, plural: servicemonitors, singular: servicemonitor, listKind: ServiceMonitorList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheusrules.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names: {kind: PrometheusRule, plural: prometheusrules, singular: prometheusrule, listKind: PrometheusRuleList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
`
