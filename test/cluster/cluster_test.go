package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/gitgate/gitgate/test/harness"
)

// TestAgentAppliedDeploymentRollsOut: what the agent applies, the
// deployment controller turns into a ReplicaSet, the ReplicaSet controller
// into Pods, the scheduler binds them to kwok's Nodes and kwok reports
// them Running and Ready, each as its own identity, with gitgate in front.
func TestAgentAppliedDeploymentRollsOut(t *testing.T) {
	noSystemRefusals(t)
	since := time.Now()
	existed := env.stack.ControlPlane.Client.Get(bg, client.ObjectKey{Namespace: "shop", Name: "web"}, &appsv1.Deployment{}) == nil
	applyFleet(t)
	d := waitRolledOut(t, "shop", "web")
	rs := currentReplicaSet(t, d)
	pods := podsOf(t, rs)
	if len(pods) != 2 {
		t.Fatalf("ReplicaSet %s has %d Pods, want 2", rs.Name, len(pods))
	}
	for _, p := range pods {
		wantRunningOnKwok(t, p)
		// The ServiceAccount admission plugin ran, as in a kubeadm
		// cluster: the Pod runs as the default ServiceAccount, which the
		// service account controller created, with its token mounted.
		if p.Spec.ServiceAccountName != "default" || !slices.ContainsFunc(p.Spec.Volumes, func(v corev1.Volume) bool {
			return strings.HasPrefix(v.Name, "kube-api-access-") && v.Projected != nil
		}) {
			t.Errorf("Pod %s: service account %q, volumes %v; want default's token mounted by the ServiceAccount admission plugin", p.Name, p.Spec.ServiceAccountName, p.Spec.Volumes)
		}
	}
	if !existed {
		// The agent created the Deployment just now (this test runs first,
		// or alone): the log shows who made each step.
		wantActed(t, since, "system:serviceaccount:kube-system:deployment-controller", []string{"create"}, "replicasets", "", "shop", "")
		wantActed(t, since, "system:serviceaccount:kube-system:replicaset-controller", []string{"create"}, "pods", "", "shop", "")
	}
	wantActed(t, time.Time{}, harness.SchedulerUser, []string{"create"}, "pods", "binding", "shop", pods[0].Name)
	wantActed(t, time.Time{}, harness.KwokUser, []string{"patch", "update"}, "pods", "status", "shop", pods[0].Name)
}

// currentReplicaSet is d's one ReplicaSet that has replicas: its current
// revision once rolled out.
func currentReplicaSet(t *testing.T, d *appsv1.Deployment) *appsv1.ReplicaSet {
	t.Helper()
	var current []appsv1.ReplicaSet
	for _, rs := range replicaSetsOf(t, d) {
		if rs.Spec.Replicas == nil || *rs.Spec.Replicas > 0 {
			current = append(current, rs)
		}
	}
	if len(current) != 1 {
		t.Fatalf("Deployment %s/%s has %d ReplicaSets with replicas, want 1: %v", d.Namespace, d.Name, len(current), current)
	}
	return &current[0]
}

// TestPersonRolloutRestartRollsOut: kubectl rollout restart only stamps
// the Pod template's restartedAt, which gitgate leaves to anyone; the
// deployment controller then rolls out a new ReplicaSet.
func TestPersonRolloutRestartRollsOut(t *testing.T) {
	noSystemRefusals(t)
	applyFleet(t)
	before := currentReplicaSet(t, waitRolledOut(t, "shop", "web"))
	r := env.kubectl.Run("", "rollout", "restart", "deployment/web", "-n", "shop", "--as", person)
	if r.Failed() {
		t.Fatalf("%s: want allowed, got %v\n%s", r.CommandLine(), r.Err, r.Stderr)
	}
	var d *appsv1.Deployment
	eventually(t, rolloutTimeout, "a new ReplicaSet rolled out", func() (bool, string) {
		d = waitRolledOut(t, "shop", "web")
		after := replicaSetsOf(t, d)
		for _, rs := range after {
			if rs.UID != before.UID && rs.Spec.Replicas != nil && *rs.Spec.Replicas == 2 && rs.Status.ReadyReplicas == 2 {
				return true, ""
			}
		}
		return false, "ReplicaSets " + rsSummary(after)
	})
	if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Errorf("the Pod template has no restartedAt after kubectl rollout restart: %v", d.Spec.Template.Annotations)
	}
	rs := currentReplicaSet(t, d)
	for _, p := range podsOf(t, rs) {
		wantRunningOnKwok(t, p)
	}
	eventually(t, rolloutTimeout, "the old ReplicaSet's Pods gone", func() (bool, string) {
		n := len(podsOf(t, before))
		return n == 0, strings.Repeat("pod ", n)
	})
}

func rsSummary(list []appsv1.ReplicaSet) string {
	var b strings.Builder
	for _, rs := range list {
		want := int32(-1)
		if rs.Spec.Replicas != nil {
			want = *rs.Spec.Replicas
		}
		b.WriteString(rs.Name + " " + itoa(want) + "/" + itoa(rs.Status.ReadyReplicas) + "; ")
	}
	return b.String()
}

