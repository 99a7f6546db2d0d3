package fluxrender

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/fluxcd/pkg/sourceignore"
	"github.com/fluxcd/pkg/sourceignore/gitignore"
)

// Ignore reports which files of a source source-controller (v1.9.6) leaves
// out of the artifact of a GitRepository: the patterns of every
// .sourceignore file in the tree (each scoped to its directory) and of
// spec.ignore (scoped to the root), after the VCS patterns (.git/,
// .gitignore, ...). With no such pattern at all, its default exclusions
// apply instead (images, archives, CI files, .sops.yaml, ...); any
// .sourceignore or spec.ignore replaces them, as in source-controller's
// storage.SourceIgnoreFilter.
//
// The returned function takes the slash-separated path of a file relative
// to the root of the source. The artifact holds exactly the files it does
// not ignore: source-controller checks every file, also one inside an
// ignored directory, so a later "!" pattern can keep it.
func Ignore(src fs.FS, specIgnore *string) (func(file string) bool, error) {
	ps, err := loadIgnorePatterns(src, ".", nil)
	if err != nil {
		return nil, err
	}
	if specIgnore != nil {
		ps = append(ps, sourceignore.ReadPatterns(strings.NewReader(*specIgnore), nil)...)
	}
	matcher := sourceignore.NewDefaultMatcher(ps, nil)
	if len(ps) > 0 {
		matcher = sourceignore.NewMatcher(append(sourceignore.VCSPatterns(nil), ps...))
	}
	return func(file string) bool {
		return matcher.Match(strings.Split(path.Clean(file), "/"), false)
	}, nil
}

// loadIgnorePatterns reads dir's .sourceignore and those below it, except
// under .git, as sourceignore.LoadIgnorePatterns does on disk.
func loadIgnorePatterns(src fs.FS, dir string, domain []string) ([]gitignore.Pattern, error) {
	var ps []gitignore.Pattern
	data, err := fs.ReadFile(src, path.Join(dir, sourceignore.IgnoreFile))
	switch {
	case err == nil:
		ps = sourceignore.ReadPatterns(bytes.NewReader(data), domain)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("read %s: %w", path.Join(dir, sourceignore.IgnoreFile), err)
	}
	entries, err := fs.ReadDir(src, dir)
	if err != nil {
		return nil, fmt.Errorf("read source: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == ".git" {
			continue
		}
		// Each level gets its own copy: patterns keep their domain slice.
		sub := append(append([]string{}, domain...), e.Name())
		subps, err := loadIgnorePatterns(src, path.Join(dir, e.Name()), sub)
		if err != nil {
			return nil, err
		}
		ps = append(ps, subps...)
	}
	return ps, nil
}
