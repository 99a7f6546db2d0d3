package breakglass

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitgate/gitgate/internal/configwatch"
)

// DefaultConfigMap is the name of the ConfigMap that holds grants.
const DefaultConfigMap = "gitgate-break-glass"

// Load validates every entry of a ConfigMap's data. Valid grants (expired
// ones included: they simply stop matching) are returned sorted by name;
// each invalid entry is returned with its error and takes no effect.
func Load(data map[string]string, max time.Duration, now time.Time) ([]Grant, map[string]error) {
	var grants []Grant
	invalid := map[string]error{}
	for name, value := range data {
		g, err := Parse(name, value)
		if err == nil {
			err = g.Validate(max, now)
		}
		if err != nil {
			invalid[name] = err
			continue
		}
		grants = append(grants, g)
	}
	sort.Slice(grants, func(i, j int) bool { return grants[i].Name < grants[j].Name })
	return grants, invalid
}

// Watcher keeps a Store in step with the grants ConfigMap. It watches that
// one object only (a field selector on its name), so it needs RBAC for
// nothing else.
type Watcher struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Store     *Store
	// Max is --max-break-glass.
	Max time.Duration
	Log logr.Logger

	once  sync.Once
	watch *configwatch.Watch
}

// ErrNotSynced: until the ConfigMap has been read, gitgate does not know
// which grants exist; readiness waits for it.
var ErrNotSynced = errors.New("break-glass grants not read yet")

func (w *Watcher) init() {
	w.once.Do(func() {
		watched.Store(w.Store)
		w.watch = &configwatch.Watch{Client: w.Client, Namespace: w.Namespace, Name: w.Name, OnChange: w.apply}
	})
}

// Start watches the ConfigMap until ctx ends.
func (w *Watcher) Start(ctx context.Context) error {
	w.init()
	if err := w.watch.Start(ctx); err != nil {
		return fmt.Errorf("watch break-glass grants: %w", err)
	}
	return nil
}

// Ready fails until the ConfigMap (or its absence) has been observed.
func (w *Watcher) Ready() error {
	w.init()
	if !w.watch.Synced() {
		return ErrNotSynced
	}
	return nil
}

func (w *Watcher) apply(cm *corev1.ConfigMap) {
	var data map[string]string
	if cm != nil {
		data = cm.Data
	}
	grants, invalid := Load(data, w.Max, time.Now())
	w.Store.Set(grants)
	invalidGrants.Set(float64(len(invalid)))
	for name, err := range invalid {
		w.Log.Error(err, "invalid break-glass grant ignored; other grants stay in force", "grant", name)
	}
	names := make([]string, len(grants))
	for i, g := range grants {
		names[i] = g.Name
	}
	w.Log.Info("break-glass grants loaded", "grants", names, "invalid", len(invalid))
}
