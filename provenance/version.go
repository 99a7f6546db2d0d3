package provenance

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A request may name an object in any version its kind serves: `flux
// reconcile` annotates a Kustomization as kustomize.toolkit.fluxcd.io/v1
// that Git declares as v1beta2, kubectl reads a HorizontalPodAutoscaler as
// autoscaling/v2 that Git declares as autoscaling/v1. Fields of two
// versions compare only once one is converted into the other as the API
// server converts it; where gitgate cannot, it refuses (version-mismatch).

// Conversion is how the API server turns an object of a kind from one of
// its served versions into another.
type Conversion int

const (
	// ConversionUnknown: gitgate cannot tell (a kind of an aggregated API,
	// a CustomResourceDefinition it has not read). A request in another
	// version than Git's is refused.
	ConversionUnknown Conversion = iota
	// ConversionNone: the versions differ in apiVersion alone. A
	// CustomResourceDefinition whose spec.conversion.strategy is None
	// (Flux's, most CRDs) converts by rewriting apiVersion and nothing
	// else, so Git's manifest in the request's version is Git's manifest
	// with the request's apiVersion.
	ConversionNone
	// ConversionBuiltin: a kind the API server itself serves, converted
	// field by field through its internal version (an HPA's autoscaling/v2
	// metrics become an annotation in autoscaling/v1).
	ConversionBuiltin
	// ConversionWebhook: a CustomResourceDefinition converted by its
	// conversion webhook, which may turn any field into any other, labels
	// and annotations included (the API server keeps only the rest of the
	// metadata as it was).
	ConversionWebhook
)

// Conversions tells the conversion of a kind. It must answer from memory:
// Check never blocks.
type Conversions interface {
	Conversion(gk schema.GroupKind) Conversion
}

// inVersion is Git's manifest declared as the request's apiVersion v, for
// a kind whose versions differ in apiVersion alone; ok is false when
// gitgate cannot tell that they do. declared is shared: it is copied, not
// changed.
func (c *Checker) inVersion(declared map[string]any, entry *Entry, v string) (map[string]any, bool) {
	if c.Conversions == nil || !sameGroup(v, entry.APIVersion) ||
		c.Conversions.Conversion(schema.GroupKind{Group: entry.Key.Group, Kind: entry.Key.Kind}) != ConversionNone {
		return nil, false
	}
	out := maps.Clone(declared)
	out["apiVersion"] = v
	return out, true
}

func sameGroup(a, b string) bool {
	ga, errA := schema.ParseGroupVersion(a)
	gb, errB := schema.ParseGroupVersion(b)
	return errA == nil && errB == nil && ga.Group == gb.Group
}

// ErrNotConvertible: an UPDATE in another version than Git's, of a kind
// whose versions the API server converts field by field, changes more than
// the conversion is known to copy unchanged. gitgate cannot convert the
// request itself, so it refuses (version-mismatch).
var ErrNotConvertible = errors.New("gitgate can compare a request in another version than Git's only where it changes metadata the conversion copies unchanged")

// ErrStoredChanged: the object as read in Git's version is not the one the
// request changes (another write came between).
var ErrStoredChanged = errors.New("the object changed while gitgate read it in Git's version; retry")

// conversionAnnotations are the annotations through which the API server
// carries, in one version of a built-in kind, fields that only another
// version has (k8s.io/kubernetes/pkg/apis/*/conversion.go, 1.37): an
// HPA's autoscaling/v2 metrics, behavior and tolerances in autoscaling/v1,
// a Deployment's rollback and a DaemonSet's template generation in older
// apps versions, a core object's non-convertible fields, v1beta3's
// zero-shares marker of flow control. Written in one version, they change
// the spec in the other.
var conversionAnnotations = []string{
	"autoscaling.alpha.kubernetes.io/",
	"deprecated.deployment.rollback.to",
	"deprecated.daemonset.template.generation",
	"non-convertible.kubernetes.io",
	"flowcontrol.k8s.io/v1beta3-",
}

