package webhook

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gitgate/gitgate/provenance"
)

// Whose token an object hands out, part of judge's stage: the service
// account a workload's Pods run as, the one a token Secret is for, and
// those whose token Secrets its Pods reference by name (a volume, a
// projected volume, an env var or envFrom), whatever the Pods run as.
// Whose token a Secret holds is read from the API server (Secrets), only
// where it could matter: a namespace whose service accounts may be of a
// class that makes the caller's refusal hard.

// Secrets says whose token a Secret holds. server's implementation GETs
// the Secret's metadata alone, uncached, by name: its data never reaches
// gitgate.
type Secrets interface {
	// TokenOf returns the service account the Secret's
	// kubernetes.io/service-account.name annotation names ("" when it
	// has none: the API server requires it of every token Secret), and
	// found false when no Secret has that name.
	TokenOf(ctx context.Context, namespace, name string) (sa string, found bool, err error)
}

// holder is a service account whose token an object would hand out.
type holder struct {
	namespace, sa string
	class         Class
	// secret is the token Secret of sa that the object's Pods reference
	// by name; "" when they run as sa, or the object is its token Secret.
	secret string
}

// String names the holder for a refusal.
func (o holder) String() string {
	if o.secret == "" {
		return fmt.Sprintf("service account %s/%s", o.namespace, o.sa)
	}
	return fmt.Sprintf("service account %s/%s, whose token Secret %s its Pods reference by name", o.namespace, o.sa, o.secret)
}

