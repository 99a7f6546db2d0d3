// Package gitgate_test proves the Helm chart with the real helm
// (hack/build-helm.sh): it lints, its default render carries the same
// webhook, RBAC, NetworkPolicy and certificates as manifests/ (so the two
// installs cannot drift apart), its default and full renders are accepted
// by a real API server in a server-side dry run, and bad values fail with
// a clear message. manifests/manifests_test.go proves its matchConditions.
// Run with -count=1 (hack/test.sh does): helm reads the chart in another
// process, so go's test cache does not notice a changed template.
package gitgate_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/test/harness"
)

var (
	fullValues   = filepath.Join("ci", "full-values.yaml")
	fluxValues   = filepath.Join("ci", "flux-values.yaml")
	argocdValues = filepath.Join("ci", "argocd-values.yaml")
	bothValues   = filepath.Join("ci", "flux-argocd-values.yaml")
)

func TestLint(t *testing.T) {
	for _, values := range [][]string{nil, {"--values", fullValues}, {"--values", fluxValues}, {"--values", argocdValues}, {"--values", bothValues}} {
		args := append([]string{"lint", "--strict", "--kube-version", harness.ChartKubeVersion, "."}, values...)
		if r := harness.Helm(args...); r.Failed() {
			t.Errorf("%s: %v\n%s%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
		}
	}
}

// TestDefaultRenderEqualsManifests: the chart's default install is
// manifests/overlays/cert-manager (manifests/base with cert-manager's
// certificates), object by object, modulo labels, the image and the
// flags the chart spells out that gitgate defaults to anyway.
func TestDefaultRenderEqualsManifests(t *testing.T) {
	chart, err := harness.RenderChart("gitgate-system")
	if err != nil {
		t.Fatal(err)
	}
	kustomized := kustomize(t, filepath.Join(harness.RepoRoot(), "manifests", "overlays", "cert-manager"))
	for _, want := range kustomized {
		if want.GetKind() == "Namespace" && want.GetName() == "gitgate-system" {
			continue // helm install --create-namespace; the chart does not own it
		}
		got := chart.Find(want.GetKind(), want.GetName())
		if got == nil {
			t.Errorf("%s %s is in manifests/ but not in the chart", want.GetKind(), want.GetName())
			continue
		}
		if want.GetKind() == "Deployment" {
			compareArgs(t, got, want)
		}
		if g, w := normalized(got), normalized(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%s %s differs:\nchart:     %v\nmanifests: %v", want.GetKind(), want.GetName(), g, w)
		}
	}
	for _, got := range chart {
		if kustomized.Find(got.GetKind(), got.GetName()) == nil {
			t.Errorf("%s %s is in the chart's default render but not in manifests/", got.GetKind(), got.GetName())
		}
	}
}

// compareArgs: every flag of manifests/ is one the chart passes too.
func compareArgs(t *testing.T, chart, kustomized *unstructured.Unstructured) {
	t.Helper()
	got, want := containerArgs(chart), containerArgs(kustomized)
	for _, a := range want {
		if !slices.Contains(got, a) {
			t.Errorf("Deployment: manifests/ passes %s, the chart does not (it passes %v)", a, got)
		}
	}
}

func containerArgs(d *unstructured.Unstructured) []string {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}

// normalized drops what may differ between the installs: labels, the
// image, the container's flags (compareArgs), comments' whitespace.
func normalized(o *unstructured.Unstructured) map[string]any {
	c := o.DeepCopy().Object
	unstructured.RemoveNestedField(c, "metadata", "labels")
	unstructured.RemoveNestedField(c, "spec", "template", "metadata", "labels")
	if containers, ok, _ := unstructured.NestedSlice(c, "spec", "template", "spec", "containers"); ok {
		for _, ct := range containers {
			for _, f := range []string{"image", "imagePullPolicy", "args"} {
				delete(ct.(map[string]any), f)
			}
		}
		_ = unstructured.SetNestedSlice(c, containers, "spec", "template", "spec", "containers")
	}
	return c
}

func kustomize(t *testing.T, dir string) harness.Manifests {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatal(err)
	}
	data, err := res.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	m, err := harness.DecodeManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestFullValuesRender checks what only the full values turn on.
func TestFullValuesRender(t *testing.T) {
	m, err := harness.RenderChart("gate", fullValues)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		kind, name string
		path       []string
		want       any
	}{
		{"ResourceQuota", "gitgate-critical-pods", []string{"spec", "hard", "pods"}, "6"},
		{"ServiceMonitor", "gitgate", []string{"metadata", "labels", "release"}, "kube-prometheus-stack"},
		{"PrometheusRule", "gitgate", []string{"metadata", "labels", "release"}, "kube-prometheus-stack"},
		{"ConfigMap", "gitgate-dashboard", []string{"metadata", "labels", "grafana_dashboard"}, "1"},
		{"RoleBinding", "gitgate-break-glass-granter", []string{"subjects"}, []any{map[string]any{"kind": "Group", "name": "oncall", "apiGroup": "rbac.authorization.k8s.io"}}},
		{"Certificate", "gitgate-serving", nil, nil},
		{"Role", "gitgate-certs", []string{"metadata", "namespace"}, "gate"},
		{"Role", "gitgate-dry-run", []string{"metadata", "namespace"}, "gate-dryrun"},
		{"RoleBinding", "gitgate-dry-run", []string{"subjects"}, []any{map[string]any{"kind": "ServiceAccount", "name": "gitgate", "namespace": "gate"}}},
		{"Namespace", "gate-dryrun", []string{"metadata", "labels", "pod-security.kubernetes.io/enforce"}, "restricted"},
		{"NetworkPolicy", "gitgate", []string{"spec", "ingress"}, []any{
			map[string]any{"ports": []any{map[string]any{"port": float64(9443), "protocol": "TCP"}}, "from": []any{
				map[string]any{"ipBlock": map[string]any{"cidr": "192.0.2.0/24"}},
				map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "kube-system"}},
					"podSelector": map[string]any{"matchLabels": map[string]any{"k8s-app": "konnectivity-agent"}}},
			}},
			map[string]any{"ports": []any{map[string]any{"port": float64(8080), "protocol": "TCP"}}, "from": []any{
				map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "observability"}}},
			}},
		}},
	}
	for _, c := range checks {
		o := m.Find(c.kind, c.name)
		switch {
		case c.path == nil && o != nil:
			t.Errorf("%s %s rendered; the full values select self-managed certificates", c.kind, c.name)
		case c.path == nil:
		case o == nil:
			t.Errorf("%s %s not rendered", c.kind, c.name)
		case c.want != nil:
			if got, _, _ := unstructured.NestedFieldNoCopy(o.Object, c.path...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s %s %s = %v, want %v", c.kind, c.name, strings.Join(c.path, "."), got, c.want)
			}
		}
	}
	// 50 MiB files, 3 backups, plus the live file and one of headroom.
	if d := m.Find("Deployment", "gitgate"); d != nil {
		volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
		if !slices.ContainsFunc(volumes, func(v any) bool {
			size, _, _ := unstructured.NestedFieldNoCopy(v.(map[string]any), "emptyDir", "sizeLimit")
			return v.(map[string]any)["name"] == "audit" && size == "262144000"
		}) {
			t.Errorf("no audit emptyDir of 262144000 bytes in %v", volumes)
		}
	}
	// tokenSecrets.namespaces: get on Secrets, bound in those namespaces
	// only.
	if role := m.Find("ClusterRole", "gitgate-token-secrets"); role == nil || !hasRule(role, "secrets", "get") || hasRule(role, "secrets", "list") || hasRule(role, "secrets", "watch") {
		t.Error("want ClusterRole gitgate-token-secrets with get on secrets, no list or watch")
	}
	var bound []string
	for _, o := range m {
		if o.GetKind() == "RoleBinding" && o.GetName() == "gitgate-token-secrets" {
			bound = append(bound, o.GetNamespace())
		}
	}
	if m.Find("ClusterRoleBinding", "gitgate-token-secrets") != nil || !reflect.DeepEqual(bound, []string{"flux-system", "gate"}) {
		t.Errorf("gitgate-token-secrets bound in %v, want [flux-system gate] by RoleBindings only", bound)
	}
	if !hasRule(m.Find("ClusterRole", "gitgate-drift"), "widgets", "list") {
		t.Error("driftScan.extraRules: ClusterRole gitgate-drift may not list widgets")
	}
	args := containerArgs(m.Find("Deployment", "gitgate"))
	if a := slices.Index(args, "--dry-run-namespace=gate-dryrun"); a < 0 {
		t.Error("the Deployment lacks --dry-run-namespace=gate-dryrun")
	}
	for _, want := range []string{"--gitops-kind=kustomize.toolkit.fluxcd.io", "--gitops-kind=source.toolkit.fluxcd.io", "--gitops-kind=example.com/Pipeline",
		"--agent-for=system:serviceaccount:ops:generator=example.com/Pipeline", "--annotator=system:serviceaccount:ops:notifier=example.com/Pipeline",
		"--people-proxy=system:serviceaccount:ops:web-ui", "--people-proxy=console-*"} {
		if !slices.Contains(args, want) {
			t.Errorf("the Deployment lacks %s", want)
		}
	}
	if w := m.Find("ValidatingWebhookConfiguration", "gitgate"); w != nil {
		hooks, _, _ := unstructured.NestedSlice(w.Object, "webhooks")
		exprs, _, _ := unstructured.NestedSlice(hooks[0].(map[string]any), "namespaceSelector", "matchExpressions")
		got, _, _ := unstructured.NestedStringSlice(exprs[0].(map[string]any), "values")
		if want := []string{"kube-system", "kube-public", "kube-node-lease", "velero", "gate", "gate-dryrun"}; !reflect.DeepEqual(got, want) {
			t.Errorf("excluded namespaces %v, want %v", got, want)
		}
	}
}

