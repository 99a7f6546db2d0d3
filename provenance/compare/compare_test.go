package compare

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/gitgate/gitgate/internal/testyaml"
)

// obj decodes a YAML object, as the API server's JSON decodes.
var obj = testyaml.ToMap

var (
	deploySchema  = SchemaForType(reflect.TypeOf(appsv1.Deployment{}))
	serviceSchema = SchemaForType(reflect.TypeOf(corev1.Service{}))
	bindingSchema = SchemaForType(reflect.TypeOf(rbacv1.RoleBinding{}))
	crSchema      = SchemaFromOpenAPI(map[string]any{"type": "object", "properties": map[string]any{
		"spec": map[string]any{"type": "object", "properties": map[string]any{
			"shards": map[string]any{
				"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": []any{"name"},
				"items": map[string]any{"type": "object", "properties": map[string]any{"name": map[string]any{"type": "string"}, "weight": map[string]any{"type": "integer"}}},
			},
		}},
	}})
)

const gitDeploy = `
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  template:
    spec:
      hostNetwork: false
      containers:
      - name: app
        image: shop:1.4.2
        ports: [{containerPort: 8080}]
        env: [{name: LOG, value: info}]
        resources: {requests: {cpu: "0.5", memory: 256Mi}, limits: {cpu: 1000m}}
      - name: sidecar
        image: proxy:1
`

// liveDeploy is gitDeploy as the API server returns it: defaults filled in,
// quantities canonical, containers reordered.
const liveDeploy = `
metadata: {name: web, labels: {app: web}, resourceVersion: "7", generation: 1, uid: u1}
spec:
  replicas: 2
  strategy: {type: RollingUpdate}
  template:
    spec:
      dnsPolicy: ClusterFirst
      containers:
      - name: sidecar
        image: proxy:1
        imagePullPolicy: IfNotPresent
      - name: app
        image: shop:1.4.2
        imagePullPolicy: IfNotPresent
        terminationMessagePath: /dev/termination-log
        ports: [{containerPort: 8080, protocol: TCP}]
        env: [{name: LOG, value: info}]
        resources: {requests: {cpu: 500m, memory: 256Mi}, limits: {cpu: "1"}}
status: {replicas: 2}
`

