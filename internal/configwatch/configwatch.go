// Package configwatch watches one ConfigMap by name, through an informer
// restricted to that object by a field selector, so the watcher needs RBAC
// for that object alone. Break-glass grants and the replicas' sync signal
// use it.
package configwatch

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Watch follows ConfigMap Namespace/Name and calls OnChange with it, or nil
// when it is absent or deleted.
type Watch struct {
	Client          kubernetes.Interface
	Namespace, Name string
	OnChange        func(*corev1.ConfigMap)

	once     sync.Once
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	// handler is set once Start registered; it has synced when the
	// initial state (the ConfigMap or its absence) reached OnChange.
	handler atomic.Pointer[cache.ResourceEventHandlerRegistration]
}

func (w *Watch) init() {
	w.once.Do(func() {
		w.factory = informers.NewSharedInformerFactoryWithOptions(w.Client, 0,
			informers.WithNamespace(w.Namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) {
				o.FieldSelector = fields.OneTermEqualSelector("metadata.name", w.Name).String()
			}))
		w.informer = w.factory.Core().V1().ConfigMaps().Informer()
	})
}

// Start watches until ctx ends.
func (w *Watch) Start(ctx context.Context) error {
	w.init()
	changed := func(obj any) {
		cm, _ := obj.(*corev1.ConfigMap)
		w.OnChange(cm)
	}
	reg, err := w.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    changed,
		UpdateFunc: func(_, obj any) { changed(obj) },
		DeleteFunc: func(any) { w.OnChange(nil) },
	})
	if err != nil {
		return fmt.Errorf("watch ConfigMap %s/%s: %w", w.Namespace, w.Name, err)
	}
	w.handler.Store(&reg)
	w.factory.Start(ctx.Done())
	<-ctx.Done()
	w.factory.Shutdown()
	return nil
}

// Synced reports whether the initial state has been observed.
func (w *Watch) Synced() bool {
	reg := w.handler.Load()
	return reg != nil && (*reg).HasSynced()
}