// TestArgoCDSource: with source.kind argocd, gitgate gets --source=argocd
// and its flags, no repository flags, may read Applications, argocd-cm
// by name and AppProjects in Argo CD's namespace: no Secret unless
// repoSecrets.
func TestArgoCDSource(t *testing.T) {
	m, err := harness.RenderChart("gitgate-system", argocdValues)
	if err != nil {
		t.Fatal(err)
	}
	args := containerArgs(m.Find("Deployment", "gitgate"))
	for _, want := range []string{"--source=argocd", "--argocd-namespace=argocd", "--argocd-cluster-name=production", "--argocd-min-interval=10s"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--repo-url") || a == "--argocd-repo-secrets" }) {
		t.Errorf("args %v: want no repository flags and no --argocd-repo-secrets", args)
	}
	if m.Find("ClusterRole", "gitgate-argocd") == nil || m.Find("ClusterRoleBinding", "gitgate-argocd") == nil || m.Find("RoleBinding", "gitgate-argocd-settings") == nil {
		t.Fatal("no gitgate-argocd ClusterRole and binding, or no gitgate-argocd-settings RoleBinding")
	}
	settings := m.Find("Role", "gitgate-argocd-settings")
	if settings == nil || settings.GetNamespace() != "argocd" {
		t.Fatalf("Role gitgate-argocd-settings %v, want one in argocd", settings)
	}
	rules, _, _ := unstructured.NestedSlice(settings.Object, "rules")
	if len(rules) != 2 {
		t.Fatalf("gitgate-argocd-settings rules %v: want argocd-cm and AppProjects", rules)
	}
	if res, _, _ := unstructured.NestedStringSlice(rules[1].(map[string]any), "resources"); !slices.Equal(res, []string{"appprojects"}) {
		t.Errorf("gitgate-argocd-settings second rule reads %v, want appprojects", res)
	}
	if names, _, _ := unstructured.NestedStringSlice(rules[0].(map[string]any), "resourceNames"); !slices.Equal(names, []string{"argocd-cm"}) {
		t.Errorf("gitgate-argocd-settings names %v", names)
	}
}

