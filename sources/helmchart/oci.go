package helmchart

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/registry"
)

// ociChart resolves spec against an OCI HelmRepository as
// source-controller's OCIChartRepository does (a version that parses is
// the tag, "+" written "_"; else the highest tag matching the constraint)
// and pulls the chart layer. It returns the version source-controller
// records (the tag as resolved) and the archive.
func (f *Fetcher) ociChart(ctx context.Context, hr *sourcev1.HelmRepository, c *creds, spec sourcev1.HelmChartSpec) (string, []byte, error) {
	base := strings.TrimRight(strings.TrimPrefix(hr.Spec.URL, registry.OCIScheme+"://"), "/")
	repo, err := name.NewRepository(base+"/"+spec.Chart, nameOpts(hr.Spec.Insecure)...)
	if err != nil {
		return "", nil, fmt.Errorf("invalid OCI registry URL: %w", err)
	}
	opts := f.remoteOpts(ctx, c, repo.RegistryStr(), hr.Spec.Insecure)
	tag := spec.Version
	if _, err := parseVersion(tag); err != nil {
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return "", nil, fmt.Errorf("could not get tags for %q: %w", spec.Chart, err)
		}
		if tag, err = highestTag(tags, spec.Version); err != nil {
			return "", nil, err
		}
	}
	img, err := remote.Image(repo.Tag(ociTag(tag)), opts...)
	if err != nil {
		return "", nil, fmt.Errorf("failed to get '%s:%s': %w", repo, tag, err)
	}
	data, _, err := layer(img, registry.ChartLayerMediaType, registry.LegacyChartLayerMediaType)
	return tag, data, err
}

// highestTag is source-controller's getLastMatchingVersionOrConstraint.
func highestTag(tags []string, ver string) (string, error) {
	for _, t := range tags {
		if ver != "" && t == ver {
			return t, nil
		}
	}
	c, err := versionConstraint(ver)
	if err != nil {
		return "", err
	}
	var vs []*semver.Version
	for _, t := range tags {
		if v, err := parseVersion(t); err == nil && c.Check(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return "", fmt.Errorf("could not locate a version matching provided version string %s", ver)
	}
	sort.Sort(sort.Reverse(semver.Collection(vs)))
	return vs[0].Original(), nil
}

// FromOCIRepository fetches the chart an OCIRepository points at, for
// spec.chartRef, itself: the reference as source-controller resolves it
// (digest, else the highest semver tag after semverFilter, else the tag,
// else latest), the layer its layerSelector names (else the first), and
// the version as helm-controller mutates it: the first 12 hex digits of
// the manifest digest as build metadata, after checking that a semver
// tag equals the chart's version.
func (f *Fetcher) FromOCIRepository(ctx context.Context, or *sourcev1.OCIRepository) (out *Chart, err error) {
	defer recovered(&err)
	switch {
	case or.Spec.Provider != "" && or.Spec.Provider != sourcev1.GenericOCIProvider:
		return nil, fmt.Errorf("OCIRepository provider %q: %w", or.Spec.Provider, ErrUnsupported)
	case or.Spec.ServiceAccountName != "":
		return nil, fmt.Errorf("OCIRepository serviceAccountName (image pull secrets): %w", ErrUnsupported)
	}
	c, err := f.credsFor(ctx, or.Namespace, or.Spec.SecretRef, or.Spec.CertSecretRef)
	if err != nil {
		return nil, err
	}
	repo, err := name.NewRepository(strings.TrimPrefix(or.Spec.URL, registry.OCIScheme+"://"), nameOpts(or.Spec.Insecure)...)
	if err != nil {
		return nil, fmt.Errorf("invalid OCI URL: %w", err)
	}
	opts := f.remoteOpts(ctx, c, repo.RegistryStr(), or.Spec.Insecure)
	ref, err := artifactRef(or, repo, opts)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("failed to pull artifact from '%s': %w", ref, err)
	}
	dig, err := img.Digest()
	if err != nil {
		return nil, err
	}
	return ociRepositoryChart(or, ref, img, dig)
}

// ociRepositoryChart loads the selected layer and versions it.
func ociRepositoryChart(or *sourcev1.OCIRepository, ref name.Reference, img v1.Image, dig v1.Hash) (*Chart, error) {
	var types []string
	if mt := or.GetLayerMediaType(); mt != "" {
		types = []string{mt}
	}
	data, layerDigest, err := layer(img, types...)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to load chart from the artifact: %w", err)
	}
	out := &Chart{Chart: ch, Revision: dig.String(), OCIDigest: dig.String()}
	if t, ok := ref.(name.Tag); ok {
		out.Revision = t.TagStr() + "@" + dig.String()
		if v, err := parseVersion(strings.ReplaceAll(t.TagStr(), "_", "+")); err == nil {
			cv, err := semver.NewVersion(ch.Metadata.Version)
			if err != nil || !v.Equal(cv) {
				return nil, fmt.Errorf("artifact revision %s does not match chart version %s", t.TagStr(), ch.Metadata.Version)
			}
		}
	}
	if ch.Metadata.Version, err = withMetadata(ch.Metadata.Version, dig.Hex[:12]); err != nil {
		return nil, fmt.Errorf("invalid chart version %s", ch.Metadata.Version)
	}
	if or.GetLayerOperation() == sourcev1.OCILayerCopy {
		// The artifact is the layer as pulled.
		out.Digest = layerDigest
	}
	return out, nil
}

