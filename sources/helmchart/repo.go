package helmchart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/fluxcd/pkg/chartutil"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// FromHelmRepository fetches the chart of spec from hr, a HelmRepository
// (HTTP, or OCI with type: oci), itself: never from source-controller's
// artifact URL. It picks the version as source-controller does (an exact
// version, else the highest matching the constraint; "" and "*" the
// highest stable), downloads the archive with the repository's
// credentials, and applies spec.valuesFiles (files of the chart) with the
// HelmChart's generation as build metadata.
func (f *Fetcher) FromHelmRepository(ctx context.Context, hr *sourcev1.HelmRepository, spec sourcev1.HelmChartSpec, generation int64) (out *Chart, err error) {
	defer recovered(&err)
	if p := hr.Spec.Provider; p != "" && p != sourcev1.GenericOCIProvider {
		return nil, fmt.Errorf("HelmRepository provider %q: %w", p, ErrUnsupported)
	}
	c, err := f.credsFor(ctx, hr.Namespace, hr.Spec.SecretRef, hr.Spec.CertSecretRef)
	if err != nil {
		return nil, err
	}
	var version string
	var data []byte
	if hr.Spec.Type == sourcev1.HelmRepositoryTypeOCI {
		version, data, err = f.ociChart(ctx, hr, c, spec)
	} else {
		version, data, err = f.httpChart(ctx, hr, c, spec)
	}
	if err != nil {
		return nil, err
	}
	return remoteChart(data, version, spec, generation)
}

// remoteChart loads a downloaded archive as source-controller's remote
// builder stores it: unchanged without values files, else with them
// merged into values.yaml and the generation as build metadata.
func remoteChart(data []byte, version string, spec sourcev1.HelmChartSpec, generation int64) (*Chart, error) {
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to load downloaded chart: %w", err)
	}
	if len(spec.ValuesFiles) == 0 {
		return &Chart{Chart: ch, Revision: version, Digest: sha256Digest(data)}, nil
	}
	if version, err = withMetadata(version, versionMetadata(spec, generation, "")); err != nil {
		return nil, err
	}
	ch.Metadata.Version = version
	merged, err := chartValues(ch, spec)
	if err != nil {
		return nil, fmt.Errorf("failed to merge chart values: %w", err)
	}
	if _, err := overwriteValues(ch, merged); err != nil {
		return nil, err
	}
	if ch, err = repackage(ch); err != nil {
		return nil, err
	}
	return &Chart{Chart: ch, Revision: version}, nil
}

// chartValues merges the values files of a downloaded chart
// (source-controller's mergeChartValues): "values.yaml" stands for the
// chart's values, other names for files of the chart.
func chartValues(ch *chart.Chart, spec sourcev1.HelmChartSpec) (map[string]any, error) {
	merged := map[string]any{}
	for _, p := range spec.ValuesFiles {
		name := path.Clean(p)
		if name == "values.yaml" {
			merged = chartutil.MergeMaps(merged, ch.Values)
			continue
		}
		var data []byte
		for _, f := range ch.Files {
			if f.Name == name {
				data = f.Data
			}
		}
		if data == nil {
			if spec.IgnoreMissingValuesFiles {
				continue
			}
			return nil, fmt.Errorf("no values file found at path '%s'", p)
		}
		vals := map[string]any{}
		if err := yaml.Unmarshal(data, &vals); err != nil {
			return nil, fmt.Errorf("unmarshaling values from '%s' failed: %w", p, err)
		}
		merged = chartutil.MergeMaps(merged, vals)
	}
	return merged, nil
}

// httpChart reads the repository's index.yaml and downloads the version
// of spec.chart it selects, returning that version and the archive.
func (f *Fetcher) httpChart(ctx context.Context, hr *sourcev1.HelmRepository, c *creds, spec sourcev1.HelmChartSpec) (string, []byte, error) {
	base, err := normalizeURL(hr.Spec.URL)
	if err != nil {
		return "", nil, err
	}
	raw, err := f.get(ctx, c, base, base+"index.yaml", hr.Spec.PassCredentials, maxIndexSize)
	if err != nil {
		return "", nil, fmt.Errorf("fetch index: %w", err)
	}
	idx, err := parseIndex(raw)
	if err != nil {
		return "", nil, err
	}
	cv, err := selectVersion(idx, spec.Chart, spec.Version)
	if err != nil {
		return "", nil, err
	}
	if len(cv.URLs) == 0 {
		return "", nil, fmt.Errorf("chart '%s' has no downloadable URLs", cv.Name)
	}
	u, err := repo.ResolveReferenceURL(base, cv.URLs[0])
	if err != nil {
		return "", nil, err
	}
	data, err := f.get(ctx, c, base, u, hr.Spec.PassCredentials, maxChartSize)
	if err != nil {
		return "", nil, fmt.Errorf("failed to download chart for remote reference: %w", err)
	}
	return cv.Version, data, nil
}

