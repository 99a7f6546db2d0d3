package gitsync

import (
	"errors"
	"time"

	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
)

// Load reads the roots at paths of tree, at rev, once, as a Syncer of the
// source name (at url) loads them: each root rendered and indexed on its
// own by an Indexer made from the template indexer and named by RootName,
// then all merged by a Composer into one Snapshot. The client commands
// (check, render, drift) read a source this way, so their verdicts name
// the roots, revision and files the webhook's name. No paths reads the
// whole repository as one root. Any root that fails fails the load; the
// error joins every failure.
func Load(tree *object.Tree, rev provenance.Revision, name, url string, paths []string, indexer *provenance.Indexer) (*provenance.Snapshot, error) {
	var parts []provenance.Part
	var errs []error
	for _, r := range rootsOf(name, url, paths, indexer) {
		idx, _, err := r.build(rev, tree)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		parts = append(parts, provenance.Part{Index: idx, Fetched: time.Now()})
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.Update(parts...)
	return c.Store.Load(), nil
}
