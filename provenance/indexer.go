package provenance

import (
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	pathpkg "path"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/gitgate/gitgate/provenance/compare"
)

// Scope tells whether a kind is namespaced. The API server's discovery (a
// RESTMapper) implements it in production.
type Scope interface {
	// Namespaced reports whether gk is namespaced; known is false when the
	// API server does not serve the kind.
	Namespaced(gk schema.GroupKind) (namespaced, known bool, err error)
}

// File is one manifest file (or rendered kustomize root) of a revision.
type File struct {
	Path string
	// ID identifies the content: a blob hash, or the hash of a kustomize
	// root's inputs. With an ID, the Indexer reuses the entries it built
	// for the same Path and ID in the previous revision.
	ID string
	// Objects are the parsed manifests. They may be nil when
	// Indexer.Cached(Path, ID) said the entries are cached, or when Load
	// is set; the Indexer may change them as it normalizes them.
	Objects []map[string]any
	// Load parses the file when Objects is nil: Build calls it a few files
	// ahead of indexing them, so a cold sync of thousands of files never
	// holds every parse tree at once. Build collects CRDs before it
	// indexes anything, so a file with a Load should declare no
	// CustomResourceDefinition: should one turn out to, Build reads every
	// such file up front and builds again. A file passed by identity only
	// (cached) has neither Objects nor Load; one parsed to nothing has an
	// empty, non-nil Objects.
	Load func() ([]map[string]any, error)
	// AgentOnly marks every object of the file as written by the agent
	// alone (Entry.AgentOnly).
	AgentOnly bool
	// HideValues marks every object of the file as holding values that
	// may come from a Secret (Entry.HideValues).
	HideValues bool
}

// Indexer turns the files of one revision into a Snapshot. It keeps the
// entries of the last successful Build, so a commit that changes one file
// re-indexes one file. Build and Cached must not run concurrently with
// another Build; Cached may be called from many goroutines at once.
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
// entries it can no longer reuse (the revision's CRDs changed). The caller
// resets the Indexer and renders again with every file's objects.
var ErrIndexCacheStale = errors.New("index cache cannot serve this revision")

// ErrNotAnObject: Build was given a manifest without a kind, a metadata map
// or a name, which no Kubernetes object lacks.
var ErrNotAnObject = errors.New("not a Kubernetes object")

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

