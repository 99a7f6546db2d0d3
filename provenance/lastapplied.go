package provenance

import (
	"encoding/json"
	"maps"

	"github.com/gitgate/gitgate/provenance/compare"
)

// lastAppliedAnnotation is where kubectl's client-side apply records the
// manifest it applied. The next client-side apply (kubectl apply, Argo CD's
// default sync) removes from the live object what that record holds and
// the new manifest does not: a record that leaves out a field Git declares
// keeps the field alive after Git drops it, one that adds a field has the
// next apply remove it from the object. Flux's kustomize-controller removes
// the annotation at each apply; kubectl and Argo CD read it.
const lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// lastAppliedChange says how a write of a declared object sets kubectl's
// last-applied-configuration to something else than a client-side apply
// of Git's manifest writes there (Git's manifest, as JSON, without the
// annotation; the namespace kubectl adds aside), or removes it; "" when it
// leaves it alone or records Git's manifest. `kubectl apply`, `kubectl
// apply --server-side` (the API server then records what was applied) and
// `kubectl create --save-config` of Git's manifest all pass.
func (c *Checker) lastAppliedChange(entry *Entry, declared map[string]any, req *Request) string {
	if req.ObjectRaw == nil {
		return "" // no write: the drift scan reading a live object
	}
	after, has := annotationString(req.Object, lastAppliedAnnotation)
	before, had := annotationString(req.OldObject, lastAppliedAnnotation)
	switch {
	case has == had && after == before:
		return ""
	case !has:
		return "the request removes kubectl's " + lastAppliedAnnotation + ", which the next client-side apply reads to remove what Git no longer declares (kubectl replace drops it unless told --save-config; kubectl apply keeps it)"
	}
	var applied map[string]any
	if err := json.Unmarshal([]byte(after), &applied); err != nil || applied == nil {
		return "kubectl's " + lastAppliedAnnotation + " is not a JSON object"
	}
	if at := c.recordDiffers(entry, declared, applied, req); at != "" {
		return "kubectl's " + lastAppliedAnnotation + " records another manifest than Git's (at " + at +
			"), which the next client-side apply would act on (kubectl replace and edit --save-config record the object they send); apply Git's manifest as it is"
	}
	return ""
}

// recordDiffers names a field where applied, a last-applied record, says
// otherwise than Git's manifest (either way), or "". Both are read as Git's
// manifests are indexed and compared as on a create.
func (c *Checker) recordDiffers(entry *Entry, declared, applied map[string]any, req *Request) string {
	git := declared
	if v := apiVersionOf(applied); v != apiVersionOf(declared) {
		var ok bool
		if git, ok = c.inVersion(declared, entry, v); !ok {
			return "apiVersion"
		}
	}
	normalizeDeclared(entry.Key, applied)
	compare.Normalize(applied, entry.Schema)
	git, applied = withoutNamespace(git), withoutNamespace(applied)
	opts := compare.Options{StrictLists: true, Deadline: req.Deadline}
	diffs := compare.Compare(git, nil, applied, entry.Schema, opts)
	if len(diffs) == 0 {
		diffs = compare.Compare(applied, nil, git, entry.Schema, opts)
	}
	switch {
	case len(diffs) == 0:
		return ""
	case len(diffs[0].Path) == 0:
		return "the whole object" // not compared in time: fail closed
	}
	return diffs[0].Path.String()
}

// withoutNamespace is obj without metadata.namespace: kubectl records the
// namespace it applies to whether or not the manifest names one.
func withoutNamespace(obj map[string]any) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	if _, ok := meta["namespace"]; !ok {
		return obj
	}
	out := maps.Clone(obj)
	meta = maps.Clone(meta)
	delete(meta, "namespace")
	out["metadata"] = meta
	return out
}

func annotationString(obj map[string]any, key string) (string, bool) {
	v, ok := annotationsOf(obj)[key].(string)
	return v, ok
}
