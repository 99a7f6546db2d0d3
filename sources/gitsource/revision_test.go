package gitsource

import (
	"errors"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestResolveRevision: Argo CD's targetRevision rules over an ls-remote
// listing.
func TestResolveRevision(t *testing.T) {
	h := func(c byte) string {
		b := make([]byte, 40)
		for i := range b {
			b[i] = c
		}
		return string(b)
	}
	refs := []*plumbing.Reference{
		plumbing.NewSymbolicReference("HEAD", "refs/heads/main"),
		plumbing.NewReferenceFromStrings("refs/heads/main", h('1')),
		plumbing.NewReferenceFromStrings("refs/heads/dev", h('2')),
		plumbing.NewReferenceFromStrings("refs/tags/v1.0.0", h('3')),
		plumbing.NewReferenceFromStrings("refs/tags/v1.2.0", h('4')), // annotated: the tag object
		plumbing.NewReferenceFromStrings("refs/tags/v1.2.0^{}", h('5')),
		plumbing.NewReferenceFromStrings("refs/tags/v2.0.0-rc.1", h('6')),
		plumbing.NewReferenceFromStrings("refs/tags/comp/1.4.0", h('7')),
		plumbing.NewReferenceFromStrings("refs/tags/dev", h('8')),
		plumbing.NewReferenceFromStrings("refs/tags/same", h('9')),
		plumbing.NewReferenceFromStrings("refs/heads/same", h('9')),
	}
	for _, c := range []struct {
		rev, prefix, hash, full string
		err                     error
	}{
		{rev: "", hash: h('1'), full: "refs/heads/main"},
		{rev: "HEAD", hash: h('1'), full: "refs/heads/main"},
		{rev: "main", hash: h('1'), full: "refs/heads/main"},
		{rev: "refs/heads/main", hash: h('1'), full: "refs/heads/main"},
		{rev: "v1.0.0", hash: h('3'), full: "refs/tags/v1.0.0"},
		{rev: "v1.2.0", hash: h('5'), full: "refs/tags/v1.2.0"},
		{rev: ">=1.0.0 <2.0.0", hash: h('5'), full: "refs/tags/v1.2.0"},
		{rev: "1.*", prefix: "comp/", hash: h('7'), full: "refs/tags/comp/1.4.0"},
		{rev: "same", hash: h('9')},
		{rev: "dev", err: ErrAmbiguousRevision},
		{rev: h('a'), hash: h('a')},
		{rev: "abcdef1", hash: "abcdef1"},
		{rev: "nope", err: ErrRefNotFound},
		{rev: ">=3.0.0", err: nil, hash: ""},
	} {
		rev, full, err := resolveRevision(c.rev, c.prefix, refs)
		switch {
		case c.err != nil:
			if !errors.Is(err, c.err) {
				t.Errorf("%q: err %v, want %v", c.rev, err, c.err)
			}
		case c.hash == "":
			if err == nil {
				t.Errorf("%q: resolved to %s, want an error", c.rev, rev)
			}
		case err != nil:
			t.Errorf("%q: %v", c.rev, err)
		case rev.Hash != c.hash || (c.full != "" && full != c.full):
			t.Errorf("%q: %s %s, want %s %s", c.rev, rev.Hash, full, c.hash, c.full)
		}
	}
}
