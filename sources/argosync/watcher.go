package argosync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/argorender"
	"github.com/gitgate/gitgate/sources/helmchart"
	"github.com/gitgate/gitgate/sources/rootsync"
)

// ApplicationGVK is the kind the Watcher lists, as unstructured objects.
var ApplicationGVK = schema.GroupVersionKind{Group: "argoproj.io", Version: "v1alpha1", Kind: "Application"}

// DefaultNamespace is where Argo CD runs and watches Applications unless
// told otherwise.
const DefaultNamespace = "argocd"

// Watcher keeps one root per Argo CD Application in Composer. It
// implements controller-runtime's manager.Runnable.
type Watcher struct {
	// Reader lists Applications: the manager's cached client, whose cache
	// holds them as unstructured objects in Namespaces.
	Reader client.Reader
	// Informers, when set, trigger a pass on any change of an Application.
	Informers cache.Informers
	// APIReader reads argocd-cm (in the first namespace) by name,
	// uncached.
	APIReader client.Reader
	// Namespaces are watched for Applications; the first is Argo CD's own
	// (argocd-cm, and Applications named without their namespace). Empty
	// is DefaultNamespace.
	Namespaces []string
	// ClusterNames name this cluster in an Application's
	// destination.name, besides in-cluster.
	ClusterNames []string
	// Indexer is the template of each root's Indexer.
	Indexer  *provenance.Indexer
	Composer *provenance.Composer
	// Credentials of each repository; nil reads anonymously.
	Credentials Credentials
	// Charts fetches the charts of Helm repositories and OCI registries;
	// nil is a helmchart.Fetcher with its defaults.
	Charts *helmchart.Fetcher
	// Cluster tells Helm and kustomize the cluster's version and API
	// versions, as Argo CD's controller does; nil: Helm's defaults.
	Cluster     func(ctx context.Context) (kubeVersion string, apiVersions []string, err error)
	MinInterval time.Duration
	CacheDir    string
	Log         logr.Logger

	// passes is the trigger and the first listing, for other goroutines.
	passes  rootsync.Passes
	repos   map[repoKey]*repo
	roots   map[types.NamespacedName]*root
	listed  bool
	renders int
	batch   rootsync.Batch
	env     renderEnv
	// projects are the AppProjects of Argo CD's namespace by name, read
	// each pass; projectsErr says why they could not be.
	projects    map[string]*Project
	projectsErr error
}

// renderEnv is what every render reads besides its Application and
// files: argocd-cm's settings and the cluster's versions, read at most
// once per minimum interval.
type renderEnv struct {
	settings    argorender.Settings
	kubeVersion string
	apiVersions []string
	key         string
	read        time.Time
	err         error
	// impersonation is argocd-cm's application.sync.impersonation.enabled:
	// Argo CD then syncs each Application as its project's service
	// account for its destination. Not part of key: it changes no render.
	impersonation bool
	// globalProjects is argocd-cm's globalProjects, read only with
	// impersonation on; globalProjectsErr says why it could not be.
	globalProjects    []GlobalProject
	globalProjectsErr error
}

// Listed fails until the first pass has listed what the watcher
// enforces and expected those roots: until then the Composer cannot know
// what to wait for.
func (w *Watcher) Listed() error { return w.passes.Listed("Applications") }

// Trigger asks for a pass now; it never blocks.
func (w *Watcher) Trigger() { w.passes.Trigger() }

