package helmrender

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
)

// ReleaseName is the name of hr's Helm release as helm-controller v1.6.x
// names it: spec.releaseName, else "[targetNamespace-]name"
// (HelmRelease.GetReleaseName), shortened by release.ShortenName.
func ReleaseName(hr *helmv2.HelmRelease) string {
	return ShortenName(hr.GetReleaseName())
}

// ShortenName is helm-controller's internal/release.ShortenName: a name
// over 53 characters becomes its first 40 characters, "-", and the first
// 12 hex digits of the SHA-256 of the whole name; shorter names stay.
func ShortenName(name string) string {
	const maxLength, shortHashLength = 53, 12
	if len(name) <= maxLength {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	return name[:maxLength-(shortHashLength+1)] + "-" + hex.EncodeToString(sum[:])[:shortHashLength]
}

// Target is the Helm action whose render gitgate reproduces: what
// .Release.Revision, .Release.IsUpgrade and .Release.IsInstall hold, and
// which CRD policy applies.
type Target struct {
	// Revision is .Release.Revision: 1 for an install, the last
	// release's plus one for an upgrade.
	Revision int
	// Upgrade: a helm upgrade (IsUpgrade); otherwise an install
	// (IsInstall).
	Upgrade bool
}

// Next is the action helm-controller takes when hr's spec differs from
// its last release: an install at revision 1 when status.history holds
// no release (or its latest was uninstalled), else an upgrade at the
// latest version plus one (Helm's upgrade counts from the last release in
// storage, which helm-controller records as status.history[0]).
func Next(hr *helmv2.HelmRelease) Target {
	cur := hr.Status.History.Latest()
	if cur == nil || cur.Status == "uninstalled" {
		return Target{Revision: 1}
	}
	return Target{Revision: cur.Version + 1, Upgrade: true}
}

// Deployed is the action that made the release status.history[0]
// records, when it is deployed: its revision, an upgrade unless that
// release was an install. Its render is what the cluster holds when Check
// passes. ok is false when there is no deployed latest release.
func Deployed(hr *helmv2.HelmRelease) (t Target, ok bool) {
	cur := hr.Status.History.Latest()
	if cur == nil || cur.Status != "deployed" {
		return Target{}, false
	}
	upgrade := cur.Action != helmv2.ReleaseActionInstall
	if cur.Action == "" {
		// Snapshots written before helm-controller recorded the action.
		upgrade = cur.Version > 1
	}
	return Target{Revision: cur.Version, Upgrade: upgrade}, true
}

// Errors of the cross-check, each its own so a caller can tell them apart.
var (
	// ErrNotDeployed: status.history holds no deployed latest release, so
	// nothing says what the cluster holds.
	ErrNotDeployed = errors.New("HelmRelease has no deployed release in status.history")
	// ErrReleaseMismatch: the latest release is another release (name,
	// namespace), chart, chart version or values than gitgate rendered,
	// or helm-controller has not applied the post-renderers or common
	// metadata of this spec yet.
	ErrReleaseMismatch = errors.New("the deployed release differs from gitgate's render")
)

// Check compares the release this render describes with what
// helm-controller recorded of the latest release (status.history[0]) and
// of this spec: release name and namespace, chart name and version, config
// digest, the OCI digest for an OCIRepository chart, and the digests of
// spec.postRenderers and spec.commonMetadata it last applied. nil means
// the deployed release was made from the same inputs as this render.
func (r *Result) Check(hr *helmv2.HelmRelease) error {
	cur := hr.Status.History.Latest()
	if cur == nil || cur.Status != "deployed" {
		return ErrNotDeployed
	}
	for _, c := range []struct{ field, got, want string }{
		{"name", cur.Name, r.ReleaseName},
		{"namespace", cur.Namespace, r.Namespace},
		{"chartName", cur.ChartName, r.ChartName},
		{"chartVersion", cur.ChartVersion, r.ChartVersion},
		{"configDigest", cur.ConfigDigest, r.ConfigDigest},
		{"ociDigest", cur.OCIDigest, r.OCIDigest},
		{"observedPostRenderersDigest", hr.Status.ObservedPostRenderersDigest, postRenderersDigest(hr)},
		{"observedCommonMetadataDigest", hr.Status.ObservedCommonMetadataDigest, commonMetadataDigest(hr)},
	} {
		if c.got != c.want {
			return fmt.Errorf("%w: %s is %q, gitgate's render has %q", ErrReleaseMismatch, c.field, c.got, c.want)
		}
	}
	return nil
}

// postRenderersDigest is what helm-controller records in
// status.observedPostRenderersDigest after a release: "" without
// spec.postRenderers, else the SHA-256 of their JSON as json.Encoder
// writes it (with its trailing newline), internal/postrender.Digest.
func postRenderersDigest(hr *helmv2.HelmRelease) string {
	if hr.Spec.PostRenderers == nil {
		return ""
	}
	return encoderDigest(hr.Spec.PostRenderers)
}

// commonMetadataDigest is status.observedCommonMetadataDigest, likewise
// (internal/postrender.CommonMetadataDigest).
func commonMetadataDigest(hr *helmv2.HelmRelease) string {
	if hr.Spec.CommonMetadata == nil {
		return ""
	}
	return encoderDigest(hr.Spec.CommonMetadata)
}

func encoderDigest(v any) string {
	h := sha256.New()
	if err := json.NewEncoder(h).Encode(v); err != nil {
		return ""
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
