package argorender

import (
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strings"

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

// memFS copies into an in-memory kustomize filesystem rooted at "/" the
// regular files under each of roots, then whatever a kustomization among
// them names outside them (a base, a component, a patch file), until
// nothing is missing: a render reads those files and no others, so a
// repository of many Applications is not copied whole for each.
func memFS(files fs.FS, roots ...string) (filesys.FileSystem, error) {
	c := &copier{files: files, m: filesys.MakeFsInMemory(), done: map[string]bool{}}
	for _, r := range roots {
		if err := c.copyTree(r); err != nil {
			return nil, err
		}
	}
	for {
		added, err := c.closeOver()
		if err != nil || !added {
			return c.m, err
		}
	}
}

// copier fills m from files; done holds the paths copied whole.
type copier struct {
	files fs.FS
	m     filesys.FileSystem
	done  map[string]bool
}

// covered reports whether p, or a folder above it, was copied whole.
func (c *copier) covered(p string) bool {
	for q := path.Clean(p); ; q = path.Dir(q) {
		if c.done[q] {
			return true
		}
		if q == "." || q == "/" {
			return false
		}
	}
}

// copyTree copies the regular files under p (a file or a folder) of
// files into m, unless they are there already.
func (c *copier) copyTree(p string) error {
	if c.covered(p) {
		return nil
	}
	c.done[path.Clean(p)] = true
	files, m := c.files, c.m
	return fs.WalkDir(files, p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if q == "." {
				return nil
			}
			return m.MkdirAll("/" + q)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := fs.ReadFile(files, q)
		if err != nil {
			return err
		}
		return m.WriteFile("/"+q, data)
	})
}

// closeOver copies what the kustomizations in m name and m lacks; it
// reports whether it copied anything.
func (c *copier) closeOver() (bool, error) {
	files, m := c.files, c.m
	var missing []string
	err := m.Walk("/", func(p string, info fs.FileInfo, err error) error {
		if err != nil || info.IsDir() || !slices.Contains(kustomizationNames, filepath.Base(p)) {
			return err
		}
		_, refs, err := kustomizationRefs(m, filepath.Dir(p))
		if err != nil {
			return nil // kustomize reports it
		}
		for _, r := range refs {
			q := strings.TrimPrefix(filepath.Join(filepath.Dir(p), r), "/")
			if q == "" {
				q = "."
			}
			if isRemote(r) || strings.HasPrefix(q, "..") || c.covered(q) {
				continue
			}
			if _, err := fs.Stat(files, q); err == nil {
				missing = append(missing, q)
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	added := false
	for _, q := range missing {
		if c.covered(q) {
			continue
		}
		added = true
		if err := c.copyTree(q); err != nil {
			return false, err
		}
	}
	return added, nil
}
