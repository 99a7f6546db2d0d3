// Package dryrun learns what the API server makes of a manifest Git
// declares: a server-side dry-run create of it, with every defaulting and
// mutating step a create takes, and nothing stored. gitgate uses it when a
// person creates a declared object before the GitOps agent does: every
// field Git does not declare must then be what the API server would give
// Git's manifest, so nobody can smuggle hostNetwork or another command
// into an object the agent will adopt as it is.
//
// The dry run happens in a sandbox namespace gitgate owns, never in the
// object's own: RBAC cannot tell a dry run from a real create, so gitgate's
// create rights stay in that one namespace. Cluster-scoped kinds have no
// sandbox and are never dry-run (ErrClusterScoped).
package dryrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"

	"github.com/gitgate/gitgate/provenance"
)

// FieldManager names gitgate's dry-run requests in the API server's view.
const FieldManager = "gitgate-dry-run"

// DefaultNamespace is the sandbox the install manifests create.
const DefaultNamespace = "gitgate-dryrun"

// maxCached bounds the cache: one entry per declared object and revision.
const maxCached = 10000

// ErrClusterScoped: gitgate holds no create right outside its sandbox
// namespace, so it cannot learn a cluster-scoped object's defaults. The
// caller fails closed: only the agent (or break-glass) creates such an
// object first.
var ErrClusterScoped = errors.New("gitgate does not dry-run cluster-scoped kinds (it may create nothing outside its sandbox namespace); let the GitOps agent create this object, or use break-glass")

// ErrSandboxOccupied: the sandbox holds an object of the same kind and
// name, so the dry run says nothing about Git's manifest. Nothing but dry
// runs belongs in the sandbox; whoever put it there must remove it.
var ErrSandboxOccupied = errors.New("the dry-run namespace holds an object of this kind and name; remove it")

// Defaulter dry-run-creates declared objects of namespaced kinds in
// Namespace and remembers the answer per object and root revision.
type Defaulter struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper
	// Namespace is the sandbox (--dry-run-namespace).
	Namespace string

	mu    sync.Mutex
	cache map[cacheKey]map[string]any
	order []cacheKey // insertion order, oldest first, for eviction
}

// cacheKey is one object as Git declares it, by content: the same
// commit can render two ways (a Flux Kustomization's patches or
// substitutions changed), two roots of one repository may declare the
// object apart, and entries of several revisions live side by side.
type cacheKey struct {
	key    provenance.Key
	digest [32]byte
}

// Defaulted returns entry's object as the API server would create it, for
// the root revision rev. Errors are the caller's to fail closed on. The
// answer is cached by the declared content, which rev does not change.
func (d *Defaulter) Defaulted(ctx context.Context, entry *provenance.Entry, _ provenance.Revision) (map[string]any, error) {
	ck := cacheKey{entry.Key, entry.Digest()}
	if obj := d.cached(ck); obj != nil {
		return obj, nil
	}
	ri, err := d.sandbox(entry)
	if err != nil {
		return nil, err
	}
	u, err := sandboxed(entry.Object(), d.Namespace)
	if err != nil {
		return nil, err
	}
	out, err := ri.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("dry-run create of %s in %s: %w", entry.Key, d.Namespace, ErrSandboxOccupied)
	}
	if err != nil {
		return nil, fmt.Errorf("dry-run create of %s in %s: %w", entry.Key, d.Namespace, err)
	}
	obj, err := restored(out, entry.Key.Namespace)
	if err != nil {
		return nil, err
	}
	d.store(ck, obj)
	return obj, nil
}

// sandbox maps entry's kind to its resource in the sandbox namespace.
func (d *Defaulter) sandbox(entry *provenance.Entry) (dynamic.ResourceInterface, error) {
	gv, err := schema.ParseGroupVersion(entry.APIVersion)
	if err != nil {
		return nil, err
	}
	mapping, err := d.Mapper.RESTMapping(gv.WithKind(entry.Key.Kind).GroupKind(), gv.Version)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", entry.Key, err)
	}
	if mapping.Scope.Name() != meta.RESTScopeNameNamespace {
		return nil, fmt.Errorf("%s: %w", entry.Key, ErrClusterScoped)
	}
	if d.Namespace == "" {
		return nil, errors.New("no dry-run namespace configured")
	}
	return d.Client.Resource(mapping.Resource).Namespace(d.Namespace), nil
}

// sandboxed is a copy of Git's manifest moved into the sandbox namespace.
func sandboxed(manifest map[string]any, namespace string) (*unstructured.Unstructured, error) {
	raw, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(raw); err != nil {
		return nil, err
	}
	u.SetNamespace(namespace)
	return u, nil
}

// restored is the API server's answer, decoded as admission requests are
// (so numbers and skipped fields compare alike), back in the object's own
// namespace.
func restored(out *unstructured.Unstructured, namespace string) (map[string]any, error) {
	out.SetNamespace(namespace)
	raw, err := out.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return provenance.DecodeObject(raw)
}

func (d *Defaulter) cached(ck cacheKey) map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cache[ck]
}

// store keeps obj, dropping the oldest entries past maxCached: entries of
// revisions no root enforces any more age out first.
func (d *Defaulter) store(ck cacheKey, obj map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cache == nil {
		d.cache = map[cacheKey]map[string]any{}
	}
	if _, ok := d.cache[ck]; !ok {
		d.order = append(d.order, ck)
	}
	d.cache[ck] = obj
	for len(d.order) > maxCached {
		delete(d.cache, d.order[0])
		d.order = d.order[1:]
	}
}
