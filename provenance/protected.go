package provenance

import "github.com/gitgate/gitgate/provenance/compare"

// What a controller may not set or change on a declared object even where
// Git does not declare it. A controller is every service account by
// default, so whoever holds any service account's token is one: on the
// objects Git declares it may annotate, label and finalize, but not change
// what a workload runs or where a Service sends and takes traffic.

// workloadProtected: the whole Pod template of a workload, its metadata
// included (labels pick which Services and NetworkPolicies apply, and
// annotations steer mesh injectors, seccomp and AppArmor), for Deployments,
// StatefulSets, DaemonSets, ReplicaSets, ReplicationControllers and Jobs
// (spec.template) and CronJobs (spec.jobTemplate.spec.template), and for a
// custom workload shaped the same (an Argo Rollout).
var workloadProtected = [][]string{
	{"spec", "template"},
	{"spec", "jobTemplate", "spec", "template"},
}

// deploymentProtected adds spec.paused: a paused Deployment never rolls out
// what Git declares next.
var deploymentProtected = append([][]string{{"spec", "paused"}}, workloadProtected...)

// podProtected: a bare Pod's whole spec.
var podProtected = [][]string{{"spec"}}

// serviceProtected are the fields of a Service that decide where its
// traffic comes from and goes to. externalIPs intercept traffic for any
// address (CVE-2020-8554), a LoadBalancer or an ExternalName sends it out
// of the cluster, source ranges open it to the world, and session
// affinity pins clients. Values the API server allocates (clusterIP,
// nodePort) are not here: they cannot be chosen after the create.
var serviceProtected = [][]string{
	{"spec", "type"},
	{"spec", "externalIPs"},
	{"spec", "externalName"},
	{"spec", "loadBalancerIP"},
	{"spec", "loadBalancerSourceRanges"},
	{"spec", "loadBalancerClass"},
	{"spec", "sessionAffinity"},
	{"spec", "sessionAffinityConfig"},
}

// controllerProtected gives the paths of an object of kind k that a
// controller may not change where Git does not declare them.
func controllerProtected(k Key) [][]string {
	switch {
	case k.Group == "" && k.Kind == "Pod":
		return podProtected
	case k.Group == "" && k.Kind == "Service":
		return serviceProtected
	case k.Group == "apps" && k.Kind == "Deployment":
		return deploymentProtected
	}
	return workloadProtected
}

// freed drops the diffs an ignore rule frees: lifecycleDiffs judges
// ownerReferences and finalizers beside the comparison, and an --ignore
// rule for them (Cluster API's ownerReferences on the objects it adopts)
// must count there too.
func freed(diffs []compare.Diff, ig *compare.Ignore) []compare.Diff {
	if ig == nil {
		return diffs
	}
	out := diffs[:0]
	for _, d := range diffs {
		fields := make([]string, len(d.Path))
		for i, st := range d.Path {
			fields[i] = st.Field
		}
		if !ig.SkipsPath(fields, d.Request) {
			out = append(out, d)
		}
	}
	return out
}

// ProtectedIn reports whether obj, of kind k, holds any field a controller
// may not set where Git is silent: only then (or for a GitOps kind, whose
// every field but metadata and status is held, see createHeld) is a
// controller's create of the declared object held to the API server's
// defaults (CheckDefaults), so that an operator creating a declared CRD or
// ClusterRole before the agent needs no dry run, which gitgate cannot make
// of cluster-scoped kinds.
func ProtectedIn(k Key, obj map[string]any) bool {
	for _, p := range controllerProtected(k) {
		if valueAt(obj, p) != nil {
			return true
		}
	}
	return false
}

// createHeld is what of obj, of kind k, a controller's create of the
// declared object is held to the API server's defaults in: for a GitOps
// kind every top-level field but metadata and status (gitOpsApplied), for
// any other kind the fields a controller may not set where Git is silent
// (protectedOnly).
func (c *Checker) createHeld(k Key, obj map[string]any) map[string]any {
	if c.GitOps.Has(k.Group, k.Kind) {
		return gitOpsApplied(obj)
	}
	return protectedOnly(k, obj)
}

// gitOpsApplied is obj without its metadata and status: what of a GitOps
// object tells the agent what to fetch and apply, as itself. A
// Kustomization's spec.patches and spec.postBuild rewrite what it applies,
// and an Argo CD Application's top-level operation can carry manifests of
// its own (operation.sync.manifests), so no field of it is the creator's.
func gitOpsApplied(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		if k != "metadata" && k != "status" {
			out[k] = v
		}
	}
	return out
}

// protectedOnly is obj cut down to the fields a controller may not set
// where Git is silent: what a controller's create is held to the defaults
// in. The rest is the controller's, as on an update.
func protectedOnly(k Key, obj map[string]any) map[string]any {
	out := map[string]any{}
	for _, p := range controllerProtected(k) {
		v := valueAt(obj, p)
		if v == nil {
			continue
		}
		node := out
		for _, f := range p[:len(p)-1] {
			next, _ := node[f].(map[string]any)
			if next == nil {
				next = map[string]any{}
				node[f] = next
			}
			node = next
		}
		node[p[len(p)-1]] = v
	}
	return out
}
