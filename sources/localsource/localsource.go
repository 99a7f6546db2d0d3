// Package localsource reads a directory on disk as a Git tree, so that
// render.Tree sees a working copy (with changes not yet committed) exactly
// as it would see the commit. It never writes to the directory and follows
// no symbolic link: a link is stored as a link, as Git stores it, and
// render refuses it where it refuses one in a commit.
package localsource

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/gitgate/gitgate/provenance"
)

// maxFileBytes bounds one file read into memory; render has its own,
// smaller bound for manifests.
const maxFileBytes = 64 << 20

// Tree reads dir into an in-memory object store and returns its tree and a
// revision named after the tree's hash (what `git write-tree` would print
// for the same content). The .git directory is skipped.
func Tree(dir string) (*object.Tree, provenance.Revision, error) {
	st := memory.NewStorage()
	hash, err := writeTree(st, dir)
	if err != nil {
		return nil, provenance.Revision{}, err
	}
	tree, err := object.GetTree(st, hash)
	if err != nil {
		return nil, provenance.Revision{}, fmt.Errorf("read tree of %s: %w", dir, err)
	}
	return tree, provenance.Revision{Hash: hash.String()}, nil
}

// writeTree stores the files under dir and returns the hash of its tree.
func writeTree(st *memory.Storage, dir string) (plumbing.Hash, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read directory: %w", err)
	}
	var tree object.Tree
	for _, e := range entries {
		if e.Name() == ".git" {
			continue
		}
		te, ok, err := writeEntry(st, filepath.Join(dir, e.Name()), e)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if ok {
			tree.Entries = append(tree.Entries, te)
		}
	}
	// Git orders a tree's entries by name, a directory's name as if it
	// ended in "/".
	sort.Slice(tree.Entries, func(i, j int) bool { return sortName(tree.Entries[i]) < sortName(tree.Entries[j]) })
	return store(st, &tree)
}

func sortName(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// writeEntry stores one directory entry; ok is false for what Git does not
// store (empty directories, sockets, devices).
func writeEntry(st *memory.Storage, full string, e os.DirEntry) (object.TreeEntry, bool, error) {
	te := object.TreeEntry{Name: e.Name()}
	var data []byte
	var err error
	switch t := e.Type(); {
	case t.IsDir():
		sub, err := writeTree(st, full)
		if err != nil {
			return te, false, err
		}
		empty, err := isEmpty(st, sub)
		te.Mode, te.Hash = filemode.Dir, sub
		return te, !empty && err == nil, err
	case t&os.ModeSymlink != 0:
		te.Mode = filemode.Symlink
		target, lerr := os.Readlink(full)
		data, err = []byte(target), lerr
	case t.IsRegular():
		te.Mode = filemode.Regular
		if info, ierr := e.Info(); ierr == nil && info.Mode().Perm()&0o111 != 0 {
			te.Mode = filemode.Executable
		}
		data, err = readFile(full)
	default:
		return te, false, nil
	}
	if err != nil {
		return te, false, err
	}
	te.Hash, err = storeBlob(st, data)
	return te, err == nil, err
}

func readFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err == nil && len(data) > maxFileBytes {
		err = fmt.Errorf("%s: over the %d byte limit", name, maxFileBytes)
	}
	return data, err
}

func isEmpty(st *memory.Storage, h plumbing.Hash) (bool, error) {
	t, err := object.GetTree(st, h)
	if err != nil {
		return false, err
	}
	return len(t.Entries) == 0, nil
}

func storeBlob(st *memory.Storage, data []byte) (plumbing.Hash, error) {
	o := st.NewEncodedObject()
	o.SetType(plumbing.BlobObject)
	w, err := o.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
		return plumbing.ZeroHash, err
	}
	if err := w.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(o)
}

func store(st *memory.Storage, t *object.Tree) (plumbing.Hash, error) {
	o := st.NewEncodedObject()
	if err := t.Encode(o); err != nil {
		return plumbing.ZeroHash, err
	}
	return st.SetEncodedObject(o)
}