// holderOf is the service account of the highest class whose token the
// object of preq would hand out: the one it runs as (or a token Secret
// is for), and those whose token Secrets its Pods reference by name. The
// Secrets are looked up only while no holder of class least (from which
// the caller's refusal is hard) is known, when the request puts something
// new in the Pods (runsAnew) and when the namespace may hold a service
// account of that class: ordinary Pods cost no lookup. A Secret gitgate
// cannot read is errSecretUnknown (fail closed).
func (h *Handler) holderOf(ctx context.Context, preq *provenance.Request, least Class) (holder, error) {
	snap := h.snapshot()
	best := holder{namespace: preq.Namespace, class: Person}
	if sa := runsAs(preq); sa != "" {
		best.sa, best.class = sa, h.accountClass(snap, preq.Namespace, sa)
	}
	if rank(best.class) >= rank(least) {
		return best, nil
	}
	refs := secretRefs(preq.Group, preq.Kind, preq.Object)
	if len(refs) == 0 || !h.Identities.mayHold(preq.Namespace, least) && !rootAgentIn(snap, preq.Namespace) || !runsAnew(preq) {
		return best, nil
	}
	// All lookups share podLookupTimeout, within --decision-timeout, on
	// the wall clock (the API server's).
	timeout := podLookupTimeout
	if h.DecisionTimeout > 0 {
		timeout = min(timeout, h.DecisionTimeout)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, name := range refs {
		sa, err := h.tokenOf(ctx, preq, name)
		if err != nil {
			return best, err
		}
		if c := h.accountClass(snap, preq.Namespace, sa); sa != "" && rank(c) > rank(best.class) {
			best = holder{namespace: preq.Namespace, sa: sa, class: c, secret: name}
		}
	}
	return best, nil
}

// tokenOf names the service account whose token Secret name holds. A Secret that does not
// exist holds no token yet, but one created later under its name would
// reach the waiting Pod: a name that a token Secret of service account
// SA would have (SA-token, SA-token-*) counts as SA's.
func (h *Handler) tokenOf(ctx context.Context, preq *provenance.Request, name string) (string, error) {
	if h.Secrets == nil {
		return "", fmt.Errorf("%w %s/%s: %w", errSecretUnknown, preq.Namespace, name, errNoSecretReader)
	}
	sa, found, err := h.Secrets.TokenOf(ctx, preq.Namespace, name)
	switch {
	case err != nil:
		return "", fmt.Errorf("%w %s/%s: %w", errSecretUnknown, preq.Namespace, name, err)
	case !found:
		return tokenNameOwner(name), nil
	}
	return sa, nil
}

// tokenNameOwner is the service account a token Secret called name would
// be for by the usual naming (SA-token, SA-token-xxxxx), or "".
func tokenNameOwner(name string) string {
	i := strings.LastIndex(name, "-token")
	if i <= 0 {
		return ""
	}
	if rest := name[i+len("-token"):]; rest != "" && !strings.HasPrefix(rest, "-") {
		return ""
	}
	return name[:i]
}

// secretRefs lists, sorted and once each, the Secrets the Pod spec of a
// workload references by name: secret volumes, projected volumes'
// secret sources, and every container's env secretKeyRef and envFrom
// secretRef (ephemeral and init containers included). imagePullSecrets
// reach the kubelet only, never a container. Nil, allocating nothing,
// when there is none: it runs on every refusal of a workload.
func secretRefs(group, kind string, obj map[string]any) []string {
	path, ok := podSpecAt[kind]
	if !ok || (group != "" && group != "apps" && group != "batch") {
		return nil
	}
	spec, _ := at(obj, path).(map[string]any)
	var refs []string
	volumes, _ := spec["volumes"].([]any)
	for _, v := range volumes {
		refs = appendName(refs, at(asObject(v), []string{"secret", "secretName"}))
		sources, _ := at(asObject(v), []string{"projected", "sources"}).([]any)
		for _, src := range sources {
			refs = appendName(refs, at(asObject(src), []string{"secret", "name"}))
		}
	}
	for _, list := range [...]string{"containers", "initContainers", "ephemeralContainers"} {
		containers, _ := spec[list].([]any)
		for _, c := range containers {
			env, _ := asObject(c)["env"].([]any)
			for _, e := range env {
				refs = appendName(refs, at(asObject(e), []string{"valueFrom", "secretKeyRef", "name"}))
			}
			envFrom, _ := asObject(c)["envFrom"].([]any)
			for _, e := range envFrom {
				refs = appendName(refs, at(asObject(e), []string{"secretRef", "name"}))
			}
		}
	}
	slices.Sort(refs)
	return slices.Compact(refs)
}

// appendName appends v to names when it is a name.
func appendName(names []string, v any) []string {
	if name, _ := v.(string); name != "" {
		return append(names, name)
	}
	return names
}

// asObject is v as a decoded object, or nil.
func asObject(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// runsAs names the service account a request's object would hand its
// token to (see serviceAccountOf).
func runsAs(preq *provenance.Request) string {
	return serviceAccountOf(preq.Group, preq.Kind, preq.Object)
}

// serviceAccountOf names the service account an object would hand its
// token to: the one a workload's Pods run as, or the one a
// service-account-token Secret is for; "" for anything else.
func serviceAccountOf(group, kind string, obj map[string]any) string {
	if group == "" && kind == "Secret" {
		if t, _ := obj["type"].(string); t != "kubernetes.io/service-account-token" {
			return ""
		}
		meta, _ := obj["metadata"].(map[string]any)
		ann, _ := meta["annotations"].(map[string]any)
		name, _ := ann["kubernetes.io/service-account.name"].(string)
		return name
	}
	path, ok := podSpecAt[kind]
	if !ok || (group != "" && group != "apps" && group != "batch") {
		return ""
	}
	spec, _ := at(obj, path).(map[string]any)
	for _, f := range []string{"serviceAccountName", "serviceAccount"} {
		if name, _ := spec[f].(string); name != "" {
			return name
		}
	}
	return "default"
}

// handsToken reports a kind whose objects can hand a service account's
// token out (serviceAccountOf): a Secret, or a workload.
func handsToken(group, kind string) bool {
	_, workload := podSpecAt[kind]
	return group == "" && kind == "Secret" || workload && (group == "" || group == "apps" || group == "batch")
}

// podSpecAt gives, per workload kind, where its Pod spec lives.
var podSpecAt = map[string][]string{
	"Pod":                   {"spec"},
	"Deployment":            {"spec", "template", "spec"},
	"StatefulSet":           {"spec", "template", "spec"},
	"DaemonSet":             {"spec", "template", "spec"},
	"ReplicaSet":            {"spec", "template", "spec"},
	"ReplicationController": {"spec", "template", "spec"},
	"Job":                   {"spec", "template", "spec"},
	"CronJob":               {"spec", "jobTemplate", "spec", "template", "spec"},
}

// runsAnew reports whether a request puts something new under the service
// account its object runs as: a create, a changed Pod template (an image,
// a command, a debug container: whatever runs, runs with the token), or
// a token Secret moved to another service account.
func runsAnew(preq *provenance.Request) bool {
	if preq.Operation == provenance.Create || preq.OldObject == nil {
		return true
	}
	path, ok := podSpecAt[preq.Kind]
	if !ok {
		return serviceAccountOf(preq.Group, preq.Kind, preq.OldObject) != serviceAccountOf(preq.Group, preq.Kind, preq.Object)
	}
	if len(path) > 1 {
		// The whole Pod template: its annotations too (a mutating
		// injector reads them, and runs code in the Pod with the token),
		// all but the stamp of a rollout restart.
		path = path[:len(path)-1]
		return !equalJSON(restartless(at(preq.OldObject, path)), restartless(at(preq.Object, path)))
	}
	return !equalJSON(at(preq.OldObject, path), at(preq.Object, path))
}

// restartStamp is what kubectl rollout restart stamps on a Pod
// template: a restart, not a change of what runs.
const restartStamp = "kubectl.kubernetes.io/restartedAt"

// restartless is a Pod template without restartStamp, and without an
// annotations map left empty (a shallow copy where either was there).
func restartless(tmpl any) any {
	t, _ := tmpl.(map[string]any)
	meta, _ := t["metadata"].(map[string]any)
	ann, _ := meta["annotations"].(map[string]any)
	if _, ok := ann[restartStamp]; !ok && len(ann) > 0 || meta == nil || ann == nil && meta["annotations"] == nil {
		return tmpl
	}
	ann2 := make(map[string]any, len(ann))
	for k, v := range ann {
		if k != restartStamp {
			ann2[k] = v
		}
	}
	meta2 := make(map[string]any, len(meta))
	for k, v := range meta {
		meta2[k] = v
	}
	meta2["annotations"] = ann2
	if len(ann2) == 0 {
		// As if the template never had annotations: kubectl adds the map
		// for the stamp alone.
		delete(meta2, "annotations")
	}
	t2 := make(map[string]any, len(t))
	for k, v := range t {
		t2[k] = v
	}
	t2["metadata"] = meta2
	return t2
}
