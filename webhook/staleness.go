package webhook

import "time"

// SyncClock tells when Git was last read successfully, including polls
// that found the revision unchanged. *gitsync.Syncer implements it.
type SyncClock interface {
	LastSuccess() time.Time
}

// Staleness bounds how old the last successful Git sync may be.
type Staleness struct {
	// Max is --max-staleness; 0 turns the check off.
	Max time.Duration
	// Deny refuses requests past Max (fail closed). Otherwise gitgate keeps
	// enforcing the last revision it read, which is the default: the
	// revision is still what the GitOps agent applies.
	Deny  bool
	Clock SyncClock
}

// stale reports whether the last sync is older than Max at now, and how old.
func (s *Staleness) stale(now time.Time) (time.Duration, bool) {
	if s == nil || s.Max <= 0 || s.Clock == nil {
		return 0, false
	}
	age := now.Sub(s.Clock.LastSuccess())
	return age, age > s.Max
}
