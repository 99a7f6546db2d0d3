package fluxsync

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/go-git/go-git/v5/plumbing/object"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/provenance"
)

// kustomizationFiles are the names kustomize reads in a directory.
var kustomizationFiles = map[string]bool{"kustomization.yaml": true, "kustomization.yml": true, "Kustomization": true}

// inputsID identifies the files a Kustomization's render can read at
// tree: the tree under spec.path and the .sourceignore files above it, or
// the whole tree when a kustomization under spec.path names a path with
// "..". Two revisions with the same ID render the same.
func inputsID(tree *object.Tree, specPath string) (string, error) {
	dir := strings.Trim(path.Clean("/"+specPath), "/")
	sub := tree
	if dir != "" {
		var err error
		if sub, err = tree.Tree(dir); err != nil {
			// Render fails with its own clear error; the ID says why.
			return "missing:" + dir, nil
		}
	}
	climbs, err := climbsOut(sub)
	if err != nil {
		return "", err
	}
	if climbs {
		return "tree:" + tree.Hash.String(), nil
	}
	id := "dir:" + sub.Hash.String()
	for _, anc := range ancestors(dir) {
		if f, err := tree.File(path.Join(anc, ".sourceignore")); err == nil {
			id += "," + anc + ":" + f.Hash.String()
		}
	}
	return id, nil
}

// ancestors lists "." and each directory above dir.
func ancestors(dir string) []string {
	out := []string{"."}
	if dir == "" {
		return out
	}
	parts := strings.Split(dir, "/")
	for i := 1; i < len(parts); i++ {
		out = append(out, strings.Join(parts[:i], "/"))
	}
	return out
}

// climbsOut reports whether a kustomization file under sub mentions "..":
// then its inputs may lie anywhere in the source.
func climbsOut(sub *object.Tree) (bool, error) {
	found := false
	err := sub.Files().ForEach(func(f *object.File) error {
		if !kustomizationFiles[path.Base(f.Name)] {
			return nil
		}
		data, err := f.Contents()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		if strings.Contains(data, "..") {
			found = true
		}
		return nil
	})
	return found, err
}

// vars holds the substituteFrom ConfigMaps and Secrets of one
// Kustomization, read once per render decision, and serves them to
// fluxrender as a client.Reader.
type vars struct {
	objs map[string]client.Object
	// missing are the optional ones that do not exist.
	missing map[string]bool
}

// errMissingVars: a substituteFrom that is not optional does not exist;
// kustomize-controller fails the Kustomization the same way.
var errMissingVars = errors.New("substituteFrom not found")

func varsID(kind string, key types.NamespacedName) string { return kind + "/" + key.String() }

// readVars reads ks's substituteFrom objects through r, by name.
func readVars(ctx context.Context, r client.Reader, ks *kustomizev1.Kustomization) (*vars, error) {
	v := &vars{objs: map[string]client.Object{}, missing: map[string]bool{}}
	if ks.Spec.PostBuild == nil {
		return v, nil
	}
	for _, ref := range ks.Spec.PostBuild.SubstituteFrom {
		key := types.NamespacedName{Namespace: ks.Namespace, Name: ref.Name}
		var obj client.Object
		switch ref.Kind {
		case "ConfigMap":
			obj = &corev1.ConfigMap{}
		case "Secret":
			obj = &corev1.Secret{}
		default:
			return nil, fmt.Errorf("substituteFrom kind %q: %w", ref.Kind, ErrUnsupported)
		}
		err := r.Get(ctx, key, obj)
		switch {
		case apierrors.IsNotFound(err) && ref.Optional:
			v.missing[varsID(ref.Kind, key)] = true
		case apierrors.IsNotFound(err):
			return nil, fmt.Errorf("%w: %s %s", errMissingVars, ref.Kind, key)
		case err != nil:
			return nil, fmt.Errorf("read substituteFrom %s %s: %w", ref.Kind, key, err)
		default:
			v.objs[varsID(ref.Kind, key)] = obj
		}
	}
	return v, nil
}

// substituteFromField is where a Kustomization names its inputs.
const substituteFromField = "spec.postBuild.substituteFrom"

// inputsOf lists the ConfigMaps and Secrets ks's render reads, optional
// ones and those that do not exist included: creating, changing or
// deleting any of them changes what kustomize-controller applies.
func inputsOf(ks *kustomizev1.Kustomization) []provenance.Input {
	if ks.Spec.PostBuild == nil {
		return nil
	}
	var out []provenance.Input
	for _, ref := range ks.Spec.PostBuild.SubstituteFrom {
		out = append(out, provenance.Input{
			Key: provenance.Key{Kind: ref.Kind, Namespace: ks.Namespace, Name: ref.Name},
			Via: substituteFromField,
		})
	}
	return out
}

// setInputs hands the Composer rt's inputs when ks names others than
// before, whether or not its render succeeds.
func (w *Watcher) setInputs(rt *root, ks *kustomizev1.Kustomization) {
	in := inputsOf(ks)
	if rt.inputsSet && slices.Equal(rt.inputs, in) {
		return
	}
	rt.inputs, rt.inputsSet = in, true
	w.Composer.SetInputs(rt.Root, in)
}

// key digests the data read, so a change re-renders.
func (v *vars) key() string {
	data := map[string]any{}
	for id, o := range v.objs {
		switch o := o.(type) {
		case *corev1.ConfigMap:
			data[id] = o.Data
		case *corev1.Secret:
			data[id] = o.Data
		}
	}
	return hashOf(data)
}

// Get serves what readVars read; anything else is not found.
func (v *vars) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	kind := "ConfigMap"
	if _, ok := obj.(*corev1.Secret); ok {
		kind = "Secret"
	}
	got, ok := v.objs[varsID(kind, key)]
	if !ok {
		return apierrors.NewNotFound(corev1.Resource(strings.ToLower(kind)+"s"), key.Name)
	}
	switch dst := obj.(type) {
	case *corev1.ConfigMap:
		*dst = *got.(*corev1.ConfigMap).DeepCopy()
	case *corev1.Secret:
		*dst = *got.(*corev1.Secret).DeepCopy()
	default:
		return fmt.Errorf("substituteFrom: unexpected %T", obj)
	}
	return nil
}

// List is never called by fluxrender.
func (v *vars) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errors.New("substituteFrom: list is not supported")
}
