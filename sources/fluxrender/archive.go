package fluxrender

import (
	"fmt"
	"testing/fstest"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// RegularFiles are the files of tree that source-controller archives: the
// regular and executable ones, each stored 0644. Symbolic links and
// submodules are left out.
func RegularFiles(tree *object.Tree) (fstest.MapFS, error) {
	all := fstest.MapFS{}
	err := tree.Files().ForEach(func(f *object.File) error {
		if f.Mode != filemode.Regular && f.Mode != filemode.Executable {
			return nil
		}
		data, err := f.Contents()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		all[f.Name] = &fstest.MapFile{Data: []byte(data), Mode: 0o644}
		return nil
	})
	return all, err
}
