package webhook

import (
	"fmt"

	"github.com/gitgate/gitgate/provenance"
)

// Mode says what gitgate does with a request that disagrees with Git.
type Mode string

// Modes.
const (
	// Enforce denies it. The default.
	Enforce Mode = "enforce"
	// Warn allows it with an admission warning (kubectl prints "Warning:").
	Warn Mode = "warn"
	// Audit allows it silently; only the audit record tells.
	Audit Mode = "audit"
)

// ModeLabel on a Namespace overrides --mode for the objects in it;
// provenance protects it from hand edits.
const ModeLabel = provenance.ModeLabel

// ParseMode accepts enforce, warn or audit.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Enforce, Warn, Audit:
		return m, nil
	}
	return "", fmt.Errorf("mode must be enforce, warn or audit, got %q", s)
}

// Modes gives the mode for objects in a namespace ("" for cluster-scoped
// objects), as the snapshot the decision read declares it (nil before the
// first sync).
type Modes interface {
	ModeFor(snap *provenance.Snapshot, namespace string) Mode
}

// FixedMode applies one mode everywhere.
type FixedMode Mode

// ModeFor returns m.
func (m FixedMode) ModeFor(*provenance.Snapshot, string) Mode { return Mode(m) }

// GitModes reads the gitgate.dev/mode label of a Namespace as Git declares
// it, in the snapshot the decision read (so the mode and the verdict come
// from one revision), never from the live object: whoever can
// write a Namespace (through its status or finalize subresource, a grant,
// or a service account's token) cannot switch enforcement off, and a
// Namespace Git does not declare gets Default. To change a namespace's
// mode, commit the label. Cluster-scoped objects always get Default.
type GitModes struct {
	Default Mode
	// Decoded, when set, keeps the Namespaces' manifests decoded between
	// requests, as it keeps those the Git check reads.
	Decoded *provenance.DecodedCache
}

// NewGitModes returns GitModes with a cache of its own that keeps the
// Namespaces' manifests decoded between requests (read on every denial):
// at most 256 of them and 256 KiB of their JSON, about 3 MB decoded, 5.5
// MB at worst.
func NewGitModes(def Mode) GitModes {
	return GitModes{Default: def, Decoded: provenance.NewDecodedCache(256, 256<<10)}
}

// ModeFor returns the label Git declares on the namespace, or Default. A
// label with another value means enforce: a typo must not switch
// enforcement off. A Namespace several roots declare gets the strictest
// of their modes: which root owns it must not loosen enforcement.
func (m GitModes) ModeFor(snap *provenance.Snapshot, namespace string) Mode {
	if namespace == "" || snap == nil {
		return m.Default
	}
	decls := snap.Declarations(provenance.Key{Kind: "Namespace", Name: namespace})
	if len(decls) == 0 {
		return m.Default
	}
	mode := m.modeOf(decls[0])
	for _, e := range decls[1:] {
		if other := m.modeOf(e); strictness[other] > strictness[mode] {
			mode = other
		}
	}
	return mode
}

// strictness orders the modes: the higher refuses more.
var strictness = map[Mode]int{Audit: 0, Warn: 1, Enforce: 2}

// modeOf is the mode one declaration of a Namespace sets.
func (m GitModes) modeOf(e *provenance.Entry) Mode {
	v, ok := m.Decoded.Label(e, ModeLabel)
	if !ok {
		return m.Default
	}
	mode, err := ParseMode(v)
	if err != nil {
		return Enforce
	}
	return mode
}