// get fetches u, bounded, with basic auth only for the repository's own
// scheme and host unless passCredentials (Helm's HTTP getter).
func (f *Fetcher) get(ctx context.Context, c *creds, base, u string, pass bool, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if c.username != "" && c.password != "" {
		b, _ := url.Parse(base)
		if pass || (b.Scheme == req.URL.Scheme && b.Host == req.URL.Host) {
			req.SetBasicAuth(c.username, c.password)
		}
	}
	resp, err := f.client(c).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", redactURL(u), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("GET %s: more than %d bytes", redactURL(u), max)
	}
	return data, nil
}

// normalizeURL is source-controller's NormalizeURL for HTTP repositories:
// the path ends in exactly one slash.
func normalizeURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("invalid repository URL")
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/"
	u.RawPath = strings.TrimRight(u.RawPath, "/") + "/"
	return u.String(), nil
}

func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<invalid URL>"
	}
	return p.Redacted()
}

// parseIndex reads an index as source-controller's IndexFromBytes: JSON
// or YAML, an apiVersion required, nil and invalid entries dropped,
// entries sorted.
func parseIndex(b []byte) (*repo.IndexFile, error) {
	if len(b) == 0 {
		return nil, repo.ErrEmptyIndexYaml
	}
	i := &repo.IndexFile{}
	if err := yaml.Unmarshal(b, i); err != nil {
		return nil, fmt.Errorf("parse index: %w", err)
	}
	if i.APIVersion == "" {
		return nil, repo.ErrNoAPIVersion
	}
	for name, cvs := range i.Entries {
		kept := cvs[:0]
		for _, cv := range cvs {
			if cv == nil {
				continue
			}
			if cv.Metadata == nil {
				cv.Metadata = &chart.Metadata{}
			}
			if cv.APIVersion == "" {
				cv.APIVersion = chart.APIVersionV1
			}
			if err := cv.Validate(); err != nil && !strings.HasPrefix(err.Error(), "validation: more than one dependency with name or alias") {
				continue
			}
			kept = append(kept, cv)
		}
		i.Entries[name] = kept
	}
	i.SortEntries()
	return i, nil
}

// selectVersion is source-controller's ChartRepository.getChartVersion:
// an exact version string first, else the highest version (a three-part
// semver) matching the constraint, "" and "*" meaning the highest stable
// one; of equal versions the most recently created.
func selectVersion(idx *repo.IndexFile, name, ver string) (*repo.ChartVersion, error) {
	cvs, ok := idx.Entries[name]
	if !ok {
		return nil, repo.ErrNoChartName
	}
	if len(cvs) == 0 {
		return nil, repo.ErrNoChartVersion
	}
	for _, cv := range cvs {
		if ver != "" && ver == cv.Version {
			return cv, nil
		}
	}
	constraint, err := versionConstraint(ver)
	if err != nil {
		return nil, err
	}
	type match struct {
		v  *semver.Version
		cv *repo.ChartVersion
	}
	var ms []match
	for _, cv := range cvs {
		if v, err := parseVersion(cv.Version); err == nil && constraint.Check(v) {
			ms = append(ms, match{v, cv})
		}
	}
	if len(ms) == 0 {
		return nil, fmt.Errorf("no '%s' chart with version matching '%s' found", name, ver)
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if !ms[i].v.Equal(ms[j].v) {
			return ms[j].v.LessThan(ms[i].v)
		}
		return ms[j].cv.Created.Before(ms[i].cv.Created)
	})
	return ms[0].cv, nil
}

func versionConstraint(ver string) (*semver.Constraints, error) {
	if ver == "" || ver == "*" {
		return semver.NewConstraint("*")
	}
	return semver.NewConstraint(ver)
}

// parseVersion is fluxcd/pkg/version.ParseVersion: three dot-separated
// parts, then Masterminds semver.
func parseVersion(v string) (*semver.Version, error) {
	if len(strings.SplitN(v, ".", 3)) != 3 {
		return nil, semver.ErrInvalidSemVer
	}
	return semver.NewVersion(v)
}
