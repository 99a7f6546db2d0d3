package matching

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/sources/render"
	"github.com/gitgate/gitgate/test/harness"
)

// manifest is one object of the corpus as Git declares it.
type manifest struct {
	file string
	obj  map[string]any
}

func (m manifest) u() *unstructured.Unstructured { return &unstructured.Unstructured{Object: m.obj} }

func (m manifest) String() string {
	u := m.u()
	return fmt.Sprintf("%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
}

func loadCorpus(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(env.corpus, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("corpus: %v (%d files)", err, len(files))
	}
	sort.Strings(files)
	var out []manifest
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		objs, err := render.ParseManifests(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, o := range objs {
			out = append(out, manifest{file: f, obj: o})
		}
	}
	return out
}

// outcome of sending one change as a person.
type outcome int

const (
	allowed  outcome = iota
	denied           // by gitgate
	rejected         // by the API server's own validation, which runs before admission webhooks
	failed           // anything else, e.g. the webhook could not be called
)

func classify(err error) (outcome, string) {
	switch {
	case err == nil:
		return allowed, ""
	case strings.Contains(err.Error(), `admission webhook "validate.gitgate.dev" denied the request`):
		return denied, err.Error()
	case strings.Contains(err.Error(), "webhook"):
		// "failed calling webhook": gitgate could not be asked at all.
		return failed, err.Error()
	case apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) || apierrors.IsInternalError(err):
		// Validation, or RBAC's escalation check on a roleRef it
		// cannot resolve.
		return rejected, err.Error()
	default:
		return failed, err.Error()
	}
}

// tally counts outcomes for the summary line.
type tally struct {
	objects, kinds, mutations, denied, rejected int
	falseDenials, falseAllows                   []string
}

func (s *tally) line() string {
	return fmt.Sprintf("matching summary: objects=%d kinds=%d mutations=%d denied-by-gitgate=%d rejected-by-apiserver=%d false-denials=%d false-allows=%d",
		s.objects, s.kinds, s.mutations, s.denied, s.rejected, len(s.falseDenials), len(s.falseAllows))
}