// Start runs a pass at once, then on every change of an Application and
// at least every second.
func (w *Watcher) Start(ctx context.Context) error {
	w.passes.Open()
	if w.Informers != nil {
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(ApplicationGVK)
		inf, err := w.Informers.GetInformer(ctx, u)
		if err != nil {
			return fmt.Errorf("watch Applications: %w", err)
		}
		h := toolscache.ResourceEventHandlerFuncs{
			AddFunc:    func(any) { w.Trigger() },
			UpdateFunc: func(any, any) { w.Trigger() },
			DeleteFunc: func(any) { w.Trigger() },
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return fmt.Errorf("watch Applications: %w", err)
		}
		p := &unstructured.Unstructured{}
		p.SetGroupVersionKind(AppProjectGVK)
		if inf, err = w.Informers.GetInformer(ctx, p); err != nil {
			return fmt.Errorf("watch AppProjects: %w", err)
		}
		if _, err := inf.AddEventHandler(h); err != nil {
			return fmt.Errorf("watch AppProjects: %w", err)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		if err := w.SyncOnce(ctx); err != nil && ctx.Err() == nil {
			w.Log.Error(err, "cannot list Applications; every root keeps its last good render")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.passes.Triggered():
		case <-tick.C:
		}
	}
}

func (w *Watcher) namespaces() []string {
	if len(w.Namespaces) == 0 {
		return []string{DefaultNamespace}
	}
	return w.Namespaces
}

// SyncOnce lists the Applications, reads the settings, polls the
// repositories that are due and brings every Application's root to its
// sources' revisions. An error means the list failed; each root's own
// failure goes to the Composer.
func (w *Watcher) SyncOnce(ctx context.Context) error {
	if w.repos == nil {
		w.repos, w.roots = map[repoKey]*repo{}, map[types.NamespacedName]*root{}
	}
	apps, err := w.list(ctx)
	if err != nil {
		return err
	}
	w.readEnv(ctx)
	w.readProjects(ctx)
	w.pollRepos(ctx, apps)
	w.syncRoots(ctx, apps)
	return nil
}

// list reads the Applications of the watched namespaces, sorted by
// namespace and name.
func (w *Watcher) list(ctx context.Context) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, ns := range w.namespaces() {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(ApplicationGVK.GroupVersion().WithKind("ApplicationList"))
		if err := w.Reader.List(ctx, l, client.InNamespace(ns)); err != nil {
			return nil, fmt.Errorf("list Applications in %s: %w", ns, err)
		}
		for i := range l.Items {
			out = append(out, &l.Items[i])
		}
	}
	slices.SortFunc(out, func(a, b *unstructured.Unstructured) int {
		return strings.Compare(a.GetNamespace()+"/"+a.GetName(), b.GetNamespace()+"/"+b.GetName())
	})
	return out, nil
}

// readEnv reads argocd-cm's tracking and kustomize settings and the
// cluster's versions, at most once per minimum interval. A missing
// argocd-cm is Argo CD's defaults; one that cannot be read fails every
// root until it can (env.err).
func (w *Watcher) readEnv(ctx context.Context) {
	if !w.env.read.IsZero() && time.Since(w.env.read) < w.minInterval() {
		return
	}
	e := renderEnv{read: time.Now(), settings: argorender.Settings{ControllerNamespace: w.namespaces()[0]}}
	var cm corev1.ConfigMap
	err := w.APIReader.Get(ctx, types.NamespacedName{Namespace: w.namespaces()[0], Name: "argocd-cm"}, &cm)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		e.err = fmt.Errorf("read argocd-cm: %w", err)
	default:
		e.settings = SettingsOf(w.namespaces()[0], cm.Data)
		e.impersonation = cm.Data[impersonationKey] == "true"
		if e.impersonation {
			e.globalProjects, e.globalProjectsErr = ParseGlobalProjects(cm.Data[globalProjectsKey])
		}
	}
	if w.Cluster != nil && e.err == nil {
		if e.kubeVersion, e.apiVersions, err = w.Cluster(ctx); err != nil {
			e.err = fmt.Errorf("read the cluster's version: %w", err)
		}
	}
	e.key = hashOf(e.settings, e.kubeVersion, e.apiVersions)
	w.env = e
}

// SettingsOf reads Argo CD's settings from argocd-cm's data.
func SettingsOf(namespace string, data map[string]string) argorender.Settings {
	return argorender.Settings{
		ControllerNamespace:   namespace,
		TrackingMethod:        data["application.resourceTrackingMethod"],
		InstanceLabelKey:      data["application.instanceLabelKey"],
		InstallationID:        data["installationID"],
		KustomizeBuildOptions: data["kustomize.buildOptions"],
	}
}

// pollRepos polls the repositories the Applications name that are due,
// and at once those of an Application that changed (a refresh asks for
// it); repositories no Application names any more are dropped.
func (w *Watcher) pollRepos(ctx context.Context, apps []*unstructured.Unstructured) {
	now := time.Now()
	current := map[repoKey]*repo{}
	for _, u := range apps {
		key := types.NamespacedName{Namespace: u.GetNamespace(), Name: u.GetName()}
		force := false
		if rt := w.roots[key]; rt != nil && rt.seen != seenKey(u) {
			force = true
		}
		app, err := argorender.DecodeApplication(u.Object)
		if err != nil {
			continue // the root fails in syncRoot
		}
		for _, s := range app.Spec.AllSources() {
			k := sourceKey(s)
			r := current[k]
			if r == nil {
				if r = w.repos[k]; r == nil {
					r = &repo{}
				}
				r.polled = false
				current[k] = r
			}
			if !r.polled {
				w.poll(ctx, k, r, now, force)
			}
		}
	}
	w.repos = current
}

// seenKey changes when an Application's spec or annotations change.
func seenKey(u *unstructured.Unstructured) string {
	return hashOf(u.GetGeneration(), u.GetAnnotations())
}
