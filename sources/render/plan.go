package render

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitgate/gitgate/provenance"
)

// maxManifestBytes bounds one manifest file. The API server refuses objects
// over ~1.5 MiB; a larger file in the repository is almost surely not a
// manifest and would only cost memory.
const maxManifestBytes = 8 << 20

// manifestFile is one file to read under a root.
type manifestFile struct {
	path string
	blob *object.File
}

// listManifests lists the manifest files under root in tree, sorted by path
// so errors and duplicates are reported the same way every time.
func listManifests(tree *object.Tree, root string, skip func(string) bool) ([]manifestFile, error) {
	sub := tree
	root = cleanRoot(root)
	if root != "" {
		var err error
		if sub, err = tree.Tree(root); err != nil {
			if errors.Is(err, object.ErrDirectoryNotFound) {
				return nil, fmt.Errorf("path %q not found in the repository", root)
			}
			return nil, fmt.Errorf("read path %q: %w", root, err)
		}
	}
	var out []manifestFile
	err := sub.Files().ForEach(func(f *object.File) error {
		p := path.Join(root, f.Name)
		if !IsManifestFile(p) || (skip != nil && skip(p)) || !f.Mode.IsFile() {
			return nil
		}
		out = append(out, manifestFile{path: p, blob: f})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %q: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

func cleanRoot(root string) string {
	root = strings.Trim(path.Clean("/"+root), "/")
	if root == "." {
		return ""
	}
	return root
}

// readFile reads one blob, unless the indexer can reuse what it built from
// the same blob before (Git blobs are content-addressed: the same hash is
// the same bytes). It parses only a blob that may declare a CRD; the
// others are parsed when indexed (File.Load).
func readFile(f manifestFile, reuse Reuse) (file provenance.File, parsed bool, err error) {
	id := f.blob.Hash.String()
	if reuse(f.path, id) {
		return provenance.File{Path: f.path, ID: id}, false, nil
	}
	data, err := readBlob(f.blob)
	if err != nil {
		return provenance.File{}, true, err
	}
	if !bytes.Contains(data, []byte("CustomResourceDefinition")) {
		// Parsed when indexed, a few files at a time (File.Load): the
		// bytes take a fraction of the memory of the parse tree.
		return provenance.File{Path: f.path, ID: id, Load: func() ([]map[string]any, error) { return ParseManifests(data) }}, true, nil
	}
	objs, err := ParseManifests(data)
	if err != nil {
		return provenance.File{}, true, fmt.Errorf("%s: %w", f.path, err)
	}
	if objs == nil {
		// Parsed to nothing (a comment naming CRDs): not a cached file.
		objs = []map[string]any{}
	}
	return provenance.File{Path: f.path, ID: id, Objects: objs}, true, nil
}

// renderPlan is what the roots of one revision hold: plain manifest files
// and kustomize roots (directories with a kustomization file).
type renderPlan struct {
	plain     []manifestFile
	kustomize []string
}

// planRoots lists the plain manifests and kustomize roots under roots. A
// root with a kustomization is rendered by kustomize. In a root without
// one, every subdirectory with a kustomization is a kustomize root and
// every other manifest file is read as it is, as Flux's kustomize-controller
// does. Paths matched by skip are left out; overlapping roots count once.
func planRoots(tree *object.Tree, roots []string, skip pathMatcher) (renderPlan, error) {
	if len(roots) == 0 {
		roots = []string{""}
	}
	var plan renderPlan
	seenFile, seenDir := map[string]bool{}, map[string]bool{}
	addDir := func(d string) {
		if !seenDir[d] {
			seenDir[d] = true
			plan.kustomize = append(plan.kustomize, d)
		}
	}
	for _, root := range roots {
		root = cleanRoot(root)
		if kustomizationIn(tree, root) != "" {
			addDir(root)
			continue
		}
		files, err := listManifests(tree, root, nil)
		if err != nil {
			return renderPlan{}, err
		}
		// Kustomization files sort before nothing in particular, so find
		// the kustomize directories first.
		var kdirs []string
		for _, f := range files {
			if isKustomizationFile(f.path) {
				kdirs = append(kdirs, path.Dir(f.path))
			}
		}
		kdirs = outermost(kdirs)
		for _, d := range kdirs {
			if skip == nil || !skip(d, true) {
				addDir(d)
			}
		}
		for _, f := range files {
			if seenFile[f.path] || underAny(f.path, kdirs) || (skip != nil && skip(f.path, false)) {
				continue
			}
			seenFile[f.path] = true
			plan.plain = append(plan.plain, f)
		}
	}
	sort.Slice(plan.plain, func(i, j int) bool { return plan.plain[i].path < plan.plain[j].path })
	sort.Strings(plan.kustomize)
	return plan, nil
}

// outermost drops directories nested in another of the list: a nested
// kustomization is a base of the outer one, or unused by it.
func outermost(dirs []string) []string {
	sort.Strings(dirs)
	var out []string
	for _, d := range dirs {
		if !underAny(d+"/x", out) {
			out = append(out, d)
		}
	}
	return out
}

// underAny reports whether file p lies under one of dirs.
func underAny(p string, dirs []string) bool {
	for _, d := range dirs {
		if d == "." || d == "" || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
