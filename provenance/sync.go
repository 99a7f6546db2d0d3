package provenance

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
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
	// Verifier, when set, must accept a revision's head commit before the
	// revision is enforced.
	Verifier CommitVerifier
	// TriggerMinInterval is the least time between two syncs started by
	// Trigger, so a flood of push notifications costs at most one fetch per
	// interval. Zero means DefaultTriggerMinInterval.
	TriggerMinInterval time.Duration
	Log                logr.Logger

	once    sync.Once
	trigger chan struct{}
	// lastSuccess is the Unix time in nanoseconds of the last successful
	// sync; 0 before the first.
	lastSuccess atomic.Int64
	// stats describes the last render, for tests and logs.
	stats renderStats
	// good is the head commit of the enforced revision; its objects are
	// kept when those of refused revisions are dropped.
	good *object.Commit
}

// DefaultTriggerMinInterval bounds the fetch rate of push notifications.
const DefaultTriggerMinInterval = time.Second

// renderStats counts the work a render did, as opposed to reused.
type renderStats struct {
	// Files is the number of plain manifest files; Parsed how many of them
	// were parsed rather than reused from the last revision's index.
	Files, Parsed int
	// Roots is the number of kustomize roots; Built how many were built
	// rather than reused.
	Roots, Built int
}

// FailureReason classifies a failed sync for metrics.
type FailureReason string

// Failure reasons.
const (
	FailResolve FailureReason = "resolve"
	FailFetch   FailureReason = "fetch"
	FailRender  FailureReason = "render"
	FailIndex   FailureReason = "index"
	// FailRefNotFound: the branch or tag is gone from the remote.
	FailRefNotFound FailureReason = "ref_not_found"
	// FailVerify: the head commit is not signed by a trusted key.
	FailVerify FailureReason = "verify"
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

// LastSuccess is when a sync last succeeded: it either loaded a new
// revision or confirmed with the remote that the enforced revision is still
// the head. It is the zero time before the first success. A failed fetch, a
// refused (unverified or unrenderable) head or a deleted branch does not
// move it, so time.Since(LastSuccess()) is how stale the enforced revision
// may be.
func (s *Syncer) LastSuccess() time.Time {
	ns := s.lastSuccess.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Start syncs at once, then every Interval and on Trigger, until ctx ends.
func (s *Syncer) Start(ctx context.Context) error {
	s.init()
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	minGap := s.TriggerMinInterval
	if minGap <= 0 {
		minGap = DefaultTriggerMinInterval
	}
	var last time.Time
	for {
		last = time.Now()
		if err := s.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error(err, "sync failed; keeping the last good revision", "revision", s.current())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.trigger:
			// Rate limit: wait out the rest of the gap; triggers that
			// arrive meanwhile coalesce into this sync.
			if wait := minGap - time.Since(last); wait > 0 {
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(wait):
				}
			}
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
	if errors.Is(err, ErrRefNotFound) {
		return &SyncError{Reason: FailRefNotFound, Err: err}
	}
	if err != nil {
		return &SyncError{Reason: FailResolve, Err: err}
	}
	cur := s.Store.Load()
	if cur != nil && cur.Revision == rev && len(cur.Unresolved()) == 0 {
		s.lastSuccess.Store(time.Now().UnixNano())
		return nil
	}
	commit, err := s.Source.Commit(ctx, rev)
	if err != nil {
		return &SyncError{Reason: FailFetch, Err: err}
	}
	defer func() {
		if err != nil && s.good != nil {
			// Keep the refused head too, so the next poll does not fetch
			// it again, but nothing older: memory stays bounded however
			// many bad heads are pushed.
			if rerr := s.Source.Retain(s.good, commit); rerr != nil {
				s.Log.Error(rerr, "could not drop objects of earlier revisions")
			}
		}
	}()
	if s.Verifier != nil && (cur == nil || cur.Revision.Hash != rev.Hash) {
		signer, err := s.Verifier.Verify(commit)
		if err != nil {
			return &SyncError{Reason: FailVerify, Err: fmt.Errorf("revision %s: %w", rev, err)}
		}
		s.Log.Info("commit signature verified", "revision", rev.String(), "signer", signer)
	}
	files, err := s.render(commit)
	if err != nil {
		return &SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: %w", rev, err)}
	}
	snap, err := s.Indexer.Build(rev, files)
	if errors.Is(err, ErrIndexCacheStale) {
		// The revision's CRDs changed, so entries of unchanged files cannot
		// be reused: read every file again.
		s.Indexer.Reset()
		if files, err = s.render(commit); err != nil {
			return &SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: %w", rev, err)}
		}
		snap, err = s.Indexer.Build(rev, files)
	}
	if err != nil {
		return &SyncError{Reason: FailIndex, Err: fmt.Errorf("revision %s: %w", rev, err)}
	}
	snap.Fetched = time.Now()
	if cur != nil && cur.Revision == rev {
		snap.Fetched = cur.Fetched
	}
	s.Store.Swap(snap)
	s.lastSuccess.Store(time.Now().UnixNano())
	s.good = commit
	if err := s.Source.Retain(commit); err != nil {
		s.Log.Error(err, "could not drop objects of earlier revisions")
	}
	st := s.stats
	s.Log.Info("revision loaded", "revision", rev.String(), "objects", snap.Len(), "duration", time.Since(start).String(),
		"files", st.Files, "filesParsed", st.Parsed, "kustomizeRoots", st.Roots, "kustomizeBuilt", st.Built)
	if u := snap.Unresolved(); len(u) > 0 {
		s.Log.Info("kinds not served by the API server yet; will resolve again", "kinds", u)
	}
	return nil
}

// render reads every manifest under the roots of a commit. Files and
// kustomize roots whose content the Indexer already indexed are passed by
// identity only, so only what changed since the last revision is read,
// parsed or built again.
func (s *Syncer) render(commit *object.Commit) ([]File, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree: %w", err)
	}
	skip, err := readIgnoreFile(tree)
	if err != nil {
		return nil, err
	}
	plan, err := planRoots(tree, s.Roots, skip)
	if err != nil {
		return nil, err
	}
	files, parsed, err := s.readAll(plan.plain)
	if err != nil {
		return nil, err
	}
	st := renderStats{Files: len(plan.plain), Parsed: parsed, Roots: len(plan.kustomize)}
	for _, dir := range plan.kustomize {
		f, built, err := renderKustomize(s.Indexer, tree, dir)
		if err != nil {
			return nil, err
		}
		if built {
			st.Built++
		}
		files = append(files, f)
	}
	s.stats = st
	return files, nil
}

// readAll reads files on every core; most time in a cold sync goes here.
func (s *Syncer) readAll(todo []manifestFile) ([]File, int, error) {
	files := make([]File, len(todo))
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
				files[i], p, errs[i] = readFile(s.Indexer, todo[i])
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
