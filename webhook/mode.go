package webhook

import (
	"context"
	"fmt"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

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
// objects).
type Modes interface {
	ModeFor(namespace string) Mode
}

// FixedMode applies one mode everywhere.
type FixedMode Mode

// ModeFor returns m.
func (m FixedMode) ModeFor(string) Mode { return Mode(m) }

// NamespaceModes reads the gitgate.dev/mode label from a cache of
// Namespaces kept by an informer: no API call per request.
//
// The label is trusted because Git manages the Namespace: changing the
// label by hand is itself a change gitgate judges, and a Namespace is
// cluster-scoped, so it is always judged in the Default mode, never in the
// mode its own label sets. Cluster-scoped objects always get Default.
type NamespaceModes struct {
	Default Mode

	factory informers.SharedInformerFactory
	lister  corelisters.NamespaceLister
	synced  cache.InformerSynced
}

// NewNamespaceModes builds the informer; Start runs it.
func NewNamespaceModes(client kubernetes.Interface, def Mode) *NamespaceModes {
	f := informers.NewSharedInformerFactory(client, 0)
	ns := f.Core().V1().Namespaces()
	return &NamespaceModes{Default: def, factory: f, lister: ns.Lister(), synced: ns.Informer().HasSynced}
}

// Start runs the informer until ctx ends.
func (m *NamespaceModes) Start(ctx context.Context) error {
	m.factory.Start(ctx.Done())
	<-ctx.Done()
	m.factory.Shutdown()
	return nil
}

// errNamespacesNotSynced: until the cache is filled, a namespace's override
// is unknown; readiness waits rather than apply the wrong mode.
var errNamespacesNotSynced = fmt.Errorf("namespace cache not synced")

// Ready fails until the Namespace cache is filled.
func (m *NamespaceModes) Ready() error {
	if !m.synced() {
		return errNamespacesNotSynced
	}
	return nil
}

// ModeFor returns the namespace's label, or Default. A label with another
// value means enforce: a typo must not switch enforcement off.
func (m *NamespaceModes) ModeFor(namespace string) Mode {
	if namespace == "" {
		return m.Default
	}
	ns, err := m.lister.Get(namespace)
	if err != nil {
		return m.Default
	}
	v, ok := ns.Labels[ModeLabel]
	if !ok {
		return m.Default
	}
	mode, err := ParseMode(v)
	if err != nil {
		return Enforce
	}
	return mode
}
