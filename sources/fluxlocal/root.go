package fluxlocal

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/helmrender"
)

// Kinds of root.
const (
	KindKustomization = "Kustomization"
	KindHelmRelease   = "HelmRelease"
)

// Options say what to render and how.
type Options struct {
	// Files are DIR's files (ReadDir), the files of every GitRepository
	// that stands for DIR; Revision names them.
	Files    fs.FS
	Revision provenance.Revision
	// Path is the path in Files to render as a Kustomization ("" or "."
	// for the whole directory).
	Path string
	// LocalSource is the one GitRepository DIR stands for; nil: every
	// GitRepository. Roots of another are Skipped.
	LocalSource *types.NamespacedName
	// Capabilities are the cluster's as a HelmRelease's templates see
	// them: helmrender.DefaultCapabilities for `helm template`'s.
	Capabilities helmrender.Capabilities
	// Scope says which kinds are namespaced for a HelmRelease's objects,
	// before the CRDs the rendered roots declare; nil knows the built-in
	// kinds only (offlinescope).
	Scope provenance.Scope
	// DefaultNamespace places a namespaced object that names none, as
	// the Indexer does ("default" when empty).
	DefaultNamespace string
	// Transport carries the requests for charts (nil: the default).
	Transport http.RoundTripper
	// MaxDepth bounds how deep Kustomizations and HelmReleases nest
	// (DefaultMaxDepth when zero); a root deeper fails.
	MaxDepth int
}

// DefaultMaxDepth is how deep roots nest unless Options say otherwise:
// flux bootstrap's flux-system, then infrastructure and apps, then what
// they declare, with room to spare.
const DefaultMaxDepth = 10

// Errors a caller tells apart.
var (
	// ErrUnsupported: the object asks for what gitgate cannot read from
	// DIR and the network alone.
	ErrUnsupported = errors.New("not supported offline")
	// ErrCredentials: a repository needs credentials from a Secret, which
	// gitgate never reads offline.
	ErrCredentials = errors.New("credentials come from a Secret in the cluster, which gitgate render does not read: only a public repository can be fetched")
	// ErrTooDeep: roots nest deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("roots nest too deep")
)

// Root is one Kustomization or HelmRelease and what it declares.
type Root struct {
	// Kind, Namespace and Name of the Flux object. The top root of a path
	// that no Kustomization of the render renders is Synthetic: it
	// renders as Kustomization flux-system/flux-system would.
	Kind, Namespace, Name string
	Synthetic             bool
	// Path is a Kustomization's spec.path.
	Path string
	// Source is where its files or chart come from: "GitRepository
	// flux-system/flux-system", "HelmRepository podinfo/podinfo".
	Source string
	// DeclaredBy is the root whose render declares this one ("" for the
	// top root).
	DeclaredBy string
	// Objects are what the root declares, in render order.
	Objects []Object
	// Helm is a HelmRelease's render: chart, version, config digest,
	// hooks, ignore rules.
	Helm *helmrender.Result
	// HideValues: values may come from a Secret (substituteFrom or
	// valuesFrom a Secret).
	HideValues bool
	// Skipped says why the root declares nothing here and that is no
	// failure: another cluster (spec.kubeConfig), or a GitRepository
	// that is not Options.LocalSource.
	Skipped string
	// Err is why the root failed; it declares nothing then.
	Err error

	depth   int
	missed  map[objKey]bool
	renders int
	// obj is the Flux object as declared, to render again.
	obj map[string]any
}

// String names the root as gitgate serve does: "Kustomization
// flux-system/apps", "HelmRelease podinfo/podinfo"; the synthetic top
// root is "path <P>".
func (r *Root) String() string {
	if r.Synthetic {
		p := strings.Trim(path.Clean("/"+r.Path), "/")
		if p == "" {
			p = "."
		}
		return "path " + p
	}
	return fmt.Sprintf("%s %s/%s", r.Kind, r.Namespace, r.Name)
}

// Object is one object a root declares.
type Object struct {
	// Object is the object as the agent applies it.
	Object map[string]any
	// Source is the chart file a HelmRelease's object comes from.
	Source string
	// AgentOnly: only the agent may write it, with values gitgate cannot
	// know (a Secret it decrypts; an object a chart renders differently
	// every time): declared by its identity alone.
	AgentOnly bool
	// NotEnforced says why the agent leaves the object alone once it
	// exists ("" when it corrects it): gitgate does not declare it.
	NotEnforced string
	// Indeterminate are JSON pointers of fields a chart renders
	// differently every time (helmrender.Object.Indeterminate): any value
	// is the agent's.
	Indeterminate []string
	// Lookup: its template called lookup; the render saw an empty
	// cluster.
	Lookup bool
}

// Result is a render of DIR.
type Result struct {
	// Roots in the order they were found, the top root first.
	Roots    []*Root
	Revision provenance.Revision
}

// Failed is the error of each root that failed, naming the root.
func (r *Result) Failed() []error {
	var out []error
	for _, rt := range r.Roots {
		if rt.Err != nil {
			out = append(out, fmt.Errorf("%s: %w", rt, rt.Err))
		}
	}
	return out
}
