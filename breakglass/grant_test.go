package breakglass

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func TestValidate(t *testing.T) {
	ok := Grant{Name: "g", Users: []string{"dev-user"}, Reason: "INC-1", GrantedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	with := func(f func(*Grant)) Grant { g := ok; f(&g); return g }
	tests := []struct {
		name string
		g    Grant
		want error
	}{
		{"valid", ok, nil},
		{"exactly the maximum", with(func(g *Grant) { g.ExpiresAt = t0.Add(4 * time.Hour) }), nil},
		{"group only", with(func(g *Grant) { g.Users = nil; g.Groups = []string{"sre"} }), nil},
		{"too long", with(func(g *Grant) { g.ExpiresAt = t0.Add(4*time.Hour + time.Second) }), ErrTooLong},
		{"no subjects", with(func(g *Grant) { g.Users = nil }), ErrNoSubjects},
		{"wildcard subject", with(func(g *Grant) { g.Users = []string{"*"} }), ErrBadSubject},
		{"empty subject", with(func(g *Grant) { g.Groups = []string{" "} }), ErrBadSubject},
		{"no reason", with(func(g *Grant) { g.Reason = "  " }), ErrNoReason},
		{"no expiry", with(func(g *Grant) { g.ExpiresAt = time.Time{} }), ErrNoTimes},
		{"no grantedAt", with(func(g *Grant) { g.GrantedAt = time.Time{} }), ErrNoTimes},
		{"expires before granted", with(func(g *Grant) { g.ExpiresAt = t0.Add(-time.Second) }), ErrNoTimes},
		{"granted in the future", with(func(g *Grant) { g.GrantedAt = t0.Add(time.Hour); g.ExpiresAt = t0.Add(2 * time.Hour) }), ErrFuture},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.g.Validate(DefaultMaxDuration, t0)
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	g := Grant{Users: []string{"dev-user"}, Groups: []string{"sre"}, Namespaces: []string{"shop"}, ExpiresAt: t0.Add(time.Minute)}
	tests := []struct {
		name   string
		user   string
		groups []string
		ns     string
		now    time.Time
		want   bool
	}{
		{"user in scope", "dev-user", nil, "shop", t0, true},
		{"group in scope", "alice", []string{"system:authenticated", "sre"}, "shop", t0, true},
		{"just before expiry", "dev-user", nil, "shop", t0.Add(time.Minute - time.Nanosecond), true},
		{"at expiry", "dev-user", nil, "shop", t0.Add(time.Minute), false},
		{"after expiry", "dev-user", nil, "shop", t0.Add(time.Hour), false},
		{"other namespace", "dev-user", nil, "bank", t0, false},
		{"cluster-scoped object", "dev-user", nil, "", t0, false},
		{"other user", "mallory", []string{"system:authenticated"}, "shop", t0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := g.Covers(tt.user, tt.groups, tt.ns, tt.now); got != tt.want {
				t.Errorf("Covers = %v, want %v", got, tt.want)
			}
		})
	}
	unscoped := g
	unscoped.Namespaces = nil
	if !unscoped.Covers("dev-user", nil, "", t0) {
		t.Error("a grant without namespaces must cover cluster-scoped objects")
	}
}

func TestLoadKeepsValidGrantsBesideInvalidOnes(t *testing.T) {
	valid, err := Grant{Users: []string{"dev-user"}, Reason: "INC-1", GrantedAt: t0, ExpiresAt: t0.Add(time.Hour)}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]string{
		"good":      valid,
		"yaml-good": "users: [bob]\nreason: INC-2\ngrantedAt: 2026-11-26T11:00:00Z\nexpiresAt: 2026-11-26T13:00:00Z\n",
		"expired":   "users: [bob]\nreason: old\ngrantedAt: 2026-11-26T08:00:00Z\nexpiresAt: 2026-11-26T09:00:00Z\n",
		"typo":      "users: [bob]\nreason: INC-3\ngrantedAt: 2026-11-26T11:00:00Z\nexpiry: 2026-11-26T13:00:00Z\n",
		"garbage":   "{not yaml",
		"too-long":  "users: [bob]\nreason: INC-4\ngrantedAt: 2026-11-26T11:00:00Z\nexpiresAt: 2026-11-27T11:00:00Z\n",
	}
	grants, invalid := Load(data, DefaultMaxDuration, t0)
	var names []string
	for _, g := range grants {
		names = append(names, g.Name)
	}
	if got, want := names, []string{"expired", "good", "yaml-good"}; !equal(got, want) {
		t.Errorf("valid grants = %v, want %v", got, want)
	}
	if len(invalid) != 3 || invalid["typo"] == nil || invalid["garbage"] == nil || !errors.Is(invalid["too-long"], ErrTooLong) {
		t.Errorf("invalid = %v, want typo, garbage and too-long", invalid)
	}
	s := &Store{}
	s.Set(grants)
	if n := s.Active(t0); n != 2 {
		t.Errorf("Active = %d, want 2 (the expired one does not count)", n)
	}
	if u, ok := s.Match("dev-user", nil, "shop", t0); !ok || u.Grant != "good" || u.Reason != "INC-1" {
		t.Errorf("Match = %+v %v, want grant good", u, ok)
	}
	if _, ok := s.Match("bob", nil, "shop", t0.Add(2*time.Hour)); ok {
		t.Error("bob's grants have all expired, Match must fail without a reload")
	}
}

func TestPermanentIdentities(t *testing.T) {
	s := &Store{PermanentUsers: []string{"root"}, PermanentGroups: []string{"breakglass"}}
	for _, tt := range []struct {
		user   string
		groups []string
		want   string
		ok     bool
	}{
		{"root", nil, "--break-glass-user root", true},
		{"alice", []string{"breakglass"}, "--break-glass-group breakglass", true},
		{"alice", []string{"sre"}, "", false},
	} {
		u, ok := s.Match(tt.user, tt.groups, "", t0.Add(1000*time.Hour))
		if ok != tt.ok || u.Reason != tt.want || (ok && (u.Grant != PermanentGrant || !u.Permanent)) {
			t.Errorf("Match(%q, %v) = %+v %v", tt.user, tt.groups, u, ok)
		}
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
