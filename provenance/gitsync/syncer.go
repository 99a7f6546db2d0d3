package gitsync

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/gitsource"
	"github.com/gitgate/gitgate/provenance/render"
	"github.com/gitgate/gitgate/provenance/signature"
)

// Syncer follows a Git source and keeps Store holding the Snapshot of the
// latest good revision: resolve the ref, fetch, verify, render, index,
// swap. It implements controller-runtime's manager.Runnable.
type Syncer struct {
	Source  *gitsource.Source
	Indexer *provenance.Indexer
	Store   *provenance.Store
	// Roots are the paths in the repository whose manifests are read; empty
	// reads the whole repository.
	Roots    []string
	Interval time.Duration
	// Verifier, when set, must accept a revision's head commit before the
	// revision is enforced.
	Verifier signature.Verifier
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
	stats render.Stats
	// enforced is the head commit of the enforced revision; its objects
	// are kept when those of refused revisions are dropped.
	enforced *object.Commit
}

// DefaultTriggerMinInterval bounds the fetch rate of push notifications.
const DefaultTriggerMinInterval = time.Second

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
	if errors.Is(err, gitsource.ErrRefNotFound) {
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
	snap, err := s.load(rev, commit, cur)
	if err != nil {
		if s.enforced != nil {
			// Keep the refused head too, so the next poll does not fetch
			// it again, but nothing older: memory stays bounded however
			// many bad heads are pushed.
			s.retain(s.enforced, commit)
		}
		return err
	}
	s.Store.Swap(snap)
	s.lastSuccess.Store(time.Now().UnixNano())
	s.enforced = commit
	s.retain(commit)
	s.logLoaded(snap, start)
	return nil
}

// load verifies, renders and indexes the commit of rev into a Snapshot.
func (s *Syncer) load(rev provenance.Revision, commit *object.Commit, cur *provenance.Snapshot) (*provenance.Snapshot, error) {
	if s.Verifier != nil && (cur == nil || cur.Revision.Hash != rev.Hash) {
		if err := s.verify(rev, commit); err != nil {
			return nil, &SyncError{Reason: FailVerify, Err: fmt.Errorf("revision %s: %w", rev, err)}
		}
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, &SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: read tree: %w", rev, err)}
	}
	files, st, err := render.Tree(tree, s.Roots, s.Indexer.Cached)
	if err != nil {
		return nil, &SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: %w", rev, err)}
	}
	snap, err := s.Indexer.Build(rev, files)
	if errors.Is(err, provenance.ErrIndexCacheStale) {
		// The revision's CRDs changed, so entries of unchanged files cannot
		// be reused: read every file again.
		if files, st, err = render.Tree(tree, s.Roots, nil); err != nil {
			return nil, &SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: %w", rev, err)}
		}
		snap, err = s.Indexer.Build(rev, files)
	}
	if err != nil {
		return nil, &SyncError{Reason: FailIndex, Err: fmt.Errorf("revision %s: %w", rev, err)}
	}
	s.stats = st
	snap.Fetched = time.Now()
	if cur != nil && cur.Revision == rev {
		snap.Fetched = cur.Fetched
	}
	return snap, nil
}

func (s *Syncer) verify(rev provenance.Revision, commit *object.Commit) error {
	c, err := gitsource.SignedCommit(commit)
	if err != nil {
		return err
	}
	signer, err := s.Verifier.Verify(c)
	if err != nil {
		return err
	}
	s.Log.Info("commit signature verified", "revision", rev.String(), "signer", signer)
	return nil
}

func (s *Syncer) retain(commits ...*object.Commit) {
	if err := s.Source.Retain(commits...); err != nil {
		s.Log.Error(err, "could not drop objects of earlier revisions")
	}
}

func (s *Syncer) logLoaded(snap *provenance.Snapshot, start time.Time) {
	st := s.stats
	s.Log.Info("revision loaded", "revision", snap.Revision.String(), "objects", snap.Len(), "duration", time.Since(start).String(),
		"files", st.Files, "filesParsed", st.Parsed, "kustomizeRoots", st.Roots, "kustomizeBuilt", st.Built)
	if u := snap.Unresolved(); len(u) > 0 {
		s.Log.Info("kinds not served by the API server yet; will resolve again", "kinds", u)
	}
}
