// Package dryrun learns what the API server makes of a manifest Git
// declares: a server-side dry-run create of it, with every defaulting and
// mutating step the real create would take, and nothing stored. gitgate
// uses it when a person creates a declared object before the GitOps agent
// does: every field Git does not declare must then be what the API server
// would give Git's manifest, so nobody can smuggle hostNetwork or another
// command into an object the agent will adopt as it is.
package dryrun

import (
	"context"
	"encoding/json"
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

// maxCached bounds the cache: one entry per declared object and revision.
const maxCached = 10000

// Defaulter dry-run-creates declared objects and remembers the answer per
// object and revision.
type Defaulter struct {
	Client dynamic.Interface
	Mapper meta.RESTMapper

	mu       sync.Mutex
	revision string
	cache    map[provenance.Key]map[string]any
}

// Defaulted returns entry's object as the API server would create it at
// revision rev, or nil when the object exists already (the create being
// judged then fails anyway). Errors are the caller's to fail closed on.
func (d *Defaulter) Defaulted(ctx context.Context, entry *provenance.Entry, rev provenance.Revision) (map[string]any, error) {
	if obj := d.cached(entry.Key, rev); obj != nil {
		return obj, nil
	}
	gv, err := schema.ParseGroupVersion(entry.APIVersion)
	if err != nil {
		return nil, err
	}
	mapping, err := d.Mapper.RESTMapping(gv.WithKind(entry.Key.Kind).GroupKind(), gv.Version)
	if err != nil {
		return nil, fmt.Errorf("map %s: %w", entry.Key, err)
	}
	manifest, err := json.Marshal(entry.Object)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(manifest); err != nil {
		return nil, err
	}
	res := d.Client.Resource(mapping.Resource)
	var ri dynamic.ResourceInterface = res
	if entry.Key.Namespace != "" {
		ri = res.Namespace(entry.Key.Namespace)
	}
	out, err := ri.Create(ctx, u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}, FieldManager: FieldManager})
	if apierrors.IsAlreadyExists(err) {
		// The create being judged fails the same way, after admission.
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dry-run create of %s: %w", entry.Key, err)
	}
	// Decoded as admission requests are, so numbers and skipped fields
	// compare alike.
	raw, err := out.MarshalJSON()
	if err != nil {
		return nil, err
	}
	obj, err := provenance.DecodeObject(raw)
	if err != nil {
		return nil, err
	}
	d.store(entry.Key, rev, obj)
	return obj, nil
}

func (d *Defaulter) cached(k provenance.Key, rev provenance.Revision) map[string]any {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.revision != rev.Hash {
		return nil
	}
	return d.cache[k]
}

func (d *Defaulter) store(k provenance.Key, rev provenance.Revision, obj map[string]any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.revision != rev.Hash || len(d.cache) >= maxCached {
		// A new revision (or a full cache) starts over: defaults of the
		// old revision's manifests say nothing about the new one's.
		d.revision, d.cache = rev.Hash, map[provenance.Key]map[string]any{}
	}
	d.cache[k] = obj
}
