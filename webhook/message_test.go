package webhook

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/gitgate/gitgate/breakglass"
	"github.com/gitgate/gitgate/provenance"
	"github.com/gitgate/gitgate/provenance/compare"
	"github.com/gitgate/gitgate/provenance/provenancetest"
)

func TestMessages(t *testing.T) {
	long := strings.Repeat("x", 5000)
	secretReq := &provenance.Request{Operation: provenance.Update, Version: "v1", Kind: "Secret", Namespace: "shop", Name: "db"}
	cmReq := &provenance.Request{Operation: provenance.Update, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}
	path := func(fs ...string) compare.Path {
		p := compare.Path{}
		for _, f := range fs {
			p = append(p, compare.Step{Field: f, Index: -1})
		}
		return p
	}
	entry := &provenance.Entry{Path: "secret.yaml"}
	repo := Repo{URL: "https://git.example/fleet.git"}
	dev := caller{user: "dev-user", class: Person}
	tests := []struct {
		name      string
		msg       string
		want      []string
		forbidden []string
	}{
		{
			name: "secret values hidden",
			msg: denialMessage(secretReq, dev, snap, provenance.Result{Reason: provenance.ReasonFieldMismatch, Entry: entry, Diffs: []compare.Diff{
				{Path: path("data", "password"), Git: "czNjcjN0", Request: "aHVudGVy"},
				{Path: path("metadata", "annotations", "kubectl.kubernetes.io/last-applied-configuration"), Kind: compare.Undeclared, Request: `{"data":{"password":"aHVudGVy"}}`},
			}}, repo),
			want:      []string{"data.password: Git has (hidden: Secret data)", "file secret.yaml", "gitgate denied UPDATE of Secret shop/db by dev-user"},
			forbidden: []string{"czNjcjN0", "aHVudGVy"},
		},
		{
			name: "long values stay under 1 KB",
			msg: denialMessage(cmReq, dev, snap, provenance.Result{Reason: provenance.ReasonFieldMismatch, Entry: entry, Diffs: []compare.Diff{
				{Path: path("data", "a"), Git: long, Request: long}, {Path: path("data", "b"), Git: long, Request: long},
				{Path: path("data", "c"), Git: long, Request: long}, {Path: path("data", "d"), Git: long, Request: long},
			}}, repo),
			want: []string{"data.a: Git has", "and 1 more"},
		},
		{
			name: "warn mode rewords the denial",
			msg:  warnMessage(denialMessage(cmReq, dev, snap, provenance.Result{Reason: provenance.ReasonNotInGit}, repo)),
			want: []string{"gitgate would deny (warn mode) UPDATE of ConfigMap shop/web-config by dev-user: Git does not declare this object"},
		},
		{
			name: "stale",
			msg:  staleMessage(cmReq, "dev-user", repo, nil, 754*time.Second, 10*time.Minute),
			want: []string{"last read Git (https://git.example/fleet.git) 12m34s ago, longer than --max-staleness 10m0s"},
		},
		{
			name: "break-glass warning on one line",
			msg:  breakGlassWarning(breakglass.Use{Grant: "inc-42", Reason: "INC-42\ndatabase   down"}),
			want: []string{"break-glass grant inc-42 (INC-42 database down) used; commit this change to Git or the GitOps agent will revert it"},
		},
		{
			name:      "break-glass warning bounds a long reason",
			msg:       breakGlassWarning(breakglass.Use{Grant: "g", Reason: long}),
			want:      []string{"…) used;"},
			forbidden: []string{strings.Repeat("x", maxGrantReasonLen)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if len(tt.msg) >= 1024 {
				t.Errorf("message is %d bytes, want under 1 KB", len(tt.msg))
			}
			if strings.Contains(tt.msg, "\n") {
				t.Errorf("message spans lines: %q", tt.msg)
			}
			for _, w := range tt.want {
				if !strings.Contains(tt.msg, w) {
					t.Errorf("message lacks %q:\n%s", w, tt.msg)
				}
			}
			for _, f := range tt.forbidden {
				if strings.Contains(tt.msg, f) {
					t.Errorf("message contains %q:\n%s", f, tt.msg)
				}
			}
		})
	}
}

