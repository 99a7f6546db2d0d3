package gitsync

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/render"
	"github.com/gitgate/gitgate/sources/signature"
)

// Syncer follows one Git source with one or more roots (paths) and keeps
// each root's last good render in Composer: resolve the ref, fetch,
// verify, then render and index every root on its own. A root that fails
// keeps its last good revision while the others move on; a head that
// cannot be fetched or verified changes no root. It implements
// controller-runtime's manager.Runnable.
type Syncer struct {
	Source *gitsource.Source
	// Name names the source in root names, logs and metrics: a source
	// name, or the repository URL with credentials removed.
	Name string
	// URL is the repository URL with credentials removed, for advice in
	// denials.
	URL string
	// Indexer is the template of each root's Indexer (scope, default
	// namespace, scheme); each root gets its own, so unchanged inputs of a
	// root are never rendered again.
	Indexer  *provenance.Indexer
	Composer *provenance.Composer
	// Roots are the paths in the repository whose manifests are read, one
	// root each; empty reads the whole repository as one root.
	Roots    []string
	Interval time.Duration
	// Verifier, when set, must accept a revision's head commit before any
	// root loads it.
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
	roots   []*rootSync
	// lastSuccess is the Unix time in nanoseconds of the last sync in which
	// every root succeeded; 0 before the first.
	lastSuccess atomic.Int64
	// head is the last head revision every root was brought to or failed
	// at (see Revision).
	head atomic.Pointer[provenance.Revision]
	// verified is the hash of the last head commit the Verifier accepted.
	verified string
	// stats describes the last render, summed over roots, for tests and
	// logs.
	stats render.Stats
}

// rootSync is one root of the source and its last good state.
type rootSync struct {
	root  provenance.Root
	paths []string // nil: the whole repository
	ix    *provenance.Indexer
	// loaded is false until the root loads once; rev, fetched and commit
	// describe its last good render.
	loaded     bool
	rev        provenance.Revision
	fetched    time.Time
	commit     *object.Commit
	unresolved bool
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
		s.roots = rootsOf(s.Name, s.URL, s.Roots, s.Indexer)
	})
}

// rootsOf are the roots at paths of the source name (at url), each with an
// Indexer of its own made from the template indexer; no paths is the whole
// repository as one root.
func rootsOf(name, url string, paths []string, indexer *provenance.Indexer) []*rootSync {
	if len(paths) == 0 {
		paths = []string{""}
	}
	out := make([]*rootSync, 0, len(paths))
	for _, p := range paths {
		root := provenance.Root{Name: RootName(p), Source: name, URL: url}
		r := &rootSync{root: root, ix: indexer.ForRoot(root)}
		if p != "" {
			r.paths = []string{p}
		}
		out = append(out, r)
	}
	return out
}

