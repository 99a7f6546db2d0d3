package fluxlocal

import (
	"fmt"
	"sort"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance"
)

// Snapshot indexes every root that rendered, each with its own Indexer
// made from indexer and named as gitgate serve names it, at the
// Result's revision, and composes them into one Snapshot, as a source
// driver feeds its Composer; url names DIR. A root whose objects cannot
// be indexed (an object declared twice within it, a bad manifest) fails
// there: its Err is set and it declares nothing. It also returns the
// ignore rules of the HelmReleases: the fields their charts render
// differently every time (Object.Indeterminate) and their
// spec.driftDetection.ignore, which a Checker must hold alongside its own.
func (r *Result) Snapshot(indexer *provenance.Indexer, url string) (*provenance.Snapshot, []provenance.IgnoreRule) {
	var parts []provenance.Part
	var ignores []provenance.IgnoreRule
	now := time.Now()
	for _, rt := range r.Roots {
		if rt.Err != nil || rt.Skipped != "" {
			continue
		}
		root := provenance.Root{Name: rt.String(), Source: rt.Source, URL: url}
		idx, err := indexer.ForRoot(root).Build(r.Revision, rt.files())
		if err != nil {
			rt.Err = fmt.Errorf("index: %w", err)
			continue
		}
		parts = append(parts, provenance.Part{Index: idx, Fetched: now})
		ignores = append(ignores, rt.ignores()...)
	}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.Update(parts...)
	return c.Store.Load(), ignores
}

// files are the root's objects as an Indexer takes them: those it
// declares, and those only the agent writes, by their identity alone. A
// Kustomization's are one kustomize root at its path; a HelmRelease's a
// file per chart template.
func (rt *Root) files() []provenance.File {
	byPath := map[string]*provenance.File{}
	var order []string
	for _, o := range rt.Objects {
		if o.NotEnforced != "" {
			continue
		}
		p := o.Source
		if rt.Kind == KindKustomization {
			p = cleanPath(rt.Path)
			if p == "" {
				p = "."
			}
		}
		id := p
		if o.AgentOnly {
			id += "\x00agent-only"
		}
		f := byPath[id]
		if f == nil {
			f = &provenance.File{Path: p, Kustomize: rt.Kind == KindKustomization, AgentOnly: o.AgentOnly, HideValues: rt.HideValues}
			byPath[id] = f
			order = append(order, id)
		}
		obj := o.Object
		if o.AgentOnly {
			obj = identityOf(obj)
		}
		f.Objects = append(f.Objects, obj)
	}
	files := make([]provenance.File, len(order))
	for i, id := range order {
		files[i] = *byPath[id]
	}
	return files
}

// identityOf is what an AgentOnly object is declared by: its type, name,
// namespace, labels and annotations, as fluxrender keeps a Secret the
// agent decrypts.
func identityOf(obj map[string]any) map[string]any {
	meta, _ := obj["metadata"].(map[string]any)
	keep := map[string]any{}
	for _, k := range []string{"name", "namespace", "labels", "annotations"} {
		if v, ok := meta[k]; ok {
			keep[k] = v
		}
	}
	return map[string]any{"apiVersion": obj["apiVersion"], "kind": obj["kind"], "metadata": keep}
}

// ignores are a HelmRelease's rules: its drift-detection ignores, and
// each object's indeterminate fields.
func (rt *Root) ignores() []provenance.IgnoreRule {
	if rt.Helm == nil {
		return nil
	}
	out := append([]provenance.IgnoreRule(nil), rt.Helm.Ignore...)
	for _, o := range rt.Objects {
		var ptrs []string
		for _, p := range o.Indeterminate {
			if p != "" {
				ptrs = append(ptrs, p)
			}
		}
		if len(ptrs) == 0 || o.AgentOnly {
			continue
		}
		sort.Strings(ptrs)
		apiVersion, _ := o.Object["apiVersion"].(string)
		kind, _ := o.Object["kind"].(string)
		meta, _ := o.Object["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		gv, _ := schema.ParseGroupVersion(apiVersion)
		out = append(out, provenance.IgnoreRule{Group: gv.Group, Kind: kind, Namespace: ns, Name: name, JSONPointers: ptrs})
	}
	return out
}