func TestCompare(t *testing.T) {
	builtins := &Ignore{}
	for _, p := range [][]string{{"status"}, {"metadata", "resourceVersion"}, {"metadata", "generation"}, {"metadata", "uid"}} {
		builtins.Add(p, false)
	}
	svcIgnore := Merge(builtins, &Ignore{})
	svcIgnore.Add([]string{"spec", "clusterIP"}, true)
	replicas := Merge(builtins, &Ignore{})
	replicas.Add([]string{"spec", "replicas"}, false)

	tests := []compareCase{
		{name: "create with API defaults matches", schema: deploySchema, declared: gitDeploy, obj: liveDeploy, strict: true},
		{name: "identical update matches", schema: deploySchema, declared: gitDeploy, old: liveDeploy, obj: liveDeploy, strict: true, ignore: builtins},
		{
			name: "image change is a mismatch at the keyed path", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: builtins,
			obj:  replace(liveDeploy, "image: shop:1.4.2", "image: shop:latest"),
			want: []string{"spec.template.spec.containers[name=app].image Mismatch"},
		},
		{
			name: "quantity compares by value, not text", schema: deploySchema, declared: gitDeploy, strict: true,
			obj:  replace(liveDeploy, "cpu: 500m", "cpu: 501m"),
			want: []string{"spec.template.spec.containers[name=app].resources.requests.cpu Mismatch"},
		},
		{
			name: "missing declared container", schema: deploySchema, declared: gitDeploy, strict: true,
			obj:  replace(liveDeploy, "name: sidecar", "name: other"),
			want: []string{"spec.template.spec.containers[name=sidecar] Missing"},
		},
		{
			name: "env var added by hand, strict", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: builtins,
			obj:  replace(liveDeploy, "env: [{name: LOG, value: info}]", "env: [{name: LOG, value: info}, {name: DEBUG, value: '1'}]"),
			want: []string{"spec.template.spec.containers[name=app].env[name=DEBUG] Undeclared"},
		},
		{
			name: "env var added by hand, declared mode", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: false, ignore: builtins,
			obj: replace(liveDeploy, "env: [{name: LOG, value: info}]", "env: [{name: LOG, value: info}, {name: DEBUG, value: '1'}]"),
		},
		{
			name: "label added by hand, strict", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: builtins,
			obj:  replace(liveDeploy, "labels: {app: web}", "labels: {app: web, owner: me}"),
			want: []string{"metadata.labels.owner Undeclared"},
		},
		{
			name: "defaulted field changed by hand, strict", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: builtins,
			obj:  replace(liveDeploy, "dnsPolicy: ClusterFirst", "dnsPolicy: Default"),
			want: []string{"spec.template.spec.dnsPolicy Undeclared"},
		},
		{
			name: "status and resourceVersion are ignored", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: builtins,
			obj: replace(replace(liveDeploy, "status: {replicas: 2}", "status: {replicas: 3}"), `resourceVersion: "7"`, `resourceVersion: "8"`),
		},
		{
			name: "user rule ignores replicas under an HPA", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: replicas,
			obj: replace(liveDeploy, "replicas: 2\n  strategy", "replicas: 5\n  strategy"),
		},
		{
			name: "container added by hand on update, strict", schema: deploySchema, declared: gitDeploy, old: liveDeploy, strict: true, ignore: builtins,
			obj:  replace(liveDeploy, "      - name: sidecar\n", "      - name: debug\n        image: busybox\n      - name: sidecar\n"),
			want: []string{"spec.template.spec.containers[name=debug] Undeclared"},
		},
		{
			name: "container Git adds arrives with defaults: catching up to Git is allowed", schema: deploySchema, declared: gitDeploy, strict: true, ignore: builtins,
			old: replace(liveDeploy, "      - name: sidecar\n        image: proxy:1\n        imagePullPolicy: IfNotPresent\n", ""),
			obj: liveDeploy, defaults: liveDeploy,
		},
		{
			name: "container Git adds arrives with defaults: unproven until the defaults are known", schema: deploySchema, declared: gitDeploy, strict: true, ignore: builtins,
			old:  replace(liveDeploy, "      - name: sidecar\n        image: proxy:1\n        imagePullPolicy: IfNotPresent\n", ""),
			obj:  liveDeploy,
			want: []string{"spec.template.spec.containers[name=sidecar].imagePullPolicy Unproven"},
		},
		{
			name: "hostNetwork false in Git equals absent", schema: deploySchema, declared: gitDeploy, strict: true,
			obj: liveDeploy,
		},
		{
			name: "pointer field pinned to false in Git is removed", schema: deploySchema, strict: true, ignore: builtins,
			declared: "spec: {template: {spec: {automountServiceAccountToken: false, containers: [{name: app, securityContext: {allowPrivilegeEscalation: false}}]}}}",
			old:      "spec: {template: {spec: {automountServiceAccountToken: false, containers: [{name: app, securityContext: {allowPrivilegeEscalation: false}}]}}}",
			obj:      "spec: {template: {spec: {containers: [{name: app, securityContext: {}}]}}}",
			want:     []string{"spec.template.spec.automountServiceAccountToken Missing", "spec.template.spec.containers[name=app].securityContext.allowPrivilegeEscalation Missing"},
		},
		{
			name: "custom resource false is not absent", strict: true,
			declared: "spec: {persistence: false}", obj: "spec: {}",
			want: []string{"spec.persistence Missing"},
		},
		{
			name: "create with a container Git does not declare, strict lists", schema: deploySchema, declared: gitDeploy, strict: true, strictLists: true,
			obj:  replace(liveDeploy, "      - name: sidecar\n", "      - name: evil\n        image: evil:1\n        securityContext: {privileged: true}\n      - name: sidecar\n"),
			want: []string{"spec.template.spec.containers[name=evil] Undeclared"},
		},
		{
			name: "create with defaults only, strict lists", schema: deploySchema, declared: gitDeploy, strict: true, strictLists: true,
			obj: liveDeploy,
		},
		{
			name: "RBAC subject gains a defaulted apiGroup inside an atomic list", schema: bindingSchema, strict: true,
			declared: "subjects: [{kind: User, name: dev}]",
			obj:      "subjects: [{kind: User, name: dev, apiGroup: rbac.authorization.k8s.io}]",
		},
		{
			name: "atomic list of different length", schema: bindingSchema, strict: true,
			declared: "subjects: [{kind: User, name: dev}]",
			obj:      "subjects: [{kind: User, name: dev}, {kind: User, name: eve}]",
			want:     []string{"subjects Mismatch"},
		},
		{
			name: "service clusterIP allocated by the API server is free", schema: serviceSchema, strict: true, ignore: svcIgnore,
			declared: "spec: {ports: [{port: 80}]}",
			old:      "spec: {clusterIP: 10.0.0.5, ports: [{port: 80, protocol: TCP, targetPort: 80}]}",
			obj:      "spec: {clusterIP: 10.0.0.6, ports: [{port: 80, protocol: TCP, targetPort: 80}]}",
		},
		{
			name: "service clusterIP pinned in Git is enforced", schema: serviceSchema, strict: true, ignore: svcIgnore,
			declared: "spec: {clusterIP: 10.0.0.5}",
			obj:      "spec: {clusterIP: 10.0.0.6}",
			want:     []string{"spec.clusterIP Mismatch"},
		},
		{
			name: "ports sharing a merge key match by order among equals", schema: serviceSchema, strict: true,
			declared: "spec: {ports: [{port: 53, protocol: UDP, name: dns}, {port: 53, protocol: TCP, name: dns-tcp}]}",
			obj:      "spec: {ports: [{port: 53, protocol: UDP, name: dns}, {port: 53, protocol: TCP, name: dns-tcp}]}",
		},
		{
			name: "numbers equal across int and float", strict: true,
			declared: "spec: {num: 80}", obj: `{"spec": {"num": 80.0}}`,
		},
		{
			name: "string is not a number", strict: true,
			declared: "spec: {num: 80}", obj: `spec: {num: "80"}`,
			want: []string{"spec.num Mismatch"},
		},
		{
			name: "annotation key with dots is quoted in the path", strict: true,
			declared: "metadata: {annotations: {a: b}}", old: "metadata: {annotations: {a: b}}",
			obj:  `metadata: {annotations: {a: b, "example.com/x": "1"}}`,
			want: []string{`metadata.annotations["example.com/x"] Undeclared`},
		},
		{
			name: "custom resource list-map keys come from the CRD schema", schema: crSchema, strict: true,
			declared: "spec: {shards: [{name: a, weight: 2}, {name: b, weight: 1}]}",
			obj:      "spec: {shards: [{name: b, weight: 1}, {name: a, weight: 2}]}",
		},
		{
			name: "custom resource keyed element changed", schema: crSchema, strict: true,
			declared: "spec: {shards: [{name: a, weight: 2}]}",
			obj:      "spec: {shards: [{name: a, weight: 3}]}",
			want:     []string{"spec.shards[name=a].weight Mismatch"},
		},
		{
			name: "generic (unknown kind) nested map", strict: true,
			declared: "spec: {a: {b: 1}}", obj: "spec: {a: {b: 2, c: 3}}",
			want: []string{"spec.a.b Mismatch"},
		},
	}
	runCompareCases(t, tests)
}