// TestPersonDrainMovesPods: kubectl drain cordons the Node (Nodes are
// never judged) and evicts its Pods (evictions never reach gitgate); the
// ReplicaSet controller replaces them and the scheduler places them on the
// other Node.
func TestPersonDrainMovesPods(t *testing.T) {
	noSystemRefusals(t)
	applyFleet(t)
	pods := podsWithLabel(t, "shop", "web")
	if len(pods) == 0 {
		t.Fatal("no web Pods")
	}
	node := pods[0].Spec.NodeName
	t.Cleanup(func() {
		if r := env.kubectl.Run("", "uncordon", node, "--as", person); r.Failed() {
			t.Errorf("%s: %v\n%s", r.CommandLine(), r.Err, r.Stderr)
		}
	})
	r := env.kubectl.Run("", "drain", node, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=2m", "--as", person)
	if r.Failed() {
		t.Fatalf("%s: want drained, got %v\n%s\n%s", r.CommandLine(), r.Err, r.Stdout, r.Stderr)
	}
	var n corev1.Node
	if err := env.stack.ControlPlane.Client.Get(bg, client.ObjectKey{Name: node}, &n); err != nil {
		t.Fatal(err)
	}
	if !n.Spec.Unschedulable {
		t.Errorf("Node %s schedulable after kubectl drain", node)
	}
	for _, d := range fleet {
		waitRolledOut(t, d.Namespace, d.Name)
	}
	var all corev1.PodList
	if err := env.stack.ControlPlane.Client.List(bg, &all); err != nil {
		t.Fatal(err)
	}
	for _, p := range all.Items {
		if p.Spec.NodeName == node {
			t.Errorf("Pod %s/%s still on drained Node %s (phase %s)", p.Namespace, p.Name, node, p.Status.Phase)
		}
	}
	for _, p := range podsWithLabel(t, "shop", "web") {
		wantRunningOnKwok(t, p)
	}
}

// TestPersonScaleIsRefused: the scale subresource is held to the replicas
// Git declares, so nothing changes.
func TestPersonScaleIsRefused(t *testing.T) {
	noSystemRefusals(t)
	applyFleet(t)
	r := env.kubectl.Run("", "scale", "deployment/web", "-n", "shop", "--replicas=5", "--as", person)
	wantDenied(t, r, "UPDATE", "spec.replicas", "web.yaml")
	t.Logf("%s: %s", r.CommandLine(), strings.TrimSpace(r.Stderr))
	// Give the controllers the time they would need to act on a scale.
	time.Sleep(2 * time.Second)
	d := waitRolledOut(t, "shop", "web")
	if *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %d after a refused scale, want Git's 2", *d.Spec.Replicas)
	}
	if n := len(podsWithLabel(t, "shop", "web")); n != 2 {
		t.Errorf("%d web Pods after a refused scale, want 2", n)
	}
}

// TestAgentPruneOfDeploymentIsCollected: the agent prunes a Deployment
// removed from Git; the garbage collector deletes its ReplicaSet and
// Pods, and kwok lets the Pods go.
func TestAgentPruneOfDeploymentIsCollected(t *testing.T) {
	noSystemRefusals(t)
	applyFleet(t)
	d := waitRolledOut(t, "shop", "old-web")
	rs := currentReplicaSet(t, d)
	if len(podsOf(t, rs)) == 0 {
		t.Fatal("old-web has no Pods to collect")
	}
	restoreFixtureFile(t, "old-web.yaml")
	since := time.Now()
	mustRun(t, "delete", "deployment", "old-web", "-n", "shop", "--as", agent)
	eventually(t, rolloutTimeout, "old-web's ReplicaSet and Pods collected", func() (bool, string) {
		var list appsv1.ReplicaSetList
		if err := env.stack.ControlPlane.Client.List(bg, &list, client.InNamespace("shop"), client.MatchingLabels{"app": "old-web"}); err != nil {
			return false, err.Error()
		}
		pods := podsWithLabel(t, "shop", "old-web")
		return len(list.Items) == 0 && len(pods) == 0, "ReplicaSets " + rsSummary(list.Items) + "Pods " + itoa(int32(len(pods)))
	})
	wantActed(t, since, "system:serviceaccount:kube-system:generic-garbage-collector", []string{"delete"}, "replicasets", "", "shop", rs.Name)
}

// TestAgentPruneOfNamespaceIsEmptied: the agent prunes a Namespace removed
// from Git; the namespace controller deletes what it holds (Deployment,
// ReplicaSet, Pods, ConfigMaps, ServiceAccount) and then the Namespace.
func TestAgentPruneOfNamespaceIsEmptied(t *testing.T) {
	noSystemRefusals(t)
	applyFleet(t)
	if len(podsWithLabel(t, "batch", "worker")) == 0 {
		t.Fatal("batch has no Pods")
	}
	restoreFixtureFile(t, "batch.yaml")
	since := time.Now()
	mustRun(t, "delete", "namespace", "batch", "--wait=false", "--as", agent)
	waitNamespaceGone(t, "batch", false)
	wantActed(t, since, "system:serviceaccount:kube-system:namespace-controller", []string{"update"}, "namespaces", "finalize", "batch", "batch")
}

// restoreFixtureFile removes file from Git, as the prune the test makes
// follows, and puts it back when the test ends, with what the agent
// applied from it.
func restoreFixtureFile(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(env.fixture, file))
	if err != nil {
		t.Fatal(err)
	}
	commit(t, harness.Change{Delete: []string{file}, Message: "prune " + file})
	t.Cleanup(func() {
		commit(t, harness.Change{Write: map[string]string{file: string(data)}, Message: "restore " + file})
		applyFleet(t)
	})
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }
