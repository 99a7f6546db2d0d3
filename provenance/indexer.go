package provenance

import (
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Scope tells whether a kind is namespaced. The API server's discovery (a
// RESTMapper) implements it in production.
type Scope interface {
	// Namespaced reports whether gk is namespaced; known is false when the
	// API server does not serve the kind.
	Namespaced(gk schema.GroupKind) (namespaced, known bool, err error)
}

// Indexer turns the files of one root at one revision into its Index. It
// keeps the entries of the last successful Build, so a commit that
// changes one file re-indexes one file. Build and Cached must not run
// concurrently with another Build; Cached may be called from many
// goroutines at once.
type Indexer struct {
	Scope Scope
	// DefaultNamespace is where a namespaced object without
	// metadata.namespace lands, as kubectl apply would place it.
	DefaultNamespace string
	// Scheme provides Go types for built-in kinds; nil uses client-go's.
	Scheme *runtime.Scheme
	// Root is the root whose files this Indexer indexes; every entry names
	// it. One Indexer per root, so a root's entries are reused across its
	// own revisions only.
	Root Root

	// cache holds the entries of the last successful Build by file.
	cache map[fileKey]*cachedFile
	// crdFingerprint names the files that declared CRDs in that Build.
	// Entries of custom resources depend on them (scope and schema), so
	// when they change, nothing is reused.
	crdFingerprint string
	builds         int
}

type fileKey struct{ path, id string }

type cachedFile struct {
	entries []*Entry
	crds    map[schema.GroupKind]*crdInfo
}

// ErrIndexCacheStale means Build was given a file without objects whose
// entries it can no longer reuse (the revision's CRDs changed, or the
// entries were never kept). BuildFrom reads the files again with every
// file's objects and builds once more.
var ErrIndexCacheStale = errors.New("index cache cannot serve this revision")

// ErrNotAnObject: Build was given a manifest without a kind, a metadata map
// or a name, which no Kubernetes object lacks.
var ErrNotAnObject = errors.New("not a Kubernetes object")

// ForRoot is a new Indexer of root with ix's settings (scope, default
// namespace, scheme) and nothing cached: a source driver keeps one
// Indexer as the template of its roots' own.
func (ix *Indexer) ForRoot(root Root) *Indexer {
	return &Indexer{Scope: ix.Scope, DefaultNamespace: ix.DefaultNamespace, Scheme: ix.Scheme, Root: root}
}

// Cached reports whether Build can reuse the entries of the file at path
// with content id, so its objects need not be read or parsed.
func (ix *Indexer) Cached(path, id string) bool {
	_, ok := ix.cache[fileKey{path, id}]
	return id != "" && ok
}

// Reset forgets the reusable entries.
func (ix *Indexer) Reset() {
	ix.cache, ix.crdFingerprint = nil, ""
}

// ReadFiles reads a root's files at one revision. Given a reuse function, it
// may pass a file by identity only (Path and ID, neither Objects nor Load)
// when reuse(path, id) is true; given nil, it passes every file's objects.
type ReadFiles func(reuse func(path, id string) bool) ([]File, error)

// BuildFrom reads the root's files with read, reusing what the Indexer
// holds (Cached), and builds them. When the entries it holds cannot serve
// the revision (ErrIndexCacheStale) it reads every file again, reusing
// nothing, and builds once more. Errors of read are returned as they are.
func (ix *Indexer) BuildFrom(rev Revision, read ReadFiles) (*Index, error) {
	files, err := read(ix.Cached)
	if err != nil {
		return nil, err
	}
	idx, err := ix.Build(rev, files)
	if !errors.Is(err, ErrIndexCacheStale) {
		return idx, err
	}
	if files, err = read(nil); err != nil {
		return nil, err
	}
	return ix.Build(rev, files)
}

// Build indexes files into the Index of one root, ix.Root at rev. It
// fails, and the caller keeps its current Index, when an object is
// declared twice or a kind's scope cannot be looked up.
func (ix *Indexer) Build(rev Revision, files []File) (*Index, error) {
	idx, err := ix.build(rev, files)
	if !errors.Is(err, errLateCRD) {
		return idx, err
	}
	// A file read late declares a CRD its bytes did not show plainly (an
	// escaped kind). Read every such file first and build once more.
	eager := make([]File, len(files))
	for i, f := range files {
		if f.Objects == nil && f.Load != nil {
			objs, err := f.Load()
			if err != nil {
				return nil, &LoadError{Path: f.Path, Err: err}
			}
			f.Objects, f.Load = nonNil(objs), nil
		}
		eager[i] = f
	}
	return ix.build(rev, eager)
}

// errLateCRD: a file passed with Load declares a CustomResourceDefinition.
var errLateCRD = errors.New("a CustomResourceDefinition in a file read late")

// nonNil keeps a parsed file without objects apart from one passed by
// identity only (Objects nil, no Load).
func nonNil(objs []map[string]any) []map[string]any {
	if objs == nil {
		return []map[string]any{}
	}
	return objs
}

// build is one pass of Build: on success the Indexer keeps what it built
// for the next.
func (ix *Indexer) build(rev Revision, files []File) (*Index, error) {
	crds, fingerprint, err := ix.collectCRDs(files)
	if err != nil {
		return nil, err
	}
	b := &building{
		ix:         ix,
		crds:       crds,
		reuse:      fingerprint == ix.crdFingerprint,
		schemas:    map[schema.GroupVersionKind]*compare.Schema{},
		unresolved: map[string]bool{},
		next:       make(map[fileKey]*cachedFile, len(files)),
		idx:        &Index{root: ix.Root, revision: rev, objects: map[Key]*Entry{}},
	}
	b.loads = newLoader(b.lazy(files))
	defer b.loads.stop()
	for _, f := range files {
		if err := b.add(f); err != nil {
			return nil, err
		}
	}
	for k := range b.unresolved {
		b.idx.unresolved = append(b.idx.unresolved, k)
	}
	sort.Strings(b.idx.unresolved)
	ix.cache, ix.crdFingerprint = b.next, fingerprint
	return b.idx, nil
}

// building is the state of one pass of Build.
type building struct {
	ix   *Indexer
	crds map[schema.GroupKind]*crdInfo
	// reuse: the revision's CRDs are those of the last Build, so its
	// entries of unchanged files still hold.
	reuse   bool
	schemas map[schema.GroupVersionKind]*compare.Schema
	// unresolved notes kinds whose scope had to be guessed.
	unresolved map[string]bool
	// next is what the Indexer keeps for the next Build.
	next  map[fileKey]*cachedFile
	idx   *Index
	loads *loader
}

// needsIndex reports whether f's entries must be built, not reused.
func (b *building) needsIndex(f File) bool {
	return !b.reuse || f.ID == "" || b.ix.cache[fileKey{f.Path, f.ID}] == nil
}

// lazy lists the files whose objects the pass loads, in order.
func (b *building) lazy(files []File) []File {
	var lazy []File
	for _, f := range files {
		if b.needsIndex(f) && f.Objects == nil && f.Load != nil {
			lazy = append(lazy, f)
		}
	}
	return lazy
}

// add puts the entries of f into the index: built afresh, or those the
// last Build built from the same file.
func (b *building) add(f File) error {
	key := fileKey{f.Path, f.ID}
	cached := b.ix.cache[key]
	if b.needsIndex(f) {
		objs, err := b.objectsOf(f, cached)
		if err != nil {
			return err
		}
		fresh, guessed, err := b.indexFile(f, objs)
		if err != nil {
			return err
		}
		if guessed || f.ID == "" {
			// A guessed scope is resolved again next time; never reuse it.
			return b.idx.addAll(fresh.entries)
		}
		cached = fresh
	}
	b.next[key] = cached
	return b.idx.addAll(cached.entries)
}

// objectsOf is what f declares: its objects, loaded now if f has a Load.
func (b *building) objectsOf(f File, cached *cachedFile) ([]map[string]any, error) {
	switch {
	case f.Objects != nil:
		return f.Objects, nil
	case f.Load != nil:
		objs, err := b.loads.take()
		if err != nil {
			return nil, err
		}
		if len(crdsOf(objs)) > 0 {
			return nil, fmt.Errorf("%s: %w", f.origin(), errLateCRD)
		}
		return objs, nil
	case cached != nil:
		return nil, ErrIndexCacheStale
	}
	return nil, nil
}

// indexFile builds the entries of one file, and reports whether the scope
// of any had to be guessed.
func (b *building) indexFile(f File, objs []map[string]any) (*cachedFile, bool, error) {
	fresh := &cachedFile{crds: crdsOf(objs)}
	guessedAny := false
	for _, obj := range objs {
		e, guessed, err := b.entry(f, obj)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", f.origin(), err)
		}
		if guessed {
			guessedAny = true
			b.unresolved[e.Key.Kind+"."+e.Key.Group] = true
		}
		fresh.entries = append(fresh.entries, e)
	}
	return fresh, guessedAny, nil
}