// Build indexes files into a Snapshot of one root, ix.Root at rev. It
// fails, and the caller keeps its current Snapshot, when an object is
// declared twice or a kind's scope cannot be looked up.
func (ix *Indexer) Build(rev Revision, files []File) (*Snapshot, error) {
	snap, err := ix.build(rev, files)
	if !errors.Is(err, errLateCRD) {
		return snap, err
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

func (ix *Indexer) build(rev Revision, files []File) (*Snapshot, error) {
	crds, fingerprint, err := ix.collectCRDs(files)
	if err != nil {
		return nil, err
	}
	reuse := fingerprint == ix.crdFingerprint
	snap := &Snapshot{
		objects:    map[Key]*Entry{},
		namespaces: map[string]int{},
		kinds:      map[groupKind]int{},
	}
	next := make(map[fileKey]*cachedFile, len(files))
	schemas := map[schema.GroupVersionKind]*compare.Schema{}
	unresolved := map[string]bool{}
	needsIndex := func(f File) bool {
		return !reuse || f.ID == "" || ix.cache[fileKey{f.Path, f.ID}] == nil
	}
	var lazy []File
	for _, f := range files {
		if needsIndex(f) && f.Objects == nil && f.Load != nil {
			lazy = append(lazy, f)
		}
	}
	loads := newLoader(lazy)
	defer loads.stop()
	for _, f := range files {
		key := fileKey{f.Path, f.ID}
		cached := ix.cache[key]
		if needsIndex(f) {
			objs := f.Objects
			switch {
			case objs == nil && f.Load != nil:
				if objs, err = loads.take(); err != nil {
					return nil, err
				}
				if len(crdsOf([]File{{Objects: objs}})) > 0 {
					return nil, fmt.Errorf("%s: %w", f.Path, errLateCRD)
				}
			case objs == nil && cached != nil:
				return nil, ErrIndexCacheStale
			}
			fresh, guessed, err := ix.indexFile(f.Path, objs, f.AgentOnly, f.HideValues, crds, schemas, unresolved)
			if err != nil {
				return nil, err
			}
			cached = fresh
			if guessed || f.ID == "" {
				// A guessed scope is resolved again next time; never reuse it.
				if err := snap.addAll(fresh.entries); err != nil {
					return nil, err
				}
				continue
			}
		}
		next[key] = cached
		if err := snap.addAll(cached.entries); err != nil {
			return nil, err
		}
	}
	for k := range unresolved {
		snap.unresolved = append(snap.unresolved, k)
	}
	sort.Strings(snap.unresolved)
	state := &RootState{Root: ix.Root, Revision: rev, Objects: len(snap.objects)}
	snap.roots, snap.rootList = map[Root]*RootState{ix.Root: state}, []*RootState{state}
	ix.cache, ix.crdFingerprint = next, fingerprint
	return snap, nil
}

// indexFile builds the entries of one file, noting kinds whose scope had
// to be guessed in unresolved.
func (ix *Indexer) indexFile(path string, objs []map[string]any, agentOnly, hideValues bool, crds map[schema.GroupKind]*crdInfo, schemas map[schema.GroupVersionKind]*compare.Schema, unresolved map[string]bool) (*cachedFile, bool, error) {
	fresh := &cachedFile{crds: crdsOf([]File{{Objects: objs}})}
	guessedAny := false
	for _, obj := range objs {
		e, guessed, err := ix.entry(path, obj, crds, schemas)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		if guessed {
			guessedAny = true
			unresolved[e.Key.Kind+"."+e.Key.Group] = true
		}
		e.AgentOnly, e.HideValues = agentOnly, hideValues
		fresh.entries = append(fresh.entries, e)
	}
	return fresh, guessedAny, nil
}

func (s *Snapshot) addAll(entries []*Entry) error {
	for _, e := range entries {
		if err := s.add(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *Snapshot) add(e *Entry) error {
	if prev, dup := s.objects[e.Key]; dup {
		return fmt.Errorf("%w: %s in %s and %s", ErrDuplicate, e.Key, prev.Path, e.Path)
	}
	s.objects[e.Key] = e
	s.kinds[groupKind{e.Key.Group, e.Key.Kind}]++
	if e.Key.Namespace != "" {
		s.namespaces[e.Key.Namespace]++
	}
	return nil
}

// collectCRDs gathers the CRDs of a revision, from the cache for files
// passed without objects, and a fingerprint of where they came from.
func (ix *Indexer) collectCRDs(files []File) (map[schema.GroupKind]*crdInfo, string, error) {
	crds := map[schema.GroupKind]*crdInfo{}
	var from []string
	for _, f := range files {
		fc := map[schema.GroupKind]*crdInfo(nil)
		switch {
		case f.Objects == nil && f.Load != nil:
			continue // declares no CRD
		case f.Objects == nil:
			cached := ix.cache[fileKey{f.Path, f.ID}]
			if cached == nil {
				if f.ID == "" {
					continue // an empty file
				}
				return nil, "", ErrIndexCacheStale
			}
			fc = cached.crds
		default:
			fc = crdsOf([]File{f})
		}
		if len(fc) == 0 {
			continue
		}
		id := f.ID
		if id == "" {
			// Content unknown: this revision's CRDs never match the last.
			ix.builds++
			id = fmt.Sprintf("unidentified-%d", ix.builds)
		}
		from = append(from, f.Path+"@"+id)
		for gk, info := range fc {
			crds[gk] = info
		}
	}
	sort.Strings(from)
	return crds, strings.Join(from, ","), nil
}

func (ix *Indexer) entry(path string, obj map[string]any, crds map[schema.GroupKind]*crdInfo, schemas map[schema.GroupVersionKind]*compare.Schema) (*Entry, bool, error) {
	apiVersion, _ := obj["apiVersion"].(string)
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, fmt.Errorf("apiVersion %q: %w", apiVersion, err)
	}
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if kind == "" || name == "" {
		// render.ParseManifests never yields such an object, but Build is
		// exported: a caller's bad object is an error, not a panic.
		return nil, false, fmt.Errorf("%s object without a kind or metadata.name: %w", apiVersion, ErrNotAnObject)
	}
	gvk := gv.WithKind(kind)
	key := Key{Group: gvk.Group, Kind: gvk.Kind, Name: name}
	ns, _ := meta["namespace"].(string)
	// The namespace is set or dropped below by scope, which the CRDs of the
	// revision decide: change copies, so that Build's second pass (a CRD
	// found late) starts again from the namespace Git wrote. The rest of
	// normalization gives the same result when run twice.
	obj, meta = maps.Clone(obj), maps.Clone(meta)
	obj["metadata"] = meta

	namespaced, known, guessed := true, false, false
	if crd := crds[gvk.GroupKind()]; crd != nil {
		namespaced, known = crd.namespaced, true
	} else if ix.Scope != nil {
		namespaced, known, err = ix.Scope.Namespaced(gvk.GroupKind())
		if err != nil {
			return nil, false, fmt.Errorf("look up scope of %s: %w", gvk.GroupKind(), err)
		}
	}
	if !known {
		// The API server does not serve this kind yet. kubectl could not
		// apply it either; guess from the manifest and resolve again later.
		guessed = true
		namespaced = true
	}
	switch {
	case namespaced && ns == "":
		ns = ix.DefaultNamespace
		meta["namespace"] = ns
	case !namespaced:
		ns = ""
		delete(meta, "namespace")
	}
	key.Namespace = ns

	s, ok := schemas[gvk]
	if !ok {
		s = ix.schemaFor(gvk, crds)
		schemas[gvk] = s
	}
	normalizeDeclared(key, obj)
	compare.Normalize(obj, s)
	e := &Entry{Key: key, APIVersion: apiVersion, Path: originPath(path, meta), Schema: s, Root: ix.Root}
	if err := e.setObject(obj); err != nil {
		return nil, false, err
	}
	return e, guessed, nil
}

// kustomizeSuffix marks the File of a rendered kustomize root.
const kustomizeSuffix = " (kustomize)"

// originPath names the file that declares an object of a kustomize root
// when kustomize recorded it (buildMetadata: [originAnnotations] writes
// config.kubernetes.io/origin with the path relative to the root):
// "apps/base/web.yaml (kustomize apps/prod)". Otherwise, and for objects
// a generator made or a remote base holds, it is the root's File path.
func originPath(path string, meta map[string]any) string {
	root, ok := strings.CutSuffix(path, kustomizeSuffix)
	if !ok {
		return path
	}
	ann, _ := meta["annotations"].(map[string]any)
	origin, _ := ann["config.kubernetes.io/origin"].(string)
	var file string
	for _, line := range strings.Split(origin, "\n") {
		if v, ok := strings.CutPrefix(line, "path: "); ok {
			file = strings.Trim(strings.TrimSpace(v), `"'`)
			break
		}
	}
	if file == "" || strings.Contains(origin, "repo: ") || strings.Contains(origin, "configuredIn: ") {
		return path
	}
	joined := pathpkg.Join(root, file)
	if root == "." {
		joined = pathpkg.Clean(file)
	}
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return path
	}
	return joined + " (kustomize " + root + ")"
}

func (ix *Indexer) schemaFor(gvk schema.GroupVersionKind, crds map[schema.GroupKind]*crdInfo) *compare.Schema {
	sch := ix.Scheme
	if sch == nil {
		sch = clientgoscheme.Scheme
	}
	if obj, err := sch.New(gvk); err == nil {
		return compare.SchemaForType(reflect.TypeOf(obj))
	}
	if crd := crds[gvk.GroupKind()]; crd != nil {
		return compare.SchemaFromOpenAPI(crd.schemas[gvk.Version])
	}
	return nil
}

// normalizeDeclared rewrites what the API server rewrites before admission
// sees an object, for fields whose rule depends on the kind.
func normalizeDeclared(k Key, obj map[string]any) {
	switch {
	case k.Group == "" && k.Kind == "Secret":
		canonicalBase64(obj["data"])
	case k.Group == "" && k.Kind == "ConfigMap":
		canonicalBase64(obj["binaryData"])
	}
	if k.Group == "" && k.Kind == "Secret" {
		// The API server merges stringData into data (base64) when it
		// converts a v1 Secret, so validating webhooks never see stringData.
		// https://kubernetes.io/docs/concepts/configuration/secret/#restriction-names-data
		if sd, ok := obj["stringData"].(map[string]any); ok {
			data, _ := obj["data"].(map[string]any)
			if data == nil {
				data = map[string]any{}
			}
			for key, v := range sd {
				if s, ok := v.(string); ok {
					data[key] = base64.StdEncoding.EncodeToString([]byte(s))
				}
			}
			obj["data"] = data
			delete(obj, "stringData")
		}
	}
}

// canonicalBase64 re-encodes base64 values the way the API server writes
// []byte back: one line, standard padding. Git often holds `base64` output
// wrapped over several lines, which the API server decodes all the same.
func canonicalBase64(v any) {
	m, _ := v.(map[string]any)
	for key, val := range m {
		s, ok := val.(string)
		if !ok {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			continue // not base64: leave it, the API server will refuse it
		}
		m[key] = base64.StdEncoding.EncodeToString(raw)
	}
}

type crdInfo struct {
	namespaced bool
	// schemas maps a served version to its openAPIV3Schema.
	schemas map[string]map[string]any
}

// crdsOf collects the CustomResourceDefinitions of a revision, so that
// custom resources declared next to their CRD index and compare correctly
// before the CRD is installed.
func crdsOf(files []File) map[schema.GroupKind]*crdInfo {
	out := map[schema.GroupKind]*crdInfo{}
	for _, f := range files {
		for _, obj := range f.Objects {
			if obj["kind"] != "CustomResourceDefinition" || obj["apiVersion"] != "apiextensions.k8s.io/v1" {
				continue
			}
			spec, _ := obj["spec"].(map[string]any)
			names, _ := spec["names"].(map[string]any)
			group, _ := spec["group"].(string)
			kind, _ := names["kind"].(string)
			if kind == "" {
				continue
			}
			info := &crdInfo{namespaced: spec["scope"] != "Cluster", schemas: map[string]map[string]any{}}
			versions, _ := spec["versions"].([]any)
			for _, v := range versions {
				vm, _ := v.(map[string]any)
				name, _ := vm["name"].(string)
				sch, _ := vm["schema"].(map[string]any)
				props, _ := sch["openAPIV3Schema"].(map[string]any)
				info.schemas[name] = props
			}
			out[schema.GroupKind{Group: group, Kind: kind}] = info
		}
	}
	return out
}
