package provenance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-logr/logr"
)

// Syncer follows a GitSource and keeps Store holding the Snapshot of the
// latest good revision. It implements controller-runtime's
// manager.Runnable.
type Syncer struct {
	Source  *GitSource
	Indexer *Indexer
	Store   *Store
	// Roots are the paths in the repository whose manifests are read; empty
	// reads the whole repository.
	Roots    []string
	Interval time.Duration
	Log      logr.Logger

	once    sync.Once
	cache   *parseCache
	trigger chan struct{}
}

// FailureReason classifies a failed sync for metrics.
type FailureReason string

// Failure reasons.
const (
	FailResolve FailureReason = "resolve"
	FailFetch   FailureReason = "fetch"
	FailRender  FailureReason = "render"
	FailIndex   FailureReason = "index"
)

// SyncError is a failed sync. The current Snapshot is unchanged.
type SyncError struct {
	Reason FailureReason
	Err    error
}

func (e *SyncError) Error() string { return string(e.Reason) + ": " + e.Err.Error() }
func (e *SyncError) Unwrap() error { return e.Err }

func (s *Syncer) init() {
	s.once.Do(func() {
		s.cache = newParseCache()
		s.trigger = make(chan struct{}, 1)
	})
}

// Trigger asks for a sync now, e.g. on a push notification. It never
// blocks; triggers that arrive during a sync coalesce into one more.
func (s *Syncer) Trigger() {
	s.init()
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Start syncs at once, then every Interval and on Trigger, until ctx ends.
func (s *Syncer) Start(ctx context.Context) error {
	s.init()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	for {
		if err := s.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error(err, "sync failed; keeping the last good revision", "revision", s.current())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.trigger:
		}
	}
}

func (s *Syncer) current() string {
	if snap := s.Store.Load(); snap != nil {
		return snap.Revision.String()
	}
	return ""
}

// SyncOnce brings the Store to the remote's current revision, if that
// revision can be read. On any error the Store keeps its Snapshot.
func (s *Syncer) SyncOnce(ctx context.Context) (err error) {
	s.init()
	start := time.Now()
	defer func() { observeSync(start, err, s.Store.Load()) }()

	rev, err := s.Source.Resolve(ctx)
	if err != nil {
		return &SyncError{Reason: FailResolve, Err: err}
	}
	cur := s.Store.Load()
	if cur != nil && cur.Revision == rev && len(cur.Unresolved()) == 0 {
		return nil
	}
	commit, err := s.Source.Commit(ctx, rev)
	if err != nil {
		return &SyncError{Reason: FailFetch, Err: err}
	}
	files, err := s.render(commit)
	if err != nil {
		return &SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: %w", rev, err)}
	}
	snap, err := s.Indexer.Build(rev, files)
	if err != nil {
		return &SyncError{Reason: FailIndex, Err: fmt.Errorf("revision %s: %w", rev, err)}
	}
	snap.Fetched = time.Now()
	if cur != nil && cur.Revision == rev {
		snap.Fetched = cur.Fetched
	}
	s.Store.Swap(snap)
	s.Log.Info("revision loaded", "revision", rev.String(), "objects", snap.Len(), "duration", time.Since(start).String())
	if u := snap.Unresolved(); len(u) > 0 {
		s.Log.Info("kinds not served by the API server yet; will resolve again", "kinds", u)
	}
	return nil
}

// render reads every manifest under the roots of a commit.
func (s *Syncer) render(commit *object.Commit) ([]File, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	roots := s.Roots
	if len(roots) == 0 {
		roots = []string{""}
	}
	var todo []manifestFile
	for _, root := range roots {
		fs, err := listManifests(tree, root, nil)
		if err != nil {
			return nil, err
		}
		todo = append(todo, fs...)
	}
	s.cache.begin()
	files, err := s.parseAll(todo)
	if err != nil {
		return nil, err
	}
	s.cache.end()
	return files, nil
}

// parseAll parses files on every core; most time in a cold sync goes here.
func (s *Syncer) parseAll(todo []manifestFile) ([]File, error) {
	files := make([]File, len(todo))
	errs := make([]error, len(todo))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				files[i], errs[i] = s.cache.parseFile(todo[i])
			}
		}()
	}
	for i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	return files, errors.Join(errs...)
}
