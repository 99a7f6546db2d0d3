package provenance_test

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

// TestDefaultGitOpsKinds: the default list parses and holds Flux's,
// Flux Operator's, image automation's, notification's and Argo CD's kinds,
// and nothing of Argo Rollouts or the built-in groups.
func TestDefaultGitOpsKinds(t *testing.T) {
	if _, err := provenance.ParseGitOpsKinds(provenance.DefaultGitOpsKinds); err != nil {
		t.Fatal(err)
	}
	var defaults provenance.GitOpsKinds // nil: the defaults
	for _, tc := range []struct {
		group, kind string
		want        bool
	}{
		{"kustomize.toolkit.fluxcd.io", "Kustomization", true},
		{"source.toolkit.fluxcd.io", "GitRepository", true},
		{"source.toolkit.fluxcd.io", "OCIRepository", true},
		{"helm.toolkit.fluxcd.io", "HelmRelease", true},
		{"fluxcd.controlplane.io", "FluxInstance", true},
		{"fluxcd.controlplane.io", "ResourceSet", true},
		{"fluxcd.controlplane.io", "ResourceSetInputProvider", true},
		{"fluxcd.controlplane.io", "FluxReport", true},
		{"image.toolkit.fluxcd.io", "ImageRepository", true},
		{"image.toolkit.fluxcd.io", "ImagePolicy", true},
		{"image.toolkit.fluxcd.io", "ImageUpdateAutomation", true},
		{"notification.toolkit.fluxcd.io", "Provider", true},
		{"notification.toolkit.fluxcd.io", "Alert", true},
		{"notification.toolkit.fluxcd.io", "Receiver", true},
		{"argoproj.io", "Application", true},
		{"argoproj.io", "ApplicationSet", true},
		{"argoproj.io", "AppProject", true},
		{"argoproj.io", "AnalysisRun", false},
		{"argoproj.io", "Rollout", false},
		{"apps", "Deployment", false},
		{"", "Secret", false},
	} {
		if got := defaults.Has(tc.group, tc.kind); got != tc.want {
			t.Errorf("Has(%s, %s) = %v, want %v", tc.group, tc.kind, got, tc.want)
		}
		if got := provenance.GitOpsKind(tc.group, tc.kind); got != tc.want {
			t.Errorf("GitOpsKind(%s, %s) = %v, want %v", tc.group, tc.kind, got, tc.want)
		}
	}
}

