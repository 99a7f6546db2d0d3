package provenance

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance/compare"
)

// IgnoreRule skips fields in comparison, like Argo CD's ignoreDifferences:
// for objects of Group/Kind (optionally one Namespace and Name), the fields
// at JSONPointers may hold any value. Use it for fields another controller
// owns, such as spec.replicas under an HPA.
type IgnoreRule struct {
	Group        string   `json:"group"`
	Kind         string   `json:"kind"`
	Namespace    string   `json:"namespace,omitempty"`
	Name         string   `json:"name,omitempty"`
	JSONPointers []string `json:"jsonPointers"`
	// ManagedFieldsManagers free, for a controller's write only, the
	// declared values that an entry of one of these field managers owns in
	// the written object (Argo CD's ignoreDifferences of the same name;
	// managers.go). Only a root's controller rules (File.ControllerIgnores)
	// may carry them: CompileIgnores refuses a rule that does.
	ManagedFieldsManagers []string `json:"managedFieldsManagers,omitempty"`
}

// builtinIgnores are paths the API server, kubectl or controllers change on
// their own; comparing them would deny every ordinary update.
var builtinIgnores = []struct {
	group, kind string // empty matches every kind
	pointer     string
	// undeclaredOnly: API-allocated values stay enforced when Git pins them.
	undeclaredOnly bool
	// shape: the value is free only in this exact form (see podshapes.go).
	shape compare.Shape
}{
	{pointer: "/status"},
	{pointer: "/metadata/resourceVersion"},
	{pointer: "/metadata/generation"},
	{pointer: "/metadata/uid"},
	{pointer: "/metadata/creationTimestamp"},
	{pointer: "/metadata/managedFields"},
	{pointer: "/metadata/selfLink"},
	// kubectl apply rewrites it on every apply; the fields it records are
	// compared in their own right.
	{pointer: "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration"},
	// Requests to the GitOps agent, not state: `flux reconcile` (and
	// notification-controller's receivers) write requestedAt, `flux
	// reconcile --force` and `--reset` the others
	// (github.com/fluxcd/pkg/apis/meta annotations.go); Argo CD's refresh
	// button writes argocd.argoproj.io/refresh. A person asking the agent to
	// apply Git now must not be refused for it.
	{pointer: "/metadata/annotations/reconcile.fluxcd.io~1requestedAt"},
	{pointer: "/metadata/annotations/reconcile.fluxcd.io~1forceAt"},
	{pointer: "/metadata/annotations/reconcile.fluxcd.io~1resetAt"},
	{pointer: "/metadata/annotations/argocd.argoproj.io~1refresh"},
	// The deployment controller counts rollouts here.
	{pointer: "/metadata/annotations/deployment.kubernetes.io~1revision"},
	// The API server bumps it on every DaemonSet template change
	// (Convert_apps_DaemonSet_To_v1_DaemonSet in k8s.io/kubernetes).
	{group: "apps", kind: "DaemonSet", pointer: "/metadata/annotations/deprecated.daemonset.template.generation"},
	// kubectl rollout restart stamps pod templates; a restart is not drift.
	{pointer: "/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"},
	{pointer: "/spec/jobTemplate/spec/template/metadata/annotations/kubectl.kubernetes.io~1restartedAt"},
	// Values the API server allocates for a Service.
	{kind: "Service", pointer: "/spec/clusterIP", undeclaredOnly: true},
	{kind: "Service", pointer: "/spec/clusterIPs", undeclaredOnly: true},
	{kind: "Service", pointer: "/spec/healthCheckNodePort", undeclaredOnly: true},
	{kind: "Service", pointer: "/spec/ports/*/nodePort", undeclaredOnly: true},
	// The ServiceAccount admission plugin mounts a projected token volume
	// into every Pod it admits, under a generated name, and
	// DefaultTolerationSeconds adds two tolerations. Each is free only in
	// the exact form the plugin writes: a hostPath volume named
	// kube-api-access-root is not.
	{kind: "Pod", pointer: "/spec/volumes/name=kube-api-access-*", undeclaredOnly: true, shape: isTokenVolume},
	{kind: "Pod", pointer: "/spec/containers/*/volumeMounts/mountPath=~1var~1run~1secrets~1kubernetes.io~1serviceaccount", undeclaredOnly: true, shape: isTokenMount},
	{kind: "Pod", pointer: "/spec/initContainers/*/volumeMounts/mountPath=~1var~1run~1secrets~1kubernetes.io~1serviceaccount", undeclaredOnly: true, shape: isTokenMount},
	{kind: "Pod", pointer: "/spec/tolerations/key,operator,value,effect=node.kubernetes.io~1not-ready,*", undeclaredOnly: true, shape: isDefaultToleration},
	{kind: "Pod", pointer: "/spec/tolerations/key,operator,value,effect=node.kubernetes.io~1unreachable,*", undeclaredOnly: true, shape: isDefaultToleration},
	// A PersistentVolumeClaim is bound to a volume by the PV controller.
	{kind: "PersistentVolumeClaim", pointer: "/spec/volumeName", undeclaredOnly: true},
	// The ServiceAccount token controller appends token secrets.
	{kind: "ServiceAccount", pointer: "/secrets", undeclaredOnly: true},
}

// Ignores is a compiled set of built-in and user ignore rules.
type Ignores struct {
	all    *compare.Ignore
	byKind map[schema.GroupKind]*compare.Ignore
	// scoped are user rules limited to a namespace or name; few in practice.
	scoped []scopedIgnore
	// everywhere are the same rules with none limited to what Git leaves
	// undeclared: for comparing a request with the API server's defaults,
	// where API-allocated values (a clusterIP) differ by nature.
	everywhere *Ignores
}

