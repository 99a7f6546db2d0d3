package argorender

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	helmaction "helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/strvals"
	k8sversion "k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"

	"github.com/gitgate/gitgate/internal/fsdir"
)

// This file holds everything of Helm templating; chartrepo.go what a
// chart of a Helm repository or OCI registry needs.

// helm renders a Helm source as Argo CD's repo server runs `helm template
// <app path> --name-template <release> --namespace <ns> [--kube-version]
// [--set …] [--set-string …] [--set-file …] [--values …] [--api-versions
// …] [--include-crds] [--skip-schema-validation] [--skip-tests]`
// (reposerver/repository helmTemplate, util/helm cmd.go template), with
// Helm v4's own install action in client dry-run, as `helm template`
// runs it. Hooks stay in the output, as Argo CD reads them.
func (r *run) helm(ctx context.Context, i int, src *ApplicationSource, appPath string, e env) ([]Object, error) {
	opts, err := r.helmOptions(i, src, appPath, e)
	if err != nil {
		return nil, err
	}
	c, err := loadChart(r.in.Sources[i].Files, appPath)
	if err != nil {
		return nil, err
	}
	first, err := helmTemplate(ctx, c, opts)
	if err != nil {
		return nil, err
	}
	objs, err := splitManifests(first, appPath)
	if err != nil {
		return nil, err
	}
	if nondeterministic(c) {
		second, err := helmTemplate(ctx, c, opts)
		if err != nil {
			return nil, err
		}
		again, err := splitManifests(second, appPath)
		if err != nil {
			return nil, err
		}
		markIndeterminate(objs, again)
	}
	return objs, nil
}

// helmOpts are `helm template`'s arguments.
type helmOpts struct {
	name, namespace, kubeVersion string
	apiVersions                  []string
	values                       map[string]any
	skipCrds, skipTests, noValid bool
}

// helmOptions reads the arguments Argo CD passes: the release name (the
// app's name, or helm.releaseName), the namespace (helm.namespace,
// kustomize.namespace, then the destination's), the cluster's version and
// API versions unless the source gives its own, and the values: value
// files in order, values or valuesObject, then --set, --set-string and
// --set-file, in Helm's order.
func (r *run) helmOptions(i int, src *ApplicationSource, appPath string, e env) (*helmOpts, error) {
	h := src.Helm
	if h == nil {
		h = &ApplicationSourceHelm{}
	}
	if h.Version != "" && h.Version != "v3" && h.Version != "3" {
		return nil, fmt.Errorf("helm version %q: %w", h.Version, ErrUnsupported)
	}
	// The release is named by the app's name alone, never namespace_name
	// (argo.ParseInstanceName).
	o := &helmOpts{name: r.in.App.Name, skipCrds: h.SkipCrds, skipTests: h.SkipTests, noValid: h.SkipSchemaValidation}
	if h.ReleaseName != "" {
		o.name = h.ReleaseName
	}
	o.namespace = r.in.App.Spec.Destination.Namespace
	if src.Kustomize != nil && src.Kustomize.Namespace != "" {
		o.namespace = src.Kustomize.Namespace
	}
	if h.Namespace != "" {
		o.namespace = h.Namespace
	}
	kv := r.in.KubeVersion
	if h.KubeVersion != "" {
		kv = h.KubeVersion
	}
	if kv != "" {
		v, err := k8sversion.ParseGeneric(kv)
		if err != nil {
			return nil, fmt.Errorf("could not parse kubernetes version %s: %w", kv, err)
		}
		o.kubeVersion = v.String()
	}
	o.apiVersions = r.in.APIVersions
	if len(h.APIVersions) > 0 {
		o.apiVersions = h.APIVersions
	}
	vals, err := r.helmValues(i, h, appPath, e)
	if err != nil {
		return nil, err
	}
	o.values = vals
	return o, nil
}