// RootName is the name of the root at path p of a repository: "path
// apps", or "path ./" for the whole repository, as Flux writes spec.path.
func RootName(p string) string {
	p = strings.Trim(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	if p == "" {
		return "path ./"
	}
	return "path " + p
}

// RootsOf are the roots of the source, so they can be expected before the
// first sync (readiness needs each loaded once).
func (s *Syncer) RootsOf() []provenance.Root {
	s.init()
	out := make([]provenance.Root, len(s.roots))
	for i, r := range s.roots {
		out[i] = r.root
	}
	return out
}

// Revision is the last head revision a sync brought every root to, or
// failed to render for some: "" before the first. Replicas compare it to
// tell whether to sync.
func (s *Syncer) Revision() string {
	if rev := s.head.Load(); rev != nil {
		return rev.String()
	}
	return ""
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
			s.Log.Error(err, "sync failed; roots that failed keep their last good revision", "revision", s.Revision(), "retryIn", wait.String())
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

// SyncOnce brings every root to the remote's current revision, where it
// can be read. A root that cannot be rendered or indexed keeps its last
// good render and the others move on; the error joins the failures.
func (s *Syncer) SyncOnce(ctx context.Context) (err error) {
	s.init()
	start := time.Now()
	defer func() { observeSync(start, err, s.Composer.Store.Load()) }()

	rev, err := s.Source.Resolve(ctx)
	if errors.Is(err, gitsource.ErrRefNotFound) {
		return s.failAll(&SyncError{Reason: FailRefNotFound, Err: err})
	}
	if err != nil {
		return s.failAll(&SyncError{Reason: FailResolve, Err: err})
	}
	todo := s.behind(rev)
	if len(todo) == 0 {
		for _, r := range s.roots {
			s.Composer.Confirm(r.root)
		}
		s.lastSuccess.Store(time.Now().UnixNano())
		return nil
	}
	commit, err := s.Source.Commit(ctx, rev)
	if err != nil {
		return s.failAll(&SyncError{Reason: FailFetch, Err: err})
	}
	defer s.retain(commit)
	if err := s.verify(rev, commit); err != nil {
		return s.failAll(&SyncError{Reason: FailVerify, Err: fmt.Errorf("revision %s: %w", rev, err)})
	}
	loaded, err := s.loadRoots(rev, commit, todo)
	s.head.Store(&rev)
	if loaded > 0 {
		s.logLoaded(rev, loaded, start)
		if s.OnLoad != nil {
			// In the background: the sync (and its metrics) must not wait
			// on whatever OnLoad calls.
			go s.OnLoad(rev)
		}
	}
	if err == nil {
		s.lastSuccess.Store(time.Now().UnixNano())
	}
	return err
}

// behind lists the roots not at rev, or with kinds to resolve again.
func (s *Syncer) behind(rev provenance.Revision) []*rootSync {
	var out []*rootSync
	for _, r := range s.roots {
		if !r.loaded || r.rev != rev || r.unresolved {
			out = append(out, r)
		}
	}
	return out
}

// failAll records err for every root: none could be brought to the head.
func (s *Syncer) failAll(err error) error {
	for _, r := range s.roots {
		s.Composer.Fail(r.root, err)
	}
	return err
}

// loadRoots renders and indexes the roots of todo at rev, installs those
// that succeed in one recomposition and confirms the roots already there.
// It returns how many roots loaded and the failures of the others.
func (s *Syncer) loadRoots(rev provenance.Revision, commit *object.Commit, todo []*rootSync) (int, error) {
	tree, err := commit.Tree()
	if err != nil {
		return 0, s.failAll(&SyncError{Reason: FailRender, Err: fmt.Errorf("revision %s: read tree: %w", rev, err)})
	}
	s.stats = render.Stats{}
	var parts []provenance.Part
	built := map[*rootSync]provenance.Part{}
	var errs []error
	for _, r := range todo {
		idx, st, err := r.build(rev, tree)
		if err != nil {
			s.Composer.Fail(r.root, err)
			errs = append(errs, err)
			continue
		}
		s.stats.Files += st.Files
		s.stats.Parsed += st.Parsed
		s.stats.Roots += st.Roots
		s.stats.Built += st.Built
		fetched := time.Now()
		if r.loaded && r.rev == rev {
			fetched = r.fetched
		}
		p := provenance.Part{Index: idx, Fetched: fetched}
		parts = append(parts, p)
		built[r] = p
	}
	if len(parts) > 0 {
		s.Composer.Update(parts...)
	}
	for r, p := range built {
		r.loaded, r.rev, r.fetched, r.commit = true, rev, p.Fetched, commit
		r.unresolved = len(p.Index.Unresolved()) > 0
		if r.unresolved {
			s.Log.Info("kinds not served by the API server yet; will resolve again", "root", r.root.Name, "kinds", p.Index.Unresolved())
		}
	}
	for _, r := range s.roots {
		if _, now := built[r]; r.loaded && r.rev == rev && !now && !r.unresolved {
			s.Composer.Confirm(r.root)
		}
	}
	return len(parts), errors.Join(errs...)
}

// build renders and indexes the root at rev, reusing what its Indexer
// built from unchanged inputs, and returns what the render did. A file
// that cannot be read is a render failure, an object that cannot be
// indexed an index failure.
func (r *rootSync) build(rev provenance.Revision, tree *object.Tree) (*provenance.Index, render.Stats, error) {
	fail := func(reason FailureReason, err error) error {
		return &SyncError{Reason: reason, Err: fmt.Errorf("%s: revision %s: %w", r.root.Name, rev, err)}
	}
	var st render.Stats
	idx, err := r.ix.BuildFrom(rev, func(reuse func(path, id string) bool) ([]provenance.File, error) {
		files, rendered, err := render.Tree(tree, r.paths, reuse)
		if err != nil {
			return nil, fail(FailRender, err)
		}
		st = rendered
		return files, nil
	})
	var failed *SyncError
	var unreadable *provenance.LoadError
	switch {
	case errors.As(err, &failed):
		return nil, st, err
	case errors.As(err, &unreadable):
		return nil, st, fail(FailRender, err)
	case err != nil:
		return nil, st, fail(FailIndex, err)
	}
	return idx, st, nil
}

// verify checks the head commit once per revision; every root of the
// source waits on it.
func (s *Syncer) verify(rev provenance.Revision, commit *object.Commit) error {
	if s.Verifier == nil || s.verified == rev.Hash {
		return nil
	}
	c, err := gitsource.SignedCommit(commit)
	if err != nil {
		return err
	}
	signer, err := s.Verifier.Verify(c)
	if err != nil {
		return err
	}
	s.verified = rev.Hash
	s.Log.Info("commit signature verified", "revision", rev.String(), "signer", signer)
	return nil
}

// retain drops the objects of every commit but head and those the roots'
// last good renders came from: memory stays bounded however many bad
// heads are pushed.
func (s *Syncer) retain(head *object.Commit) {
	keep := []*object.Commit{head}
	seen := map[*object.Commit]bool{head: true}
	for _, r := range s.roots {
		if r.commit != nil && !seen[r.commit] {
			seen[r.commit] = true
			keep = append(keep, r.commit)
		}
	}
	if err := s.Source.Retain(keep...); err != nil {
		s.Log.Error(err, "could not drop objects of earlier revisions")
	}
}

func (s *Syncer) logLoaded(rev provenance.Revision, loaded int, start time.Time) {
	st := s.stats
	objects := 0
	if snap := s.Composer.Store.Load(); snap != nil {
		objects = snap.Len()
	}
	s.Log.Info("revision loaded", "revision", rev.String(), "rootsLoaded", loaded, "roots", len(s.roots), "objects", objects, "duration", time.Since(start).String(),
		"files", st.Files, "filesParsed", st.Parsed, "kustomizeRoots", st.Roots, "kustomizeBuilt", st.Built)
}
