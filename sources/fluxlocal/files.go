package fluxlocal

import (
	"fmt"
	"io/fs"
	"path"
	"strings"
	"testing/fstest"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/fluxrender"
	"github.com/gitgate/gitgate/sources/localsource"
)

// ReadDir reads dir as Git would commit it (sources/localsource: the .git
// folder left out, symbolic links kept as links) and returns its regular
// files and a revision named after the tree's hash.
func ReadDir(dir string) (fs.FS, provenance.Revision, error) {
	tree, rev, err := localsource.Tree(dir)
	if err != nil {
		return nil, rev, err
	}
	files, err := fluxrender.RegularFiles(tree)
	return files, rev, err
}

// artifact is what source-controller would archive of all for gr, the
// GitRepository the rendered roots declare (nil when none does): the
// files its spec.sparseCheckout keeps, less those .sourceignore and its
// spec.ignore exclude. spec.include (other repositories' files) cannot be
// read from DIR alone.
func artifact(all fs.FS, gr *sourcev1.GitRepository) (fs.FS, error) {
	var ignore *string
	var sparse []string
	if gr != nil {
		if len(gr.Spec.Include) > 0 {
			return nil, fmt.Errorf("GitRepository %s/%s has spec.include: %w", gr.Namespace, gr.Name, ErrUnsupported)
		}
		ignore, sparse = gr.Spec.Ignore, gr.Spec.SparseCheckout
	}
	ignored, err := fluxrender.Ignore(all, ignore)
	if err != nil {
		return nil, err
	}
	out := fstest.MapFS{}
	err = fs.WalkDir(all, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || ignored(p) || !inSparse(p, sparse) {
			return err
		}
		data, err := fs.ReadFile(all, p)
		if err != nil {
			return err
		}
		out[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	return out, err
}

// inSparse reports whether p is under one of the directories of a sparse
// checkout; every file is, without one.
func inSparse(p string, dirs []string) bool {
	if len(dirs) == 0 {
		return true
	}
	for _, d := range dirs {
		d = strings.Trim(path.Clean("/"+d), "/")
		if d == "" || p == d || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