// helmValues merges the values as Helm's MergeValues does with Argo CD's
// arguments.
func (r *run) helmValues(i int, h *ApplicationSourceHelm, appPath string, e env) (map[string]any, error) {
	files := r.in.Sources[i].Files
	base := map[string]any{}
	merge := func(name string, data []byte) error {
		m, err := loader.LoadValues(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("failed to parse %s: %w", name, err)
		}
		base = loader.MergeMaps(base, m)
		return nil
	}
	for _, vf := range h.ValueFiles {
		data, name, err := r.valueFile(files, appPath, vf, e)
		if err != nil {
			if os.IsNotExist(err) && h.IgnoreMissingValueFiles {
				continue
			}
			return nil, fmt.Errorf("error resolving helm value files: %w", err)
		}
		if err := merge(name, data); err != nil {
			return nil, err
		}
	}
	if extra := valuesYAML(h); len(extra) > 0 {
		if err := merge("<temp file with values from source.helm.values/valuesObject>", extra); err != nil {
			return nil, err
		}
	}
	if err := setParameters(base, h.Parameters, e); err != nil {
		return nil, err
	}
	return base, r.setFiles(base, files, appPath, h.FileParameters, e)
}

// valuesYAML is helm.valuesObject as YAML, else helm.values.
func valuesYAML(h *ApplicationSourceHelm) []byte {
	if len(h.ValuesObject) > 0 && string(h.ValuesObject) != "null" {
		b, err := yaml.JSONToYAML(h.ValuesObject)
		if err != nil {
			return nil
		}
		return b
	}
	return []byte(h.Values)
}

// setParameters applies helm.parameters: --set, then --set-string for
// forceString, each value expanded from the build environment and its
// commas escaped unless it is a {list} (util/helm cleanSetParameters).
// Argo CD passes them from a map, so the last of one name wins.
func setParameters(base map[string]any, params []HelmParameter, e env) error {
	set, setString := map[string]string{}, map[string]string{}
	for _, p := range params {
		if p.ForceString {
			setString[p.Name] = p.Value
		} else {
			set[p.Name] = p.Value
		}
	}
	for _, kv := range sortedArgs(set, e) {
		if err := strvals.ParseInto(kv, base); err != nil {
			return fmt.Errorf("failed parsing --set data: %w", err)
		}
	}
	for _, kv := range sortedArgs(setString, e) {
		if err := strvals.ParseIntoString(kv, base); err != nil {
			return fmt.Errorf("failed parsing --set-string data: %w", err)
		}
	}
	return nil
}

func sortedArgs(m map[string]string, e env) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+cleanSetParameter(e.subst(v)))
	}
	sort.Strings(out)
	return out
}

// cleanSetParameter escapes commas not already escaped, unless the value
// is a {list}.
func cleanSetParameter(v string) string {
	if strings.HasPrefix(v, "{") && strings.HasSuffix(v, "}") {
		return v
	}
	var b strings.Builder
	var prev rune
	for _, c := range v {
		if c == ',' && prev != '\\' {
			b.WriteString(`\,`)
		} else {
			b.WriteRune(c)
		}
		prev = c
	}
	return b.String()
}

// setFiles applies helm.fileParameters (--set-file).
func (r *run) setFiles(base map[string]any, files fs.FS, appPath string, params []HelmFileParameter, e env) error {
	for _, p := range params {
		data, _, err := r.valueFile(files, appPath, p.Path, e)
		if err != nil {
			return fmt.Errorf("error resolving helm value file path: %w", err)
		}
		reader := func([]rune) (any, error) { return string(data), nil }
		if err := strvals.ParseIntoFile(p.Name+"=file", base, reader); err != nil {
			return fmt.Errorf("failed parsing --set-file data: %w", err)
		}
	}
	return nil
}

// valueFile reads a value file: relative to the app's folder, absolute
// from the repository's root, "$<ref>/…" from the root of the source with
// that ref (multiple sources). A URL, a glob or a path out of the
// repository fails.
func (r *run) valueFile(files fs.FS, appPath, raw string, e env) ([]byte, string, error) {
	dir := appPath
	p := raw
	if ref, rest, ok := strings.Cut(raw, "/"); ok && strings.HasPrefix(raw, "$") && r.in.App.Spec.HasMultipleSources() {
		k := r.refSource(ref)
		if k < 0 {
			return nil, "", fmt.Errorf("source referenced %q, which is not one of the available sources", ref)
		}
		files, dir, p = r.in.Sources[k].Files, ".", "/"+rest
	}
	p = e.subst(p)
	switch {
	case strings.Contains(p, "://"):
		return nil, "", fmt.Errorf("remote value file %s: %w", raw, ErrUnsupported)
	case strings.ContainsAny(p, "*?["):
		return nil, "", fmt.Errorf("value file glob %s: %w", raw, ErrUnsupported)
	}
	full := path.Join(dir, p)
	if path.IsAbs(p) {
		full = path.Clean(strings.TrimPrefix(p, "/"))
	}
	if full == ".." || strings.HasPrefix(full, "../") {
		return nil, "", fmt.Errorf("value file %s resolved to outside repository root", raw)
	}
	data, err := fs.ReadFile(files, full)
	return data, full, err
}