// artifactRef is source-controller's getArtifactRef.
func artifactRef(or *sourcev1.OCIRepository, repo name.Repository, opts []remote.Option) (name.Reference, error) {
	r := or.Spec.Reference
	switch {
	case r == nil:
		return repo.Tag(name.DefaultTag), nil
	case r.Digest != "":
		return repo.Digest(r.Digest), nil
	case r.SemVer != "":
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return nil, err
		}
		return semverTag(repo, tags, r.SemVer, r.SemverFilter, or.GetLayerMediaType())
	case r.Tag != "":
		return repo.Tag(r.Tag), nil
	}
	return repo.Tag(name.DefaultTag), nil
}

// semverTag is source-controller's getTagBySemver: tags the filter keeps,
// read as semver ("_" as "+" for Helm chart layers), the highest matching.
func semverTag(repo name.Repository, tags []string, exp, filter, mediaType string) (name.Reference, error) {
	if filter != "" {
		re, err := regexp.Compile(filter)
		if err != nil {
			return nil, fmt.Errorf("failed to compile regex %s: %w", filter, err)
		}
		kept := tags[:0:0]
		for _, t := range tags {
			if re.MatchString(t) {
				kept = append(kept, t)
			}
		}
		tags = kept
	}
	c, err := semver.NewConstraint(exp)
	if err != nil {
		return nil, fmt.Errorf("semver '%s' parse error: %w", exp, err)
	}
	helm := mediaType == registry.ChartLayerMediaType
	var vs []*semver.Version
	for _, t := range tags {
		if helm {
			t = strings.ReplaceAll(t, "_", "+")
		}
		if v, err := parseVersion(t); err == nil && c.Check(v) {
			vs = append(vs, v)
		}
	}
	if len(vs) == 0 {
		return nil, fmt.Errorf("no match found for semver: %s", exp)
	}
	sort.Sort(sort.Reverse(semver.Collection(vs)))
	tag := vs[0].Original()
	if helm {
		tag = ociTag(tag)
	}
	return repo.Tag(tag), nil
}

// layer reads the first layer of one of the media types (any layer's when
// none is given: the first), bounded, and returns it with its digest.
func layer(img v1.Image, mediaTypes ...string) ([]byte, string, error) {
	layers, err := img.Layers()
	if err != nil {
		return nil, "", fmt.Errorf("failed to parse artifact layers: %w", err)
	}
	for _, l := range layers {
		mt, err := l.MediaType()
		if err != nil {
			return nil, "", err
		}
		if len(mediaTypes) > 0 && !contains(mediaTypes, string(mt)) {
			continue
		}
		rc, err := l.Compressed()
		if err != nil {
			return nil, "", err
		}
		defer rc.Close()
		data, err := io.ReadAll(io.LimitReader(rc, maxChartSize+1))
		if err != nil {
			return nil, "", err
		}
		if len(data) > maxChartSize {
			return nil, "", fmt.Errorf("chart layer exceeds %d bytes", maxChartSize)
		}
		return data, sha256Digest(data), nil
	}
	return nil, "", fmt.Errorf("failed to find layer with media type %q in artifact", strings.Join(mediaTypes, ", "))
}

func contains(l []string, s string) bool {
	for _, e := range l {
		if e == s {
			return true
		}
	}
	return false
}

func nameOpts(insecure bool) []name.Option {
	if insecure {
		return []name.Option{name.Insecure}
	}
	return nil
}

func (f *Fetcher) remoteOpts(ctx context.Context, c *creds, registryHost string, insecure bool) []remote.Option {
	rt := f.client(c).Transport
	if !insecure {
		rt = httpsOnly{rt}
	}
	return []remote.Option{remote.WithContext(ctx), remote.WithAuth(c.authenticator(registryHost)), remote.WithTransport(rt)}
}

// httpsOnly refuses plain HTTP: go-containerregistry speaks it to
// loopback and private addresses on its own, Helm's registry client only
// with insecure, which gitgate follows.
type httpsOnly struct{ rt http.RoundTripper }

func (h httpsOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Scheme != "https" {
		return nil, fmt.Errorf("plain HTTP to %s without insecure: true: %w", r.URL.Host, ErrUnsupported)
	}
	return h.rt.RoundTrip(r)
}
