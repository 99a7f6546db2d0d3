package dryrun

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/gitgate/gitgate/provenance"
)

var (
	deployments  = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	clusterRoles = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}
)

func mapper() meta.RESTMapper {
	m := meta.NewDefaultRESTMapper(nil)
	m.Add(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, meta.RESTScopeNamespace)
	m.Add(schema.GroupVersionKind{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}, meta.RESTScopeRoot)
	return m
}

func deployment() *provenance.Entry {
	e, err := provenance.NewEntry(provenance.Key{Group: "apps", Kind: "Deployment", Namespace: "shop", Name: "web"}, "apps/v1", "web.yaml",
		map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
			"metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{}})
	if err != nil {
		panic(err)
	}
	return e
}

// apiServer answers dry-run creates as the API server would: the object
// with a default filled in, or err. It records the namespaces asked.
type apiServer struct {
	err        error
	namespaces []string
}

func (a *apiServer) client() *dynamicfake.FakeDynamicClient {
	c := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		deployments: "DeploymentList", clusterRoles: "ClusterRoleList"})
	c.PrependReactor("create", "*", func(action k8stesting.Action) (bool, runtime.Object, error) {
		a.namespaces = append(a.namespaces, action.GetNamespace())
		if a.err != nil {
			return true, nil, a.err
		}
		u := action.(k8stesting.CreateAction).GetObject().(*unstructured.Unstructured).DeepCopy()
		_ = unstructured.SetNestedField(u.Object, int64(1), "spec", "replicas")
		return true, u, nil
	})
	return c
}

func TestDefaulted(t *testing.T) {
	clusterRole, err := provenance.NewEntry(provenance.Key{Group: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "reader"},
		"rbac.authorization.k8s.io/v1", "reader.yaml",
		map[string]any{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": map[string]any{"name": "reader"}})
	if err != nil {
		t.Fatal(err)
	}
	occupied := apierrors.NewAlreadyExists(deployments.GroupResource(), "web")
	tests := []struct {
		name      string
		entry     *provenance.Entry
		serverErr error
		wantErr   error
		wantAsked []string
	}{
		{name: "namespaced kind: dry run in the sandbox", entry: deployment(), wantAsked: []string{"gitgate-dryrun"}},
		{name: "cluster-scoped kind: no dry run, fail closed", entry: clusterRole, wantErr: ErrClusterScoped},
		{name: "sandbox holds the name", entry: deployment(), serverErr: occupied, wantErr: ErrSandboxOccupied, wantAsked: []string{"gitgate-dryrun"}},
		{name: "API server refuses", entry: deployment(), serverErr: apierrors.NewForbidden(deployments.GroupResource(), "web", errors.New("no")), wantAsked: []string{"gitgate-dryrun"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &apiServer{err: tt.serverErr}
			d := &Defaulter{Client: api.client(), Mapper: mapper(), Namespace: DefaultNamespace}
			obj, err := d.Defaulted(context.Background(), tt.entry, provenance.Revision{Hash: "a"})
			if len(api.namespaces) != len(tt.wantAsked) || (len(tt.wantAsked) > 0 && api.namespaces[0] != tt.wantAsked[0]) {
				t.Errorf("dry runs in namespaces %v, want %v", api.namespaces, tt.wantAsked)
			}
			if tt.serverErr != nil || tt.wantErr != nil {
				if err == nil || (tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			u := unstructured.Unstructured{Object: obj}
			if u.GetNamespace() != "shop" {
				t.Errorf("namespace %q, want the object's own, shop", u.GetNamespace())
			}
			if r, _, _ := unstructured.NestedFieldNoCopy(obj, "spec", "replicas"); r == nil {
				t.Errorf("the API server's default spec.replicas is lost: %v", obj)
			}
		})
	}
}

// TestCacheByContent: the same declared object is asked once, whatever
// root or revision declares it; another content of it (a Flux render that
// changed at the same commit, or a second root declaring it apart) is
// asked again.
func TestCacheByContent(t *testing.T) {
	api := &apiServer{}
	d := &Defaulter{Client: api.client(), Mapper: mapper(), Namespace: DefaultNamespace}
	apps, infra := deployment(), deployment()
	apps.Root, infra.Root = provenance.Root{Name: "path apps", Source: "repo"}, provenance.Root{Name: "path infra", Source: "repo"}
	changed, err := provenance.NewEntry(apps.Key, "apps/v1", "web.yaml", map[string]any{"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "shop"}, "spec": map[string]any{"paused": true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ask := range []struct {
		entry *provenance.Entry
		rev   string
	}{{apps, "a"}, {apps, "b"}, {infra, "a"}, {apps, "c"}, {changed, "c"}, {changed, "c"}, {apps, "c"}} {
		if _, err := d.Defaulted(context.Background(), ask.entry, provenance.Revision{Hash: ask.rev}); err != nil {
			t.Fatal(err)
		}
	}
	if len(api.namespaces) != 2 {
		t.Errorf("%d dry runs for two contents of one object; want 2", len(api.namespaces))
	}
}

func TestCacheIsBounded(t *testing.T) {
	d := &Defaulter{}
	first := cacheKey{key: provenance.Key{Kind: "ConfigMap", Name: "first"}}
	d.store(first, map[string]any{})
	for i := range maxCached {
		d.store(cacheKey{key: provenance.Key{Kind: "ConfigMap", Name: "x"}, digest: [32]byte{byte(i), byte(i >> 8)}}, map[string]any{})
	}
	if len(d.cache) != maxCached || d.cached(first) != nil {
		t.Errorf("cache holds %d entries (oldest kept: %v), want %d without the oldest", len(d.cache), d.cached(first) != nil, maxCached)
	}
}
