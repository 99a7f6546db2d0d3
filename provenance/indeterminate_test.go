package provenance_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// helmRoot is a HelmRelease root: its own source, its revision the chart.
var helmRoot = provenance.Root{Name: "HelmRelease shop/podinfo", Source: "HelmRelease shop/podinfo"}

// rendered is what a chart renders: a Secret whose token is random, a
// Deployment whose pod template carries the render's time, a ConfigMap
// whose whole content a lookup decided, and a hook.
const (
	renderedSecret = `apiVersion: v1
kind: Secret
metadata: {name: session, namespace: shop}
data: {token: Z2l0Z2F0ZQ==, fixed: eWVz}
`
	renderedDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: shop}
spec:
  replicas: 2
  template:
    metadata: {annotations: {rolled: "2024-01-01"}}
    spec:
      containers:
      - name: app
        image: podinfo:1
        env: [{name: A, value: "1"}, {name: STAMP, value: "t0"}]
`
	renderedLookup = `apiVersion: v1
kind: ConfigMap
metadata: {name: found, namespace: shop}
data: {k: v}
`
	renderedHook = `apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: shop}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: busybox}]}}}
`
)

// helmSnapshot indexes the rendered objects as fluxsync would: one file
// per object, with its indeterminate fields, the root's ignore rules and
// the hook transient.
func helmSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: helmRoot}
	idx, err := ix.Build(provenance.Revision{Label: "chart podinfo 6.5.0"}, []provenance.File{
		{Path: "podinfo/templates/secret.yaml", Objects: mustObjects(t, renderedSecret), Indeterminate: []string{"/data/token"}},
		{Path: "podinfo/templates/deployment.yaml", Objects: mustObjects(t, renderedDeployment),
			Indeterminate: []string{"/spec/template/metadata/annotations/rolled", "/spec/template/spec/containers/0/env/1/value"},
			Ignore:        []string{"/spec/replicas"}},
		{Path: "podinfo/templates/found.yaml", Objects: mustObjects(t, renderedLookup), Indeterminate: []string{""}},
		{Path: "podinfo/templates/hook.yaml", Objects: mustObjects(t, renderedHook), Transient: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	return idx.Snapshot()
}

// TestCheckIndeterminate: fields the render cannot reproduce are never
// compared with Git, and nobody but the agent sets or changes them: a
// create that sets one, an update that changes one, are refused
// (indeterminate) for people and controllers alike; an identical apply
// of what the cluster holds passes; the rest of the object is held to
// Git as ever. A whole indeterminate object may not change at all.
func TestCheckIndeterminate(t *testing.T) {
	snap := helmSnapshot(t)
	const agentSecret = "apiVersion: v1\nkind: Secret\nmetadata: {name: session, namespace: shop}\ndata: {token: YWdlbnQ=, fixed: eWVz}\n"
	const agentDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: podinfo, namespace: shop}
spec:
  replicas: 2
  template:
    metadata: {annotations: {rolled: "2025-06-01"}}
    spec:
      containers:
      - name: app
        image: podinfo:1
        env: [{name: A, value: "1"}, {name: STAMP, value: "t9"}]
`
	const foundByAgent = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: found, namespace: shop}\ndata: {k: from-the-cluster}\n"
	for _, tc := range []struct {
		name         string
		op           provenance.Operation
		old, obj     string
		kind, object string
		want         provenance.Reason
		fields       []string
	}{
		{name: "identical apply of the agent's Secret", op: provenance.Update, old: agentSecret, obj: agentSecret, kind: "Secret", object: "session", want: provenance.ReasonMatchesGit},
		{name: "a person's token", op: provenance.Update, old: agentSecret, obj: "apiVersion: v1\nkind: Secret\nmetadata: {name: session, namespace: shop}\ndata: {token: bWluZQ==, fixed: eWVz}\n",
			kind: "Secret", object: "session", want: provenance.ReasonIndeterminate, fields: []string{"data.token"}},
		{name: "token removed", op: provenance.Update, old: agentSecret, obj: "apiVersion: v1\nkind: Secret\nmetadata: {name: session, namespace: shop}\ndata: {fixed: eWVz}\n",
			kind: "Secret", object: "session", want: provenance.ReasonIndeterminate, fields: []string{"data.token"}},
		{name: "Git's own value stays compared", op: provenance.Update, old: agentSecret, obj: "apiVersion: v1\nkind: Secret\nmetadata: {name: session, namespace: shop}\ndata: {token: YWdlbnQ=, fixed: bm8=}\n",
			kind: "Secret", object: "session", want: provenance.ReasonFieldMismatch, fields: []string{"data.fixed"}},
		{name: "create choosing the token", op: provenance.Create, obj: agentSecret, kind: "Secret", object: "session", want: provenance.ReasonIndeterminate, fields: []string{"data.token"}},
		{name: "identical apply of the agent's Deployment", op: provenance.Update, old: agentDeployment, obj: agentDeployment, kind: "Deployment", object: "podinfo", want: provenance.ReasonMatchesGit},
		{name: "indeterminate env value changed", op: provenance.Update, old: agentDeployment, obj: replace(agentDeployment, "t9", "mine"),
			kind: "Deployment", object: "podinfo", want: provenance.ReasonIndeterminate, fields: []string{"spec.template.spec.containers[0].env[1].value"}},
		{name: "root ignore rule frees replicas", op: provenance.Update, old: agentDeployment, obj: replace(agentDeployment, "replicas: 2", "replicas: 7"),
			kind: "Deployment", object: "podinfo", want: provenance.ReasonMatchesGit},
		{name: "image still held", op: provenance.Update, old: agentDeployment, obj: replace(agentDeployment, "podinfo:1", "evil:1"),
			kind: "Deployment", object: "podinfo", want: provenance.ReasonFieldMismatch},
		{name: "whole: no-op update", op: provenance.Update, old: foundByAgent, obj: foundByAgent, kind: "ConfigMap", object: "found", want: provenance.ReasonMatchesGit},
		{name: "whole: any change", op: provenance.Update, old: foundByAgent, obj: replace(foundByAgent, "from-the-cluster", "mine"),
			kind: "ConfigMap", object: "found", want: provenance.ReasonIndeterminate, fields: []string{"data.k"}},
		{name: "whole: create", op: provenance.Create, obj: renderedLookup, kind: "ConfigMap", object: "found", want: provenance.ReasonIndeterminate},
		{name: "transient hook is the agent's", op: provenance.Update, old: renderedHook, obj: renderedHook, kind: "Job", object: "migrate", want: provenance.ReasonAgentOnly},
		{name: "transient hook delete", op: provenance.Delete, old: renderedHook, kind: "Job", object: "migrate", want: provenance.ReasonAgentOnly},
	} {
		for _, controller := range []bool{false, true} {
			t.Run(tc.name, func(t *testing.T) {
				group := ""
				if tc.kind == "Deployment" || tc.kind == "Job" {
					group = map[string]string{"Deployment": "apps", "Job": "batch"}[tc.kind]
				}
				req := &provenance.Request{Operation: tc.op, Group: group, Kind: tc.kind, Namespace: "shop", Name: tc.object}
				if tc.obj != "" {
					req.Object = toMap(t, tc.obj)
				}
				if tc.old != "" {
					req.OldObject = toMap(t, tc.old)
				}
				c := &provenance.Checker{}
				if controller {
					c = &provenance.Checker{Fields: provenance.FieldsDeclared, StrictLists: true, Controller: true}
				}
				res := c.Check(snap, req)
				if res.Reason != tc.want || res.Allowed != (tc.want == provenance.ReasonMatchesGit) {
					t.Fatalf("controller=%v: %s (allowed %v) %v, want %s", controller, res.Reason, res.Allowed, res.Diffs, tc.want)
				}
				if tc.fields != nil {
					var got []string
					for _, d := range res.Diffs {
						got = append(got, d.Path.String())
						if tc.want == provenance.ReasonIndeterminate && (d.Request != nil || d.Git != nil || d.Old != nil) {
							t.Errorf("diff %s carries a value", d.Path)
						}
					}
					if tc.want == provenance.ReasonIndeterminate && !slices.Equal(got, tc.fields) || !slices.Contains(got, tc.fields[0]) {
						t.Errorf("fields %v, want %v", got, tc.fields)
					}
				}
			})
		}
	}
}

