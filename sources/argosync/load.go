package argosync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/gitsource"
)

// LoadOptions are what Load reads besides the Applications.
type LoadOptions struct {
	// Local is a working copy that stands for the repository LocalURL:
	// a source of that URL is read from it, whatever its revision.
	Local    fs.FS
	LocalRev provenance.Revision
	LocalURL string
	// Credentials of the repositories fetched; nil reads anonymously.
	Credentials Credentials
	// ClusterNames name this cluster besides in-cluster.
	ClusterNames []string
	Settings     argorender.Settings
	Indexer      *provenance.Indexer
}

// Load renders each Application of apps that syncs to this cluster once,
// as the Watcher does, each its own root, and merges them into one
// Snapshot: the client commands (check, render, drift) read Argo CD this
// way. It returns the Applications skipped and why. Any root that fails
// fails the load; the error joins every failure.
func Load(ctx context.Context, apps []map[string]any, o LoadOptions) (*provenance.Snapshot, map[string]string, error) {
	w := &Watcher{Indexer: o.Indexer, Credentials: o.Credentials, Log: logr.Discard(), repos: map[repoKey]*repo{}}
	w.env = renderEnv{settings: o.Settings, key: hashOf(o.Settings)}
	skipped := map[string]string{}
	var parts []provenance.Part
	var errs []error
	for _, obj := range apps {
		app, err := argorender.DecodeApplication(obj)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		root := RootOf(app)
		if why := skipReason(app, o.ClusterNames); why != "" {
			skipped[root.Name] = why
			continue
		}
		idx, err := w.loadOne(ctx, app, o)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", root.Name, err))
			continue
		}
		parts = append(parts, provenance.Part{Index: idx, Fetched: time.Now()})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, skipped, err
	}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.Update(parts...)
	return c.Store.Load(), skipped, nil
}

// loadOne reads an Application's sources (the working copy for
// LocalURL) and renders and indexes it as its root.
func (w *Watcher) loadOne(ctx context.Context, app *argorender.Application, o LoadOptions) (*provenance.Index, error) {
	sources := app.Spec.AllSources()
	repos := make([]*repo, len(sources))
	for i, s := range sources {
		if o.Local != nil && NormalizeURL(s.RepoURL) == NormalizeURL(o.LocalURL) {
			repos[i] = &repo{files: o.Local, rev: o.LocalRev}
			continue
		}
		k := keyOf(s.RepoURL, s.TargetRevision, s.TagPrefix)
		r := w.repos[k]
		if r == nil {
			r = &repo{}
			w.repos[k] = r
			r.err = w.read(ctx, k, r)
		}
		if r.err != nil {
			return nil, r.err
		}
		repos[i] = r
	}
	key := hashOf(app.Spec)
	files, err := w.render(ctx, app, repos, key)
	if err != nil {
		return nil, err
	}
	return w.Indexer.ForRoot(RootOf(app)).Build(primaryRevision(app, repos), files)
}

// NormalizeURL compares repository URLs as Argo CD's NormalizeGitURL
// roughly does: credentials, case, trailing slashes and ".git" aside.
func NormalizeURL(u string) string {
	u = strings.ToLower(gitsource.RedactURL(u))
	for strings.HasSuffix(u, "/") || strings.HasSuffix(u, ".git") {
		u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	}
	return u
}
