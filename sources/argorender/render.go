package argorender

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/sources/offlinescope"
)

// Errors a caller tells apart.
var (
	// ErrUnsupported: the Application asks for something gitgate does
	// not reproduce from its sources' files alone (a plugin, an OCI
	// artifact, a remote base). Its root fails rather than declare something else.
	ErrUnsupported = errors.New("not supported by gitgate")
	// ErrNoPath: a source's path is not a directory of its repository,
	// as Argo CD's "app path does not exist".
	ErrNoPath = errors.New("app path does not exist")
)

// Settings are what Argo CD reads from argocd-cm (and its own namespace)
// for every Application.
type Settings struct {
	// ControllerNamespace is Argo CD's own namespace: an Application
	// there is named by its name, elsewhere by namespace_name.
	ControllerNamespace string
	// TrackingMethod is application.resourceTrackingMethod: annotation
	// (also when empty: Argo CD v3's default), label or annotation+label.
	TrackingMethod string
	// InstanceLabelKey is application.instanceLabelKey, default
	// app.kubernetes.io/instance.
	InstanceLabelKey string
	// InstallationID is installationID: a second annotation on every
	// tracked object.
	InstallationID string
	// KustomizeBuildOptions is kustomize.buildOptions: anything but empty
	// fails a kustomize source, since it changes what the build does.
	KustomizeBuildOptions string
}

// Source is the files of one source at its resolved revision.
type Source struct {
	// Files is the whole repository at Revision.
	Files fs.FS
	// Revision is the commit SHA (ARGOCD_APP_REVISION).
	Revision string
}

// Input is everything one render reads; Render reads nothing else.
type Input struct {
	App *Application
	// Sources holds the files of each of App.Spec.AllSources(), in order.
	Sources  []Source
	Settings Settings
	// KubeVersion and APIVersions are what Argo CD tells Helm and
	// kustomize of the destination cluster; empty: Helm's defaults.
	KubeVersion string
	APIVersions []string
	// Scope says which kinds are namespaced. Unknown kinds count as
	// namespaced, as Argo CD's IsNamespacedOrUnknown counts them; nil
	// knows client-go's built-in kinds (offlinescope).
	Scope provenance.Scope
}

// Object is one rendered object.
type Object struct {
	// Object is the object as the agent applies it (tracking included).
	Object map[string]any
	// Source is the index of the Application's source that rendered it.
	Source int
	// Path is the file it came from within its repository, or the
	// source's path when the tool does not say (kustomize, Helm).
	Path string
	// Indeterminate lists JSON pointers of fields that differed between
	// two renders (a chart's random values, the clock); "" is the whole
	// object.
	Indeterminate []string
}

// Result is one render of an Application.
type Result struct {
	// Objects are what the application controller applies and keeps in
	// sync.
	Objects []Object
	// Hooks are the resource hooks it creates during a sync and deletes
	// by their policy: declared whole, as transient (argosync.Files).
	Hooks []Object
	// Ignore are spec.ignoreDifferences' JSON pointers and field
	// managers, resolved to the rendered objects they name: fields Argo
	// CD leaves to others.
	Ignore []provenance.IgnoreRule
	// Warnings name what Argo CD does that gitgate does not reproduce
	// but that fails nothing (jqPathExpressions, an empty manager name).
	Warnings []string
}

