package fluxlocal

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// objKey names an object by group, kind, namespace and name.
type objKey struct{ group, kind, namespace, name string }

func (k objKey) String() string { return fmt.Sprintf("%s %s/%s", k.kind, k.namespace, k.name) }

// declared is one object a rendered root declares.
type declared struct {
	obj       map[string]any
	agentOnly bool
	// root declares it.
	root string
}

// pool is every object the rendered roots declare, the first declaration
// of each: what a later render reads in place of the cluster (the
// GitRepository, HelmRepository, OCIRepository and HelmChart objects,
// the ConfigMaps and Secrets of valuesFrom and substituteFrom).
type pool struct {
	byKey map[objKey]declared
	// all are the objects in the order they were declared, for the
	// offline scope (their CRDs).
	all []map[string]any
	// defaultNamespace places a namespaced object that names none.
	defaultNamespace string
}

func newPool(defaultNamespace string) *pool {
	return &pool{byKey: map[objKey]declared{}, defaultNamespace: defaultNamespace}
}

// keyOf names obj, placed in the default namespace when it names none.
func (p *pool) keyOf(obj map[string]any) objKey {
	apiVersion, _ := obj["apiVersion"].(string)
	kind, _ := obj["kind"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	ns, _ := meta["namespace"].(string)
	if ns == "" {
		ns = p.defaultNamespace
	}
	gv, _ := schema.ParseGroupVersion(apiVersion)
	return objKey{group: gv.Group, kind: kind, namespace: ns, name: name}
}

// add records the objects root declares; an object declared before
// keeps its first declaration.
func (p *pool) add(root string, objs []Object) {
	for _, o := range objs {
		k := p.keyOf(o.Object)
		p.all = append(p.all, o.Object)
		if _, seen := p.byKey[k]; !seen {
			p.byKey[k] = declared{obj: o.Object, agentOnly: o.AgentOnly, root: root}
		}
	}
}

// errNotDeclared: a render reads an object no rendered root declares.
var errNotDeclared = errors.New("declared by no rendered root")

// decode reads the object k into typed, checking its apiVersion is want:
// the object must be declared, and not AgentOnly.
func (p *pool) decode(k objKey, want string, typed any) error {
	d, ok := p.byKey[k]
	if !ok {
		return fmt.Errorf("%s: %w", k, errNotDeclared)
	}
	if d.agentOnly {
		return fmt.Errorf("%s: %w", k, errAgentOnly)
	}
	if got, _ := d.obj["apiVersion"].(string); got != want {
		return fmt.Errorf("%s: apiVersion %s: %w (only %s)", k, got, ErrUnsupported, want)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(d.obj, typed); err != nil {
		return fmt.Errorf("decode %s (declared by %s): %w", k, d.root, err)
	}
	return nil
}

// errAgentOnly: a render reads a Secret the agent decrypts (SOPS), whose
// values gitgate cannot know.
var errAgentOnly = errors.New("the agent decrypts it (SOPS), so its values are unknown offline")

// inputs is a client.Reader over the ConfigMaps and Secrets the pool
// holds, for valuesFrom and postBuild.substituteFrom, as the agent reads
// them from the cluster. A missing one is NotFound, so an optional
// reference is skipped as in Flux; missed records it. Its errors name the
// object and never a value.
type inputs struct {
	pool   *pool
	missed map[objKey]bool
}

func (r *inputs) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	var k objKey
	var res string
	switch obj.(type) {
	case *corev1.ConfigMap:
		k, res = objKey{kind: "ConfigMap", namespace: key.Namespace, name: key.Name}, "configmaps"
	case *corev1.Secret:
		k, res = objKey{kind: "Secret", namespace: key.Namespace, name: key.Name}, "secrets"
	default:
		return fmt.Errorf("read %T %s: %w", obj, key, ErrUnsupported)
	}
	if _, ok := r.pool.byKey[k]; !ok {
		r.missed[k] = true
		return apierrors.NewNotFound(schema.GroupResource{Resource: res}, key.Name)
	}
	if err := r.pool.decode(k, "v1", obj); err != nil {
		return err
	}
	if s, ok := obj.(*corev1.Secret); ok {
		mergeStringData(s)
	}
	return nil
}

func (r *inputs) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return fmt.Errorf("list: %w", ErrUnsupported)
}

// mergeStringData does what the API server does to a Secret it stores:
// stringData merged into data.
func mergeStringData(s *corev1.Secret) {
	if len(s.StringData) == 0 {
		return
	}
	if s.Data == nil {
		s.Data = map[string][]byte{}
	}
	for k, v := range s.StringData {
		s.Data[k] = []byte(v)
	}
	s.StringData = nil
}

// namespaced names a reference whose namespace defaults to def, as Flux
// defaults a sourceRef's.
func namespaced(ns, name, def string) types.NamespacedName {
	if ns == "" {
		ns = def
	}
	return types.NamespacedName{Namespace: ns, Name: name}
}
