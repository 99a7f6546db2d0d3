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

// ociChart resolves req against an OCI registry as source-controller's
// OCIChartRepository does (a version that parses is the tag, "+" written
// "_"; else the highest tag matching the constraint), or by req.Resolve,
// and pulls the chart layer. It returns the version (the tag as
// resolved) and the archive.
func (f *Fetcher) ociChart(ctx context.Context, req Request, c *creds) (string, []byte, error) {
	base := strings.TrimRight(strings.TrimPrefix(req.URL, registry.OCIScheme+"://"), "/")
	repo, err := name.NewRepository(base+"/"+req.Chart, nameOpts(req.Insecure)...)
	if err != nil {
		return "", nil, fmt.Errorf("invalid OCI registry URL: %w", err)
	}
	opts := f.remoteOpts(ctx, c, repo.RegistryStr(), req.Insecure)
	list := func() ([]string, error) {
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return nil, fmt.Errorf("could not get tags for %q: %w", req.Chart, err)
		}
		return tags, nil
	}
	tag, err := ociVersion(req, list)
	if err != nil {
		return "", nil, err
	}
	img, err := remote.Image(repo.Tag(ociTag(tag)), opts...)
	if err != nil {
		return "", nil, fmt.Errorf("failed to get '%s:%s': %w", repo, tag, err)
	}
	data, _, err := layer(img, maxChartSize, registry.ChartLayerMediaType, registry.LegacyChartLayerMediaType)
	return tag, data, err
}

// ociVersion picks the tag: by req.Resolve (over the tags, "_" read as
// "+"), else as source-controller does.
func ociVersion(req Request, list func() ([]string, error)) (string, error) {
	if req.Resolve != nil {
		return req.Resolve(req.Version, func() ([]string, error) {
			tags, err := list()
			for i, t := range tags {
				tags[i] = strings.ReplaceAll(t, "_", "+")
			}
			return tags, err
		})
	}
	if _, err := parseVersion(req.Version); err == nil {
		return req.Version, nil
	}
	tags, err := list()
	if err != nil {
		return "", err
	}
	return highestTag(tags, req.Version)
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
// (PullOCI), the layer its layerSelector names (else the first), and
// the version as helm-controller mutates it: the first 12 hex digits of
// the manifest digest as build metadata, after checking that a semver
// tag equals the chart's version.
func (f *Fetcher) FromOCIRepository(ctx context.Context, or *sourcev1.OCIRepository) (out *Chart, err error) {
	defer recovered(&err)
	a, err := f.PullOCI(ctx, or)
	if err != nil {
		return nil, err
	}
	return ociRepositoryChart(or, a)
}

// OCIArtifact is an OCIRepository's artifact as gitgate resolved it
// from the registry: its manifest is read and digest-checked, its layers
// are read only by Layer.
type OCIArtifact struct {
	// Revision is what status.artifact.revision must hold:
	// "<tag>@sha256:<hex>", or "sha256:<hex>" for a digest reference.
	Revision string
	// Digest is the manifest digest.
	Digest string
	ref    name.Reference
	image  v1.Image
	digest v1.Hash
}

// PullOCI resolves an OCIRepository's reference as source-controller
// v1.9.x does (digest, else the highest semver tag after semverFilter,
// else the tag, else latest) with its secretRef and certSecretRef, over
// HTTPS unless spec.insecure, and reads the manifest. A cloud provider
// or serviceAccountName is ErrUnsupported. spec.verify is the caller's.
func (f *Fetcher) PullOCI(ctx context.Context, or *sourcev1.OCIRepository) (out *OCIArtifact, err error) {
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
	out = &OCIArtifact{Revision: dig.String(), Digest: dig.String(), ref: ref, image: img, digest: dig}
	if t, ok := ref.(name.Tag); ok {
		out.Revision = t.TagStr() + "@" + dig.String()
	}
	return out, nil
}

// Layer reads the layer the OCIRepository's layerSelector names (else
// the first), at most max bytes compressed, checked against its digest,
// and returns it with that digest: status.artifact.digest of a copy
// operation.
func (a *OCIArtifact) Layer(or *sourcev1.OCIRepository, max int64) ([]byte, string, error) {
	var types []string
	if mt := or.GetLayerMediaType(); mt != "" {
		types = []string{mt}
	}
	return layer(a.image, max, types...)
}

// ociRepositoryChart loads the selected layer and versions it.
func ociRepositoryChart(or *sourcev1.OCIRepository, a *OCIArtifact) (*Chart, error) {
	data, layerDigest, err := a.Layer(or, maxChartSize)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("failed to load chart from the artifact: %w", err)
	}
	dig := a.digest
	out := &Chart{Chart: ch, Revision: a.Revision, OCIDigest: dig.String()}
	if t, ok := a.ref.(name.Tag); ok {
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
// none is given: the first), at most max bytes, and returns it with its
// digest; go-containerregistry checks a registry's blob against it.
func layer(img v1.Image, max int64, mediaTypes ...string) ([]byte, string, error) {
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
		data, err := io.ReadAll(io.LimitReader(rc, max+1))
		if err != nil {
			return nil, "", err
		}
		if int64(len(data)) > max {
			return nil, "", fmt.Errorf("layer exceeds %d bytes", max)
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
