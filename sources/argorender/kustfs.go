package argorender

import (
	"io/fs"
	"path/filepath"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// cwdFS is a kustomize filesystem whose relative paths start at dir, as
// the on-disk one's start at the process's working folder: Argo CD runs
// `kustomize edit` in the app's folder (cmd.Dir), and kustomize's edit
// commands read "kustomization.yaml" relative to it. gitgate cannot
// change its process's folder, so the paths are joined here.
type cwdFS struct {
	filesys.FileSystem
	dir string
}

func (c cwdFS) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(c.dir, p)
}

func (c cwdFS) Create(p string) (filesys.File, error) { return c.FileSystem.Create(c.abs(p)) }
func (c cwdFS) Mkdir(p string) error                  { return c.FileSystem.Mkdir(c.abs(p)) }
func (c cwdFS) MkdirAll(p string) error               { return c.FileSystem.MkdirAll(c.abs(p)) }
func (c cwdFS) RemoveAll(p string) error              { return c.FileSystem.RemoveAll(c.abs(p)) }
func (c cwdFS) Open(p string) (filesys.File, error)   { return c.FileSystem.Open(c.abs(p)) }
func (c cwdFS) IsDir(p string) bool                   { return c.FileSystem.IsDir(c.abs(p)) }
func (c cwdFS) ReadDir(p string) ([]string, error)    { return c.FileSystem.ReadDir(c.abs(p)) }
func (c cwdFS) Exists(p string) bool                  { return c.FileSystem.Exists(c.abs(p)) }
func (c cwdFS) ReadFile(p string) ([]byte, error)     { return c.FileSystem.ReadFile(c.abs(p)) }
func (c cwdFS) WriteFile(p string, d []byte) error    { return c.FileSystem.WriteFile(c.abs(p), d) }

func (c cwdFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	return c.FileSystem.CleanedAbs(c.abs(p))
}

func (c cwdFS) Walk(p string, fn filepath.WalkFunc) error { return c.FileSystem.Walk(c.abs(p), fn) }

// Glob answers a relative pattern with relative paths, as filepath.Glob.
func (c cwdFS) Glob(pattern string) ([]string, error) {
	if filepath.IsAbs(pattern) {
		return c.FileSystem.Glob(pattern)
	}
	got, err := c.FileSystem.Glob(c.abs(pattern))
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(got))
	for _, g := range got {
		rel, err := filepath.Rel(c.dir, g)
		if err != nil {
			return nil, err
		}
		out = append(out, rel)
	}
	return out, nil
}

// memFS copies the regular files of files into an in-memory kustomize
// filesystem rooted at "/".
func memFS(files fs.FS) (filesys.FileSystem, error) {
	m := filesys.MakeFsInMemory()
	err := fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p == "." {
				return nil
			}
			return m.MkdirAll("/" + p)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		return m.WriteFile("/"+p, data)
	})
	return m, err
}