// TestFluxSource: with source.kind flux, gitgate gets --source=flux, no
// repository flags, and may read Flux's objects.
func TestFluxSource(t *testing.T) {
	m, err := harness.RenderChart("gitgate-system", fluxValues)
	if err != nil {
		t.Fatal(err)
	}
	args := containerArgs(m.Find("Deployment", "gitgate"))
	if !slices.Contains(args, "--source=flux") || slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "--repo-url") || strings.HasPrefix(a, "--branch")
	}) {
		t.Errorf("args %v: want --source=flux and no repository flags", args)
	}
	role := m.Find("ClusterRole", "gitgate-flux")
	if role == nil || m.Find("ClusterRoleBinding", "gitgate-flux") == nil {
		t.Fatal("no ClusterRole and ClusterRoleBinding gitgate-flux")
	}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	var resources []string
	for _, r := range rules {
		rs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "resources")
		resources = append(resources, rs...)
	}
	if !slices.Equal(resources, []string{"gitrepositories", "helmrepositories", "helmcharts", "ocirepositories", "kustomizations", "helmreleases"}) {
		t.Errorf("gitgate-flux grants %v", resources)
	}
	for _, want := range []string{"--flux-namespace=flux-system", "--flux-min-interval=10s"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	refs := m.Find("ClusterRole", "gitgate-flux-refs")
	if refs == nil || m.Find("RoleBinding", "gitgate-flux-refs") == nil || m.Find("ClusterRoleBinding", "gitgate-flux-refs") != nil {
		t.Fatal("want ClusterRole gitgate-flux-refs bound by a RoleBinding in flux-system only")
	}
	rules, _, _ = unstructured.NestedSlice(refs.Object, "rules")
	for _, r := range rules {
		if verbs, _, _ := unstructured.NestedStringSlice(r.(map[string]any), "verbs"); !slices.Equal(verbs, []string{"get"}) {
			t.Errorf("gitgate-flux-refs grants %v on Secrets and ConfigMaps; want get only", verbs)
		}
	}
}

