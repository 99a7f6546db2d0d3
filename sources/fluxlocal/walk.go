package fluxlocal

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitgate/gitgate/sources/helmchart"
)

// walker renders roots and finds the roots they declare.
type walker struct {
	opts Options
	pool *pool
	// roots by name, and in the order found.
	roots map[string]*Root
	list  []*Root
	// kustomizations and helmReleases wait to render; HelmReleases render
	// when no Kustomization waits, so they read what every Kustomization
	// found so far declares (their repositories, their values).
	kustomizations, helmReleases []*Root
	// artifacts are the files of each GitRepository DIR stands for.
	artifacts map[types.NamespacedName]artifactFiles
	fetcher   *helmchart.Fetcher
}

// Render renders opts.Path of opts.Files as a Kustomization, then every
// Kustomization and HelmRelease it declares, and so on down (see the
// package doc). A root that fails or is skipped says so in the Result;
// the error is for options that let nothing render.
func Render(ctx context.Context, opts Options) (*Result, error) {
	if opts.Files == nil {
		return nil, errors.New("fluxlocal: no files")
	}
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.DefaultNamespace == "" {
		opts.DefaultNamespace = "default"
	}
	w := &walker{
		opts: opts, pool: newPool(opts.DefaultNamespace), roots: map[string]*Root{},
		artifacts: map[types.NamespacedName]artifactFiles{},
		// No Reader: a repository's Secrets are never read (ErrCredentials
		// says so before the Fetcher would).
		fetcher: &helmchart.Fetcher{Transport: opts.Transport},
	}
	w.top(ctx)
	for len(w.kustomizations)+len(w.helmReleases) > 0 {
		for len(w.kustomizations) > 0 {
			rt := w.kustomizations[0]
			w.kustomizations = w.kustomizations[1:]
			w.render(ctx, rt)
		}
		w.retryMissed()
		if len(w.kustomizations) > 0 {
			continue
		}
		hrs := w.helmReleases
		w.helmReleases = nil
		for _, rt := range hrs {
			w.render(ctx, rt)
		}
	}
	return &Result{Roots: w.list, Revision: opts.Revision}, nil
}

// top renders opts.Path. When its render declares a Kustomization of
// that very path from a GitRepository DIR stands for (flux bootstrap's
// flux-system), that Kustomization is the top root and renders in its
// place; otherwise the path renders as flux-system/flux-system would.
func (w *walker) top(ctx context.Context) {
	src := types.NamespacedName{Namespace: "flux-system", Name: "flux-system"}
	if w.opts.LocalSource != nil {
		src = *w.opts.LocalSource
	}
	ks := map[string]any{
		"apiVersion": kustomizev1.GroupVersion.String(), "kind": kustomizev1.KustomizationKind,
		"metadata": map[string]any{"name": "flux-system", "namespace": "flux-system"},
		"spec": map[string]any{
			"path": w.opts.Path, "prune": true, "interval": "10m",
			"sourceRef": map[string]any{"kind": sourcev1.GitRepositoryKind, "name": src.Name, "namespace": src.Namespace},
		},
	}
	synthetic := &Root{Kind: KindKustomization, Namespace: "flux-system", Name: "flux-system", Synthetic: true, Path: w.opts.Path, obj: ks, missed: map[objKey]bool{}, renders: 1}
	objs, err := w.renderKustomization(ctx, synthetic)
	if err == nil {
		if self := w.selfDeclared(objs); self != nil {
			rt := w.found(self, "", 0)
			w.kustomizations = nil
			w.render(ctx, rt)
			return
		}
	}
	w.list = append(w.list, synthetic)
	w.settle(synthetic, objs, err)
}

// selfDeclared is the Kustomization among objs that renders the top
// path from a GitRepository DIR stands for, if any.
func (w *walker) selfDeclared(objs []Object) map[string]any {
	want := cleanPath(w.opts.Path)
	for _, o := range objs {
		if o.AgentOnly || o.NotEnforced != "" || !isKind(o.Object, kustomizev1.GroupVersion.Group, kustomizev1.KustomizationKind) {
			continue
		}
		ks := &kustomizev1.Kustomization{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, ks) != nil {
			continue
		}
		ref := ks.Spec.SourceRef
		if ref.Kind == sourcev1.GitRepositoryKind && w.isLocal(namespaced(ref.Namespace, ref.Name, w.namespaceOf(ks.ObjectMeta))) && cleanPath(ks.Spec.Path) == want {
			return o.Object
		}
	}
	return nil
}

