package breakglass

import (
	"slices"
	"sort"
	"sync/atomic"
	"time"
)

// Use says which grant let a request through.
type Use struct {
	// Grant is the grant's name; "permanent" for the flag identities.
	Grant  string
	Reason string
	// Permanent is true for --break-glass-user and --break-glass-group.
	Permanent bool
}

// PermanentGrant names uses of the permanent emergency identities.
const PermanentGrant = "permanent"

// Store holds the grants in force. Readers never block; the Watcher
// replaces the whole set when the ConfigMap changes.
type Store struct {
	// PermanentUsers and PermanentGroups never expire (--break-glass-user,
	// --break-glass-group). Set them before the first Match.
	PermanentUsers, PermanentGroups []string

	grants atomic.Pointer[[]Grant]
}

// Set replaces the grants in force. Invalid grants must already be left
// out. Grants are kept sorted by name so a match is deterministic.
func (s *Store) Set(grants []Grant) {
	gs := slices.Clone(grants)
	sort.Slice(gs, func(i, j int) bool { return gs[i].Name < gs[j].Name })
	s.grants.Store(&gs)
}

// Grants returns the grants in force, expired ones included.
func (s *Store) Grants() []Grant {
	if p := s.grants.Load(); p != nil {
		return *p
	}
	return nil
}

// Active counts grants that have not expired at now.
func (s *Store) Active(now time.Time) int {
	n := 0
	for _, g := range s.Grants() {
		if now.Before(g.ExpiresAt) {
			n++
		}
	}
	return n
}

// Match returns the grant that lets user act in namespace at now. Expiry
// is checked here, at decision time, so an expired grant stops working at
// once, without a reload. The webhook calls Match only for requests it
// would otherwise refuse, so every match is counted as a use.
func (s *Store) Match(user string, groups []string, namespace string, now time.Time) (Use, bool) {
	u, ok := s.match(user, groups, namespace, now)
	if ok {
		kind := "grant"
		if u.Permanent {
			kind = "permanent"
		}
		uses.WithLabelValues(kind).Inc()
	}
	return u, ok
}

func (s *Store) match(user string, groups []string, namespace string, now time.Time) (Use, bool) {
	if slices.Contains(s.PermanentUsers, user) {
		return Use{Grant: PermanentGrant, Reason: "--break-glass-user " + user, Permanent: true}, true
	}
	for _, g := range groups {
		if slices.Contains(s.PermanentGroups, g) {
			return Use{Grant: PermanentGrant, Reason: "--break-glass-group " + g, Permanent: true}, true
		}
	}
	grants := s.Grants()
	for i := range grants {
		if grants[i].Covers(user, groups, namespace, now) {
			return Use{Grant: grants[i].Name, Reason: grants[i].Reason}, true
		}
	}
	return Use{}, false
}
