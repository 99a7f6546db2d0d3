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
// is older than Max at now, and how old. A declared object rests on the
// roots that declare it; anything else (not in Git, a namespace's contents) on every
// root, so the stalest counts.
func (s *Staleness) stale(snap *provenance.Snapshot, res provenance.Result, now time.Time) (time.Duration, *provenance.RootState, bool) {
	if s == nil || s.Max <= 0 || s.Clock == nil || snap == nil {
		return 0, nil, false
	}
	if res.Entry != nil && snap.RootOf(res.Entry) != nil {
		// An object several roots declare rests on each of them.
		var states []*provenance.RootState
		for _, e := range snap.Declarations(res.Entry.Key) {
			states = append(states, restsOn(snap, e)...)
		}
		return s.stalest(states, now)
	}
	return s.stalest(snap.Roots(), now)
}

// restsOn is the roots a declaration rests on: its own, or for an entry
// held while a sibling lags (Snapshot.Held), every root of its source.
func restsOn(snap *provenance.Snapshot, e *provenance.Entry) []*provenance.RootState {
	own := snap.RootOf(e)
	if !snap.Held(e) {
		return []*provenance.RootState{own}
	}
	var out []*provenance.RootState
	for _, st := range snap.Roots() {
		if st.Root.Source == own.Root.Source {
			out = append(out, st)
		}
	}
	return out
}

// stalest is the root of states last synced longest ago, and how long ago.
func (s *Staleness) stalest(states []*provenance.RootState, now time.Time) (time.Duration, *provenance.RootState, bool) {
	var stalest *provenance.RootState
	var age time.Duration
	for _, st := range states {
		if a := now.Sub(s.Clock.LastSuccess(st.Root)); stalest == nil || a > age {
			stalest, age = st, a
		}
	}
	return age, stalest, stalest != nil && age > s.Max
}
