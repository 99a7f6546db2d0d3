// Package fsdir writes a file tree (an fs.FS) out to a directory on disk,
// for renderers whose libraries read only real directories (kustomize,
// Helm's chart loader). It writes only directories and regular files: it
// never creates a symbolic link, a device or anything else src holds, and
// never writes outside root.
package fsdir

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Write copies the directories and regular files of src under root,
// directories 0700 and files 0600. Anything else (symbolic links, devices)
// is left out, as source-controller leaves it out of an artifact.
func Write(src fs.FS, root string) error {
	return fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("read source: %w", err)
		}
		dst := filepath.Join(root, filepath.FromSlash(p))
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o700)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return fmt.Errorf("read source: %w", err)
		}
		return os.WriteFile(dst, data, 0o600)
	})
}