type scopedIgnore struct {
	gk              schema.GroupKind
	namespace, name string
	ignore          *compare.Ignore
}

// CompileIgnores validates user rules and merges them with the built-in
// ones. Every invalid rule is reported, not only the first.
func CompileIgnores(rules []IgnoreRule) (*Ignores, error) {
	ig, err := compileIgnores(rules, false)
	if err != nil {
		return nil, err
	}
	ig.everywhere, err = compileIgnores(rules, true)
	return ig, err
}

func compileIgnores(rules []IgnoreRule, everywhere bool) (*Ignores, error) {
	ig := &Ignores{all: &compare.Ignore{}, byKind: map[schema.GroupKind]*compare.Ignore{}}
	for _, b := range builtinIgnores {
		segs, err := compare.ParsePointer(b.pointer)
		if err != nil {
			panic(err) // a typo in the table above
		}
		target := ig.all
		if b.kind != "" {
			target = ig.kind(schema.GroupKind{Group: b.group, Kind: b.kind})
		}
		target.AddShape(segs, b.undeclaredOnly && !everywhere, b.shape)
	}
	var errs []error
	for i, r := range rules {
		if r.Kind == "" {
			errs = append(errs, fmt.Errorf("ignore rule %d: kind is required", i))
			continue
		}
		if len(r.ManagedFieldsManagers) > 0 {
			// They free fields for controllers alone; a rule for everyone
			// would free them for people too.
			errs = append(errs, fmt.Errorf("ignore rule %d (%s): managedFieldsManagers only apply to a root's controller rules", i, r.Kind))
			continue
		}
		if len(r.JSONPointers) == 0 {
			errs = append(errs, fmt.Errorf("ignore rule %d (%s): jsonPointers is empty", i, r.Kind))
			continue
		}
		target := &compare.Ignore{}
		gk := schema.GroupKind{Group: r.Group, Kind: r.Kind}
		if r.Namespace == "" && r.Name == "" {
			target = ig.kind(gk)
		} else {
			ig.scoped = append(ig.scoped, scopedIgnore{gk: gk, namespace: r.Namespace, name: r.Name, ignore: target})
		}
		for _, p := range r.JSONPointers {
			segs, err := compare.ParsePointer(p)
			if err != nil {
				errs = append(errs, fmt.Errorf("ignore rule %d (%s): %w", i, r.Kind, err))
				continue
			}
			target.Add(segs, false)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// Kind tries include the rules for every kind, so For returns one trie.
	for gk, k := range ig.byKind {
		ig.byKind[gk] = compare.Merge(k, ig.all)
	}
	return ig, nil
}

func (ig *Ignores) kind(gk schema.GroupKind) *compare.Ignore {
	k := ig.byKind[gk]
	if k == nil {
		k = &compare.Ignore{}
		ig.byKind[gk] = k
	}
	return k
}

// For returns the paths ignored for one object.
func (ig *Ignores) For(k Key) *compare.Ignore {
	gk := schema.GroupKind{Group: k.Group, Kind: k.Kind}
	out := ig.byKind[gk]
	if out == nil {
		out = ig.all
	}
	for _, s := range ig.scoped {
		if s.gk == gk && (s.namespace == "" || s.namespace == k.Namespace) && (s.name == "" || s.name == k.Name) {
			out = compare.Merge(out, s.ignore)
		}
	}
	return out
}

// ParseIgnoreFlag parses the --ignore flag form
// "group/Kind[:namespace/name]=/json/pointer[,/another]"; the core group is
// written as an empty group ("/ConfigMap=...") or without the slash.
func ParseIgnoreFlag(v string) (IgnoreRule, error) {
	target, ptrs, ok := strings.Cut(v, "=")
	if !ok || ptrs == "" {
		return IgnoreRule{}, fmt.Errorf("ignore %q: want group/Kind[:namespace/name]=/json/pointer", v)
	}
	var r IgnoreRule
	gk, obj, scoped := strings.Cut(target, ":")
	if g, k, ok := strings.Cut(gk, "/"); ok {
		r.Group, r.Kind = g, k
	} else {
		r.Kind = gk
	}
	if scoped {
		ns, name, ok := strings.Cut(obj, "/")
		if !ok {
			return IgnoreRule{}, fmt.Errorf("ignore %q: object must be namespace/name (use an empty namespace, /name, for cluster-scoped)", v)
		}
		r.Namespace, r.Name = ns, name
	}
	r.JSONPointers = strings.Split(ptrs, ",")
	return r, nil
}

// controllerIgnore compiles the rules of a file that match key into the
// paths a controller may change (nil when no rule names a path) and the
// field managers whose fields it may change (managers.go): empty names
// dropped, each once.
func controllerIgnore(rules []IgnoreRule, key Key) (*compare.Ignore, []string, error) {
	var ig *compare.Ignore
	var managers []string
	for i, r := range rules {
		if r.Group != key.Group || r.Kind != key.Kind || r.Namespace != "" && r.Namespace != key.Namespace || r.Name != "" && r.Name != key.Name {
			continue
		}
		for _, m := range r.ManagedFieldsManagers {
			if m != "" && !slices.Contains(managers, m) {
				managers = append(managers, m)
			}
		}
		if ig == nil && len(r.JSONPointers) > 0 {
			ig = &compare.Ignore{}
		}
		for _, p := range r.JSONPointers {
			segs, err := compare.ParsePointer(p)
			if err != nil {
				return nil, nil, fmt.Errorf("controller ignore rule %d (%s): %w", i, r.Kind, err)
			}
			ig.Add(segs, false)
		}
	}
	return ig, managers, nil
}
