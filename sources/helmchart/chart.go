package helmchart

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
)

// Chart is a chart as helm-controller loads it from source-controller's
// artifact, and what that artifact must say.
type Chart struct {
	// Chart is the loaded chart; Chart.Metadata.Version is the version
	// helm-controller records (status.history[].chartVersion).
	Chart *chart.Chart
	// Revision is what the source's status.artifact.revision must hold:
	// a HelmChart's is the chart version it built, an OCIRepository's
	// "<tag>@sha256:<hex>" (or "sha256:<hex>" for a digest reference).
	Revision string
	// Digest is what status.artifact.digest must hold when gitgate can
	// know it: the chart archive as downloaded, when source-controller
	// stores it unchanged ("" when it repackages the chart).
	Digest string
	// OCIDigest is an OCIRepository chart's manifest digest, which
	// helm-controller appends to the version and records as ociDigest.
	OCIDigest string
	// SourceRevision is the GitRepository revision a chart of a Git
	// source was built from, which the HelmChart records as
	// status.observedSourceArtifactRevision.
	SourceRevision string
}

// Errors a caller tells apart. Each fails the root, which keeps its last
// good render.
var (
	// ErrUnsupported: gitgate cannot fetch this chart from its source
	// alone (a Bucket, a cloud provider's workload identity, ...).
	ErrUnsupported = errors.New("not supported")
	// ErrRemoteDependency: a dependency is neither vendored in charts/
	// nor a file:// path of the same source; source-controller would
	// download it from a repository the HelmRelease does not name.
	ErrRemoteDependency = errors.New("remote chart dependency")
	// ErrArtifactMismatch: source-controller's artifact (revision or
	// digest) is not what gitgate fetched from the source itself.
	ErrArtifactMismatch = errors.New("source-controller's artifact differs from what gitgate fetched")
)

// Limits of source-controller (internal/helm): a chart archive, an index,
// one file of a chart directory.
const (
	maxChartSize     = 10 << 20
	maxIndexSize     = 50 << 20
	maxChartFileSize = 5 << 20
)

// Spec is the HelmChart spec helm-controller creates for hr.spec.chart
// (internal/reconcile.HelmChartTemplate): chart, version, source kind and
// name, reconcile strategy, values files. ok is false with spec.chartRef.
// The HelmChart lives in the source's namespace, named
// "<hr namespace>-<hr name>" (HelmRelease.GetHelmChartName).
func Spec(hr *helmv2.HelmRelease) (spec sourcev1.HelmChartSpec, ok bool) {
	t := hr.Spec.Chart
	if t == nil {
		return sourcev1.HelmChartSpec{}, false
	}
	spec = sourcev1.HelmChartSpec{
		Chart:                    t.Spec.Chart,
		Version:                  t.Spec.Version,
		SourceRef:                sourcev1.LocalHelmChartSourceReference{Kind: t.Spec.SourceRef.Kind, Name: t.Spec.SourceRef.Name},
		ReconcileStrategy:        t.Spec.ReconcileStrategy,
		ValuesFiles:              t.Spec.ValuesFiles,
		IgnoreMissingValuesFiles: t.Spec.IgnoreMissingValuesFiles,
	}
	return spec, true
}

// ErrBucket: a chart from a Bucket; gitgate does not fetch Buckets.
var ErrBucket = fmt.Errorf("chart from a Bucket: %w", ErrUnsupported)

// CheckArtifact compares source-controller's artifact with what gitgate
// fetched; a nil artifact (none yet) is a mismatch too.
func (c *Chart) CheckArtifact(a *meta.Artifact) error {
	return CheckArtifact(a, c.Revision, c.Digest)
}

// CheckArtifact compares source-controller's artifact with the revision
// and digest gitgate fetched ("" when gitgate cannot know the digest);
// a nil artifact (none yet) is a mismatch too. Every failure is
// ErrArtifactMismatch.
func CheckArtifact(a *meta.Artifact, revision, digest string) error {
	if a == nil {
		return fmt.Errorf("%w: no artifact", ErrArtifactMismatch)
	}
	if a.Revision != revision {
		return fmt.Errorf("%w: revision %q, gitgate fetched %q", ErrArtifactMismatch, a.Revision, revision)
	}
	if digest != "" && a.Digest != digest {
		return fmt.Errorf("%w: digest %q, gitgate fetched %q", ErrArtifactMismatch, a.Digest, digest)
	}
	return nil
}