func replace(s, old, new string) string { return strings.ReplaceAll(s, old, new) }

// TestIndexerRefusesBadPointers: an ignore or indeterminate pointer that
// is not a JSON pointer fails the build rather than leaving a field
// compared or free by accident.
func TestIndexerRefusesBadPointers(t *testing.T) {
	for _, f := range []provenance.File{
		{Path: "a.yaml", Objects: mustObjects(t, renderedSecret), Ignore: []string{"data/token"}},
		{Path: "a.yaml", Objects: mustObjects(t, renderedSecret), Indeterminate: []string{"/data//token"}},
	} {
		ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: helmRoot}
		if _, err := ix.Build(provenancetest.Revision("a"), []provenance.File{f}); err == nil {
			t.Errorf("Build(%+v) succeeded", f)
		}
	}
}

// TestRootAgents: an identity a root names (SetAgents) is the agent for
// the objects that root alone declares, for nothing another root
// declares too, and for nothing undeclared; it survives a failed render
// and goes with the root.
func TestRootAgents(t *testing.T) {
	const sa = "system:serviceaccount:shop:deployer"
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	other := provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet"}
	c.SetAgents(helmRoot, []string{sa, sa})
	c.Update(part(t, helmRoot, "1", renderedSecret+"---\n"+renderedLookup), part(t, other, "1", renderedLookup))
	snap := c.Store.Load()
	secret := provenance.Key{Kind: "Secret", Namespace: "shop", Name: "session"}
	if r, ok := snap.AgentOf(sa, secret); !ok || r != helmRoot {
		t.Errorf("AgentOf(secret) = %v, %v, want %v", r, ok, helmRoot)
	}
	for _, k := range []provenance.Key{
		{Kind: "ConfigMap", Namespace: "shop", Name: "found"}, // other declares it too
		{Kind: "ConfigMap", Namespace: "shop", Name: "nobody"},
	} {
		if _, ok := snap.AgentOf(sa, k); ok {
			t.Errorf("AgentOf(%s) = true", k)
		}
	}
	if _, ok := snap.AgentOf("system:serviceaccount:shop:other", secret); ok {
		t.Error("another identity is an agent of the root")
	}
	if got := snap.RootAgents(); !slices.Equal(got, []string{sa}) || !snap.IsRootAgent(sa) {
		t.Errorf("RootAgents = %v", got)
	}
	c.Fail(helmRoot, errors.New("render failed"))
	if _, ok := c.Store.Load().AgentOf(sa, secret); !ok {
		t.Error("a failed render dropped the root's agent")
	}
	c.Remove(helmRoot)
	if snap := c.Store.Load(); snap.IsRootAgent(sa) || len(snap.RootAgents()) != 0 {
		t.Error("Remove kept the root's agent")
	}
}