// TestSeveralSources: with source.kind flux,argocd, gitgate gets
// --source=flux,argocd, both drivers' flags and both drivers' RBAC, and
// no repository flags.
func TestSeveralSources(t *testing.T) {
	m, err := harness.RenderChart("gitgate-system", bothValues)
	if err != nil {
		t.Fatal(err)
	}
	args := containerArgs(m.Find("Deployment", "gitgate"))
	for _, want := range []string{"--source=flux,argocd", "--flux-namespace=flux-system", "--argocd-namespace=argocd", "--argocd-cluster-name=production"} {
		if !slices.Contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--repo-url") }) {
		t.Errorf("args %v: want no repository flags", args)
	}
	for _, name := range []string{"gitgate-flux", "gitgate-argocd"} {
		if m.Find("ClusterRole", name) == nil || m.Find("ClusterRoleBinding", name) == nil {
			t.Errorf("no ClusterRole and ClusterRoleBinding %s", name)
		}
	}
}

// TestBadValuesFail: values gitgate serve would refuse, or that would let
// the flags and the matchConditions disagree, fail the render with a
// message naming the value.
func TestBadValuesFail(t *testing.T) {
	tests := []struct {
		set, want string
	}{
		{"mode=block", `mode "block": want enforce, warn or audit`},
		{"source.kind=helm", `source.kind "helm": want repo, flux or argocd`},
		{`source.kind=flux\,helm`, `source.kind "flux,helm": want repo, flux or argocd`},
		{`source.kind=argocd\,flux\,argocd`, "argocd named twice"},
		{"source.kind=argocd,source.argocd.namespaces=null", "source.argocd.namespaces: name at least"},
		{"certificates.mode=vault", `certificates.mode "vault"`},
		{"certificates.mode=files", "certificates.mode files needs certificates.secretName"},
		{"source.repo.ref.tag=v1", "set exactly one of branch, tag, semver or commit"},
		{"source.repo.url=", "source.repo.url is required"},
		{"identities.agents=null", "identities.agents must not be empty"},
		{"identities.controllers=null", "identities.controllers must not be empty"},
		{"identities.skipResources=null", "identities.skipResources must not be empty"},
		{"identities.agentGroups[0]=flux-*", `identities.agentGroups "flux-*": a group is matched exactly`},
		{"identities.exemptUsers[0]= ", "identities.exemptUsers holds an empty entry"},
		{"identities.skipResources[0]=nodes", `identities.skipResources "nodes": want GROUP/RESOURCE`},
		{"identities.gitopsKinds[0]=example.com/pipelines", `identities.gitopsKinds "example.com/pipelines": want GROUP or GROUP/KIND`},
		{"identities.agentFor[0]=argoproj.io/Application", `identities.agentFor "argoproj.io/Application": want SUBJECT=GROUP/KIND`},
		{"identities.annotators[0]=x=argoproj.io/applications", `identities.annotators "x=argoproj.io/applications": want SUBJECT=GROUP/KIND`},
		{"identities.peopleProxies[0]= ", "identities.peopleProxies holds an empty entry"},
		{"audit.file.enabled=true,audit.file.maxBytes=0", "audit.file: maxBytes must be positive"},
		{"webhook.rules=null", "webhook.rules must not be empty"},
		{"dryRun.namespace=", "dryRun.namespace: name a namespace of its own"},
		{"dryRun.namespace=default", "dryRun.namespace: name a namespace of its own"},
		{"dryRun.namespace=kube-system", "dryRun.namespace: name a namespace of its own"},
		{"dryRun.namespace=flux-system", "dryRun.namespace: name a namespace of its own"},
	}
	for _, tc := range tests {
		t.Run(tc.set, func(t *testing.T) {
			r := harness.Helm("template", "gitgate", ".", "--kube-version", harness.ChartKubeVersion, "--set", tc.set)
			if !r.Failed() || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%s: err %v, stderr %q; want a failure saying %q", r.CommandLine(), r.Err, r.Stderr, tc.want)
			}
		})
	}
}