// compareCase is one comparison and the differences it must report, each
// rendered as "path Kind".
type compareCase struct {
	name     string
	schema   *Schema
	declared string
	old, obj string
	strict   bool
	// strictLists: see Options.StrictLists.
	strictLists bool
	ignore      *Ignore
	// defaults: Options.Defaults, Git's manifest as the API server
	// creates it.
	defaults string
	// want renders each diff as "path Kind", with " added" for a field
	// of a subtree the update adds (Diff.Added).
	want []string
}

func runCompareCases(t *testing.T, tests []compareCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			decl := obj(t, tc.declared)
			Normalize(decl, tc.schema)
			diffs := Compare(decl, obj(t, tc.old), obj(t, tc.obj), tc.schema, Options{Strict: tc.strict, StrictLists: tc.strictLists, Ignore: tc.ignore,
				Defaults: obj(t, tc.defaults)})
			var got []string
			for _, d := range diffs {
				s := d.Path.String() + " " + d.Kind.String()
				if d.Added {
					s += " added"
				}
				got = append(got, s)
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("diffs = %q, want %q", got, tc.want)
			}
		})
	}
}

func replace(s, old, new string) string {
	if !strings.Contains(s, old) {
		panic("test fixture lacks " + old)
	}
	return strings.Replace(s, old, new, 1)
}

