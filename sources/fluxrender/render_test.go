package fluxrender

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"testing/fstest"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	fluxkustomize "github.com/fluxcd/pkg/apis/kustomize"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"
)

// renderCase is one Kustomization over one source. Expected objects are
// what kustomize-controller v1.9.6 applies for the same input: its own
// tests (internal/controller/kustomization_*_test.go) and those of
// fluxcd/pkg/kustomize (kustomize_generator_test.go, testdata) give the
// values; the shape (creationTimestamp: null, owner labels, stringData
// moved to data) is its normalization before the server-side apply.
type renderCase struct {
	name  string
	files map[string]string
	spec  kustomizev1.KustomizationSpec
	vars  []client.Object
	// want is the YAML of every object, in kustomize's order.
	want string
	// agentOnly lists the names of the objects expected AgentOnly.
	agentOnly []string
	// wantErr, if set, is a part of the error; errIs an error it wraps.
	wantErr string
	errIs   error
}

// owner is the labels kustomize-controller adds to everything it applies
// for the Kustomization flux-system/apps.
const owner = `
    kustomize.toolkit.fluxcd.io/name: apps
    kustomize.toolkit.fluxcd.io/namespace: flux-system`

func configMapYAML(name, ns, data string) string {
	meta := "  name: " + name + "\n"
	if ns != "" {
		meta += "  namespace: " + ns + "\n"
	}
	return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n" + meta + "data:\n" + data + "\n"
}

func runRenderCases(t *testing.T, cases []renderCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := fstest.MapFS{}
			for p, body := range c.files {
				src[p] = &fstest.MapFile{Data: []byte(body)}
			}
			ks := &kustomizev1.Kustomization{
				ObjectMeta: metav1.ObjectMeta{Name: "apps", Namespace: "flux-system"},
				Spec:       c.spec,
			}
			var vars client.Reader = fake.NewClientBuilder().WithObjects(c.vars...).Build()
			got, err := Render(context.Background(), src, ks, vars)
			checkRender(t, c, got, err)
		})
	}
}

func checkRender(t *testing.T, c renderCase, got []Object, err error) {
	t.Helper()
	if c.wantErr != "" || c.errIs != nil {
		if err == nil {
			t.Fatalf("want error %q, got objects %s", c.wantErr, asJSON(t, got))
		}
		if !strings.Contains(err.Error(), c.wantErr) || (c.errIs != nil && !errors.Is(err, c.errIs)) {
			t.Fatalf("error %q: want one holding %q (and wrapping %v)", err, c.wantErr, c.errIs)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := parseYAML(t, c.want)
	objs := make([]any, 0, len(got))
	var agentOnly []string
	for _, o := range got {
		objs = append(objs, roundTrip(t, o.Object))
		if o.AgentOnly {
			agentOnly = append(agentOnly, o.Object["metadata"].(map[string]any)["name"].(string))
		}
	}
	sortObjects(objs)
	sortObjects(want)
	if !reflect.DeepEqual(objs, want) {
		t.Errorf("rendered:\n%s\nwant:\n%s", asJSON(t, objs), asJSON(t, want))
	}
	sort.Strings(agentOnly)
	sort.Strings(c.agentOnly)
	if !reflect.DeepEqual(agentOnly, c.agentOnly) {
		t.Errorf("agent-only objects %v, want %v", agentOnly, c.agentOnly)
	}
}

// sortObjects orders objects by kind, namespace and name: kustomize's
// output order is not what these tests are about.
func sortObjects(objs []any) {
	key := func(o any) string {
		m, _ := o.(map[string]any)
		meta, _ := m["metadata"].(map[string]any)
		return fmt.Sprint(m["kind"], "/", meta["namespace"], "/", meta["name"])
	}
	sort.Slice(objs, func(i, j int) bool { return key(objs[i]) < key(objs[j]) })
}

func parseYAML(t *testing.T, docs string) []any {
	t.Helper()
	out := []any{}
	for _, doc := range strings.Split(docs, "\n---\n") {
		if strings.TrimSpace(doc) == "" {
			continue
		}
		var v any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil {
			t.Fatalf("want YAML: %v\n%s", err, doc)
		}
		out = append(out, v)
	}
	return out
}

// roundTrip gives an object the types YAML decoding gives (float64 numbers).
func roundTrip(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func asJSON(t *testing.T, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func patch(p string, target *fluxkustomize.Selector) fluxkustomize.Patch {
	return fluxkustomize.Patch{Patch: p, Target: target}
}

func cmObject(name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "flux-system"}, Data: data}
}

func secretObject(name string, data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "flux-system"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}
