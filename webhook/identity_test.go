package webhook

import (
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
)

func TestClassify(t *testing.T) {
	def := DefaultIdentities()
	custom := DefaultIdentities()
	custom.ExemptUsers = append(custom.ExemptUsers, "ops-bot")
	custom.AgentUsers = append(custom.AgentUsers, "system:serviceaccount:*:gitops-reconciler", "argo-*")
	custom.AgentGroups = []string{"gitops-agents"}
	custom.ControllerUsers = append(custom.ControllerUsers, "ci-*-runner")
	custom.ControllerGroups = []string{"operators"}
	custom.ExemptGroups = append(custom.ExemptGroups, "platform-core")

	tests := []struct {
		name        string
		ids         Identities
		user        string
		groups      []string
		want        Class
		wantPattern string
	}{
		// The defaults.
		{"kube-system service account", def, "system:serviceaccount:kube-system:deployment-controller", nil, Exempt, "system:serviceaccount:kube-system:*"},
		{"API server", def, "system:apiserver", nil, Exempt, "system:apiserver"},
		{"kubelet by group", def, "system:node:worker-1", []string{"system:nodes", "system:authenticated"}, Exempt, "system:nodes"},
		{"node bootstrap", def, "system:bootstrap:abcdef", []string{"system:bootstrappers"}, Exempt, "system:bootstrappers"},
		{"flux kustomize-controller", def, "system:serviceaccount:flux-system:kustomize-controller", nil, Agent, "system:serviceaccount:flux-system:*"},
		{"flux source-controller", def, "system:serviceaccount:flux-system:source-controller", nil, Agent, "system:serviceaccount:flux-system:*"},
		{"flux helm-controller", def, "system:serviceaccount:flux-system:helm-controller", nil, Agent, "system:serviceaccount:flux-system:*"},
		{"argo cd application controller", def, "system:serviceaccount:argocd:argocd-application-controller", nil, Agent, "system:serviceaccount:argocd:argocd-application-controller"},
		{"argo cd server writes for people: a person", def, "system:serviceaccount:argocd:argocd-server", nil, Person, "system:serviceaccount:argocd:argocd-server"},
		{"argo cd applicationset controller is a controller outside its scope", def, "system:serviceaccount:argocd:argocd-applicationset-controller", nil, Controller, "system:serviceaccount:*"},
		{"argo cd notifications controller is a controller", def, "system:serviceaccount:argocd:argocd-notifications-controller", nil, Controller, "system:serviceaccount:*"},
		{"argo cd server elsewhere is a controller", def, "system:serviceaccount:argo:argocd-server", nil, Controller, "system:serviceaccount:*"},
		{"cert-manager", def, "system:serviceaccount:cert-manager:cert-manager", []string{"system:serviceaccounts", "system:serviceaccounts:cert-manager"}, Controller, "system:serviceaccount:*"},
		{"a namespace named like flux-system is not flux", def, "system:serviceaccount:flux-system-x:kustomize-controller", nil, Controller, "system:serviceaccount:*"},
		{"person", def, "dev-user", []string{"system:masters", "system:authenticated"}, Person, ""},
		{"impostor of an exempt name", def, "system:kube-controller-manager-impostor", nil, Person, ""},
		{"service-account lookalike without the colon", def, "system:serviceaccountx", nil, Person, ""},
		{"nobody", def, "", nil, Person, ""},

		// Patterns with * anywhere, groups, and the order of decision.
		{"* in the middle: a tenant", custom, "system:serviceaccount:team-a:gitops-reconciler", nil, Agent, "system:serviceaccount:*:gitops-reconciler"},
		{"* in the middle needs the suffix", custom, "system:serviceaccount:team-a:gitops-reconciler-2", nil, Controller, "system:serviceaccount:*"},
		{"* at the end", custom, "argo-sync", nil, Agent, "argo-*"},
		{"* matches nothing too", custom, "argo-", nil, Agent, "argo-*"},
		{"* twice", custom, "ci-gitlab-42-runner", nil, Controller, "ci-*-runner"},
		{"agent group", custom, "robot", []string{"system:authenticated", "gitops-agents"}, Agent, "gitops-agents"},
		{"controller group", custom, "robot", []string{"operators"}, Controller, "operators"},
		{"groups match exactly", custom, "robot", []string{"operators-x", "gitops"}, Person, ""},
		{"exempt beats agent", custom, "system:serviceaccount:kube-system:gitops-reconciler", nil, Exempt, "system:serviceaccount:kube-system:*"},
		{"exempt group beats agent user", custom, "argo-sync", []string{"platform-core"}, Exempt, "platform-core"},
		{"agent group beats controller user", custom, "system:serviceaccount:shop:bot", []string{"gitops-agents"}, Agent, "gitops-agents"},
		{"extra exempt user", custom, "ops-bot", nil, Exempt, "ops-bot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, p := tt.ids.Classify(authenticationv1.UserInfo{Username: tt.user, Groups: tt.groups})
			if got != tt.want || p != tt.wantPattern {
				t.Errorf("Classify(%q, %v) = %v %q, want %v %q", tt.user, tt.groups, got, p, tt.want, tt.wantPattern)
			}
		})
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "anything:at:all", true},
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"a*", "a", true},
		{"*c", "abc", true},
		{"*c", "abcd", false},
		{"a*c", "abbbc", true},
		{"a*c", "abcbd", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxcyyb", false},
		{"*:gitops", "system:serviceaccount:x:gitops", true},
		{"a**b", "ab", true},
		{"*aab", "aaab", true}, // backtracking: the star must take one more
		{"system:serviceaccount:*:x", "system:serviceaccount:a:b:x", true},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.name); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.name, got, tt.want)
		}
	}
}