// TestSyncAgents: a sync agent (SetSyncAgents: an account Argo CD's
// controller and argocd-server both act as) is no root's agent (AgentOf,
// AgentOfClaim) but its sync agent (SyncAgentOf), for the objects its
// roots alone declare; a full agent is none; a root declaring an object
// with a sync root leaves no full agent of it; switching a root between
// the two is published.
func TestSyncAgents(t *testing.T) {
	const sa = "system:serviceaccount:shop:deployer"
	argoRoot := provenance.Root{Name: "Application argocd/shop"}
	secret := provenance.Key{Kind: "Secret", Namespace: "shop", Name: "session"}
	found := provenance.Key{Kind: "ConfigMap", Namespace: "shop", Name: "found"}
	for _, tc := range []struct {
		name              string
		helmSync, argoSet bool // helmRoot named as sync agent; argoRoot names sa (as sync agent)
		key               provenance.Key
		wantAgent         bool
		wantSync          bool
	}{
		{name: "full agent, its root's object", key: secret, wantAgent: true},
		{name: "sync agent, its root's object", helmSync: true, key: secret, wantSync: true},
		{name: "sync agent, an object another root declares too", helmSync: true, key: found},
		{name: "full and sync roots declare it together", argoSet: true, key: found, wantSync: true},
		{name: "undeclared", helmSync: true, key: provenance.Key{Kind: "ConfigMap", Namespace: "shop", Name: "nobody"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
			if tc.helmSync {
				c.SetSyncAgents(helmRoot, []string{sa})
			} else {
				c.SetAgents(helmRoot, []string{sa})
			}
			if tc.argoSet {
				c.SetSyncAgents(argoRoot, []string{sa})
			}
			c.Update(part(t, helmRoot, "1", renderedSecret+"---\n"+renderedLookup), part(t, argoRoot, "1", renderedLookup))
			snap := c.Store.Load()
			if _, ok := snap.AgentOf(sa, tc.key); ok != tc.wantAgent {
				t.Errorf("AgentOf = %v, want %v", ok, tc.wantAgent)
			}
			if _, ok := snap.SyncAgentOf(sa, tc.key); ok != tc.wantSync {
				t.Errorf("SyncAgentOf = %v, want %v", ok, tc.wantSync)
			}
			if !snap.IsRootAgent(sa) {
				t.Error("a sync agent's token is no root agent's: Pods may run as it unguarded")
			}
		})
	}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetAgents(helmRoot, []string{sa})
	c.Update(part(t, helmRoot, "1", renderedSecret))
	c.SetSyncAgents(helmRoot, []string{sa})
	if _, ok := c.Store.Load().AgentOf(sa, secret); ok {
		t.Error("a root switched to a sync agent kept its full agent")
	}
}

