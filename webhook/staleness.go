package webhook

import (
	"time"

	"github.com/gitgate/gitgate/provenance"
)

// RootClock tells when each root was last read successfully, including
// polls that found it unchanged. *provenance.Composer implements it.
type RootClock interface {
	LastSuccess(root provenance.Root) time.Time
}

// Staleness bounds how old the last successful sync of a root may be.
type Staleness struct {
	// Max is --max-staleness; 0 turns the check off.
	Max time.Duration
	// Deny refuses requests past Max (fail closed). Otherwise gitgate keeps
	// enforcing the last revision it read, which is the default: the
	// revision is still what the GitOps agent applies.
	Deny  bool
	Clock RootClock
}

// stale reports whether a verdict on res rests on a root whose last sync
// is older than Max at now, and how old. A declared object rests on its
// own root; anything else (not in Git, a namespace's contents) on every
// root, so the stalest counts.
func (s *Staleness) stale(snap *provenance.Snapshot, res provenance.Result, now time.Time) (time.Duration, *provenance.RootState, bool) {
	if s == nil || s.Max <= 0 || s.Clock == nil || snap == nil {
		return 0, nil, false
	}
	if st := snap.RootOf(res.Entry); st != nil {
		age := now.Sub(s.Clock.LastSuccess(st.Root))
		return age, st, age > s.Max
	}
	var stalest *provenance.RootState
	var age time.Duration
	for _, st := range snap.Roots() {
		if a := now.Sub(s.Clock.LastSuccess(st.Root)); stalest == nil || a > age {
			stalest, age = st, a
		}
	}
	return age, stalest, stalest != nil && age > s.Max
}
