package breakglass

import (
	"testing"
	"time"
)

// FuzzParseGrant: any ConfigMap value either fails to parse or yields a
// grant that validates without panicking, and a valid grant survives an
// Encode/Parse round trip unchanged in effect.
func FuzzParseGrant(f *testing.F) {
	f.Add(`{"users":["dev-user"],"reason":"INC-1","grantedAt":"2026-11-26T11:00:00Z","expiresAt":"2026-11-26T12:00:00Z"}`)
	f.Add("users: [a]\ngroups: [b]\nnamespaces: [shop]\nreason: x\ngrantedAt: 2026-11-26T11:00:00Z\nexpiresAt: 2026-11-26T15:00:00Z\n")
	f.Add("{not yaml")
	f.Add(`{"users":null,"expiresAt":"yesterday"}`)
	f.Fuzz(func(t *testing.T, value string) {
		g, err := Parse("g", value)
		if err != nil {
			return
		}
		if g.Validate(DefaultMaxDuration, t0) != nil {
			return
		}
		enc, err := g.Encode()
		if err != nil {
			t.Fatalf("encode a valid grant: %v", err)
		}
		back, err := Parse("g", enc)
		if err != nil || back.Validate(DefaultMaxDuration, t0) != nil {
			t.Fatalf("round trip of %q: %v", enc, err)
		}
		for _, now := range []time.Time{t0, g.ExpiresAt.Add(-time.Nanosecond), g.ExpiresAt} {
			for _, u := range g.Users {
				if g.Covers(u, nil, "", now) != back.Covers(u, nil, "", now) {
					t.Fatalf("round trip changed coverage of %q at %s", u, now)
				}
			}
		}
	})
}
