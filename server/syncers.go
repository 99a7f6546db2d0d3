package server

import (
	"strings"

	"github.com/gitgate/gitgate/sources/gitsync"
	"github.com/gitgate/gitgate/webhook"
)

// syncerList is every Syncer; a push notification or a peer's signal
// triggers them all (each resolves its ref, which is cheap). The signal
// and the receiver hold it before it is filled, hence the pointer.
type syncerList struct{ all []*gitsync.Syncer }

// Trigger asks every source for a sync now.
func (l *syncerList) Trigger() {
	for _, s := range l.all {
		s.Trigger()
	}
}

// Revision is the head every source last brought its roots to, one per
// source, for replicas to compare.
func (l *syncerList) Revision() string {
	revs := make([]string, len(l.all))
	for i, s := range l.all {
		revs[i] = s.Revision()
		if revs[i] == "" {
			return "" // not every source has synced: nothing to announce
		}
	}
	return strings.Join(revs, ",")
}

// roots names every root of every source.
func (l *syncerList) roots() []string {
	var out []string
	for _, s := range l.all {
		for _, r := range s.RootsOf() {
			out = append(out, r.String())
		}
	}
	return out
}

// repos is the watched repositories for messages that name no root.
func (l *syncerList) repos() webhook.Repo {
	if len(l.all) == 0 {
		return webhook.Repo{URL: "the Flux GitRepositories"}
	}
	urls := make([]string, len(l.all))
	for i, s := range l.all {
		urls[i] = s.URL
	}
	return webhook.Repo{URL: strings.Join(urls, ", ")}
}
