package webhook

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/compare"
)

const (
	// deployer is the service account a HelmRelease names as
	// spec.serviceAccountName: helm-controller applies its release as it.
	deployer = "system:serviceaccount:shop:deployer"
	// releaseDeployment and releaseSecret are what the HelmRelease
	// renders; the Secret's token is random.
	releaseDeployment = `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"podinfo","namespace":"shop"},
		"spec":{"replicas":1,"selector":{"matchLabels":{"app":"podinfo"}},"template":{"metadata":{"labels":{"app":"podinfo"}},
		"spec":{"containers":[{"name":"podinfo","image":"podinfo:6.5.0"}]}}}}`
	releaseSecret = `{"apiVersion":"v1","kind":"Secret","metadata":{"name":"session","namespace":"shop"},"data":{"token":"cmVuZGVy"}}`
	// deployerPod runs as the HelmRelease's service account.
	deployerPod = `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"debug","namespace":"shop"},
		"spec":{"serviceAccountName":"deployer","containers":[{"name":"sh","image":"busybox"}]}}`
)

var (
	helmRoot = provenance.Root{Name: "HelmRelease shop/podinfo", Source: "HelmRelease shop/podinfo"}
	// helmLabel is the revision of helmRoot's render.
	helmLabel = "chart podinfo 6.5.0 of HelmRepository flux-system/charts at 6.5.0@sha256:abcd"

	releaseChange = change{group: "apps", version: "v1", kind: "Deployment", resource: "deployments", obj: releaseDeployment, namespace: "shop", name: "podinfo"}
	sessionChange = change{version: "v1", kind: "Secret", resource: "secrets", obj: releaseSecret, namespace: "shop", name: "session"}
	// forgedRecord is a Secret Helm would take for release podinfo's
	// latest record, whatever its name.
	forgedRecord = change{version: "v1", kind: "Secret", resource: "secrets", namespace: "shop", name: "not-a-record-name",
		obj: `{"apiVersion":"v1","kind":"Secret","type":"helm.sh/release.v1","metadata":{"name":"not-a-record-name","namespace":"shop","labels":{"owner":"helm","name":"podinfo","version":"99"}},"data":{"release":"Zm9yZ2Vk"}}`}
	deployerPodChange = change{version: "v1", kind: "Pod", resource: "pods", obj: deployerPod, namespace: "shop", name: "debug"}
)