// TestCorpus runs the whole corpus through real defaulting. Its steps share
// the cluster, so they run in order inside one test.
func TestCorpus(t *testing.T) {
	ctx := context.Background()
	corpus := loadCorpus(t)
	kinds := map[string]bool{}
	for _, m := range corpus {
		kinds[m.u().GetKind()] = true
	}
	sum := &tally{objects: len(corpus), kinds: len(kinds)}
	if sum.objects < 40 || sum.kinds < 20 {
		t.Fatalf("corpus has %d objects of %d kinds, want at least 40 of 20", sum.objects, sum.kinds)
	}
	defer func() { t.Log(sum.line()); fmt.Println(sum.line()) }()

	agentApplies(t)

	t.Run("identical re-apply by a person is allowed", func(t *testing.T) {
		k := env.stack.Kubectl
		for _, args := range [][]string{
			{"apply", "--as", harness.Person, "-f", env.corpus},
			{"apply", "--server-side", "--force-conflicts", "--dry-run=server", "--as", harness.Person, "-f", env.corpus},
		} {
			if r := k.Run("", args...); r.Failed() {
				sum.falseDenials = append(sum.falseDenials, r.CommandLine())
				t.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
			}
		}
		for _, m := range corpus {
			live := get(ctx, t, m)
			if o, msg := classify(env.person.Update(ctx, live, client.DryRunAll)); o != allowed {
				sum.falseDenials = append(sum.falseDenials, m.String())
				t.Errorf("no-op update of %s: %s", m, msg)
			}
		}
	})

	t.Run("strict: every declared field changed by a person is denied", func(t *testing.T) {
		mutateEveryLeaf(ctx, t, corpus, sum)
	})
	t.Run("strict: additions outside Git are denied", func(t *testing.T) {
		additions(ctx, t, corpus, denied, sum)
	})

	t.Run("strict: kubectl scale is checked against Git's replicas", func(t *testing.T) {
		scale(t, "web", "5", denied)  // Git declares 3
		scale(t, "web", "3", allowed) // what Git declares
		scale(t, "api", "4", denied)  // Git declares no replicas: strict protects the default
		statusPatches(t)
	})

	switchToDeclaredMode(t)

	t.Run("declared: every declared field changed by a person is still denied", func(t *testing.T) {
		mutateEveryLeaf(ctx, t, corpus, sum)
	})
	t.Run("declared: additions outside Git are allowed", func(t *testing.T) {
		additions(ctx, t, corpus, allowed, sum)
	})
	t.Run("declared: selectors compare exactly", func(t *testing.T) {
		// A label with an empty value added to a selector is a change
		// even where other undeclared fields are free: the NetworkPolicy
		// would select nothing, the Service and the PDB no Pod.
		for _, p := range []struct{ obj, patch string }{
			{"networkpolicy/web-from-ingress", `{"spec":{"podSelector":{"matchLabels":{"nobody":""}}}}`},
			{"service/web", `{"spec":{"selector":{"nobody":""}}}`},
			{"poddisruptionbudget/web", `{"spec":{"selector":{"matchLabels":{"nobody":""}}}}`},
		} {
			r := env.stack.Kubectl.Run("", "patch", p.obj, "-n", "corpus", "--type", "merge", "-p", p.patch, "--as", harness.Person)
			if got, _ := classify(fmt.Errorf("%s", r.Stderr)); !r.Failed() || got != denied {
				t.Errorf("%s: want denied by gitgate, got %v\n%s%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
			}
		}
	})
	t.Run("declared: kubectl scale", func(t *testing.T) {
		scale(t, "web", "5", denied) // still declared in Git
		// The agent puts back what Git leaves to the API server, so the
		// strict step above finds api unscaled when the test runs again.
		before := env.stack.Kubectl.Run("", "get", "deployment/api", "-n", "corpus", "-o", "jsonpath={.spec.replicas}")
		if before.Failed() {
			t.Fatalf("%s: %v\n%s", before.CommandLine(), before.Err, before.Stderr)
		}
		t.Cleanup(func() {
			if r := env.stack.Kubectl.Run("", "scale", "deployment/api", "-n", "corpus", "--replicas", before.Stdout, "--as", harness.Agent); r.Failed() {
				t.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
			}
		})
		scale(t, "api", "4", allowed)
	})

	if len(sum.falseAllows) > 0 {
		t.Errorf("false allows:\n  %s", strings.Join(sum.falseAllows, "\n  "))
	}
	// Mutations of immutable or enumerated fields (a CRD's group, a
	// StorageClass's provisioner, a Pod's spec) never reach admission: the
	// API server refuses them first. The rest must have been gitgate's.
	if sum.denied < sum.mutations/2 {
		t.Errorf("only %d of %d mutations reached gitgate and were denied; the corpus mostly tests the API server's validation", sum.denied, sum.mutations)
	}
}

// scale runs kubectl scale on a Deployment in the corpus namespace, as a
// person, for real (not a dry run).
func scale(t *testing.T, name, replicas string, want outcome) {
	t.Helper()
	r := env.stack.Kubectl.Run("", "scale", "deployment/"+name, "-n", "corpus", "--replicas", replicas, "--as", harness.Person)
	got := allowed
	if r.Failed() {
		got, _ = classify(fmt.Errorf("%s", r.Stderr))
	}
	if got != want {
		t.Errorf("%s: outcome %d, want %d\n%s%s", r.CommandLine(), got, want, r.Stdout, r.Stderr)
	}
}

// statusPatches: a person's status write to an object Git declares is
// denied (status-write), since status is the controllers' to write; a
// controller's status write passes.
func statusPatches(t *testing.T) {
	t.Helper()
	patch := func(as string) harness.Result {
		return env.stack.Kubectl.Run("", "patch", "deployment/web", "-n", "corpus", "--subresource", "status", "--type", "merge",
			"-p", `{"status":{"observedGeneration":1}}`, "--as", as)
	}
	r := patch(harness.Person)
	if got, _ := classify(fmt.Errorf("%s", r.Stderr)); !r.Failed() || got != denied || !strings.Contains(r.Stderr, "(status)") {
		t.Errorf("%s: want gitgate's denial of the status write, got %v\n%s%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
	}
	if r := patch(harness.ExemptController); r.Failed() {
		t.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
}

func agentApplies(t *testing.T) {
	t.Helper()
	k := env.stack.Kubectl
	files, _ := filepath.Glob(filepath.Join(env.corpus, "*.yaml"))
	sort.Strings(files)
	for _, f := range files {
		if r := k.Run("", "apply", "--as", harness.Agent, "-f", f); r.Failed() {
			t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
		if strings.HasSuffix(f, "01-crd.yaml") {
			if r := k.Run("", "wait", "--for", "condition=established", "--timeout", "60s", "crd/caches.example.com"); r.Failed() {
				t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
			}
		}
	}
}

func get(ctx context.Context, t *testing.T, m manifest) *unstructured.Unstructured {
	t.Helper()
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(m.u().GroupVersionKind())
	if err := env.admin.Get(ctx, client.ObjectKey{Namespace: m.u().GetNamespace(), Name: m.u().GetName()}, live); err != nil {
		t.Fatalf("get %s: %v", m, err)
	}
	return live
}

// mutateEveryLeaf changes each scalar Git declares, one at a time, in the
// live object and sends it as a person (server-side dry run).
func mutateEveryLeaf(ctx context.Context, t *testing.T, corpus []manifest, sum *tally) {
	for _, m := range corpus {
		live := get(ctx, t, m)
		for _, leaf := range leaves(m.obj, nil) {
			if skipLeaf(leaf) {
				continue
			}
			target, path := liveTarget(m, leaf)
			obj := runtime.DeepCopyJSON(live.Object)
			cur, ok := getPath(obj, path)
			if !ok {
				continue // the API server dropped it (a zero value); nothing to change
			}
			setPath(obj, path, mutate(cur, target))
			sum.mutations++
			out, msg := classify(env.person.Update(ctx, &unstructured.Unstructured{Object: obj}, client.DryRunAll))
			switch out {
			case denied:
				sum.denied++
			case rejected:
				sum.rejected++
				if os.Getenv("MATCHING_DEBUG") != "" {
					fmt.Printf("REJ %s %s: %.150s\n", m, pathString(path), msg)
				}
			case failed:
				t.Errorf("changing %s of %s: unexpected error: %s", pathString(path), m, msg)
			case allowed:
				sum.falseAllows = append(sum.falseAllows, fmt.Sprintf("%s %s", m, pathString(path)))
				t.Errorf("changing %s of %s was allowed", pathString(path), m)
			}
		}
	}
}

// additions adds what Git does not declare: a label and an annotation on
// every object, an env var and a container in workloads whose pod template
// may change.
func additions(ctx context.Context, t *testing.T, corpus []manifest, want outcome, sum *tally) {
	for _, m := range corpus {
		type change struct {
			what string
			fn   func(map[string]any) bool
		}
		changes := []change{
			{"label", func(o map[string]any) bool {
				return setPath(o, []any{"metadata", "labels", "added-by-hand"}, "yes")
			}},
			{"annotation", func(o map[string]any) bool {
				return setPath(o, []any{"metadata", "annotations", "example.com/added-by-hand"}, "yes")
			}},
		}
		if tmpl := podTemplatePath(m.u().GetKind()); tmpl != nil {
			containers := append(append([]any{}, tmpl...), "spec", "containers")
			changes = append(changes,
				change{"env var", func(o map[string]any) bool {
					cs, ok := getPath(o, containers)
					if !ok {
						return false
					}
					c := cs.([]any)[0].(map[string]any)
					env, _ := c["env"].([]any)
					c["env"] = append(env, map[string]any{"name": "ADDED_BY_HAND", "value": "1"})
					return true
				}},
				change{"container", func(o map[string]any) bool {
					cs, ok := getPath(o, containers)
					if !ok {
						return false
					}
					return setPath(o, containers, append(cs.([]any), map[string]any{"name": "sidecar-by-hand", "image": "busybox:1.36"}))
				}})
		}
		for _, c := range changes {
			live := get(ctx, t, m)
			if !c.fn(live.Object) {
				t.Fatalf("could not add %s to %s", c.what, m)
			}
			out, msg := classify(env.person.Update(ctx, live, client.DryRunAll))
			if out != want {
				names := []string{"allowed", "denied", "rejected by the API server", "failed"}
				t.Errorf("adding %s to %s: %s, want %s: %s", c.what, m, names[out], names[want], msg)
				if out == allowed {
					sum.falseAllows = append(sum.falseAllows, fmt.Sprintf("%s +%s", m, c.what))
				}
			}
		}
	}
}

// podTemplatePath is where a kind keeps a pod template whose containers may
// change; Pods and Jobs refuse such updates themselves.
func podTemplatePath(kind string) []any {
	switch kind {
	case "Deployment", "StatefulSet", "DaemonSet":
		return []any{"spec", "template"}
	case "CronJob":
		return []any{"spec", "jobTemplate", "spec", "template"}
	}
	return nil
}

// switchToDeclaredMode registers a second gitgate, with --fields declared,
// as the webhook until the test ends; then the shared one answers again.
func switchToDeclaredMode(t *testing.T) {
	t.Helper()
	env.stack.SwapGitgate(t, "--fields", "declared")
}

// leaves lists the paths to every scalar in a manifest; list elements are
// addressed by position.
func leaves(v any, prefix []any) [][]any {
	switch x := v.(type) {
	case map[string]any:
		var out [][]any
		for k, e := range x {
			out = append(out, leaves(e, append(append([]any{}, prefix...), k))...)
		}
		return out
	case []any:
		var out [][]any
		for i, e := range x {
			out = append(out, leaves(e, append(append([]any{}, prefix...), i))...)
		}
		return out
	case nil:
		return nil
	default:
		return [][]any{prefix}
	}
}

// skipLeaf leaves out what names the object itself: changing it addresses
// another object, not this one.
func skipLeaf(p []any) bool {
	if len(p) == 1 && (p[0] == "apiVersion" || p[0] == "kind") {
		return true
	}
	return len(p) == 2 && p[0] == "metadata" && (p[1] == "name" || p[1] == "namespace")
}

// liveTarget maps a Git path to the live object's: the API server stores a
// Secret's stringData as base64 data.
func liveTarget(m manifest, p []any) (kind string, path []any) {
	u := m.u()
	if u.GetKind() == "Secret" && len(p) == 2 && (p[0] == "stringData" || p[0] == "data") {
		return "base64", []any{"data", p[1]}
	}
	if u.GetKind() == "ConfigMap" && p[0] == "binaryData" {
		return "base64", p
	}
	return "", p
}

func mutate(v any, kind string) any {
	switch x := v.(type) {
	case bool:
		return !x
	case float64:
		return x + 1
	case int64:
		return x + 1
	case string:
		if kind == "base64" {
			raw, _ := base64.StdEncoding.DecodeString(x)
			return base64.StdEncoding.EncodeToString(append(raw, 'x'))
		}
		if q, err := resource.ParseQuantity(x); err == nil && !strings.HasSuffix(x, "%") {
			q.Add(resource.MustParse("1"))
			return q.String()
		}
		return x + "x"
	}
	return v
}

func getPath(o any, p []any) (any, bool) {
	for _, s := range p {
		switch k := s.(type) {
		case string:
			m, ok := o.(map[string]any)
			if !ok {
				return nil, false
			}
			if o, ok = m[k]; !ok {
				return nil, false
			}
		case int:
			l, ok := o.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			o = l[k]
		}
	}
	return o, o != nil
}

func setPath(o map[string]any, p []any, v any) bool {
	parent, ok := getPathOrCreate(o, p[:len(p)-1])
	if !ok {
		return false
	}
	switch k := p[len(p)-1].(type) {
	case string:
		parent.(map[string]any)[k] = v
	case int:
		parent.([]any)[k] = v
	}
	return true
}

func getPathOrCreate(o map[string]any, p []any) (any, bool) {
	var cur any = o
	for _, s := range p {
		switch k := s.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				return nil, false
			}
			next, ok := m[k]
			if !ok || next == nil {
				next = map[string]any{}
				m[k] = next
			}
			cur = next
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				return nil, false
			}
			cur = l[k]
		}
	}
	return cur, true
}

func pathString(p []any) string {
	var b strings.Builder
	for _, s := range p {
		switch k := s.(type) {
		case string:
			b.WriteString("." + k)
		case int:
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return b.String()
}