// Render renders in.App as Argo CD v3.6.2 would render it, source by
// source, and returns what the application controller applies. A panic
// of a tool fails the render, never the process.
func Render(ctx context.Context, in Input) (res *Result, err error) {
	app := in.App
	if app == nil {
		return nil, errors.New("render: no Application")
	}
	defer func() {
		if r := recover(); r != nil {
			res, err = nil, fmt.Errorf("recovered from a panic: %v", r)
		}
		if err != nil {
			err = fmt.Errorf("render Application %s/%s: %w", app.Namespace, app.Name, err)
		}
	}()
	if len(app.Spec.SourceHydrator) > 0 && string(app.Spec.SourceHydrator) != "null" {
		return nil, fmt.Errorf("sourceHydrator: %w", ErrUnsupported)
	}
	sources := app.Spec.AllSources()
	if len(sources) == 0 {
		return nil, errors.New("no source")
	}
	if len(in.Sources) != len(sources) {
		return nil, fmt.Errorf("%d sources, %d read", len(sources), len(in.Sources))
	}
	if in.Scope == nil {
		in.Scope = offlinescope.New(nil)
	}
	r := &run{in: in, sources: sources, appName: app.InstanceName(in.Settings.controllerNamespace())}
	var objs []Object
	for i := range sources {
		got, err := r.source(ctx, i)
		if err != nil {
			return nil, sourceErr(sources, i, err)
		}
		objs = append(objs, got...)
	}
	return r.finish(objs)
}

// sourceErr names the source of a multi-source Application, as Argo CD
// does ("source 2 of 3", or its name).
func sourceErr(sources []ApplicationSource, i int, err error) error {
	if len(sources) == 1 {
		return err
	}
	if n := sources[i].Name; n != "" {
		return fmt.Errorf("source %s: %w", n, err)
	}
	return fmt.Errorf("source %d of %d: %w", i+1, len(sources), err)
}

func (s Settings) controllerNamespace() string {
	if s.ControllerNamespace == "" {
		return "argocd"
	}
	return s.ControllerNamespace
}

// run is one render in progress.
type run struct {
	in      Input
	sources []ApplicationSource
	appName string
}

// source renders source i: nothing for a multi-source Application's
// source without path and chart (a ref source alone), as the repo server
// skips it.
func (r *run) source(ctx context.Context, i int) ([]Object, error) {
	src := r.sources[i]
	multi := r.in.App.Spec.HasMultipleSources()
	if multi && src.Path == "" && src.Chart == "" {
		return nil, nil
	}
	if err := supported(&src); err != nil {
		return nil, err
	}
	files := r.in.Sources[i].Files
	if files == nil {
		return nil, fmt.Errorf("source %s: no files", src.RepoURL)
	}
	typ, appPath, err := r.prepare(&src, files)
	if err != nil {
		return nil, err
	}
	e := newEnv(r.appName, r.in.App.Spec.Destination.Namespace, r.in.App.Spec.Project, r.in.Sources[i].Revision, &src)
	var objs []Object
	switch typ {
	case typeHelm:
		objs, err = r.helm(ctx, i, &src, appPath, e)
	case typeKustomize:
		objs, err = r.kustomize(&src, files, appPath, e)
	default:
		objs, err = directory(&src, files, appPath, e)
	}
	for j := range objs {
		objs[j].Source = i
		if src.Chart != "" {
			objs[j].Path = src.Chart
		}
	}
	return objs, err
}

// prepare finds the source's app path (a chart of a Helm repository is
// the whole of its files, always Helm), merges Argo CD's override files
// and returns the source type.
func (r *run) prepare(src *ApplicationSource, files fs.FS) (typ, appPath string, err error) {
	appPath = "."
	if src.Chart == "" {
		if appPath, err = appDir(files, src.Path); err != nil {
			return "", "", err
		}
	}
	if err := mergeSourceParameters(src, files, appPath, r.appName); err != nil {
		return "", "", fmt.Errorf("error while parsing source parameters: %w", err)
	}
	if err := supported(src); err != nil {
		return "", "", err
	}
	if src.Chart != "" {
		return typeHelm, appPath, nil
	}
	typ, err = sourceType(src, files, appPath)
	return typ, appPath, err
}

// supported refuses what gitgate cannot render from the source's Git
// repository alone.
func supported(src *ApplicationSource) error {
	switch {
	case len(src.Plugin) > 0 && string(src.Plugin) != "null":
		return fmt.Errorf("config management plugin: %w (its sidecar runs code gitgate cannot)", ErrUnsupported)
	case src.Chart == "" && strings.HasPrefix(src.RepoURL, "oci://"):
		return fmt.Errorf("OCI source %s: %w", src.RepoURL, ErrUnsupported)
	}
	return nil
}
