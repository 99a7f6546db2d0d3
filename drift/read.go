package drift

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
)

// group is one kind in one namespace ("" for cluster-scoped kinds): what
// one LIST reads.
type group struct {
	gvk       schema.GroupVersionKind
	namespace string
}

// reader reads declared objects with one LIST per kind and namespace, so
// a scan of 10,000 objects takes a few requests, not 10,000. Where LIST is
// refused (an operator granted get only, e.g. on named Secrets) it falls
// back to a GET per object.
type reader struct {
	live   Live
	listed map[group]map[string]map[string]any // nil value: LIST refused
}

func newReader(live Live) *reader {
	return &reader{live: live, listed: map[group]map[string]map[string]any{}}
}

// read returns e's live object (nil when it does not exist). An error is
// the object's alone: the caller reports it unreadable, and goes on.
func (r *reader) read(ctx context.Context, e *provenance.Entry) (map[string]any, error) {
	g := group{schema.FromAPIVersionAndKind(e.APIVersion, e.Key.Kind), e.Key.Namespace}
	byName, seen := r.listed[g]
	if !seen {
		byName = r.list(ctx, g)
		r.listed[g] = byName
	}
	if byName != nil {
		return byName[e.Key.Name], nil
	}
	return r.live.Get(ctx, e)
}

// list indexes g's live objects by name, or returns nil when the LIST
// failed, so that each object is read on its own.
func (r *reader) list(ctx context.Context, g group) map[string]map[string]any {
	objs, err := r.live.List(ctx, g.gvk, g.namespace)
	if err != nil {
		return nil
	}
	byName := make(map[string]map[string]any, len(objs))
	for _, o := range objs {
		byName[nameOf(o)] = o
	}
	return byName
}

// unreadable is the reason an object could not be read: the API server's
// reason (Forbidden: gitgate's RBAC lacks the kind, see
// docs/operations.md) or the error.
func unreadable(err error) string {
	if reason := apierrors.ReasonForError(err); reason != "" {
		return string(reason)
	}
	return fmt.Sprint(err)
}
