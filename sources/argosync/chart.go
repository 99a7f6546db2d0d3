package argosync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/helmchart"
)

// sourceKey is the repoKey of a source: a chart source is keyed by its
// chart too, and its targetRevision is a version or constraint, never
// HEAD.
func sourceKey(s argorender.ApplicationSource) repoKey {
	if s.Chart != "" {
		return repoKey{url: s.RepoURL, revision: s.TargetRevision, chart: s.Chart}
	}
	return keyOf(s.RepoURL, s.TargetRevision, s.TagPrefix)
}

// readChart resolves a chart source's targetRevision as Argo CD does
// (argorender.ChartVersion) and fetches the chart with sources/helmchart,
// with the credentials of its URL (basic auth and a CA bundle; others
// fail): its files are the chart's, its revision the version and the
// archive's digest.
func (w *Watcher) readChart(ctx context.Context, k repoKey, r *repo) error {
	u, err := argorender.ChartURL(k.url)
	if err != nil {
		return err
	}
	creds, err := w.chartCreds(ctx, k.url)
	if err != nil {
		return err
	}
	f := w.Charts
	if f == nil {
		f = &helmchart.Fetcher{}
	}
	req := helmchart.Request{URL: u, Chart: k.chart, Version: k.revision, Creds: creds, Resolve: argorender.ChartVersion}
	version, data, err := f.Fetch(ctx, req)
	if err != nil {
		return fmt.Errorf("chart %s from %s at %q: %w", k.chart, gitsource.RedactURL(k.url), k.revision, err)
	}
	sum := sha256.Sum256(data)
	rev := provenance.Revision{Ref: k.chart + ":" + version, Hash: hex.EncodeToString(sum[:])}
	if rev == r.rev && r.files != nil {
		return nil
	}
	files, err := argorender.ChartFiles(data)
	if err != nil {
		return fmt.Errorf("chart %s %s: %w", k.chart, version, err)
	}
	r.rev, r.version, r.files, r.tree = rev, version, files, nil
	return nil
}

// chartCreds are the credentials of a chart repository's URL, from the
// same lookup as Git's: a username and password (or token) and a CA
// bundle apply; an SSH key or a client certificate fails the source.
func (w *Watcher) chartCreds(ctx context.Context, url string) (helmchart.Creds, error) {
	if w.Credentials == nil {
		return helmchart.Creds{}, nil
	}
	auth, ca, err := w.Credentials(ctx, url)
	if err != nil {
		return helmchart.Creds{}, fmt.Errorf("credentials of %s: %w", gitsource.RedactURL(url), err)
	}
	c := helmchart.Creds{CABundle: ca}
	switch a := auth.(type) {
	case nil:
	case *githttp.BasicAuth:
		c.Username, c.Password = a.Username, a.Password
	default:
		return helmchart.Creds{}, fmt.Errorf("credentials of %s: %s credentials do not apply to a Helm repository: %w",
			gitsource.RedactURL(url), auth.Name(), argorender.ErrUnsupported)
	}
	return c, nil
}