func TestSubresourceDenialMessages(t *testing.T) {
	tests := []struct {
		reason provenance.Reason
		sub    string
		want   []string
	}{
		{provenance.ReasonStatusWrite, "status", []string{"may not write its status", "break-glass grant"}},
		{provenance.ReasonEphemeralContainer, "ephemeralcontainers", []string{"kubectl debug", "break-glass grant"}},
		{provenance.ReasonPodResize, "resize", []string{"resize a running Pod", "break-glass grant"}},
		{provenance.ReasonDeadline, "", []string{"within gitgate's decision deadline"}},
		{provenance.ReasonAgentOnly, "", []string{"encrypted values", "only the GitOps agent", "break-glass grant"}},
	}
	snap := provenancetest.Empty(provenance.Revision{Ref: "main", Hash: "0123456789abcdef0123456789abcdef01234567"})
	for _, tc := range tests {
		t.Run(string(tc.reason), func(t *testing.T) {
			req := &provenance.Request{Operation: provenance.Update, Kind: "Pod", Namespace: "shop", Name: "web-1", Subresource: tc.sub}
			msg := denialMessage(req, caller{user: "dev-user", class: Person}, snap, provenance.Result{Reason: tc.reason}, Repo{URL: "https://git.example/fleet.git"})
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q: %s", w, msg)
				}
			}
			if strings.Contains(msg, ": .") {
				t.Errorf("message has an empty list of differences: %s", msg)
			}
		})
	}
}

// TestMessagesNameTheRoot: with several roots, a denial names the root,
// revision and file of the object judged, and advises its repository; a
// not-in-Git denial names the roots consulted and those not loaded yet.
func TestMessagesNameTheRoot(t *testing.T) {
	apps := provenance.Root{Name: "Kustomization flux-system/apps", Source: "GitRepository flux-system/apps", URL: "https://git.example/apps.git"}
	infra := provenance.Root{Name: "Kustomization flux-system/infra", Source: "GitRepository flux-system/infra", URL: "https://git.example/infra.git"}
	late := provenance.Root{Name: "path late", Source: "https://git.example/late.git", URL: "https://git.example/late.git"}
	c := &provenance.Composer{Store: &provenance.Store{}}
	c.Expect(late)
	for _, r := range []struct {
		root provenance.Root
		hash string
		yaml string
	}{
		{apps, strings.Repeat("a", 40), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {greeting: hello}\n"},
		{infra, strings.Repeat("b", 40), "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n"},
	} {
		ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: r.root}
		part, err := ix.Build(provenance.Revision{Ref: "main", Hash: r.hash}, []provenance.File{{Path: "apps/web.yaml", Objects: provenancetest.Objects(t, r.yaml)}})
		if err != nil {
			t.Fatal(err)
		}
		c.Update(provenance.Part{Index: part})
	}
	snap := c.Store.Load()
	cmReq := &provenance.Request{Operation: provenance.Update, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}
	entry := snap.Lookup(cmReq.Key())
	dev := caller{user: "dev-user", class: Person}
	repo := Repo{URL: "https://git.example/apps.git, https://git.example/infra.git"}
	tests := []struct {
		name string
		msg  string
		want []string
	}{
		{"declared object", denialMessage(cmReq, dev, snap, provenance.Result{Reason: provenance.ReasonFieldMismatch, Entry: entry,
			Diffs: []compare.Diff{{Path: compare.Path{{Field: "data", Index: -1}}, Git: "a", Request: "b"}}}, repo),
			[]string{"in Kustomization flux-system/apps of GitRepository flux-system/apps at main@sha1:" + strings.Repeat("a", 40) + ", file apps/web.yaml",
				"Commit the change to https://git.example/apps.git (main)"}},
		{"not in Git", denialMessage(&provenance.Request{Operation: provenance.Create, Version: "v1", Kind: "Secret", Namespace: "shop", Name: "x"}, dev, snap,
			provenance.Result{Reason: provenance.ReasonNotInGit}, repo),
			[]string{"Git does not declare this object in any of 2 roots (Kustomization flux-system/apps of GitRepository flux-system/apps at main@aaaaaaa, Kustomization flux-system/infra of GitRepository flux-system/infra at main@bbbbbbb); 1 not loaded yet (first: path late)",
				"commit it to " + repo.URL}},
		{"stale root", staleMessage(cmReq, "dev-user", repo, snap.RootOf(entry), time.Hour, time.Minute),
			[]string{"last read Git (Kustomization flux-system/apps of https://git.example/apps.git) 1h0m0s ago"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, w := range tc.want {
				if !strings.Contains(tc.msg, w) {
					t.Errorf("message lacks %q:\n%s", w, tc.msg)
				}
			}
		})
	}
}

