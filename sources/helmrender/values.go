package helmrender

import (
	"context"
	"errors"
	"fmt"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/chartutil"
	"github.com/go-logr/logr"
	"github.com/opencontainers/go-digest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Values are a HelmRelease's values as helm-controller passes them to
// Helm: valuesFrom in order, then spec.values on top.
type Values struct {
	// Map is the merged values (Helm's release Config). Never log it.
	Map map[string]any
	// FromSecret: a valuesFrom names a Secret, so some values (and
	// anything a template derives from them) may be secret. Errors of a
	// render with such values never carry their text.
	FromSecret bool
}

// ErrSecretValues wraps an error whose text was withheld because it could
// hold values read from a Secret.
var ErrSecretValues = errors.New("message withheld: it may hold values read from a Secret")

// ComposeValues reads hr's valuesFrom ConfigMaps and Secrets through r, by
// name, and merges them with spec.values exactly as helm-controller v1.6.x
// does: it runs the same function, fluxcd/pkg/chartutil's
// ChartValuesFromReferences (each reference in order, valuesKey default
// values.yaml, targetPath through Helm's strvals --set parser or, with
// literal, verbatim; optional references that are missing are skipped;
// chartutil.MergeMaps, tables merged key by key, anything else replaced),
// with spec.values merged last. r needs only Get.
func ComposeValues(ctx context.Context, r client.Reader, hr *helmv2.HelmRelease) (Values, error) {
	v := Values{}
	for _, ref := range hr.Spec.ValuesFrom {
		if ref.Kind == "Secret" {
			v.FromSecret = true
		}
	}
	m, err := chartutil.ChartValuesFromReferences(ctx, logr.Discard(), getOnly{r: r}, hr.Namespace, hr.GetValues(), hr.Spec.ValuesFrom...)
	if err != nil {
		return Values{}, redactValuesError(err)
	}
	v.Map = m
	return v, nil
}

// redactValuesError keeps what names a Secret reference (kind, name, key,
// reason) and drops the parser's text, which quotes what it could not
// read, such as "cannot unmarshal !!str <the value>".
func redactValuesError(err error) error {
	var ref *chartutil.ErrValuesReference
	if !errors.As(err, &ref) || ref.Kind != "Secret" || ref.Err == nil {
		return err
	}
	reason := ref.Reason
	if reason == nil {
		reason = chartutil.ErrUnknown
	}
	return fmt.Errorf("could not resolve Secret chart values reference '%s' with key '%s': %w (%w)",
		ref.Name, ref.Key, reason, ErrSecretValues)
}

// ConfigDigest is the digest helm-controller records for these values in
// status.history[].configDigest and status.lastAttemptedConfigDigest:
// fluxcd/pkg/chartutil.DigestValues(digest.Canonical, values), SHA-256 of
// the values encoded as YAML (go.yaml.in/yaml/v2) with every map's keys
// sorted, "sha256:<hex>"; empty values digest the empty input.
func (v Values) ConfigDigest() string {
	return chartutil.DigestValues(digest.Canonical, v.Map).String()
}

// getOnly hands ChartValuesFromReferences, which takes a client.Client but
// only ever calls Get, a client.Reader. Any other method panics on the nil
// embedded client.
type getOnly struct {
	client.Client
	r client.Reader
}

func (g getOnly) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if g.r == nil {
		return errors.New("valuesFrom: no reader for ConfigMaps and Secrets")
	}
	return g.r.Get(ctx, key, obj, opts...)
}