// TestMonitoringEqualsManifests: the chart's alerts and dashboard are the
// ones in manifests/monitoring.
func TestMonitoringEqualsManifests(t *testing.T) {
	m, err := harness.RenderChart("gitgate-system", fullValues)
	if err != nil {
		t.Fatal(err)
	}
	shipped := kustomize(t, filepath.Join(harness.RepoRoot(), "manifests", "monitoring"))
	for _, kind := range []string{"PrometheusRule", "ServiceMonitor"} {
		got, want := m.Find(kind, "gitgate"), shipped.Find(kind, "gitgate")
		if got == nil || want == nil {
			t.Fatalf("%s: chart %v, manifests %v", kind, got != nil, want != nil)
		}
		if kind == "ServiceMonitor" {
			continue // the chart selects its own release's Service
		}
		if !reflect.DeepEqual(got.Object["spec"], want.Object["spec"]) {
			t.Errorf("%s spec differs from manifests/monitoring", kind)
		}
	}
	dashboard, err := os.ReadFile(filepath.Join(harness.RepoRoot(), "manifests", "monitoring", "gitgate-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	cm := m.Find("ConfigMap", "gitgate-dashboard")
	if got, _, _ := unstructured.NestedString(cm.Object, "data", "gitgate.json"); got != strings.TrimRight(string(dashboard), "\n") {
		t.Error("the chart's dashboard differs from manifests/monitoring/gitgate-dashboard.json")
	}
}

// TestDriftScanOffDropsItsPermissions: with the scan off, gitgate may no
// longer read the declared kinds, nor write the drift ConfigMap.
func TestDriftScanOffDropsItsPermissions(t *testing.T) {
	for _, tt := range []struct {
		interval string
		scans    bool
	}{{"10m", true}, {"0", false}, {"0s", false}} {
		t.Run(tt.interval, func(t *testing.T) {
			values := filepath.Join(t.TempDir(), "values.yaml")
			if err := os.WriteFile(values, []byte("driftScan:\n  interval: \""+tt.interval+"\"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			m, err := harness.RenderChart("gitgate-system", values)
			if err != nil {
				t.Fatal(err)
			}
			if args := containerArgs(m.Find("Deployment", "gitgate")); !slices.Contains(args, "--drift-scan-interval="+tt.interval) {
				t.Errorf("args %v lack --drift-scan-interval=%s", args, tt.interval)
			}
			reads := m.Find("ClusterRole", "gitgate-drift") != nil && hasRule(m.Find("ClusterRole", "gitgate-drift"), "deployments", "list")
			aggregated := m.Find("ClusterRoleBinding", "gitgate-drift-extra") != nil
			writesDrift := hasNamedRule(m.Find("Role", "gitgate"), "configmaps", "gitgate-drift", "update")
			elects := hasNamedRule(m.Find("Role", "gitgate"), "leases", "gitgate-drift", "update") && m.Find("Lease", "gitgate-drift") != nil
			if hasRule(m.Find("Role", "gitgate"), "leases", "create") || hasRule(m.Find("Role", "gitgate"), "configmaps", "create") {
				t.Error("gitgate may create Leases or ConfigMaps; the chart creates those it writes")
			}
			if shipped := m.Find("ConfigMap", "gitgate-drift") != nil; shipped != tt.scans {
				t.Errorf("ConfigMap gitgate-drift shipped = %v, want %v", shipped, tt.scans)
			}
			if reads != tt.scans || aggregated != tt.scans || writesDrift != tt.scans || elects != tt.scans {
				t.Errorf("list deployments = %v, aggregated role bound = %v, update of ConfigMap gitgate-drift = %v, Lease gitgate-drift (shipped, updatable) = %v; want all %v", reads, aggregated, writesDrift, elects, tt.scans)
			}
		})
	}
}

// TestNoWildcardBeyondTheSandbox: RBAC's "*" matches subresources
// (serviceaccounts/token, pods/exec, nodes/proxy), so no rule of the
// chart names "*" except the dry-run Role in the sandbox namespace, and no
// ClusterRole touches Secrets (the self-managed certificates' Role keeps
// its own, in gitgate's namespace).
func TestNoWildcardBeyondTheSandbox(t *testing.T) {
	for _, values := range []string{"", fullValues, fluxValues} {
		var files []string
		if values != "" {
			files = append(files, values)
		}
		m, err := harness.RenderChart("gitgate-system", files...)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range m {
			if o.GetKind() != "Role" && o.GetKind() != "ClusterRole" {
				continue
			}
			sandbox := o.GetKind() == "Role" && o.GetName() == "gitgate-dry-run" && o.GetNamespace() != "gitgate-system"
			// --source flux reads the Secrets a GitRepository or
			// Kustomization names, by name (get, never list).
			fluxRefs := o.GetName() == "gitgate-flux-refs" && !hasRule(o, "secrets", "list") && !hasRule(o, "secrets", "create")
			// tokenSecrets.namespaces: whose token a Secret a Pod
			// references holds, by name (get, never list).
			fluxRefs = fluxRefs || o.GetName() == "gitgate-token-secrets" && !hasRule(o, "secrets", "list") && !hasRule(o, "secrets", "create")
			for _, res := range []string{"*", "secrets"} {
				if res == "secrets" && fluxRefs {
					continue
				}
				if hasRule(o, res, "create") || hasRule(o, res, "get") || hasRule(o, res, "list") {
					if !(sandbox && res == "*") && (res == "*" || o.GetKind() == "ClusterRole") {
						t.Errorf("values %q: %s %s grants a verb on %q", values, o.GetKind(), o.GetName(), res)
					}
				}
			}
		}
	}
}

// hasRule reports whether role has a rule on resource (or resource name)
// with verb.
// hasNamedRule reports whether role grants verb on the object name of
// resource.
func hasNamedRule(role *unstructured.Unstructured, resource, name, verb string) bool {
	return anyRule(role, func(resources, names, verbs []string) bool {
		return slices.Contains(resources, resource) && slices.Contains(names, name) && slices.Contains(verbs, verb)
	})
}

// hasRule reports whether role grants verb on resource, or on an object
// named resource.
func hasRule(role *unstructured.Unstructured, resource, verb string) bool {
	return anyRule(role, func(resources, names, verbs []string) bool {
		return (slices.Contains(resources, resource) || slices.Contains(names, resource)) && slices.Contains(verbs, verb)
	})
}

func anyRule(role *unstructured.Unstructured, match func(resources, names, verbs []string) bool) bool {
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		rule := r.(map[string]any)
		resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
		names, _, _ := unstructured.NestedStringSlice(rule, "resourceNames")
		verbs, _, _ := unstructured.NestedStringSlice(rule, "verbs")
		if match(resources, names, verbs) {
			return true
		}
	}
	return false
}

// TestGitOpsKindsDefaultsShown: values.yaml, the base Deployment and the
// README show gitgate's --gitops-kind defaults, each of them.
func TestGitOpsKindsDefaultsShown(t *testing.T) {
	for _, f := range []string{"values.yaml", filepath.Join("..", "..", "manifests", "base", "deployment.yaml"), filepath.Join("..", "..", "README.md")} {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range provenance.DefaultGitOpsKinds {
			if !strings.Contains(string(data), k) {
				t.Errorf("%s does not show the --gitops-kind default %s", f, k)
			}
		}
	}
}
