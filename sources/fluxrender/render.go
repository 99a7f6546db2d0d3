package fluxrender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	generator "github.com/fluxcd/pkg/kustomize"
	"github.com/fluxcd/pkg/ssa/normalize"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/resource"

	"github.com/gitgate/gitgate/internal/fsdir"
)

// Object is one object as kustomize-controller would apply it.
type Object struct {
	// Object is the object, decoded from JSON (numbers are int64 or
	// float64). For an AgentOnly object it holds apiVersion, kind and
	// metadata (name, namespace, labels, annotations) only.
	Object map[string]any
	// AgentOnly: the agent decrypts this object's values (the Kustomization
	// has spec.decryption), so gitgate cannot know them; only the agent may
	// write it. Its data was dropped.
	AgentOnly bool
}

// ErrNoPath: spec.path names nothing in the source.
var ErrNoPath = errors.New("kustomization path not found")

// Render builds ks from src, the source artifact's files at one revision
// (after Ignore), as kustomize-controller v1.9.6 does, and returns the
// objects it would apply. vars reads the ConfigMaps and Secrets of
// spec.postBuild.substituteFrom in ks's namespace; it may be nil when there
// are none. Fields that do not change what is applied (dependsOn, suspend,
// wait, interval, prune, timeout, healthChecks) are not read.
func Render(ctx context.Context, src fs.FS, ks *kustomizev1.Kustomization, vars client.Reader) (objs []Object, err error) {
	if ks == nil {
		return nil, errors.New("render: no Kustomization")
	}
	// Flux's build recovers kustomize's panics; its substitution and YAML
	// handling do not. Bad input must fail the render, not the process.
	defer func() {
		if r := recover(); r != nil {
			objs, err = nil, fmt.Errorf("render Kustomization %s/%s: recovered from a panic: %v", ks.Namespace, ks.Name, r)
		}
	}()
	objs, err = render(ctx, src, ks, vars)
	if err != nil {
		return nil, fmt.Errorf("render Kustomization %s/%s: %w", ks.Namespace, ks.Name, err)
	}
	return objs, nil
}

func render(ctx context.Context, src fs.FS, ks *kustomizev1.Kustomization, vars client.Reader) ([]Object, error) {
	root, err := os.MkdirTemp("", "gitgate-fluxrender-")
	if err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	defer os.RemoveAll(root)
	// The secure filesystem compares real paths (Flux's MkdirTempAbs).
	if root, err = filepath.EvalSymlinks(root); err != nil {
		return nil, fmt.Errorf("create work folder: %w", err)
	}
	objs, err := build(ctx, src, root, ks, vars)
	if err != nil {
		return nil, inSource{root: root, err: err}
	}
	return objs, nil
}

// build renders ks from src, written out under root.
func build(ctx context.Context, src fs.FS, root string, ks *kustomizev1.Kustomization, vars client.Reader) ([]Object, error) {
	if err := fsdir.Write(src, root); err != nil {
		return nil, err
	}
	// As kustomize-controller: a path that climbs out stays in the root.
	dirPath, err := securejoin.SecureJoin(root, ks.Spec.Path)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(dirPath); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: %q", ErrNoPath, ks.Spec.Path)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(ks)
	if err != nil {
		return nil, err
	}
	kobj := unstructured.Unstructured{Object: u}
	if _, err := generator.NewGenerator(root, kobj).WriteFile(dirPath); err != nil {
		return nil, fmt.Errorf("generate kustomization.yaml: %w", err)
	}
	if err := checkLocal(root, dirPath); err != nil {
		return nil, err
	}
	m, err := generator.SecureBuild(root, dirPath, false)
	if err != nil {
		return nil, fmt.Errorf("kustomize build failed: %w", err)
	}
	agentOnly, err := postBuild(ctx, m, ks, kobj, vars)
	if err != nil {
		return nil, err
	}
	return beforeApply(m, ks, agentOnly)
}

