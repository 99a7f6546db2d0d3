package webhook

import (
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
)

func TestClassify(t *testing.T) {
	ids := Identities{Agents: append([]string{"argo-*"}, DefaultAgents...), ExemptUsers: append([]string{"ops-bot"}, DefaultExemptUsers...), ExemptGroups: DefaultExemptGroups}
	tests := []struct {
		user        string
		groups      []string
		want        Class
		wantPattern string
	}{
		{"system:serviceaccount:flux-system:kustomize-controller", nil, Agent, "system:serviceaccount:flux-system:kustomize-controller"},
		{"argo-sync", nil, Agent, "argo-*"},
		{"system:serviceaccount:kube-system:deployment-controller", nil, Exempt, "system:serviceaccount:kube-system:*"},
		{"system:apiserver", nil, Exempt, "system:apiserver"},
		{"ops-bot", nil, Exempt, "ops-bot"},
		{"system:node:worker-1", []string{"system:nodes", "system:authenticated"}, Exempt, "system:nodes"},
		{"dev-user", []string{"system:masters"}, Person, ""},
		{"system:serviceaccount:flux-system:source-controller", nil, Person, ""},
		{"system:kube-controller-manager-impostor", nil, Person, ""},
		{"", nil, Person, ""},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, p := ids.Classify(authenticationv1.UserInfo{Username: tt.user, Groups: tt.groups})
			if got != tt.want || p != tt.wantPattern {
				t.Errorf("Classify(%q, %v) = %v %q, want %v %q", tt.user, tt.groups, got, p, tt.want, tt.wantPattern)
			}
		})
	}
}
