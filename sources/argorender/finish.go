package argorender

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
)

// Argo CD's annotations and the hook types it knows (gitops-engine
// pkg/sync/common, pkg/sync/hook).
const (
	annotationHook           = "argocd.argoproj.io/hook"
	annotationHelmHook       = "helm.sh/hook"
	annotationTrackingID     = "argocd.argoproj.io/tracking-id"
	annotationInstallationID = "argocd.argoproj.io/installation-id"
	defaultInstanceLabelKey  = "app.kubernetes.io/instance"
	annotationSyncOptions    = "argocd.argoproj.io/sync-options"
)

var argoHookTypes = map[string]bool{
	"PreSync": true, "Sync": true, "PostSync": true, "SyncFail": true, "PostDelete": true, "PreDelete": true, "Skip": true,
}

var helmHookTypes = map[string]bool{"pre-install": true, "pre-upgrade": true, "post-upgrade": true, "post-install": true}

// finish does what the repo server and the application controller do to
// the rendered objects before a sync: lists flattened, tracking set, the
// destination namespace given to namespaced objects without one (and
// taken from cluster-scoped ones), duplicates reduced to the last, hooks
// set apart, and the managed namespace added.
func (r *run) finish(rendered []Object) (*Result, error) {
	var objs []Object
	for _, o := range rendered {
		flat, err := flatten(o)
		if err != nil {
			return nil, err
		}
		objs = append(objs, flat...)
	}
	destNS := r.in.App.Spec.Destination.Namespace
	crds := crdScopes(objs)
	byKey := map[string]int{}
	var kept []Object
	for _, o := range objs {
		if err := r.normalize(o.Object, destNS, crds); err != nil {
			return nil, err
		}
		// NormalizeTargetObjects keeps the last of objects that share a
		// key (and warns).
		k := objectKey(o.Object)
		if i, dup := byKey[k]; dup {
			kept[i] = o
			continue
		}
		byKey[k] = len(kept)
		kept = append(kept, o)
	}
	res := &Result{}
	for _, o := range kept {
		switch hookClass(o.Object) {
		case "":
			res.Objects = append(res.Objects, o)
		case "hook":
			res.Hooks = append(res.Hooks, o)
		}
	}
	if ns := r.managedNamespace(res.Objects); ns != nil {
		res.Objects = append(res.Objects, *ns)
	}
	res.Ignore, res.Warnings = ignoreRules(r.in.App.Spec.IgnoreDifferences, res.Objects)
	return res, nil
}

// flatten turns a List into its items; a List whose items are null is
// nothing.
func flatten(o Object) ([]Object, error) {
	u := unstructured.Unstructured{Object: o.Object}
	if items, has := o.Object["items"]; has && items == nil && o.Object["spec"] == nil && o.Object["status"] == nil {
		return nil, nil
	}
	if !u.IsList() {
		return []Object{o}, nil
	}
	var out []Object
	list, _ := o.Object["items"].([]any)
	for _, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: list item is not an object", o.Path)
		}
		out = append(out, Object{Object: m, Source: o.Source, Path: o.Path})
	}
	return out, nil
}

// normalize gives obj the destination namespace when it is namespaced
// (or of a kind not known) and has none, takes the namespace from a
// cluster-scoped one, then sets tracking: the repo server tracks every
// object with the destination namespace standing in for a missing one,
// and the controller tracks again what it moved.
func (r *run) normalize(obj map[string]any, destNS string, crds map[schema.GroupKind]bool) error {
	u := &unstructured.Unstructured{Object: obj}
	gk := u.GroupVersionKind().GroupKind()
	namespaced := r.namespaced(gk, crds)
	switch {
	case !namespaced && u.GetNamespace() != "":
		u.SetNamespace("")
	case namespaced && u.GetNamespace() == "":
		u.SetNamespace(destNS)
	}
	if gk == (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
		return nil // Argo CD tracks no CRD
	}
	return r.track(u, destNS)
}

