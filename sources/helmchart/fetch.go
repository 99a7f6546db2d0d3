package helmchart

import (
	"context"
	"fmt"
	"strings"

	repo "helm.sh/helm/v4/pkg/repo/v1"
)

// Request names one chart of a Helm repository or OCI registry, for a
// caller that is not Flux (Argo CD's Helm sources): Fetch is the one
// download path both use.
type Request struct {
	// URL is an HTTP(S) Helm repository (its index.yaml beside it) or
	// oci://<registry>/<path>.
	URL string
	// Chart is the chart's name in the repository (the OCI repository's
	// last path segment).
	Chart string
	// Version is an exact version or a constraint.
	Version string
	// Creds authenticate requests to URL; TLS applies its CA bundle.
	Creds Creds
	// PassCredentials sends basic auth to hosts other than URL's (a
	// chart archive elsewhere); Insecure allows plain HTTP to an OCI
	// registry.
	PassCredentials, Insecure bool
	// Resolve picks the version from Version and the versions the
	// repository lists (list reads them only when called: an index's
	// entries, or a registry's tags with "_" read as "+"); the version it
	// returns must be listed. nil is source-controller's rule.
	Resolve func(version string, list func() ([]string, error)) (string, error)
}

// Creds are credentials given directly rather than by a Flux object's
// Secrets. Fetch never logs them or puts them in an error.
type Creds struct {
	Username, Password string
	// CABundle is PEM certificates trusted besides the system's.
	CABundle []byte
}

// Fetch downloads req's chart and returns the version it resolved and the
// archive as the repository serves it.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (version string, archive []byte, err error) {
	defer recovered(&err)
	c := &creds{username: req.Creds.Username, password: req.Creds.Password}
	if c.tls, err = tlsConfig(nil, nil, req.Creds.CABundle); err != nil {
		return "", nil, err
	}
	return f.fetch(ctx, req, c)
}

// fetch is the download of Fetch and FromHelmRepository.
func (f *Fetcher) fetch(ctx context.Context, req Request, c *creds) (string, []byte, error) {
	if strings.HasPrefix(req.URL, "oci://") {
		return f.ociChart(ctx, req, c)
	}
	return f.httpChart(ctx, req, c)
}

// pickVersion selects the index entry of req: by req.Resolve over the
// entries' versions (the one it names must be listed), else
// source-controller's selectVersion.
func pickVersion(idx *repo.IndexFile, req Request) (*repo.ChartVersion, error) {
	if req.Resolve == nil {
		return selectVersion(idx, req.Chart, req.Version)
	}
	cvs, ok := idx.Entries[req.Chart]
	if !ok {
		return nil, repo.ErrNoChartName
	}
	list := func() ([]string, error) {
		vs := make([]string, len(cvs))
		for i, cv := range cvs {
			vs[i] = cv.Version
		}
		return vs, nil
	}
	v, err := req.Resolve(req.Version, list)
	if err != nil {
		return nil, err
	}
	for _, cv := range cvs {
		if cv.Version == v {
			return cv, nil
		}
	}
	return nil, fmt.Errorf("chart %q version %q not found in the repository's index", req.Chart, v)
}
