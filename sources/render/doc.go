// Package render turns the tree of one commit into manifests: it plans the
// roots (plain manifest files and kustomize roots), applies the root
// .gitgateignore, parses YAML and JSON, and runs kustomize in memory over
// nothing but the commit's own files.
//
// It never reads outside the commit: no remote bases, no symlinks out of
// the tree, no helm, no exec or KRM function plugins. It takes a Reuse
// function rather than an index, so it knows nothing of how entries are
// cached.
package render
