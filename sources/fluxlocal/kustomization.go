package fluxlocal

import (
	"context"
	"fmt"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gitgate/gitgate/sources/fluxrender"
)

// notReverted is why gitgate declares none of an object Flux leaves
// alone once it exists.
const notReverted = "Flux leaves it alone once it exists: kustomize.toolkit.fluxcd.io/reconcile disabled, or kustomize.toolkit.fluxcd.io/ssa Ignore or IfNotPresent"

// renderKustomization renders a Kustomization root from DIR with
// fluxrender, as kustomize-controller v1.9.6 would.
func (w *walker) renderKustomization(ctx context.Context, rt *Root) ([]Object, error) {
	ks := &kustomizev1.Kustomization{}
	if err := decodeAs(rt.obj, kustomizev1.GroupVersion.String(), ks); err != nil {
		return nil, err
	}
	ks.Namespace = rt.Namespace
	rt.Path = ks.Spec.Path
	if ks.Spec.KubeConfig != nil {
		return nil, skipError("it applies to another cluster (spec.kubeConfig)")
	}
	ref := ks.Spec.SourceRef
	src := namespaced(ref.Namespace, ref.Name, ks.Namespace)
	rt.Source = fmt.Sprintf("%s %s", ref.Kind, src)
	if ref.Kind != sourcev1.GitRepositoryKind {
		return nil, fmt.Errorf("sourceRef %s: %w: only a GitRepository is read, from --local", rt.Source, ErrUnsupported)
	}
	files, err := w.sourceFiles(src)
	if err != nil {
		return nil, err
	}
	rt.HideValues = fluxrender.SubstitutesSecrets(ks)
	rendered, err := fluxrender.Render(ctx, files, ks, &inputs{pool: w.pool, missed: rt.missed})
	if err != nil {
		return nil, err
	}
	objs := make([]Object, len(rendered))
	for i, o := range rendered {
		objs[i] = Object{Object: o.Object, AgentOnly: o.AgentOnly}
		if fluxrender.NeverReverted(o.Object) {
			objs[i].NotEnforced = notReverted
		}
	}
	return objs, nil
}

// decodeAs decodes a Flux object of apiVersion want into typed; another
// version is refused rather than read with fields it may lack or name
// otherwise.
func decodeAs(obj map[string]any, want string, typed any) error {
	kind, _ := obj["kind"].(string)
	if got, _ := obj["apiVersion"].(string); got != want {
		return fmt.Errorf("%s apiVersion %s: %w (only %s)", kind, got, ErrUnsupported, want)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, typed); err != nil {
		return fmt.Errorf("decode %s: %w", kind, err)
	}
	return nil
}