// namespaced is Argo CD's IsNamespacedOrUnknown: the render's CRDs, then
// the cluster; a kind neither knows counts as namespaced.
func (r *run) namespaced(gk schema.GroupKind, crds map[schema.GroupKind]bool) bool {
	if n, ok := crds[gk]; ok {
		return n
	}
	if r.in.Scope == nil {
		return true
	}
	n, known, err := r.in.Scope.Namespaced(gk)
	if err != nil || !known {
		return true
	}
	return n
}

// crdScopes reads the scope of every CRD among objs.
func crdScopes(objs []Object) map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	for _, o := range objs {
		u := unstructured.Unstructured{Object: o.Object}
		if u.GetKind() != "CustomResourceDefinition" || u.GroupVersionKind().Group != "apiextensions.k8s.io" {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		out[schema.GroupKind{Group: group, Kind: kind}] = scope != "Cluster"
	}
	return out
}

// track sets Argo CD's tracking metadata (util/argo/resource_tracking.go
// SetAppInstance): the annotation <app>:<group>/<kind>:<namespace>/<name>
// (the destination namespace when the object has none) for annotation
// and annotation+label, the instance label for label (the name as is) and
// annotation+label (cut to 63 characters), and the installation ID
// annotation when argocd-cm sets one.
func (r *run) track(u *unstructured.Unstructured, destNS string) error {
	s := r.in.Settings
	key := s.InstanceLabelKey
	if key == "" {
		key = defaultInstanceLabelKey
	}
	annotate := func() {
		ns := u.GetNamespace()
		if ns == "" {
			ns = destNS
		}
		gvk := u.GroupVersionKind()
		a := u.GetAnnotations()
		if a == nil {
			a = map[string]string{}
		}
		delete(a, annotationInstallationID)
		if s.InstallationID != "" {
			a[annotationInstallationID] = s.InstallationID
		}
		a[annotationTrackingID] = fmt.Sprintf("%s:%s/%s:%s/%s", r.appName, gvk.Group, gvk.Kind, ns, u.GetName())
		u.SetAnnotations(a)
	}
	label := func(v string) {
		l := u.GetLabels()
		if l == nil {
			l = map[string]string{}
		}
		l[key] = v
		u.SetLabels(l)
	}
	switch s.TrackingMethod {
	case "label":
		label(r.appName)
	case "annotation+label":
		annotate()
		v, err := truncateLabel(r.appName)
		if err != nil {
			return err
		}
		label(v)
	default:
		annotate()
	}
	return nil
}

// truncateLabel cuts a label value to 63 characters ending in a letter
// or digit (TruncateLabel).
func truncateLabel(v string) (string, error) {
	if len(v) <= 63 {
		return v, nil
	}
	v = v[:63]
	for len(v) > 0 {
		c := v[len(v)-1]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			return v, nil
		}
		v = v[:len(v)-1]
	}
	return "", fmt.Errorf("unable to truncate label to not end with a special character")
}

// hookClass is "hook" for a resource hook, "skip" for what Argo CD never
// applies (argocd.argoproj.io/hook: Skip alone, a hook of no type it
// knows, such as a Helm test), "" for a resource it syncs (gitops-engine
// hook.IsHook, hook.Skip, ignore.Ignore).
func hookClass(obj map[string]any) string {
	ann := (&unstructured.Unstructured{Object: obj}).GetAnnotations()
	var types []string
	argo, isArgo := ann[annotationHook]
	if isArgo {
		types = knownTypes(argo, argoHookTypes)
	}
	if len(types) == 0 {
		types = knownTypes(ann[annotationHelmHook], helmHookTypes)
	}
	helm, isHelm := ann[annotationHelmHook]
	isHook := isHelm && helm != "crd-install"
	if isArgo {
		if len(types) == 1 && types[0] == "Skip" {
			return "skip"
		}
		isHook = true
	}
	switch {
	case !isHook:
		return ""
	case len(types) == 0:
		return "skip"
	}
	return "hook"
}

func knownTypes(csv string, known map[string]bool) []string {
	var out []string
	for _, t := range strings.Split(csv, ",") {
		if t = strings.TrimSpace(t); known[t] {
			out = append(out, t)
		}
	}
	return out
}

