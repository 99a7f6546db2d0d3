package argorender

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing/fstest"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
)

// A source with chart: names a chart of a Helm repository or an OCI
// registry. The caller fetches it (sources/helmchart) and passes its files
// as the source's Files, with the version as Revision: Render reads them
// as the chart directory Argo CD's repo server extracts and templates.

// ChartURL is where a chart source's chart is fetched from: an HTTP(S)
// Helm repository as given, an oci:// URL as given, and a registry
// reference without a scheme (Argo CD's IsHelmOciRepo, an OCI-enabled
// Helm repository) as oci://. Anything else fails.
func ChartURL(repoURL string) (string, error) {
	switch {
	case strings.HasPrefix(repoURL, "https://"), strings.HasPrefix(repoURL, "http://"), strings.HasPrefix(repoURL, "oci://"):
		return repoURL, nil
	case repoURL == "" || strings.Contains(repoURL, "://"):
		return "", fmt.Errorf("chart repository %q: %w", repoURL, ErrUnsupported)
	}
	if u, err := url.ParseRequestURI("dummy://" + repoURL); err != nil || u.Host == "" {
		return "", fmt.Errorf("chart repository %q: not a URL or registry reference", repoURL)
	}
	return "oci://" + repoURL, nil
}

// ChartVersion resolves a chart source's targetRevision as Argo CD v3.6.2
// does (reposerver newHelmClientResolveRevision, util/versions
// MaxVersion): a version that parses as semver is taken as it is, without
// reading the repository; else a semver constraint ("*", "^1.2", ">=1 <2")
// gives the highest listed version it admits; else a listed version equal
// to it. list gives the repository's versions of the chart.
func ChartVersion(targetRevision string, list func() ([]string, error)) (string, error) {
	if v, err := semver.NewVersion(targetRevision); err == nil {
		return v.Original(), nil
	}
	versions, err := list()
	if err != nil {
		return "", err
	}
	constraint, err := semver.NewConstraint(targetRevision)
	if err != nil {
		if slices.Contains(versions, targetRevision) {
			return targetRevision, nil
		}
		return "", fmt.Errorf("invalid revision: failed to determine semver constraint: %w", err)
	}
	var best *semver.Version
	for _, t := range versions {
		v, err := semver.NewVersion(t)
		if err != nil {
			continue
		}
		if constraint.Check(v) && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	if best == nil {
		return "", fmt.Errorf("invalid revision: version matching constraint not found in %d tags", len(versions))
	}
	return best.Original(), nil
}

// ChartFiles are a chart archive's files as the chart's directory (the
// archive's top folder stripped), read with Helm's own archive loader and
// its limits.
func ChartFiles(data []byte) (fstest.MapFS, error) {
	files, err := archive.LoadArchiveFiles(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to extract chart: %w", err)
	}
	out := fstest.MapFS{}
	for _, f := range files {
		out[f.Name] = &fstest.MapFile{Data: f.Data, Mode: 0o644}
	}
	return out, nil
}