// TestCompareReviewFindings: cases an adversarial review found, each a
// false allow or a false deny before it was fixed.
func TestCompareReviewFindings(t *testing.T) {
	npSchema := SchemaForType(reflect.TypeOf(networkingv1.NetworkPolicy{}))
	podSchema := SchemaForType(reflect.TypeOf(corev1.Pod{}))
	nsIgnore := &Ignore{}
	svcIgnore := &Ignore{}
	svcIgnore.Add([]string{"spec", "clusterIP"}, true)
	tests := []compareCase{
		{name: "empty podSelector narrowed, declared mode", schema: npSchema,
			declared: "spec: {podSelector: {}, policyTypes: [Ingress]}",
			old:      "spec: {podSelector: {}, policyTypes: [Ingress]}",
			obj:      "spec: {podSelector: {matchLabels: {nothing: here}}, policyTypes: [Ingress]}",
			want:     []string{"spec.podSelector Mismatch"}},
		{name: "empty podSelector narrowed on create", schema: npSchema, strict: true,
			declared: "spec: {podSelector: {}}",
			obj:      "spec: {podSelector: {matchLabels: {a: b}}}",
			want:     []string{"spec.podSelector Mismatch"}},
		{name: "podSelector gains a label with an empty value, declared mode", schema: npSchema,
			declared: "spec: {podSelector: {matchLabels: {app: web}}}",
			old:      "spec: {podSelector: {matchLabels: {app: web}}}",
			obj:      `spec: {podSelector: {matchLabels: {app: web, nobody: ""}}}`,
			want:     []string{"spec.podSelector Mismatch"}},
		{name: "podSelector gains a label with an empty value on create", schema: npSchema, strict: true,
			declared: "spec: {podSelector: {matchLabels: {app: web}}}",
			obj:      `spec: {podSelector: {matchLabels: {app: web, nobody: ""}}}`,
			want:     []string{"spec.podSelector Mismatch"}},
		{name: "podSelector label value emptied", schema: npSchema,
			declared: "spec: {podSelector: {matchLabels: {app: web}}}",
			obj:      `spec: {podSelector: {matchLabels: {app: ""}}}`,
			want:     []string{"spec.podSelector Mismatch"}},
		{name: "podSelector with an empty matchExpressions the API server dropped", schema: npSchema, strict: true,
			declared: "spec: {podSelector: {matchLabels: {app: web}, matchExpressions: []}}",
			obj:      "spec: {podSelector: {matchLabels: {app: web}}}"},
		{name: "Service selector gains a label, declared mode", schema: serviceSchema, ignore: svcIgnore,
			declared: "spec: {selector: {app: web}}",
			old:      "spec: {selector: {app: web}, clusterIP: 10.0.0.1}",
			obj:      `spec: {selector: {app: web, nobody: ""}, clusterIP: 10.0.0.1}`,
			want:     []string{"spec.selector Mismatch"}},
		{name: "Service selector as Git has it", schema: serviceSchema, ignore: svcIgnore, strict: true,
			declared: "spec: {selector: {app: web}}",
			old:      "spec: {selector: {app: web}, clusterIP: 10.0.0.1}",
			obj:      "spec: {selector: {app: web}, clusterIP: 10.0.0.1}"},
		{name: "PDB selector gains a label, declared mode", schema: SchemaForType(reflect.TypeOf(policyv1.PodDisruptionBudget{})),
			declared: "spec: {selector: {matchLabels: {app: web}}}",
			old:      "spec: {selector: {matchLabels: {app: web}}}",
			obj:      `spec: {selector: {matchLabels: {app: web, x: ""}}}`,
			want:     []string{"spec.selector Mismatch"}},
		{name: "selector of a custom resource without a schema gains a label, declared mode",
			declared: "spec: {endpointSelector: {matchLabels: {app: web}}}",
			old:      "spec: {endpointSelector: {matchLabels: {app: web}}}",
			obj:      `spec: {endpointSelector: {matchLabels: {app: web, nobody: ""}}}`,
			want:     []string{"spec.endpointSelector Mismatch"}},
		{name: "matchLabels of a custom resource without a schema gains a label, declared mode",
			declared: "spec: {rules: [{from: {matchLabels: {app: web}}}]}",
			old:      "spec: {rules: [{from: {matchLabels: {app: web}}}]}",
			obj:      `spec: {rules: [{from: {matchLabels: {app: web, nobody: ""}}}]}`,
			want:     []string{"spec.rules[0].from Mismatch"}},
		{name: "plain selector map of a custom resource without a schema gains a label",
			declared: "spec: {selector: {app: web}}",
			old:      "spec: {selector: {app: web}}",
			obj:      `spec: {selector: {app: web, x: ""}}`,
			want:     []string{"spec.selector Mismatch"}},
		{name: "selector of a custom resource without a schema gains a label with an empty value, strict", strict: true,
			declared: "spec: {endpointSelector: {matchLabels: {app: web}}}",
			old:      "spec: {endpointSelector: {matchLabels: {app: web}}}",
			obj:      `spec: {endpointSelector: {matchLabels: {app: web, nobody: ""}}}`,
			want:     []string{"spec.endpointSelector Mismatch"}},
		{name: "a selector in a list element of a custom resource gains a matchExpression, declared mode",
			declared: "spec: {ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]}",
			old:      "spec: {ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]}",
			obj:      "spec: {ingress: [{fromEndpoints: [{matchLabels: {app: web}, matchExpressions: [{key: x, operator: In, values: [none]}]}]}]}",
			want:     []string{"spec.ingress[0].fromEndpoints[0] Mismatch"}},
		{name: "a selector-shaped map under any name gains a label, declared mode",
			declared: "spec: {ingressDeny: [{from: {matchLabels: {app: web}}}]}",
			old:      "spec: {ingressDeny: [{from: {matchLabels: {app: web}}}]}",
			obj:      `spec: {ingressDeny: [{from: {matchLabels: {app: web, nobody: x}}}]}`,
			want:     []string{"spec.ingressDeny[0].from Mismatch"}},
		{name: "deny-all endpoints narrowed to nothing, declared mode",
			declared: "spec: {egressDeny: [{toEndpoints: [{}]}]}",
			old:      "spec: {egressDeny: [{toEndpoints: [{}]}]}",
			obj:      "spec: {egressDeny: [{toEndpoints: [{matchLabels: {nobody: x}}]}]}",
			want:     []string{"spec.egressDeny[0].toEndpoints[0] Mismatch"}},
		{name: "endpoint selectors as Git has them, strict", strict: true,
			declared: "spec: {egressDeny: [{toEndpoints: [{}, {matchLabels: {app: db}}]}]}",
			old:      "spec: {egressDeny: [{toEndpoints: [{}, {matchLabels: {app: db}}]}]}",
			obj:      "spec: {egressDeny: [{toEndpoints: [{}, {matchLabels: {app: db}}]}]}"},
		{name: "selector of a custom resource without a schema as Git has it, strict", strict: true,
			declared: "spec: {endpointSelector: {matchLabels: {app: web}}, replicas: 2}",
			old:      "spec: {endpointSelector: {matchLabels: {app: web}}, replicas: 2}",
			obj:      "spec: {endpointSelector: {matchLabels: {app: web}}, replicas: 2}"},
		{name: "other maps of a custom resource without a schema still take additions in declared mode",
			declared: "spec: {config: {a: b}}",
			old:      "spec: {config: {a: b}}",
			obj:      "spec: {config: {a: b, c: d}}"},
		{name: "CRD selector marked atomic gains a label", schema: SchemaFromOpenAPI(map[string]any{"type": "object", "properties": map[string]any{
			"spec": map[string]any{"type": "object", "properties": map[string]any{
				"selector": map[string]any{"type": "object", "x-kubernetes-map-type": "atomic", "properties": map[string]any{
					"matchLabels": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}}}}}}}}),
			declared: "spec: {selector: {matchLabels: {app: web}}}",
			old:      "spec: {selector: {matchLabels: {app: web}}}",
			obj:      `spec: {selector: {matchLabels: {app: web, x: ""}}}`,
			want:     []string{"spec.selector Mismatch"}},
		{name: "emptyDir swapped for hostPath", schema: deploySchema,
			declared: "spec: {template: {spec: {volumes: [{name: data, emptyDir: {}}]}}}",
			obj:      "spec: {template: {spec: {volumes: [{name: data, hostPath: {path: /}}]}}}",
			want:     []string{"spec.template.spec.volumes[name=data].emptyDir Missing"}},
		{name: "nodeSelector {} in Git is dropped by the API server", schema: deploySchema, strict: true,
			declared: "spec: {template: {spec: {nodeSelector: {}, containers: [{name: a}]}}}",
			obj:      "spec: {template: {spec: {containers: [{name: a}]}}}"},
		{name: "runAsUser 0 added by hand", schema: deploySchema, strict: true,
			declared: "spec: {template: {spec: {containers: [{name: a}]}}}",
			old:      "spec: {template: {spec: {securityContext: {}, containers: [{name: a}]}}}",
			obj:      "spec: {template: {spec: {securityContext: {runAsUser: 0}, containers: [{name: a}]}}}",
			want:     []string{"spec.template.spec.securityContext.runAsUser Undeclared"}},
		{name: "label with an empty value added by hand", strict: true, ignore: nsIgnore,
			declared: "metadata: {name: shop}",
			old:      "metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop}}",
			obj:      `metadata: {name: shop, labels: {kubernetes.io/metadata.name: shop, admission.gatekeeper.sh/ignore: ""}}`,
			want:     []string{`metadata.labels["admission.gatekeeper.sh/ignore"] Undeclared`}},
		{name: "declared nodeSelector {} stays strict underneath", schema: deploySchema, strict: true,
			declared: "spec: {template: {spec: {nodeSelector: {}, containers: [{name: a}]}}}",
			old:      "spec: {template: {spec: {containers: [{name: a}]}}}",
			obj:      "spec: {template: {spec: {nodeSelector: {kubernetes.io/hostname: cp-1}, containers: [{name: a}]}}}",
			want:     []string{"spec.template.spec.nodeSelector Undeclared"}},
		{name: "undeclared initContainers on create, strict lists", schema: deploySchema, strict: true, strictLists: true,
			declared: "spec: {template: {spec: {containers: [{name: a}]}}}",
			obj:      "spec: {template: {spec: {initContainers: [{name: x, image: evil}], containers: [{name: a}]}}}",
			want:     []string{"spec.template.spec.initContainers[name=x] Undeclared"}},
		{name: "duplicate env key overriding Git, declared mode", schema: deploySchema,
			declared: "spec: {template: {spec: {containers: [{name: a, env: [{name: TLS_VERIFY, value: 'true'}]}]}}}",
			old:      "spec: {template: {spec: {containers: [{name: a, env: [{name: TLS_VERIFY, value: 'true'}]}]}}}",
			obj:      "spec: {template: {spec: {containers: [{name: a, env: [{name: TLS_VERIFY, value: 'true'}, {name: TLS_VERIFY, value: 'false'}]}]}}}",
			want:     []string{"spec.template.spec.containers[name=a].env[name=TLS_VERIFY] Undeclared"}},
		{name: "tolerations appended by admission on a Pod", schema: podSchema, strict: true,
			declared: "spec: {tolerations: [{key: dedicated, operator: Exists}]}",
			obj:      "spec: {tolerations: [{key: dedicated, operator: Exists}, {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 300}]}"},
		{name: "custom resource list filled by a CRD default on create", strict: true, strictLists: true,
			schema: SchemaFromOpenAPI(map[string]any{"properties": map[string]any{"spec": map[string]any{"properties": map[string]any{
				"ports": map[string]any{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": []any{"name"}, "default": []any{map[string]any{"name": "http"}},
					"items": map[string]any{"properties": map[string]any{"name": map[string]any{"type": "string"}}}},
			}}}}),
			declared: "spec: {size: 1}",
			obj:      "spec: {size: 1, ports: [{name: http}]}"},
		{name: "clusterIP empty in Git lets the API server allocate", schema: serviceSchema, strict: true, ignore: svcIgnore,
			declared: `spec: {clusterIP: ""}`,
			obj:      "spec: {clusterIP: 10.0.0.7}"},
	}
	runCompareCases(t, tests)
}