// managedNamespace is the destination namespace Argo CD applies on every
// sync under CreateNamespace=true with managedNamespaceMetadata: its
// labels, its annotations and the ServerSideApply sync option, unless the
// sources declare the namespace themselves. Without the metadata Argo CD
// only creates the namespace when it is missing and never corrects it,
// so gitgate declares nothing of it.
func (r *run) managedNamespace(objs []Object) *Object {
	spec := &r.in.App.Spec
	ns := spec.Destination.Namespace
	if ns == "" || !spec.HasSyncOption("CreateNamespace=true") || spec.SyncPolicy.ManagedNamespaceMetadata == nil {
		return nil
	}
	for _, o := range objs {
		u := unstructured.Unstructured{Object: o.Object}
		if u.GetKind() == "Namespace" && u.GroupVersionKind().Group == "" && u.GetName() == ns {
			return nil
		}
	}
	md := spec.SyncPolicy.ManagedNamespaceMetadata
	u := &unstructured.Unstructured{Object: map[string]any{}}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(ns)
	if len(md.Labels) > 0 {
		u.SetLabels(md.Labels)
	}
	ann := map[string]string{annotationSyncOptions: "ServerSideApply=true"}
	for k, v := range md.Annotations {
		ann[k] = v
	}
	u.SetAnnotations(ann)
	return &Object{Object: u.Object, Path: "spec.syncPolicy.managedNamespaceMetadata"}
}

// objectKey identifies an object as Argo CD's ResourceKey: group, kind,
// namespace and name.
func objectKey(obj map[string]any) string {
	u := unstructured.Unstructured{Object: obj}
	return u.GroupVersionKind().Group + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// ignoreRules turns spec.ignoreDifferences into ignore rules for the
// objects it names: jsonPointers and managedFieldsManagers as they are
// (an empty manager name dropped: it names no writer; the fields a listed
// manager owns are free for controllers' writes only, judged in
// provenance), while jqPathExpressions are not reproduced, so their fields
// stay enforced and a warning says so.
func ignoreRules(diffs []IgnoreDifference, objs []Object) ([]provenance.IgnoreRule, []string) {
	var rules []provenance.IgnoreRule
	var warnings []string
	for i, d := range diffs {
		if len(d.JQPathExpressions) > 0 {
			warnings = append(warnings, fmt.Sprintf("ignoreDifferences[%d] (%s): jqPathExpressions are not supported; those fields stay enforced", i, d.Kind))
		}
		var managers []string
		for _, m := range d.ManagedFieldsManagers {
			if m == "" {
				warnings = append(warnings, fmt.Sprintf("ignoreDifferences[%d] (%s): an empty managedFieldsManagers name frees nothing", i, d.Kind))
				continue
			}
			managers = append(managers, m)
		}
		if len(d.JSONPointers)+len(managers) == 0 || d.Kind == "" {
			continue
		}
		for _, gk := range ignoredKinds(d, objs) {
			rules = append(rules, provenance.IgnoreRule{Group: gk.Group, Kind: gk.Kind, Namespace: d.Namespace, Name: d.Name,
				JSONPointers: d.JSONPointers, ManagedFieldsManagers: managers})
		}
	}
	return rules, warnings
}

// ignoredKinds are the kinds an ignoreDifferences entry names: itself, or
// where its group or kind is a glob (Argo CD's ignore normalizer matches
// both with glob.Match) each kind of the rendered objects it matches.
func ignoredKinds(d IgnoreDifference, objs []Object) []schema.GroupKind {
	if !strings.ContainsAny(d.Group+d.Kind, "*?[{\\") {
		return []schema.GroupKind{{Group: d.Group, Kind: d.Kind}}
	}
	seen := map[schema.GroupKind]bool{}
	var out []schema.GroupKind
	for _, o := range objs {
		u := unstructured.Unstructured{Object: o.Object}
		gk := u.GroupVersionKind().GroupKind()
		if globMatch(d.Group, gk.Group) && globMatch(d.Kind, gk.Kind) && !seen[gk] {
			seen[gk] = true
			out = append(out, gk)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].String() < out[b].String() })
	return out
}
