package breakglass

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// Grant lets Users and Groups past the Git check until ExpiresAt, in
// Namespaces if any are listed (and then only there), for Reason.
//
// It is stored as the JSON (or YAML) value of one key of the ConfigMap; the
// key is the grant's name.
type Grant struct {
	Name       string    `json:"-"`
	Users      []string  `json:"users,omitempty"`
	Groups     []string  `json:"groups,omitempty"`
	Namespaces []string  `json:"namespaces,omitempty"`
	Reason     string    `json:"reason"`
	GrantedBy  string    `json:"grantedBy,omitempty"`
	GrantedAt  time.Time `json:"grantedAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
}

// DefaultMaxDuration is the longest grant gitgate accepts by default.
const DefaultMaxDuration = 4 * time.Hour

// clockSkew tolerates a grantedAt a little in the future, from a client
// whose clock runs ahead.
const clockSkew = time.Minute

// Sentinel errors for invalid grants.
var (
	ErrNoSubjects = errors.New("grant names no users or groups")
	ErrNoReason   = errors.New("grant has no reason")
	ErrNoTimes    = errors.New("grant needs grantedAt and expiresAt")
	ErrTooLong    = errors.New("grant runs longer than the maximum")
	ErrFuture     = errors.New("grant's grantedAt is in the future")
	ErrBadSubject = errors.New("grant subject is empty or a wildcard")
)

// Parse decodes one ConfigMap value. Unknown fields are errors: a typo such
// as "expiresat" must not turn into a grant without an expiry.
func Parse(name, value string) (Grant, error) {
	var g Grant
	if err := yaml.UnmarshalStrict([]byte(value), &g); err != nil {
		return Grant{}, fmt.Errorf("decode: %w", err)
	}
	g.Name = name
	return g, nil
}

// Encode renders g as the ConfigMap value Parse reads.
func (g Grant) Encode() (string, error) {
	out, err := json.Marshal(g)
	return string(out), err
}

// Validate checks g against max at time now. The duration is measured from
// grantedAt, which may not lie in the future, so no grant can reach past
// now+max however its times are written.
func (g Grant) Validate(max time.Duration, now time.Time) error {
	var errs []error
	if len(g.Users) == 0 && len(g.Groups) == 0 {
		errs = append(errs, ErrNoSubjects)
	}
	for _, s := range slices.Concat(g.Users, g.Groups) {
		if strings.TrimSpace(s) == "" || strings.Contains(s, "*") {
			errs = append(errs, fmt.Errorf("%w: %q", ErrBadSubject, s))
		}
	}
	if strings.TrimSpace(g.Reason) == "" {
		errs = append(errs, ErrNoReason)
	}
	switch {
	case g.GrantedAt.IsZero() || g.ExpiresAt.IsZero():
		errs = append(errs, ErrNoTimes)
	case !g.ExpiresAt.After(g.GrantedAt):
		errs = append(errs, fmt.Errorf("%w: expiresAt %s is not after grantedAt %s", ErrNoTimes, g.ExpiresAt.Format(time.RFC3339), g.GrantedAt.Format(time.RFC3339)))
	case g.ExpiresAt.Sub(g.GrantedAt) > max:
		errs = append(errs, fmt.Errorf("%w: %s > %s", ErrTooLong, g.ExpiresAt.Sub(g.GrantedAt), max))
	}
	if g.GrantedAt.After(now.Add(clockSkew)) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrFuture, g.GrantedAt.Format(time.RFC3339)))
	}
	return errors.Join(errs...)
}

// Covers reports whether g lets user (with groups) act in namespace at
// now. A grant scoped to namespaces never covers cluster-scoped objects
// (namespace "").
func (g *Grant) Covers(user string, groups []string, namespace string, now time.Time) bool {
	if !now.Before(g.ExpiresAt) {
		return false
	}
	if len(g.Namespaces) > 0 && !slices.Contains(g.Namespaces, namespace) {
		return false
	}
	if slices.Contains(g.Users, user) {
		return true
	}
	for _, grp := range groups {
		if slices.Contains(g.Groups, grp) {
			return true
		}
	}
	return false
}
