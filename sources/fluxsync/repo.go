package fluxsync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/gitsource"
	"github.com/gitgate/gitgate/sources/signature"
)

// ErrUnsupported: a GitRepository or Kustomization uses a feature gitgate
// does not reproduce. Its roots fail rather than declare something other
// than what Flux applies.
var ErrUnsupported = errors.New("not supported by gitgate")

// DefaultMinInterval bounds how often one GitRepository is polled, however
// short its spec.interval: every poll is an ls-remote against the Git
// server. A change of the object (source-controller recording a new
// artifact) still triggers a poll at once.
const DefaultMinInterval = 10 * time.Second

// repo is what gitgate knows of one GitRepository.
type repo struct {
	// srcKey identifies what src was built from (URL, ref, credentials).
	srcKey string
	src    *gitsource.Source
	// seen is the GitRepository's generation and artifact revision at the
	// last poll: a change polls at once.
	seen string
	next time.Time
	// The last revision read: its commit, filtered files and ignore key.
	rev    provenance.Revision
	commit *object.Commit
	tree   *object.Tree
	files  fs.FS
	// filesKey identifies the rules that filtered files.
	filesKey string
	url      string
	verified string
	// digest and layerDigest are an OCIRepository's manifest digest and
	// layer digest at the last pull (oci.go); its files have no tree.
	digest, layerDigest string
	err                 error
	// polled is true when this pass read the remote (or failed to).
	polled bool
}

// refOf maps a GitRepository's spec.ref to a gitsource.Ref, with Flux's
// precedence (commit, semver, tag, branch) and default (branch master).
func refOf(r *sourcev1.GitRepositoryRef) (gitsource.Ref, error) {
	switch {
	case r == nil:
		return gitsource.Ref{Branch: "master"}, nil
	case r.Name != "":
		return gitsource.Ref{}, fmt.Errorf("ref.name %w", ErrUnsupported)
	case r.Commit != "":
		return gitsource.Ref{Commit: r.Commit}, nil
	case r.SemVer != "":
		return gitsource.Ref{SemVer: r.SemVer}, nil
	case r.Tag != "":
		return gitsource.Ref{Tag: r.Tag}, nil
	case r.Branch != "":
		return gitsource.Ref{Branch: r.Branch}, nil
	}
	return gitsource.Ref{Branch: "master"}, nil
}

// checkSupported refuses the GitRepository features gitgate cannot
// reproduce, naming them.
func checkSupported(spec *sourcev1.GitRepositorySpec) error {
	var unsupported []string
	if spec.Provider != "" && spec.Provider != sourcev1.GitProviderGeneric {
		unsupported = append(unsupported, "provider "+spec.Provider)
	}
	if len(spec.Include) > 0 {
		unsupported = append(unsupported, "include")
	}
	if len(spec.SparseCheckout) > 0 {
		unsupported = append(unsupported, "sparseCheckout")
	}
	if spec.RecurseSubmodules {
		unsupported = append(unsupported, "recurseSubmodules")
	}
	if spec.ProxySecretRef != nil {
		unsupported = append(unsupported, "proxySecretRef")
	}
	if v := spec.Verification; v != nil && v.Mode != "" && v.Mode != sourcev1.ModeGitHEAD {
		unsupported = append(unsupported, "verify.mode "+string(v.Mode))
	}
	if len(unsupported) > 0 {
		return fmt.Errorf("%v: %w", unsupported, ErrUnsupported)
	}
	return nil
}

// pollInterval is spec.interval bounded below by min.
func pollInterval(gr *sourcev1.GitRepository, min time.Duration) time.Duration {
	if d := gr.Spec.Interval.Duration; d > min {
		return d
	}
	return min
}

// seenKey changes when the GitRepository's spec or its artifact changes.
func seenKey(gr *sourcev1.GitRepository) string {
	s := fmt.Sprint(gr.Generation)
	if a := gr.Status.Artifact; a != nil {
		s += "/" + a.Revision
	}
	return s
}

// readSecret reads one Secret by name; its data never leaves this package
// in an error or a log.
func readSecret(ctx context.Context, r client.Reader, ns, name string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		return nil, fmt.Errorf("read Secret %s/%s: %w", ns, name, err)
	}
	return s.Data, nil
}

// hashOf is a stable digest of any JSON-able values.
func hashOf(vs ...any) string {
	h := sha256.New()
	for _, v := range vs {
		b, _ := json.Marshal(v) // maps marshal with sorted keys
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// verifierOf builds the OpenPGP verifier of spec.verify: every value of
// the Secret is an armored public keyring, as source-controller reads it.
func verifierOf(ctx context.Context, r client.Reader, gr *sourcev1.GitRepository) (signature.Verifier, string, error) {
	v := gr.Spec.Verification
	if v == nil {
		return nil, "", nil
	}
	data, err := readSecret(ctx, r, gr.Namespace, v.SecretRef.Name)
	if err != nil {
		return nil, "", fmt.Errorf("verify.secretRef: %w", err)
	}
	pgp, err := signature.ParsePGPKeyrings(data)
	if err != nil {
		return nil, "", fmt.Errorf("verify.secretRef %s: %w", v.SecretRef.Name, err)
	}
	return pgp, hashOf(data), nil
}