// TestParseGitOpsKinds: GROUP is a whole group, GROUP/KIND one kind, and
// every malformed value is reported, each by name.
func TestParseGitOpsKinds(t *testing.T) {
	for _, tc := range []struct {
		name    string
		values  []string
		has     [][2]string
		hasNot  [][2]string
		wantErr []string
	}{
		{name: "whole group", values: []string{"example.com"},
			has: [][2]string{{"example.com", "Widget"}, {"example.com", "Gadget"}}, hasNot: [][2]string{{"kustomize.toolkit.fluxcd.io", "Kustomization"}}},
		{name: "one kind", values: []string{"example.com/Widget"},
			has: [][2]string{{"example.com", "Widget"}}, hasNot: [][2]string{{"example.com", "Gadget"}}},
		{name: "a group after one of its kinds takes the whole group", values: []string{"example.com/Widget", "example.com"},
			has: [][2]string{{"example.com", "Gadget"}}},
		{name: "a kind after its whole group changes nothing", values: []string{"example.com", "example.com/Widget"},
			has: [][2]string{{"example.com", "Gadget"}}},
		{name: "two kinds of a group", values: []string{"argoproj.io/Application", "argoproj.io/AppProject"},
			has: [][2]string{{"argoproj.io", "Application"}, {"argoproj.io", "AppProject"}}, hasNot: [][2]string{{"argoproj.io", "Rollout"}}},
		{name: "none", values: nil, hasNot: [][2]string{{"kustomize.toolkit.fluxcd.io", "Kustomization"}}},
		{name: "malformed", values: []string{"", "/Kustomization", "Example.com", "example.com/", "example.com/widgets", "example.com/*", "example.com/A/B", "ok.example.com/Good"},
			wantErr: []string{`"": want GROUP or GROUP/KIND`, `"/Kustomization": want GROUP`, `"Example.com" is not an API group`,
				`"example.com/": "" is not a kind`, `"widgets" is not a kind`, `"*" is not a kind`, `"A/B" is not a kind`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := provenance.ParseGitOpsKinds(tc.values)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("ParseGitOpsKinds(%q) = %v, want an error", tc.values, k)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				if strings.Contains(err.Error(), "ok.example.com") {
					t.Errorf("error %q names a valid value", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, gk := range tc.has {
				if !k.Has(gk[0], gk[1]) {
					t.Errorf("%s/%s missing", gk[0], gk[1])
				}
			}
			for _, gk := range tc.hasNot {
				if k.Has(gk[0], gk[1]) {
					t.Errorf("%s/%s held", gk[0], gk[1])
				}
			}
		})
	}
}

// TestCheckerGitOpsKinds: the whole spec of a declared object of a GitOps
// kind is held to Git in declared mode, for the default kinds (a Flux
// Operator ResourceSet, whose resources flux-operator applies as itself)
// and for a kind --gitops-kind adds; a kind off the list keeps the
// declared-mode rule.
func TestCheckerGitOpsKinds(t *testing.T) {
	const rset = "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {name: apps, namespace: flux-system}\nspec: {resources: [{apiVersion: v1, kind: Namespace, metadata: {name: apps}}]}\n"
	const widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\nspec: {size: 1}\n"
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}}
	idx, err := ix.Build(provenancetest.Revision("a"), []provenance.File{{Path: "x.yaml", Objects: mustObjects(t, rset+"---\n"+widget)}})
	if err != nil {
		t.Fatal(err)
	}
	snap := idx.Snapshot()
	custom, err := provenance.ParseGitOpsKinds([]string{"example.com/Widget"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		gitops      provenance.GitOpsKinds
		group, kind string
		old, obj    string
		wantAllowed bool
	}{
		{name: "default list: a ResourceSet's undeclared spec field", group: "fluxcd.controlplane.io", kind: "ResourceSet",
			old: rset, obj: strings.Replace(rset, "spec: {", "spec: {serviceAccountName: flux-operator, ", 1)},
		{name: "default list: a Widget's undeclared spec field is free", group: "example.com", kind: "Widget",
			old: widget, obj: strings.Replace(widget, "size: 1", "size: 1, colour: red", 1), wantAllowed: true},
		{name: "--gitops-kind example.com/Widget: held", gitops: custom, group: "example.com", kind: "Widget",
			old: widget, obj: strings.Replace(widget, "size: 1", "size: 1, colour: red", 1)},
		{name: "--gitops-kind example.com/Widget: a ResourceSet is no longer one", gitops: custom, group: "fluxcd.controlplane.io", kind: "ResourceSet",
			old: rset, obj: strings.Replace(rset, "spec: {", "spec: {serviceAccountName: flux-operator, ", 1), wantAllowed: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := toMap(t, tc.obj)
			meta := obj["metadata"].(map[string]any)
			req := &provenance.Request{Operation: provenance.Update, Group: tc.group, Kind: tc.kind, Version: "v1",
				Namespace: meta["namespace"].(string), Name: meta["name"].(string), OldObject: toMap(t, tc.old), Object: obj}
			c := &provenance.Checker{Fields: provenance.FieldsDeclared, GitOps: tc.gitops}
			if res := c.Check(snap, req); res.Allowed != tc.wantAllowed {
				t.Errorf("Check = allowed %v (%s %v), want %v", res.Allowed, res.Reason, res.Diffs, tc.wantAllowed)
			}
		})
	}
}
