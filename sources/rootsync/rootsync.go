// Package rootsync keeps the render bookkeeping the cluster drivers
// (sources/fluxsync, sources/argosync) share for each root: the inputs of
// its last good render and of its last failed one, the files the Indexer
// may reuse, and the pass's batch of new renders handed to the Composer in
// one recomposition. It knows nothing of Git, Flux or Argo CD, and never
// clears a root's last good render on a failure.
package rootsync

import (
	"fmt"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
)

// State is one root's render bookkeeping.
type State struct {
	Root provenance.Root
	Ix   *provenance.Indexer
	// Key identifies the inputs of the last good render, FailedKey those
	// of the last failed one (not retried until something changes);
	// Files are the last good render's files without objects, for the
	// Indexer to reuse.
	Key, FailedKey string
	Files          []provenance.File
	Rev            provenance.Revision
	Fetched        time.Time
	Loaded         bool
}

// Fail reports err for the root to c, once per key ("" always reports);
// the root keeps its last good render.
func (s *State) Fail(c *provenance.Composer, key string, err error) {
	if key != "" && key == s.FailedKey {
		return
	}
	s.FailedKey = key
	c.Fail(s.Root, err)
}

// built is a root's new render, indexed, waiting for the pass's one
// recomposition.
type built struct {
	st    *State
	part  provenance.Part
	files []provenance.File
	key   string
	done  func()
}

// Batch holds a pass's new renders until Flush.
type Batch struct {
	items []built
}

// Install reads st's files at rev with read and indexes them for the
// pass's recomposition (Flush); done, when set, runs once the render is
// the root's last good one. A failure goes to Fail with key.
func (b *Batch) Install(c *provenance.Composer, st *State, rev provenance.Revision, key string, read provenance.ReadFiles, done func()) {
	var files []provenance.File
	idx, err := st.Ix.BuildFrom(rev, func(reuse func(path, id string) bool) ([]provenance.File, error) {
		var err error
		files, err = read(reuse)
		return files, err
	})
	if err != nil {
		st.Fail(c, key, fmt.Errorf("revision %s: %w", rev, err))
		return
	}
	fetched := time.Now()
	if st.Loaded && st.Rev == rev {
		fetched = st.Fetched
	}
	b.items = append(b.items, built{st: st, part: provenance.Part{Index: idx, Fetched: fetched}, files: files, key: key, done: done})
}

// Flush hands the pass's new renders to c in one recomposition, records
// them as each root's last good render and logs each with msg.
func (b *Batch) Flush(c *provenance.Composer, log logr.Logger, msg string) {
	if len(b.items) == 0 {
		return
	}
	parts := make([]provenance.Part, len(b.items))
	for i, it := range b.items {
		parts[i] = it.part
	}
	c.Update(parts...)
	for _, it := range b.items {
		st := it.st
		st.Key, st.FailedKey, st.Rev, st.Fetched, st.Loaded = it.key, "", it.part.Index.Revision(), it.part.Fetched, true
		st.Files = make([]provenance.File, len(it.files))
		for i, f := range it.files {
			f.Objects, f.Load = nil, nil // by identity only, for the Indexer to reuse
			st.Files[i] = f
		}
		if it.done != nil {
			it.done()
		}
		log.Info(msg, "root", st.Root.Name, "revision", st.Rev.String(), "objects", it.part.Index.Len())
	}
	b.items = nil
}
