package helmrender

import (
	"bytes"
	"encoding/json"
	"sync"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/kustomize"
	"sigs.k8s.io/kustomize/api/builtins"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/provider"
	"sigs.k8s.io/kustomize/api/resmap"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// postRenderers is helm-controller's post-render chain
// (internal/postrender.BuildPostRenderers): each spec.postRenderers[]
// kustomize entry in order, then commonMetadata (labels, then
// annotations), then the helm.toolkit.fluxcd.io/name and /namespace
// labels last, so they win over a common label of the same key. Helm runs
// the chain over the whole stream (see spec.postRenderStrategy).
type postRenderers struct {
	hr *helmv2.HelmRelease
}

// Run is the Helm post-renderer: one stream of documents in, one out.
func (p postRenderers) Run(in *bytes.Buffer) (*bytes.Buffer, error) {
	out := in
	var err error
	for _, r := range p.hr.Spec.PostRenderers {
		if r.Kustomize == nil {
			continue
		}
		if out, err = kustomizeRun(out, r.Kustomize); err != nil {
			return nil, err
		}
	}
	if cm := p.hr.Spec.CommonMetadata; cm != nil {
		var ts []resmap.Transformer
		if cm.Labels != nil {
			ts = append(ts, labelTransformer(cm.Labels))
		}
		if cm.Annotations != nil {
			ts = append(ts, &builtins.AnnotationsTransformerPlugin{
				Annotations: cm.Annotations,
				FieldSpecs:  []kustypes.FieldSpec{{Path: "metadata/annotations", CreateIfNotPresent: true}},
			})
		}
		if len(ts) > 0 {
			if out, err = transform(out, ts...); err != nil {
				return nil, err
			}
		}
	}
	return transform(out, labelTransformer(originLabels(p.hr)))
}

// originLabels are the labels helm-controller puts on everything it
// applies: the HelmRelease's name and namespace.
func originLabels(hr *helmv2.HelmRelease) map[string]string {
	return map[string]string{
		helmv2.GroupVersion.Group + "/name":      hr.Name,
		helmv2.GroupVersion.Group + "/namespace": hr.Namespace,
	}
}

// labelTransformer sets labels on metadata.labels only: unlike
// kustomize's commonLabels, no selector or pod template.
func labelTransformer(labels map[string]string) resmap.Transformer {
	return &builtins.LabelTransformerPlugin{
		Labels:     labels,
		FieldSpecs: []kustypes.FieldSpec{{Path: "metadata/labels", CreateIfNotPresent: true}},
	}
}

func transform(in *bytes.Buffer, ts ...resmap.Transformer) (*bytes.Buffer, error) {
	factory := resmap.NewFactory(provider.NewDefaultDepProvider().GetResourceFactory())
	m, err := factory.NewResMapFromBytes(in.Bytes())
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		if err := t.Transform(m); err != nil {
			return nil, err
		}
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}

// kustomizeMu: kustomize builds are not safe to run concurrently
// (kubernetes-sigs/kustomize#3659); helm-controller serializes them too.
var kustomizeMu sync.Mutex

// kustomizeRun is one kustomize post-renderer: the stream as the only
// resource of an in-memory kustomization with the entry's images and
// patches, built with load restrictions off and built-in plugins only.
func kustomizeRun(in *bytes.Buffer, k *helmv2.Kustomize) (*bytes.Buffer, error) {
	fs := filesys.MakeFsInMemory()
	const input = "helm-output.yaml"
	cfg := kustypes.Kustomization{Resources: []string{input}}
	cfg.APIVersion, cfg.Kind = kustypes.KustomizationVersion, kustypes.KustomizationKind
	for _, img := range k.Images {
		cfg.Images = append(cfg.Images, kustypes.Image{Name: img.Name, NewName: img.NewName, NewTag: img.NewTag, Digest: img.Digest})
	}
	for _, p := range k.Patches {
		cfg.Patches = append(cfg.Patches, kustypes.Patch{Patch: p.Patch, Target: selector(p.Target)})
	}
	kfile, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	if err := fs.WriteFile(input, in.Bytes()); err != nil {
		return nil, err
	}
	if err := fs.WriteFile("kustomization.yaml", kfile); err != nil {
		return nil, err
	}
	kustomizeMu.Lock()
	defer kustomizeMu.Unlock()
	m, err := krusty.MakeKustomizer(&krusty.Options{
		LoadRestrictions: kustypes.LoadRestrictionsNone,
		PluginConfig:     kustypes.DisabledPluginConfig(),
	}).Run(fs, ".")
	if err != nil {
		return nil, err
	}
	out, err := m.AsYaml()
	if err != nil {
		return nil, err
	}
	return bytes.NewBuffer(out), nil
}

func selector(s *kustomize.Selector) *kustypes.Selector {
	if s == nil {
		return nil
	}
	out := &kustypes.Selector{LabelSelector: s.LabelSelector, AnnotationSelector: s.AnnotationSelector}
	out.Name, out.Namespace = s.Name, s.Namespace
	out.Gvk.Group, out.Gvk.Version, out.Gvk.Kind = s.Group, s.Version, s.Kind
	return out
}