// helmSnapshot holds a HelmRelease root, which names deployer as its
// agent and declares the Deployment podinfo and the Secret session (its
// token indeterminate), and a Kustomization root declaring shop/web.
func helmSnapshot(t *testing.T) *provenance.Snapshot {
	t.Helper()
	c := &provenance.Composer{Store: &provenance.Store{}, Log: logr.Discard()}
	c.SetAgents(helmRoot, []string{deployer})
	c.SetClaims(helmRoot, []provenance.Claim{{Kind: "Secret", Namespace: "shop", Labels: map[string]string{"owner": "helm", "name": "podinfo"}, Via: "Helm's records of release podinfo"}})
	helm := &provenance.Indexer{Scope: clusterScope{}, Root: helmRoot}
	hidx, err := helm.Build(provenance.Revision{Label: helmLabel}, []provenance.File{
		{Path: "podinfo/templates/deployment.yaml", Objects: []map[string]any{object(t, releaseDeployment)}},
		{Path: "podinfo/templates/secret.yaml", Objects: []map[string]any{object(t, releaseSecret)}, Indeterminate: []string{"/data/token"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	apps := &provenance.Indexer{Scope: clusterScope{}, Root: provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/fleet"}}
	aidx, err := apps.Build(provenance.Revision{Ref: "main", Hash: strings.Repeat("a", 40)}, []provenance.File{{Path: "apps/web.yaml", Objects: []map[string]any{object(t, declaredDeployment)}}})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: hidx}, provenance.Part{Index: aidx})
	return c.Store.Load()
}

// TestRootAgent: the service account a HelmRelease names is the agent for
// the objects that release alone declares (an upgrade's change, a
// delete, the random token), and judged by its class for anything else;
// whoever else writes the release's objects is judged as ever (the
// token's value is nobody's but the agent's); and the account's token
// is an agent's: nobody mints it or runs a Pod as it.
func TestRootAgent(t *testing.T) {
	snap := helmSnapshot(t)
	newImage := setPath([]string{"spec", "template", "spec", "containers"}, []any{map[string]any{"name": "podinfo", "image": "podinfo:6.6.0"}})
	newToken := setPath([]string{"data", "token"}, "bWluZQ==")
	for _, tc := range []struct {
		name        string
		user        string
		req         func(t *testing.T) admissionRequestFunc
		wantOutcome string
		wantReason  provenance.Reason
		wantClass   Class
		wantMessage []string
	}{
		{"upgrade by the release's account", deployer, changed(releaseChange.with(admissionv1.Update, newImage)), outcomeAllowed, reasonAgent, Agent, nil},
		{"uninstall by the release's account", deployer, changed(releaseChange.with(admissionv1.Delete, nil)), outcomeAllowed, reasonAgent, Agent, nil},
		{"token by the release's account", deployer, changed(sessionChange.with(admissionv1.Update, newToken)), outcomeAllowed, reasonAgent, Agent, nil},
		{"another root's object", deployer, changed(deploymentChange.with(admissionv1.Update, setPath([]string{"spec", "replicas"}, 9))),
			"denied", provenance.ReasonFieldMismatch, Controller, nil},
		{"another account", "system:serviceaccount:shop:other", changed(releaseChange.with(admissionv1.Update, newImage)),
			"denied", provenance.ReasonFieldMismatch, Controller, nil},
		{"a person's token", "dev-user", changed(sessionChange.with(admissionv1.Update, newToken)),
			"denied", provenance.ReasonIndeterminate, Person, []string{"HelmRelease shop/podinfo (" + helmLabel + ")", "file podinfo/templates/secret.yaml", "data.token", "only the GitOps agent, which renders it"}},
		{"a person's identical apply", "dev-user", changed(sessionChange.with(admissionv1.Update, nil)), outcomeAllowed, provenance.ReasonMatchesGit, Person, nil},
		{"a person mints the account's token", "dev-user", func(*testing.T) admissionRequestFunc { return constant(tokenRequest("dev-user", "shop", "deployer")) },
			"denied", reasonAgentToken, Person, nil},
		{"a controller mints the account's token", operator, func(*testing.T) admissionRequestFunc { return constant(tokenRequest(operator, "shop", "deployer")) },
			"denied", reasonAgentToken, Controller, nil},
		{"a controller's Pod as the account", operator, changed(deployerPodChange.with(admissionv1.Create, nil)), "denied", reasonAgentToken, Controller, nil},
		{"a release record by the release's account", deployer, changed(forgedRecord.with(admissionv1.Create, nil)), outcomeAllowed, reasonAgent, Agent, nil},
		{"a declared object relabelled a release record by the release's account", deployer,
			changed(sessionChange.with(admissionv1.Update, setPath([]string{"metadata", "labels"}, map[string]any{"owner": "helm", "name": "podinfo"}))),
			"denied", provenance.ReasonAgentOnly, Controller, nil},
		{"a controller's forged release record", operator, changed(forgedRecord.with(admissionv1.Create, nil)), "denied", provenance.ReasonAgentOnly, Controller,
			[]string{"HelmRelease shop/podinfo claims this object (Helm's records of release podinfo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := agentsHandler(snap).Decide(context.Background(), tc.req(t)(tc.user))
			if d.Outcome != tc.wantOutcome || d.Reason != tc.wantReason || d.Class != tc.wantClass {
				t.Fatalf("outcome %s reason %s class %s, want %s %s %s\n%s", d.Outcome, d.Reason, d.Class, tc.wantOutcome, tc.wantReason, tc.wantClass, d.Message)
			}
			for _, w := range tc.wantMessage {
				if !strings.Contains(d.Message, w) {
					t.Errorf("message lacks %q:\n%s", w, d.Message)
				}
			}
			if strings.Contains(d.Message, "bWluZQ") || strings.Contains(d.Message, "cmVuZGVy") {
				t.Errorf("message shows a token:\n%s", d.Message)
			}
		})
	}
}

type admissionRequestFunc func(user string) admission.Request

// changed builds the admission request of c for a user.
func changed(c change) func(t *testing.T) admissionRequestFunc {
	return func(t *testing.T) admissionRequestFunc {
		return func(user string) admission.Request { return c.admissionRequest(t, user) }
	}
}

func constant(r admission.Request) admissionRequestFunc {
	return func(string) admission.Request { return r }
}

// TestHelmDenialNamesTheRelease: a refusal of what a HelmRelease renders
// names the release, its chart and version and the revision of the
// chart's source, and the chart's file; never a link into the repository
// (the file is the chart's), and for what only the agent writes, why.
func TestHelmDenialNamesTheRelease(t *testing.T) {
	snap := helmSnapshot(t)
	req := &provenance.Request{Operation: provenance.Update, Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "shop", Name: "podinfo"}
	e := snap.Lookup(req.Key())
	repo := Repo{URL: "the Flux GitRepositories", Browse: "https://git.example/fleet/blob/{revision}/{file}"}
	who := caller{user: "dev-user", class: Person}
	msg := denialMessage(req, who, snap, provenance.Result{Reason: provenance.ReasonFieldMismatch, Entry: e,
		Diffs: []compare.Diff{{Path: compare.Path{{Field: "spec", Index: -1}, {Field: "replicas", Index: -1}}, Git: int64(1), Request: int64(5)}}}, repo)
	for _, w := range []string{"HelmRelease shop/podinfo (" + helmLabel + "), file podinfo/templates/deployment.yaml", "spec.replicas"} {
		if !strings.Contains(msg, w) {
			t.Errorf("message lacks %q:\n%s", w, msg)
		}
	}
	if strings.Contains(msg, "https://git.example/fleet/blob") {
		t.Errorf("message links a chart file into the repository:\n%s", msg)
	}
	hook := &provenance.Entry{Key: provenance.Key{Group: "batch", Kind: "Job", Namespace: "shop", Name: "migrate"}, Path: "podinfo/templates/hook.yaml", AgentOnly: true, Transient: true, Root: helmRoot}
	msg = denialMessage(req, who, snap, provenance.Result{Reason: provenance.ReasonAgentOnly, Entry: hook}, repo)
	if !strings.Contains(msg, "makes and removes in the course of its work") || strings.Contains(msg, "encrypted") {
		t.Errorf("hook refusal:\n%s", msg)
	}
}