// TestRevisionLabel: a revision with a label prints the label, and a root
// that is its own source prints its name once.
func TestRevisionLabel(t *testing.T) {
	rev := provenance.Revision{Ref: "main", Hash: "0123456789", Label: "chart podinfo 6.5.0 of HelmRepository flux-system/charts at 6.5.0@sha256:ab"}
	if rev.String() != rev.Label {
		t.Errorf("String() = %q", rev.String())
	}
	if got := helmRoot.String(); got != "HelmRelease shop/podinfo" {
		t.Errorf("Root.String() = %q", got)
	}
}

// TestClaims: objects a root claims by labels (Helm's records of a
// release: Secrets labelled owner=helm, name=<release>) are the agent's
// alone whatever their names: a create under a new name, a write that
// takes the labels off, a delete are refused as agent-only; finishing a
// deletion stays free; other labels, kinds or namespaces are not
// covered; the root's own agent applies them.
func TestClaims(t *testing.T) {
	const sa = "system:serviceaccount:shop:deployer"
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetAgents(helmRoot, []string{sa})
	c.SetClaims(helmRoot, []provenance.Claim{{Kind: "Secret", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "podinfo"}, Via: "Helm's records of release podinfo"}})
	c.Update(part(t, helmRoot, "1", renderedSecret))
	snap := c.Store.Load()
	record := func(name, labels string) string {
		return "apiVersion: v1\nkind: Secret\ntype: helm.sh/release.v1\nmetadata: {name: " + name + ", namespace: shop, labels: {" + labels + "}}\ndata: {release: Zm9yZ2Vk}\n"
	}
	forged := record("anything", "owner: helm, name: podinfo")
	for _, tc := range []struct {
		name     string
		op       provenance.Operation
		ns       string
		old, obj string
		want     provenance.Reason
	}{
		{"a forged record under any name", provenance.Create, "shop", "", forged, provenance.ReasonAgentOnly},
		{"labels taken off", provenance.Update, "shop", forged, record("anything", "name: podinfo"), provenance.ReasonAgentOnly},
		{"a record deleted", provenance.Delete, "shop", forged, "", provenance.ReasonAgentOnly},
		{"a deletion under way finished", provenance.Delete, "shop", replace(forged, "namespace: shop", "namespace: shop, deletionTimestamp: '2025-01-01T00:00:00Z'"), "", provenance.ReasonTerminating},
		{"another release's record", provenance.Create, "shop", "", record("x", "owner: helm, name: other"), provenance.ReasonNotInGit},
		{"another namespace", provenance.Create, "other", "", replace(forged, "namespace: shop", "namespace: other"), provenance.ReasonNotInGit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := &provenance.Request{Operation: tc.op, Kind: "Secret", Namespace: tc.ns, Name: "anything"}
			if tc.obj != "" {
				req.Object = toMap(t, tc.obj)
			}
			if tc.old != "" {
				req.OldObject = toMap(t, tc.old)
			}
			if res := (&provenance.Checker{}).Check(snap, req); res.Reason != tc.want {
				t.Errorf("%s, want %s", res.Reason, tc.want)
			}
		})
	}
	if r, ok := snap.AgentOfClaim(sa, "", "Secret", "shop", toMap(t, forged)); !ok || r != helmRoot {
		t.Errorf("the root's agent does not apply its claim: %v %v", r, ok)
	}
	if _, ok := snap.AgentOfClaim("system:serviceaccount:shop:other", "", "Secret", "shop", toMap(t, forged)); ok {
		t.Error("another identity applies the claim")
	}
}