// CheckHelmChart compares a HelmChart's status with what gitgate built:
// its artifact (CheckArtifact), the chart name it observed and, for a
// chart of a Git source, the source revision it was built from. A chart
// whose version did not change is rebuilt at every new commit, so the
// version alone does not say which commit the artifact holds.
func (c *Chart) CheckHelmChart(hc *sourcev1.HelmChart) error {
	if err := c.CheckArtifact(hc.Status.Artifact); err != nil {
		return err
	}
	if hc.Status.ObservedChartName != c.Chart.Metadata.Name {
		return fmt.Errorf("%w: chart %q, gitgate built %q", ErrArtifactMismatch, hc.Status.ObservedChartName, c.Chart.Metadata.Name)
	}
	if c.SourceRevision != "" && hc.Status.ObservedSourceArtifactRevision != c.SourceRevision {
		return fmt.Errorf("%w: built from %q, gitgate fetched %q", ErrArtifactMismatch, hc.Status.ObservedSourceArtifactRevision, c.SourceRevision)
	}
	return nil
}

// recovered turns a panic of Helm's loader or packager on a hostile
// chart into an error: a bad chart fails its root, never the process.
func recovered(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("load chart: recovered from a panic: %v", r)
	}
}

// versionMetadata is the build metadata source-controller's HelmChart
// reconciler gives the version: for a Git source with reconcileStrategy
// Revision the first 12 hex digits of the commit, then for values files
// the HelmChart's generation ("<commit12>.<generation>").
func versionMetadata(spec sourcev1.HelmChartSpec, generation int64, commit string) string {
	md := ""
	if spec.ReconcileStrategy == sourcev1.ReconcileStrategyRevision && commit != "" {
		md = commit[:min(12, len(commit))]
	}
	if len(spec.ValuesFiles) > 0 {
		if md != "" {
			md += "."
		}
		md += strconv.FormatInt(generation, 10)
	}
	return md
}

// withMetadata sets a version's build metadata as source-controller does
// (Masterminds semver SetMetadata, then String: "v1.0" becomes "1.0.0").
func withMetadata(version, md string) (string, error) {
	v, err := semver.NewVersion(version)
	if err != nil {
		return "", fmt.Errorf("failed to parse version from chart metadata as SemVer: %w", err)
	}
	nv, err := v.SetMetadata(md)
	if err != nil {
		return "", fmt.Errorf("failed to set SemVer metadata on chart version: %w", err)
	}
	return nv.String(), nil
}

// overwriteValues replaces the chart's values.yaml with vals, as
// source-controller's OverwriteChartDefaultValues does before it packages
// the chart. It reports whether the chart changed.
func overwriteValues(c *chart.Chart, vals map[string]any) (bool, error) {
	if vals == nil {
		return false, nil
	}
	var b bytes.Buffer
	if len(vals) > 0 {
		if err := common.Values(vals).Encode(&b); err != nil {
			return false, err
		}
	}
	for _, f := range c.Raw {
		if f.Name != chartutil.ValuesfileName {
			continue
		}
		if reflect.DeepEqual(f.Data, b.Bytes()) {
			return false, nil
		}
		for _, ff := range c.Files {
			if ff.Name == chartutil.ValuesfileName {
				ff.Data = b.Bytes()
			}
		}
		f.Data = b.Bytes()
		c.Values = vals
		return true, nil
	}
	return false, fmt.Errorf("failed to locate values file: %s", chartutil.ValuesfileName)
}

// repackage writes c as source-controller packages a chart it built
// (chartutil.Save) and loads it back as helm-controller loads the
// artifact, so the chart is exactly what helm-controller renders.
func repackage(c *chart.Chart) (*chart.Chart, error) {
	dir, err := os.MkdirTemp("", "gitgate-helmchart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p, err := chartutil.Save(c, dir)
	if err != nil {
		return nil, fmt.Errorf("package chart: %w", err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if len(data) > maxChartSize {
		return nil, fmt.Errorf("packaged chart exceeds %d bytes", maxChartSize)
	}
	return loader.LoadArchive(bytes.NewReader(data))
}

// ociTag maps a chart version to its OCI tag: Helm pushes "+" as "_".
func ociTag(version string) string { return strings.ReplaceAll(version, "+", "_") }

func sha256Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
