package cluster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/test/harness"
)

// rolloutTimeout bounds a rollout on kwok's fast stages: the controllers,
// the scheduler and kwok each act within a second or two, but the machine
// may be busy.
const rolloutTimeout = 2 * time.Minute

// fleet is every Deployment the fixture declares.
var fleet = []types.NamespacedName{
	{Namespace: "shop", Name: "web"},
	{Namespace: "shop", Name: "old-web"},
	{Namespace: "batch", Name: "worker"},
}

func mustRun(t *testing.T, args ...string) harness.Result {
	t.Helper()
	r := env.kubectl.Run("", args...)
	if r.Failed() {
		t.Fatalf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	return r
}

// wantDenied checks that gitgate, not the API server, refused r, and that
// the denial carries each of want.
func wantDenied(t *testing.T, r harness.Result, want ...string) {
	t.Helper()
	harness.WantDenied(t, r, want...)
}

// clusterLogs is the tail of each cluster component's output.
func clusterLogs() string {
	c := env.stack.Cluster
	var b strings.Builder
	for _, p := range []*harness.Process{c.ControllerManager, c.Scheduler, c.Kwok} {
		fmt.Fprintf(&b, "--- %s (last 30 lines) ---\n%s\n", p.Name, harness.Tail(p.Logs(), 30))
	}
	return b.String()
}

// bg is the context of the tests' reads: the API server is on loopback,
// and `go test -timeout` bounds a hang.
var bg = context.Background()

// eventually polls cond every 200ms until it holds, and fails the test
// with what cond last said, and the tail of the cluster's logs, otherwise.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s; last: %s\n%s", what, timeout, state, clusterLogs())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// applyFleet brings the cluster to Git's state as the agent does (kubectl
// apply as kustomize-controller) and waits until every Deployment rolled
// out.
func applyFleet(t *testing.T) {
	t.Helper()
	for _, ns := range []string{"shop", "batch"} {
		waitNamespaceGone(t, ns, true)
	}
	mustRun(t, "apply", "--as", agent, "-f", env.fixture)
	for _, d := range fleet {
		waitRolledOut(t, d.Namespace, d.Name)
	}
}

// waitNamespaceGone waits until ns is gone; with onlyIfTerminating, only
// when it is being deleted (a test before pruned it).
func waitNamespaceGone(t *testing.T, ns string, onlyIfTerminating bool) {
	t.Helper()
	eventually(t, rolloutTimeout, "namespace "+ns+" gone", func() (bool, string) {
		var n corev1.Namespace
		err := env.stack.ControlPlane.Client.Get(bg, client.ObjectKey{Name: ns}, &n)
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if err != nil {
			return false, err.Error()
		}
		if onlyIfTerminating && n.DeletionTimestamp == nil {
			return true, ""
		}
		return false, fmt.Sprintf("phase %s, conditions %v", n.Status.Phase, n.Status.Conditions)
	})
}

// waitRolledOut waits until the deployment controller, the scheduler and
// kwok have brought every replica of the Deployment up: all updated, all
// Ready and available, no old one left.
func waitRolledOut(t *testing.T, ns, name string) *appsv1.Deployment {
	t.Helper()
	var d appsv1.Deployment
	eventually(t, rolloutTimeout, "Deployment "+ns+"/"+name+" rolled out", func() (bool, string) {
		if err := env.stack.ControlPlane.Client.Get(bg, client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
			return false, err.Error()
		}
		want := int32(1)
		if d.Spec.Replicas != nil {
			want = *d.Spec.Replicas
		}
		s := d.Status
		done := s.ObservedGeneration >= d.Generation && s.Replicas == want && s.UpdatedReplicas == want &&
			s.ReadyReplicas == want && s.AvailableReplicas == want
		return done, fmt.Sprintf("generation %d, status %+v", d.Generation, s)
	})
	return &d
}

// replicaSetsOf lists the ReplicaSets whose controller is d.
func replicaSetsOf(t *testing.T, d *appsv1.Deployment) []appsv1.ReplicaSet {
	t.Helper()
	var list appsv1.ReplicaSetList
	if err := env.stack.ControlPlane.Client.List(bg, &list, client.InNamespace(d.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []appsv1.ReplicaSet
	for _, rs := range list.Items {
		if ref := metav1.GetControllerOf(&rs); ref != nil && ref.UID == d.UID {
			out = append(out, rs)
		}
	}
	return out
}

// podsOf lists the Pods whose controller is rs.
func podsOf(t *testing.T, rs *appsv1.ReplicaSet) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.stack.ControlPlane.Client.List(bg, &list, client.InNamespace(rs.Namespace)); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if ref := metav1.GetControllerOf(&p); ref != nil && ref.UID == rs.UID {
			out = append(out, p)
		}
	}
	return out
}

// podsWithLabel lists the Pods of ns labelled app=app, terminating ones
// included.
func podsWithLabel(t *testing.T, ns, app string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := env.stack.ControlPlane.Client.List(bg, &list, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
		t.Fatal(err)
	}
	return list.Items
}

// wantRunningOnKwok checks that kwok runs pod: scheduled to one of the
// cluster's fake Nodes, Running and Ready, with an IP.
func wantRunningOnKwok(t *testing.T, p corev1.Pod) {
	t.Helper()
	if !slices.Contains(env.stack.Cluster.Nodes, p.Spec.NodeName) {
		t.Errorf("Pod %s/%s is on node %q, want one of kwok's %v", p.Namespace, p.Name, p.Spec.NodeName, env.stack.Cluster.Nodes)
	}
	if p.Status.Phase != corev1.PodRunning || !podReady(p) || p.Status.PodIP == "" {
		t.Errorf("Pod %s/%s: phase %s, ready %v, IP %q; want Running, Ready, an IP", p.Namespace, p.Name, p.Status.Phase, podReady(p), p.Status.PodIP)
	}
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// commit changes the fixture's repository and waits until gitgate enforces
// the new revision.
func commit(t *testing.T, c harness.Change) {
	t.Helper()
	hash, err := env.stack.Git.Commit(c)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`gitgate_git_revision_info{revision="main@sha1:%s"} 1`, hash)
	eventually(t, 30*time.Second, "gitgate loads "+hash, func() (bool, string) {
		m, err := env.stack.Gitgate.Metrics()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(m, want), "no " + want
	})
}
