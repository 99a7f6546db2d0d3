package helmrender

import (
	"context"
	"fmt"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	helmaction "helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	kubefake "helm.sh/helm/v4/pkg/kube/fake"
	release "helm.sh/helm/v4/pkg/release/v1"
	"helm.sh/helm/v4/pkg/storage"
	"helm.sh/helm/v4/pkg/storage/driver"
)

// pass is one render: the release's objects and hooks, before the
// namespace and Helm's metadata (plan.finish), and what it called.
type pass struct {
	objects, hooks []Object
	calls          *recorder
}

// run renders once with Helm's own install or upgrade action, as
// helm-controller configures it, in server dry-run against fakes: a
// printing client that applies nothing, a memory storage, the given
// Capabilities, no REST config (lookup finds nothing). The second run
// perturbs what the first found nondeterministic.
func (p *plan) run(ctx context.Context, second bool) (*pass, error) {
	var first *recorder
	if second {
		first = p.first
	}
	rec := newRecorder(first)
	cfg := helmaction.NewConfiguration()
	cfg.SetLogger(slog.DiscardHandler)
	cfg.KubeClient = &kubefake.PrintingKubeClient{}
	cfg.Capabilities = p.caps
	cfg.CustomTemplateFuncs = rec.funcs()
	mem := driver.NewMemory()
	mem.SetNamespace(p.ns)
	cfg.Releases = storage.Init(mem)
	c := instrument(cloneChart(p.in.Chart))
	rel, err := p.action(ctx, cfg, c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	if !second {
		p.first = rec
	}
	out := &pass{calls: rec}
	if out.objects, err = manifestObjects(rel.Manifest); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	if out.hooks, err = p.hookObjects(rel.Hooks); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRender, err)
	}
	return out, nil
}

// action runs the install (revision 1) or the upgrade (from a stored
// deployed release at Revision-1) that the target names.
func (p *plan) action(ctx context.Context, cfg *helmaction.Configuration, c *chart.Chart) (*release.Release, error) {
	hr := p.in.HelmRelease
	var rel any
	var err error
	if !p.in.Target.Upgrade {
		install := helmaction.NewInstall(cfg)
		install.DryRunStrategy = helmaction.DryRunServer
		install.ReleaseName, install.Namespace = p.name, p.ns
		install.SkipCRDs = true
		install.SkipSchemaValidation = hr.GetInstall().DisableSchemaValidation
		install.DisableHooks = hr.GetInstall().DisableHooks
		install.PostRenderer, install.PostRenderStrategy = postRenderers{hr: hr}, postRenderStrategy(hr)
		rel, err = install.RunWithContext(ctx, c, p.in.Values.Map)
	} else {
		if err := p.seed(cfg); err != nil {
			return nil, err
		}
		upgrade := helmaction.NewUpgrade(cfg)
		upgrade.DryRunStrategy = helmaction.DryRunServer
		upgrade.Namespace = p.ns
		upgrade.ResetValues = true
		upgrade.SkipSchemaValidation = hr.GetUpgrade().DisableSchemaValidation
		upgrade.DisableHooks = hr.GetUpgrade().DisableHooks
		upgrade.PostRenderer, upgrade.PostRenderStrategy = postRenderers{hr: hr}, postRenderStrategy(hr)
		rel, err = upgrade.RunWithContext(ctx, p.name, c, p.in.Values.Map)
	}
	if err != nil {
		return nil, err
	}
	r, ok := rel.(*release.Release)
	if !ok {
		return nil, fmt.Errorf("only the Chart API v2 is supported")
	}
	return r, nil
}

// seed stores the release an upgrade starts from: deployed, at the
// revision before the target's, in the release namespace.
func (p *plan) seed(cfg *helmaction.Configuration) error {
	rev := p.in.Target.Revision - 1
	if rev < 1 {
		return fmt.Errorf("upgrade to revision %d: %w", p.in.Target.Revision, ErrUnsupported)
	}
	return cfg.Releases.Create(&release.Release{
		Name:        p.name,
		Namespace:   p.ns,
		Version:     rev,
		Info:        &release.Info{Status: "deployed"},
		Chart:       &chart.Chart{Metadata: &chart.Metadata{Name: p.in.Chart.Metadata.Name}},
		ApplyMethod: "ssa",
	})
}

// postRenderStrategy is spec.postRenderStrategy, default combined (hooks
// go through the post-renderers with the manifests). helm-controller's
// UseHelm3Defaults feature gate, off by default, would make it nohooks.
func postRenderStrategy(hr *helmv2.HelmRelease) helmaction.PostRenderStrategy {
	if s := hr.GetPostRenderStrategy(); s != "" {
		return helmaction.PostRenderStrategy(s)
	}
	return helmaction.PostRenderStrategyCombined
}

// instrument starts every template file Helm renders as a document (not
// a partial, "_*") with {{ gitgateEnter "<file>" }}, which prints
// nothing, so lookup can be tied to the file that called it.
func instrument(c *chart.Chart) *chart.Chart {
	base := c.ChartFullPath()
	ts := make([]*common.File, len(c.Templates))
	for i, t := range c.Templates {
		ts[i] = t
		if strings.HasPrefix(path.Base(t.Name), "_") {
			continue
		}
		full := path.Join(base, t.Name)
		data := slices.Concat([]byte("{{ gitgateEnter "+strconv.Quote(full)+" }}"), t.Data)
		ts[i] = &common.File{Name: t.Name, Data: data, ModTime: t.ModTime}
	}
	c.Templates = ts
	for _, d := range c.Dependencies() {
		instrument(d)
	}
	return c
}