// TestAgentOfClaimEveryObject: a root's agent applies a write of a
// claimed object only when the object as it was and as it will be are
// claimed by that agent's roots alone: it may not relabel its own record
// as another release's (which that release's agent then reads as its
// latest release), whatever order the roots sort in, nor turn an
// unclaimed object into a claimed one, nor take a claim's labels off.
func TestAgentOfClaimEveryObject(t *testing.T) {
	const sa = "system:serviceaccount:shop:deployer"
	other := provenance.Root{Name: "HelmRelease shop/zz", Source: "HelmRelease shop/zz"}
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetAgents(helmRoot, []string{sa})
	c.SetClaims(helmRoot, []provenance.Claim{{Kind: "Secret", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "podinfo"}, Via: "Helm's records of release podinfo"}})
	c.SetClaims(other, []provenance.Claim{{Kind: "Secret", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "zz"}, Via: "Helm's records of release zz"}})
	c.Update(part(t, helmRoot, "1", renderedSecret))
	snap := c.Store.Load()
	record := func(labels string) map[string]any {
		return toMap(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: r, namespace: shop, labels: {"+labels+"}}\n")
	}
	own, theirs, none := record("owner: helm, name: podinfo"), record("owner: helm, name: zz"), record("app: x")
	for _, tc := range []struct {
		name     string
		old, obj map[string]any
		want     bool
	}{
		{"its own record created", nil, own, true},
		{"its own record updated", own, own, true},
		{"its own record deleted", own, nil, true},
		{"its record relabelled as another release's", own, theirs, false},
		{"another release's record relabelled as its own", theirs, own, false},
		{"an unclaimed Secret made a record of another release", none, theirs, false},
		{"an unclaimed Secret made its own record", none, own, false},
		{"its record's labels taken off", own, none, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := snap.AgentOfClaim(sa, "", "Secret", "shop", tc.old, tc.obj); ok != tc.want {
				t.Errorf("AgentOfClaim = %v, want %v", ok, tc.want)
			}
		})
	}
}

// TestClaimsByVersionedName: a claim with a NamePrefix covers, whatever
// its labels, an object named that prefix and a version number: Helm's
// driver creates the record of each new version under that name, and a
// Secret someone else put there first fails every upgrade of the
// release (Git's change never reaches the cluster). A name that merely
// begins so (another release's, podinfo.v2) is not covered.
func TestClaimsByVersionedName(t *testing.T) {
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetClaims(helmRoot, []provenance.Claim{{Kind: "Secret", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "podinfo"},
		NamePrefix: "sh.helm.release.v1.podinfo.v", Via: "Helm's records of release podinfo"}})
	c.Update(part(t, helmRoot, "1", renderedSecret))
	snap := c.Store.Load()
	for _, tc := range []struct {
		name string
		want provenance.Reason
	}{
		{"sh.helm.release.v1.podinfo.v7", provenance.ReasonAgentOnly},
		{"sh.helm.release.v1.podinfo.v2.v1", provenance.ReasonNotInGit},
		{"sh.helm.release.v1.podinfo.v", provenance.ReasonNotInGit},
		{"sh.helm.release.v1.podinfo.v7x", provenance.ReasonNotInGit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := toMap(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: "+tc.name+", namespace: shop}\n")
			req := &provenance.Request{Operation: provenance.Create, Kind: "Secret", Namespace: "shop", Name: tc.name, Object: obj}
			if res := (&provenance.Checker{}).Check(snap, req); res.Reason != tc.want {
				t.Errorf("%s, want %s", res.Reason, tc.want)
			}
		})
	}
}