func TestIdentitiesValidate(t *testing.T) {
	ids := DefaultIdentities()
	if err := ids.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	ids.AgentUsers = append(ids.AgentUsers, "")
	ids.ControllerUsers = []string{" "}
	ids.AgentGroups = []string{"team-*"}
	ids.ExemptGroups = append(ids.ExemptGroups, "")
	err := ids.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{"--agent must not be empty", "--controller must not be empty", `--agent-group "team-*"`, "--exempt-group must not be empty"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestParseResource(t *testing.T) {
	tests := []struct {
		in      string
		want    Resource
		wantErr string
	}{
		{in: "/nodes", want: Resource{Resource: "nodes"}},
		{in: "coordination.k8s.io/leases", want: Resource{Group: "coordination.k8s.io", Resource: "leases"}},
		{in: "authorization.k8s.io/*", want: Resource{Group: "authorization.k8s.io", Resource: "*"}},
		{in: "nodes", wantErr: "is not GROUP/RESOURCE"},
		{in: "apps/", wantErr: "is not GROUP/RESOURCE"},
		{in: "", wantErr: "is not GROUP/RESOURCE"},
		{in: "certificates.k8s.io/certificatesigningrequests/approval", wantErr: "is not GROUP/RESOURCE"},
		{in: "*/leases", wantErr: "* stands only for a whole resource"},
		{in: "apps/deploy*", wantErr: "* stands only for a whole resource"},
		{in: "apps/Deployment", wantErr: "lower-case"},
	}
	for _, tt := range tests {
		got, err := ParseResource(tt.in)
		switch {
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseResource(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("ParseResource(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.wantErr == "" && got.String() != tt.in:
			t.Errorf("ParseResource(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestDefaultSkip(t *testing.T) {
	skip := DefaultSkip()
	for _, r := range []struct {
		group, resource string
		want            bool
	}{
		{"", "nodes", true},
		{"certificates.k8s.io", "certificatesigningrequests", true},
		{"", "events", true},
		{"events.k8s.io", "events", true},
		{"coordination.k8s.io", "leases", true},
		{"coordination.k8s.io", "leasecandidates", true},
		{"authentication.k8s.io", "tokenreviews", true},
		{"authorization.k8s.io", "subjectaccessreviews", true},
		{"", "endpoints", false},
		{"discovery.k8s.io", "endpointslices", false},
		{"", "configmaps", false},
		{"apps", "nodes", false},
		{"", "leases", false},
	} {
		if got := skip.Has(r.group, r.resource); got != r.want {
			t.Errorf("Has(%q, %q) = %v, want %v", r.group, r.resource, got, r.want)
		}
	}
}

// TestClassifyDoesNotAllocate: Classify runs on every admission request.
func TestClassifyDoesNotAllocate(t *testing.T) {
	ids := DefaultIdentities()
	u := authenticationv1.UserInfo{Username: "dev-user", Groups: []string{"system:masters", "system:authenticated"}}
	if n := testing.AllocsPerRun(100, func() { ids.Classify(u) }); n != 0 {
		t.Errorf("Classify allocates %v times per call, want 0", n)
	}
}