// postBuild does what kustomize-controller's build does to each resource
// after kustomize: the conformance check, decryption (here: reducing the
// objects the agent decrypts to their identity) and variable substitution.
// It returns the identities of the AgentOnly objects.
func postBuild(ctx context.Context, m resmap.ResMap, ks *kustomizev1.Kustomization, kobj unstructured.Unstructured, vars client.Reader) (map[string]bool, error) {
	agentOnly := map[string]bool{}
	c := newVarsClient(vars)
	for _, res := range m.Resources() {
		if res.GetName() == "" || res.GetKind() == "" || res.GetApiVersion() == "" {
			// Flux prints the whole resource here; it may be a Secret.
			return nil, fmt.Errorf("failed to decode Kubernetes apiVersion, kind and name from %s", res.CurId())
		}
		decrypted := decryptedByAgent(ks, res)
		if decrypted {
			if err := reduceToIdentity(res); err != nil {
				return nil, err
			}
		}
		if ks.Spec.PostBuild != nil {
			always := ks.GetSubstituteStrategy() == kustomizev1.SubstituteStrategyAlways
			// Strict substitution is a kustomize-controller feature gate, off
			// by default: an unset variable without default becomes "".
			if _, err := generator.SubstituteVariables(ctx, c, kobj, res,
				generator.SubstituteWithStrict(false), generator.SubstituteWithAlways(always)); err != nil {
				return nil, fmt.Errorf("post build failed for '%s/%s': %w", res.GetGvk(), res.GetName(), err)
			}
		}
		if decrypted {
			agentOnly[resourceKey(res)] = true
		}
	}
	return agentOnly, nil
}

// beforeApply does what kustomize-controller does between the build and
// the server-side apply: read the objects (dropping kustomize configs),
// normalize them, add commonMetadata and the owner labels.
func beforeApply(m resmap.ResMap, ks *kustomizev1.Kustomization, agentOnly map[string]bool) ([]Object, error) {
	data, err := m.AsYaml()
	if err != nil {
		return nil, fmt.Errorf("kustomize build failed: %w", err)
	}
	objs, err := ssautil.ReadObjects(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if err := normalize.UnstructuredList(objs); err != nil {
		return nil, err
	}
	if cm := ks.Spec.CommonMetadata; cm != nil {
		ssautil.SetCommonMetadata(objs, cm.Labels, cm.Annotations)
	}
	out := make([]Object, 0, len(objs))
	for _, o := range objs {
		setOwnerLabels(o, ks)
		out = append(out, Object{Object: o.Object, AgentOnly: agentOnly[objectKey(o)]})
	}
	return out, nil
}

// setOwnerLabels adds the labels kustomize-controller's resource manager
// sets on everything it applies (ssa.ResourceManager.SetOwnerLabels with
// the kustomize.toolkit.fluxcd.io group).
func setOwnerLabels(o *unstructured.Unstructured, ks *kustomizev1.Kustomization) {
	labels := o.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[kustomizev1.GroupVersion.Group+"/name"] = ks.Name
	labels[kustomizev1.GroupVersion.Group+"/namespace"] = ks.Namespace
	o.SetLabels(labels)
}

func resourceKey(r *resource.Resource) string {
	return r.GetApiVersion() + "/" + r.GetKind() + "/" + r.GetNamespace() + "/" + r.GetName()
}

func objectKey(o *unstructured.Unstructured) string {
	return o.GetAPIVersion() + "/" + o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
}

// inSource is an error of a render whose message names paths relative to
// the source rather than to the temporary folder it was written to.
type inSource struct {
	root string
	err  error
}

func (e inSource) Error() string {
	msg := strings.ReplaceAll(e.err.Error(), e.root+string(filepath.Separator), "")
	return strings.ReplaceAll(msg, e.root, ".")
}

func (e inSource) Unwrap() error { return e.err }