// refSource is the index of the source whose ref is ref without its "$".
func (r *run) refSource(ref string) int {
	for k, s := range r.sources {
		if s.Ref != "" && "$"+s.Ref == ref {
			if s.Chart != "" {
				return -1
			}
			return k
		}
	}
	return -1
}

// loadChart loads the chart at appPath with Helm's own directory loader
// (.helmignore, charts/), from a copy of the repository on disk, and adds
// what `helm dependency build` would add for file:// dependencies that
// charts/ lacks. A dependency of a chart repository fails.
func loadChart(files fs.FS, appPath string) (*chart.Chart, error) {
	root, err := os.MkdirTemp("", "gitgate-argohelm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(root)
	if err := fsdir.Write(files, root); err != nil {
		return nil, err
	}
	dir := filepath.Join(root, filepath.FromSlash(appPath))
	c, err := loader.Load(dir)
	if err != nil {
		return nil, err
	}
	if err := localDependencies(c, root, dir); err != nil {
		return nil, err
	}
	return c, nil
}

// localDependencies adds each missing dependency of c with a file://
// repository inside the repository copy at root.
func localDependencies(c *chart.Chart, root, dir string) error {
	if c.Metadata == nil {
		return nil
	}
	have := map[string]bool{}
	for _, d := range c.Dependencies() {
		have[d.Name()] = true
	}
	for _, d := range c.Metadata.Dependencies {
		if have[d.Name] {
			continue
		}
		repo, ok := strings.CutPrefix(d.Repository, "file://")
		if !ok {
			return fmt.Errorf("chart dependency %s from %q is not in charts/ (helm dependency build would fetch it): %w", d.Name, d.Repository, ErrUnsupported)
		}
		p := filepath.Join(dir, repo)
		if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("chart dependency %s: %s is outside the repository", d.Name, d.Repository)
		}
		sub, err := loader.Load(p)
		if err != nil {
			return fmt.Errorf("chart dependency %s: %w", d.Name, err)
		}
		c.AddDependency(sub)
	}
	return nil
}

// helmTemplate runs Helm's install action as `helm template` does and
// returns its output: the manifest, then the hooks (tests left out with
// skipTests).
func helmTemplate(ctx context.Context, c *chart.Chart, o *helmOpts) ([]byte, error) {
	cfg := helmaction.NewConfiguration()
	cfg.SetLogger(slog.DiscardHandler)
	install := helmaction.NewInstall(cfg)
	install.DryRunStrategy = helmaction.DryRunClient
	install.ReleaseName, install.Namespace, install.Replace = o.name, o.namespace, true
	install.IncludeCRDs = !o.skipCrds
	install.SkipSchemaValidation = o.noValid
	install.APIVersions = common.VersionSet(o.apiVersions)
	if o.kubeVersion != "" {
		kv, err := common.ParseKubeVersion(o.kubeVersion)
		if err != nil {
			return nil, fmt.Errorf("invalid kube version '%s': %w", o.kubeVersion, err)
		}
		install.KubeVersion = kv
	}
	res, err := install.RunWithContext(ctx, c, o.values)
	if err != nil {
		return nil, fmt.Errorf("failed to execute helm template command: %w", err)
	}
	rel, ok := res.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("chart API version: %w", ErrUnsupported)
	}
	var out bytes.Buffer
	fmt.Fprintln(&out, strings.TrimSpace(rel.Manifest))
	for _, h := range rel.Hooks {
		if o.skipTests && slices.Contains(h.Events, release.HookTest) {
			continue
		}
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", h.Path, h.Manifest)
	}
	return out.Bytes(), nil
}

// splitManifests reads `helm template`'s output as Argo CD's
// kube.SplitYAML: each non-empty document one object with a kind.
func splitManifests(data []byte, appPath string) ([]Object, error) {
	objs, err := splitYAML(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		out = append(out, Object{Object: o, Path: appPath})
	}
	return out, nil
}
