package argorender

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
)

func appYAML(name, ns, source string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: ` + name + `, namespace: argocd}
spec:
  project: default
  destination: {name: in-cluster, namespace: ` + ns + `}
` + source
}

// TestRenderFixtures renders Argo CD's own test data as each source type.
func TestRenderFixtures(t *testing.T) {
	for _, c := range []struct {
		name, source string
		want         []string
		hooks        []string
	}{
		{name: "directory", source: "  source: {repoURL: r, path: two-nice-pods}\n",
			want: []string{"Pod/dest/pod-1", "Pod/dest/pod-2"}},
		{name: "kustomize", source: "  source: {repoURL: r, path: guestbook}\n",
			want: []string{"Deployment/dest/guestbook-ui", "Service/dest/guestbook-ui"}},
		{name: "helm", source: "  source: {repoURL: r, path: helm-guestbook}\n",
			want: []string{"Deployment/dest/guestbook-ui", "Service/dest/guestbook-ui"}},
		{name: "hook apart", source: "  source: {repoURL: r, path: hook}\n",
			want: []string{"Pod/dest/pod"}, hooks: []string{"Pod/dest/hook"}},
		{name: "jsonnet tla", source: "  source: {repoURL: r, path: jsonnet-tla, directory: {jsonnet: {tlas: [{name: name, value: $ARGOCD_APP_NAME}]}}}\n",
			want: []string{"Deployment/dest/jsonnet-tla", "Service/dest/jsonnet-tla"}},
		{name: "helm crds", source: "  source: {repoURL: r, path: helm-crd}\n",
			want: []string{"CronTab/dest/helm-crds-inst", "CustomResourceDefinition//crontabs.stable.example.com"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := mustRender(t, app(t, appYAML(strings.ReplaceAll(c.name, " ", "-"), "dest", c.source)))
			if got := summary(res.Objects); !reflect.DeepEqual(got, c.want) {
				t.Errorf("objects %v, want %v", got, c.want)
			}
			if got := summary(res.Hooks); !reflect.DeepEqual(got, c.hooks) && len(got)+len(c.hooks) > 0 {
				t.Errorf("hooks %v, want %v", got, c.hooks)
			}
		})
	}
}

// TestTracking: the tracking annotation by default, the label or both by
// argocd-cm, none on a CRD, the destination namespace for a
// cluster-scoped object.
func TestTracking(t *testing.T) {
	files := fstest.MapFS{"a/cm.yaml": {Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: cr, namespace: wrong}\n")}}
	a := app(t, appYAML("guestbook", "shop", "  source: {repoURL: r, path: a}\n"))
	for _, c := range []struct {
		settings        Settings
		cmAnn, crAnn    string
		cmLabel         any
		installationAnn any
	}{
		{settings: Settings{}, cmAnn: "guestbook:/ConfigMap:shop/cm", crAnn: "guestbook:rbac.authorization.k8s.io/ClusterRole:shop/cr"},
		{settings: Settings{TrackingMethod: "label"}, cmLabel: "guestbook"},
		{settings: Settings{TrackingMethod: "annotation+label", InstanceLabelKey: "team/app", InstallationID: "one"},
			cmAnn: "guestbook:/ConfigMap:shop/cm", crAnn: "guestbook:rbac.authorization.k8s.io/ClusterRole:shop/cr", cmLabel: "guestbook", installationAnn: "one"},
	} {
		res, err := tryRender(a, c.settings, files)
		if err != nil {
			t.Fatal(err)
		}
		cm, cr := find(t, res.Objects, "ConfigMap", "cm"), find(t, res.Objects, "ClusterRole", "cr")
		key := c.settings.InstanceLabelKey
		if key == "" {
			key = defaultInstanceLabelKey
		}
		if got, _ := field(cm, "metadata", "annotations", annotationTrackingID).(string); got != c.cmAnn {
			t.Errorf("%+v: ConfigMap tracking-id %q, want %q", c.settings, got, c.cmAnn)
		}
		if got, _ := field(cr, "metadata", "annotations", annotationTrackingID).(string); got != c.crAnn {
			t.Errorf("%+v: ClusterRole tracking-id %q, want %q", c.settings, got, c.crAnn)
		}
		if got := field(cm, "metadata", "labels", key); got != c.cmLabel {
			t.Errorf("%+v: label %v, want %v", c.settings, got, c.cmLabel)
		}
		if got := field(cm, "metadata", "annotations", annotationInstallationID); got != c.installationAnn {
			t.Errorf("%+v: installation-id %v, want %v", c.settings, got, c.installationAnn)
		}
		if ns := field(cr, "metadata", "namespace"); ns != nil {
			t.Errorf("cluster-scoped ClusterRole keeps namespace %v", ns)
		}
	}
}

// TestRefusals: what gitgate does not reproduce fails the render, naming
// the reason.
func TestRefusals(t *testing.T) {
	remote := fstest.MapFS{"k/kustomization.yaml": {Data: []byte("resources:\n- https://example.com/x.yaml\n")}}
	for _, c := range []struct {
		name, source string
		files        fstest.MapFS
		want         string
	}{
		{name: "plugin", source: "  source: {repoURL: r, path: guestbook, plugin: {name: cmp}}\n", want: "config management plugin"},
		{name: "chart repository", source: "  source: {repoURL: https://charts.example.com, chart: nginx, targetRevision: 1.0.0}\n", want: "Helm repository"},
		{name: "remote base", source: "  source: {repoURL: r, path: k}\n", files: remote, want: "remote"},
		{name: "build options", source: "  source: {repoURL: r, path: guestbook}\n", want: "kustomize.buildOptions"},
		{name: "missing path", source: "  source: {repoURL: r, path: nowhere}\n", want: "app path does not exist"},
		{name: "two types", source: "  source: {repoURL: r, path: guestbook, helm: {}, directory: {}}\n", want: "multiple application sources"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := Settings{}
			if c.name == "build options" {
				s.KustomizeBuildOptions = "--enable-helm"
			}
			var files []fs.FS
			if c.files != nil {
				files = append(files, c.files)
			}
			_, err := tryRender(app(t, appYAML("x", "d", c.source)), s, files...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one naming %q", err, c.want)
			}
			if c.name != "missing path" && c.name != "two types" && !errors.Is(err, ErrUnsupported) {
				t.Errorf("err = %v, want ErrUnsupported", err)
			}
		})
	}
}