// render renders one found root and settles what it declares.
func (w *walker) render(ctx context.Context, rt *Root) {
	rt.renders++
	rt.missed = map[objKey]bool{}
	var objs []Object
	var err error
	switch {
	case rt.depth > w.opts.MaxDepth:
		err = fmt.Errorf("%w: more than %d levels below the top root", ErrTooDeep, w.opts.MaxDepth)
	case rt.Kind == KindKustomization:
		objs, err = w.renderKustomization(ctx, rt)
	default:
		objs, err = w.renderHelmRelease(ctx, rt)
	}
	w.settle(rt, objs, err)
}

// settle records a render's outcome: a failure, a skip, or the objects,
// which join the pool, and the roots among them, which join the queue.
func (w *walker) settle(rt *Root, objs []Object, err error) {
	var skip skipError
	switch {
	case errors.As(err, &skip):
		rt.Skipped, rt.Objects, rt.Err = string(skip), nil, nil
		return
	case err != nil:
		rt.Err, rt.Objects = err, nil
		return
	}
	rt.Objects, rt.Err = objs, nil
	w.pool.add(rt.String(), objs)
	for _, o := range objs {
		if o.AgentOnly || o.NotEnforced != "" {
			continue
		}
		if isKind(o.Object, kustomizev1.GroupVersion.Group, kustomizev1.KustomizationKind) ||
			isKind(o.Object, helmv2.GroupVersion.Group, helmv2.HelmReleaseKind) {
			w.found(o.Object, rt.String(), rt.depth+1)
		}
	}
}

// found queues the Flux object obj, declared by parent, as a root, unless
// it is queued already: the first declaration renders, so a
// Kustomization that declares itself, or a cycle, renders once.
func (w *walker) found(obj map[string]any, parent string, depth int) *Root {
	k := w.pool.keyOf(obj)
	rt := &Root{Kind: k.kind, Namespace: k.namespace, Name: k.name, DeclaredBy: parent, depth: depth, obj: obj}
	if prev := w.roots[rt.String()]; prev != nil {
		return prev
	}
	w.roots[rt.String()] = rt
	w.list = append(w.list, rt)
	if rt.Kind == KindKustomization {
		w.kustomizations = append(w.kustomizations, rt)
	} else {
		w.helmReleases = append(w.helmReleases, rt)
	}
	return rt
}

// retryMissed queues again, once, the Kustomizations whose render read a
// ConfigMap or Secret no root had declared yet and one declares now.
func (w *walker) retryMissed() {
	for _, rt := range w.list {
		if rt.Kind != KindKustomization || rt.renders != 1 || rt.Synthetic {
			continue
		}
		for k := range rt.missed {
			if _, ok := w.pool.byKey[k]; ok {
				w.kustomizations = append(w.kustomizations, rt)
				break
			}
		}
	}
}

// skipError is why a root declares nothing here, which is no failure.
type skipError string

func (e skipError) Error() string { return string(e) }

// isLocal reports whether DIR stands for the GitRepository src.
func (w *walker) isLocal(src types.NamespacedName) bool {
	return w.opts.LocalSource == nil || *w.opts.LocalSource == src
}

// sourceFiles are the files of the GitRepository src as
// source-controller would archive them from DIR, or a skipError when DIR
// does not stand for it.
func (w *walker) sourceFiles(src types.NamespacedName) (fs.FS, error) {
	if !w.isLocal(src) {
		return nil, skipError(fmt.Sprintf("its source, GitRepository %s, is not --local-source %s", src, w.opts.LocalSource))
	}
	k := objKey{group: sourcev1.GroupVersion.Group, kind: sourcev1.GitRepositoryKind, namespace: src.Namespace, name: src.Name}
	_, declared := w.pool.byKey[k]
	if a, ok := w.artifacts[src]; ok && a.declared == declared {
		return a.files, nil
	}
	var gr *sourcev1.GitRepository
	if declared {
		gr = &sourcev1.GitRepository{}
		if err := w.pool.decode(k, sourcev1.GroupVersion.String(), gr); err != nil {
			return nil, err
		}
	}
	files, err := artifact(w.opts.Files, gr)
	if err != nil {
		return nil, err
	}
	w.artifacts[src] = artifactFiles{files: files, declared: declared}
	return files, nil
}

// artifactFiles are a GitRepository's files, filtered by its spec when
// a rendered root declares it.
type artifactFiles struct {
	files    fs.FS
	declared bool
}

func (w *walker) namespaceOf(m metav1.ObjectMeta) string {
	if m.Namespace == "" {
		return w.opts.DefaultNamespace
	}
	return m.Namespace
}

func isKind(obj map[string]any, group, kind string) bool {
	apiVersion, _ := obj["apiVersion"].(string)
	return obj["kind"] == kind && strings.HasPrefix(apiVersion, group+"/")
}

func cleanPath(p string) string { return strings.Trim(path.Clean("/"+p), "/") }
