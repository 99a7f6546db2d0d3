package gitsource

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/gitgate/gitgate/provenance"
)

// ErrAmbiguousRevision: a short name names two refs at different
// commits (a branch and a tag of one name). Argo CD takes whichever its
// ref listing yields first, which is map order: gitgate cannot know which
// the agent applies, so it resolves neither.
var ErrAmbiguousRevision = errors.New("names more than one ref")

var (
	commitSHA          = regexp.MustCompile("^[0-9A-Fa-f]{40}$")
	truncatedCommitSHA = regexp.MustCompile("^[0-9A-Fa-f]{7,}$")
)

func isCommitSHA(s string) bool { return commitSHA.MatchString(s) }

// resolveRevision resolves an Argo CD targetRevision against the remote's
// refs as Argo CD v3.6.2's git client does (util/git/client.go lsRemote):
// a full SHA as is; "" as HEAD; a semver version or constraint to the
// highest matching tag (versions.MaxVersion, with tagPrefix); then the
// ref whose short or full name it is, a symbolic ref (HEAD) through its
// target; else 7 or more hex digits as a truncated SHA. A tag resolves to
// its commit. It returns the full ref name to fetch ("" for a SHA).
func resolveRevision(revision, tagPrefix string, refs []*plumbing.Reference) (provenance.Revision, string, error) {
	if isCommitSHA(revision) {
		return provenance.Revision{Ref: revision, Hash: strings.ToLower(revision)}, "", nil
	}
	want := revision
	if want == "" {
		want = "HEAD"
	}
	hashes, peeled, tags := listing(refs)
	if v, err := maxVersion(want, tags, tagPrefix); err == nil {
		want = v
	} else if tagPrefix != "" {
		return provenance.Revision{}, "", err
	}
	short := plumbing.NewReferenceFromStrings(want, "0").Name().Short() == want
	commitOf := func(name string) string {
		if h, ok := peeled[name]; ok {
			return h
		}
		return hashes[name]
	}
	var full, hash string
	for _, r := range refs {
		name := r.Name().String()
		if strings.HasSuffix(name, "^{}") || !(short && r.Name().Short() == want || name == want) {
			continue
		}
		target := name
		if r.Type() == plumbing.SymbolicReference {
			target = r.Target().String()
		}
		h := commitOf(target)
		if h == "" {
			continue
		}
		if hash != "" && h != hash {
			return provenance.Revision{}, "", fmt.Errorf("revision %s %w (%s and %s)", want, ErrAmbiguousRevision, full, target)
		}
		full, hash = target, h
	}
	switch {
	case hash != "":
		return provenance.Revision{Ref: want, Hash: hash}, full, nil
	case truncatedCommitSHA.MatchString(want):
		return provenance.Revision{Ref: want, Hash: strings.ToLower(want)}, "", nil
	}
	return provenance.Revision{}, "", fmt.Errorf("unable to resolve %q to a commit SHA: %w", revision, ErrRefNotFound)
}

// listing reads an ls-remote listing: the hash of each ref, the commit
// of each annotated tag (its peeled entry), and the tags' short names.
func listing(refs []*plumbing.Reference) (hashes, peeled map[string]string, tags []string) {
	hashes, peeled = map[string]string{}, map[string]string{}
	for _, r := range refs {
		name := r.Name().String()
		if base, ok := strings.CutSuffix(name, "^{}"); ok {
			peeled[base] = r.Hash().String()
			continue
		}
		if r.Type() == plumbing.HashReference {
			hashes[name] = r.Hash().String()
		}
		if r.Name().IsTag() {
			tags = append(tags, r.Name().Short())
		}
	}
	return hashes, peeled, tags
}

// maxVersion is Argo CD's versions.MaxVersion: a semver version is itself
// (with the prefix); a constraint is the highest tag that meets it; a
// string that is neither is itself when it names a tag.
func maxVersion(revision string, tags []string, tagPrefix string) (string, error) {
	var stripped []string
	for _, t := range tags {
		if s, ok := strings.CutPrefix(t, tagPrefix); ok {
			stripped = append(stripped, s)
		}
	}
	if v, err := semver.NewVersion(revision); err == nil {
		return tagPrefix + v.Original(), nil
	}
	c, err := semver.NewConstraint(revision)
	if err != nil {
		if tagPrefix != "" {
			return "", fmt.Errorf("tagPrefix %q requires targetRevision to be a semver constraint, but %q is not a valid constraint", tagPrefix, revision)
		}
		if slices.Contains(stripped, revision) {
			return revision, nil
		}
		return "", err
	}
	var best *semver.Version
	for _, t := range stripped {
		v, err := semver.NewVersion(t)
		if err != nil {
			continue
		}
		if c.Check(v) && (best == nil || v.GreaterThan(best)) {
			best = v
		}
	}
	if best == nil {
		return "", fmt.Errorf("version matching constraint %q not found in %d tags: %w", revision, len(stripped), ErrRefNotFound)
	}
	return tagPrefix + best.Original(), nil
}

// fetchRevision fetches what a Revision resolved to: its ref, shallowly;
// for a SHA every branch and tag with history, the commit then found
// among them (a truncated SHA by its prefix). g.mu is held.
func (g *Source) fetchRevision(ctx context.Context, rev provenance.Revision, opts *git.FetchOptions) (*object.Commit, error) {
	if g.fullRef != "" {
		opts.RefSpecs = []config.RefSpec{config.RefSpec("+" + g.fullRef + ":" + g.fullRef)}
	} else {
		opts.RefSpecs = []config.RefSpec{"+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"}
		opts.Depth = 0
	}
	if err := g.repo.FetchContext(ctx, opts); err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, fmt.Errorf("fetch %s: %w", rev, explain(redact(err, g.opts.Auth)))
	}
	h, err := g.repo.ResolveRevision(plumbing.Revision(rev.Hash))
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", rev.Short(), err)
	}
	c, err := g.repo.CommitObject(*h)
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", rev.Short(), err)
	}
	return c, nil
}
