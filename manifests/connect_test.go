package manifests_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gitgate/gitgate/test/harness"
	"github.com/gitgate/gitgate/webhook"
)

// connectSubresources are what kubectl exec, attach and port-forward
// send, as CONNECT.
var connectSubresources = []string{"exec", "attach", "portforward"}

// TestConnectReachesGitgate: the shipped webhook and the chart's (default
// and full values) register CONNECT of pods/exec, attach and portforward,
// and their matchConditions send people's and controllers' CONNECTs to
// gitgate and keep the exempt identities' and agents' away, exactly as
// gitgate judges them (an unsynced gitgate with no Pod reader refuses
// every CONNECT it judges).
func TestConnectReachesGitgate(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("base", "webhook.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("manifests", func(t *testing.T) {
		cfg := decodeWebhook(t, base)
		checkConnectRule(t, cfg)
		proveConnect(t, compileMatchConditions(t, cfg), unsyncedHandler(webhook.DefaultIdentities(), webhook.DefaultSkip()), identities)
	})
	for name, values := range map[string][]string{
		"chart, default values": nil,
		"chart, full values":    {filepath.Join(harness.ChartDir(), "ci", "full-values.yaml")},
	} {
		t.Run(name, func(t *testing.T) {
			m, err := harness.RenderChart("gitgate-system", values...)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := json.Marshal(m.Find("ValidatingWebhookConfiguration", "gitgate").Object)
			if err != nil {
				t.Fatal(err)
			}
			cfg := decodeWebhook(t, raw)
			checkConnectRule(t, cfg)
			ids, skip := flagsOf(t, m.Find("Deployment", "gitgate"))
			proveConnect(t, compileMatchConditions(t, cfg), unsyncedHandler(ids, skip), append(slices.Clone(identities), customIdentities...))
		})
	}
}

// checkConnectRule: a rule sends CONNECT of each Pod subresource in the
// core group, namespaced.
func checkConnectRule(t *testing.T, cfg *admissionregistrationv1.ValidatingWebhookConfiguration) {
	t.Helper()
	for _, sub := range connectSubresources {
		found := false
		for _, r := range cfg.Webhooks[0].Rules {
			if slices.Contains(r.Operations, admissionregistrationv1.Connect) && slices.Contains(r.APIGroups, "") &&
				slices.Contains(r.Resources, "pods/"+sub) && (r.Scope == nil || *r.Scope != admissionregistrationv1.ClusterScope) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no rule sends CONNECT of pods/%s", cfg.Name, sub)
		}
	}
}

// proveConnect evaluates the matchConditions on a CONNECT of each
// identity, and fails where they disagree with gitgate.
func proveConnect(t *testing.T, conditions matchConditions, h *webhook.Handler, ids []identity) {
	t.Helper()
	called := map[webhook.Class]int{}
	for _, id := range ids {
		class, _ := h.Identities.Classify(authenticationv1.UserInfo{Username: id.user, Groups: id.groups})
		for _, sub := range connectSubresources {
			for _, pod := range []struct{ ns, name string }{{"shop", "web"}, {"flux-system", "kustomize-controller-5f7d"}} {
				req := admissionRequest(id, "", "v1", "pods", sub, pod.ns, pod.name)
				req.Operation = admissionv1.Connect
				req.Kind.Kind = "PodExecOptions"
				req.Object = runtime.RawExtension{Raw: []byte(`{"apiVersion":"v1","kind":"PodExecOptions","stdin":true,"command":["sh"]}`)}
				celCalls := conditions.call(t, req)
				goJudges := !h.Handle(context.Background(), req).Allowed
				if celCalls != goJudges {
					t.Errorf("%s %v: CONNECT pods/%s %s/%s: matchConditions call gitgate = %v, gitgate judges it = %v",
						id.user, id.groups, sub, pod.ns, pod.name, celCalls, goJudges)
				}
				if celCalls {
					called[class]++
				}
			}
		}
	}
	if called[webhook.Person] == 0 || called[webhook.Controller] == 0 || called[webhook.Exempt] != 0 || called[webhook.Agent] != 0 {
		t.Errorf("CONNECTs sent to gitgate by class = %v; want persons' and controllers', never exempt identities' or agents'", called)
	}
}

// TestGitgateMayGetPods: gitgate's ClusterRole lets it get a Pod by name,
// to learn whom it runs as, and nothing more on Pods: not list or watch
// (no cache of every Pod), no subresource (exec, log).
func TestGitgateMayGetPods(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("base", "rbac.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := harness.DecodeManifests(data)
	if err != nil {
		t.Fatal(err)
	}
	role := objs.Find("ClusterRole", "gitgate")
	if role == nil {
		t.Fatal("base/rbac.yaml: no ClusterRole gitgate")
	}
	var verbs []string
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		rule := r.(map[string]any)
		resources, _, _ := unstructured.NestedStringSlice(rule, "resources")
		for _, res := range resources {
			if res == "pods" || res == "*" || len(res) > 5 && res[:5] == "pods/" {
				v, _, _ := unstructured.NestedStringSlice(rule, "verbs")
				verbs = append(verbs, fmt.Sprintf("%s:%v", res, v))
			}
		}
	}
	if want := []string{"pods:[get]"}; !slices.Equal(verbs, want) {
		t.Errorf("ClusterRole gitgate on pods: %v, want %v", verbs, want)
	}
}
