package render

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// IgnoreFileName is the file at the repository root whose gitignore-syntax
// patterns exclude files and directories from what gitgate enforces.
const IgnoreFileName = ".gitgateignore"

// pathMatcher reports whether a repository path is excluded.
type pathMatcher func(p string, isDir bool) bool

// readIgnoreFile parses the .gitgateignore at the root of tree; a tree
// without one excludes nothing.
func readIgnoreFile(tree *object.Tree) (pathMatcher, error) {
	f, err := tree.File(IgnoreFileName)
	if err != nil {
		if err == object.ErrFileNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", IgnoreFileName, err)
	}
	data, err := readBlob(f)
	if err != nil {
		return nil, err
	}
	return parseIgnorePatterns(string(data)), nil
}

// parseIgnorePatterns parses gitignore syntax: one pattern a line, # starts
// a comment, ! negates, a trailing / matches directories only.
func parseIgnorePatterns(text string) pathMatcher {
	var ps []gitignore.Pattern
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ps = append(ps, gitignore.ParsePattern(line, nil))
	}
	if len(ps) == 0 {
		return nil
	}
	m := gitignore.NewMatcher(ps)
	return func(p string, isDir bool) bool {
		return m.Match(strings.Split(p, "/"), isDir)
	}
}
