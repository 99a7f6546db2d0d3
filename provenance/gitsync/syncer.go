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
	// OnLoad, when set, is called in its own goroutine with each newly
	// loaded revision, after it is in force.
	OnLoad func(provenance.Revision)
	// RetryMin is the first wait after a failed sync; it doubles up to
	// Interval. Zero means DefaultRetryMin.
	RetryMin time.Duration
	Log      logr.Logger

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

// DefaultRetryMin is the first wait after a failed sync.
const DefaultRetryMin = time.Second

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
// A failed sync is retried sooner, with a backoff from RetryMin doubling up
// to Interval, the first sync included: a Git server or API discovery that
// was down at start costs seconds of unreadiness, not a whole interval.
func (s *Syncer) Start(ctx context.Context) error {
	s.init()
	retry := backoff{min: s.RetryMin, max: s.Interval}
	for {
		last := time.Now()
		wait := s.Interval
		if err := s.SyncOnce(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait = retry.next()
			s.Log.Error(err, "sync failed; keeping the last good revision", "revision", s.current(), "retryIn", wait.String())
		} else {
			retry.reset()
		}
		if !s.waitNext(ctx, wait, last) {
			return nil
		}
	}
}

// waitNext waits for the next sync: wait, or a Trigger, rate-limited to one
// per TriggerMinInterval after the sync that started at last. It is false
// when ctx ends.
func (s *Syncer) waitNext(ctx context.Context, wait time.Duration, last time.Time) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	case <-s.trigger:
	}
	minGap := s.TriggerMinInterval
	if minGap <= 0 {
		minGap = DefaultTriggerMinInterval
	}
	// Triggers that arrive while waiting out the gap coalesce into this
	// sync.
	if gap := minGap - time.Since(last); gap > 0 {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(gap):
		}
	}
	return true
}

// backoff doubles from min to max.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	switch {
	case b.cur == 0:
		b.cur = b.min
		if b.cur <= 0 {
			b.cur = DefaultRetryMin
		}
	case b.cur < b.max:
		b.cur *= 2
	}
	if b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}

func (b *backoff) reset() { b.cur = 0 }

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
	if s.OnLoad != nil && (cur == nil || cur.Revision != rev) {
		// In the background: the sync (and its metrics) must not wait on
		// whatever OnLoad calls.
		go s.OnLoad(rev)
	}
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