// TestIgnoreSkipsAt: a caller judging a field Git does not declare asks
// the same rules the walk follows: a rule on the field, on a map above it,
// by prefix or "*" frees it, and so does one that frees only what Git
// leaves out.
func TestIgnoreSkipsAt(t *testing.T) {
	obj := map[string]any{"data": map[string]any{"image": "x", "tag": "y"}}
	for _, tc := range []struct {
		name   string
		rules  [][]string
		fields []string
		want   bool
	}{
		{name: "the field", rules: [][]string{{"data", "image"}}, fields: []string{"data", "image"}, want: true},
		{name: "another field", rules: [][]string{{"data", "image"}}, fields: []string{"data", "tag"}},
		{name: "the map above", rules: [][]string{{"data"}}, fields: []string{"data", "tag"}, want: true},
		{name: "any key", rules: [][]string{{"data", "*"}}, fields: []string{"data", "tag"}, want: true},
		{name: "by prefix", rules: [][]string{{"data", "ta*"}}, fields: []string{"data", "tag"}, want: true},
		{name: "no rule", fields: []string{"data", "tag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ig *Ignore
			if tc.rules != nil {
				ig = &Ignore{}
				for _, r := range tc.rules {
					ig.Add(r, false)
				}
			}
			if got := ig.SkipsAt(obj, tc.fields...); got != tc.want {
				t.Errorf("SkipsAt(%v) = %v, want %v", tc.fields, got, tc.want)
			}
		})
	}
	declaredOnly := &Ignore{}
	declaredOnly.Add([]string{"data", "tag"}, true)
	if !declaredOnly.SkipsAt(obj, "data", "tag") {
		t.Error("a rule freeing what Git leaves out does not free a key Git leaves out")
	}
}
