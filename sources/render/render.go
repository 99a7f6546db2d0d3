package render

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitgate/gitgate/provenance"
)

// Reuse reports whether the index already holds the objects of the file at
// path with content id (a blob hash, or the hash of a kustomize root's
// inputs). Such files are passed on by identity only: not read, parsed or
// built again. A nil Reuse reuses nothing.
type Reuse func(path, id string) bool

// Stats counts the work a render did, as opposed to reused.
type Stats struct {
	// Files is the number of plain manifest files; Parsed how many of them
	// were read (and parsed, up front or when indexed) rather than reused.
	Files, Parsed int
	// Roots is the number of kustomize roots; Built how many were built
	// rather than reused.
	Roots, Built int
}

// Tree reads every manifest under roots of a commit's tree: plain files
// and kustomize roots (see planRoots), with the root .gitgateignore
// applied. Empty roots read the whole tree.
func Tree(tree *object.Tree, roots []string, reuse Reuse) ([]provenance.File, Stats, error) {
	if reuse == nil {
		reuse = func(string, string) bool { return false }
	}
	skip, err := readIgnoreFile(tree)
	if err != nil {
		return nil, Stats{}, err
	}
	plan, err := planRoots(tree, roots, skip)
	if err != nil {
		return nil, Stats{}, err
	}
	files, parsed, err := readAll(plan.plain, reuse)
	if err != nil {
		return nil, Stats{}, err
	}
	st := Stats{Files: len(plan.plain), Parsed: parsed, Roots: len(plan.kustomize)}
	for _, dir := range plan.kustomize {
		f, built, err := renderKustomize(tree, dir, reuse)
		if err != nil {
			return nil, Stats{}, err
		}
		if built {
			st.Built++
		}
		files = append(files, f)
	}
	return files, st, nil
}

// readAll reads files on every core; most time in a cold sync goes here.
func readAll(todo []manifestFile, reuse Reuse) ([]provenance.File, int, error) {
	files := make([]provenance.File, len(todo))
	errs := make([]error, len(todo))
	var parsed atomic.Int64
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var p bool
				files[i], p, errs[i] = readFile(todo[i], reuse)
				if p {
					parsed.Add(1)
				}
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	return files, int(parsed.Load()), errors.Join(errs...)
}

// errTooLarge: a file over maxManifestBytes is refused before it is read.
var errTooLarge = fmt.Errorf("over the %d byte limit for a manifest", maxManifestBytes)
