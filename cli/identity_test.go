package cli

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/webhook"
)

func TestIdentityOptions(t *testing.T) {
	base := []string{"--repo-url", "https://git.example.com/fleet.git", "--branch", "main"}
	tests := []struct {
		name     string
		args     []string
		wantIDs  webhook.Identities
		wantSkip webhook.Resources
		// wantGitOps are group/kind pairs --gitops-kind must hold, and
		// notGitOps pairs it must not.
		wantGitOps, notGitOps [][2]string
		wantErr               []string // substrings of the error; none means valid
	}{
		{name: "defaults", args: base, wantIDs: webhook.DefaultIdentities(), wantSkip: webhook.DefaultSkip(),
			wantGitOps: [][2]string{{"kustomize.toolkit.fluxcd.io", "Kustomization"}, {"fluxcd.controlplane.io", "ResourceSet"}, {"image.toolkit.fluxcd.io", "ImageUpdateAutomation"},
				{"notification.toolkit.fluxcd.io", "Receiver"}, {"argoproj.io", "Application"}},
			notGitOps: [][2]string{{"argoproj.io", "Rollout"}}},
		{name: "--gitops-kind replaces the defaults", args: append(base, "--gitops-kind", "example.com", "--gitops-kind", "argoproj.io/Application"),
			wantIDs: webhook.DefaultIdentities(), wantSkip: webhook.DefaultSkip(),
			wantGitOps: [][2]string{{"example.com", "Widget"}, {"argoproj.io", "Application"}},
			notGitOps:  [][2]string{{"kustomize.toolkit.fluxcd.io", "Kustomization"}, {"argoproj.io", "AppProject"}}},
		{
			name: "every flag",
			args: append(base, "--agent", "system:serviceaccount:*:gitops-reconciler", "--agent", "system:serviceaccount:flux-system:*",
				"--agent-group", "gitops", "--controller", "system:serviceaccount:cert-manager:*", "--controller-group", "operators",
				"--exempt-user", "ops-bot", "--exempt-group", "platform", "--skip-resource", "/nodes", "--skip-resource", "example.com/*"),
			wantIDs: webhook.Identities{
				ExemptUsers:      append(webhook.DefaultIdentities().ExemptUsers, "ops-bot"),
				ExemptGroups:     append(webhook.DefaultIdentities().ExemptGroups, "platform"),
				AgentUsers:       []string{"system:serviceaccount:*:gitops-reconciler", "system:serviceaccount:flux-system:*"},
				AgentGroups:      []string{"gitops"},
				ControllerUsers:  []string{"system:serviceaccount:cert-manager:*"},
				ControllerGroups: []string{"operators"},
				AgentFor:         webhook.DefaultIdentities().AgentFor,
				Annotators:       webhook.DefaultIdentities().Annotators,
				PeopleProxies:    webhook.DefaultPeopleProxies,
			},
			wantSkip: webhook.Resources{{Resource: "nodes"}, {Group: "example.com", Resource: "*"}},
		},
		{
			name: "Argo CD in another namespace",
			args: append(base, "--agent-for", "system:serviceaccount:gitops:argocd-applicationset-controller=argoproj.io/Application",
				"--annotator", "system:serviceaccount:gitops:argocd-notifications-controller=argoproj.io/Application",
				"--people-proxy", "system:serviceaccount:gitops:argocd-server"),
			wantIDs: func() webhook.Identities {
				ids := webhook.DefaultIdentities()
				ids.AgentFor = []webhook.Scope{{Subject: "system:serviceaccount:gitops:argocd-applicationset-controller", Group: "argoproj.io", Kind: "Application"}}
				ids.Annotators = []webhook.Scope{{Subject: "system:serviceaccount:gitops:argocd-notifications-controller", Group: "argoproj.io", Kind: "Application"}}
				ids.PeopleProxies = []string{"system:serviceaccount:gitops:argocd-server"}
				return ids
			}(),
			wantSkip: webhook.DefaultSkip(),
		},
		{
			name: "a scoped agent only for GitOps kinds",
			args: append(base, "--agent-for", "system:serviceaccount:ci:deployer=apps/Deployment", "--agent-for", "x=argoproj.io/Application",
				"--gitops-kind", "kustomize.toolkit.fluxcd.io"),
			wantErr: []string{`--agent-for "system:serviceaccount:ci:deployer=apps/Deployment": apps/Deployment is not a GitOps kind`,
				`--agent-for "x=argoproj.io/Application": argoproj.io/Application is not a GitOps kind`},
		},
		{
			name: "every error at once, each naming its flag",
			args: append(base, "--agent", "", "--controller", "", "--exempt-user", " ", "--agent-group", "team-*",
				"--skip-resource", "nodes", "--skip-resource", "apps/Deployment", "--gitops-kind", "example.com/widgets",
				"--agent-for", "argoproj.io/Application", "--annotator", "x=argoproj.io/applications", "--people-proxy", ""),
			wantErr: []string{"--agent must not be empty", "--controller must not be empty", "--exempt-user must not be empty",
				`--agent-group "team-*"`, `--skip-resource "nodes" is not GROUP/RESOURCE`, `--skip-resource "apps/Deployment": resources are plural and lower-case`,
				`--gitops-kind "example.com/widgets": "widgets" is not a kind`,
				`--agent-for "argoproj.io/Application" is not SUBJECT=GROUP/KIND`, `--annotator "x=argoproj.io/applications": "argoproj.io/applications" is not GROUP/KIND`,
				"--people-proxy must not be empty"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := parseServe(t, tc.args...)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("want an error with %q", tc.wantErr)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error lacks %q:\n%v", w, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(o.identities.identities, tc.wantIDs) {
				t.Errorf("identities = %+v\nwant %+v", o.identities.identities, tc.wantIDs)
			}
			if !reflect.DeepEqual(o.identities.skip, tc.wantSkip) {
				t.Errorf("skip = %v, want %v", o.identities.skip, tc.wantSkip)
			}
			for _, gk := range tc.wantGitOps {
				if !o.cfg.GitOpsKinds.Has(gk[0], gk[1]) {
					t.Errorf("GitOpsKinds lacks %s/%s", gk[0], gk[1])
				}
			}
			for _, gk := range tc.notGitOps {
				if o.cfg.GitOpsKinds.Has(gk[0], gk[1]) {
					t.Errorf("GitOpsKinds holds %s/%s", gk[0], gk[1])
				}
			}
		})
	}
}