func isConversionAnnotation(key string) bool {
	for _, p := range conversionAnnotations {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// copiedMetadata are the metadata fields a conversion of conv copies
// unchanged from one version into another. A conversion webhook may read
// and rewrite labels and annotations (Cluster API keeps fields of other
// versions in one); the API server keeps the rest of the metadata.
func copiedMetadata(conv Conversion) []string {
	switch conv {
	case ConversionBuiltin:
		return []string{"labels", "annotations", "finalizers", "ownerReferences"}
	case ConversionWebhook:
		return []string{"finalizers", "ownerReferences"}
	}
	return nil
}

// Why the object read in Git's version, and not Git's manifest converted:
// the API server converts an object only to store it or to answer a read
// of a stored one. A dry-run create of Git's manifest answers in the
// version it was sent in (a body in another version than its endpoint's is
// refused, k8s.io/apiserver handlers/create.go), and stores nothing to read
// back in the request's version; server-side apply refuses a patch in
// another version too. Calling a CRD's conversion webhook, or linking the
// API server's own conversions, would make gitgate a second API server.

// InStoredVersion turns req, an UPDATE in another version than Git's of a
// kind conv converts field by field, into the same UPDATE in Git's
// version, given stored, the object as the API server reads it in Git's
// version: it holds only where req changes nothing but the metadata the
// conversion copies unchanged (a label, an annotation, a finalizer), which
// it then writes into stored. Anything else, a carrier annotation of
// another version's fields included, is ErrNotConvertible: gitgate cannot
// convert it, and a change there may be one of Git's fields in disguise.
func InStoredVersion(req *Request, stored map[string]any, conv Conversion) (*Request, error) {
	copied := copiedMetadata(conv)
	if req.Operation != Update || req.Subresource != "" || copied == nil || stored == nil {
		return nil, ErrNotConvertible
	}
	if rv, old := resourceVersionOf(stored), resourceVersionOf(req.OldObject); rv == "" || rv != old {
		return nil, ErrStoredChanged
	}
	if !changesOnly(req.OldObject, req.Object, copied) {
		return nil, fmt.Errorf("%w (labels, annotations, finalizers, ownerReferences%s)", ErrNotConvertible, webhookNote(conv))
	}
	if path := conversionAnnotationChanged(req.OldObject, req.Object); path != "" {
		return nil, fmt.Errorf("%w: annotation %s carries fields of another version", ErrNotConvertible, path)
	}
	out := *req
	out.Version = versionOf(apiVersionOf(stored))
	out.OldObject, out.Object = stored, withMetadata(stored, req.Object, copied)
	return &out, nil
}

func webhookNote(conv Conversion) string {
	if conv == ConversionWebhook {
		return "; not labels or annotations of a kind converted by a webhook, which may read them"
	}
	return ""
}

// changesOnly reports whether obj differs from old in the metadata fields
// copied alone (and in what the API server moves on any write: the
// resource version and generation).
func changesOnly(old, obj map[string]any, copied []string) bool {
	if len(old) != len(obj) {
		return false
	}
	for k, v := range obj {
		ov, ok := old[k]
		if !ok {
			return false
		}
		if k == "metadata" {
			om, _ := ov.(map[string]any)
			nm, _ := v.(map[string]any)
			if !sameMetadataBut(om, nm, copied) {
				return false
			}
		} else if !reflect.DeepEqual(ov, v) {
			return false
		}
	}
	return true
}

func sameMetadataBut(a, b map[string]any, skip []string) bool {
	free := func(k string) bool {
		return k == "resourceVersion" || k == "generation" || containsString(skip, k)
	}
	for k, v := range b {
		if !free(k) && !reflect.DeepEqual(a[k], v) {
			return false
		}
	}
	for k := range a {
		if _, ok := b[k]; !ok && !free(k) {
			return false
		}
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// conversionAnnotationChanged names a conversion annotation the request
// sets, changes or removes, or "".
func conversionAnnotationChanged(old, obj map[string]any) string {
	before, after := annotationsOf(old), annotationsOf(obj)
	for k, v := range after {
		if isConversionAnnotation(k) && before[k] != v {
			return k
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok && isConversionAnnotation(k) {
			return k
		}
	}
	return ""
}

// withMetadata is stored with the copied metadata fields of obj; stored's
// own conversion annotations stay (Git's version has its own).
func withMetadata(stored, obj map[string]any, copied []string) map[string]any {
	out := maps.Clone(stored)
	meta, _ := stored["metadata"].(map[string]any)
	meta = maps.Clone(meta)
	if meta == nil {
		meta = map[string]any{}
	}
	out["metadata"] = meta
	objMeta, _ := obj["metadata"].(map[string]any)
	for _, f := range copied {
		if f == "annotations" {
			continue
		}
		if v, ok := objMeta[f]; ok {
			meta[f] = v
		} else {
			delete(meta, f)
		}
	}
	if containsString(copied, "annotations") {
		ann := map[string]any{}
		for k, v := range annotationsOf(obj) {
			if !isConversionAnnotation(k) {
				ann[k] = v
			}
		}
		for k, v := range annotationsOf(stored) {
			if isConversionAnnotation(k) {
				ann[k] = v
			}
		}
		if len(ann) == 0 {
			delete(meta, "annotations")
		} else {
			meta["annotations"] = ann
		}
	}
	return out
}

func annotationsOf(obj map[string]any) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	a, _ := meta["annotations"].(map[string]any)
	return a
}

func resourceVersionOf(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	rv, _ := meta["resourceVersion"].(string)
	return rv
}

func versionOf(apiVersion string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return ""
	}
	return gv.Version
}