// TestDenialCodeHintAndLink: a denial starts with its reason code, ends with
// the team's hint, links the file in the web view at the enforced commit
// when a browse template is set, and shows the revision once.
func TestDenialCodeHintAndLink(t *testing.T) {
	root := provenance.Root{Name: "path apps", Source: "https://git.example/fleet.git", URL: "https://git.example/fleet.git"}
	c := &provenance.Composer{Store: &provenance.Store{}}
	hash := strings.Repeat("c", 40)
	ix := &provenance.Indexer{Scope: provenancetest.AnyKind{}, Root: root}
	part, err := ix.Build(provenance.Revision{Ref: "main", Hash: hash}, []provenance.File{{Path: "apps/web.yaml",
		Objects: provenancetest.Objects(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web-config, namespace: shop}\ndata: {a: a}\n")}})
	if err != nil {
		t.Fatal(err)
	}
	c.Update(provenance.Part{Index: part})
	snap := c.Store.Load()
	req := &provenance.Request{Operation: provenance.Update, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}
	res := provenance.Result{Reason: provenance.ReasonFieldMismatch, Entry: snap.Lookup(req.Key()),
		Diffs: []compare.Diff{{Path: compare.Path{{Field: "data", Index: -1}}, Git: "a", Request: "b"}}}
	v := verdict{reason: res.Reason, result: res, who: caller{user: "dev-user", class: Person}}
	tests := []struct {
		name       string
		h          *Handler
		want, lack []string
	}{
		{name: "plain", h: &Handler{Repo: Repo{URL: root.URL}},
			want: []string{"[field-mismatch] gitgate denied UPDATE", "path apps at main@sha1:" + hash + ", file apps/web.yaml", "Commit the change to https://git.example/fleet.git (main)"},
			lack: []string{"revision " + hash[:7]}},
		{name: "hint", h: &Handler{Repo: Repo{URL: root.URL}, DenialHint: "Break-glass: ask #sre-oncall."},
			want: []string{"[field-mismatch] gitgate denied", "the GitOps agent applies it. Break-glass: ask #sre-oncall."}},
		{name: "browse link", h: &Handler{Repo: Repo{URL: root.URL, Browse: "https://git.example/fleet/blob/{revision}/{file}"}},
			want: []string{"file https://git.example/fleet/blob/" + hash + "/apps/web.yaml", "Commit the change to https://git.example/fleet/blob/main/apps/web.yaml"},
			lack: []string{"https://git.example/fleet.git"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := tt.h.message(req, snap, v)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			for _, l := range tt.lack {
				if strings.Contains(msg, l) {
					t.Errorf("message has %q:\n%s", l, msg)
				}
			}
			if len(msg) > maxMessageLen {
				t.Errorf("message is %d bytes, over %d", len(msg), maxMessageLen)
			}
			if w := warnMessage(msg); !strings.HasPrefix(w, "[field-mismatch] gitgate would deny (warn mode) UPDATE") {
				t.Errorf("warning = %q", w)
			}
		})
	}
}

// TestBrowseLinkEscapesPaths: a file name in Git (or a kustomize origin
// annotation naming one) cannot add query parameters or leave the path in
// the link, and a name holding " (" keeps its whole path.
func TestBrowseLinkEscapesPaths(t *testing.T) {
	repo := Repo{Browse: "https://git.example/fleet/blob/{revision}/{file}"}
	for _, tc := range []struct {
		e    *provenance.Entry
		want string
	}{
		{&provenance.Entry{Path: "apps/web.yaml"}, "https://git.example/fleet/blob/main/apps/web.yaml"},
		{&provenance.Entry{Path: "apps/web (old).yaml"}, "https://git.example/fleet/blob/main/apps/web%20%28old%29.yaml"},
		{&provenance.Entry{Path: "apps/x.yaml?evil=1#frag"}, "https://git.example/fleet/blob/main/apps/x.yaml%3Fevil=1%23frag"},
		{&provenance.Entry{Path: "apps/base/web.yaml", Kustomize: "apps/prod"}, "https://git.example/fleet/blob/main/apps/base/web.yaml"},
		{&provenance.Entry{Path: "apps/prod", Kustomize: "apps/prod"}, "https://git.example/fleet/blob/main/apps/prod"},
	} {
		if got := fileRef(repo, &provenance.RootState{Revision: provenance.Revision{Hash: "main"}}, tc.e); got != tc.want {
			t.Errorf("link of %q = %q, want %q", tc.e.Origin(), got, tc.want)
		}
	}
}

// TestDenialHidesValuesThatMayComeFromASecret: an entry whose values may
// come from a Secret (substituteFrom) is named field by field, never with
// its values.
func TestDenialHidesValuesThatMayComeFromASecret(t *testing.T) {
	req := &provenance.Request{Operation: provenance.Update, Version: "v1", Kind: "ConfigMap", Namespace: "shop", Name: "web-config"}
	diffs := []compare.Diff{{Path: compare.Path{{Field: "data", Index: -1}, {Field: "dsn", Index: -1}}, Git: "postgres://app:s3cret@db", Request: "postgres://app:other@db"}}
	for _, hide := range []bool{false, true} {
		e := &provenance.Entry{Key: req.Key(), Path: "apps (kustomize)", HideValues: hide}
		msg := denialMessage(req, caller{user: "dev-user", class: Person}, &provenance.Snapshot{}, provenance.Result{Reason: provenance.ReasonFieldMismatch, Entry: e, Diffs: diffs}, Repo{URL: "https://git.example/fleet.git"})
		if !strings.Contains(msg, "data.dsn") {
			t.Errorf("hide=%v: the field is not named: %s", hide, msg)
		}
		if shown := strings.Contains(msg, "s3cret"); shown == hide {
			t.Errorf("hide=%v: value shown = %v: %s", hide, shown, msg)
		}
	}
}

// TestConflictRefusalNamesEveryRoot: a refusal of an object several roots
// declare (each its own value) names the root whose declaration refused
// it and, once each, the others (at most maxShownRoots of them), since
// the request must agree with all; one root's object gets no such note.
func TestConflictRefusalNamesEveryRoot(t *testing.T) {
	tests := []struct {
		roots    int
		want     []string
		wantOnce bool
	}{
		{1, nil, true},
		{2, []string{"Git declares this object in 2 roots (a conflict; also in path r", "make them agree in Git"}, true},
		{4, []string{"in 4 roots (a conflict"}, true},
		{5, []string{"in 5 roots (a conflict", ", and 1 more), and a request must agree"}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d roots", tt.roots), func(t *testing.T) {
			c := &provenance.Composer{Store: &provenance.Store{}}
			for i := range tt.roots {
				ix := &provenance.Indexer{Scope: clusterScope{}, Root: provenance.Root{Name: fmt.Sprintf("path r%d", i)}}
				obj := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared","namespace":"shop"},"data":{"v":"%d"}}`, i)
				idx, err := ix.Build(provenance.Revision{Hash: strings.Repeat("c", 40)}, []provenance.File{{Path: "cm.yaml", Objects: []map[string]any{object(t, obj)}}})
				if err != nil {
					t.Fatal(err)
				}
				c.Update(provenance.Part{Index: idx})
			}
			h := &Handler{Identities: DefaultIdentities(), Snapshots: fixedSnap{c.Store.Load()}, Checker: &provenance.Checker{},
				Repo: Repo{URL: "https://git.example/fleet.git"}, Audit: &records{}}
			cm := change{version: "v1", kind: "ConfigMap", resource: "configmaps", namespace: "shop", name: "shared",
				obj: `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"shared","namespace":"shop"},"data":{"v":"0"}}`}
			resp := h.Handle(context.Background(), cm.with(admissionv1.Update, func(m map[string]any) { m["data"] = map[string]any{"v": "x"} }).admissionRequest(t, "dev-user"))
			if resp.Allowed {
				t.Fatal("allowed, want refused")
			}
			msg := resp.Result.Message
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message lacks %q:\n%s", w, msg)
				}
			}
			if tt.roots == 1 && strings.Contains(msg, "a conflict") {
				t.Errorf("one root's object refused as a conflict:\n%s", msg)
			}
			for i := range tt.roots {
				name := fmt.Sprintf("path r%d", i)
				if n := strings.Count(msg, name); tt.wantOnce && n != 1 || n > 1 {
					t.Errorf("message names %s %d times, want once:\n%s", name, n, msg)
				}
			}
		})
	}
}
